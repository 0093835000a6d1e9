// zset_util.h — what the sorted-set command files share: typed lookup, score replies, range
// argument parsing and storing a result as a sorted set.
//
// Used by zset_commands.cc, zset_range_commands.cc, zset_algebra_commands.cc and the blocking
// pops. Every function runs with the keys' shard locks held, as the commands do.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "server/command_table.h"
#include "server/command_util.h"
#include "server/connection.h"
#include "server/server.h"
#include "storage/types/zset_object.h"

namespace flightcache::server {

using ScoredMember = std::pair<std::string, double>;

inline storage::ZsetObject* AsZset(storage::Entry* e) {
  return static_cast<storage::ZsetObject*>(storage::EntryObject(e));
}

inline storage::Entry* ZsetEntry(CommandContext& ctx, std::string_view key,
                                 storage::KeyLocation* at, bool* wrong) {
  return LookupTyped(ctx, key, storage::ValueType::kZset, at, wrong);
}

// A score: a RESP3 double, or in RESP2 a bulk string printed as Redis 7.0 prints it.
inline void ReplyScore(CommandContext& ctx, double score) {
  if (ctx.reply.resp3()) {
    ctx.reply.Double(score);
  } else {
    ctx.reply.Bulk(storage::FormatScore(score));
  }
}

// Writes members with scores: a flat array in RESP2, and in RESP3 [member, score] pairs when
// nested (ZRANGE... WITHSCORES), flat otherwise (ZPOPMIN without a count).
inline void ReplyWithScores(CommandContext& ctx, const std::vector<ScoredMember>& items,
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

// Parses ZRANGEBYSCORE's min and max; false with "ERR min or max is not a float" written.
inline bool ParseScoreRange(CommandContext& ctx, std::string_view min, std::string_view max,
                            storage::ScoreRange* out) {
  if (!storage::ParseScoreBound(min, &out->min, &out->min_exclusive) ||
      !storage::ParseScoreBound(max, &out->max, &out->max_exclusive)) {
    ctx.reply.Error("ERR min or max is not a float");
    return false;
  }
  return true;
}

// Parses ZRANGEBYLEX's min and max; false with "ERR min or max not valid string range item".
inline bool ParseLexRange(CommandContext& ctx, std::string_view min, std::string_view max,
                          storage::LexRange* out) {
  int min_inf = 0, max_inf = 0;
  if (!storage::ParseLexBound(min, &out->min, &out->min_exclusive, &min_inf) ||
      !storage::ParseLexBound(max, &out->max, &out->max_exclusive, &max_inf)) {
    ctx.reply.Error("ERR min or max not valid string range item");
    return false;
  }
  out->min_is_neg_inf = min_inf < 0;
  out->min_is_pos_inf = min_inf > 0;
  out->max_is_pos_inf = max_inf > 0;
  out->max_is_neg_inf = max_inf < 0;
  return true;
}

// Stores items as the sorted set at key, replacing whatever was there, or deletes key when
// there are none. Returns how many members were stored.
inline size_t StoreZset(CommandContext& ctx, std::string_view key,
                        const std::vector<ScoredMember>& items) {
  storage::KeyLocation at = ctx.conn.database().Locate(key);
  if (items.empty()) {
    at.shard->Delete(key, at.hash);
    return 0;
  }
  const storage::TypeLimits limits = TypeLimitsOf(ctx);
  auto zset = std::make_unique<storage::ZsetObject>();
  for (const auto& [member, score] : items) zset->Set(member, score, limits);
  const size_t n = zset->Length();
  at.shard->SetObject(key, at.hash, std::move(zset), 0);
  return n;
}

// Removes members from the sorted set of entry e at key (in one ObjectWrite) and deletes the
// key when it is left empty. Returns how many were removed.
inline size_t RemoveMembers(std::string_view key, storage::Entry* e, const storage::KeyLocation& at,
                            const std::vector<ScoredMember>& items) {
  size_t removed = 0;
  {
    storage::ObjectWrite write(*at.shard, e);
    for (const auto& item : items) removed += AsZset(e)->Remove(item.first);
  }
  if (AsZset(e)->Length() == 0) at.shard->Delete(key, at.hash);
  return removed;
}

// ZMPOP's work from args[first] (its numkeys argument; BZMPOP's is at 2). Writes the reply (or
// an error) and returns true; when every key is missing and only_if_any is set, writes nothing
// and returns false (BZMPOP then blocks). zset_commands.cc.
bool ZmpopFrom(CommandContext& ctx, size_t first, bool only_if_any);

void RegisterZsetRangeCommands(CommandTable& table);    // zset_range_commands.cc
void RegisterZsetAlgebraCommands(CommandTable& table);  // zset_algebra_commands.cc

}  // namespace flightcache::server
