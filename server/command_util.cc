// command_util.cc — shared argument parsing (see command_util.h).
#include "server/command_util.h"

#include <cctype>
#include <charconv>
#include <cmath>
#include <cstdlib>

#include "server/command_table.h"
#include "server/connection.h"
#include "server/server.h"
#include "server/worker.h"

namespace flightcache::server {

bool ParseInt64(std::string_view text, int64_t* out) {
  if (text.empty() || text.size() > 20) return false;
  if (text.size() == 1 && text[0] == '0') {
    *out = 0;
    return true;
  }
  size_t i = 0;
  bool negative = false;
  if (text[0] == '-') {
    negative = true;
    i = 1;
  }
  if (i >= text.size() || text[i] < '1' || text[i] > '9') return false;
  uint64_t value = 0;
  for (; i < text.size(); ++i) {
    if (text[i] < '0' || text[i] > '9') return false;
    uint64_t digit = static_cast<uint64_t>(text[i] - '0');
    if (value > (UINT64_MAX - digit) / 10) return false;
    value = value * 10 + digit;
  }
  if (negative) {
    if (value > static_cast<uint64_t>(INT64_MAX) + 1) return false;
    *out = static_cast<int64_t>(0 - value);
  } else {
    if (value > static_cast<uint64_t>(INT64_MAX)) return false;
    *out = static_cast<int64_t>(value);
  }
  return true;
}

bool ParseLongDouble(std::string_view text, long double* out) {
  if (text.empty() || text.size() > 5000) return false;
  if (std::isspace(static_cast<unsigned char>(text.front()))) return false;
  std::string buf(text);
  char* end = nullptr;
  errno = 0;
  long double v = std::strtold(buf.c_str(), &end);
  if (end != buf.c_str() + buf.size() || std::isnan(v)) return false;
  if (errno == ERANGE && (v == HUGE_VALL || v == -HUGE_VALL || v == 0)) return false;
  *out = v;
  return true;
}

bool EqualsIgnoreCase(std::string_view text, std::string_view lower_literal) {
  if (text.size() != lower_literal.size()) return false;
  for (size_t i = 0; i < text.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(text[i])) != lower_literal[i]) return false;
  }
  return true;
}

std::string ToLower(std::string_view text) {
  std::string out(text);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::string Int64ToString(int64_t v) {
  char buf[24];
  auto [end, ec] = std::to_chars(buf, buf + sizeof(buf), v);
  (void)ec;
  return std::string(buf, end);
}

bool ParseExpireArgument(std::string_view text, int64_t unit_ms, bool absolute, int64_t now_ms,
                         std::string_view command, protocol::ReplyWriter& reply, int64_t* at_ms) {
  int64_t v = 0;
  if (!ParseInt64(text, &v)) {
    reply.Error(kErrNotInteger);
    return false;
  }
  const std::string invalid = "ERR invalid expire time in '" + std::string(command) + "' command";
  if (v <= 0 || v > INT64_MAX / unit_ms) {
    reply.Error(invalid);
    return false;
  }
  int64_t ms = v * unit_ms;
  if (!absolute) {
    if (ms > INT64_MAX - now_ms) {
      reply.Error(invalid);
      return false;
    }
    ms += now_ms;
  }
  *at_ms = ms;
  return true;
}

void ReplySubcommandError(CommandContext& ctx) {
  const std::string container = ToLower(ctx.args[0]);
  const std::string full_name = container + "|" + ToLower(ctx.args[1]);
  if (const CommandSpec* spec = ctx.server.commands().Find(container)) {
    for (const SubcommandSpec& sub : spec->subcommands) {
      if (sub.name == full_name) {
        ctx.reply.Error("ERR wrong number of arguments for '" + full_name + "' command");
        return;
      }
    }
  }
  std::string upper(ctx.args[0]);
  for (char& ch : upper) ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
  ctx.reply.Error("ERR unknown subcommand '" + std::string(ctx.args[1]) + "'. Try " + upper +
                  " HELP.");
}

storage::Entry* Lookup(CommandContext& ctx, std::string_view key, storage::KeyLocation* at) {
  *at = ctx.conn.database().Locate(key);
  return at->shard->Find(key, at->hash, ctx.now_ms);
}

}  // namespace flightcache::server

namespace flightcache::server {

storage::TypeLimits TypeLimitsOf(CommandContext& ctx) {
  const Config& c = ctx.worker.config();
  storage::TypeLimits limits;
  limits.hash_max_listpack_entries = c.hash_max_listpack_entries;
  limits.hash_max_listpack_value = c.hash_max_listpack_value;
  limits.set_max_intset_entries = c.set_max_intset_entries;
  limits.set_max_listpack_entries = c.set_max_listpack_entries;
  limits.set_max_listpack_value = c.set_max_listpack_value;
  limits.zset_max_listpack_entries = c.zset_max_listpack_entries;
  limits.zset_max_listpack_value = c.zset_max_listpack_value;
  limits.list_max_listpack_size = c.list_max_listpack_size;
  return limits;
}

storage::Entry* LookupTyped(CommandContext& ctx, std::string_view key, storage::ValueType want,
                            storage::KeyLocation* at, bool* wrong_type) {
  storage::Entry* e = Lookup(ctx, key, at);
  *wrong_type = e && storage::EntryType(e) != want;
  if (*wrong_type) {
    ctx.reply.Error(kErrWrongType);
    return nullptr;
  }
  return e;
}

bool ParseCursor(std::string_view text, uint64_t* out) {
  if (text.empty() || text.size() > 20) return false;
  uint64_t v = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return false;
    uint64_t digit = static_cast<uint64_t>(c - '0');
    if (v > (UINT64_MAX - digit) / 10) return false;
    v = v * 10 + digit;
  }
  *out = v;
  return true;
}

bool ParseScanOptions(CommandContext& ctx, size_t first, ScanOptions* out) {
  for (size_t i = first; i < ctx.args.size(); i += 2) {
    std::string_view a = ctx.args[i];
    if (i + 1 >= ctx.args.size()) {
      ctx.reply.Error(kErrSyntax);
      return false;
    }
    if (EqualsIgnoreCase(a, "match")) {
      out->pattern = ctx.args[i + 1];
      out->has_pattern = out->pattern != "*";
    } else if (EqualsIgnoreCase(a, "count")) {
      if (!ParseInt64(ctx.args[i + 1], &out->count)) {
        ctx.reply.Error(kErrNotInteger);
        return false;
      }
      if (out->count < 1) {
        ctx.reply.Error(kErrSyntax);
        return false;
      }
    } else {
      ctx.reply.Error(kErrSyntax);
      return false;
    }
  }
  return true;
}

}  // namespace flightcache::server
