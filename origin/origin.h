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
};

struct FetchResult {
  FetchStatus status = FetchStatus::kNotFound;
  FetchErrorKind error_kind = FetchErrorKind::kNone;
  std::string value;  // with kValue
  std::string error;  // with kError: a reason for a client, e.g. "origin timeout after 1000 ms"

  static FetchResult Value(std::string v) {
    return FetchResult{FetchStatus::kValue, FetchErrorKind::kNone, std::move(v), {}};
  }
  static FetchResult NotFound() { return FetchResult{}; }
  static FetchResult Error(FetchErrorKind kind, std::string reason) {
    return FetchResult{FetchStatus::kError, kind, {}, std::move(reason)};
  }
};

using FetchCallback = std::function<void(FetchResult)>;

// Connection churn, for INFO. Monotonic over the origin's life.
struct OriginConnectionStats {
  uint64_t connects = 0;       // connections that became ready
  uint64_t disconnects = 0;    // ready connections that dropped, for any reason
  uint64_t timeout_drops = 0;  // of those, dropped because a fetch on them timed out
};

class Origin {
 public:
  virtual ~Origin() = default;
  // Starts one fetch of key. cb runs exactly once, later, on the loop.
  virtual void Fetch(std::string_view key, FetchCallback cb) = 0;
  // How many connections to the origin are up now.
  virtual int ConnectedCount() const = 0;
  // Connects and drops so far (zero for an origin without connections).
  virtual OriginConnectionStats ConnectionStats() const { return {}; }
  // The deadline of fetches started from now on, in ms (CONFIG SET origin-timeout). Fetches
  // already started keep theirs. Ignored by an origin without deadlines of its own.
  virtual void SetTimeoutMs(int /*timeout_ms*/) {}
  // The origin's address for INFO, without any password.
  virtual std::string Describe() const = 0;
  // Fails every pending fetch and closes every handle. Idempotent.
  virtual void Close() = 0;
};

}  // namespace flightcache::origin
