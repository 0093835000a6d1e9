// origin.h — the Origin interface: where a cache miss is fetched from.
//
// An Origin owns its connections to a slower datastore and answers Fetch(key) with a value,
// "not found", or an error with a reason. Invariants every implementation keeps:
//   * the callback runs exactly once per Fetch, always later from the event loop, never
//     inside Fetch() itself (so callers may park state after calling Fetch);
//   * every fetch has a deadline; past it the callback gets kTimeout;
//   * after Close() every pending callback has been called (with an error) and all uv handles
//     are closing, so the loop can finish.
// Callers: the singleflight table (origin/singleflight.h). Nothing here knows about clients.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace flightcache::origin {

enum class FetchStatus : uint8_t {
  kValue,     // the origin has the key; value holds it
  kNotFound,  // the origin answered nil
  kError,     // see error_kind and error
};

enum class FetchErrorKind : uint8_t {
  kNone,
  kTimeout,      // no answer before the deadline
  kUnreachable,  // no connection could be made, or it dropped before the reply
  kErrorReply,   // the origin answered with an error reply
  kProtocol,     // the origin answered something that is not a string or nil
  kBusy,         // refused here: the origin's fetch queue is full (origin-max-queue)
  kUnavailable,  // refused here: the origin's circuit breaker is open (origin/circuit_breaker.h)
  // Answered by the singleflight table, not an origin: the flight this reader joined fills the
  // key with another type (a GET joined an HGETALL's fetch, or the reverse); error holds
  // Redis's WRONGTYPE text.
  kWrongType,
};

// One column of a SQL row: (column name, value as the one-column mapping gives it).
using RowField = std::pair<std::string, std::string>;

struct FetchResult {
  FetchStatus status = FetchStatus::kNotFound;
  FetchErrorKind error_kind = FetchErrorKind::kNone;
  std::string value;  // with kValue
  // With kValue from a SQL origin: the row as column -> value, in column order, NULL columns
  // left out (a hash read fills the key with them as a hash). Empty for other kinds.
  std::vector<RowField> fields;
  std::string error;  // with kError: a reason for a client, e.g. "origin timeout after 1000 ms"
  // Set by the origin (an HTTP max-age) or else by a route with its own ttl= / negative-ttl=
  // (ms); -1: the global fill policy applies.
  int64_t cache_ttl_ms = -1;
  int64_t negative_ttl_ms = -1;
  // With kValue: answer the waiters but do not store it (an HTTP Cache-Control: no-store).
  bool no_store = false;
  // Freshness of a stored value (origin/read_through.h), seconds: set by the origin (HTTP
  // Cache-Control stale-while-revalidate= / stale-if-error=) or else by the route's own
  // options; -1: the global setting applies. Likewise the route's refresh-ahead β (-1: global).
  int64_t stale_while_revalidate_s = -1;
  int64_t stale_if_error_s = -1;
  double refresh_ahead_beta = -1;
  // The index of the route that answered (RouterOrigin), -1 without routes.
  int route = -1;

  static FetchResult Value(std::string v) {
    return FetchResult{FetchStatus::kValue, FetchErrorKind::kNone, std::move(v), {}, {}};
  }
  static FetchResult NotFound() { return FetchResult{}; }
  static FetchResult Error(FetchErrorKind kind, std::string reason) {
    return FetchResult{FetchStatus::kError, kind, {}, {}, std::move(reason)};
  }
};

using FetchCallback = std::function<void(FetchResult)>;

// Connection churn, for INFO. Monotonic over the origin's life.
struct OriginConnectionStats {
  uint64_t connects = 0;       // connections that became ready
  uint64_t disconnects = 0;    // ready connections that dropped, for any reason
  uint64_t timeout_drops = 0;  // of those, dropped because a fetch on them timed out
};

// How busy an origin's pool is, for INFO. queued/queue_peak: fetches waiting for a free
// connection, now and at most so far; connections: open now.
struct OriginLoad {
  uint64_t queued = 0;
  uint64_t queue_peak = 0;
  uint64_t connections = 0;
};

class Origin {
 public:
  virtual ~Origin() = default;
  // Starts one fetch of key. cb runs exactly once, later, on the loop.
  virtual void Fetch(std::string_view key, FetchCallback cb) = 0;
  // Starts one fetch of key with the parts a route captured from it (bound parameters of a
  // query, in capture order). Kinds that take no parameters ignore them.
  virtual void FetchWithParams(std::string_view key, std::vector<std::string> /*params*/,
                               FetchCallback cb) {
    Fetch(key, std::move(cb));
  }
  // False when no route serves key: a miss on it is a plain miss, never fetched. Thread-safe.
  virtual bool Serves(std::string_view /*key*/) const { return true; }
  // True when key's route answers rows (a SQL kind: its results carry fields), so that a hash
  // read (HGET, HMGET, HGETALL) may read key through. Thread-safe.
  virtual bool ServesRows(std::string_view /*key*/) const { return false; }
  // A request joined key's fetch already in flight (counted per route). Thread-safe.
  virtual void CountShared(std::string_view /*key*/) {}
  // One line per route for INFO (empty for a single origin without routes).
  virtual std::string RoutesInfo() const { return {}; }
  virtual OriginLoad Load() const { return {}; }
  // How many connections to the origin are up now.
  virtual int ConnectedCount() const = 0;
  // Connects and drops so far (zero for an origin without connections).
  virtual OriginConnectionStats ConnectionStats() const { return {}; }
  // The deadline of fetches started from now on, in ms (CONFIG SET origin-timeout). Fetches
  // already started keep theirs. Ignored by an origin without deadlines of its own.
  virtual void SetTimeoutMs(int /*timeout_ms*/) {}
  // The concurrency limit and queue bound of fetches started from now on (CONFIG SET
  // origin-max-inflight / origin-max-queue). Ignored by an origin without a queue.
  virtual void SetLimits(int /*max_inflight*/, int /*max_queue*/) {}
  // The circuit breaker's threshold and cool-down for this origin (CONFIG SET
  // origin-breaker-failures / origin-breaker-cooldown); ignored without a breaker.
  virtual void SetBreaker(int /*failures*/, int /*cooldown_ms*/) {}
  // ",name=value" fields of origin protection (breaker, busy, invalidation feed) for this
  // origin's INFO route line; "" when there are none. Thread-safe.
  virtual std::string ProtectionInfo() const { return {}; }
  // The origin's address for INFO, without any password.
  virtual std::string Describe() const = 0;
  // The pattern of the route that serves key ("" for none or without routes). Thread-safe.
  virtual std::string RouteOf(std::string_view /*key*/) const { return {}; }
  // Per route, for ORIGIN ROUTES: (name, value) pairs of its counters. Thread-safe.
  using RouteCounters = std::vector<std::pair<std::string, std::string>>;
  virtual std::vector<RouteCounters> RouteCounterList() const { return {}; }
  // Fails every pending fetch and closes every handle. Idempotent.
  virtual void Close() = 0;
};

}  // namespace flightcache::origin
