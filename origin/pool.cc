// pool.cc — PooledOrigin: pool, FIFO queue, deadlines, backoff and deferred delivery (pool.h).
//
// Every user callback is delivered through deferred_ and the deliver timer, so no callback
// ever runs inside Fetch() or inside a kind's report; OnDeliverTimer moves the batch out
// before running it, so a callback may call Fetch, Close, or destroy the origin.
#include "origin/pool.h"

#include <uv.h>

#include <algorithm>
#include <cassert>

namespace flightcache::origin {
namespace {

constexpr int kBackoffMinMs = 50;
constexpr int kBackoffMaxMs = 2000;
// An open slower than this (or than the fetch timeout, if longer) is a failed attempt.
constexpr int kMinConnectLimitMs = 1000;

uv_timer_t* NewTimer(uv_loop_t* loop, void* data) {
  auto* timer = new uv_timer_t;
  uv_timer_init(loop, timer);
  timer->data = data;
  return timer;
}

// Timer memory is released only in the close callback, after the loop is done with it.
void CloseTimer(uv_timer_t* timer) {
  if (timer == nullptr) return;
  uv_close(reinterpret_cast<uv_handle_t*>(timer),
           [](uv_handle_t* handle) { delete reinterpret_cast<uv_timer_t*>(handle); });
}

// After Close() the origin's own timers are gone, yet a Fetch must still be answered later:
// this one-shot timer carries the answer and frees itself.
struct PostedResult {
  uv_timer_t timer;
  FetchCallback cb;
  FetchResult result;
};

}  // namespace

void PostResultLater(uv_loop_t* loop, FetchCallback cb, FetchResult result) {
  auto* posted = new PostedResult{{}, std::move(cb), std::move(result)};
  uv_timer_init(loop, &posted->timer);
  posted->timer.data = posted;
  uv_timer_start(
      &posted->timer,
      [](uv_timer_t* timer) {
        auto* posted = static_cast<PostedResult*>(timer->data);
        FetchCallback cb = std::move(posted->cb);
        FetchResult result = std::move(posted->result);
        uv_close(reinterpret_cast<uv_handle_t*>(timer),
                 [](uv_handle_t* handle) { delete static_cast<PostedResult*>(handle->data); });
        cb(std::move(result));
      },
      0, 0);
}

namespace {
void PostAfterClose(uv_loop_t* loop, FetchCallback cb, FetchResult result) {
  PostResultLater(loop, std::move(cb), std::move(result));
}
}  // namespace

PooledOrigin::PooledOrigin(uv_loop_t* loop, int max_connections, int timeout_ms)
    : loop_(loop),
      max_connections_(std::max(max_connections, 1)),
      timeout_ms_(std::max(timeout_ms, 1)) {
  deadline_timer_ = NewTimer(loop_, this);
  deliver_timer_ = NewTimer(loop_, this);
  retry_timer_ = NewTimer(loop_, this);
  conns_.reserve(static_cast<size_t>(max_connections_));
}

PooledOrigin::~PooledOrigin() {
  // The kind's destructor has called Close(); only the timers may be left.
  assert(closed_);
  if (!closed_) {
    CloseTimer(deadline_timer_);
    CloseTimer(deliver_timer_);
    CloseTimer(retry_timer_);
  }
}

void PooledOrigin::Fetch(std::string_view key, FetchCallback cb) {
  FetchWithParams(key, {}, std::move(cb));
}

void PooledOrigin::FetchWithParams(std::string_view key, std::vector<std::string> params,
                                   FetchCallback cb) {
  if (closed_) {
    PostAfterClose(
        loop_, std::move(cb),
        FetchResult::Error(FetchErrorKind::kUnreachable, "origin unreachable: origin closed"));
    return;
  }
  ++stats_.fetches;
  if (!AnyLive() && backoff_ms_ > 0 && uv_now(loop_) < next_open_at_ms_) {
    // The last open failed and its backoff has not lapsed: fail fast rather than queue.
    Deliver(std::move(cb),
            FetchResult::Error(FetchErrorKind::kUnreachable, "origin unreachable: " + last_error_));
    return;
  }
  if (max_queue_ > 0 && pending_.size() >= InflightLimit() + static_cast<size_t>(max_queue_)) {
    // Every request slot is taken and max_queue fetches already wait: refuse, never store.
    ++stats_.busy;
    Deliver(std::move(cb), FetchResult::Error(FetchErrorKind::kBusy, "origin busy"));
    return;
  }
  uint64_t id = next_id_++;
  pending_.emplace(
      id, Pending{std::move(cb), Request{std::string(key), std::move(params)}, timeout_ms_, -1});
  queue_.push_back(id);
  ++queued_live_;
  AddDeadline(id);
  DispatchQueued();
  queue_peak_ = std::max<uint64_t>(queue_peak_, queued_live_);
  PublishLoad();
}

size_t PooledOrigin::InflightLimit() const {
  const auto pool = static_cast<size_t>(max_connections_);
  return max_inflight_ > 0 ? std::min(pool, static_cast<size_t>(max_inflight_)) : pool;
}

void PooledOrigin::SetLimits(int max_inflight, int max_queue) {
  max_inflight_ = std::max(max_inflight, 0);
  max_queue_ = std::max(max_queue, 0);
  Dispatch();  // a higher limit lets queued fetches go now
}

void PooledOrigin::Dispatch() {
  DispatchQueued();
  PublishLoad();
}

void PooledOrigin::PublishLoad() {
  published_queued_.store(queued_live_, std::memory_order_relaxed);
  published_queue_peak_.store(queue_peak_, std::memory_order_relaxed);
  published_connections_.store(static_cast<uint64_t>(ConnectedCount()), std::memory_order_relaxed);
}

void PooledOrigin::DispatchQueued() {
  if (closed_) return;
  const size_t limit = InflightLimit();
  size_t busy = 0;
  for (const Conn& conn : conns_) busy += conn.state == ConnState::kBusy ? 1 : 0;
  // Idle connections take the oldest fetches, while fewer than the limit are out.
  for (size_t i = 0; i < conns_.size() && !queue_.empty() && busy < limit; ++i) {
    Conn& conn = conns_[i];
    if (conn.state != ConnState::kIdle) continue;
    while (!queue_.empty()) {
      uint64_t id = queue_.front();
      queue_.pop_front();
      auto it = pending_.find(id);
      if (it == pending_.end()) continue;  // timed out while queued (already uncounted)
      --queued_live_;
      it->second.conn = static_cast<int>(i);
      conn.state = ConnState::kBusy;
      conn.fetch_id = id;
      ++busy;
      SendRequest(RefOf(i), it->second.request);
      break;
    }
  }
  while (!queue_.empty() && pending_.count(queue_.front()) == 0) queue_.pop_front();
  if (queued_live_ == 0) return;
  // Grow: one opening connection per waiting fetch, up to the maximum.
  size_t opening = 0;
  size_t open = 0;
  for (const Conn& conn : conns_) {
    opening += conn.state == ConnState::kOpening ? 1 : 0;
    open += conn.state != ConnState::kClosed ? 1 : 0;
  }
  const uint64_t now = uv_now(loop_);
  if (backoff_ms_ > 0 && now < next_open_at_ms_) {
    if (uv_is_active(reinterpret_cast<uv_handle_t*>(retry_timer_)) == 0) {
      uv_timer_start(retry_timer_, OnRetryTimer, next_open_at_ms_ - now, 0);
    }
    return;
  }
  // Grow only while requests could go out on the new connections (the in-flight limit).
  size_t idle = 0;
  for (const Conn& conn : conns_) idle += conn.state == ConnState::kIdle ? 1 : 0;
  if (busy + idle + opening >= limit) return;
  while (opening < queued_live_ && open < static_cast<size_t>(max_connections_) &&
         busy + idle + opening < limit) {
    size_t index = 0;
    while (index < conns_.size() && conns_[index].state != ConnState::kClosed) ++index;
    if (index == conns_.size()) conns_.push_back(Conn{});
    conns_[index].state = ConnState::kOpening;
    conns_[index].opened_at = now;
    ++opening;
    ++open;
    OpenConnection(RefOf(index));
    // After a failure, one attempt at a time until one succeeds.
    if (backoff_ms_ > 0) break;
  }
}

PooledOrigin::Conn* PooledOrigin::Lookup(ConnRef ref) {
  if (ref.index < 0 || static_cast<size_t>(ref.index) >= conns_.size()) return nullptr;
  Conn& conn = conns_[static_cast<size_t>(ref.index)];
  if (conn.generation != ref.generation || conn.state == ConnState::kClosed) return nullptr;
  return &conn;
}

void PooledOrigin::Forget(size_t index) {
  conns_[index].state = ConnState::kClosed;
  conns_[index].fetch_id = 0;
  ++conns_[index].generation;
}

bool PooledOrigin::AnyLive() const {
  for (const Conn& conn : conns_) {
    if (conn.state != ConnState::kClosed) return true;
  }
  return false;
}

void PooledOrigin::ConnectDone(ConnRef ref, bool ok, const std::string& error) {
  Conn* conn = Lookup(ref);
  if (conn == nullptr || conn->state != ConnState::kOpening) return;
  const auto index = static_cast<size_t>(ref.index);
  if (closed_) {
    if (ok) CloseConnection(ref);
    Forget(index);
    return;
  }
  if (ok) {
    conn->state = ConnState::kIdle;
    ++stats_.connects;
    backoff_ms_ = 0;
    Dispatch();
    return;
  }
  OpenFailed(index, error);
  Dispatch();
}

void PooledOrigin::OpenFailed(size_t index, const std::string& error) {
  Forget(index);
  ++stats_.connect_failures;
  last_error_ = error;
  backoff_ms_ = backoff_ms_ == 0 ? kBackoffMinMs : std::min(backoff_ms_ * 2, kBackoffMaxMs);
  next_open_at_ms_ = uv_now(loop_) + static_cast<uint64_t>(backoff_ms_);
  // With nothing else up, waiting cannot help the queued fetches: fail them now.
  if (!AnyLive()) FailQueued("origin unreachable: " + error);
}

void PooledOrigin::AbandonHungOpens(uint64_t now) {
  if (!DropOnTimeout()) return;
  const uint64_t limit = static_cast<uint64_t>(std::max(timeout_ms_, kMinConnectLimitMs));
  for (size_t i = 0; i < conns_.size(); ++i) {
    if (conns_[i].state != ConnState::kOpening || now - conns_[i].opened_at < limit) continue;
    CloseConnection(RefOf(i));
    OpenFailed(i, "connect timeout after " + std::to_string(limit) + " ms");
  }
}

void PooledOrigin::ReplyDone(ConnRef ref, FetchResult result) {
  Conn* conn = Lookup(ref);
  if (conn == nullptr) return;
  const auto index = static_cast<size_t>(ref.index);
  if (conn->state == ConnState::kClosing) {
    CloseConnection(ref);
    Forget(index);
    return;
  }
  if (conn->state == ConnState::kTimedOut) {
    ++stats_.late_replies;  // its fetch was answered with a timeout: the reply goes nowhere
  } else if (conn->state == ConnState::kBusy) {
    auto it = pending_.find(conn->fetch_id);
    assert(it != pending_.end());
    if (it != pending_.end()) {
      FetchCallback cb = std::move(it->second.cb);
      pending_.erase(it);
      Deliver(std::move(cb), std::move(result));
    }
  } else {
    return;  // no request was out on it
  }
  conn->state = ConnState::kIdle;
  conn->fetch_id = 0;
  Dispatch();
}

void PooledOrigin::ConnectionLost(ConnRef ref, const std::string& reason) {
  Conn* conn = Lookup(ref);
  if (conn == nullptr) return;
  const auto index = static_cast<size_t>(ref.index);
  if (conn->state == ConnState::kOpening) {
    ConnectDone(ref, false, reason);
    return;
  }
  if (conn->state == ConnState::kBusy) {
    auto it = pending_.find(conn->fetch_id);
    if (it != pending_.end()) {
      FetchCallback cb = std::move(it->second.cb);
      pending_.erase(it);
      Deliver(std::move(cb),
              FetchResult::Error(FetchErrorKind::kUnreachable, "origin unreachable: " + reason));
    }
  }
  if (conn->state != ConnState::kClosing) ++stats_.disconnects;
  last_error_ = reason;
  Forget(index);
  Dispatch();
}

void PooledOrigin::FailQueued(const std::string& reason) {
  while (!queue_.empty()) {
    uint64_t id = queue_.front();
    queue_.pop_front();
    auto it = pending_.find(id);
    if (it == pending_.end()) continue;
    FetchCallback cb = std::move(it->second.cb);
    pending_.erase(it);
    Deliver(std::move(cb), FetchResult::Error(FetchErrorKind::kUnreachable, reason));
  }
  queued_live_ = 0;
}

int PooledOrigin::ConnectedCount() const {
  int count = 0;
  for (const Conn& conn : conns_) {
    count += conn.state == ConnState::kIdle || conn.state == ConnState::kBusy ||
                     conn.state == ConnState::kTimedOut
                 ? 1
                 : 0;
  }
  return count;
}

OriginConnectionStats PooledOrigin::ConnectionStats() const {
  return OriginConnectionStats{stats_.connects, stats_.disconnects, stats_.timeout_drops};
}

OriginLoad PooledOrigin::Load() const {
  return OriginLoad{published_queued_.load(std::memory_order_relaxed),
                    published_queue_peak_.load(std::memory_order_relaxed),
                    published_connections_.load(std::memory_order_relaxed)};
}

void PooledOrigin::SetTimeoutMs(int timeout_ms) { timeout_ms_ = std::max(timeout_ms, 1); }

void PooledOrigin::Close() {
  if (closed_) return;
  closed_ = true;
  for (size_t i = 0; i < conns_.size(); ++i) {
    Conn& conn = conns_[i];
    switch (conn.state) {
      case ConnState::kIdle:
        CloseConnection(RefOf(i));
        Forget(i);
        break;
      case ConnState::kBusy:
      case ConnState::kTimedOut:
        conn.state = ConnState::kClosing;  // closed when its report comes
        break;
      default:
        break;  // kOpening: ConnectDone closes it; kClosed, kClosing: nothing to do
    }
  }
  // Answers already decided go first, then every pending fetch in the order it was made.
  auto done = std::move(deferred_);
  deferred_.clear();
  std::vector<std::pair<uint64_t, FetchCallback>> left;
  for (auto& [id, pending] : pending_) left.emplace_back(id, std::move(pending.cb));
  std::sort(left.begin(), left.end(),
            [](const auto& a, const auto& b) { return a.first < b.first; });
  pending_.clear();
  queue_.clear();
  queued_live_ = 0;
  deadlines_ = {};
  PublishLoad();
  for (auto& [id, cb] : left) {
    ++stats_.errors;
    done.emplace_back(std::move(cb), FetchResult::Error(FetchErrorKind::kUnreachable,
                                                        "origin unreachable: origin closed"));
  }
  CloseTimer(deadline_timer_);
  CloseTimer(deliver_timer_);
  CloseTimer(retry_timer_);
  deadline_timer_ = deliver_timer_ = retry_timer_ = nullptr;
  // Close() is called from the loop (never from Fetch): answering here keeps the order.
  for (auto& [cb, result] : done) PostAfterClose(loop_, std::move(cb), std::move(result));
}

void PooledOrigin::AddDeadline(uint64_t id) {
  uint64_t deadline = uv_now(loop_) + static_cast<uint64_t>(timeout_ms_);
  bool earliest = deadlines_.empty() || deadline < deadlines_.top().first;
  deadlines_.emplace(deadline, id);
  if (earliest || uv_is_active(reinterpret_cast<uv_handle_t*>(deadline_timer_)) == 0) {
    uv_timer_start(deadline_timer_, OnDeadlineTimer, static_cast<uint64_t>(timeout_ms_), 0);
  }
}

void PooledOrigin::Deliver(FetchCallback cb, FetchResult result) {
  switch (result.status) {
    case FetchStatus::kValue:
      ++stats_.values;
      break;
    case FetchStatus::kNotFound:
      ++stats_.not_found;
      break;
    case FetchStatus::kError:
      ++stats_.errors;
      if (result.error_kind == FetchErrorKind::kTimeout) ++stats_.timeouts;
      break;
  }
  deferred_.emplace_back(std::move(cb), std::move(result));
  if (uv_is_active(reinterpret_cast<uv_handle_t*>(deliver_timer_)) == 0) {
    uv_timer_start(deliver_timer_, OnDeliverTimer, 0, 0);
  }
}

void PooledOrigin::OnDeadlineTimer(uv_timer_t* timer) {
  auto* self = static_cast<PooledOrigin*>(timer->data);
  const uint64_t now = uv_now(self->loop_);
  while (!self->deadlines_.empty()) {
    auto [deadline, id] = self->deadlines_.top();
    auto it = self->pending_.find(id);
    if (it != self->pending_.end() && deadline > now) break;
    self->deadlines_.pop();
    if (it == self->pending_.end()) continue;  // answered before its deadline
    Pending& pending = it->second;
    FetchCallback cb = std::move(pending.cb);
    std::string reason = "origin timeout after " + std::to_string(pending.timeout_ms) + " ms";
    const int conn_index = pending.conn;
    if (conn_index < 0) --self->queued_live_;
    self->pending_.erase(it);
    self->Deliver(std::move(cb), FetchResult::Error(FetchErrorKind::kTimeout, std::move(reason)));
    if (conn_index < 0) continue;
    // The connection still owes this fetch's reply: it takes no other key until then.
    const auto index = static_cast<size_t>(conn_index);
    Conn& conn = self->conns_[index];
    if (conn.state != ConnState::kBusy || conn.fetch_id != id) continue;
    if (self->DropOnTimeout()) {
      ++self->stats_.disconnects;
      ++self->stats_.timeout_drops;
      self->CloseConnection(self->RefOf(index));
      self->Forget(index);
    } else {
      conn.state = ConnState::kTimedOut;
      conn.fetch_id = 0;
      self->CancelRequest(self->RefOf(index));
    }
  }
  self->AbandonHungOpens(now);
  if (!self->deadlines_.empty()) {
    uint64_t next = self->deadlines_.top().first;
    uv_timer_start(timer, OnDeadlineTimer, next > now ? next - now : 0, 0);
  }
  self->Dispatch();
}

void PooledOrigin::OnDeliverTimer(uv_timer_t* timer) {
  auto* self = static_cast<PooledOrigin*>(timer->data);
  auto done = std::move(self->deferred_);
  self->deferred_.clear();
  // Last, and without touching self: a callback may destroy the origin.
  for (auto& [cb, result] : done) cb(std::move(result));
}

void PooledOrigin::OnRetryTimer(uv_timer_t* timer) {
  static_cast<PooledOrigin*>(timer->data)->Dispatch();
}

}  // namespace flightcache::origin
