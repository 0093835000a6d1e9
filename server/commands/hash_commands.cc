// hash_commands.cc — Redis's hash commands (HSET ... HSCAN) over storage::HashObject.
//
// Every command runs with its key's shard lock held (see server/worker.cc). Reads answer
// from the key's hash; a key of another type gets WRONGTYPE. Writes change the hash inside an
// ObjectWrite (the KeyWatcher hears of them and the shard re-counts the hash's bytes), create
// the hash on the first field and delete the key with its last field, as Redis does. HGETALL,
// HGET and HMGET read a missing key through its SQL route (hash_read_through.h); the other
// reads answer from the cache only. Replies and error texts are Redis 7.0's.
#include <algorithm>
#include <cmath>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "server/command_table.h"
#include "server/command_util.h"
#include "server/commands/hash_read_through.h"
#include "server/server.h"
#include "server/worker.h"
#include "storage/glob.h"
#include "storage/types/hash_object.h"

namespace flightcache::server {
namespace {

using storage::Entry;
using storage::HashObject;
using storage::KeyLocation;
using storage::ObjectWrite;
using storage::ValueType;

HashObject* AsHash(Entry* e) { return static_cast<HashObject*>(storage::EntryObject(e)); }

// For a read: the hash at key, or nullptr when missing (*wrong: WRONGTYPE written).
HashObject* HashForRead(CommandContext& ctx, bool* wrong) {
  KeyLocation at;
  Entry* e = LookupTyped(ctx, ctx.args[1], ValueType::kHash, &at, wrong);
  return e ? AsHash(e) : nullptr;
}

// For a write: the entry of the hash at key, created empty when missing; nullptr when the key
// holds another type (WRONGTYPE written).
Entry* HashEntryForWrite(CommandContext& ctx, KeyLocation* at) {
  bool wrong;
  Entry* e = LookupTyped(ctx, ctx.args[1], ValueType::kHash, at, &wrong);
  if (e || wrong) return e;
  return at->shard->SetObject(ctx.args[1], at->hash, std::make_unique<HashObject>(), 0);
}

// Deletes the key when its hash has no field left.
void DropIfEmpty(CommandContext& ctx, Entry* e, const KeyLocation& at) {
  if (AsHash(e)->Length() == 0) at.shard->Delete(ctx.args[1], at.hash);
}

void HsetGeneric(CommandContext& ctx, bool reply_ok) {
  if (ctx.args.size() % 2 != 0) {
    ctx.reply.Error("ERR wrong number of arguments for '" + ToLower(ctx.args[0]) + "' command");
    return;
  }
  KeyLocation at;
  Entry* e = HashEntryForWrite(ctx, &at);
  if (!e) return;
  const storage::TypeLimits limits = TypeLimitsOf(ctx);
  int64_t added = 0;
  {
    ObjectWrite write(*at.shard, e);
    HashObject* h = AsHash(e);
    for (size_t i = 2; i < ctx.args.size(); i += 2) {
      added += h->Set(ctx.args[i], ctx.args[i + 1], limits) ? 1 : 0;
    }
  }
  if (reply_ok) {
    ctx.reply.Ok();
  } else {
    ctx.reply.Integer(added);
  }
}

void HsetCommand(CommandContext& ctx) { HsetGeneric(ctx, false); }
void HmsetCommand(CommandContext& ctx) { HsetGeneric(ctx, true); }

void HsetnxCommand(CommandContext& ctx) {
  KeyLocation at;
  bool wrong;
  Entry* e = LookupTyped(ctx, ctx.args[1], ValueType::kHash, &at, &wrong);
  if (wrong) return;
  if (e && AsHash(e)->Contains(ctx.args[2])) {
    ctx.reply.Integer(0);
    return;
  }
  if (!e) e = at.shard->SetObject(ctx.args[1], at.hash, std::make_unique<HashObject>(), 0);
  {
    ObjectWrite write(*at.shard, e);
    AsHash(e)->Set(ctx.args[2], ctx.args[3], TypeLimitsOf(ctx));
  }
  ctx.reply.Integer(1);
}

void HgetCommand(CommandContext& ctx) {
  bool wrong;
  HashObject* h = HashForRead(ctx, &wrong);
  if (wrong) return;
  if (!h && ParkHashReadThrough(ctx, PendingHashRead::Reply::kOne, 2)) return;
  auto v = h ? h->Get(ctx.args[2]) : std::nullopt;
  if (v) {
    ctx.reply.Bulk(*v);
  } else {
    ctx.reply.Null();
  }
}

void HmgetCommand(CommandContext& ctx) {
  bool wrong;
  HashObject* h = HashForRead(ctx, &wrong);
  if (wrong) return;
  if (!h && ParkHashReadThrough(ctx, PendingHashRead::Reply::kMany, 2)) return;
  ctx.reply.ArrayHeader(ctx.args.size() - 2);
  for (size_t i = 2; i < ctx.args.size(); ++i) {
    auto v = h ? h->Get(ctx.args[i]) : std::nullopt;
    if (v) {
      ctx.reply.Bulk(*v);
    } else {
      ctx.reply.Null();
    }
  }
}

// HGETALL (a map in RESP3; the only one of the three that reads through), HKEYS and HVALS.
void HgetallGeneric(CommandContext& ctx, bool fields, bool values) {
  bool wrong;
  HashObject* h = HashForRead(ctx, &wrong);
  if (wrong) return;
  if (!h && fields && values && ParkHashReadThrough(ctx, PendingHashRead::Reply::kAll, 2)) return;
  const size_t n = h ? h->Length() : 0;
  if (fields && values) {
    ctx.reply.MapHeader(n);
  } else {
    ctx.reply.ArrayHeader(n);
  }
  if (!h) return;
  h->ForEach([&](std::string_view f, std::string_view v) {
    if (fields) ctx.reply.Bulk(f);
    if (values) ctx.reply.Bulk(v);
  });
}

void HgetallCommand(CommandContext& ctx) { HgetallGeneric(ctx, true, true); }
void HkeysCommand(CommandContext& ctx) { HgetallGeneric(ctx, true, false); }
void HvalsCommand(CommandContext& ctx) { HgetallGeneric(ctx, false, true); }

void HlenCommand(CommandContext& ctx) {
  bool wrong;
  HashObject* h = HashForRead(ctx, &wrong);
  if (wrong) return;
  ctx.reply.Integer(h ? static_cast<int64_t>(h->Length()) : 0);
}

void HexistsCommand(CommandContext& ctx) {
  bool wrong;
  HashObject* h = HashForRead(ctx, &wrong);
  if (wrong) return;
  ctx.reply.Integer(h && h->Contains(ctx.args[2]) ? 1 : 0);
}

void HstrlenCommand(CommandContext& ctx) {
  bool wrong;
  HashObject* h = HashForRead(ctx, &wrong);
  if (wrong) return;
  auto v = h ? h->Get(ctx.args[2]) : std::nullopt;
  ctx.reply.Integer(v ? static_cast<int64_t>(v->size()) : 0);
}

void HdelCommand(CommandContext& ctx) {
  KeyLocation at;
  bool wrong;
  Entry* e = LookupTyped(ctx, ctx.args[1], ValueType::kHash, &at, &wrong);
  if (wrong) return;
  int64_t removed = 0;
  if (e) {
    {
      ObjectWrite write(*at.shard, e);
      for (size_t i = 2; i < ctx.args.size(); ++i) removed += AsHash(e)->Delete(ctx.args[i]);
    }
    DropIfEmpty(ctx, e, at);
  }
  ctx.reply.Integer(removed);
}

void HincrbyCommand(CommandContext& ctx) {
  int64_t delta;
  if (!ParseInt64(ctx.args[3], &delta)) {
    ctx.reply.Error(kErrNotInteger);
    return;
  }
  KeyLocation at;
  bool wrong;
  Entry* e = LookupTyped(ctx, ctx.args[1], ValueType::kHash, &at, &wrong);
  if (wrong) return;
  int64_t current = 0;
  if (e) {
    auto v = AsHash(e)->Get(ctx.args[2]);
    if (v && !ParseInt64(*v, &current)) {
      ctx.reply.Error("ERR hash value is not an integer");
      return;
    }
  }
  if ((delta < 0 && current < 0 && delta < INT64_MIN - current) ||
      (delta > 0 && current > 0 && delta > INT64_MAX - current)) {
    ctx.reply.Error("ERR increment or decrement would overflow");
    return;
  }
  const int64_t result = current + delta;
  if (!e) e = at.shard->SetObject(ctx.args[1], at.hash, std::make_unique<HashObject>(), 0);
  {
    ObjectWrite write(*at.shard, e);
    AsHash(e)->Set(ctx.args[2], Int64ToString(result), TypeLimitsOf(ctx));
  }
  ctx.reply.Integer(result);
}

void HincrbyfloatCommand(CommandContext& ctx) {
  long double delta;
  if (!ParseLongDouble(ctx.args[3], &delta)) {
    ctx.reply.Error(kErrNotFloat);
    return;
  }
  KeyLocation at;
  bool wrong;
  Entry* e = LookupTyped(ctx, ctx.args[1], ValueType::kHash, &at, &wrong);
  if (wrong) return;
  long double current = 0;
  if (e) {
    auto v = AsHash(e)->Get(ctx.args[2]);
    if (v && !ParseLongDouble(*v, &current)) {
      ctx.reply.Error("ERR hash value is not a float");
      return;
    }
  }
  const long double result = current + delta;
  if (std::isnan(result) || std::isinf(result)) {
    ctx.reply.Error("ERR increment would produce NaN or Infinity");
    return;
  }
  const std::string text = protocol::FormatDouble(result);
  if (!e) e = at.shard->SetObject(ctx.args[1], at.hash, std::make_unique<HashObject>(), 0);
  {
    ObjectWrite write(*at.shard, e);
    AsHash(e)->Set(ctx.args[2], text, TypeLimitsOf(ctx));
  }
  ctx.reply.Bulk(text);
}

// HRANDFIELD key [count [WITHVALUES]], as Redis 7.0's hrandfieldWithCountCommand.
void HrandfieldCommand(CommandContext& ctx) {
  int64_t count = 0;
  bool with_count = false, with_values = false;
  if (ctx.args.size() >= 3) {
    if (!ParseInt64(ctx.args[2], &count)) {
      ctx.reply.Error(kErrNotInteger);
      return;
    }
    with_count = true;
    if (ctx.args.size() == 4 && EqualsIgnoreCase(ctx.args[3], "withvalues")) {
      with_values = true;
    } else if (ctx.args.size() > 3) {
      ctx.reply.Error(kErrSyntax);
      return;
    }
    if ((with_values && count < -INT64_MAX / 2) || (!with_values && count < -INT64_MAX)) {
      ctx.reply.Error(
          "ERR value is out of range, value must between -9223372036854775807 and "
          "9223372036854775807");
      return;
    }
  }
  bool wrong;
  HashObject* h = HashForRead(ctx, &wrong);
  if (wrong) return;
  if (!with_count) {
    if (h) {
      ctx.reply.Bulk(h->Random(ctx.worker.RandomU64()).first);
    } else {
      ctx.reply.Null();
    }
    return;
  }
  if (!h || count == 0) {
    ctx.reply.ArrayHeader(0);
    return;
  }
  auto emit = [&](std::string_view f, std::string_view v) {
    if (with_values && ctx.reply.resp3()) ctx.reply.ArrayHeader(2);
    ctx.reply.Bulk(f);
    if (with_values) ctx.reply.Bulk(v);
  };
  auto header = [&](size_t n) {
    ctx.reply.ArrayHeader(with_values && !ctx.reply.resp3() ? n * 2 : n);
  };
  if (count < 0) {  // repeats allowed
    const auto n = static_cast<size_t>(-count);
    header(n);
    for (size_t i = 0; i < n; ++i) {
      auto [f, v] = h->Random(ctx.worker.RandomU64());
      emit(f, v);
    }
    return;
  }
  const size_t size = h->Length();
  if (static_cast<uint64_t>(count) >= size) {
    header(size);
    h->ForEach(emit);
    return;
  }
  // Distinct fields: a partial shuffle of every field's position.
  std::vector<std::pair<std::string_view, std::string_view>> all;
  all.reserve(size);
  h->ForEach([&](std::string_view f, std::string_view v) { all.emplace_back(f, v); });
  const auto n = static_cast<size_t>(count);
  for (size_t i = 0; i < n; ++i) {
    const size_t j = i + ctx.worker.RandomU64() % (size - i);
    std::swap(all[i], all[j]);
  }
  header(n);
  for (size_t i = 0; i < n; ++i) emit(all[i].first, all[i].second);
}

void HscanCommand(CommandContext& ctx) {
  uint64_t cursor;
  if (!ParseCursor(ctx.args[2], &cursor)) {
    ctx.reply.Error("ERR invalid cursor");
    return;
  }
  ScanOptions o;
  if (!ParseScanOptions(ctx, 3, &o)) return;
  bool wrong;
  HashObject* h = HashForRead(ctx, &wrong);
  if (wrong) return;
  std::vector<std::pair<std::string, std::string>> found;
  uint64_t next = 0;
  if (h) {
    next =
        h->Scan(cursor, static_cast<size_t>(o.count), [&](std::string_view f, std::string_view v) {
          if (!o.has_pattern || storage::GlobMatch(o.pattern, f)) found.emplace_back(f, v);
        });
  }
  ctx.reply.ArrayHeader(2);
  ctx.reply.Bulk(std::to_string(next));
  ctx.reply.ArrayHeader(found.size() * 2);
  for (const auto& [f, v] : found) {
    ctx.reply.Bulk(f);
    ctx.reply.Bulk(v);
  }
}

}  // namespace

void RegisterHashCommands(CommandTable& t) {
  const uint32_t kRead = kReadOnly | kFast;
  const uint32_t kWriteFast = kWrite | kDenyOom | kFast;
  t.Add({"hset", -4, kWriteFast, 1, 1, 1, HsetCommand, "hash",
         "Creates or modifies the value of a field in a hash.", "2.0.0"});
  t.Add({"hmset", -4, kWriteFast, 1, 1, 1, HmsetCommand, "hash",
         "Sets the values of multiple fields.", "2.0.0"});
  t.Add({"hsetnx", 4, kWriteFast, 1, 1, 1, HsetnxCommand, "hash",
         "Sets the value of a field in a hash only when the field doesn't exist.", "2.0.0"});
  t.Add({"hget", 3, kRead | kReadThrough, 1, 1, 1, HgetCommand, "hash",
         "Returns the value of a field in a hash.", "2.0.0"});
  t.Add({"hmget", -3, kRead | kReadThrough, 1, 1, 1, HmgetCommand, "hash",
         "Returns the values of all fields in a hash.", "2.0.0"});
  t.Add({"hgetall", 2, kReadOnly | kReadThrough, 1, 1, 1, HgetallCommand, "hash",
         "Returns all fields and values in a hash.", "2.0.0"});
  t.Add({"hkeys", 2, kReadOnly, 1, 1, 1, HkeysCommand, "hash", "Returns all fields in a hash.",
         "2.0.0"});
  t.Add({"hvals", 2, kReadOnly, 1, 1, 1, HvalsCommand, "hash", "Returns all values in a hash.",
         "2.0.0"});
  t.Add({"hlen", 2, kRead, 1, 1, 1, HlenCommand, "hash", "Returns the number of fields in a hash.",
         "2.0.0"});
  t.Add({"hexists", 3, kRead, 1, 1, 1, HexistsCommand, "hash",
         "Determines whether a field exists in a hash.", "2.0.0"});
  t.Add({"hstrlen", 3, kRead, 1, 1, 1, HstrlenCommand, "hash",
         "Returns the length of the value of a field.", "3.2.0"});
  t.Add({"hdel", -3, kWrite | kFast, 1, 1, 1, HdelCommand, "hash",
         "Deletes one or more fields and their values from a hash.", "2.0.0"});
  t.Add({"hincrby", 4, kWriteFast, 1, 1, 1, HincrbyCommand, "hash",
         "Increments the integer value of a field in a hash by a number.", "2.0.0"});
  t.Add({"hincrbyfloat", 4, kWriteFast, 1, 1, 1, HincrbyfloatCommand, "hash",
         "Increments the floating point value of a field by a number.", "2.6.0"});
  t.Add({"hrandfield", -2, kReadOnly, 1, 1, 1, HrandfieldCommand, "hash",
         "Returns one or more random fields from a hash.", "6.2.0"});
  t.Add({"hscan", -3, kReadOnly, 1, 1, 1, HscanCommand, "hash",
         "Iterates over fields and values of a hash.", "2.8.0"});
}

}  // namespace flightcache::server
