// config.h — every server option, one registry for flags, config file and CONFIG GET/SET.
//
// Each option has a Redis-style name, a parser that validates and stores into Config, and a
// formatter. main() feeds the registry from CLI11 flags and an optional redis.conf-style file
// (flags override the file); CONFIG SET uses the same setters for options marked mutable.
// Setters return false with a message naming the problem; nothing here throws after start-up.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "server/output_buffer_limit.h"

namespace flightcache::server {

enum class LogLevel { kDebug, kVerbose, kNotice, kWarning, kNothing };

struct Config {
  std::string bind = "127.0.0.1";
  int port = 6379;
  std::string unixsocket;
  int unixsocketperm = 0;
  int maxclients = 10000;
  int64_t timeout_s = 0;  // idle client timeout; 0 = never
  std::string requirepass;
  LogLevel loglevel = LogLevel::kNotice;
  std::string logfile;  // empty: stderr
  int64_t proto_max_bulk_len = 512LL * 1024 * 1024;
  int64_t client_query_buffer_limit = 1024LL * 1024 * 1024;
  OutputBufferLimits client_output_buffer_limit = kDefaultOutputBufferLimits;  // by ClientClass
  int tcp_keepalive = 300;
  int hz = 10;
  int64_t maxmemory = 0;
  std::string maxmemory_policy = "allkeys-s3fifo";
  // Read-through origin (see origin/).
  std::string origin;  // URL; empty: no origin, a miss is a miss. Shorthand for `route * URL`
  // `route` lines / --route flags, as given (origin/route.h); checked when added.
  std::vector<std::string> routes;
  int origin_connections = 4;
  int64_t origin_timeout_ms = 1000;
  int64_t cache_ttl_s = 0;
  int64_t negative_ttl_s = 0;
  // Freshness of values filled from the origin (origin/read_through.h); routes may set their own.
  int64_t stale_while_revalidate_s = 0;
  int64_t stale_if_error_s = 0;
  double refresh_ahead_beta = 0;  // XFetch's β; 0 = off
  // Worker threads, each with its own loop (see server/worker.h).
  int threads = 1;
  std::string accept_mode = "reuseport";  // "reuseport" or "acceptor" (with threads > 1)
  // Encoding thresholds of the data types (storage/types/), Redis's names and defaults.
  int64_t hash_max_listpack_entries = 512;
  int64_t hash_max_listpack_value = 64;
  int64_t set_max_intset_entries = 512;
  int64_t set_max_listpack_entries = 128;
  int64_t set_max_listpack_value = 64;
  int64_t zset_max_listpack_entries = 128;
  int64_t zset_max_listpack_value = 64;
  int64_t list_max_listpack_size = -2;
  int64_t list_compress_depth = 0;          // accepted; nodes are not compressed
  int databases = 16;                       // SELECT 0 .. databases-1, as Redis's `databases`
  int64_t slowlog_log_slower_than = 10000;  // µs; < 0: off; 0: every command
  int64_t slowlog_max_len = 128;
  int64_t latency_monitor_threshold = 0;  // ms; 0: the latency monitor is off
  // Origin protection and invalidation (see the options' help in config.cc).
  int origin_max_inflight = 0;
  int origin_max_queue = 0;
  int origin_breaker_failures = 5;
  int64_t origin_breaker_cooldown_ms = 5000;
  bool origin_tracking = true;
  // Keyspace notifications: class bits (server/keyspace_notifications.h); 0 = off.
  uint32_t notify_keyspace_events = 0;
  // Client tracking: most keys remembered for default-mode clients; 0 = no limit.
  int64_t tracking_table_max_keys = 0;
  // A script running longer than this makes other clients get BUSY (lua-time-limit alias).
  int64_t busy_reply_threshold_ms = 5000;
  // Lazy freeing (storage/lazyfree.h), Redis 7.0's lazyfree-lazy-* options: which removals free
  // a big value on the background thread. UNLINK and FLUSHALL/FLUSHDB ASYNC always do.
  bool lazyfree_lazy_eviction = false;
  bool lazyfree_lazy_expire = false;
  bool lazyfree_lazy_server_del = false;
  bool lazyfree_lazy_user_del = false;
  bool lazyfree_lazy_user_flush = false;  // FLUSHALL/FLUSHDB without SYNC or ASYNC
};

struct ConfigOption {
  std::string name;
  bool mutable_at_runtime;
  // Validates text and stores it; on failure returns false and sets *error.
  std::function<bool(Config&, std::string_view text, std::string* error)> set;
  std::function<std::string(const Config&)> get;
  std::string help;
};

// The registry of every option, in a stable order.
const std::vector<ConfigOption>& ConfigOptions();
const ConfigOption* FindConfigOption(std::string_view name);

// Parses "name value..." lines (redis.conf syntax: # comments, quoted values) into cfg.
bool LoadConfigFile(const std::string& path, Config& cfg, std::string* error);

// Parses Redis memory units: 100, 1k, 1kb, 5mb, 1gb (k=1000, kb=1024, ...).
bool ParseMemory(std::string_view text, int64_t* out);

const char* LogLevelName(LogLevel level);

}  // namespace flightcache::server
