// zset_algebra_commands.cc — ZUNION, ZUNIONSTORE, ZINTER, ZINTERSTORE, ZINTERCARD, ZDIFF and
// ZDIFFSTORE, as Redis 7.0's zunionInterDiffGenericCommand has them: WEIGHTS, AGGREGATE
// SUM|MIN|MAX, WITHSCORES (not in the STORE forms), and plain sets as inputs whose members all
// score 1. A weighted score or a sum that is NaN (inf * 0, inf + -inf) counts as 0, as in Redis.
//
// Runs with the shard locks of every argument (the keys are among them). The whole result is
// computed before anything is written, so the destination may be one of the sources.
#include <algorithm>
#include <cmath>
#include <string>
#include <unordered_map>
#include <vector>

#include "server/command_table.h"
#include "server/command_util.h"
#include "server/commands/zset_util.h"
#include "server/server.h"
#include "server/worker.h"
#include "storage/types/set_object.h"

namespace flightcache::server {
namespace {

using storage::Entry;
using storage::KeyLocation;
using storage::SetObject;
using storage::ValueType;
using storage::ZsetObject;

enum class SetOp { kUnion, kInter, kDiff };
enum class Aggregate { kSum, kMin, kMax };

// One input: a sorted set, a plain set (members score 1), or a missing key (empty).
struct Source {
  const ZsetObject* zset = nullptr;
  const SetObject* set = nullptr;
  double weight = 1;

