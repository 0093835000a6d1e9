// hash_read_through.cc — parking HGETALL / HGET / HMGET on a SQL route's fetch, and their
// replies from the fetched row (see hash_read_through.h).
#include "server/commands/hash_read_through.h"

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "origin/singleflight.h"
#include "server/command_table.h"
#include "server/server.h"
#include "server/worker.h"

namespace flightcache::server {
namespace {

// True when a miss on key should be fetched as a hash: its route answers rows, the read is in
// database 0 outside a transaction or script, and key is not remembered as missing.
bool ShouldReadThroughHash(CommandContext& ctx, std::string_view key) {
  origin::Singleflight* flights = ctx.server.singleflight();
  return flights && !ctx.in_transaction && ctx.conn.db_index() == 0 &&
         ctx.server.origin()->ServesRows(key) && !flights->KnownMissing(key, ctx.now_ms);
}

// The value of field in the row, or nullopt (a NULL column is no field).
std::optional<std::string_view> RowValue(const origin::FetchResult& result,
                                         std::string_view field) {
  for (const auto& [name, value] : result.fields) {
    if (name == field) return std::string_view(value);
  }
  return std::nullopt;
}

void WriteFieldValue(protocol::ReplyWriter& w, const origin::FetchResult& result,
                     std::string_view field) {
  auto value =
      result.status == origin::FetchStatus::kValue ? RowValue(result, field) : std::nullopt;
  if (value) {
    w.Bulk(*value);
  } else {
    w.Null();
  }
}

}  // namespace

bool ParkHashReadThrough(CommandContext& ctx, PendingHashRead::Reply reply, size_t first_field) {
  std::string_view key = ctx.args[1];
  if (!ShouldReadThroughHash(ctx, key)) return false;
  auto read = std::make_unique<PendingHashRead>();
  read->reply = reply;
  for (size_t i = first_field; i < ctx.args.size(); ++i) read->fields.emplace_back(ctx.args[i]);
  const uint64_t seq = ctx.conn.ParkHashRead(std::string(key), std::move(read));
  origin::Waiter waiter{ctx.conn.id(), seq, 0, static_cast<uint32_t>(ctx.worker.index())};
  waiter.kind = origin::ReadKind::kHash;
  ctx.server.singleflight()->Join(key, waiter);
  return true;
}

void WriteHashReadReply(protocol::ReplyWriter& w, const PendingHashRead& read,
                        const origin::FetchResult& result) {
  if (result.status == origin::FetchStatus::kError) {
    if (result.error_kind == origin::FetchErrorKind::kWrongType) {
      w.Error(result.error);
    } else {
      w.Error("ERR " + result.error);
    }
    return;
  }
  const bool found = result.status == origin::FetchStatus::kValue;
  switch (read.reply) {
    case PendingHashRead::Reply::kAll:
      w.MapHeader(found ? result.fields.size() : 0);
      if (!found) return;
      for (const auto& [field, value] : result.fields) {
        w.Bulk(field);
        w.Bulk(value);
      }
      return;
    case PendingHashRead::Reply::kOne:
      WriteFieldValue(w, result, read.fields.empty() ? std::string_view() : read.fields[0]);
      return;
    case PendingHashRead::Reply::kMany:
      w.ArrayHeader(read.fields.size());
      for (const std::string& field : read.fields) WriteFieldValue(w, result, field);
      return;
  }
}

}  // namespace flightcache::server
