// blocking_commands.cc — BLPOP, BRPOP, BRPOPLPUSH, BLMOVE, BLMPOP, BZPOPMIN, BZPOPMAX and
// BZMPOP, with Redis 7.0's replies and error texts.
//
// Each command first tries its pop under its keys' shard locks. When every key is empty it
// blocks: the client goes into the BlockingTable (server/blocking_table.h) while the locks are
// still held, and its connection parks a reply slot with a timer (Connection::BlockOn). Any
// write to one of those keys, on any worker, re-runs the same handler for the oldest waiter
// with ctx.served_blocked set (Worker::ServeReadyKeys): then the handler pops or reports that
// it could not, and never blocks. Served that way, a key of the wrong type counts as empty (the
// client stays blocked, as in Redis 7.0). Inside MULTI/EXEC an empty key answers null at once.
// The timeout is seconds as a double, 0 = forever; on timeout the client gets a null (RESP2
// *-1, or $-1 for BLMOVE/BRPOPLPUSH; RESP3 _).
#include <cmath>
#include <memory>
#include <string>
#include <vector>

#include "server/command_table.h"
#include "server/command_util.h"
#include "server/commands/zset_util.h"
#include "server/connection.h"
#include "server/server.h"
#include "server/worker.h"
#include "storage/types/quicklist.h"

