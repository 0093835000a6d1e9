// latency_monitor.h — LATENCY: Redis's latency monitor, per event, for the process.
//
// While latency-monitor-threshold (ms) is above 0, an event that took at least that long is
// recorded: "command" and "fast-command" (a command's run, by its fast flag), "expire-cycle"
// (the cron's active expiry). Each event keeps its latest and all-time maximum latency and a
// history of 160 one-per-second samples (two in the same second keep the larger), as Redis's
// latency.c does. Add() runs only past the threshold, so its mutex is off the hot path.
#pragma once

#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <vector>

namespace flightcache::server {

struct LatencySample {
  int64_t unix_seconds;
  int64_t latency_ms;
};

struct LatencyEvent {
  std::string name;
  int64_t latest_seconds = 0;
  int64_t latest_ms = 0;
  int64_t max_ms = 0;
  std::vector<LatencySample> history;  // oldest first, at most kHistory
};

class LatencyMonitor {
 public:
  static constexpr size_t kHistory = 160;  // LATENCY_TS_LEN
  // Records latency_ms for event at unix_seconds. Thread-safe.
  void Add(const std::string& event, int64_t latency_ms, int64_t unix_seconds);
  // Every event with samples, by name. Thread-safe.
  std::vector<LatencyEvent> Events();
  // Forgets the named events (every event when names is empty); returns how many there were.
  size_t Reset(const std::vector<std::string>& names);

 private:
  std::mutex mutex_;
  std::map<std::string, LatencyEvent> events_;
};

}  // namespace flightcache::server
