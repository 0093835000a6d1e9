// keyspace_commands.cc — commands on keys as a whole: DEL, EXISTS, EXPIRE family, TTLs,
// KEYS, SCAN, RANDOMKEY, RENAME, COPY, DBSIZE and FLUSH, and the numbered databases' MOVE and
// SWAPDB. Redis 7 replies and error texts. Every command works in the client's selected
// database (Connection::database()); a shard lock covers a key's shard in every database, so
// MOVE and COPY ... DB hold what they touch with their key's locks alone.
#include <memory>
#include <string>
#include <vector>

#include "server/command_table.h"
#include "server/command_util.h"
#include "server/connection.h"
#include "server/server.h"
#include "server/worker.h"
#include "storage/glob.h"

namespace flightcache::server {
namespace {

using storage::Entry;
using storage::EntryExpireAt;
using storage::EntryKey;
using storage::EntryValue;
using storage::KeyLocation;

// DEL and UNLINK. A big value is freed on the lazy-free thread for UNLINK always, and for DEL
// under lazyfree-lazy-user-del (storage/lazyfree.h); the key is gone before the reply either way.
void DeleteKeys(CommandContext& ctx, storage::FreeReason reason) {
  int64_t removed = 0;
  for (size_t i = 1; i < ctx.args.size(); ++i) {
    KeyLocation at;
    // Look up first so an already-expired key does not count as deleted; delete either way,
    // so that a fetch in flight for a missing key is forgotten.
    const bool live = Lookup(ctx, ctx.args[i], &at) != nullptr;
    if (at.shard->Delete(ctx.args[i], at.hash, reason) && live) ++removed;
  }
  ctx.reply.Integer(removed);
}

void DelCommand(CommandContext& ctx) { DeleteKeys(ctx, storage::FreeReason::kUserDel); }
void UnlinkCommand(CommandContext& ctx) { DeleteKeys(ctx, storage::FreeReason::kUnlink); }

void ExistsCommand(CommandContext& ctx) {
  int64_t count = 0;
  for (size_t i = 1; i < ctx.args.size(); ++i) {
    KeyLocation at;
    if (Lookup(ctx, ctx.args[i], &at)) ++count;
  }
  ctx.reply.Integer(count);
}

void TypeCommand(CommandContext& ctx) {
  KeyLocation at;
  Entry* e = Lookup(ctx, ctx.args[1], &at);
  ctx.reply.Simple(e ? storage::TypeName(storage::EntryType(e)) : "none");
}

// EXPIRE, PEXPIRE, EXPIREAT, PEXPIREAT with NX XX GT LT.
void ExpireGeneric(CommandContext& ctx, int64_t unit_ms, bool absolute, std::string_view name) {
  bool nx = false, xx = false, gt = false, lt = false;
  for (size_t i = 3; i < ctx.args.size(); ++i) {
    std::string_view a = ctx.args[i];
    if (EqualsIgnoreCase(a, "nx"))
      nx = true;
    else if (EqualsIgnoreCase(a, "xx"))
      xx = true;
    else if (EqualsIgnoreCase(a, "gt"))
      gt = true;
    else if (EqualsIgnoreCase(a, "lt"))
      lt = true;
    else {
      ctx.reply.Error("ERR Unsupported option " + std::string(a));
      return;
    }
  }
  if (nx && (xx || gt || lt)) {
    ctx.reply.Error("ERR NX and XX, GT or LT options at the same time are not compatible");
    return;
  }
  if (gt && lt) {
    ctx.reply.Error("ERR GT and LT options at the same time are not compatible");
    return;
  }
  int64_t v;
  if (!ParseInt64(ctx.args[2], &v)) {
    ctx.reply.Error(kErrNotInteger);
    return;
  }
  const std::string invalid = "ERR invalid expire time in '" + std::string(name) + "' command";
  if (v > INT64_MAX / unit_ms || v < INT64_MIN / unit_ms) {
    ctx.reply.Error(invalid);
    return;
  }
  int64_t when = v * unit_ms;
  if (!absolute) {
    if ((when > 0 && when > INT64_MAX - ctx.now_ms) ||
        (when < 0 && when < INT64_MIN + ctx.now_ms)) {
      ctx.reply.Error(invalid);
      return;
    }
    when += ctx.now_ms;
  }
  KeyLocation at;
  Entry* e = Lookup(ctx, ctx.args[1], &at);
  if (!e) {
    ctx.reply.Integer(0);
    return;
  }
  const int64_t current = EntryExpireAt(e);  // 0: none, which GT/LT treat as infinite
  if ((nx && current != 0) || (xx && current == 0) || (gt && (current == 0 || when <= current)) ||
      (lt && current != 0 && when >= current)) {
    ctx.reply.Integer(0);
    return;
  }
  if (when <= ctx.now_ms) {
    at.shard->Delete(ctx.args[1], at.hash, storage::FreeReason::kExpire);
  } else {
    at.shard->SetExpire(e, at.hash, when);
  }
  ctx.reply.Integer(1);
}

void ExpireCommand(CommandContext& ctx) { ExpireGeneric(ctx, 1000, false, "expire"); }
void PexpireCommand(CommandContext& ctx) { ExpireGeneric(ctx, 1, false, "pexpire"); }
void ExpireatCommand(CommandContext& ctx) { ExpireGeneric(ctx, 1000, true, "expireat"); }
void PexpireatCommand(CommandContext& ctx) { ExpireGeneric(ctx, 1, true, "pexpireat"); }

// TTL, PTTL, EXPIRETIME, PEXPIRETIME: -2 missing, -1 no expiry.
void TtlGeneric(CommandContext& ctx, bool ms, bool absolute) {
  KeyLocation at;
  Entry* e = Lookup(ctx, ctx.args[1], &at);
  if (!e) {
    ctx.reply.Integer(-2);
    return;
  }
  int64_t expire = EntryExpireAt(e);
  if (expire == 0) {
    ctx.reply.Integer(-1);
    return;
  }
  if (absolute) {
    ctx.reply.Integer(ms ? expire : expire / 1000);
    return;
  }
  int64_t left = expire - ctx.now_ms;
  if (left < 0) left = 0;
  ctx.reply.Integer(ms ? left : (left + 500) / 1000);
}

void TtlCommand(CommandContext& ctx) { TtlGeneric(ctx, false, false); }
void PttlCommand(CommandContext& ctx) { TtlGeneric(ctx, true, false); }
void ExpiretimeCommand(CommandContext& ctx) { TtlGeneric(ctx, false, true); }
void PexpiretimeCommand(CommandContext& ctx) { TtlGeneric(ctx, true, true); }

void PersistCommand(CommandContext& ctx) {
  KeyLocation at;
  Entry* e = Lookup(ctx, ctx.args[1], &at);
  if (!e || EntryExpireAt(e) == 0) {
    ctx.reply.Integer(0);
    return;
  }
  at.shard->SetExpire(e, at.hash, 0);
  ctx.reply.Integer(1);
}

void KeysCommand(CommandContext& ctx) {
  std::string_view pattern = ctx.args[1];
  const bool all = pattern == "*";
  std::vector<std::string> keys;
  uint64_t cursor = 0;
  do {
    cursor = ctx.conn.database().Scan(cursor, 1024, ctx.now_ms, [&](const Entry* e) {
      std::string_view key = EntryKey(e);
      if (all || storage::GlobMatch(pattern, key)) keys.emplace_back(key);
    });
  } while (cursor != 0);
  ctx.reply.ArrayHeader(keys.size());
  for (const std::string& k : keys) ctx.reply.Bulk(k);
}

void ScanCommand(CommandContext& ctx) {
  uint64_t cursor;
  if (!ParseCursor(ctx.args[1], &cursor)) {
    ctx.reply.Error("ERR invalid cursor");
    return;
  }
  std::string_view pattern;
  bool has_pattern = false;
  int64_t count = 10;
  std::string type_filter;
  for (size_t i = 2; i < ctx.args.size(); i += 2) {
    std::string_view a = ctx.args[i];
    if (i + 1 >= ctx.args.size()) {
      ctx.reply.Error(kErrSyntax);
      return;
    }
    if (EqualsIgnoreCase(a, "match")) {
      pattern = ctx.args[i + 1];
      has_pattern = !(pattern == "*");
    } else if (EqualsIgnoreCase(a, "count")) {
      if (!ParseInt64(ctx.args[i + 1], &count)) {
        ctx.reply.Error(kErrNotInteger);
        return;
      }
      if (count < 1) {
        ctx.reply.Error(kErrSyntax);
        return;
      }
    } else if (EqualsIgnoreCase(a, "type")) {
      type_filter = ToLower(ctx.args[i + 1]);
    } else {
      ctx.reply.Error(kErrSyntax);
      return;
    }
  }
  std::vector<std::string> keys;
  const bool by_type = !type_filter.empty();
  // COUNT is a hint of buckets to visit, as in Redis; the table's load keeps it near keys.
  size_t buckets = static_cast<size_t>(count);
  cursor = ctx.conn.database().Scan(cursor, buckets, ctx.now_ms, [&](const Entry* e) {
    if (by_type && type_filter != storage::TypeName(storage::EntryType(e))) return;
    std::string_view key = EntryKey(e);
    if (!has_pattern || storage::GlobMatch(pattern, key)) keys.emplace_back(key);
  });
  ctx.reply.ArrayHeader(2);
  ctx.reply.Bulk(std::to_string(cursor));
  ctx.reply.ArrayHeader(keys.size());
  for (const std::string& k : keys) ctx.reply.Bulk(k);
}

void RandomkeyCommand(CommandContext& ctx) {
  Entry* e = ctx.conn.database().RandomEntry(ctx.now_ms, ctx.worker.RandomU64());
  if (e)
    ctx.reply.Bulk(EntryKey(e));
  else
    ctx.reply.Null();
}

// RENAME and RENAMENX. The value and TTL move to the new name.
void RenameGeneric(CommandContext& ctx, bool nx) {
  std::string_view src = ctx.args[1], dst = ctx.args[2];
  KeyLocation src_at;
  Entry* e = Lookup(ctx, src, &src_at);
  if (!e) {
    ctx.reply.Error(kErrNoSuchKey);
    return;
  }
  if (src == dst) {
    if (nx)
      ctx.reply.Integer(0);
    else
      ctx.reply.Ok();
    return;
  }
  KeyLocation dst_at;
  if (nx && Lookup(ctx, dst, &dst_at)) {
    ctx.reply.Integer(0);
    return;
  }
  const int64_t expire = EntryExpireAt(e);
  dst_at = ctx.conn.database().Locate(dst);
  if (storage::EntryIsString(e)) {
    std::string value(EntryValue(e));
    src_at.shard->Delete(src, src_at.hash);
    dst_at.shard->Set(dst, dst_at.hash, value, expire);
  } else {
    // The object moves to the new name; nothing is copied.
    std::unique_ptr<storage::Object> object = src_at.shard->TakeObject(e, src_at.hash);
    dst_at.shard->SetObject(dst, dst_at.hash, std::move(object), expire);
  }
  if (nx)
    ctx.reply.Integer(1);
  else
    ctx.reply.Ok();
}

void RenameCommand(CommandContext& ctx) { RenameGeneric(ctx, false); }
void RenamenxCommand(CommandContext& ctx) { RenameGeneric(ctx, true); }

void CopyCommand(CommandContext& ctx) {
  bool replace = false;
  storage::Database* dst_db = &ctx.conn.database();
  for (size_t i = 3; i < ctx.args.size(); ++i) {
    std::string_view a = ctx.args[i];
    if (EqualsIgnoreCase(a, "replace")) {
      replace = true;
    } else if (EqualsIgnoreCase(a, "db") && i + 1 < ctx.args.size()) {
      int64_t db;
      if (!ParseInt64(ctx.args[i + 1], &db)) {
        ctx.reply.Error(kErrNotInteger);
        return;
      }
      if (db < 0 || static_cast<uint64_t>(db) >= ctx.server.keyspace().database_count()) {
        ctx.reply.Error("ERR DB index is out of range");
        return;
      }
      dst_db = &ctx.server.keyspace().db(static_cast<size_t>(db));
      ++i;
    } else {
      ctx.reply.Error(kErrSyntax);
      return;
    }
  }
  std::string_view src = ctx.args[1], dst = ctx.args[2];
  if (src == dst && dst_db == &ctx.conn.database()) {
    ctx.reply.Error("ERR source and destination objects are the same");
    return;
  }
  KeyLocation src_at;
  Entry* e = Lookup(ctx, src, &src_at);
  if (!e) {
    ctx.reply.Integer(0);
    return;
  }
  KeyLocation dst_at = dst_db->Locate(dst);
  if (dst_at.shard->Find(dst, dst_at.hash, ctx.now_ms) && !replace) {
    ctx.reply.Integer(0);
    return;
  }
  const int64_t expire = EntryExpireAt(e);
  if (storage::EntryIsString(e)) {
    std::string value(EntryValue(e));
    dst_at.shard->Set(dst, dst_at.hash, value, expire);
  } else {
    dst_at.shard->SetObject(dst, dst_at.hash, storage::EntryObject(e)->Clone(), expire);
  }
  ctx.reply.Integer(1);
}

void DbsizeCommand(CommandContext& ctx) {
  ctx.reply.Integer(static_cast<int64_t>(ctx.conn.database().size()));
}

// FLUSHDB and FLUSHALL (args[0] tells which).
void FlushCommand(CommandContext& ctx) {
  if (ctx.args.size() > 2 || (ctx.args.size() == 2 && !EqualsIgnoreCase(ctx.args[1], "async") &&
                              !EqualsIgnoreCase(ctx.args[1], "sync"))) {
    ctx.reply.Error(kErrSyntax);
    return;
  }
  // ASYNC: the keys are gone at once and their memory is freed on the lazy-free thread; SYNC
  // frees here; neither: lazyfree-lazy-user-flush decides, as in Redis 7.0.
  const bool async = ctx.args.size() == 2 ? EqualsIgnoreCase(ctx.args[1], "async")
                                          : ctx.worker.config().lazyfree_lazy_user_flush;
  storage::Keyspace& keyspace = ctx.server.keyspace();
  if (EqualsIgnoreCase(ctx.args[0], "flushall")) {
    for (size_t d = 0; d < keyspace.database_count(); ++d) {
      if (keyspace.db(d).size() > 0) ctx.server.watch_table().TouchAllInDb(d, d, false, ctx.now_ms);
    }
    keyspace.FlushAll(async);
  } else {
    ctx.server.watch_table().TouchAllInDb(ctx.conn.db_index(), 0, false, ctx.now_ms);
    ctx.conn.database().Flush(async);
  }
  ctx.reply.Ok();
}

// A database index argument as Redis's getIntFromObjectOrReply reads it (a C int). Writes
// `not_integer` (or Redis's integer or int-range error when null), or "DB index is out of range"
// for an index past the last database, and returns false.
bool ParseDbIndex(CommandContext& ctx, std::string_view text, const char* not_integer,
                  size_t* index) {
  int64_t v;
  if (!ParseInt64(text, &v)) {
    ctx.reply.Error(not_integer ? not_integer : kErrNotInteger);
    return false;
  }
  if (v < INT32_MIN || v > INT32_MAX) {
    ctx.reply.Error(not_integer ? not_integer : kErrNotInt32);
    return false;
  }
  if (v < 0 || static_cast<uint64_t>(v) >= ctx.server.keyspace().database_count()) {
    ctx.reply.Error("ERR DB index is out of range");
    return false;
  }
  *index = static_cast<size_t>(v);
  return true;
}

// MOVE key db: moves the key, with its TTL, to another database; 0 when it is missing here or
// exists there.
void MoveCommand(CommandContext& ctx) {
  size_t target;
  if (!ParseDbIndex(ctx, ctx.args[2], nullptr, &target)) return;
  if (target == ctx.conn.db_index()) {
    ctx.reply.Error("ERR source and destination objects are the same");
    return;
  }
  std::string_view key = ctx.args[1];
  KeyLocation src_at;
  Entry* e = Lookup(ctx, key, &src_at);
  if (!e) {
    ctx.reply.Integer(0);
    return;
  }
  KeyLocation dst_at = ctx.server.keyspace().db(target).Locate(key);
  if (dst_at.shard->Find(key, dst_at.hash, ctx.now_ms)) {
    ctx.reply.Integer(0);
    return;
  }
  const int64_t expire = EntryExpireAt(e);
  if (storage::EntryIsString(e)) {
    std::string value(EntryValue(e));
    src_at.shard->Delete(key, src_at.hash);
    dst_at.shard->Set(key, dst_at.hash, value, expire);
  } else {
    std::unique_ptr<storage::Object> object = src_at.shard->TakeObject(e, src_at.hash);
    dst_at.shard->SetObject(key, dst_at.hash, std::move(object), expire);
  }
  ctx.reply.Integer(1);
}

// SWAPDB a b: the two databases exchange their keys; clients of either see the other's keys.
void SwapdbCommand(CommandContext& ctx) {
  int64_t a, b;
  if (!ParseInt64(ctx.args[1], &a) || a < INT32_MIN || a > INT32_MAX) {
    ctx.reply.Error("ERR invalid first DB index");
    return;
  }
  if (!ParseInt64(ctx.args[2], &b) || b < INT32_MIN || b > INT32_MAX) {
    ctx.reply.Error("ERR invalid second DB index");
    return;
  }
  storage::Keyspace& keyspace = ctx.server.keyspace();
  const int64_t count = static_cast<int64_t>(keyspace.database_count());
  if (a < 0 || a >= count || b < 0 || b >= count) {
    ctx.reply.Error("ERR DB index is out of range");
    return;
  }
  if (a != b) {
    const size_t first = static_cast<size_t>(a), second = static_cast<size_t>(b);
    ctx.server.watch_table().TouchAllInDb(first, second, true, ctx.now_ms);
    ctx.server.watch_table().TouchAllInDb(second, first, true, ctx.now_ms);
    keyspace.SwapDatabases(first, second);
  }
  ctx.reply.Ok();
}

}  // namespace

void RegisterKeyspaceCommands(CommandTable& t) {
  t.Add({"del", -2, kWrite, 1, -1, 1, DelCommand, "generic", "Deletes one or more keys.", "1.0.0"});
  t.Add({"unlink", -2, kWrite | kFast, 1, -1, 1, UnlinkCommand, "generic",
         "Asynchronously deletes one or more keys.", "4.0.0"});
  t.Add({"exists", -2, kReadOnly | kFast, 1, -1, 1, ExistsCommand, "generic",
         "Determines whether one or more keys exist.", "1.0.0"});
  t.Add({"touch", -2, kReadOnly | kFast, 1, -1, 1, ExistsCommand, "generic",
         "Returns the number of existing keys out of those specified after updating the time "
         "they were last accessed.",
         "3.2.1"});
  t.Add({"type", 2, kReadOnly | kFast, 1, 1, 1, TypeCommand, "generic",
         "Determines the type of value stored at a key.", "1.0.0"});
  t.Add({"expire", -3, kWrite | kFast, 1, 1, 1, ExpireCommand, "generic",
         "Sets the expiration time of a key in seconds.", "1.0.0"});
  t.Add({"pexpire", -3, kWrite | kFast, 1, 1, 1, PexpireCommand, "generic",
         "Sets the expiration time of a key in milliseconds.", "2.6.0"});
  t.Add({"expireat", -3, kWrite | kFast, 1, 1, 1, ExpireatCommand, "generic",
         "Sets the expiration time of a key to a Unix timestamp.", "1.2.0"});
  t.Add({"pexpireat", -3, kWrite | kFast, 1, 1, 1, PexpireatCommand, "generic",
         "Sets the expiration time of a key to a Unix milliseconds timestamp.", "2.6.0"});
  t.Add({"ttl", 2, kReadOnly | kFast, 1, 1, 1, TtlCommand, "generic",
         "Returns the expiration time in seconds of a key.", "1.0.0"});
  t.Add({"pttl", 2, kReadOnly | kFast, 1, 1, 1, PttlCommand, "generic",
         "Returns the expiration time in milliseconds of a key.", "2.6.0"});
  t.Add({"expiretime", 2, kReadOnly | kFast, 1, 1, 1, ExpiretimeCommand, "generic",
         "Returns the expiration time of a key as a Unix timestamp.", "7.0.0"});
  t.Add({"pexpiretime", 2, kReadOnly | kFast, 1, 1, 1, PexpiretimeCommand, "generic",
         "Returns the expiration time of a key as a Unix milliseconds timestamp.", "7.0.0"});
  t.Add({"persist", 2, kWrite | kFast, 1, 1, 1, PersistCommand, "generic",
         "Removes the expiration time of a key.", "2.2.0"});
  t.Add({"keys", 2, kReadOnly | kAllShards, 0, 0, 0, KeysCommand, "generic",
         "Returns all key names that match a pattern.", "1.0.0"});
  t.Add({"scan", -2, kReadOnly | kAllShards, 0, 0, 0, ScanCommand, "generic",
         "Iterates over the key names in the database.", "2.8.0"});
  t.Add({"randomkey", 1, kReadOnly | kAllShards, 0, 0, 0, RandomkeyCommand, "generic",
         "Returns a random key name from the database.", "1.0.0"});
  t.Add({"rename", 3, kWrite, 1, 2, 1, RenameCommand, "generic",
         "Renames a key and overwrites the destination.", "1.0.0"});
  t.Add({"renamenx", 3, kWrite | kFast, 1, 2, 1, RenamenxCommand, "generic",
         "Renames a key only when the target key name doesn't exist.", "1.0.0"});
  t.Add({"copy", -3, kWrite | kDenyOom, 1, 2, 1, CopyCommand, "generic",
         "Copies the value of a key to a new key.", "6.2.0"});
  t.Add({"dbsize", 1, kReadOnly | kFast, 0, 0, 0, DbsizeCommand, "server",
         "Returns the number of keys in the database.", "1.0.0"});
  t.Add({"flushdb", -1, kWrite | kAllShards, 0, 0, 0, FlushCommand, "server",
         "Remove all keys from the current database.", "1.0.0"});
  t.Add({"flushall", -1, kWrite | kAllShards, 0, 0, 0, FlushCommand, "server",
         "Removes all keys from all databases.", "1.0.0"});
  t.Add({"move", 3, kWrite | kFast, 1, 1, 1, MoveCommand, "generic",
         "Moves a key to another database.", "1.0.0"});
  t.Add({"swapdb", 3, kWrite | kFast | kAllShards, 0, 0, 0, SwapdbCommand, "server",
         "Swaps two Redis databases.", "4.0.0"});
}

}  // namespace flightcache::server
