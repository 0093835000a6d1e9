// pool.h — PooledOrigin: what every one-request-at-a-time origin kind needs, written once.
//
// A kind (SQLite today; PostgreSQL and HTTP later) only says how a connection is opened, how
// one request is sent on it and how its reply is read. This base owns the rest:
//   * a bounded pool that grows on demand: a connection is opened when a fetch finds none
//     idle and fewer than `max_connections` are open or opening;
//   * one request at a time per connection, and a FIFO queue of fetches when all are busy;
//   * origin protection (SetLimits): at most `max_inflight` requests out at once (0: the pool
//     size), and at most `max_queue` fetches waiting beyond that limit (0: no bound); a fetch
//     that finds both full is refused at once with kBusy ("origin busy");
//   * a per-fetch deadline on one uv timer over a min-heap of deadlines; it starts at Fetch(),
//     so it covers the time spent in the queue;
//   * reconnect with capped exponential backoff (50 ms doubling to 2 s): after a failed open,
//     no new attempt starts before the backoff lapses; a fetch that finds no connection open
//     and the pool backing off fails at once with kUnreachable;
//   * after a timeout, the connection is never given another key until its late reply has been
//     read (ReplyDone), or the kind drops it (DropOnTimeout()); a late reply is discarded;
//   * deferred delivery: every callback runs from a uv timer callback, never inside Fetch().
// Kinds call ConnectDone / ReplyDone / ConnectionLost with the (index, generation) they were
// given; a call for a generation the base no longer has is ignored, so a dropped connection's
// stray completion can never answer another fetch. Single-threaded: everything runs on the
// loop's thread (a kind may run work elsewhere, e.g. uv_queue_work, but reports on the loop).
#pragma once

#include <atomic>
#include <cstdint>
#include <deque>
#include <functional>
#include <queue>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "origin/origin.h"

struct uv_loop_s;
struct uv_timer_s;

namespace flightcache::origin {

// Answers cb with result from a one-shot uv timer on loop (next loop turn), for code that must
// answer later and has no timer of its own (a closed origin, an unrouted key).
void PostResultLater(uv_loop_s* loop, FetchCallback cb, FetchResult result);

// Counters for INFO and tests. Monotonic over the origin's life.
struct PoolStats {
  uint64_t fetches = 0;           // Fetch() calls
  uint64_t values = 0;            // completed with kValue
  uint64_t not_found = 0;         // completed with kNotFound
  uint64_t errors = 0;            // completed with kError (timeouts included)
  uint64_t timeouts = 0;          // completed with kTimeout
  uint64_t late_replies = 0;      // replies that came after their fetch timed out (discarded)
  uint64_t connects = 0;          // connections that became ready
  uint64_t connect_failures = 0;  // opens that failed
  uint64_t disconnects = 0;       // ready connections that were closed or lost
  uint64_t timeout_drops = 0;     // of those, dropped because a fetch on them timed out
  uint64_t busy = 0;              // refused with kBusy: the queue was full (SetLimits)
};

class PooledOrigin : public Origin {
 public:
  // Opens nothing yet: the first fetch opens the first connection. max_connections < 1 is 1.
  PooledOrigin(uv_loop_s* loop, int max_connections, int timeout_ms);
  // A kind's destructor must call Close() itself (it calls the kind's CloseConnection).
  ~PooledOrigin() override;

  PooledOrigin(const PooledOrigin&) = delete;
  PooledOrigin& operator=(const PooledOrigin&) = delete;

  void Fetch(std::string_view key, FetchCallback cb) override;
  void FetchWithParams(std::string_view key, std::vector<std::string> params,
                       FetchCallback cb) override;
  int ConnectedCount() const override;
  OriginConnectionStats ConnectionStats() const override;
  // The queue and pool as of the last change on the loop; safe to call from any thread.
  OriginLoad Load() const override;
  void SetTimeoutMs(int timeout_ms) override;
  // max_inflight: most requests out at once (0 or more than the pool: the pool's size);
  // max_queue: most fetches waiting beyond them (0: no bound). Applies from the next Fetch.
  void SetLimits(int max_inflight, int max_queue) override;
  // Fails every pending fetch, closes idle connections at once and busy ones when their
  // request completes (a kind must still report it). Idempotent.
  void Close() override;

  const PoolStats& Stats() const { return stats_; }
  int max_connections() const { return max_connections_; }

 protected:
  struct ConnRef {
    int index = -1;
    uint64_t generation = 0;
  };
  struct Request {
    std::string key;
    std::vector<std::string> params;
  };

