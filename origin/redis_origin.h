// redis_origin.h — an Origin that GETs keys from a Redis-protocol server with hiredis on libuv.
//
// Owns a pool of N hiredis async connections on one uv loop. Fetch pipelines `GET key` on the
// ready connection with the fewest replies outstanding. Each connection sends AUTH / SELECT
// first and counts as ready only after they succeed; a dropped or failed connection fails its
// in-flight fetches and reconnects with capped exponential backoff (50 ms doubling to 2 s).
// A fetch that times out drops its connection too (replies come in order, so nothing behind
// it can arrive sooner, and a silent peer would pin the connection forever): the context is
// freed with every request hiredis still held for it, the other fetches on it go back to the
// queue with their own deadlines, and the slot reconnects.
// Deadlines: one pool timer on a min-heap of (deadline, fetch id), so there is no timer per
// fetch; a heap rather than a FIFO because SetTimeoutMs() may shorten the timeout.
// hiredis callbacks find their connection through ac->data, which is cleared whenever a context
// is detached from its slot, so a callback that comes after a drop, a timeout or Close() is a
// no-op. Single-threaded: every method runs on the loop's thread.
// Origin protection: SetLimits caps the GETs out at once over all connections (the rest wait
// in the FIFO, oldest first) and bounds that FIFO; a fetch finding it full is refused with
// kBusy. Invalidation (EnableTracking): a RedisInvalidationListener (redis_invalidation.h)
// subscribes to __redis__:invalidate; every fetch connection sends CLIENT TRACKING ON REDIRECT
// <its id> before its next GET, and again (OFF, then ON) each time the feed comes up anew. A
// prefix-scoped route instead registers BCAST PREFIX p once, on the feed connection itself, so
// that each change arrives once (not once per fetch connection); its fetch connections track
// nothing. A GET's value may fill the store only when it was sent on a connection tracked in
// the feed's current epoch, or, with BCAST, while the feed was up in its current epoch
// (FillAllowed); any other is answered with no_store. While the feed makes its attempt, fetches
// wait for it (bounded by their deadlines) so that a fresh start does not answer its first reads
// untracked. Not on PooledOrigin (pool.h) yet: it pipelines many GETs per connection over a fixed
// pool, which the one-request-at-a-time base does not model; moving it (a base with N requests per
// connection) is left for a later step, so that its hardened behaviour and tests stay as they are.
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <queue>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "origin/invalidation.h"
#include "origin/origin.h"
#include "origin/origin_url.h"

struct redisAsyncContext;
struct uv_loop_s;
struct uv_timer_s;

namespace flightcache::origin {

class RedisInvalidationListener;

// Counters for INFO. Monotonic over the origin's life.
struct RedisOriginStats {
  uint64_t fetches = 0;           // Fetch() calls
  uint64_t values = 0;            // completed with kValue
  uint64_t not_found = 0;         // completed with kNotFound
  uint64_t errors = 0;            // completed with kError (timeouts included)
  uint64_t timeouts = 0;          // completed with kTimeout
  uint64_t late_replies = 0;      // replies after their fetch timed out; none are expected,
                                  // since a timeout drops its connection
  uint64_t connects = 0;          // connections that became ready
  uint64_t connect_failures = 0;  // attempts that failed before ready (refused, AUTH, timeout)
  uint64_t disconnects = 0;       // ready connections that dropped (timeout drops included)
  uint64_t timeout_drops = 0;     // ready connections dropped because a fetch on them timed out
  uint64_t busy = 0;              // refused with kBusy: the queue was full (SetLimits)
};

class RedisOrigin final : public Origin {
 public:
  // Starts connecting at once. loop must outlive the origin's handles: run the loop after
  // Close() (or destruction) until it finishes. connections < 1 is treated as 1.
  RedisOrigin(uv_loop_s* loop, OriginUrl url, int connections = 4, int timeout_ms = 1000);
  ~RedisOrigin() override;  // calls Close()

  RedisOrigin(const RedisOrigin&) = delete;
  RedisOrigin& operator=(const RedisOrigin&) = delete;

  // When no connection is ready, the fetch waits (bounded by its deadline) while some
  // connection is still hopeful (first attempt or reconnect after a drop, no failure yet);
  // it fails at once with kUnreachable when every connection's last attempt failed.
  void Fetch(std::string_view key, FetchCallback cb) override;
  int ConnectedCount() const override;
  std::string Describe() const override;
  void Close() override;

  void SetTimeoutMs(int timeout_ms) override;
  OriginConnectionStats ConnectionStats() const override;
  // max_inflight: most GETs out at once over all connections (0: no limit); max_queue: most
  // fetches waiting (0: no bound). Applies from now on.
  void SetLimits(int max_inflight, int max_queue) override;
  // Turns invalidation on (see the top of this file). bcast_prefix: "" for default tracking
  // (keys this origin read), else the prefix of BCAST PREFIX. Call once, before the loop runs.
  void EnableTracking(std::string bcast_prefix, InvalidationHandler handler);
  // The feed's fields for INFO ("" without tracking). Thread-safe.
  std::string ProtectionInfo() const override;

  const RedisOriginStats& Stats() const { return stats_; }
  int timeout_ms() const { return timeout_ms_; }

