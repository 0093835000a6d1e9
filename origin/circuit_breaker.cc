// circuit_breaker.cc — CircuitBreaker and GuardedOrigin (see circuit_breaker.h).
#include "origin/circuit_breaker.h"

#include <uv.h>

#include <algorithm>

#include "origin/pool.h"

namespace flightcache::origin {

const char* BreakerStateName(BreakerState state) {
  switch (state) {
    case BreakerState::kClosed:
      return "closed";
    case BreakerState::kOpen:
      return "open";
    case BreakerState::kHalfOpen:
      return "half-open";
  }
  return "closed";
}

bool CircuitBreaker::Admit(uint64_t now_ms, bool* probe) {
  *probe = false;
  if (settings_.failures <= 0) return true;
  switch (state()) {
    case BreakerState::kClosed:
      return true;
    case BreakerState::kOpen:
      if (now_ms - opened_at_ms_ < static_cast<uint64_t>(std::max(settings_.cooldown_ms, 0))) {
        return false;
      }
      state_.store(BreakerState::kHalfOpen, std::memory_order_relaxed);
      [[fallthrough]];
    case BreakerState::kHalfOpen:
      if (probe_out_) return false;  // one probe at a time decides
      probe_out_ = true;
      *probe = true;
      return true;
  }
  return true;
}

void CircuitBreaker::Record(FetchErrorKind kind, bool failed, bool probe, uint64_t now_ms) {
  if (kind == FetchErrorKind::kBusy || kind == FetchErrorKind::kUnavailable) {
    // Refused here, not by the origin: says nothing about it. A refused probe lets the next
    // fetch probe instead.
    if (probe) probe_out_ = false;
    return;
  }
  if (probe) {
    probe_out_ = false;
    if (failed) {
      Open(now_ms);
    } else {
      state_.store(BreakerState::kClosed, std::memory_order_relaxed);
      consecutive_failures_ = 0;
    }
    return;
  }
  // Answers of fetches admitted before the breaker opened do not move it.
  if (settings_.failures <= 0 || state() != BreakerState::kClosed) return;
  if (!failed) {
    consecutive_failures_ = 0;
    return;
  }
  if (++consecutive_failures_ >= settings_.failures) Open(now_ms);
}

void CircuitBreaker::Open(uint64_t now_ms) {
  state_.store(BreakerState::kOpen, std::memory_order_relaxed);
  opened_at_ms_ = now_ms;
  consecutive_failures_ = 0;
  trips_.fetch_add(1, std::memory_order_relaxed);
}

void CircuitBreaker::Configure(BreakerSettings settings) {
  settings_ = settings;
  if (settings_.failures <= 0) {
    state_.store(BreakerState::kClosed, std::memory_order_relaxed);
    consecutive_failures_ = 0;
    probe_out_ = false;
  }
}

GuardedOrigin::GuardedOrigin(uv_loop_t* loop, std::unique_ptr<Origin> inner,
                             BreakerSettings settings, std::unique_ptr<InvalidationFeed> feed)
    : loop_(loop),
      inner_(std::move(inner)),
      feed_(std::move(feed)),
      breaker_(settings),
      alive_(std::make_shared<bool>(true)) {}

GuardedOrigin::~GuardedOrigin() { Close(); }

void GuardedOrigin::Fetch(std::string_view key, FetchCallback cb) {
  FetchWithParams(key, {}, std::move(cb));
}

void GuardedOrigin::FetchWithParams(std::string_view key, std::vector<std::string> params,
                                    FetchCallback cb) {
  bool probe = false;
  if (!closed_ && !breaker_.Admit(uv_now(loop_), &probe)) {
    rejections_.fetch_add(1, std::memory_order_relaxed);
    PostResultLater(loop_, std::move(cb),
                    FetchResult::Error(FetchErrorKind::kUnavailable, "origin unavailable"));
    return;
  }
  const uint64_t start_epoch = feed_ ? feed_->epoch() : 0;
  std::weak_ptr<bool> alive = alive_;
  inner_->FetchWithParams(
      key, std::move(params),
      [this, alive, probe, start_epoch, cb = std::move(cb)](FetchResult result) {
        if (!alive.expired()) {
          const bool failed = result.status == FetchStatus::kError &&
                              (result.error_kind == FetchErrorKind::kTimeout ||
                               result.error_kind == FetchErrorKind::kUnreachable);
          breaker_.Record(result.error_kind, failed, probe, uv_now(loop_));
          if (result.error_kind == FetchErrorKind::kBusy) {
            busy_.fetch_add(1, std::memory_order_relaxed);
          }
          if (feed_ && result.status != FetchStatus::kError &&
              !FillAllowed(feed_->state(), start_epoch, feed_->epoch())) {
            // The feed was not up from the start of this fetch to its answer: a change may
            // have been missed, so the value answers its waiters but is not stored.
            result.no_store = true;
            result.negative_ttl_ms = 0;
            feed_->stats().untracked.fetch_add(1, std::memory_order_relaxed);
          }
        }
        cb(std::move(result));
      });
}

void GuardedOrigin::SetBreaker(int failures, int cooldown_ms) {
  breaker_.Configure(BreakerSettings{failures, cooldown_ms});
}

std::string GuardedOrigin::ProtectionInfo() const {
  std::string out = std::string(",breaker=") + BreakerStateName(breaker_.state()) +
                    ",breaker_trips=" + std::to_string(breaker_.trips()) +
                    ",breaker_rejections=" + std::to_string(breaker_rejections()) +
                    ",busy_rejections=" + std::to_string(busy_rejections());
  out += feed_ ? feed_->stats().InfoFields("listen") : inner_->ProtectionInfo();
  return out;
}

void GuardedOrigin::Close() {
  if (closed_) return;
  closed_ = true;
  if (feed_) feed_->Close();
  inner_->Close();
}

}  // namespace flightcache::origin
