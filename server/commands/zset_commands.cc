// zset_commands.cc — the sorted-set commands on members over storage::ZsetObject: ZADD (NX XX GT
// LT CH INCR), ZINCRBY, ZREM, ZSCORE, ZMSCORE, ZCARD, ZRANK, ZREVRANK, ZPOPMIN, ZPOPMAX, ZMPOP,
// ZRANDMEMBER and ZSCAN. Ranges are in zset_range_commands.cc, the algebra (ZUNION...) in
// zset_algebra_commands.cc, BZPOPMIN... in blocking_commands.cc.
//
// Every command runs with its key's shard lock held. A key of another type gets WRONGTYPE;
// writes go through an ObjectWrite; a sorted set is created by its first member and deleted with
// its last. Scores reply as RESP3 doubles, and in RESP2 as bulk strings printed as Redis 7.0
// prints them ("%.17g"). Replies and error texts are Redis 7.0's.
#include <algorithm>
#include <cmath>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "server/command_table.h"
#include "server/command_util.h"
#include "server/commands/zset_util.h"
#include "server/server.h"
#include "server/worker.h"
#include "storage/glob.h"
#include "storage/types/zset_object.h"

namespace flightcache::server {
namespace {

using storage::Entry;
using storage::KeyLocation;
using storage::ObjectWrite;
using storage::ValueType;
using storage::ZsetObject;

// ZADD key [NX|XX] [GT|LT] [CH] [INCR] score member [score member ...]
void ZaddGeneric(CommandContext& ctx, bool incr_command) {
  bool nx = false, xx = false, gt = false, lt = false, ch = false, incr = incr_command;
  size_t i = 2;
  if (!incr_command) {
    for (; i < ctx.args.size(); ++i) {
      std::string_view a = ctx.args[i];
      if (EqualsIgnoreCase(a, "nx")) {
        nx = true;
      } else if (EqualsIgnoreCase(a, "xx")) {
        xx = true;
      } else if (EqualsIgnoreCase(a, "gt")) {
        gt = true;
      } else if (EqualsIgnoreCase(a, "lt")) {
        lt = true;
      } else if (EqualsIgnoreCase(a, "ch")) {
        ch = true;
      } else if (EqualsIgnoreCase(a, "incr")) {
        incr = true;
      } else {
        break;
      }
    }
  }
  const size_t pairs_at = i;
  const size_t left = ctx.args.size() - pairs_at;
  if (left == 0 || left % 2 != 0) {
    ctx.reply.Error(kErrSyntax);
    return;
  }
  if (nx && xx) {
    ctx.reply.Error("ERR XX and NX options at the same time are not compatible");
    return;
  }
  if ((gt && nx) || (lt && nx) || (gt && lt)) {
    ctx.reply.Error("ERR GT, LT, and/or NX options at the same time are not compatible");
    return;
  }
  if (incr && left > 2) {
    ctx.reply.Error("ERR INCR option supports a single increment-element pair");
    return;
  }
  std::vector<double> scores(left / 2);
  for (size_t k = 0; k < scores.size(); ++k) {
    if (!storage::ParseScore(ctx.args[pairs_at + 2 * k], &scores[k])) {
      ctx.reply.Error(kErrNotFloat);
      return;
    }
  }
  KeyLocation at;
  bool wrong;
  Entry* e = ZsetEntry(ctx, ctx.args[1], &at, &wrong);
  if (wrong) return;
  if (!e) {
    if (xx) {  // nothing may be added: no key is created
      if (incr) {
        ctx.reply.Null();
      } else {
        ctx.reply.Integer(0);
      }
      return;
    }
    e = at.shard->SetObject(ctx.args[1], at.hash, std::make_unique<ZsetObject>(), 0);
  }
  const storage::TypeLimits limits = TypeLimitsOf(ctx);
  int64_t added = 0, changed = 0;
  bool incr_applied = false;
  double incr_result = 0;
  bool nan = false;
  {
    ObjectWrite write(*at.shard, e);
    ZsetObject* z = AsZset(e);
    for (size_t k = 0; k < scores.size(); ++k) {
      std::string_view member = ctx.args[pairs_at + 2 * k + 1];
      double score = scores[k];
      std::optional<double> current = z->Score(member);
      if (current) {
        if (nx) continue;
        if (incr) {
          score += *current;
          if (std::isnan(score)) {
            nan = true;
            break;
          }
        }
        if ((gt && score <= *current) || (lt && score >= *current)) continue;
        if (score != *current) {
          z->Set(member, score, limits);
          ++changed;
        }
      } else {
        if (xx) continue;
        z->Set(member, score, limits);
        ++added;
      }
      incr_applied = true;
      incr_result = score;
    }
  }
  if (AsZset(e)->Length() == 0) at.shard->Delete(ctx.args[1], at.hash);
  if (nan) {
    ctx.reply.Error("ERR resulting score is not a number (NaN)");
    return;
  }
  if (incr) {
    if (incr_applied) {
      ReplyScore(ctx, incr_result);
    } else {
      ctx.reply.Null();
    }
    return;
  }
  ctx.reply.Integer(ch ? added + changed : added);
}

void ZaddCommand(CommandContext& ctx) { ZaddGeneric(ctx, false); }

// ZINCRBY key increment member: ZADD INCR with the arguments in Redis's other order.
void ZincrbyCommand(CommandContext& ctx) {
  std::vector<std::string_view> args = {ctx.args[0], ctx.args[1], ctx.args[2], ctx.args[3]};
  CommandContext inner{ctx.server, ctx.worker, ctx.conn, args, ctx.reply, ctx.now_ms};
  ZaddGeneric(inner, true);
}

void ZremCommand(CommandContext& ctx) {
  KeyLocation at;
  bool wrong;
  Entry* e = ZsetEntry(ctx, ctx.args[1], &at, &wrong);
  if (wrong) return;
  int64_t removed = 0;
  if (e) {
    {
      ObjectWrite write(*at.shard, e);
      for (size_t i = 2; i < ctx.args.size(); ++i) removed += AsZset(e)->Remove(ctx.args[i]);
    }
    if (AsZset(e)->Length() == 0) at.shard->Delete(ctx.args[1], at.hash);
  }
  ctx.reply.Integer(removed);
}

void ZscoreCommand(CommandContext& ctx) {
  KeyLocation at;
  bool wrong;
  Entry* e = ZsetEntry(ctx, ctx.args[1], &at, &wrong);
  if (wrong) return;
  std::optional<double> score = e ? AsZset(e)->Score(ctx.args[2]) : std::nullopt;
  if (score) {
    ReplyScore(ctx, *score);
  } else {
    ctx.reply.Null();
  }
}

void ZcardCommand(CommandContext& ctx) {
  KeyLocation at;
  bool wrong;
  Entry* e = ZsetEntry(ctx, ctx.args[1], &at, &wrong);
  if (wrong) return;
  ctx.reply.Integer(e ? static_cast<int64_t>(AsZset(e)->Length()) : 0);
}

void RankGeneric(CommandContext& ctx, bool reverse) {
  KeyLocation at;
  bool wrong;
  Entry* e = ZsetEntry(ctx, ctx.args[1], &at, &wrong);
  if (wrong) return;
  std::optional<size_t> rank = e ? AsZset(e)->Rank(ctx.args[2], reverse) : std::nullopt;
  if (rank) {
    ctx.reply.Integer(static_cast<int64_t>(*rank));
  } else {
    ctx.reply.Null();
  }
}

void ZrankCommand(CommandContext& ctx) { RankGeneric(ctx, false); }
void ZrevrankCommand(CommandContext& ctx) { RankGeneric(ctx, true); }

// ZPOPMIN / ZPOPMAX key [count].
void PopGeneric(CommandContext& ctx, bool max) {
  if (ctx.args.size() > 3) {
    ctx.reply.Error(kErrSyntax);
    return;
  }
  const bool has_count = ctx.args.size() == 3;
  int64_t count = 1;
  if (has_count && (!ParseInt64(ctx.args[2], &count) || count < 0)) {
    ctx.reply.Error("ERR value is out of range, must be positive");
    return;
  }
  KeyLocation at;
  bool wrong;
  Entry* e = ZsetEntry(ctx, ctx.args[1], &at, &wrong);
  if (wrong) return;
  std::vector<ScoredMember> items;
  if (e && count > 0) {
    ZsetObject* z = AsZset(e);
    const size_t n = std::min(static_cast<size_t>(count), z->Length());
    z->ForRange(0, n - 1, max, [&](std::string_view m, double s) { items.emplace_back(m, s); });
    {
      ObjectWrite write(*at.shard, e);
      for (const auto& item : items) z->Remove(item.first);
    }
    if (z->Length() == 0) at.shard->Delete(ctx.args[1], at.hash);
  }
  ReplyWithScores(ctx, items, true, has_count);
}

void ZpopminCommand(CommandContext& ctx) { PopGeneric(ctx, false); }
void ZpopmaxCommand(CommandContext& ctx) { PopGeneric(ctx, true); }

void ZmscoreCommand(CommandContext& ctx) {
  KeyLocation at;
  bool wrong;
  Entry* e = ZsetEntry(ctx, ctx.args[1], &at, &wrong);
  if (wrong) return;
  ctx.reply.ArrayHeader(ctx.args.size() - 2);
  for (size_t i = 2; i < ctx.args.size(); ++i) {
    std::optional<double> score = e ? AsZset(e)->Score(ctx.args[i]) : std::nullopt;
    if (score) {
      ReplyScore(ctx, *score);
    } else {
      ctx.reply.Null();
    }
  }
}

}  // namespace

// ZMPOP numkeys key [key ...] MIN|MAX [COUNT count], from args[first] (the numkeys argument;
// BZMPOP's is 2). Writes the reply or an error and returns true, or returns false with nothing
// written when every key is missing and only_if_any is set (BZMPOP then blocks).
bool ZmpopFrom(CommandContext& ctx, size_t first, bool only_if_any) {
  int64_t numkeys;
  if (!ParseInt64(ctx.args[first], &numkeys) || numkeys <= 0) {
    ctx.reply.Error("ERR numkeys should be greater than 0");
    return true;
  }
  const size_t argc = ctx.args.size();
  if (static_cast<uint64_t>(numkeys) >= argc - first - 1) {  // no room left for MIN|MAX
    ctx.reply.Error(kErrSyntax);
    return true;
  }
  const size_t where_index = first + 1 + static_cast<size_t>(numkeys);
  bool max;
  if (EqualsIgnoreCase(ctx.args[where_index], "min")) {
    max = false;
  } else if (EqualsIgnoreCase(ctx.args[where_index], "max")) {
    max = true;
  } else {
    ctx.reply.Error(kErrSyntax);
    return true;
  }
  int64_t count = -1;
  for (size_t j = where_index + 1; j < argc; ++j) {
    if (count == -1 && EqualsIgnoreCase(ctx.args[j], "count") && j + 1 < argc) {
      ++j;
      if (!ParseInt64(ctx.args[j], &count) || count <= 0) {
        ctx.reply.Error("ERR count should be greater than 0");
        return true;
      }
    } else {
      ctx.reply.Error(kErrSyntax);
      return true;
    }
  }
  if (count == -1) count = 1;
  for (size_t k = first + 1; k < where_index; ++k) {
    KeyLocation at;
    bool wrong;
    Entry* e = ZsetEntry(ctx, ctx.args[k], &at, &wrong);
    if (wrong) return true;
    if (!e) continue;
    ZsetObject* z = AsZset(e);
    std::vector<ScoredMember> items;
    const size_t n = std::min(static_cast<size_t>(count), z->Length());
    z->ForRange(0, n - 1, max, [&](std::string_view m, double s) { items.emplace_back(m, s); });
    RemoveMembers(ctx.args[k], e, at, items);
    ctx.reply.ArrayHeader(2);
    ctx.reply.Bulk(ctx.args[k]);
    ctx.reply.ArrayHeader(items.size());
    for (const auto& [member, score] : items) {
      ctx.reply.ArrayHeader(2);
      ctx.reply.Bulk(member);
      ReplyScore(ctx, score);
    }
    return true;
  }
  if (only_if_any) return false;
  ctx.reply.NullArray();
  return true;
}

namespace {

void ZmpopCommand(CommandContext& ctx) { ZmpopFrom(ctx, 1, false); }

// ZRANDMEMBER key [count [WITHSCORES]]
void ZrandmemberCommand(CommandContext& ctx) {
  const size_t argc = ctx.args.size();
  if (argc > 4 || (argc == 4 && !EqualsIgnoreCase(ctx.args[3], "withscores"))) {
    ctx.reply.Error(kErrSyntax);
    return;
  }
  int64_t count = 0;
  if (argc >= 3) {
    if (!ParseInt64(ctx.args[2], &count)) {
      ctx.reply.Error(kErrNotInteger);
      return;
    }
    if (count < -INT64_MAX / 2 || count > INT64_MAX / 2) {
      ctx.reply.Error("ERR value is out of range");
      return;
    }
  }
  const bool with_scores = argc == 4;
  KeyLocation at;
  bool wrong;
  Entry* e = ZsetEntry(ctx, ctx.args[1], &at, &wrong);
  if (wrong) return;
  if (argc == 2) {
    std::string member;
    double score;
    if (e && AsZset(e)->RandomMember(ctx.worker.RandomU64(), &member, &score)) {
      ctx.reply.Bulk(member);
    } else {
      ctx.reply.Null();
    }
    return;
  }
  std::vector<ScoredMember> items;
  if (e && count != 0) {
    ZsetObject* z = AsZset(e);
    if (count < 0) {  // repeats allowed
      for (int64_t i = 0; i < -count; ++i) {
        std::string member;
        double score;
        z->RandomMember(ctx.worker.RandomU64(), &member, &score);
        items.emplace_back(std::move(member), score);
      }
    } else {
      z->ForEach([&](std::string_view m, double s) { items.emplace_back(m, s); });
      const size_t n = std::min(static_cast<size_t>(count), items.size());
      for (size_t i = 0; i < n; ++i) {  // a partial shuffle picks n distinct members
        const size_t j = i + ctx.worker.RandomU64() % (items.size() - i);
        std::swap(items[i], items[j]);
      }
      items.resize(n);
    }
  }
  ReplyWithScores(ctx, items, with_scores, true);
}

// ZSCAN key cursor [MATCH pattern] [COUNT count]: scores are bulk strings in both protocols.
void ZscanCommand(CommandContext& ctx) {
  uint64_t cursor;
  if (!ParseCursor(ctx.args[2], &cursor)) {
    ctx.reply.Error("ERR invalid cursor");
    return;
  }
  ScanOptions o;
  if (!ParseScanOptions(ctx, 3, &o)) return;
  KeyLocation at;
  bool wrong;
  Entry* e = ZsetEntry(ctx, ctx.args[1], &at, &wrong);
  if (wrong) return;
  std::vector<ScoredMember> found;
  uint64_t next = 0;
  if (e) {
    next = AsZset(e)->Scan(cursor, static_cast<size_t>(o.count), [&](std::string_view m, double s) {
      if (!o.has_pattern || storage::GlobMatch(o.pattern, m)) found.emplace_back(m, s);
    });
  }
  ctx.reply.ArrayHeader(2);
  ctx.reply.Bulk(std::to_string(next));
  ctx.reply.ArrayHeader(found.size() * 2);
  for (const auto& [member, score] : found) {
    ctx.reply.Bulk(member);
    ctx.reply.Bulk(storage::FormatScore(score));
  }
}

}  // namespace

void RegisterZsetCommands(CommandTable& t) {
  const uint32_t kRead = kReadOnly | kFast;
  const uint32_t kWriteFast = kWrite | kDenyOom | kFast;
  t.Add({"zadd", -4, kWriteFast, 1, 1, 1, ZaddCommand, "sorted-set",
         "Adds one or more members to a sorted set, or updates their scores. Creates the key if it "
         "doesn't exist.",
         "1.2.0"});
  t.Add({"zincrby", 4, kWriteFast, 1, 1, 1, ZincrbyCommand, "sorted-set",
         "Increments the score of a member in a sorted set.", "1.2.0"});
  t.Add({"zrem", -3, kWrite | kFast, 1, 1, 1, ZremCommand, "sorted-set",
         "Removes one or more members from a sorted set. Deletes the sorted set if all members "
         "were removed.",
         "1.2.0"});
  t.Add({"zscore", 3, kRead, 1, 1, 1, ZscoreCommand, "sorted-set",
         "Returns the score of a member in a sorted set.", "1.2.0"});
  t.Add({"zcard", 2, kRead, 1, 1, 1, ZcardCommand, "sorted-set",
         "Returns the number of members in a sorted set.", "1.2.0"});
  t.Add({"zrank", 3, kRead, 1, 1, 1, ZrankCommand, "sorted-set",
         "Returns the index of a member in a sorted set ordered by ascending scores.", "2.0.0"});
  t.Add({"zrevrank", 3, kRead, 1, 1, 1, ZrevrankCommand, "sorted-set",
         "Returns the index of a member in a sorted set ordered by descending scores.", "2.0.0"});
  t.Add({"zpopmin", -2, kWrite | kFast, 1, 1, 1, ZpopminCommand, "sorted-set",
         "Returns the lowest-scoring members from a sorted set after removing them. Deletes the "
         "sorted set if the last member was popped.",
         "5.0.0"});
  t.Add({"zpopmax", -2, kWrite | kFast, 1, 1, 1, ZpopmaxCommand, "sorted-set",
         "Returns the highest-scoring members from a sorted set after removing them. Deletes the "
         "sorted set if the last member was popped.",
         "5.0.0"});
  t.Add({"zmscore", -3, kRead, 1, 1, 1, ZmscoreCommand, "sorted-set",
         "Returns the score of one or more members in a sorted set.", "6.2.0"});
  t.Add({"zmpop", -4, kWrite | kMovableKeys, 2, -1, 1, ZmpopCommand, "sorted-set",
         "Returns the highest- or lowest-scoring members from one or more sorted sets after "
         "removing them. Deletes the sorted set if the last member was popped.",
         "7.0.0"});
  t.Add({"zrandmember", -2, kReadOnly, 1, 1, 1, ZrandmemberCommand, "sorted-set",
         "Returns one or more random members from a sorted set.", "6.2.0"});
  t.Add({"zscan", -3, kReadOnly, 1, 1, 1, ZscanCommand, "sorted-set",
         "Iterates over members and scores of a sorted set.", "2.8.0"});
  RegisterZsetRangeCommands(t);
  RegisterZsetAlgebraCommands(t);
}

}  // namespace flightcache::server
