// server.h — the process: workers on their threads, and what they share.
//
// Shared by every worker: the keyspace (shards locked per command when there are several
// workers), the command table, the origin and its singleflight table, the master copy of the
// config, and process-wide figures (start time, run id, client count). Worker 0's loop is the
// home of the origin connections, the signal handlers and the keyspace cron (active expiry,
// memory baseline, eviction); other workers reach it through Worker::Post(). SIGINT and
// SIGTERM are taken by a small thread of their own (sigwait), which asks every worker to stop.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "origin/route.h"
#include "server/blocking_table.h"
#include "server/command_table.h"
#include "server/config.h"
#include "server/key_events.h"
#include "server/latency_monitor.h"
#include "server/monitor_feed.h"
#include "server/pubsub_registry.h"
#include "server/slowlog.h"
#include "server/watch_table.h"
#include "storage/keyspace.h"

namespace flightcache::origin {
class Origin;
class Singleflight;
}  // namespace flightcache::origin

namespace flightcache::server {

class OriginInvalidation;
class Worker;
class Scripting;

class Server {
 public:
  explicit Server(Config config);
  ~Server();

  // Opens the listeners, runs every worker (worker 0 on the calling thread) until a stop is
  // requested, and returns the process exit code.
  int Run();
  // Thread-safe: asks every worker to close its connections and handles.
  void RequestStop();

  // The master config: what CONFIG GET reads from a worker's copy is kept equal to it.
  Config config_snapshot();
  // One option and its new text, from CONFIG SET.
  struct ConfigChange {
    const ConfigOption* option;
    std::string_view value;
  };
  // CONFIG SET on `from`: validates every change against the master config and applies them
  // all or none, under the config lock, so that concurrent CONFIG SETs on different workers
  // never lose one another's changes. The result becomes the master copy, is applied to
  // shared state, and is sent to every worker (versioned: a late copy never overwrites a newer
  // one). Returns "" on success, else the error reply. Call with no shard lock held (CONFIG
  // names no keys); the eviction a lower maxmemory needs runs after the command (MakeRoomNow).
  std::string SetConfig(Worker& from, const std::vector<ConfigChange>& changes);
  // Evicts until within maxmemory (no shard lock may be held by the caller).
  void MakeRoomNow();
  // Applies the master config's maxmemory and policy to the keyspace (after a CONFIG SET of
  // either, once the command is done). No lock may be held by the caller.
  void ApplyEvictionConfig();
  // Sets the keyspace's memory baseline from the allocator's figure now: what the process holds
  // beyond the keyspace's own bytes and the transient bytes (TransientBytes).
  void RemeasureMemoryBaseline();
  // On worker 0: refreshes the origin figures that other workers' INFO reads.
  void RefreshOriginStatus();

  storage::Keyspace& keyspace() { return keyspace_; }
  const CommandTable& commands() const { return commands_; }
  origin::Singleflight* singleflight() { return singleflight_.get(); }
  WatchTable& watch_table() { return watch_table_; }
  PubsubRegistry& pubsub() { return pubsub_; }
  Slowlog& slowlog() { return slowlog_; }
  LatencyMonitor& latency_monitor() { return latency_monitor_; }
  MonitorFeed& monitors() { return monitors_; }
  // Keyspace notifications and client tracking: every shard's first KeyWatcher.
  KeyEvents& key_events() { return key_events_; }
  BlockingTable& blocking() { return blocking_; }
  Scripting& scripting() { return *scripting_; }
  origin::Origin* origin() { return origin_.get(); }
  // The routes in order (the --origin shorthand's `*` first); fixed after start-up.
  const std::vector<origin::RouteSpec>& routes() const { return router_specs_; }
  size_t worker_count() const { return workers_.size(); }
  Worker& worker(size_t i) { return *workers_[i]; }
  bool threaded() const { return workers_.size() > 1; }

  int64_t start_time_ms() const { return start_time_ms_; }
  const std::string& run_id() const { return run_id_; }
  int tcp_port() const { return bound_port_.load(); }
  void set_tcp_port(int port) { bound_port_.store(port); }
  uint64_t NextClientId() { return next_client_id_.fetch_add(1); }
  // Connected clients over all workers, and the admission check against maxclients.
  std::atomic<int>& client_count() { return client_count_; }
  int max_clients() const { return max_clients_.load(); }
  void RaiseFileLimit(int wanted_clients);

  void Log(LogLevel level, const std::string& message);

  // Invalidation pushed from the origin of route (its index among the routes, --origin's `*`
  // first), on worker 0 (server/origin_invalidation.h). InvalidateFromOrigin deletes key as a
  // client's DEL would (when that route serves it); InvalidateAllFromOrigin drops every entry
  // of that route, in bounded steps. These are the only two ways a feed touches the keyspace.
  void InvalidateFromOrigin(size_t route, std::string_view key);
  void InvalidateAllFromOrigin(size_t route);
  const OriginInvalidation* invalidation() const { return invalidation_.get(); }

  // CONFIG RESETSTAT's starting points for the keyspace's own counters.
  std::atomic<uint64_t> expired_keys_base{0};
  std::atomic<uint64_t> evicted_keys_base{0};

 private:
  // Builds the routes' origins (checking each SQLite file and query) and the singleflight
  // table; false with *error naming the route when one cannot work.
  bool StartOrigin(std::string* error);
  // Before any worker thread starts (a start-up failure): stops and closes every loop here.
  void RunDryUnstarted();
  // The keyspace's transient-bytes source: reply bytes queued for clients on every worker.
  static int64_t TransientBytes(void* server);
  void ConfigureEviction(const Config& config);

  Config config_;
  uint64_t config_version_ = 0;           // bumped by every SetConfig; guarded by config_mutex_
  std::mutex eviction_config_mutex_;      // taken with no other lock held (ApplyEvictionConfig)
  uint64_t eviction_config_version_ = 0;  // the config version the keyspace's eviction has
  std::mutex config_mutex_;
  storage::Keyspace keyspace_;
  WatchTable watch_table_{&keyspace_};  // every shard's KeyWatcher; passes on to singleflight_
  CommandTable commands_;
  Slowlog slowlog_;
  LatencyMonitor latency_monitor_;
  MonitorFeed monitors_;
  PubsubRegistry pubsub_;             // every worker's subscribers, by (worker, connection id)
  KeyEvents key_events_{&keyspace_};  // every db's first KeyWatcher; passes on to watch_table_
  BlockingTable blocking_;            // clients blocked by BLPOP..., by key, on every worker
  std::vector<std::unique_ptr<Worker>> workers_;
  std::unique_ptr<origin::Origin> origin_;
  origin::Origin* home_origin_ = nullptr;  // origin_, as the home-loop wrapper that caches figures
  std::unique_ptr<origin::Singleflight> singleflight_;
  std::unique_ptr<OriginInvalidation> invalidation_;  // with an origin; used on worker 0
  std::vector<origin::RouteSpec> router_specs_;       // the routes, in order (ORIGIN ROUTES)
  int64_t start_time_ms_ = 0;
  std::string run_id_;
  std::atomic<int> bound_port_{0};
  std::atomic<uint64_t> next_client_id_{1};
  std::atomic<int> client_count_{0};
  std::atomic<int> max_clients_{10000};
  std::mutex log_mutex_;
  FILE* log_file_ = nullptr;
  std::atomic<LogLevel> log_level_{LogLevel::kNotice};
  std::unique_ptr<Scripting> scripting_;  // Lua: script cache, libraries, the running script
};

}  // namespace flightcache::server
