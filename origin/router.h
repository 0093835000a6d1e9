// router.h — RouterOrigin: one Origin in front of several, chosen per key by route.
//
// The singleflight table stays one table keyed by key; it asks the router, which picks the
// route (route.h: longest literal prefix wins), hands the key and its captures to that
// route's origin, and stamps the route's own ttl= / negative-ttl= on the result. A key no
// route matches is never fetched (Serves() is false; a Fetch of it answers "not found").
// Per-route counters for INFO are kept under a mutex: Serves(), CountShared(), RoutesInfo() and
// Load() may be called from any worker thread (each kind's Load() is thread-safe); everything
// else runs on the origins' loop.
#pragma once

#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "origin/origin.h"
#include "origin/route.h"

struct uv_loop_s;

namespace flightcache::origin {

struct Route {
  RouteSpec spec;
  std::unique_ptr<Origin> origin;
};

class RouterOrigin final : public Origin {
 public:
  RouterOrigin(uv_loop_s* loop, std::vector<Route> routes);
  ~RouterOrigin() override;  // calls Close()

  void Fetch(std::string_view key, FetchCallback cb) override;
  bool Serves(std::string_view key) const override;
  // True when key's route is a SQL kind (sqlite://, postgres://, postgresql://).
  bool ServesRows(std::string_view key) const override;
  void CountShared(std::string_view key) override;
  std::string RoutesInfo() const override;
  std::string RouteOf(std::string_view key) const override;
  std::vector<RouteCounters> RouteCounterList() const override;
  // The routes, in order (fixed after construction).
  const std::vector<RouteSpec>& specs() const { return specs_; }
  int ConnectedCount() const override;
  OriginConnectionStats ConnectionStats() const override;
  OriginLoad Load() const override;
  // Applies to the routes without a timeout= of their own.
  void SetTimeoutMs(int timeout_ms) override;
  // Apply to each route, except for the values its own options set.
  void SetLimits(int max_inflight, int max_queue) override;
  void SetBreaker(int failures, int cooldown_ms) override;
  // One route: its origin's address; several: "N routes".
  std::string Describe() const override;
  void Close() override;

 private:
  struct RouteStats {
    uint64_t started = 0;
    uint64_t shared = 0;
    uint64_t values = 0;
    uint64_t not_found = 0;
    uint64_t errors = 0;
    uint64_t timeouts = 0;
    std::vector<int64_t> latencies_us;  // ring of recent fetch latencies
    size_t latency_next = 0;
  };
  void Record(size_t route, const FetchResult& result, int64_t micros);
  static double Percentile(const std::vector<int64_t>& values, double percentile);

  uv_loop_s* loop_;
  std::vector<Route> routes_;  // fixed after construction: read without the lock
  std::vector<RouteSpec> specs_;
  std::vector<bool> answers_rows_;  // per route: a SQL kind (fixed after construction)
  bool closed_ = false;
  mutable std::mutex mutex_;  // guards stats_
  std::vector<RouteStats> stats_;
};

}  // namespace flightcache::origin