  // ---- what a kind implements ----
  // Opens connection ref; later (never inside this call) reports ConnectDone(ref, ...).
  virtual void OpenConnection(ConnRef ref) = 0;
  // Sends request on the ready, idle connection ref; later reports ReplyDone(ref, result) or
  // ConnectionLost(ref, reason).
  virtual void SendRequest(ConnRef ref, const Request& request) = 0;
  // The request on ref passed its deadline; it has been answered with kTimeout. The kind may
  // hurry it (e.g. interrupt the query); ReplyDone still comes, and is discarded.
  virtual void CancelRequest(ConnRef /*ref*/) {}
  // Closes ref; after this the base forgets it and ignores any report for it. Called only
  // when the kind may close it now: idle, or timed out with DropOnTimeout().
  virtual void CloseConnection(ConnRef ref) = 0;
  // True when a timed-out connection should be closed at once rather than waited on for its
  // late reply (e.g. a socket that may never answer); false when the reply always comes. Such
  // a kind's opens are also abandoned (CloseConnection while opening) after the connect limit,
  // max(timeout, 1 s), checked whenever a deadline fires.
  virtual bool DropOnTimeout() const { return false; }

  // ---- what a kind reports, on the loop ----
  void ConnectDone(ConnRef ref, bool ok, const std::string& error);
  void ReplyDone(ConnRef ref, FetchResult result);
  void ConnectionLost(ConnRef ref, const std::string& reason);

  uv_loop_s* loop() const { return loop_; }
  bool closed() const { return closed_; }
  int timeout_ms() const { return timeout_ms_; }

 private:
  enum class ConnState : uint8_t {
    kClosed,    // no connection in this slot
    kOpening,   // OpenConnection called, ConnectDone not yet
    kIdle,      // ready, no request
    kBusy,      // one request out
    kTimedOut,  // its request timed out; waiting for the late reply before reuse
    kClosing,   // closed by Close() while busy: the report closes it
  };
  struct Conn {
    ConnState state = ConnState::kClosed;
    uint64_t generation = 0;
    uint64_t fetch_id = 0;   // the fetch out on it while kBusy
    uint64_t opened_at = 0;  // uv_now when OpenConnection was called
  };
  struct Pending {
    FetchCallback cb;
    Request request;
    int timeout_ms = 0;  // the timeout when it started, for the error text
    int conn = -1;       // -1 while queued
  };
  using Deadline = std::pair<uint64_t, uint64_t>;  // (deadline ms, fetch id)

  static void OnDeadlineTimer(uv_timer_s* timer);
  static void OnDeliverTimer(uv_timer_s* timer);
  static void OnRetryTimer(uv_timer_s* timer);

  // Hands queued fetches, oldest first, to idle connections, and opens connections while
  // fetches wait and the pool may grow (DispatchQueued); then publishes the load.
  void Dispatch();
  void DispatchQueued();
  // Stores the queue length, its peak and the connections up where Load() reads them.
  void PublishLoad();
  Conn* Lookup(ConnRef ref);
  ConnRef RefOf(size_t index) const {
    return ConnRef{static_cast<int>(index), conns_[index].generation};
  }
  void Forget(size_t index);  // the slot becomes kClosed with a new generation
  bool AnyLive() const;       // some connection is opening, idle or busy
  void FailQueued(const std::string& reason);
  // With DropOnTimeout(): closes opens older than the connect limit as failed attempts.
  void AbandonHungOpens(uint64_t now);
  void OpenFailed(size_t index, const std::string& error);
  void AddDeadline(uint64_t id);
  void Deliver(FetchCallback cb, FetchResult result);
  // The most connections that may carry a request at once: the pool size, or less under a
  // max_inflight limit.
  size_t InflightLimit() const;

  uv_loop_s* loop_;
  int max_connections_;
  int max_inflight_ = 0;  // SetLimits; 0: max_connections_
  int max_queue_ = 0;     // SetLimits; 0: no bound
  int timeout_ms_;
  bool closed_ = false;
  uint64_t next_id_ = 1;
  std::vector<Conn> conns_;  // grows up to max_connections_
  std::unordered_map<uint64_t, Pending> pending_;
  std::deque<uint64_t> queue_;  // fetch ids waiting for a connection, oldest first
  size_t queued_live_ = 0;      // entries of queue_ whose fetch is still pending
  uint64_t queue_peak_ = 0;
  std::priority_queue<Deadline, std::vector<Deadline>, std::greater<>> deadlines_;
  int backoff_ms_ = 0;            // 0: no failure since the last ready connection
  uint64_t next_open_at_ms_ = 0;  // no open starts before this (uv_now)
  std::string last_error_ = "not connected yet";
  std::vector<std::pair<FetchCallback, FetchResult>> deferred_;
  uv_timer_s* deadline_timer_ = nullptr;
  uv_timer_s* deliver_timer_ = nullptr;
  uv_timer_s* retry_timer_ = nullptr;  // Dispatch() again when the backoff lapses
  PoolStats stats_;
  std::atomic<uint64_t> published_queued_{0};
  std::atomic<uint64_t> published_queue_peak_{0};
  std::atomic<uint64_t> published_connections_{0};
};

}  // namespace flightcache::origin
