// info.cc — INFO and CLIENT LIST rendering (see info.h).
#include "server/info.h"

#include "server/watch_table.h"

#if defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
#define FLIGHTCACHE_SANITIZER_ALLOCATOR 1
#endif
#endif
#if !defined(FLIGHTCACHE_SANITIZER_ALLOCATOR) && \
    (defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__))
#define FLIGHTCACHE_SANITIZER_ALLOCATOR 1
#endif
#ifndef FLIGHTCACHE_SANITIZER_ALLOCATOR
#define FLIGHTCACHE_SANITIZER_ALLOCATOR 0
#endif
#if FLIGHTCACHE_SANITIZER_ALLOCATOR
#include <sanitizer/allocator_interface.h>
#endif

#include <malloc.h>
#include <sys/resource.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <fstream>
#include <set>

#include "origin/origin.h"
#include "origin/singleflight.h"
#include "server/command_util.h"
#include "server/connection.h"
#include "server/origin_invalidation.h"
#include "server/server.h"
#include "server/worker.h"

namespace flightcache::server {
namespace {

std::atomic<uint64_t> peak_memory{0};

void Field(std::string& out, std::string_view name, std::string_view value) {
  out.append(name).append(":").append(value).append("\r\n");
}

void Field(std::string& out, std::string_view name, uint64_t value) {
  Field(out, name, std::to_string(value));
}

std::string FormatFixed(double v, int digits) {
  char buf[64];
  std::snprintf(buf, sizeof(buf), "%.*f", digits, v);
  return buf;
}

void ServerSection(Worker& w, std::string& out) {
  Server& s = w.server();
  out += "# Server\r\n";
  Field(out, "redis_version", kRedisVersion);
  Field(out, "flightcache_version", kFlightcacheVersion);
  Field(out, "redis_git_sha1", "00000000");
  Field(out, "redis_git_dirty", "0");
  Field(out, "redis_mode", "standalone");
  struct utsname name;
  uname(&name);
  Field(out, "os", std::string(name.sysname) + " " + name.release + " " + name.machine);
  Field(out, "arch_bits", "64");
  Field(out, "multiplexing_api", "libuv");
  Field(out, "process_id", static_cast<uint64_t>(getpid()));
  Field(out, "run_id", s.run_id());
  Field(out, "tcp_port", static_cast<uint64_t>(s.tcp_port()));
  const int64_t uptime_ms = w.now_ms() - s.start_time_ms();
  Field(out, "server_time_usec", static_cast<uint64_t>(w.now_ms()) * 1000);
  Field(out, "uptime_in_seconds", static_cast<uint64_t>(uptime_ms / 1000));
  Field(out, "uptime_in_days", static_cast<uint64_t>(uptime_ms / 86400000));
  Field(out, "hz", static_cast<uint64_t>(w.config().hz));
  Field(out, "configured_hz", static_cast<uint64_t>(w.config().hz));
  Field(out, "io_threads_active", s.worker_count() > 1 ? "1" : "0");
  Field(out, "worker_threads", static_cast<uint64_t>(s.worker_count()));
  Field(out, "executable", "flightcache");
  Field(out, "config_file", "");
}

// Sums one counter over every worker (each worker writes only its own).
uint64_t SumOverWorkers(Server& s, Counter WorkerStats::*field) {
  uint64_t total = 0;
  for (size_t i = 0; i < s.worker_count(); ++i) total += (s.worker(i).stats().*field).get();
  return total;
}

void ClientsSection(Worker& w, std::string& out) {
  Server& s = w.server();
  out += "# Clients\r\n";
  Field(out, "connected_clients", static_cast<uint64_t>(s.client_count().load()));
  Field(out, "maxclients", static_cast<uint64_t>(w.config().maxclients));
  Field(out, "blocked_clients", SumOverWorkers(s, &WorkerStats::blocked_clients));
  Field(out, "tracking_clients", w.server().key_events().tracking().tracking_clients());
  Field(out, "clients_in_timeout_table", uint64_t{0});
}

void MemorySection(Worker& w, std::string& out) {
  Server& s = w.server();
  const uint64_t used = UsedMemoryBytes();
  const uint64_t rss = ResidentSetBytes();
  uint64_t peak = peak_memory.load();
  while (used > peak && !peak_memory.compare_exchange_weak(peak, used)) {
  }
  peak = std::max(peak, used);
  out += "# Memory\r\n";
  Field(out, "used_memory", used);
  Field(out, "used_memory_human", HumanBytes(used));
  Field(out, "used_memory_rss", rss);
  Field(out, "used_memory_rss_human", HumanBytes(rss));
  Field(out, "used_memory_peak", peak);
  Field(out, "used_memory_peak_human", HumanBytes(peak));
  Field(out, "used_memory_dataset", static_cast<uint64_t>(s.keyspace().memory_bytes()));
  // Replies queued for clients (Redis also counts query buffers here); eviction counts it.
  Field(out, "mem_clients_normal", static_cast<uint64_t>(s.keyspace().TransientBytes()));
  Field(out, "maxmemory", static_cast<uint64_t>(w.config().maxmemory));
  Field(out, "maxmemory_human", HumanBytes(static_cast<uint64_t>(w.config().maxmemory)));
  Field(out, "maxmemory_policy", w.config().maxmemory_policy);
  Field(out, "mem_fragmentation_ratio",
        FormatFixed(used ? static_cast<double>(rss) / static_cast<double>(used) : 0, 2));
  Field(out, "mem_allocator", FLIGHTCACHE_SANITIZER_ALLOCATOR ? "sanitizer" : "libc");
  // Redis 7.0 shows both lazy-free figures here, in the memory section (storage/lazyfree.h).
  Field(out, "lazyfree_pending_objects",
        static_cast<uint64_t>(s.keyspace().lazy_free().pending_objects()));
  Field(out, "lazyfreed_objects", s.keyspace().lazy_free().freed_objects());
}

void PersistenceSection(std::string& out) {
  out += "# Persistence\r\n";
  Field(out, "loading", "0");
  Field(out, "rdb_changes_since_last_save", "0");
  Field(out, "rdb_bgsave_in_progress", "0");
  Field(out, "rdb_last_bgsave_status", "ok");
  Field(out, "aof_enabled", "0");
  Field(out, "aof_rewrite_in_progress", "0");
}

void StatsSection(Server& s, std::string& out) {
  auto sum = [&](Counter WorkerStats::*field) { return SumOverWorkers(s, field); };
  out += "# Stats\r\n";
  Field(out, "total_connections_received", sum(&WorkerStats::total_connections_received));
  Field(out, "total_commands_processed", sum(&WorkerStats::total_commands_processed));
  Field(out, "instantaneous_ops_per_sec", "0");
  Field(out, "total_net_input_bytes", sum(&WorkerStats::total_net_input_bytes));
  Field(out, "total_net_output_bytes", sum(&WorkerStats::total_net_output_bytes));
  Field(out, "rejected_connections", sum(&WorkerStats::rejected_connections));
  Field(out, "expired_keys", s.keyspace().expired_keys() - s.expired_keys_base.load());
  Field(out, "evicted_keys", s.keyspace().evicted_keys() - s.evicted_keys_base.load());
  Field(out, "keyspace_hits", sum(&WorkerStats::keyspace_hits));
  Field(out, "keyspace_misses", sum(&WorkerStats::keyspace_misses));
  Field(out, "pubsub_channels", s.pubsub().NumChannels());
  Field(out, "pubsub_patterns", s.pubsub().NumPat());
  TrackingTable& tracking = s.key_events().tracking();
  Field(out, "tracking_total_keys", tracking.total_keys());
  Field(out, "tracking_total_items", tracking.total_items());
  Field(out, "tracking_total_prefixes", tracking.total_prefixes());
  Field(out, "total_error_replies", sum(&WorkerStats::total_error_replies));
}

void ReplicationSection(std::string& out) {
  out += "# Replication\r\n";
  Field(out, "role", "master");
  Field(out, "connected_slaves", "0");
}

void CpuSection(std::string& out) {
  struct rusage self;
  getrusage(RUSAGE_SELF, &self);
  out += "# CPU\r\n";
  Field(out, "used_cpu_sys", FormatFixed(self.ru_stime.tv_sec + self.ru_stime.tv_usec / 1e6, 6));
  Field(out, "used_cpu_user", FormatFixed(self.ru_utime.tv_sec + self.ru_utime.tv_usec / 1e6, 6));
}

void KeyspaceSection(Server& s, std::string& out) {
  out += "# Keyspace\r\n";
  // One line per database holding keys, as Redis: dbN:keys=..,expires=..,avg_ttl=..
  storage::Keyspace& keyspace = s.keyspace();
  for (size_t d = 0; d < keyspace.database_count(); ++d) {
    const storage::Database& db = keyspace.db(d);
    if (!db.used()) continue;
    const size_t keys = db.size();
    if (keys == 0) continue;
    Field(out, "db" + std::to_string(d),
          "keys=" + std::to_string(keys) + ",expires=" + std::to_string(db.volatile_count()) +
              ",avg_ttl=" + std::to_string(db.avg_ttl_ms()));
  }
}

void CommandstatsSection(Server& s, std::string& out) {
  out += "# Commandstats\r\n";
  for (const auto& cmd : s.commands().all()) {
    uint64_t calls = 0, usec = 0, rejected = 0, failed = 0;
    for (size_t i = 0; i < s.worker_count(); ++i) {
      const CommandStats& st = s.worker(i).command_stats()[cmd->index];
      calls += st.calls;
      usec += st.usec;
      rejected += st.rejected_calls;
      failed += st.failed_calls;
    }
    if (calls == 0 && rejected == 0 && failed == 0) continue;
    double per_call = calls ? static_cast<double>(usec) / static_cast<double>(calls) : 0;
    Field(out, "cmdstat_" + cmd->name,
          "calls=" + std::to_string(calls) + ",usec=" + std::to_string(usec) + ",usec_per_call=" +
              FormatFixed(per_call, 2) + ",rejected_calls=" + std::to_string(rejected) +
              ",failed_calls=" + std::to_string(failed));
  }
}

void OriginSection(Worker& w, std::string& out) {
  Server& s = w.server();
  out += "# Origin\r\n";
  origin::Origin* o = s.origin();
  origin::Singleflight* f = s.singleflight();
  Field(out, "origin_enabled", o ? "1" : "0");
  if (!o || !f) return;
  const origin::SingleflightStats& st = f->stats();
  Field(out, "origin_url", o->Describe());
  Field(out, "origin_connections", static_cast<uint64_t>(w.config().origin_connections));
  Field(out, "origin_connected", static_cast<uint64_t>(o->ConnectedCount()));
  const origin::OriginConnectionStats links = o->ConnectionStats();
  Field(out, "origin_connects", links.connects);
  Field(out, "origin_disconnects", links.disconnects);
  Field(out, "origin_timeout_drops", links.timeout_drops);
  Field(out, "origin_timeout_ms", static_cast<uint64_t>(w.config().origin_timeout_ms));
  Field(out, "origin_fetches_started", st.fetches_started);
  Field(out, "origin_fetches_shared", st.fetches_shared);
  Field(out, "origin_fills", st.fills);
  Field(out, "origin_not_found", st.not_found);
  Field(out, "origin_errors", st.errors);
  Field(out, "origin_timeouts", st.timeouts);
  Field(out, "origin_forgotten", st.forgotten);
  Field(out, "origin_not_stored", st.not_stored);
  Field(out, "origin_negative_hits", st.negative_hits);
  Field(out, "origin_fetches_in_flight", f->in_flight());
  Field(out, "origin_parked_clients", f->parked_waiters());
  Field(out, "origin_latency_p50_ms", FormatFixed(f->LatencyPercentileMs(50), 3));
  Field(out, "origin_latency_p99_ms", FormatFixed(f->LatencyPercentileMs(99), 3));
  // One line of counters per route (origin/router.h), the --origin shorthand's `*` included.
  const origin::OriginLoad load = o->Load();
  Field(out, "origin_queued", load.queued);
  Field(out, "origin_queue_peak", load.queue_peak);
  // Freshness (origin/read_through.h): stale-while-revalidate, refresh-ahead, stale-if-error.
  Field(out, "origin_stale_hits", st.stale_hits);
  Field(out, "origin_refreshes_started", st.refreshes_started);
  Field(out, "origin_refreshes_succeeded", st.refreshes_succeeded);
  Field(out, "origin_refreshes_failed", st.refreshes_failed);
  Field(out, "origin_early_refreshes", st.early_refreshes);
  Field(out, "origin_stale_if_error_serves", st.stale_if_error_serves);
  out += o->RoutesInfo();
  // Invalidation pushed from the origins (server/origin_invalidation.h); each route line above
  // carries its breaker, busy rejections and feed state.
  if (const OriginInvalidation* inv = s.invalidation()) {
    Field(out, "origin_invalidated_keys", inv->keys_deleted());
    Field(out, "origin_invalidation_purges", inv->purges());
    Field(out, "origin_purged_keys", inv->purged_keys());
    Field(out, "origin_purging", inv->purging() ? "1" : "0");
  }
}

}  // namespace

uint64_t UsedMemoryBytes() {
#if FLIGHTCACHE_SANITIZER_ALLOCATOR
  // Under ASan/TSan the sanitizer's allocator serves malloc and mallinfo2() reports nothing.
  return __sanitizer_get_current_allocated_bytes();
#else
  struct mallinfo2 mi = mallinfo2();
  return static_cast<uint64_t>(mi.uordblks + mi.hblkhd);
#endif
}

uint64_t ResidentSetBytes() {
  std::ifstream statm("/proc/self/statm");
  uint64_t size = 0, resident = 0;
  statm >> size >> resident;
  return resident * static_cast<uint64_t>(sysconf(_SC_PAGESIZE));
}

std::string HumanBytes(uint64_t bytes) {
  const char* units[] = {"B", "K", "M", "G", "T"};
  double v = static_cast<double>(bytes);
  int unit = 0;
  while (v >= 1024 && unit < 4) {
    v /= 1024;
    ++unit;
  }
  if (unit == 0) return std::to_string(bytes) + "B";
  return FormatFixed(v, 2) + units[unit];
}

std::string RenderInfo(Worker& w, const std::vector<std::string>& requested) {
  Server& s = w.server();
  std::set<std::string> want;
  bool all = false;
  for (const std::string& r : requested) {
    std::string lower = ToLower(r);
    if (lower == "all" || lower == "everything")
      all = true;
    else if (lower == "default")
      want.insert({"server", "clients", "memory", "persistence", "stats", "replication", "cpu",
                   "keyspace", "origin"});
    else
      want.insert(lower);
  }
  if (requested.empty()) {
    want = {"server",      "clients", "memory",   "persistence", "stats",
            "replication", "cpu",     "keyspace", "origin"};
  }
  auto has = [&](const char* name) { return all || want.count(name) > 0; };
  std::string out;
  auto section = [&](const char* name, auto&& render) {
    if (!has(name)) return;
    if (!out.empty()) out += "\r\n";
    render();
  };
  section("server", [&] { ServerSection(w, out); });
  section("clients", [&] { ClientsSection(w, out); });
  section("memory", [&] { MemorySection(w, out); });
  section("persistence", [&] { PersistenceSection(out); });
  section("stats", [&] { StatsSection(s, out); });
  section("replication", [&] { ReplicationSection(out); });
  section("cpu", [&] { CpuSection(out); });
  section("origin", [&] { OriginSection(w, out); });
  section("commandstats", [&] { CommandstatsSection(s, out); });
  section("keyspace", [&] { KeyspaceSection(s, out); });
  return out;
}

std::string ClientInfoLine(Worker& w, const Connection& c) {
  const int64_t now = w.now_ms();
  std::string line;
  line += "id=" + std::to_string(c.id());
  line += " addr=" + c.peer_addr;
  line += " laddr=" + c.local_addr;
  line += " fd=-1";
  line += " name=" + c.name;
  line += " age=" + std::to_string((now - c.created_ms) / 1000);
  line += " idle=" + std::to_string((now - c.last_interaction_ms) / 1000);
  std::string flags;
  if (c.monitoring) flags += 'O';
  if (c.subscription_count() > 0) flags += 'P';
  if (c.parked_slots() > 0) flags += 'b';
  if (c.closes_after_reply()) flags += 'c';
  if (c.watch && c.watch->dirty.load(std::memory_order_relaxed)) flags += 'd';
  if (c.transaction) flags += 'x';
  line += " flags=" + (flags.empty() ? std::string("N") : flags);
  line += " db=" + std::to_string(c.db_index());
  line += " sub=" + std::to_string(c.pubsub_channels.size());
  line += " psub=" + std::to_string(c.pubsub_patterns.size());
  line += " ssub=0 multi=" +
          std::to_string(c.transaction ? static_cast<int64_t>(c.transaction->commands.size()) : -1);
  line += " qbuf=0 qbuf-free=0 argv-mem=0 multi-mem=0";
  line += " rbs=0 rbp=0 obl=0 oll=0";
  line += " omem=" + std::to_string(c.PendingOutputBytes());
  line += " tot-mem=0 events=r";
  line += std::string(" cmd=") + c.last_command;
  line += " user=default redir=-1";
  line += " resp=" + std::to_string(c.resp);
  line += " lib-name=" + c.lib_name;
  line += " lib-ver=" + c.lib_ver;
  return line;
}

}  // namespace flightcache::server
