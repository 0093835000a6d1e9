// circuit_breaker.h — a circuit breaker per origin, and GuardedOrigin, which puts one in front
// of a route's origin.
//
// CircuitBreaker is the state machine alone (no I/O; the caller passes "now"):
//   closed    fetches go; `failures` consecutive failures (timeouts, unreachable) open it;
//   open      fetches fail fast with kUnavailable ("origin unavailable") for `cooldown_ms`;
//   half-open after the cool-down, the next fetch is the single probe and every other fails
//             fast until it answers: success closes the breaker, failure opens it again.
// An answer from the origin, even an error reply or "not found", is a success: the origin is
// up. Refusals made here (kBusy, kUnavailable) count neither way. failures == 0: no breaker.
// GuardedOrigin wraps one route's origin (server/server.cc builds one per route): the breaker,
// the busy-rejection count, and, for an origin whose invalidation feed is not its own
// connection (a PostgreSQL LISTEN), the feed's epoch check: a value fetched while the feed was
// not up throughout is answered but not stored (invalidation.h). Everything runs on the
// origin's loop; the figures INFO reads (ProtectionInfo) are atomics.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "origin/invalidation.h"
#include "origin/origin.h"

struct uv_loop_s;

namespace flightcache::origin {

struct BreakerSettings {
  int failures = 5;        // consecutive failures that open it; 0: no breaker
  int cooldown_ms = 5000;  // how long it stays open before one probe may go
};

enum class BreakerState : uint8_t { kClosed, kOpen, kHalfOpen };

const char* BreakerStateName(BreakerState state);

class CircuitBreaker {
 public:
  explicit CircuitBreaker(BreakerSettings settings) : settings_(settings) {}

  // Whether a fetch may go at now_ms. True with *probe set when it is the half-open probe.
  bool Admit(uint64_t now_ms, bool* probe);
  // The answer of an admitted fetch (probe: what Admit said).
  void Record(FetchErrorKind kind, bool failed, bool probe, uint64_t now_ms);
  // New settings; 0 failures closes the breaker for good.
  void Configure(BreakerSettings settings);

  BreakerState state() const { return state_.load(std::memory_order_relaxed); }
  uint64_t trips() const { return trips_.load(std::memory_order_relaxed); }
  const BreakerSettings& settings() const { return settings_; }

 private:
  void Open(uint64_t now_ms);

  BreakerSettings settings_;
  std::atomic<BreakerState> state_{BreakerState::kClosed};
  std::atomic<uint64_t> trips_{0};  // times it opened (re-opens after a failed probe included)
  int consecutive_failures_ = 0;
  uint64_t opened_at_ms_ = 0;
  bool probe_out_ = false;
};

// An invalidation feed that is not part of the origin's own fetch connections (a PostgreSQL
// LISTEN connection): GuardedOrigin owns it and checks its epoch around each fetch.
class InvalidationFeed {
 public:
  virtual ~InvalidationFeed() = default;
  virtual FeedState state() const = 0;
  virtual uint64_t epoch() const = 0;  // non-zero while up; new each time it comes up
  virtual FeedStats& stats() = 0;
  virtual void Close() = 0;  // idempotent
};

class GuardedOrigin final : public Origin {
 public:
  GuardedOrigin(uv_loop_s* loop, std::unique_ptr<Origin> inner, BreakerSettings settings,
                std::unique_ptr<InvalidationFeed> feed = nullptr);
  ~GuardedOrigin() override;  // calls Close()

  void Fetch(std::string_view key, FetchCallback cb) override;
  // Refused at once (answered from a uv timer, never inside this call) with kUnavailable
  // while the breaker is open; else passed to the inner origin.
  void FetchWithParams(std::string_view key, std::vector<std::string> params,
                       FetchCallback cb) override;
  int ConnectedCount() const override { return inner_->ConnectedCount(); }
  OriginConnectionStats ConnectionStats() const override { return inner_->ConnectionStats(); }
  OriginLoad Load() const override { return inner_->Load(); }
  void SetTimeoutMs(int timeout_ms) override { inner_->SetTimeoutMs(timeout_ms); }
  void SetLimits(int max_inflight, int max_queue) override {
    inner_->SetLimits(max_inflight, max_queue);
  }
  void SetBreaker(int failures, int cooldown_ms) override;
  // ",breaker=closed,breaker_trips=N,breaker_rejections=N,busy_rejections=N" and the feed's
  // (or the inner origin's own) invalidation fields.
  std::string ProtectionInfo() const override;
  std::string Describe() const override { return inner_->Describe(); }
  void Close() override;

  const CircuitBreaker& breaker() const { return breaker_; }
  uint64_t breaker_rejections() const { return rejections_.load(std::memory_order_relaxed); }
  uint64_t busy_rejections() const { return busy_.load(std::memory_order_relaxed); }

 private:
  uv_loop_s* loop_;
  std::unique_ptr<Origin> inner_;
  std::unique_ptr<InvalidationFeed> feed_;
  CircuitBreaker breaker_;
  std::atomic<uint64_t> rejections_{0};  // fetches failed fast by the breaker
  std::atomic<uint64_t> busy_{0};        // fetches the inner origin refused with kBusy
  std::shared_ptr<bool> alive_;          // fetch callbacks check it: the wrapper may be gone
  bool closed_ = false;
};

}  // namespace flightcache::origin
