// redis_invalidation.h — the Redis origin's invalidation subscriber (CLIENT TRACKING, RESP2).
//
// One hiredis async connection per Redis origin, beside its fetch connections: AUTH (when the
// URL has a password), CLIENT ID, then SUBSCRIBE __redis__:invalidate. Once subscribed the
// feed is up: the origin (redis_origin.h) turns CLIENT TRACKING ON REDIRECT <that id> on its
// fetch connections, so that Redis sends every change to a key they read here as a pub/sub
// message. A prefix-scoped route (bcast_prefix not empty) registers BCAST PREFIX once, on this
// connection itself (CLIENT TRACKING ON REDIRECT <own id> BCAST PREFIX p, sent between CLIENT
// ID and SUBSCRIBE): Redis then sends each change under the prefix once, not once per fetch
// connection, and the registration lives and dies with the feed (a reconnect makes it anew,
// and the loss in between is handled as every loss is, below). The messages:
//   ["message", "__redis__:invalidate", [key, ...]]  -> handler.key for each key;
//   ["message", "__redis__:invalidate", nil]          -> handler.all (FLUSHALL/FLUSHDB).
// Losing the connection after it was up calls handler.all (changes may have been missed) and
// reconnects with capped exponential backoff (50 ms doubling to 2 s); each time it comes up
// again is a new epoch. An origin that answers CLIENT ID or SUBSCRIBE with an error (an older
// Redis, or a server that only speaks GET) makes the feed kUnsupported for good: values then
// fill on TTLs alone, as without tracking. Single-threaded, on the origin's loop; the figures
// in stats() are atomics for INFO on other threads.
#pragma once

#include <cstdint>
#include <functional>
#include <string>

#include "origin/invalidation.h"
#include "origin/origin_url.h"

struct redisAsyncContext;
struct uv_loop_s;
struct uv_timer_s;

namespace flightcache::origin {

class RedisInvalidationListener {
 public:
  // on_state runs on every change of state() (after it changed), on the loop, never inside
  // the constructor or Start(). Nothing connects before Start().
  // bcast_prefix: "" for default tracking (the fetch connections register themselves), else
  // the prefix this connection registers with BCAST PREFIX.
  RedisInvalidationListener(uv_loop_s* loop, OriginUrl url, int connect_timeout_ms,
                            std::string bcast_prefix, InvalidationHandler handler,
                            std::function<void()> on_state);
  ~RedisInvalidationListener();  // calls Close()

  RedisInvalidationListener(const RedisInvalidationListener&) = delete;
  RedisInvalidationListener& operator=(const RedisInvalidationListener&) = delete;

  // Starts the first attempt.
  void Start();
  // When down, reconnects now instead of waiting for the backoff (a fetch connection just
  // came up, so the origin is back).
  void Nudge();
  // A fetch connection's CLIENT TRACKING was refused: the feed stops for good (kUnsupported).
  void GiveUp(const std::string& why);
  // Frees the connection and closes the timer. Idempotent; no callback runs after it.
  void Close();

  FeedState state() const { return state_; }
  // Non-zero while up: a new number every time the feed comes up.
  uint64_t epoch() const { return state_ == FeedState::kUp ? epoch_ : 0; }
  // The subscriber's client id at the origin, for REDIRECT (valid while up).
  long long client_id() const { return client_id_; }
  const std::string& last_error() const { return last_error_; }
  FeedStats& stats() { return stats_; }
  const FeedStats& stats() const { return stats_; }

 private:
  static void OnConnect(const redisAsyncContext* ac, int status);
  static void OnDisconnect(const redisAsyncContext* ac, int status);
  static void OnAuthReply(redisAsyncContext* ac, void* reply, void* privdata);
  static void OnClientIdReply(redisAsyncContext* ac, void* reply, void* privdata);
  static void OnBcastReply(redisAsyncContext* ac, void* reply, void* privdata);
  static void OnMessage(redisAsyncContext* ac, void* reply, void* privdata);
  static void OnTimer(uv_timer_s* timer);

  void Connect();
  // Sends CLIENT TRACKING ON REDIRECT <own id> BCAST PREFIX p (when bcast_prefix_ is set), then
  // SUBSCRIBE; called once CLIENT ID answered.
  void Subscribe();
  void SetState(FeedState state);
  void Up();
  // Detaches (and with free_context frees) the connection; down with a reconnect scheduled.
  void Lost(const std::string& reason, bool free_context);
  void Detach(bool free_context);
  void HandlePayload(const void* payload);

  uv_loop_s* loop_;
  OriginUrl url_;
  int connect_timeout_ms_;
  std::string bcast_prefix_;
  InvalidationHandler handler_;
  std::function<void()> on_state_;
  FeedState state_ = FeedState::kConnecting;
  bool closed_ = false;
  redisAsyncContext* ac_ = nullptr;
  uv_timer_s* timer_ = nullptr;  // connect limit while connecting, backoff while down
  int failures_ = 0;             // attempts failed since the last time it was up
  uint64_t epoch_ = 0;
  long long client_id_ = -1;
  std::string last_error_;
  FeedStats stats_;
};

}  // namespace flightcache::origin
