// postgres_listener.h — a PostgreSQL route's invalidation feed: LISTEN on one channel.
//
// A route with listen=CHANNEL gets one extra libpq connection, beside its fetch pool, driven
// without blocking on the loop (PQconnectStart/PQconnectPoll, then LISTEN "CHANNEL", then
// PQconsumeInput/PQnotifies on a uv_poll). Each NOTIFY on the channel names keys to invalidate;
// its payload is either
//   * a JSON array of strings, e.g. ["user:1","user:2"]: each string is one key; or
//   * anything else: the whole payload is one key, byte for byte (no splitting); or
//   * empty: every entry of this route (as a FLUSHALL at a Redis origin).
// Losing the connection, and coming up again after a loss, both drop every entry of the route
// (handler.all), since notifications sent meanwhile were missed; reconnects back off 50 ms
// doubling to 2 s. While it is not up, values are answered but not stored (GuardedOrigin checks
// the epoch, circuit_breaker.h). Single-threaded, on the loop; stats() are atomics for INFO.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "origin/circuit_breaker.h"
#include "origin/invalidation.h"

struct pg_conn;
struct uv_loop_s;
struct uv_poll_s;
struct uv_timer_s;

namespace flightcache::origin {

// The keys a NOTIFY payload names (see the top of this file); empty for "everything".
std::vector<std::string> NotifyPayloadKeys(std::string_view payload);

class PostgresListener final : public InvalidationFeed {
 public:
  PostgresListener(uv_loop_s* loop, std::string conninfo, std::string channel,
                   InvalidationHandler handler);
  ~PostgresListener() override;  // calls Close()

  PostgresListener(const PostgresListener&) = delete;
  PostgresListener& operator=(const PostgresListener&) = delete;

  // Starts the first attempt.
  void Start();
  FeedState state() const override { return state_; }
  uint64_t epoch() const override { return state_ == FeedState::kUp ? epoch_ : 0; }
  FeedStats& stats() override { return stats_; }
  void Close() override;

 private:
  enum class Phase : uint8_t { kNone, kConnecting, kListenSent, kListening };

  static void OnPoll(uv_poll_s* poll, int status, int events);
  static void OnTimer(uv_timer_s* timer);
  void Connect();
  void Drive();  // advances by what the socket allows
  void Watch(int events);
  void Lost(const std::string& reason);
  void Detach();
  void SetState(FeedState state);
  void Deliver(std::string_view payload);

  uv_loop_s* loop_;
  std::string conninfo_;
  std::string channel_;
  InvalidationHandler handler_;
  FeedState state_ = FeedState::kConnecting;
  Phase phase_ = Phase::kNone;
  bool closed_ = false;
  bool was_lost_ = false;  // it has been up and lost: coming up again drops everything
  pg_conn* conn_ = nullptr;
  uv_poll_s* poll_ = nullptr;
  uv_timer_s* timer_ = nullptr;  // reconnect backoff
  int failures_ = 0;
  uint64_t epoch_ = 0;
  std::string last_error_;
  FeedStats stats_;
};

}  // namespace flightcache::origin
