// router.cc — RouterOrigin: route choice, per-route fill settings and counters (router.h).
#include "origin/router.h"

#include <algorithm>
#include <chrono>
#include <cstdio>

#include "origin/pool.h"

namespace flightcache::origin {
namespace {

constexpr size_t kLatencyWindow = 1024;

int64_t MonotonicMicros() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

std::string Fixed3(double v) {
  char text[32];
  std::snprintf(text, sizeof(text), "%.3f", v);
  return text;
}

// A route's own freshness options (-1: unset), stamped on its results where the origin itself
// said nothing (an HTTP Cache-Control stale-while-revalidate= wins).
struct RouteFreshness {
  int64_t stale_while_revalidate_s;
  int64_t stale_if_error_s;
  double refresh_ahead_beta;
  void StampOn(FetchResult* result) const {
    if (result->stale_while_revalidate_s < 0) {
      result->stale_while_revalidate_s = stale_while_revalidate_s;
    }
    if (result->stale_if_error_s < 0) result->stale_if_error_s = stale_if_error_s;
    if (result->refresh_ahead_beta < 0) result->refresh_ahead_beta = refresh_ahead_beta;
  }
};

}  // namespace

RouterOrigin::RouterOrigin(uv_loop_s* loop, std::vector<Route> routes)
    : loop_(loop), routes_(std::move(routes)), stats_(routes_.size()) {
  for (const Route& route : routes_) {
    specs_.push_back(route.spec);
    const std::string scheme = UrlScheme(route.spec.url);
    answers_rows_.push_back(scheme == "sqlite" || scheme == "postgres" || scheme == "postgresql");
  }
}

RouterOrigin::~RouterOrigin() { Close(); }

void RouterOrigin::Fetch(std::string_view key, FetchCallback cb) {
  std::vector<std::string> captures;
  const int index = PickRoute(specs_, key, &captures);
  if (closed_ || index < 0) {
    FetchResult result = closed_ ? FetchResult::Error(FetchErrorKind::kUnreachable,
                                                      "origin unreachable: origin closed")
                                 : FetchResult::NotFound();
    PostResultLater(loop_, std::move(cb), std::move(result));
    return;
  }
  const auto route = static_cast<size_t>(index);
  const RouteOptions& options = routes_[route].spec.options;
  const int64_t cache_ttl_ms = options.cache_ttl_s ? *options.cache_ttl_s * 1000 : -1;
  const int64_t negative_ttl_ms = options.negative_ttl_s ? *options.negative_ttl_s * 1000 : -1;
  const RouteFreshness freshness{options.stale_while_revalidate_s.value_or(-1),
                                 options.stale_if_error_s.value_or(-1),
                                 options.refresh_ahead_beta.value_or(-1)};
  const int64_t started_us = MonotonicMicros();
  Origin* target = routes_[route].origin.get();
  {
    std::lock_guard<std::mutex> hold(mutex_);
    ++stats_[route].started;
  }
  target->FetchWithParams(key, std::move(captures),
                          [this, route, cache_ttl_ms, negative_ttl_ms, freshness, started_us,
                           cb = std::move(cb)](FetchResult result) {
                            // What the origin said for this result (max-age) wins.
                            if (result.cache_ttl_ms < 0) result.cache_ttl_ms = cache_ttl_ms;
                            if (result.negative_ttl_ms < 0) {
                              result.negative_ttl_ms = negative_ttl_ms;
                            }
                            freshness.StampOn(&result);
                            result.route = static_cast<int>(route);
                            Record(route, result, MonotonicMicros() - started_us);
                            cb(std::move(result));
                          });
}

void RouterOrigin::Record(size_t route, const FetchResult& result, int64_t micros) {
  std::lock_guard<std::mutex> hold(mutex_);
  RouteStats& s = stats_[route];
  switch (result.status) {
    case FetchStatus::kValue:
      ++s.values;
      break;
    case FetchStatus::kNotFound:
      ++s.not_found;
      break;
    case FetchStatus::kError:
      ++s.errors;
      if (result.error_kind == FetchErrorKind::kTimeout) ++s.timeouts;
      break;
  }
  if (s.latencies_us.size() < kLatencyWindow) {
    s.latencies_us.push_back(micros);
  } else {
    s.latencies_us[s.latency_next] = micros;
    s.latency_next = (s.latency_next + 1) % kLatencyWindow;
  }
}

bool RouterOrigin::Serves(std::string_view key) const {
  return PickRoute(specs_, key, nullptr) >= 0;
}

bool RouterOrigin::ServesRows(std::string_view key) const {
  const int index = PickRoute(specs_, key, nullptr);
  return index >= 0 && answers_rows_[static_cast<size_t>(index)];
}

void RouterOrigin::CountShared(std::string_view key) {
  const int index = PickRoute(specs_, key, nullptr);
  if (index < 0) return;
  std::lock_guard<std::mutex> hold(mutex_);
  ++stats_[static_cast<size_t>(index)].shared;
}

double RouterOrigin::Percentile(const std::vector<int64_t>& values, double percentile) {
  if (values.empty()) return 0;
  std::vector<int64_t> sorted = values;
  std::sort(sorted.begin(), sorted.end());
  auto index = static_cast<size_t>(percentile / 100.0 * static_cast<double>(sorted.size() - 1));
  return static_cast<double>(sorted[index]) / 1000.0;
}

std::string RouterOrigin::RoutesInfo() const {
  std::string out;
  std::lock_guard<std::mutex> hold(mutex_);
  for (size_t i = 0; i < routes_.size(); ++i) {
    const RouteStats& s = stats_[i];
    const OriginLoad load = routes_[i].origin->Load();  // live: each kind's Load is thread-safe
    out += "origin_route" + std::to_string(i) + ":pattern=" + specs_[i].pattern.text() +
           ",url=" + RedactUrlText(specs_[i].url) +
           ",fetches_started=" + std::to_string(s.started) +
           ",fetches_shared=" + std::to_string(s.shared) + ",values=" + std::to_string(s.values) +
           ",not_found=" + std::to_string(s.not_found) + ",errors=" + std::to_string(s.errors) +
           ",timeouts=" + std::to_string(s.timeouts) + ",queued=" + std::to_string(load.queued) +
           ",queue_peak=" + std::to_string(load.queue_peak) +
           ",connections=" + std::to_string(load.connections) +
           ",latency_p50_ms=" + Fixed3(Percentile(s.latencies_us, 50)) +
           ",latency_p99_ms=" + Fixed3(Percentile(s.latencies_us, 99)) +
           routes_[i].origin->ProtectionInfo() + "\r\n";
  }
  return out;
}

std::string RouterOrigin::RouteOf(std::string_view key) const {
  const int index = PickRoute(specs_, key, nullptr);
  return index < 0 ? std::string() : specs_[static_cast<size_t>(index)].pattern.text();
}

std::vector<Origin::RouteCounters> RouterOrigin::RouteCounterList() const {
  std::vector<RouteCounters> out;
  std::lock_guard<std::mutex> hold(mutex_);
  for (size_t i = 0; i < stats_.size(); ++i) {
    const RouteStats& s = stats_[i];
    const OriginLoad load = routes_[i].origin->Load();  // live: each kind's Load is thread-safe
    out.push_back({{"fetches_started", std::to_string(s.started)},
                   {"fetches_shared", std::to_string(s.shared)},
                   {"values", std::to_string(s.values)},
                   {"not_found", std::to_string(s.not_found)},
                   {"errors", std::to_string(s.errors)},
                   {"timeouts", std::to_string(s.timeouts)},
                   {"queued", std::to_string(load.queued)},
                   {"queue_peak", std::to_string(load.queue_peak)},
                   {"connections", std::to_string(load.connections)},
                   {"latency_p50_ms", Fixed3(Percentile(s.latencies_us, 50))},
                   {"latency_p99_ms", Fixed3(Percentile(s.latencies_us, 99))}});
  }
  return out;
}

int RouterOrigin::ConnectedCount() const {
  int count = 0;
  for (const Route& route : routes_) count += route.origin->ConnectedCount();
  return count;
}

OriginConnectionStats RouterOrigin::ConnectionStats() const {
  OriginConnectionStats sum;
  for (const Route& route : routes_) {
    OriginConnectionStats s = route.origin->ConnectionStats();
    sum.connects += s.connects;
    sum.disconnects += s.disconnects;
    sum.timeout_drops += s.timeout_drops;
  }
  return sum;
}

OriginLoad RouterOrigin::Load() const {
  OriginLoad sum;
  for (const Route& route : routes_) {
    OriginLoad s = route.origin->Load();
    sum.queued += s.queued;
    sum.queue_peak += s.queue_peak;
    sum.connections += s.connections;
  }
  return sum;
}

void RouterOrigin::SetTimeoutMs(int timeout_ms) {
  for (Route& route : routes_) {
    if (!route.spec.options.timeout_ms) route.origin->SetTimeoutMs(timeout_ms);
  }
}

void RouterOrigin::SetLimits(int max_inflight, int max_queue) {
  for (Route& route : routes_) {
    const RouteOptions& own = route.spec.options;
    route.origin->SetLimits(own.max_inflight.value_or(max_inflight),
                            own.max_queue.value_or(max_queue));
  }
}

void RouterOrigin::SetBreaker(int failures, int cooldown_ms) {
  for (Route& route : routes_) {
    const RouteOptions& own = route.spec.options;
    route.origin->SetBreaker(own.breaker_failures.value_or(failures),
                             own.breaker_cooldown_ms.value_or(cooldown_ms));
  }
}

std::string RouterOrigin::Describe() const {
  if (routes_.size() == 1) return routes_[0].origin->Describe();
  return std::to_string(routes_.size()) + " routes";
}

void RouterOrigin::Close() {
  if (closed_) return;
  closed_ = true;
  for (Route& route : routes_) route.origin->Close();
}

}  // namespace flightcache::origin