  size_t Length() const { return zset ? zset->Length() : (set ? set->Length() : 0); }
  // The member's unweighted score, or false when it is not in this input.
  bool Score(std::string_view member, double* score) const {
    if (zset) {
      std::optional<double> s = zset->Score(member);
      if (s) *score = *s;
      return s.has_value();
    }
    *score = 1;
    return set && set->Contains(member);
  }
  void ForEach(const std::function<void(std::string_view, double)>& fn) const {
    if (zset) zset->ForEach(fn);
    if (set) set->ForEach([&](std::string_view m) { fn(m, 1); });
  }
};

double Weighted(double score, double weight) {
  const double v = score * weight;
  return std::isnan(v) ? 0 : v;
}

void Combine(Aggregate aggregate, double value, double* target) {
  switch (aggregate) {
    case Aggregate::kSum:
      *target += value;
      if (std::isnan(*target)) *target = 0;
      break;
    case Aggregate::kMin:
      *target = std::min(*target, value);
      break;
    case Aggregate::kMax:
      *target = std::max(*target, value);
      break;
  }
}

// The result of op over sources, in sorted-set order (score, then member). limit > 0 stops an
// intersection after that many members (ZINTERCARD).
std::vector<ScoredMember> Compute(SetOp op, Aggregate aggregate, std::vector<Source> sources,
                                  size_t limit = 0) {
  std::vector<ScoredMember> out;
  if (op == SetOp::kUnion) {
    std::unordered_map<std::string, double> acc;
    for (const Source& src : sources) {
      src.ForEach([&](std::string_view m, double s) {
        const double v = Weighted(s, src.weight);
        auto [it, added] = acc.try_emplace(std::string(m), v);
        if (!added) Combine(aggregate, v, &it->second);
      });
    }
    out.assign(acc.begin(), acc.end());
  } else if (op == SetOp::kInter) {
    for (const Source& src : sources) {
      if (src.Length() == 0) return out;
    }
    // Walk the smallest input; look each member up in the others.
    std::stable_sort(sources.begin(), sources.end(),
                     [](const Source& a, const Source& b) { return a.Length() < b.Length(); });
    bool done = false;
    sources[0].ForEach([&](std::string_view m, double s) {
      if (done) return;
      double acc = Weighted(s, sources[0].weight);
      for (size_t i = 1; i < sources.size(); ++i) {
        double other;
        if (!sources[i].Score(m, &other)) return;
        Combine(aggregate, Weighted(other, sources[i].weight), &acc);
      }
      out.emplace_back(m, acc);
      if (limit > 0 && out.size() >= limit) done = true;
    });
  } else {
    sources[0].ForEach([&](std::string_view m, double s) {
      double ignored;
      for (size_t i = 1; i < sources.size(); ++i) {
        if (sources[i].Score(m, &ignored)) return;
      }
      out.emplace_back(m, s);
    });
  }
  std::sort(out.begin(), out.end(), [](const ScoredMember& a, const ScoredMember& b) {
    return a.second < b.second || (a.second == b.second && a.first < b.first);
  });
  return out;
}

// The parsed arguments of one call.
struct AlgebraCall {
  std::vector<Source> sources;
  Aggregate aggregate = Aggregate::kSum;
  bool with_scores = false;
  int64_t limit = 0;  // ZINTERCARD
};

// Parses numkeys (at args[numkeys_index]), looks the keys up (sets and sorted sets; WRONGTYPE
// for anything else, before the options are read, as in Redis) and the options. False with the
// error written.
bool ParseCall(CommandContext& ctx, size_t numkeys_index, SetOp op, bool store, bool card,
               AlgebraCall* call) {
  int64_t numkeys;
  if (!ParseInt64(ctx.args[numkeys_index], &numkeys)) {
    ctx.reply.Error(kErrNotInteger);
    return false;
  }
  if (numkeys < 1) {
    ctx.reply.Error("ERR at least 1 input key is needed for '" + ToLower(ctx.args[0]) +
                    "' command");
    return false;
  }
  const size_t argc = ctx.args.size();
  if (static_cast<uint64_t>(numkeys) > argc - numkeys_index - 1) {
    ctx.reply.Error(kErrSyntax);
    return false;
  }
  const size_t n = static_cast<size_t>(numkeys);
  for (size_t i = 0; i < n; ++i) {
    KeyLocation at;
    Entry* e = Lookup(ctx, ctx.args[numkeys_index + 1 + i], &at);
    Source src;
    if (e) {
      const ValueType type = storage::EntryType(e);
      if (type == ValueType::kZset) {
        src.zset = AsZset(e);
      } else if (type == ValueType::kSet) {
        src.set = static_cast<const SetObject*>(storage::EntryObject(e));
      } else {
        ctx.reply.Error(kErrWrongType);
        return false;
      }
    }
    call->sources.push_back(src);
  }
  for (size_t j = numkeys_index + 1 + n; j < argc; ++j) {
    const size_t left = argc - j - 1;
    const std::string_view a = ctx.args[j];
    if (card) {
      if (left >= 1 && EqualsIgnoreCase(a, "limit")) {
        if (!ParseInt64(ctx.args[j + 1], &call->limit) || call->limit < 0) {
          ctx.reply.Error("ERR LIMIT can't be negative");
          return false;
        }
        ++j;
        continue;
      }
      ctx.reply.Error(kErrSyntax);
      return false;
    }
    if (op != SetOp::kDiff && left >= n && EqualsIgnoreCase(a, "weights")) {
      for (size_t i = 0; i < n; ++i) {
        ++j;
        if (!storage::ParseScore(ctx.args[j], &call->sources[i].weight)) {
          ctx.reply.Error("ERR weight value is not a float");
          return false;
        }
      }
    } else if (op != SetOp::kDiff && left >= 1 && EqualsIgnoreCase(a, "aggregate")) {
      ++j;
      if (EqualsIgnoreCase(ctx.args[j], "sum")) {
        call->aggregate = Aggregate::kSum;
      } else if (EqualsIgnoreCase(ctx.args[j], "min")) {
        call->aggregate = Aggregate::kMin;
      } else if (EqualsIgnoreCase(ctx.args[j], "max")) {
        call->aggregate = Aggregate::kMax;
      } else {
        ctx.reply.Error(kErrSyntax);
        return false;
      }
    } else if (!store && EqualsIgnoreCase(a, "withscores")) {
      call->with_scores = true;
    } else {
      ctx.reply.Error(kErrSyntax);
      return false;
    }
  }
  return true;
}

void ReadGeneric(CommandContext& ctx, SetOp op) {
  AlgebraCall call;
  if (!ParseCall(ctx, 1, op, false, false, &call)) return;
  ReplyWithScores(ctx, Compute(op, call.aggregate, std::move(call.sources)), call.with_scores,
                  true);
}

void StoreGeneric(CommandContext& ctx, SetOp op) {
  AlgebraCall call;
  if (!ParseCall(ctx, 2, op, true, false, &call)) return;
  std::vector<ScoredMember> items = Compute(op, call.aggregate, std::move(call.sources));
  ctx.reply.Integer(static_cast<int64_t>(StoreZset(ctx, ctx.args[1], items)));
}

void ZunionCommand(CommandContext& ctx) { ReadGeneric(ctx, SetOp::kUnion); }
void ZinterCommand(CommandContext& ctx) { ReadGeneric(ctx, SetOp::kInter); }
void ZdiffCommand(CommandContext& ctx) { ReadGeneric(ctx, SetOp::kDiff); }
void ZunionstoreCommand(CommandContext& ctx) { StoreGeneric(ctx, SetOp::kUnion); }
void ZinterstoreCommand(CommandContext& ctx) { StoreGeneric(ctx, SetOp::kInter); }
void ZdiffstoreCommand(CommandContext& ctx) { StoreGeneric(ctx, SetOp::kDiff); }

void ZintercardCommand(CommandContext& ctx) {
  AlgebraCall call;
  if (!ParseCall(ctx, 1, SetOp::kInter, true, true, &call)) return;
  const size_t limit = static_cast<size_t>(call.limit);
  ctx.reply.Integer(static_cast<int64_t>(
      Compute(SetOp::kInter, Aggregate::kSum, std::move(call.sources), limit).size()));
}

}  // namespace

void RegisterZsetAlgebraCommands(CommandTable& t) {
  const uint32_t kStore = kWrite | kDenyOom | kMovableKeys;
  const uint32_t kReadMovable = kReadOnly | kMovableKeys;
  t.Add({"zunion", -3, kReadMovable, 2, -1, 1, ZunionCommand, "sorted-set",
         "Returns the union of multiple sorted sets.", "6.2.0"});
  t.Add({"zunionstore", -4, kStore, 1, -1, 1, ZunionstoreCommand, "sorted-set",
         "Stores the union of multiple sorted sets in a key.", "2.0.0"});
  t.Add({"zinter", -3, kReadMovable, 2, -1, 1, ZinterCommand, "sorted-set",
         "Returns the intersect of multiple sorted sets.", "6.2.0"});
  t.Add({"zinterstore", -4, kStore, 1, -1, 1, ZinterstoreCommand, "sorted-set",
         "Stores the intersect of multiple sorted sets in a key.", "2.0.0"});
  t.Add({"zintercard", -3, kReadMovable, 2, -1, 1, ZintercardCommand, "sorted-set",
         "Returns the number of members of the intersect of multiple sorted sets.", "7.0.0"});
  t.Add({"zdiff", -3, kReadMovable, 2, -1, 1, ZdiffCommand, "sorted-set",
         "Returns the difference between multiple sorted sets.", "6.2.0"});
  t.Add({"zdiffstore", -4, kStore, 1, -1, 1, ZdiffstoreCommand, "sorted-set",
         "Stores the difference of multiple sorted sets in a key.", "6.2.0"});
}

}  // namespace flightcache::server