namespace flightcache::server {
namespace {

using storage::Entry;
using storage::KeyLocation;
using storage::ValueType;

bool Serving(const CommandContext& ctx) { return ctx.served_blocked != nullptr; }

void MarkServed(CommandContext& ctx) {
  if (ctx.served_blocked) *ctx.served_blocked = true;
}

// Parses a timeout in seconds as Redis 7.0's getTimeoutFromObjectOrReply; writes *timeout_ms
// (0 = forever). On failure writes Redis's error and returns false.
bool ParseTimeout(CommandContext& ctx, std::string_view text, int64_t* timeout_ms) {
  long double seconds;
  if (!ParseLongDouble(text, &seconds)) {
    ctx.reply.Error("ERR timeout is not a float or out of range");
    return false;
  }
  const long double ms = seconds * 1000.0L;
  // Redis 7.0 casts ceill(ms) to long long: past its range (1e400, inf) it turns negative.
  if (ms < 0 || !(ms < static_cast<long double>(INT64_MAX))) {
    ctx.reply.Error("ERR timeout is negative");
    return false;
  }
  *timeout_ms = static_cast<int64_t>(std::ceil(ms));
  return true;
}

// Nothing to pop: answers null inside EXEC, else blocks the client on keys. Not when serving.
void BlockOrNull(CommandContext& ctx, std::vector<std::string> keys, int64_t timeout_ms,
                 bool null_array) {
  if (Serving(ctx)) return;
  if (ctx.in_transaction) {
    if (null_array) {
      ctx.reply.NullArray();
    } else {
      ctx.reply.Null();
    }
    return;
  }
  auto client = std::make_shared<BlockedClient>();
  client->worker = static_cast<uint32_t>(ctx.worker.index());
  client->conn_id = ctx.conn.id();
  client->token = ctx.server.blocking().NextToken();
  client->resp = ctx.conn.resp;
  client->db = ctx.conn.db_index();
  client->spec = ctx.server.commands().Find(ctx.args[0]);
  client->args.assign(ctx.args.begin(), ctx.args.end());
  client->keys = std::move(keys);
  const uint64_t token = client->token;
  ctx.server.blocking().Block(std::move(client));
  std::string timeout_reply;
  protocol::ReplyWriter w(&timeout_reply);
  w.set_resp3(ctx.conn.resp == 3);
  if (null_array) {
    w.NullArray();
  } else {
    w.Null();
  }
  ctx.conn.BlockOn(token, timeout_ms, std::move(timeout_reply));
}

// Looks key up for a pop of type want. Returns the entry, or nullptr when there is nothing to
// pop there. *stop is set when the command must end here: WRONGTYPE was written (not while
// serving, where a key of another type is skipped).
Entry* PopSource(CommandContext& ctx, std::string_view key, ValueType want, KeyLocation* at,
                 bool* stop) {
  *stop = false;
  Entry* e = Lookup(ctx, key, at);
  if (!e) return nullptr;
  if (storage::EntryType(e) != want) {
    if (!Serving(ctx)) {
      ctx.reply.Error(kErrWrongType);
      *stop = true;
    }
    return nullptr;
  }
  return e;
}

// Runs another command's handler (LMOVE, LMPOP) with these arguments and this reply.
void RunAs(CommandContext& ctx, const std::vector<std::string_view>& args) {
  const CommandSpec* spec = ctx.server.commands().Find(args[0]);
  CommandContext inner{ctx.server, ctx.worker, ctx.conn,          args,
                       ctx.reply,  ctx.now_ms, ctx.in_transaction};
  spec->handler(inner);
}

// BLPOP / BRPOP key [key ...] timeout -> [key, element]
void BlockingListPop(CommandContext& ctx, bool left) {
  int64_t timeout_ms;
  if (!ParseTimeout(ctx, ctx.args.back(), &timeout_ms)) return;
  for (size_t i = 1; i + 1 < ctx.args.size(); ++i) {
    KeyLocation at;
    bool stop;
    Entry* e = PopSource(ctx, ctx.args[i], ValueType::kList, &at, &stop);
    if (stop) return;
    if (!e) continue;
    auto* list = static_cast<storage::ListObject*>(storage::EntryObject(e));
    std::string value;
    {
      storage::ObjectWrite write(*at.shard, e);
      if (left) {
        list->PopFront(&value);
      } else {
        list->PopBack(&value);
      }
    }
    if (list->Length() == 0) at.shard->Delete(ctx.args[i], at.hash);
    ctx.reply.ArrayHeader(2);
    ctx.reply.Bulk(ctx.args[i]);
    ctx.reply.Bulk(value);
    MarkServed(ctx);
    return;
  }
  BlockOrNull(ctx, std::vector<std::string>(ctx.args.begin() + 1, ctx.args.end() - 1), timeout_ms,
              true);
}

void BlpopCommand(CommandContext& ctx) { BlockingListPop(ctx, true); }
void BrpopCommand(CommandContext& ctx) { BlockingListPop(ctx, false); }

// BLMOVE source destination LEFT|RIGHT LEFT|RIGHT timeout, and BRPOPLPUSH source destination
// timeout (= BLMOVE ... RIGHT LEFT): LMOVE once the source has an element.
void BlockingMove(CommandContext& ctx, std::string_view from, std::string_view to,
                  std::string_view timeout) {
  for (std::string_view side : {from, to}) {
    if (!EqualsIgnoreCase(side, "left") && !EqualsIgnoreCase(side, "right")) {
      ctx.reply.Error(kErrSyntax);
      return;
    }
  }
  int64_t timeout_ms;
  if (!ParseTimeout(ctx, timeout, &timeout_ms)) return;
  KeyLocation at;
  bool stop;
  Entry* e = PopSource(ctx, ctx.args[1], ValueType::kList, &at, &stop);
  if (stop) return;
  if (!e) {
    BlockOrNull(ctx, {std::string(ctx.args[1])}, timeout_ms, false);
    return;
  }
  if (Serving(ctx)) {  // a destination of another type leaves the client blocked, as in 7.0
    KeyLocation dst_at;
    Entry* dst = Lookup(ctx, ctx.args[2], &dst_at);
    if (dst && storage::EntryType(dst) != ValueType::kList) return;
  }
  RunAs(ctx, {"lmove", ctx.args[1], ctx.args[2], from, to});
  MarkServed(ctx);
}

void BlmoveCommand(CommandContext& ctx) {
  BlockingMove(ctx, ctx.args[3], ctx.args[4], ctx.args[5]);
}
void BrpoplpushCommand(CommandContext& ctx) { BlockingMove(ctx, "right", "left", ctx.args[3]); }

// Checks BLMPOP's / BZMPOP's numkeys, side and COUNT (from args[2]) as LMPOP / ZMPOP do, with
// their error texts; writes the error and returns false. *numkeys gets the key count.
bool ValidateMpop(CommandContext& ctx, std::string_view side_a, std::string_view side_b,
                  size_t* numkeys) {
  int64_t n;
  if (!ParseInt64(ctx.args[2], &n) || n <= 0) {
    ctx.reply.Error("ERR numkeys should be greater than 0");
    return false;
  }
  const size_t argc = ctx.args.size();
  if (static_cast<uint64_t>(n) >= argc - 3) {
    ctx.reply.Error(kErrSyntax);
    return false;
  }
  const size_t side = 3 + static_cast<size_t>(n);
  if (!EqualsIgnoreCase(ctx.args[side], side_a) && !EqualsIgnoreCase(ctx.args[side], side_b)) {
    ctx.reply.Error(kErrSyntax);
    return false;
  }
  bool has_count = false;
  for (size_t j = side + 1; j < argc; ++j) {
    int64_t count;
    if (!has_count && EqualsIgnoreCase(ctx.args[j], "count") && j + 1 < argc) {
      has_count = true;
      if (!ParseInt64(ctx.args[++j], &count) || count <= 0) {
        ctx.reply.Error("ERR count should be greater than 0");
        return false;
      }
    } else {
      ctx.reply.Error(kErrSyntax);
      return false;
    }
  }
  *numkeys = static_cast<size_t>(n);
  return true;
}

// BLMPOP / BZMPOP timeout numkeys key [key ...] side [COUNT count]: LMPOP / ZMPOP over the keys
// that hold something (all of them when not serving, so that WRONGTYPE comes out as LMPOP's).
void BlockingMpop(CommandContext& ctx, ValueType type) {
  int64_t timeout_ms;
  if (!ParseTimeout(ctx, ctx.args[1], &timeout_ms)) return;
  const bool list = type == ValueType::kList;
  size_t numkeys;
  if (!ValidateMpop(ctx, list ? "left" : "min", list ? "right" : "max", &numkeys)) return;
  std::vector<std::string_view> keys;
  bool any = false;
  for (size_t k = 3; k < 3 + numkeys; ++k) {
    KeyLocation at;
    Entry* e = Lookup(ctx, ctx.args[k], &at);
    if (!e) continue;
    any = true;
    if (storage::EntryType(e) == type) keys.push_back(ctx.args[k]);
  }
  if (!any || (Serving(ctx) && keys.empty())) {
    BlockOrNull(ctx, std::vector<std::string>(ctx.args.begin() + 3, ctx.args.begin() + 3 + numkeys),
                timeout_ms, true);
    return;
  }
  if (!Serving(ctx)) keys.assign(ctx.args.begin() + 3, ctx.args.begin() + 3 + numkeys);
  std::string count_text = std::to_string(keys.size());
  std::vector<std::string_view> args = {list ? "lmpop" : "zmpop", count_text};
  args.insert(args.end(), keys.begin(), keys.end());
  args.insert(args.end(), ctx.args.begin() + 3 + numkeys, ctx.args.end());
  if (list) {
    RunAs(ctx, args);
  } else {
    CommandContext inner{ctx.server, ctx.worker, ctx.conn,          args,
                         ctx.reply,  ctx.now_ms, ctx.in_transaction};
    ZmpopFrom(inner, 1, false);
  }
  MarkServed(ctx);
}

void BlmpopCommand(CommandContext& ctx) { BlockingMpop(ctx, ValueType::kList); }
void BzmpopCommand(CommandContext& ctx) { BlockingMpop(ctx, ValueType::kZset); }

// BZPOPMIN / BZPOPMAX key [key ...] timeout -> [key, member, score]
void BlockingZsetPop(CommandContext& ctx, bool max) {
  int64_t timeout_ms;
  if (!ParseTimeout(ctx, ctx.args.back(), &timeout_ms)) return;
  for (size_t i = 1; i + 1 < ctx.args.size(); ++i) {
    KeyLocation at;
    bool stop;
    Entry* e = PopSource(ctx, ctx.args[i], ValueType::kZset, &at, &stop);
    if (stop) return;
    if (!e) continue;
    std::vector<ScoredMember> items;
    AsZset(e)->ForRange(0, 0, max, [&](std::string_view m, double s) { items.emplace_back(m, s); });
    RemoveMembers(ctx.args[i], e, at, items);
    ctx.reply.ArrayHeader(3);
    ctx.reply.Bulk(ctx.args[i]);
    ctx.reply.Bulk(items[0].first);
    ReplyScore(ctx, items[0].second);
    MarkServed(ctx);
    return;
  }
  BlockOrNull(ctx, std::vector<std::string>(ctx.args.begin() + 1, ctx.args.end() - 1), timeout_ms,
              true);
}

void BzpopminCommand(CommandContext& ctx) { BlockingZsetPop(ctx, false); }
void BzpopmaxCommand(CommandContext& ctx) { BlockingZsetPop(ctx, true); }

}  // namespace

void RegisterBlockingCommands(CommandTable& t) {
  t.Add({"blpop", -3, kWrite, 1, -2, 1, BlpopCommand, "list",
         "Removes and returns the first element in a list. Blocks until an element is available "
         "otherwise. Deletes the list if the last element was popped.",
         "2.0.0"});
  t.Add({"brpop", -3, kWrite, 1, -2, 1, BrpopCommand, "list",
         "Removes and returns the last element in a list. Blocks until an element is available "
         "otherwise. Deletes the list if the last element was popped.",
         "2.0.0"});
  t.Add({"brpoplpush", 4, kWrite | kDenyOom, 1, 2, 1, BrpoplpushCommand, "list",
         "Pops an element from a list, pushes it to another list and returns it. Block until an "
         "element is available otherwise. Deletes the list if the last element was popped.",
         "2.2.0"});
  t.Add({"blmove", 6, kWrite | kDenyOom, 1, 2, 1, BlmoveCommand, "list",
         "Pops an element from a list, pushes it to another list and returns it. Blocks until an "
         "element is available otherwise. Deletes the list if the last element was moved.",
         "6.2.0"});
  t.Add({"blmpop", -5, kWrite | kMovableKeys, 3, -1, 1, BlmpopCommand, "list",
         "Pops the first element from one of multiple lists. Blocks until an element is "
         "available otherwise. Deletes the list if the last element was popped.",
         "7.0.0"});
  t.Add({"bzpopmin", -3, kWrite | kFast, 1, -2, 1, BzpopminCommand, "sorted-set",
         "Removes and returns the member with the lowest score from one or more sorted sets. "
         "Blocks until a member is available otherwise. Deletes the sorted set if the last "
         "element was popped.",
         "5.0.0"});
  t.Add({"bzpopmax", -3, kWrite | kFast, 1, -2, 1, BzpopmaxCommand, "sorted-set",
         "Removes and returns the member with the highest score from one or more sorted sets. "
         "Blocks until a member available otherwise. Deletes the sorted set if the last element "
         "was popped.",
         "5.0.0"});
  t.Add({"bzmpop", -5, kWrite | kMovableKeys, 3, -1, 1, BzmpopCommand, "sorted-set",
         "Removes and returns a member by score from one or more sorted sets. Blocks until a "
         "member is available otherwise. Deletes the sorted set if the last element was popped.",
         "7.0.0"});
}

}  // namespace flightcache::server
