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
// Keepalive (keepalive_ms > 0): a server that hangs without closing the socket (stopped, or a
// network that drops packets silently) would keep the feed "up" while notifications go
// unheard, so every keepalive_ms the listener sends `SELECT 1` on its connection and wants the
// answer within keepalive_ms more; no answer is a lost connection (dropped, handler.all, and a
// reconnect). Each attempt must also connect and LISTEN within max(2 * keepalive_ms, 1 s). The
// connection is named application_name=flightcache-listen:CHANNEL (cut to 63 bytes) unless its
// URL names another, so that pg_stat_activity shows which backend listens.
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

// The keepalive interval (and answer deadline) of a route without listen-keepalive=MS.
constexpr int kDefaultListenKeepaliveMs = 5000;

class PostgresListener final : public InvalidationFeed {
 public:
  // keepalive_ms: see the top of this file; 0 turns the keepalive and the connect deadline off.
  PostgresListener(uv_loop_s* loop, std::string conninfo, std::string channel,
                   InvalidationHandler handler, int keepalive_ms = kDefaultListenKeepaliveMs);
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
  enum class Phase : uint8_t {
    kNone,        // no connection; the timer holds the reconnect backoff
    kConnecting,  // PQconnectPoll under way; the timer holds the connect deadline
    kListenSent,  // LISTEN sent, its answer awaited; the timer still holds the connect deadline
    kListening,   // up; the timer holds the next keepalive
    kPinging,     // up, keepalive SELECT 1 sent; the timer holds its answer deadline
  };
  // What the results of the command last sent say so far.
  enum class Answer : uint8_t { kPending, kOk, kFailed };

  static void OnPoll(uv_poll_s* poll, int status, int events);
  static void OnTimer(uv_timer_s* timer);
  void Connect();
  void Drive();  // advances by what the socket allows
  void Watch(int events);
  void Lost(const std::string& reason);
  void Detach();
  void SetState(FeedState state);
  void Deliver(std::string_view payload);
  // Sends the keepalive SELECT 1 and arms its answer deadline.
  void SendKeepalive();
  // Reads the available results of the command in progress without blocking: kPending until
  // all are in, then kOk, or kFailed with *why the server's error text.
  Answer ReadAnswer(std::string* why);
  // While listening: the timer fires for the next keepalive (nothing when keepalive_ms_ is 0).
  void ArmKeepalive();

  uv_loop_s* loop_;
  std::string conninfo_;
  std::string channel_;
  InvalidationHandler handler_;
  int keepalive_ms_;
  FeedState state_ = FeedState::kConnecting;
  Phase phase_ = Phase::kNone;
  bool closed_ = false;
  bool was_lost_ = false;  // it has been up and lost: coming up again drops everything
  pg_conn* conn_ = nullptr;
  uv_poll_s* poll_ = nullptr;
  uv_timer_s* timer_ = nullptr;  // what it holds depends on phase_ (see Phase)
  int failures_ = 0;
  uint64_t epoch_ = 0;
  std::string last_error_;
  std::string command_error_;  // the error result of the command in progress, if any
  FeedStats stats_;
};

}  // namespace flightcache::origin
