// latency_monitor.cc — the latency monitor's events (see latency_monitor.h).
#include "server/latency_monitor.h"

#include <algorithm>

namespace flightcache::server {

void LatencyMonitor::Add(const std::string& event, int64_t latency_ms, int64_t unix_seconds) {
  std::lock_guard<std::mutex> hold(mutex_);
  LatencyEvent& e = events_[event];
  e.name = event;
  e.latest_seconds = unix_seconds;
  e.latest_ms = latency_ms;
  e.max_ms = std::max(e.max_ms, latency_ms);
  if (!e.history.empty() && e.history.back().unix_seconds == unix_seconds) {
    e.history.back().latency_ms = std::max(e.history.back().latency_ms, latency_ms);
    return;
  }
  e.history.push_back({unix_seconds, latency_ms});
  if (e.history.size() > kHistory) e.history.erase(e.history.begin());
}

std::vector<LatencyEvent> LatencyMonitor::Events() {
  std::lock_guard<std::mutex> hold(mutex_);
  std::vector<LatencyEvent> out;
  for (const auto& [name, e] : events_) out.push_back(e);
  return out;
}

size_t LatencyMonitor::Reset(const std::vector<std::string>& names) {
  std::lock_guard<std::mutex> hold(mutex_);
  if (names.empty()) {
    const size_t n = events_.size();
    events_.clear();
    return n;
  }
  size_t n = 0;
  for (const std::string& name : names) n += events_.erase(name);
  return n;
}

}  // namespace flightcache::server
