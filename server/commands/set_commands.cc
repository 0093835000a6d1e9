// set_commands.cc — Redis's set commands (SADD ... SSCAN) over storage::SetObject.
//
// Every command runs with its keys' shard locks held (see server/worker.cc). A key of another
// type gets WRONGTYPE. Writes change a set inside an ObjectWrite (the KeyWatcher hears of them
// and the shard re-counts the set's bytes); a set is created by its first member and its key
// deleted with its last, as Redis does. The algebra commands (SINTER, SUNION, SDIFF and their
// STORE forms) compute the whole result before they write, so the destination may be one of
// the sources. Replies and error texts are Redis 7.0's; SMEMBERS, SINTER, SUNION, SDIFF and
// SPOP with a count answer a RESP3 set.
#include <algorithm>
#include <memory>
#include <string>
#include <unordered_set>
#include <vector>

#include "server/command_table.h"
#include "server/command_util.h"
#include "server/connection.h"
#include "server/server.h"
#include "server/worker.h"
#include "storage/glob.h"
#include "storage/types/set_object.h"

namespace flightcache::server {
namespace {

using storage::Entry;
using storage::KeyLocation;
using storage::ObjectWrite;
using storage::SetObject;
using storage::ValueType;

SetObject* AsSet(Entry* e) { return static_cast<SetObject*>(storage::EntryObject(e)); }

Entry* SetEntry(CommandContext& ctx, std::string_view key, KeyLocation* at, bool* wrong) {
  return LookupTyped(ctx, key, ValueType::kSet, at, wrong);
}

SetObject* SetForRead(CommandContext& ctx, std::string_view key, bool* wrong) {
  KeyLocation at;
  Entry* e = SetEntry(ctx, key, &at, wrong);
  return e ? AsSet(e) : nullptr;
}

void DropIfEmpty(std::string_view key, Entry* e, const KeyLocation& at) {
  if (AsSet(e)->Length() == 0) at.shard->Delete(key, at.hash);
}

// Stores members as the set at key (replacing whatever was there), or deletes key when there
// are none. Returns how many were stored.
size_t StoreSet(CommandContext& ctx, std::string_view key,
                const std::vector<std::string>& members) {
  KeyLocation at = ctx.conn.database().Locate(key);
  if (members.empty()) {
    at.shard->Delete(key, at.hash);
    return 0;
  }
  const storage::TypeLimits limits = TypeLimitsOf(ctx);
  std::unique_ptr<SetObject> set = storage::NewSetFor(members[0], limits);
  for (const std::string& m : members) set->Add(m, limits);
  const size_t n = set->Length();
  at.shard->SetObject(key, at.hash, std::move(set), 0);
  return n;
}

void ReplyMembers(CommandContext& ctx, const std::vector<std::string>& members) {
  ctx.reply.SetHeader(members.size());
  for (const std::string& m : members) ctx.reply.Bulk(m);
}

void SaddCommand(CommandContext& ctx) {
  KeyLocation at;
  bool wrong;
  Entry* e = SetEntry(ctx, ctx.args[1], &at, &wrong);
  if (wrong) return;
  const storage::TypeLimits limits = TypeLimitsOf(ctx);
  if (!e) e = at.shard->SetObject(ctx.args[1], at.hash, storage::NewSetFor(ctx.args[2], limits), 0);
  int64_t added = 0;
  {
    ObjectWrite write(*at.shard, e);
    for (size_t i = 2; i < ctx.args.size(); ++i) added += AsSet(e)->Add(ctx.args[i], limits);
  }
  ctx.reply.Integer(added);
}

void SremCommand(CommandContext& ctx) {
  KeyLocation at;
  bool wrong;
  Entry* e = SetEntry(ctx, ctx.args[1], &at, &wrong);
  if (wrong) return;
  int64_t removed = 0;
  if (e) {
    {
      ObjectWrite write(*at.shard, e);
      for (size_t i = 2; i < ctx.args.size(); ++i) removed += AsSet(e)->Remove(ctx.args[i]);
    }
    DropIfEmpty(ctx.args[1], e, at);
  }
  ctx.reply.Integer(removed);
}

void SismemberCommand(CommandContext& ctx) {
  bool wrong;
  SetObject* set = SetForRead(ctx, ctx.args[1], &wrong);
  if (wrong) return;
  ctx.reply.Integer(set && set->Contains(ctx.args[2]) ? 1 : 0);
}

void SmismemberCommand(CommandContext& ctx) {
  bool wrong;
  SetObject* set = SetForRead(ctx, ctx.args[1], &wrong);
  if (wrong) return;
  ctx.reply.ArrayHeader(ctx.args.size() - 2);
  for (size_t i = 2; i < ctx.args.size(); ++i) {
    ctx.reply.Integer(set && set->Contains(ctx.args[i]) ? 1 : 0);
  }
}

void SmembersCommand(CommandContext& ctx) {
  bool wrong;
  SetObject* set = SetForRead(ctx, ctx.args[1], &wrong);
  if (wrong) return;
  ctx.reply.SetHeader(set ? set->Length() : 0);
  if (set) set->ForEach([&](std::string_view m) { ctx.reply.Bulk(m); });
}

void ScardCommand(CommandContext& ctx) {
  bool wrong;
  SetObject* set = SetForRead(ctx, ctx.args[1], &wrong);
  if (wrong) return;
  ctx.reply.Integer(set ? static_cast<int64_t>(set->Length()) : 0);
}

// Up to n distinct random members of set (all of them when n >= its size).
std::vector<std::string> DistinctRandom(CommandContext& ctx, const SetObject& set, size_t n) {
  std::vector<std::string> all;
  all.reserve(set.Length());
  set.ForEach([&](std::string_view m) { all.emplace_back(m); });
  if (n >= all.size()) return all;
  for (size_t i = 0; i < n; ++i) {
    const size_t j = i + ctx.worker.RandomU64() % (all.size() - i);
    std::swap(all[i], all[j]);
  }
  all.resize(n);
  return all;
}

void SpopCommand(CommandContext& ctx) {
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
  Entry* e = SetEntry(ctx, ctx.args[1], &at, &wrong);
  if (wrong) return;
  if (!e) {
    if (has_count) {
      ctx.reply.SetHeader(0);
    } else {
      ctx.reply.Null();
    }
    return;
  }
  if (has_count && count == 0) {
    ctx.reply.SetHeader(0);
    return;
  }
  std::vector<std::string> popped;
  if (has_count) {
    popped = DistinctRandom(ctx, *AsSet(e), static_cast<size_t>(count));
  } else {
    std::string buf;
    popped.emplace_back(AsSet(e)->Random(ctx.worker.RandomU64(), &buf));
  }
  {
    ObjectWrite write(*at.shard, e);
    for (const std::string& m : popped) AsSet(e)->Remove(m);
  }
  DropIfEmpty(ctx.args[1], e, at);
  if (has_count) {
    ReplyMembers(ctx, popped);
  } else {
    ctx.reply.Bulk(popped[0]);
  }
}

void SrandmemberCommand(CommandContext& ctx) {
  if (ctx.args.size() > 3) {
    ctx.reply.Error(kErrSyntax);
    return;
  }
  const bool has_count = ctx.args.size() == 3;
  int64_t count = 0;
  if (has_count) {
    if (!ParseInt64(ctx.args[2], &count)) {
      ctx.reply.Error(kErrNotInteger);
      return;
    }
    if (count == INT64_MIN) {
      ctx.reply.Error(
          "ERR value is out of range, value must between -9223372036854775807 and "
          "9223372036854775807");
      return;
    }
  }
  bool wrong;
  SetObject* set = SetForRead(ctx, ctx.args[1], &wrong);
  if (wrong) return;
  std::string buf;
  if (!has_count) {
    if (set) {
      ctx.reply.Bulk(set->Random(ctx.worker.RandomU64(), &buf));
    } else {
      ctx.reply.Null();
    }
    return;
  }
  if (!set || count == 0) {
    ctx.reply.ArrayHeader(0);
    return;
  }
  if (count < 0) {  // repeats allowed
    const auto n = static_cast<size_t>(-count);
    ctx.reply.ArrayHeader(n);
    for (size_t i = 0; i < n; ++i) ctx.reply.Bulk(set->Random(ctx.worker.RandomU64(), &buf));
    return;
  }
  std::vector<std::string> picked = DistinctRandom(ctx, *set, static_cast<size_t>(count));
  ctx.reply.ArrayHeader(picked.size());
  for (const std::string& m : picked) ctx.reply.Bulk(m);
}

void SmoveCommand(CommandContext& ctx) {
  std::string_view src = ctx.args[1], dst = ctx.args[2], member = ctx.args[3];
  KeyLocation src_at, dst_at;
  bool wrong;
  Entry* s = SetEntry(ctx, src, &src_at, &wrong);
  if (wrong) return;
  Entry* d = SetEntry(ctx, dst, &dst_at, &wrong);
  if (wrong) return;
  if (!s) {
    ctx.reply.Integer(0);
    return;
  }
  if (src == dst) {
    ctx.reply.Integer(AsSet(s)->Contains(member) ? 1 : 0);
    return;
  }
  bool removed;
  {
    ObjectWrite write(*src_at.shard, s);
    removed = AsSet(s)->Remove(member);
  }
  if (!removed) {
    ctx.reply.Integer(0);
    return;
  }
  DropIfEmpty(src, s, src_at);
  const storage::TypeLimits limits = TypeLimitsOf(ctx);
  if (!d) d = dst_at.shard->SetObject(dst, dst_at.hash, storage::NewSetFor(member, limits), 0);
  {
    ObjectWrite write(*dst_at.shard, d);
    AsSet(d)->Add(member, limits);
  }
  ctx.reply.Integer(1);
}

// Looks up the sets named by args[first..last): a missing key is a null entry (an empty set).
// False (with WRONGTYPE written) when any key holds another type, as Redis checks every key.
bool CollectSets(CommandContext& ctx, size_t first, size_t last,
                 std::vector<const SetObject*>* sets) {
  for (size_t i = first; i < last; ++i) {
    bool wrong;
    SetObject* set = SetForRead(ctx, ctx.args[i], &wrong);
    if (wrong) return false;
    sets->push_back(set);
  }
  return true;
}

// The intersection, in the order of the smallest set; stops after limit members (0: all).
std::vector<std::string> Intersect(std::vector<const SetObject*> sets, size_t limit) {
  std::vector<std::string> out;
  for (const SetObject* s : sets) {
    if (!s) return out;
  }
  if (sets.empty()) return out;
  std::sort(sets.begin(), sets.end(),
            [](const SetObject* a, const SetObject* b) { return a->Length() < b->Length(); });
  sets[0]->ForEach([&](std::string_view m) {
    if (limit != 0 && out.size() >= limit) return;
    for (size_t k = 1; k < sets.size(); ++k) {
      if (!sets[k]->Contains(m)) return;
    }
    out.emplace_back(m);
  });
  return out;
}

std::vector<std::string> Union(const std::vector<const SetObject*>& sets) {
  std::vector<std::string> out;
  std::unordered_set<std::string> seen;
  for (const SetObject* s : sets) {
    if (!s) continue;
    s->ForEach([&](std::string_view m) {
      if (seen.emplace(m).second) out.emplace_back(m);
    });
  }
  return out;
}

std::vector<std::string> Difference(const std::vector<const SetObject*>& sets) {
  std::vector<std::string> out;
  if (sets.empty() || !sets[0]) return out;
  sets[0]->ForEach([&](std::string_view m) {
    for (size_t k = 1; k < sets.size(); ++k) {
      if (sets[k] && sets[k]->Contains(m)) return;
    }
    out.emplace_back(m);
  });
  return out;
}

enum class SetOp { kInter, kUnion, kDiff };

// SINTER SUNION SDIFF (store: false, keys from args[1]) and their STORE forms (the destination
// is args[1], keys from args[2]).
void SetAlgebra(CommandContext& ctx, SetOp op, bool store) {
  const size_t first = store ? 2 : 1;
  std::vector<const SetObject*> sets;
  if (!CollectSets(ctx, first, ctx.args.size(), &sets)) return;
  std::vector<std::string> result;
  switch (op) {
    case SetOp::kInter:
      result = Intersect(sets, 0);
      break;
    case SetOp::kUnion:
      result = Union(sets);
      break;
    case SetOp::kDiff:
      result = Difference(sets);
      break;
  }
  if (store) {
    ctx.reply.Integer(static_cast<int64_t>(StoreSet(ctx, ctx.args[1], result)));
  } else {
    ReplyMembers(ctx, result);
  }
}

void SinterCommand(CommandContext& ctx) { SetAlgebra(ctx, SetOp::kInter, false); }
void SinterstoreCommand(CommandContext& ctx) { SetAlgebra(ctx, SetOp::kInter, true); }
void SunionCommand(CommandContext& ctx) { SetAlgebra(ctx, SetOp::kUnion, false); }
void SunionstoreCommand(CommandContext& ctx) { SetAlgebra(ctx, SetOp::kUnion, true); }
void SdiffCommand(CommandContext& ctx) { SetAlgebra(ctx, SetOp::kDiff, false); }
void SdiffstoreCommand(CommandContext& ctx) { SetAlgebra(ctx, SetOp::kDiff, true); }

// SINTERCARD numkeys key [key ...] [LIMIT limit].
void SintercardCommand(CommandContext& ctx) {
  int64_t numkeys;
  if (!ParseInt64(ctx.args[1], &numkeys) || numkeys <= 0) {
    ctx.reply.Error("ERR numkeys should be greater than 0");
    return;
  }
  const size_t argc = ctx.args.size();
  if (static_cast<uint64_t>(numkeys) > argc - 2) {
    ctx.reply.Error("ERR Number of keys can't be greater than number of args");
    return;
  }
  const size_t keys_end = 2 + static_cast<size_t>(numkeys);
  int64_t limit = 0;
  for (size_t j = keys_end; j < argc; ++j) {
    if (EqualsIgnoreCase(ctx.args[j], "limit") && j + 1 < argc) {
      ++j;
      if (!ParseInt64(ctx.args[j], &limit)) {
        ctx.reply.Error(kErrNotInteger);
        return;
      }
      if (limit < 0) {
        ctx.reply.Error("ERR LIMIT can't be negative");
        return;
      }
    } else {
      ctx.reply.Error(kErrSyntax);
      return;
    }
  }
  std::vector<const SetObject*> sets;
  if (!CollectSets(ctx, 2, keys_end, &sets)) return;
  ctx.reply.Integer(static_cast<int64_t>(Intersect(sets, static_cast<size_t>(limit)).size()));
}

void SscanCommand(CommandContext& ctx) {
  uint64_t cursor;
  if (!ParseCursor(ctx.args[2], &cursor)) {
    ctx.reply.Error("ERR invalid cursor");
    return;
  }
  ScanOptions o;
  if (!ParseScanOptions(ctx, 3, &o)) return;
  bool wrong;
  SetObject* set = SetForRead(ctx, ctx.args[1], &wrong);
  if (wrong) return;
  std::vector<std::string> found;
  uint64_t next = 0;
  if (set) {
    next = set->Scan(cursor, static_cast<size_t>(o.count), [&](std::string_view m) {
      if (!o.has_pattern || storage::GlobMatch(o.pattern, m)) found.emplace_back(m);
    });
  }
  ctx.reply.ArrayHeader(2);
  ctx.reply.Bulk(std::to_string(next));
  ctx.reply.ArrayHeader(found.size());
  for (const std::string& m : found) ctx.reply.Bulk(m);
}

}  // namespace

void RegisterSetCommands(CommandTable& t) {
  const uint32_t kRead = kReadOnly | kFast;
  const uint32_t kWriteFast = kWrite | kDenyOom | kFast;
  t.Add({"sadd", -3, kWriteFast, 1, 1, 1, SaddCommand, "set",
         "Adds one or more members to a set. Creates the key if it doesn't exist.", "1.0.0"});
  t.Add({"srem", -3, kWrite | kFast, 1, 1, 1, SremCommand, "set",
         "Removes one or more members from a set. Deletes the set if the last member was removed.",
         "1.0.0"});
  t.Add({"sismember", 3, kRead, 1, 1, 1, SismemberCommand, "set",
         "Determines whether a member belongs to a set.", "1.0.0"});
  t.Add({"smismember", -3, kRead, 1, 1, 1, SmismemberCommand, "set",
         "Determines whether multiple members belong to a set.", "6.2.0"});
  t.Add({"smembers", 2, kReadOnly, 1, 1, 1, SmembersCommand, "set", "Returns all members of a set.",
         "1.0.0"});
  t.Add({"scard", 2, kRead, 1, 1, 1, ScardCommand, "set", "Returns the number of members in a set.",
         "1.0.0"});
  t.Add({"spop", -2, kWrite | kFast, 1, 1, 1, SpopCommand, "set",
         "Returns one or more random members from a set after removing them. Deletes the set if "
         "the last member was popped.",
         "1.0.0"});
  t.Add({"srandmember", -2, kReadOnly, 1, 1, 1, SrandmemberCommand, "set",
         "Get one or multiple random members from a set", "1.0.0"});
  t.Add({"smove", 4, kWrite | kFast, 1, 2, 1, SmoveCommand, "set",
         "Moves a member from one set to another.", "1.0.0"});
  t.Add({"sinter", -2, kReadOnly, 1, -1, 1, SinterCommand, "set",
         "Returns the intersect of multiple sets.", "1.0.0"});
  t.Add({"sintercard", -3, kReadOnly | kMovableKeys, 2, -1, 1, SintercardCommand, "set",
         "Returns the number of members of the intersect of multiple sets.", "7.0.0"});
  t.Add({"sinterstore", -3, kWrite | kDenyOom, 1, -1, 1, SinterstoreCommand, "set",
         "Stores the intersect of multiple sets in a key.", "1.0.0"});
  t.Add({"sunion", -2, kReadOnly, 1, -1, 1, SunionCommand, "set",
         "Returns the union of multiple sets.", "1.0.0"});
  t.Add({"sunionstore", -3, kWrite | kDenyOom, 1, -1, 1, SunionstoreCommand, "set",
         "Stores the union of multiple sets in a key.", "1.0.0"});
  t.Add({"sdiff", -2, kReadOnly, 1, -1, 1, SdiffCommand, "set",
         "Returns the difference of multiple sets.", "1.0.0"});
  t.Add({"sdiffstore", -3, kWrite | kDenyOom, 1, -1, 1, SdiffstoreCommand, "set",
         "Stores the difference of multiple sets in a key.", "1.0.0"});
  t.Add({"sscan", -3, kReadOnly, 1, 1, 1, SscanCommand, "set", "Iterates over members of a set.",
         "2.6.0"});
}

}  // namespace flightcache::server
