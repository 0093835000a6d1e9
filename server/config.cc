// config.cc — the option registry and redis.conf-style file loading (see config.h).
#include "server/config.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <fstream>
#include <sstream>

#include "origin/http_origin.h"
#include "origin/origin_url.h"
#include "origin/postgres_origin.h"
#include "origin/route.h"
#include "origin/sqlite_origin.h"
#include "server/keyspace_notifications.h"
#include "storage/eviction.h"

namespace flightcache::server {
namespace {

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

bool ParseInt(std::string_view text, int64_t min, int64_t max, int64_t* out, std::string* error) {
  int64_t v = 0;
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc() || ptr != text.data() + text.size() || text.empty()) {
    *error = "argument couldn't be parsed into an integer";
    return false;
  }
  if (v < min || v > max) {
    *error = "argument must be between " + std::to_string(min) + " and " + std::to_string(max) +
             " inclusive";
    return false;
  }
  *out = v;
  return true;
}

ConfigOption IntOption(std::string name, bool runtime, int64_t min, int64_t max,
                       std::function<int64_t&(Config&)> field_ref, std::string help) {
  auto getter = [field_ref](const Config& c) {
    return std::to_string(field_ref(const_cast<Config&>(c)));
  };
  auto setter = [field_ref, min, max](Config& c, std::string_view text, std::string* error) {
    int64_t v;
    if (!ParseInt(text, min, max, &v, error)) return false;
    field_ref(c) = v;
    return true;
  };
  return ConfigOption{std::move(name), runtime, setter, getter, std::move(help)};
}

ConfigOption SmallIntOption(std::string name, bool runtime, int64_t min, int64_t max,
                            std::function<int&(Config&)> field_ref, std::string help) {
  auto getter = [field_ref](const Config& c) {
    return std::to_string(field_ref(const_cast<Config&>(c)));
  };
  auto setter = [field_ref, min, max](Config& c, std::string_view text, std::string* error) {
    int64_t v;
    if (!ParseInt(text, min, max, &v, error)) return false;
    field_ref(c) = static_cast<int>(v);
    return true;
  };
  return ConfigOption{std::move(name), runtime, setter, getter, std::move(help)};
}

ConfigOption MemoryOption(std::string name, bool runtime, int64_t min,
                          std::function<int64_t&(Config&)> field_ref, std::string help) {
  auto getter = [field_ref](const Config& c) {
    return std::to_string(field_ref(const_cast<Config&>(c)));
  };
  auto setter = [field_ref, min](Config& c, std::string_view text, std::string* error) {
    int64_t v;
    if (!ParseMemory(text, &v)) {
      *error = "argument must be a memory value";
      return false;
    }
    if (v < min) {
      // Redis 7's wording for a memory value out of its range.
      *error = "argument must be between " + std::to_string(min) + " and " +
               std::to_string(INT64_MAX) + " inclusive";
      return false;
    }
    field_ref(c) = v;
    return true;
  };
  return ConfigOption{std::move(name), runtime, setter, getter, std::move(help)};
}

ConfigOption StringOption(std::string name, bool runtime,
                          std::function<std::string&(Config&)> field_ref, std::string help) {
  auto getter = [field_ref](const Config& c) { return field_ref(const_cast<Config&>(c)); };
  auto setter = [field_ref](Config& c, std::string_view text, std::string*) {
    field_ref(c) = std::string(text);
    return true;
  };
  return ConfigOption{std::move(name), runtime, setter, getter, std::move(help)};
}

// An option Redis tools ask for that this server does not implement: fixed answer.
ConfigOption FixedOption(std::string name, std::string value) {
  auto getter = [value](const Config&) { return value; };
  auto setter = [value](Config&, std::string_view text, std::string* error) {
    if (text == value) return true;
    *error = "not supported by flightcache (only '" + value + "')";
    return false;
  };
  return ConfigOption{std::move(name), false, setter, getter, "fixed: " + value};
}

std::vector<ConfigOption> BuildOptions() {
  std::vector<ConfigOption> o;
  o.push_back(StringOption(
      "bind", false, [](Config& c) -> std::string& { return c.bind; },
      "address to listen on (default 127.0.0.1)"));
  o.push_back(SmallIntOption(
      "port", false, 0, 65535, [](Config& c) -> int& { return c.port; },
      "TCP port (default 6379; 0 = no TCP)"));
  o.push_back(StringOption(
      "unixsocket", false, [](Config& c) -> std::string& { return c.unixsocket; },
      "path of a unix socket to listen on too"));
  o.push_back(SmallIntOption(
      "unixsocketperm", false, 0, 0777, [](Config& c) -> int& { return c.unixsocketperm; },
      "permissions of the unix socket (octal digits as decimal)"));
  o.push_back(SmallIntOption(
      "maxclients", true, 1, 1000000, [](Config& c) -> int& { return c.maxclients; },
      "most clients connected at once (default 10000)"));
  o.push_back(IntOption(
      "timeout", true, 0, INT32_MAX, [](Config& c) -> int64_t& { return c.timeout_s; },
      "close clients idle this many seconds (0 = never)"));
  o.push_back(StringOption(
      "requirepass", true, [](Config& c) -> std::string& { return c.requirepass; },
      "password clients must AUTH with"));
  {
    auto getter = [](const Config& c) { return std::string(LogLevelName(c.loglevel)); };
    auto setter = [](Config& c, std::string_view text, std::string* error) {
      std::string v = Lower(text);
      if (v == "debug")
        c.loglevel = LogLevel::kDebug;
      else if (v == "verbose")
        c.loglevel = LogLevel::kVerbose;
      else if (v == "notice")
        c.loglevel = LogLevel::kNotice;
      else if (v == "warning")
        c.loglevel = LogLevel::kWarning;
      else if (v == "nothing")
        c.loglevel = LogLevel::kNothing;
      else {
        *error =
            "argument(s) must be one of the following: debug, verbose, notice, warning, nothing";
        return false;
      }
      return true;
    };
    o.push_back(ConfigOption{"loglevel", true, setter, getter,
                             "debug, verbose, notice, warning or nothing"});
  }
  o.push_back(StringOption(
      "logfile", false, [](Config& c) -> std::string& { return c.logfile; },
      "log file path (empty = standard error)"));
  o.push_back(MemoryOption(
      "proto-max-bulk-len", true, 1024 * 1024,
      [](Config& c) -> int64_t& { return c.proto_max_bulk_len; },
      "largest bulk string a client may send (default 512mb)"));
  o.push_back(MemoryOption(
      "client-query-buffer-limit", true, 1024 * 1024,
      [](Config& c) -> int64_t& { return c.client_query_buffer_limit; },
      "largest pending request of one client (default 1gb)"));
  {
    auto getter = [](const Config& c) {
      return FormatOutputBufferLimits(c.client_output_buffer_limit);
    };
    auto setter = [](Config& c, std::string_view text, std::string* error) {
      return ParseOutputBufferLimits(text, &c.client_output_buffer_limit, error);
    };
    o.push_back(ConfigOption{"client-output-buffer-limit", true, setter, getter,
                             "class hard soft soft_seconds: close a client whose unsent replies "
                             "pass hard, or soft for soft_seconds (normal 0 0 0 = never)"});
  }
  o.push_back(SmallIntOption(
      "tcp-keepalive", true, 0, INT32_MAX, [](Config& c) -> int& { return c.tcp_keepalive; },
      "TCP keepalive interval in seconds (0 = off)"));
  o.push_back(SmallIntOption(
      "hz", true, 1, 500, [](Config& c) -> int& { return c.hz; },
      "background task frequency (expiry, timeouts)"));
  o.push_back(MemoryOption(
      "maxmemory", true, 0, [](Config& c) -> int64_t& { return c.maxmemory; },
      "memory budget in bytes (0 = no limit)"));
  {
    auto getter = [](const Config& c) { return c.maxmemory_policy; };
    auto setter = [](Config& c, std::string_view text, std::string* error) {
      std::string v = Lower(text);
      storage::EvictionPolicy policy;
      if (!storage::ParseEvictionPolicy(v, &policy)) {
        *error = std::string("argument(s) must be one of the following: ") +
                 storage::EvictionPolicyNames();
        return false;
      }
      c.maxmemory_policy = v;
      return true;
    };
    o.push_back(ConfigOption{"maxmemory-policy", true, setter, getter,
                             "eviction policy: Redis's names or allkeys-s3fifo (default)"});
  }
  {
    // CONFIG GET shows the URL as INFO does, without its password.
    auto getter = [](const Config& c) {
      if (c.origin.empty()) return c.origin;
      std::optional<origin::OriginUrl> url = origin::ParseOriginUrl(c.origin, nullptr);
      return url ? origin::RedactedUrl(*url) : std::string("(invalid)");
    };
    auto setter = [](Config& c, std::string_view text, std::string* error) {
      if (!text.empty()) {
        if (!origin::ParseOriginUrl(text, error)) return false;
      }
      c.origin = std::string(text);
      return true;
    };
    o.push_back(ConfigOption{"origin", false, setter, getter,
                             "read-through origin: redis://[[user]:password@]host[:port][/db] "
                             "or unix:///path.sock[?db=N]"});
  }
  {
    // Repeatable: each value adds a route. CONFIG GET shows them without passwords, joined by
    // "; ". The file and the query are checked at start-up (Server::StartOrigin).
    auto getter = [](const Config& c) {
      std::string out;
      for (const std::string& text : c.routes) {
        origin::RouteSpec spec;
        std::string ignored;
        if (!out.empty()) out += "; ";
        out += origin::ParseRouteSpec(text, &spec, &ignored) ? spec.Redacted() : "(invalid)";
      }
      return out;
    };
    auto setter = [](Config& c, std::string_view text, std::string* error) {
      origin::RouteSpec spec;
      if (!origin::ParseRouteSpec(text, &spec, error)) return false;
      const std::string scheme = origin::UrlScheme(spec.url);
      std::string why;
      bool url_ok = false;
      if (scheme == "sqlite") {
        url_ok = origin::ParseSqliteUrl(spec.url, &why).has_value();
      } else if (scheme == "postgres" || scheme == "postgresql") {
        url_ok = origin::ParsePostgresUrl(spec.url, &why);
      } else if (scheme == "http" || scheme == "https") {
        origin::HttpUrlTemplate url;
        url_ok = origin::ParseHttpUrl(spec.url, spec.pattern.capture_names(), &url, &why);
      } else {
        url_ok = origin::ParseOriginUrl(spec.url, &why).has_value();
      }
      if (!url_ok) {
        *error = "route '" + spec.Redacted() + "': " + why;
        return false;
      }
      c.routes.emplace_back(text);
      return true;
    };
    o.push_back(ConfigOption{"route", false, setter, getter,
                             "repeatable: '<pattern> <url> [query] [ttl=S] [negative-ttl=S] "
                             "[timeout=MS] [pool=N] [max-inflight=N] [max-queue=N] "
                             "[breaker-failures=N] [breaker-cooldown=MS] [tracking=yes|no] "
                             "[listen=CHANNEL] [stale-while-revalidate=S] [stale-if-error=S] "
                             "[refresh-ahead-beta=B]', e.g. 'user:{id} sqlite:///app.db "
                             "\"SELECT profile FROM users WHERE id = ?1\"'"});
  }
  o.push_back(SmallIntOption(
      "origin-connections", false, 1, 1024, [](Config& c) -> int& { return c.origin_connections; },
      "connections to the origin (default 4)"));
  o.push_back(IntOption(
      "origin-timeout", true, 1, 3600 * 1000,
      [](Config& c) -> int64_t& { return c.origin_timeout_ms; },
      "deadline of one origin fetch in ms (default 1000)"));
  o.push_back(IntOption(
      "cache-ttl", true, 0, INT32_MAX, [](Config& c) -> int64_t& { return c.cache_ttl_s; },
      "seconds a value filled from the origin lives (0 = no expiry)"));
  o.push_back(IntOption(
      "negative-ttl", true, 0, INT32_MAX, [](Config& c) -> int64_t& { return c.negative_ttl_s; },
      "seconds a 'not found' from the origin is remembered (0 = never)"));
  o.push_back(IntOption(
      "stale-while-revalidate", true, 0, INT32_MAX,
      [](Config& c) -> int64_t& { return c.stale_while_revalidate_s; },
      "seconds past its TTL an origin-filled value is still served while one background refresh "
      "runs (0 = off)"));
  o.push_back(IntOption(
      "stale-if-error", true, 0, INT32_MAX,
      [](Config& c) -> int64_t& { return c.stale_if_error_s; },
      "seconds past its TTL an origin-filled value is served when the origin fails (0 = off)"));
  {
    auto getter = [](const Config& c) { return origin::FormatBeta(c.refresh_ahead_beta); };
    auto setter = [](Config& c, std::string_view text, std::string* error) {
      double beta = 0;
      if (!origin::ParseRefreshAheadBeta(text, &beta)) {
        *error = "argument must be a number between 0 and 1000000";
        return false;
      }
      c.refresh_ahead_beta = beta;
      return true;
    };
    o.push_back(ConfigOption{"refresh-ahead-beta", true, setter, getter,
                             "XFetch's beta: refresh a hot value early, before its TTL, with "
                             "probability growing near expiry (0 = off, 1 = the paper's)"});
  }
  o.push_back(SmallIntOption(
      "threads", false, 1, 64, [](Config& c) -> int& { return c.threads; },
      "worker threads, each with its own event loop and clients (default 1)"));
  {
    auto getter = [](const Config& c) { return c.accept_mode; };
    auto setter = [](Config& c, std::string_view text, std::string* error) {
      std::string v = Lower(text);
      if (v != "reuseport" && v != "acceptor") {
        *error = "argument(s) must be one of the following: reuseport, acceptor";
        return false;
      }
      c.accept_mode = v;
      return true;
    };
    o.push_back(ConfigOption{"accept-mode", false, setter, getter,
                             "with threads > 1: reuseport (a listener per worker, the kernel "
                             "spreads connections) or acceptor (worker 0 accepts and hands out)"});
  }
  // Data-type encodings. The *-ziplist-* names are Redis's old aliases of the same fields.
  struct TypeOption {
    const char* name;
    const char* alias;
    int64_t min;
    int64_t max;
    int64_t Config::*field;
    const char* help;
  };
  const TypeOption type_options[] = {
      {"hash-max-listpack-entries", "hash-max-ziplist-entries", 0, INT64_MAX,
       &Config::hash_max_listpack_entries, "most fields of a listpack-encoded hash (512)"},
      {"hash-max-listpack-value", "hash-max-ziplist-value", 0, INT64_MAX,
       &Config::hash_max_listpack_value, "longest field or value of a listpack hash (64)"},
      {"set-max-intset-entries", nullptr, 0, INT64_MAX, &Config::set_max_intset_entries,
       "most members of an intset-encoded set (512)"},
      {"set-max-listpack-entries", nullptr, 0, INT64_MAX, &Config::set_max_listpack_entries,
       "most members of a listpack-encoded set (128)"},
      {"set-max-listpack-value", nullptr, 0, INT64_MAX, &Config::set_max_listpack_value,
       "longest member of a listpack-encoded set (64)"},
      {"zset-max-listpack-entries", "zset-max-ziplist-entries", 0, INT64_MAX,
       &Config::zset_max_listpack_entries, "most members of a listpack-encoded sorted set (128)"},
      {"zset-max-listpack-value", "zset-max-ziplist-value", 0, INT64_MAX,
       &Config::zset_max_listpack_value, "longest member of a listpack-encoded sorted set (64)"},
      {"list-max-listpack-size", "list-max-ziplist-size", INT32_MIN, INT32_MAX,
       &Config::list_max_listpack_size,
       "entries (> 0) or bytes (-1..-5: 4..64 KB) per quicklist node (-2)"},
      {"list-compress-depth", nullptr, 0, INT32_MAX, &Config::list_compress_depth,
       "accepted; list nodes are not compressed"},
  };
  for (const TypeOption& t : type_options) {
    int64_t Config::*field = t.field;
    auto ref = [field](Config& c) -> int64_t& { return c.*field; };
    o.push_back(IntOption(t.name, true, t.min, t.max, ref, t.help));
    if (t.alias) {
      o.push_back(IntOption(t.alias, true, t.min, t.max, ref, std::string("alias of ") + t.name));
    }
  }
  {
    auto getter = [](const Config& c) { return FormatNotifyClasses(c.notify_keyspace_events); };
    auto setter = [](Config& c, std::string_view text, std::string* error) {
      if (!ParseNotifyClasses(text, &c.notify_keyspace_events)) {
        *error = kBadNotifyClasses;
        return false;
      }
      return true;
    };
    o.push_back(ConfigOption{"notify-keyspace-events", true, setter, getter,
                             "keyspace notification classes, as Redis's letters (K E g $ l s h "
                             "z x e t m d n A), plus o for origin fills, refreshes and "
                             "invalidations; empty = off"});
  }
  o.push_back(IntOption(
      "tracking-table-max-keys", true, 0, INT64_MAX,
      [](Config& c) -> int64_t& { return c.tracking_table_max_keys; },
      "client tracking: most keys remembered (0 = no limit)"));
  for (const char* name : {"busy-reply-threshold", "lua-time-limit"}) {
    o.push_back(IntOption(
        name, true, 0, INT64_MAX, [](Config& c) -> int64_t& { return c.busy_reply_threshold_ms; },
        "ms a script may run before other clients get BUSY (SCRIPT KILL then stops it)"));
  }
  o.push_back(FixedOption("save", ""));
  o.push_back(FixedOption("appendonly", "no"));
  o.push_back(SmallIntOption(
      "databases", false, 1, 10000, [](Config& c) -> int& { return c.databases; },
      "number of databases, SELECT 0 .. databases-1 (default 16)"));
  o.push_back(IntOption(
      "slowlog-log-slower-than", true, -1, INT64_MAX,
      [](Config& c) -> int64_t& { return c.slowlog_log_slower_than; },
      "log commands slower than this many microseconds in SLOWLOG (default 10000; -1 = off)"));
  o.push_back(IntOption(
      "slowlog-max-len", true, 0, INT64_MAX,
      [](Config& c) -> int64_t& { return c.slowlog_max_len; },
      "most SLOWLOG entries kept (default 128)"));
  o.push_back(IntOption(
      "latency-monitor-threshold", true, 0, INT64_MAX,
      [](Config& c) -> int64_t& { return c.latency_monitor_threshold; },
      "record LATENCY events of at least this many ms (default 0 = off)"));
  o.push_back(FixedOption("daemonize", "no"));
  // Origin protection (origin/circuit_breaker.h, origin/pool.h) and invalidation pushed from
  // the origin (origin/invalidation.h). A route's own options override these for that route.
  o.push_back(SmallIntOption(
      "origin-max-inflight", true, 0, 1000000,
      [](Config& c) -> int& { return c.origin_max_inflight; },
      "most fetches sent to one origin at once (0 = the pool's size; a redis:// origin "
      "pipelines without limit)"));
  o.push_back(SmallIntOption(
      "origin-max-queue", true, 0, 1000000, [](Config& c) -> int& { return c.origin_max_queue; },
      "most fetches waiting for one origin beyond origin-max-inflight; past it a miss gets "
      "'-ERR origin busy' (0 = no bound)"));
  o.push_back(SmallIntOption(
      "origin-breaker-failures", true, 0, 1000000,
      [](Config& c) -> int& { return c.origin_breaker_failures; },
      "consecutive origin failures or timeouts that open its circuit breaker (default 5; "
      "0 = no breaker)"));
  o.push_back(IntOption(
      "origin-breaker-cooldown", true, 1, 3600 * 1000,
      [](Config& c) -> int64_t& { return c.origin_breaker_cooldown_ms; },
      "ms an open breaker fails misses fast ('-ERR origin unavailable') before one probe "
      "fetch decides (default 5000)"));
  {
    auto getter = [](const Config& c) { return std::string(c.origin_tracking ? "yes" : "no"); };
    auto setter = [](Config& c, std::string_view text, std::string* error) {
      std::string v = Lower(text);
      if (v != "yes" && v != "no") {
        *error = "argument must be 'yes' or 'no'";
        return false;
      }
      c.origin_tracking = v == "yes";
      return true;
    };
    o.push_back(ConfigOption{"origin-tracking", false, setter, getter,
                             "yes (default): redis:// origins push invalidations (CLIENT "
                             "TRACKING); no: filled values change only on their TTLs"});
  }
  // Lazy freeing: yes/no options, as Redis 7.0's (storage/lazyfree.h).
  struct LazyfreeOption {
    const char* name;
    bool Config::*field;
    const char* help;
  };
  const LazyfreeOption lazyfree_options[] = {
      {"lazyfree-lazy-eviction", &Config::lazyfree_lazy_eviction,
       "free a big evicted value in the background (default no)"},
      {"lazyfree-lazy-expire", &Config::lazyfree_lazy_expire,
       "free a big expired value in the background (default no)"},
      {"lazyfree-lazy-server-del", &Config::lazyfree_lazy_server_del,
       "free a big value the server deletes itself (an overwrite, RENAME's destination) in the "
       "background (default no)"},
      {"lazyfree-lazy-user-del", &Config::lazyfree_lazy_user_del,
       "DEL frees big values in the background, as UNLINK does (default no)"},
      {"lazyfree-lazy-user-flush", &Config::lazyfree_lazy_user_flush,
       "FLUSHALL/FLUSHDB without SYNC or ASYNC free in the background (default no)"},
  };
  for (const LazyfreeOption& l : lazyfree_options) {
    bool Config::*field = l.field;
    auto getter = [field](const Config& c) { return std::string(c.*field ? "yes" : "no"); };
    auto setter = [field](Config& c, std::string_view text, std::string* error) {
      std::string v = Lower(text);
      if (v != "yes" && v != "no") {
        *error = "argument must be 'yes' or 'no'";
        return false;
      }
      c.*field = v == "yes";
      return true;
    };
    o.push_back(ConfigOption{l.name, true, setter, getter, l.help});
  }
  return o;
}

}  // namespace