 private:
  enum class SlotState : uint8_t {
    kIdle,        // no context; the slot timer will start the next attempt
    kConnecting,  // context exists; TCP connect or AUTH/SELECT in progress, slot timer = limit
    kReady,       // handshake done; GETs may be sent
  };

  struct Slot {
    RedisOrigin* owner = nullptr;
    int index = 0;
    SlotState state = SlotState::kIdle;
    redisAsyncContext* ac = nullptr;
    uv_timer_s* timer = nullptr;    // reconnect delay or connect/handshake limit
    int handshake_pending = 0;      // AUTH/SELECT replies still expected
    int failures = 0;               // attempts failed since the last ready; 0 = hopeful
    std::deque<uint64_t> inflight;  // GET fetch ids in send order (replies come in order)
    uint64_t tracked_epoch = 0;     // the feed epoch its CLIENT TRACKING names; 0: none
  };

  struct Pending {
    FetchCallback cb;
    std::string key;          // kept so that a fetch can be sent again after its connection drops
    int timeout_ms = 0;       // the timeout when it started, for the error text
    int slot = -1;            // -1 while queued for a connection
    uint64_t sent_epoch = 0;  // its slot's tracked_epoch when the GET went out
  };
  using Deadline = std::pair<uint64_t, uint64_t>;  // (deadline ms, fetch id)

  using Completion = std::pair<FetchCallback, FetchResult>;
  using Completions = std::vector<Completion>;

  // hiredis and libuv callbacks (C linkage-compatible statics that find their Slot/origin).
  static void OnConnect(const redisAsyncContext* ac, int status);
  static void OnDisconnect(const redisAsyncContext* ac, int status);
  static void OnHandshakeReply(redisAsyncContext* ac, void* reply, void* privdata);
  static void OnGetReply(redisAsyncContext* ac, void* reply, void* privdata);
  static void OnTrackingReply(redisAsyncContext* ac, void* reply, void* privdata);
  static void OnSlotTimer(uv_timer_s* timer);
  static void OnDeadlineTimer(uv_timer_s* timer);
  static void OnDeliverTimer(uv_timer_s* timer);
  // Calls every callback in order. Static: a callback may destroy the origin.
  static void RunCompletions(Completions done);

  void StartConnect(Slot& slot, Completions* done);
  void MarkReady(Slot& slot);
  // Sends queued fetches, oldest first, while some connection is ready.
  void SendQueued();
  // A fetch on slot timed out: frees its context, requeues the slot's other fetches, and
  // reconnects. Must not run inside one of the context's hiredis callbacks.
  void DropAfterTimeout(Slot& slot, Completions* done);
  // Detaches slot's context (freeing it when free_context), fails its in-flight fetches with
  // kind/reason, schedules the next attempt, and fails queued fetches when no hope is left.
  void DropSlot(Slot& slot, FetchErrorKind kind, const std::string& reason, bool free_context,
                Completions* done);
  void ScheduleReconnect(Slot& slot);
  // True when no connection is ready and every one's last attempt failed.
  bool Hopeless() const;
  void FailQueuedIfHopeless(Completions* done);
  // A ready connection with the fewest GETs out, or nullptr when none is ready, the in-flight
  // limit is reached, or the invalidation feed is making its attempt.
  Slot* PickReadySlot();
  size_t InflightCount() const;
  // The feed changed state: track the ready connections in its new epoch, send what waited.
  void OnTrackingState();
  // Sends CLIENT TRACKING on a ready slot not yet tracked in the feed's current epoch (not with
  // BCAST, which the feed connection registers).
  void EnsureTracked(Slot& slot);
  // The epoch a GET sent on slot now is tracked in (Pending::sent_epoch); 0 when untracked.
  uint64_t SendEpoch(const Slot& slot) const;
  bool SendGet(Slot& slot, uint64_t id, std::string_view key);
  void AddDeadline(uint64_t id);
  void Finish(FetchCallback cb, FetchResult result, Completions* done);
  void CountResult(const FetchResult& result);
  void DeliverSoon(FetchCallback cb, FetchResult result);

  uv_loop_s* loop_;
  OriginUrl url_;
  int timeout_ms_;
  int connect_timeout_ms_;
  bool closed_ = false;
  uint64_t next_id_ = 1;
  size_t next_slot_ = 0;  // round-robin start for ties
  std::string last_error_ = "not connected yet";
  std::vector<std::unique_ptr<Slot>> slots_;
  std::unordered_map<uint64_t, Pending> pending_;  // fetches not yet completed
  // Min-heap of deadlines; entries of fetches already answered are skipped when they surface.
  std::priority_queue<Deadline, std::vector<Deadline>, std::greater<>> deadlines_;
  std::deque<uint64_t> queued_;  // fetch ids waiting for a ready connection, oldest first
  Completions deferred_;         // decided, delivered next tick
  uv_timer_s* deadline_timer_ = nullptr;
  uv_timer_s* deliver_timer_ = nullptr;
  int max_inflight_ = 0;                                 // SetLimits; 0: no limit
  int max_queue_ = 0;                                    // SetLimits; 0: no bound
  std::unique_ptr<RedisInvalidationListener> tracking_;  // EnableTracking
  std::string bcast_prefix_;
  RedisOriginStats stats_;
};

}  // namespace flightcache::origin
