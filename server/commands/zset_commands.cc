// zset_commands.cc — the first sorted-set commands over storage::ZsetObject: ZADD (NX XX GT LT
// CH INCR), ZINCRBY, ZREM, ZSCORE, ZCARD, ZRANK, ZREVRANK, ZRANGE by index (REV, WITHSCORES),
// ZPOPMIN and ZPOPMAX. The rest of the family (BYSCORE/BYLEX ranges, the algebra, ZMPOP,
// blocking pops...) is a later step of issue 10.
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
#include "server/server.h"
#include "server/worker.h"
#include "storage/types/zset_object.h"

namespace flightcache::server {
namespace {

using storage::Entry;
using storage::KeyLocation;
using storage::ObjectWrite;
using storage::ValueType;
using storage::ZsetObject;

ZsetObject* AsZset(Entry* e) { return static_cast<ZsetObject*>(storage::EntryObject(e)); }

Entry* ZsetEntry(CommandContext& ctx, std::string_view key, KeyLocation* at, bool* wrong) {
  return LookupTyped(ctx, key, ValueType::kZset, at, wrong);
}

void ReplyScore(CommandContext& ctx, double score) {
  if (ctx.reply.resp3()) {
    ctx.reply.Double(score);
  } else {
    ctx.reply.Bulk(storage::FormatScore(score));
  }
}

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

// Writes members with scores: a flat array in RESP2, [member, score] pairs in RESP3.
void ReplyWithScores(CommandContext& ctx, const std::vector<std::pair<std::string, double>>& items,
                     bool with_scores, bool nested) {
  if (!with_scores) {
    ctx.reply.ArrayHeader(items.size());
    for (const auto& item : items) ctx.reply.Bulk(item.first);
    return;
  }
  const bool pairs = nested && ctx.reply.resp3();
  ctx.reply.ArrayHeader(pairs ? items.size() : items.size() * 2);
  for (const auto& [member, score] : items) {
    if (pairs) ctx.reply.ArrayHeader(2);
    ctx.reply.Bulk(member);
    ReplyScore(ctx, score);
  }
}

// ZRANGE key start stop [REV] [WITHSCORES]: ranges by index. BYSCORE, BYLEX and LIMIT are not
// implemented yet and answer an error naming them.
void ZrangeCommand(CommandContext& ctx) {
  bool rev = false, with_scores = false;
  for (size_t i = 4; i < ctx.args.size(); ++i) {
    std::string_view a = ctx.args[i];
    if (EqualsIgnoreCase(a, "rev")) {
      rev = true;
    } else if (EqualsIgnoreCase(a, "withscores")) {
      with_scores = true;
    } else if (EqualsIgnoreCase(a, "byscore") || EqualsIgnoreCase(a, "bylex") ||
               EqualsIgnoreCase(a, "limit")) {
      ctx.reply.Error("ERR ZRANGE " + ToLower(a) + " is not implemented by flightcache yet");
      return;
    } else {
      ctx.reply.Error(kErrSyntax);
      return;
    }
  }
  int64_t start, end;
  if (!ParseInt64(ctx.args[2], &start) || !ParseInt64(ctx.args[3], &end)) {
    ctx.reply.Error(kErrNotInteger);
    return;
  }
  KeyLocation at;
  bool wrong;
  Entry* e = ZsetEntry(ctx, ctx.args[1], &at, &wrong);
  if (wrong) return;
  std::vector<std::pair<std::string, double>> items;
  if (e) {
    const auto len = static_cast<int64_t>(AsZset(e)->Length());
    if (start < 0) start = len + start;
    if (end < 0) end = len + end;
    if (start < 0) start = 0;
    if (start <= end && start < len) {
      if (end >= len) end = len - 1;
      AsZset(e)->ForRange(static_cast<size_t>(start), static_cast<size_t>(end), rev,
                          [&](std::string_view m, double s) { items.emplace_back(m, s); });
    }
  }
  ReplyWithScores(ctx, items, with_scores, true);
}

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
  std::vector<std::pair<std::string, double>> items;
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
  t.Add({"zrange", -4, kReadOnly, 1, 1, 1, ZrangeCommand, "sorted-set",
         "Returns members in a sorted set within a range of indexes.", "1.2.0"});
  t.Add({"zpopmin", -2, kWrite | kFast, 1, 1, 1, ZpopminCommand, "sorted-set",
         "Returns the lowest-scoring members from a sorted set after removing them. Deletes the "
         "sorted set if the last member was popped.",
         "5.0.0"});
  t.Add({"zpopmax", -2, kWrite | kFast, 1, 1, 1, ZpopmaxCommand, "sorted-set",
         "Returns the highest-scoring members from a sorted set after removing them. Deletes the "
         "sorted set if the last member was popped.",
         "5.0.0"});
}

}  // namespace flightcache::server