const std::vector<ConfigOption>& ConfigOptions() {
  static const std::vector<ConfigOption> options = BuildOptions();
  return options;
}

const ConfigOption* FindConfigOption(std::string_view name) {
  std::string lower = Lower(name);
  for (const ConfigOption& o : ConfigOptions()) {
    if (o.name == lower) return &o;
  }
  return nullptr;
}

bool ParseMemory(std::string_view text, int64_t* out) {
  std::string t = Lower(text);
  size_t digits_end = 0;
  while (digits_end < t.size() && (std::isdigit(static_cast<unsigned char>(t[digits_end])) ||
                                   (digits_end == 0 && t[0] == '-'))) {
    ++digits_end;
  }
  std::string_view unit = std::string_view(t).substr(digits_end);
  int64_t mul = 1;
  if (unit.empty() || unit == "b")
    mul = 1;
  else if (unit == "k")
    mul = 1000;
  else if (unit == "kb")
    mul = 1024;
  else if (unit == "m")
    mul = 1000LL * 1000;
  else if (unit == "mb")
    mul = 1024LL * 1024;
  else if (unit == "g")
    mul = 1000LL * 1000 * 1000;
  else if (unit == "gb")
    mul = 1024LL * 1024 * 1024;
  else
    return false;
  int64_t v = 0;
  auto [ptr, ec] = std::from_chars(t.data(), t.data() + digits_end, v);
  if (ec != std::errc() || ptr != t.data() + digits_end || digits_end == 0 || v < 0) return false;
  if (v > INT64_MAX / mul) return false;
  *out = v * mul;
  return true;
}

