// monitor_feed.h — MONITOR: the clients that see every command the server runs.
//
// Clients that ran MONITOR are registered here by (worker, connection id), never by pointer. A
// worker that runs a command while any monitor exists (active(), one relaxed load per command
// otherwise) formats Redis's line once — +<unix s>.<µs> [<db> <client address>] "cmd" "arg"... —
// and hands it to each monitor's own worker (directly, or through Worker::Post).
#pragma once

#include <atomic>
#include <cstdint>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

namespace flightcache::server {

struct MonitorClient {
  uint32_t worker;
  uint64_t conn_id;
};

class MonitorFeed {
 public:
  // Thread-safe.
  void Add(MonitorClient client);
  void Remove(MonitorClient client);
  std::vector<MonitorClient> Clients();
  // Lock-free: whether any client monitors.
  bool active() const { return count_.load(std::memory_order_relaxed) > 0; }

  // Redis's MONITOR line for a command (without the leading '+' and trailing CRLF): arguments
  // quoted as sdscatrepr does; AUTH's arguments shown as "(redacted)".
  static std::string FormatLine(int64_t unix_us, size_t db, std::string_view client_addr,
                                const std::vector<std::string_view>& args);

 private:
  std::mutex mutex_;
  std::vector<MonitorClient> clients_;
  std::atomic<size_t> count_{0};
};

}  // namespace flightcache::server
