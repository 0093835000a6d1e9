// zset_range_commands.cc — the sorted-set range commands: ZRANGE (by rank, BYSCORE, BYLEX, REV,
// LIMIT, WITHSCORES), ZRANGESTORE, ZRANGEBYSCORE, ZREVRANGEBYSCORE, ZRANGEBYLEX,
// ZREVRANGEBYLEX, ZREVRANGE, ZCOUNT, ZLEXCOUNT, ZREMRANGEBYRANK, ZREMRANGEBYSCORE and
// ZREMRANGEBYLEX.
//
// All the ZRANGE forms go through one parser and one range walk, as Redis 7.0's
// zrangeGenericCommand does, so they share its option rules and error texts. Score bounds are
// "1.5", "(1.5", "-inf", "+inf"; lex bounds "[a", "(a", "-", "+". Runs with the keys' shard
// locks held; a range store computes its result before it writes, so source and destination
// may be the same key.
#include <algorithm>
#include <string>
#include <vector>

#include "server/command_table.h"
#include "server/command_util.h"
#include "server/commands/zset_util.h"
#include "server/server.h"
#include "server/worker.h"

namespace flightcache::server {
namespace {

using storage::Entry;
using storage::KeyLocation;
using storage::ZsetObject;

enum class RangeType { kAuto, kRank, kScore, kLex };

// How one ZRANGE-family call was written: which arguments are the key and the bounds, what the
// command itself fixes (ZRANGEBYSCORE fixes the type, ZREVRANGE the direction).
struct RangeCall {
  size_t key_index = 1;
  RangeType type = RangeType::kAuto;
  bool reverse = false;
  bool direction_fixed = false;
  bool store = false;  // ZRANGESTORE: args[1] is the destination
};

// The members of zset z in ranks start..end (Redis's index rules: negatives from the end).
void CollectRank(const ZsetObject& z, int64_t start, int64_t end, bool reverse,
                 std::vector<ScoredMember>* out) {
  const auto len = static_cast<int64_t>(z.Length());
  if (start < 0) start = len + start;
  if (end < 0) end = len + end;
  if (start < 0) start = 0;
  if (start > end || start >= len) return;
  if (end >= len) end = len - 1;
  z.ForRange(static_cast<size_t>(start), static_cast<size_t>(end), reverse,
             [&](std::string_view m, double s) { out->emplace_back(m, s); });
}

// Parses the options, the range and runs it; writes the reply (the items, or the stored count).
void RangeGeneric(CommandContext& ctx, RangeCall call) {
  const size_t first_option = call.key_index + 3;
  bool with_scores = false;
  int64_t offset = 0, limit = -1;
  bool has_limit = false;
  for (size_t j = first_option; j < ctx.args.size(); ++j) {
    const std::string_view a = ctx.args[j];
    const size_t left = ctx.args.size() - j - 1;
    if (!call.store && EqualsIgnoreCase(a, "withscores")) {
      with_scores = true;
    } else if (EqualsIgnoreCase(a, "limit") && left >= 2) {
      if (!ParseInt64(ctx.args[j + 1], &offset) || !ParseInt64(ctx.args[j + 2], &limit)) {
        ctx.reply.Error(kErrNotInteger);
        return;
      }
      has_limit = true;
      j += 2;
    } else if (!call.direction_fixed && EqualsIgnoreCase(a, "rev")) {
      call.reverse = true;
      call.direction_fixed = true;
    } else if (call.type == RangeType::kAuto && EqualsIgnoreCase(a, "bylex")) {
      call.type = RangeType::kLex;
    } else if (call.type == RangeType::kAuto && EqualsIgnoreCase(a, "byscore")) {
      call.type = RangeType::kScore;
    } else {
      ctx.reply.Error(kErrSyntax);
      return;
    }
  }
  if (call.type == RangeType::kAuto) call.type = RangeType::kRank;
  if (has_limit && call.type == RangeType::kRank) {
    ctx.reply.Error(
        "ERR syntax error, LIMIT is only supported in combination with either BYSCORE or BYLEX");
    return;
  }
  if (with_scores && call.type == RangeType::kLex) {
    ctx.reply.Error("ERR syntax error, WITHSCORES not supported in combination with BYLEX");
    return;
  }
  std::string_view min = ctx.args[call.key_index + 1];
  std::string_view max = ctx.args[call.key_index + 2];
  if (call.reverse && call.type != RangeType::kRank) std::swap(min, max);  // given as max min
  int64_t start = 0, end = 0;
  storage::ScoreRange scores;
  storage::LexRange lex;
  switch (call.type) {
    case RangeType::kAuto:
    case RangeType::kRank:
      if (!ParseInt64(min, &start) || !ParseInt64(max, &end)) {
        ctx.reply.Error(kErrNotInteger);
        return;
      }
      break;
    case RangeType::kScore:
      if (!ParseScoreRange(ctx, min, max, &scores)) return;
      break;
    case RangeType::kLex:
      if (!ParseLexRange(ctx, min, max, &lex)) return;
      break;
  }
  KeyLocation at;
  bool wrong;
  Entry* e = ZsetEntry(ctx, ctx.args[call.key_index], &at, &wrong);
  if (wrong) return;
  std::vector<ScoredMember> items;
  // A negative offset selects nothing, as in Redis; a negative limit means no limit.
  if (e && offset >= 0) {
    const ZsetObject& z = *AsZset(e);
    auto add = [&](std::string_view m, double s) { items.emplace_back(m, s); };
    switch (call.type) {
      case RangeType::kAuto:
      case RangeType::kRank:
        CollectRank(z, start, end, call.reverse, &items);
        break;
      case RangeType::kScore:
        z.ForScoreRange(scores, call.reverse, static_cast<size_t>(offset), limit, add);
        break;
      case RangeType::kLex:
        z.ForLexRange(lex, call.reverse, static_cast<size_t>(offset), limit, add);
        break;
    }
  }
  if (call.store) {
    ctx.reply.Integer(static_cast<int64_t>(StoreZset(ctx, ctx.args[1], items)));
    return;
  }
  ReplyWithScores(ctx, items, with_scores, true);
}

void ZrangeCommand(CommandContext& ctx) { RangeGeneric(ctx, RangeCall{}); }

void ZrangestoreCommand(CommandContext& ctx) {
  RangeCall call;
  call.key_index = 2;
  call.store = true;
  RangeGeneric(ctx, call);
}

void ZrevrangeCommand(CommandContext& ctx) {
  RangeCall call;
  call.type = RangeType::kRank;
  call.reverse = call.direction_fixed = true;
  RangeGeneric(ctx, call);
}

void ZrangebyscoreCommand(CommandContext& ctx) {
  RangeCall call;
  call.type = RangeType::kScore;
  call.direction_fixed = true;
  RangeGeneric(ctx, call);
}

void ZrevrangebyscoreCommand(CommandContext& ctx) {
  RangeCall call;
  call.type = RangeType::kScore;
  call.reverse = call.direction_fixed = true;
  RangeGeneric(ctx, call);
}

void ZrangebylexCommand(CommandContext& ctx) {
  RangeCall call;
  call.type = RangeType::kLex;
  call.direction_fixed = true;
  RangeGeneric(ctx, call);
}

void ZrevrangebylexCommand(CommandContext& ctx) {
  RangeCall call;
  call.type = RangeType::kLex;
  call.reverse = call.direction_fixed = true;
  RangeGeneric(ctx, call);
}

void ZcountCommand(CommandContext& ctx) {
  storage::ScoreRange range;
  if (!ParseScoreRange(ctx, ctx.args[2], ctx.args[3], &range)) return;
  KeyLocation at;
  bool wrong;
  Entry* e = ZsetEntry(ctx, ctx.args[1], &at, &wrong);
  if (wrong) return;
  ctx.reply.Integer(e ? static_cast<int64_t>(AsZset(e)->CountScoreRange(range)) : 0);
}

void ZlexcountCommand(CommandContext& ctx) {
  storage::LexRange range;
  if (!ParseLexRange(ctx, ctx.args[2], ctx.args[3], &range)) return;
  KeyLocation at;
  bool wrong;
  Entry* e = ZsetEntry(ctx, ctx.args[1], &at, &wrong);
  if (wrong) return;
  ctx.reply.Integer(e ? static_cast<int64_t>(AsZset(e)->CountLexRange(range)) : 0);
}

// ZREMRANGEBYRANK / ZREMRANGEBYSCORE / ZREMRANGEBYLEX key min max: the range is parsed before
// the key is looked up (Redis's order of errors).
void RemoveRangeGeneric(CommandContext& ctx, RangeType type) {
  int64_t start = 0, end = 0;
  storage::ScoreRange scores;
  storage::LexRange lex;
  if (type == RangeType::kRank) {
    if (!ParseInt64(ctx.args[2], &start) || !ParseInt64(ctx.args[3], &end)) {
      ctx.reply.Error(kErrNotInteger);
      return;
    }
  } else if (type == RangeType::kScore) {
    if (!ParseScoreRange(ctx, ctx.args[2], ctx.args[3], &scores)) return;
  } else if (!ParseLexRange(ctx, ctx.args[2], ctx.args[3], &lex)) {
    return;
  }
  KeyLocation at;
  bool wrong;
  Entry* e = ZsetEntry(ctx, ctx.args[1], &at, &wrong);
  if (wrong) return;
  if (!e) {
    ctx.reply.Integer(0);
    return;
  }
  std::vector<ScoredMember> items;
  auto add = [&](std::string_view m, double s) { items.emplace_back(m, s); };
  const ZsetObject& z = *AsZset(e);
  if (type == RangeType::kRank) {
    CollectRank(z, start, end, false, &items);
  } else if (type == RangeType::kScore) {
    z.ForScoreRange(scores, false, 0, -1, add);
  } else {
    z.ForLexRange(lex, false, 0, -1, add);
  }
  ctx.reply.Integer(items.empty() ? 0
                                  : static_cast<int64_t>(RemoveMembers(ctx.args[1], e, at, items)));
}

void ZremrangebyrankCommand(CommandContext& ctx) { RemoveRangeGeneric(ctx, RangeType::kRank); }
void ZremrangebyscoreCommand(CommandContext& ctx) { RemoveRangeGeneric(ctx, RangeType::kScore); }
void ZremrangebylexCommand(CommandContext& ctx) { RemoveRangeGeneric(ctx, RangeType::kLex); }

}  // namespace

void RegisterZsetRangeCommands(CommandTable& t) {
  const uint32_t kRead = kReadOnly | kFast;
  t.Add({"zrange", -4, kReadOnly, 1, 1, 1, ZrangeCommand, "sorted-set",
         "Returns members in a sorted set within a range of indexes.", "1.2.0"});
  t.Add({"zrangestore", -5, kWrite | kDenyOom, 1, 2, 1, ZrangestoreCommand, "sorted-set",
         "Stores a range of members from sorted set in a key.", "6.2.0"});
  t.Add({"zrevrange", -4, kReadOnly, 1, 1, 1, ZrevrangeCommand, "sorted-set",
         "Returns members in a sorted set within a range of indexes in reverse order.", "1.2.0"});
  t.Add({"zrangebyscore", -4, kReadOnly, 1, 1, 1, ZrangebyscoreCommand, "sorted-set",
         "Returns members in a sorted set within a range of scores.", "1.0.5"});
  t.Add({"zrevrangebyscore", -4, kReadOnly, 1, 1, 1, ZrevrangebyscoreCommand, "sorted-set",
         "Returns members in a sorted set within a range of scores in reverse order.", "2.2.0"});
  t.Add({"zrangebylex", -4, kReadOnly, 1, 1, 1, ZrangebylexCommand, "sorted-set",
         "Returns members in a sorted set within a lexicographical range.", "2.8.9"});
  t.Add({"zrevrangebylex", -4, kReadOnly, 1, 1, 1, ZrevrangebylexCommand, "sorted-set",
         "Returns members in a sorted set within a lexicographical range in reverse order.",
         "2.8.9"});
  t.Add({"zcount", 4, kRead, 1, 1, 1, ZcountCommand, "sorted-set",
         "Returns the count of members in a sorted set that have scores within a range.", "2.0.0"});
  t.Add({"zlexcount", 4, kRead, 1, 1, 1, ZlexcountCommand, "sorted-set",
         "Returns the number of members in a sorted set within a lexicographical range.", "2.8.9"});
  t.Add({"zremrangebyrank", 4, kWrite, 1, 1, 1, ZremrangebyrankCommand, "sorted-set",
         "Removes members in a sorted set within a range of indexes. Deletes the sorted set if "
         "all members were removed.",
         "2.0.0"});
  t.Add({"zremrangebyscore", 4, kWrite, 1, 1, 1, ZremrangebyscoreCommand, "sorted-set",
         "Removes members in a sorted set within a range of scores. Deletes the sorted set if all "
         "members were removed.",
         "1.2.0"});
  t.Add({"zremrangebylex", 4, kWrite, 1, 1, 1, ZremrangebylexCommand, "sorted-set",
         "Removes members in a sorted set within a lexicographical range. Deletes the sorted set "
         "if all members were removed.",
         "2.8.9"});
}

}  // namespace flightcache::server