const char* LogLevelName(LogLevel level) {
  switch (level) {
    case LogLevel::kDebug:
      return "debug";
    case LogLevel::kVerbose:
      return "verbose";
    case LogLevel::kNotice:
      return "notice";
    case LogLevel::kWarning:
      return "warning";
    case LogLevel::kNothing:
      return "nothing";
  }
  return "notice";
}

bool LoadConfigFile(const std::string& path, Config& cfg, std::string* error) {
  std::ifstream in(path);
  if (!in) {
    *error = "can't open config file '" + path + "'";
    return false;
  }
  std::string line;
  int line_number = 0;
  while (std::getline(in, line)) {
    ++line_number;
    size_t start = line.find_first_not_of(" \t\r");
    if (start == std::string::npos || line[start] == '#') continue;
    // name, then the rest (quotes stripped) as the value, as redis.conf allows.
    std::istringstream words(line.substr(start));
    std::string name;
    words >> name;
    std::string value;
    std::getline(words, value);
    size_t v0 = value.find_first_not_of(" \t");
    value = v0 == std::string::npos ? "" : value.substr(v0);
    while (!value.empty() && (value.back() == '\r' || value.back() == ' ')) value.pop_back();
    if (value.size() >= 2 && (value.front() == '"' || value.front() == '\'') &&
        value.back() == value.front()) {
      value = value.substr(1, value.size() - 2);
    }
    const ConfigOption* opt = FindConfigOption(name);
    std::string why;
    if (!opt) {
      *error = path + ":" + std::to_string(line_number) + ": unknown option '" + name + "'";
      return false;
    }
    if (!opt->set(cfg, value, &why)) {
      *error = path + ":" + std::to_string(line_number) + ": bad value for '" + name + "': " + why;
      return false;
    }
  }
  return true;
}

}  // namespace flightcache::server
