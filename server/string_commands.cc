// string_commands.cc — GET/SET and the rest of Redis's string commands.
//
// GET, MGET and GETEX read through the origin: what they do with the entry they find is the
// read-through policy's choice (origin/read_through.h: hit, stale hit + background refresh,
// early refresh, or a miss that parks the command's reply slot on the key's singleflight
// flight, origin/singleflight.h). Every other command works on the local keyspace only, and
// never sees an expired value. Values are byte strings; integers are parsed as Redis does.
#include <algorithm>
#include <cmath>
#include <memory>

#include "origin/read_through.h"
#include "origin/singleflight.h"
#include "server/command_table.h"
#include "server/command_util.h"
#include "server/connection.h"
#include "server/server.h"
#include "server/worker.h"

namespace flightcache::server {
namespace {

using storage::Entry;
using storage::EntryExpireAt;
using storage::EntryValue;
using storage::KeyLocation;

constexpr int64_t kMaxStringLength = 512LL * 1024 * 1024;

// Counts a read lookup as Redis's lookupKeyRead does.
Entry* LookupRead(CommandContext& ctx, std::string_view key, KeyLocation* at) {
  Entry* e = Lookup(ctx, key, at);
  if (e) {
    ++ctx.worker.stats().keyspace_hits;
  } else {
    ++ctx.worker.stats().keyspace_misses;
  }
  return e;
}

// A string command's lookup: a key of another type gets WRONGTYPE, and *wrong is set.
Entry* LookupStringRead(CommandContext& ctx, std::string_view key, KeyLocation* at, bool* wrong) {
  Entry* e = LookupRead(ctx, key, at);
  *wrong = e && !storage::EntryIsString(e);
  if (*wrong) {
    ctx.reply.Error(kErrWrongType);
    return nullptr;
  }
  return e;
}

Entry* LookupString(CommandContext& ctx, std::string_view key, KeyLocation* at, bool* wrong) {
  return LookupTyped(ctx, key, storage::ValueType::kString, at, wrong);
}

// True when a miss on key should be fetched from the origin: some route serves the key (one
// that none serves is a plain miss) and it is not remembered as missing.
bool ShouldReadThrough(CommandContext& ctx, std::string_view key) {
  origin::Singleflight* flights = ctx.server.singleflight();
  // A key reads through in one database only, its route's (db=N, else 0): in another, a miss
  // is a plain miss.
  return flights && !ctx.in_transaction && ctx.conn.db_index() == flights->DatabaseOf(key) &&
         ctx.server.origin()->Serves(key) && !flights->KnownMissing(key, ctx.now_ms);
}

// A read-through read's lookup: the entry to answer from (nullptr: none, a miss) after the
// read-through policy's decision, whose background refresh (stale hit, early refresh) has
// started. Counts the hit or miss as Redis does; a stale value served is a hit. allow_refresh
// false (GETEX with options): an expired value is a miss and no early refresh starts. Outside
// read-through (no origin, or in EXEC) this is a plain lookup.
Entry* LookupReadThrough(CommandContext& ctx, std::string_view key, KeyLocation* at,
                         bool allow_refresh = true) {
  origin::Singleflight* flights = ctx.server.singleflight();
  // A key reads through in its route's database only: in another, this is a plain lookup.
  if (!flights || ctx.in_transaction || ctx.conn.db_index() != flights->DatabaseOf(key)) {
    return LookupRead(ctx, key, at);
  }
  *at = ctx.conn.database().Locate(key);
  bool expired = false;
  Entry* e = at->shard->FindReadThrough(key, at->hash, ctx.now_ms, &expired);
  origin::ReadAction action = origin::DecideRead(e, expired, flights->refresh_ahead(), ctx.now_ms);
  if (!allow_refresh && action != origin::ReadAction::kHit) {
    action = expired ? origin::ReadAction::kMiss : origin::ReadAction::kHit;
  }
  switch (action) {
    case origin::ReadAction::kHit:
      break;
    case origin::ReadAction::kStaleHit:
      flights->Refresh(key, origin::RefreshReason::kStale);
      break;
    case origin::ReadAction::kEarlyRefresh:
      flights->Refresh(key, origin::RefreshReason::kEarly);
      break;
    case origin::ReadAction::kMiss:
      e = nullptr;
      break;
  }
  if (e) {
    ++ctx.worker.stats().keyspace_hits;
  } else {
    ++ctx.worker.stats().keyspace_misses;
  }
  return e;
}

// Parks the command on key's flight; the reply is written when the fetch completes.
// expire_at_ms: GETEX's new expiry for the filled value (origin::kKeepFillExpiry: none).
void ParkOnFetch(CommandContext& ctx, std::string_view key,
                 int64_t expire_at_ms = origin::kKeepFillExpiry) {
  uint64_t seq = ctx.conn.ParkSlot({std::string(key)}, nullptr);
  ctx.server.singleflight()->Join(
      key, origin::Waiter{ctx.conn.id(), seq, 0, static_cast<uint32_t>(ctx.worker.index()),
                          expire_at_ms});
}

void GetCommand(CommandContext& ctx) {
  KeyLocation at;
  std::string_view key = ctx.args[1];
  if (Entry* e = LookupReadThrough(ctx, key, &at)) {
    if (storage::EntryIsString(e)) [[likely]] {
      ctx.reply.Bulk(EntryValue(e));
    } else {
      ctx.reply.Error(kErrWrongType);
    }
  } else if (ShouldReadThrough(ctx, key)) {
    ParkOnFetch(ctx, key);
  } else {
    ctx.reply.Null();
  }
}

void MgetCommand(CommandContext& ctx) {
  const size_t n = ctx.args.size() - 1;
  // Entries found stay valid for this command: nothing below changes the keyspace.
  std::vector<Entry*> found(n);
  std::vector<std::string> missing_keys;
  std::vector<uint32_t> missing_parts;
  for (size_t i = 0; i < n; ++i) {
    KeyLocation at;
    std::string_view key = ctx.args[i + 1];
    found[i] = LookupReadThrough(ctx, key, &at);
    if (!found[i] && ShouldReadThrough(ctx, key)) {
      missing_keys.emplace_back(key);
      missing_parts.push_back(static_cast<uint32_t>(i));
    }
  }
  if (missing_keys.empty()) {
    ctx.reply.ArrayHeader(n);
    for (Entry* e : found) {
      if (e && storage::EntryIsString(e))  // other types read as nil, as in Redis
        ctx.reply.Bulk(EntryValue(e));
      else
        ctx.reply.Null();
    }
    return;
  }
  auto pending = std::make_unique<PendingArray>();
  pending->elements.resize(n);
  protocol::ReplyWriter element;
  element.set_resp3(ctx.reply.resp3());
  for (size_t i = 0; i < n; ++i) {
    element.set_output(&pending->elements[i]);
    if (found[i] && storage::EntryIsString(found[i]))
      element.Bulk(EntryValue(found[i]));
    else
      element.Null();  // overwritten by the fetch result where one is pending
  }
  for (uint32_t part : missing_parts) pending->elements[part].clear();
  uint64_t seq = ctx.conn.ParkSlot(missing_keys, std::move(pending));
  for (size_t k = 0; k < missing_keys.size(); ++k) {
    ctx.server.singleflight()->Join(missing_keys[k],
                                    origin::Waiter{ctx.conn.id(), seq, missing_parts[k],
                                                   static_cast<uint32_t>(ctx.worker.index())});
  }
}

struct SetOptions {
  bool nx = false, xx = false, get = false, keepttl = false, persist = false;
  int64_t expire_at = 0;  // 0: none given
  bool has_expire = false;
};

// Parses SET's (or GETEX's) options from args[first]. On failure writes the error and
// returns false.
bool ParseSetOptions(CommandContext& ctx, size_t first, bool is_getex, SetOptions* o) {
  const std::string_view command = is_getex ? "getex" : "set";
  for (size_t i = first; i < ctx.args.size(); ++i) {
    std::string_view a = ctx.args[i];
    const bool has_next = i + 1 < ctx.args.size();
    if (!is_getex && EqualsIgnoreCase(a, "nx") && !o->xx) {
      o->nx = true;
    } else if (!is_getex && EqualsIgnoreCase(a, "xx") && !o->nx) {
      o->xx = true;
    } else if (!is_getex && EqualsIgnoreCase(a, "get")) {
      o->get = true;
    } else if (!is_getex && EqualsIgnoreCase(a, "keepttl") && !o->has_expire) {
      o->keepttl = true;
    } else if (is_getex && EqualsIgnoreCase(a, "persist") && !o->has_expire) {
      o->persist = true;
    } else if (has_next && !o->has_expire && !o->keepttl && !o->persist &&
               (EqualsIgnoreCase(a, "ex") || EqualsIgnoreCase(a, "px") ||
                EqualsIgnoreCase(a, "exat") || EqualsIgnoreCase(a, "pxat"))) {
      const bool seconds = EqualsIgnoreCase(a, "ex") || EqualsIgnoreCase(a, "exat");
      const bool absolute = EqualsIgnoreCase(a, "exat") || EqualsIgnoreCase(a, "pxat");
      if (!ParseExpireArgument(ctx.args[i + 1], seconds ? 1000 : 1, absolute, ctx.now_ms, command,
                               ctx.reply, &o->expire_at)) {
        return false;
      }
      o->has_expire = true;
      ++i;
    } else {
      ctx.reply.Error(kErrSyntax);
      return false;
    }
  }
  return true;
}

void SetCommand(CommandContext& ctx) {
  SetOptions o;
  if (!ParseSetOptions(ctx, 3, false, &o)) return;
  std::string_view key = ctx.args[1];
  KeyLocation at;
  Entry* e = Lookup(ctx, key, &at);
  if (o.get && e && !storage::EntryIsString(e)) {
    ctx.reply.Error(kErrWrongType);
    return;
  }
  std::string old;
  const bool existed = e != nullptr;
  if (o.get && e) old.assign(EntryValue(e));
  if ((o.nx && existed) || (o.xx && !existed)) {
    if (o.get && existed)
      ctx.reply.Bulk(old);
    else
      ctx.reply.Null();
    return;
  }
  int64_t expire_at = o.has_expire ? o.expire_at : 0;
  if (o.keepttl && e) expire_at = EntryExpireAt(e);
  at.shard->Set(key, at.hash, ctx.args[2], expire_at);
  if (o.get) {
    if (existed)
      ctx.reply.Bulk(old);
    else
      ctx.reply.Null();
  } else {
    ctx.reply.Ok();
  }
}

void SetnxCommand(CommandContext& ctx) {
  KeyLocation at;
  if (Lookup(ctx, ctx.args[1], &at)) {
    ctx.reply.Integer(0);
    return;
  }
  at.shard->Set(ctx.args[1], at.hash, ctx.args[2], 0);
  ctx.reply.Integer(1);
}

void SetexGeneric(CommandContext& ctx, int64_t unit_ms, std::string_view name) {
  int64_t at_ms;
  if (!ParseExpireArgument(ctx.args[2], unit_ms, false, ctx.now_ms, name, ctx.reply, &at_ms)) {
    return;
  }
  KeyLocation at = ctx.conn.database().Locate(ctx.args[1]);
  at.shard->Set(ctx.args[1], at.hash, ctx.args[3], at_ms);
  ctx.reply.Ok();
}

void SetexCommand(CommandContext& ctx) { SetexGeneric(ctx, 1000, "setex"); }
void PsetexCommand(CommandContext& ctx) { SetexGeneric(ctx, 1, "psetex"); }

void GetsetCommand(CommandContext& ctx) {
  KeyLocation at;
  bool wrong;
  Entry* e = LookupStringRead(ctx, ctx.args[1], &at, &wrong);
  if (wrong) return;
  if (e)
    ctx.reply.Bulk(EntryValue(e));
  else
    ctx.reply.Null();
  at.shard->Set(ctx.args[1], at.hash, ctx.args[2], 0);
}

void GetdelCommand(CommandContext& ctx) {
  KeyLocation at;
  bool wrong;
  Entry* e = LookupStringRead(ctx, ctx.args[1], &at, &wrong);
  if (wrong) return;
  if (!e) {
    ctx.reply.Null();
    return;
  }
  ctx.reply.Bulk(EntryValue(e));
  at.shard->Delete(ctx.args[1], at.hash);
}

void GetexCommand(CommandContext& ctx) {
  SetOptions o;
  if (!ParseSetOptions(ctx, 2, true, &o)) return;
  std::string_view key = ctx.args[1];
  KeyLocation at;
  // With options, an expired value is not served (the options are for the value the fetch
  // fills) and no early refresh starts (the client sets the TTL).
  const bool plain = !o.has_expire && !o.persist;
  Entry* e = LookupReadThrough(ctx, key, &at, plain);
  if (e && !storage::EntryIsString(e)) {
    ctx.reply.Error(kErrWrongType);
    return;
  }
  if (!e) {
    if (ShouldReadThrough(ctx, key)) {
      // The options apply to the value the fetch fills, with the fill.
      const int64_t expire_at =
          o.has_expire ? o.expire_at : (o.persist ? 0 : origin::kKeepFillExpiry);
      ParkOnFetch(ctx, key, expire_at);
    } else {
      ctx.reply.Null();
    }
    return;
  }
  ctx.reply.Bulk(EntryValue(e));
  if (o.has_expire && o.expire_at <= ctx.now_ms) {
    at.shard->Delete(key, at.hash);
  } else if (o.has_expire) {
    at.shard->SetExpire(e, at.hash, o.expire_at);
  } else if (o.persist) {
    at.shard->SetExpire(e, at.hash, 0);
  }
}

void MsetCommand(CommandContext& ctx) {
  if (ctx.args.size() % 2 == 0) {
    ctx.reply.Error("ERR wrong number of arguments for 'mset' command");
    return;
  }
  for (size_t i = 1; i < ctx.args.size(); i += 2) {
    KeyLocation at = ctx.conn.database().Locate(ctx.args[i]);
    at.shard->Set(ctx.args[i], at.hash, ctx.args[i + 1], 0);
  }
  ctx.reply.Ok();
}

void MsetnxCommand(CommandContext& ctx) {
  if (ctx.args.size() % 2 == 0) {
    ctx.reply.Error("ERR wrong number of arguments for 'msetnx' command");
    return;
  }
  for (size_t i = 1; i < ctx.args.size(); i += 2) {
    KeyLocation at;
    if (Lookup(ctx, ctx.args[i], &at)) {
      ctx.reply.Integer(0);
      return;
    }
  }
  for (size_t i = 1; i < ctx.args.size(); i += 2) {
    KeyLocation at = ctx.conn.database().Locate(ctx.args[i]);
    at.shard->Set(ctx.args[i], at.hash, ctx.args[i + 1], 0);
  }
  ctx.reply.Integer(1);
}

// True when a string of size bytes grown by append more bytes stays within the largest string
// allowed; otherwise writes Redis's error and returns false. Both are non-negative; their sum
// is never formed when it could overflow (SETRANGE takes offsets up to INT64_MAX).
bool CheckStringLength(CommandContext& ctx, int64_t size, int64_t append) {
  const int64_t limit = std::min(kMaxStringLength, ctx.worker.config().proto_max_bulk_len);
  if (size > limit || append > limit - size) {
    ctx.reply.Error("ERR string exceeds maximum allowed size (proto-max-bulk-len)");
    return false;
  }
  return true;
}

void AppendCommand(CommandContext& ctx) {
  KeyLocation at;
  bool wrong;
  Entry* e = LookupString(ctx, ctx.args[1], &at, &wrong);
  if (wrong) return;
  if (!e) {
    at.shard->Set(ctx.args[1], at.hash, ctx.args[2], 0);
    ctx.reply.Integer(static_cast<int64_t>(ctx.args[2].size()));
    return;
  }
  std::string_view current = EntryValue(e);
  if (!CheckStringLength(ctx, static_cast<int64_t>(current.size()),
                         static_cast<int64_t>(ctx.args[2].size()))) {
    return;
  }
  std::string joined;
  joined.reserve(current.size() + ctx.args[2].size());
  joined.append(current).append(ctx.args[2]);
  at.shard->ReplaceValue(e, at.hash, joined);
  ctx.reply.Integer(static_cast<int64_t>(joined.size()));
}

void StrlenCommand(CommandContext& ctx) {
  KeyLocation at;
  bool wrong;
  Entry* e = LookupStringRead(ctx, ctx.args[1], &at, &wrong);
  if (wrong) return;
  ctx.reply.Integer(e ? static_cast<int64_t>(EntryValue(e).size()) : 0);
}

void GetrangeCommand(CommandContext& ctx) {
  int64_t start, end;
  if (!ParseInt64(ctx.args[2], &start) || !ParseInt64(ctx.args[3], &end)) {
    ctx.reply.Error(kErrNotInteger);
    return;
  }
  KeyLocation at;
  bool wrong;
  Entry* e = LookupStringRead(ctx, ctx.args[1], &at, &wrong);
  if (wrong) return;
  if (!e) {
    ctx.reply.Bulk("");
    return;
  }
  std::string_view v = EntryValue(e);
  const int64_t len = static_cast<int64_t>(v.size());
  // Redis: an inverted range of two negatives is empty before they are normalised.
  if (start < 0 && end < 0 && start > end) {
    ctx.reply.Bulk("");
    return;
  }
  if (start < 0) start = len + start;
  if (end < 0) end = len + end;
  if (start < 0) start = 0;
  if (end < 0) end = 0;
  if (end >= len) end = len - 1;
  if (len == 0 || start > end) {
    ctx.reply.Bulk("");
    return;
  }
  ctx.reply.Bulk(v.substr(static_cast<size_t>(start), static_cast<size_t>(end - start + 1)));
}

void SetrangeCommand(CommandContext& ctx) {
  int64_t offset;
  if (!ParseInt64(ctx.args[2], &offset)) {
    ctx.reply.Error(kErrNotInteger);
    return;
  }
  if (offset < 0) {
    ctx.reply.Error("ERR offset is out of range");
    return;
  }
  std::string_view patch = ctx.args[3];
  KeyLocation at;
  bool wrong;
  Entry* e = LookupString(ctx, ctx.args[1], &at, &wrong);
  if (wrong) return;
  if (!e) {
    if (patch.empty()) {
      ctx.reply.Integer(0);
      return;
    }
    if (!CheckStringLength(ctx, offset, static_cast<int64_t>(patch.size()))) return;
    std::string value(static_cast<size_t>(offset), '\0');
    value.append(patch);
    at.shard->Set(ctx.args[1], at.hash, value, 0);
    ctx.reply.Integer(static_cast<int64_t>(value.size()));
    return;
  }
  std::string value(EntryValue(e));
  if (patch.empty()) {
    ctx.reply.Integer(static_cast<int64_t>(value.size()));
    return;
  }
  if (!CheckStringLength(ctx, offset, static_cast<int64_t>(patch.size()))) return;
  if (value.size() < static_cast<size_t>(offset) + patch.size()) {
    value.resize(static_cast<size_t>(offset) + patch.size(), '\0');
  }
  value.replace(static_cast<size_t>(offset), patch.size(), patch);
  at.shard->ReplaceValue(e, at.hash, value);
  ctx.reply.Integer(static_cast<int64_t>(value.size()));
}

void IncrByGeneric(CommandContext& ctx, int64_t delta) {
  KeyLocation at;
  bool wrong;
  Entry* e = LookupString(ctx, ctx.args[1], &at, &wrong);
  if (wrong) return;
  int64_t current = 0;
  if (e && !ParseInt64(EntryValue(e), &current)) {
    ctx.reply.Error(kErrNotInteger);
    return;
  }
  if ((delta < 0 && current < 0 && delta < INT64_MIN - current) ||
      (delta > 0 && current > 0 && delta > INT64_MAX - current)) {
    ctx.reply.Error("ERR increment or decrement would overflow");
    return;
  }
  int64_t result = current + delta;
  std::string text = Int64ToString(result);
  if (e) {
    at.shard->ReplaceValue(e, at.hash, text);
  } else {
    at.shard->Set(ctx.args[1], at.hash, text, 0);
  }
  ctx.reply.Integer(result);
}

void IncrCommand(CommandContext& ctx) { IncrByGeneric(ctx, 1); }
void DecrCommand(CommandContext& ctx) { IncrByGeneric(ctx, -1); }

void IncrbyCommand(CommandContext& ctx) {
  int64_t delta;
  if (!ParseInt64(ctx.args[2], &delta)) {
    ctx.reply.Error(kErrNotInteger);
    return;
  }
  IncrByGeneric(ctx, delta);
}

void DecrbyCommand(CommandContext& ctx) {
  int64_t delta;
  if (!ParseInt64(ctx.args[2], &delta)) {
    ctx.reply.Error(kErrNotInteger);
    return;
  }
  if (delta == INT64_MIN) {
    ctx.reply.Error("ERR decrement would overflow");
    return;
  }
  IncrByGeneric(ctx, -delta);
}

void IncrbyfloatCommand(CommandContext& ctx) {
  long double delta;
  if (!ParseLongDouble(ctx.args[2], &delta)) {
    ctx.reply.Error(kErrNotFloat);
    return;
  }
  KeyLocation at;
  bool wrong;
  Entry* e = LookupString(ctx, ctx.args[1], &at, &wrong);
  if (wrong) return;
  long double current = 0;
  if (e && !ParseLongDouble(EntryValue(e), &current)) {
    ctx.reply.Error(kErrNotFloat);
    return;
  }
  long double result = current + delta;
  if (std::isnan(result) || std::isinf(result)) {
    ctx.reply.Error("ERR increment would produce NaN or Infinity");
    return;
  }
  std::string text = protocol::FormatDouble(result);
  if (e) {
    at.shard->ReplaceValue(e, at.hash, text);
  } else {
    at.shard->Set(ctx.args[1], at.hash, text, 0);
  }
  ctx.reply.Bulk(text);
}

}  // namespace

void RegisterStringCommands(CommandTable& t) {
  const uint32_t kRead = kReadOnly | kFast;
  const uint32_t kWriteFast = kWrite | kDenyOom | kFast;
  t.Add({"get", 2, kRead | kReadThrough, 1, 1, 1, GetCommand, "string",
         "Returns the string value of a key (reads through the origin on a miss).", "1.0.0"});
  t.Add({"mget", -2, kRead | kReadThrough, 1, -1, 1, MgetCommand, "string",
         "Atomically returns the string values of one or more keys.", "1.0.0"});
  t.Add({"getex", -2, kWrite | kFast | kReadThrough, 1, 1, 1, GetexCommand, "string",
         "Returns the string value of a key after setting its expiration time.", "6.2.0"});
  t.Add({"set", -3, kWrite | kDenyOom, 1, 1, 1, SetCommand, "string",
         "Sets the string value of a key, ignoring its type.", "1.0.0"});
  t.Add({"setnx", 3, kWriteFast, 1, 1, 1, SetnxCommand, "string",
         "Set the string value of a key only when the key doesn't exist.", "1.0.0"});
  t.Add({"setex", 4, kWrite | kDenyOom, 1, 1, 1, SetexCommand, "string",
         "Sets the string value and expiration time of a key.", "2.0.0"});
  t.Add({"psetex", 4, kWrite | kDenyOom, 1, 1, 1, PsetexCommand, "string",
         "Sets both string value and expiration time in milliseconds of a key.", "2.6.0"});
  t.Add({"getset", 3, kWriteFast, 1, 1, 1, GetsetCommand, "string",
         "Returns the previous string value of a key after setting it to a new value.", "1.0.0"});
  t.Add({"getdel", 2, kWrite | kFast, 1, 1, 1, GetdelCommand, "string",
         "Returns the string value of a key after deleting the key.", "6.2.0"});
  t.Add({"mset", -3, kWrite | kDenyOom, 1, -1, 2, MsetCommand, "string",
         "Atomically creates or modifies the string values of one or more keys.", "1.0.1"});
  t.Add({"msetnx", -3, kWrite | kDenyOom, 1, -1, 2, MsetnxCommand, "string",
         "Atomically modifies the string values of one or more keys only when all keys don't "
         "exist.",
         "1.0.1"});
  t.Add({"append", 3, kWriteFast, 1, 1, 1, AppendCommand, "string",
         "Appends a string to the value of a key. Creates the key if it doesn't exist.", "2.0.0"});
  t.Add({"strlen", 2, kRead, 1, 1, 1, StrlenCommand, "string",
         "Returns the length of a string value.", "2.2.0"});
  t.Add({"getrange", 4, kReadOnly, 1, 1, 1, GetrangeCommand, "string",
         "Returns a substring of the string stored at a key.", "2.4.0"});
  t.Add({"setrange", 4, kWrite | kDenyOom, 1, 1, 1, SetrangeCommand, "string",
         "Overwrites a part of a string value with another by an offset.", "2.2.0"});
  t.Add({"incr", 2, kWriteFast, 1, 1, 1, IncrCommand, "string",
         "Increments the integer value of a key by one.", "1.0.0"});
  t.Add({"decr", 2, kWriteFast, 1, 1, 1, DecrCommand, "string",
         "Decrements the integer value of a key by one.", "1.0.0"});
  t.Add({"incrby", 3, kWriteFast, 1, 1, 1, IncrbyCommand, "string",
         "Increments the integer value of a key by a number.", "1.0.0"});
  t.Add({"decrby", 3, kWriteFast, 1, 1, 1, DecrbyCommand, "string",
         "Decrements a number from the integer value of a key.", "1.0.0"});
  t.Add({"incrbyfloat", 3, kWriteFast, 1, 1, 1, IncrbyfloatCommand, "string",
         "Increment the floating point value of a key by a number.", "2.6.0"});
}

}  // namespace flightcache::server
