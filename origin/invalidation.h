// invalidation.h — invalidation pushed from an origin: what a feed reports and to whom.
//
// A feed is a connection an origin owns only to hear about changes: Redis's CLIENT TRACKING
// redirected to a `__redis__:invalidate` subscriber (redis_invalidation.h), PostgreSQL's
// LISTEN (postgres_listener.h). It tells the server through an InvalidationHandler, which the
// server binds to one route (Server::InvalidateFromOrigin / InvalidateAllFromOrigin, in
// server/origin_invalidation.cc), so that a key reaches the keyspace through the same path as
// a client's DEL and the singleflight Forget rule holds.
// Epochs: a feed counts the times it came up. A value fetched while the feed was up, in one
// and the same epoch from the fetch's start to its answer, may fill the store; any other is
// answered but not stored (FillAllowed), since a change may have been missed meanwhile.
// Everything here runs on the origin's loop except the atomic figures INFO reads.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

namespace flightcache::origin {

struct InvalidationHandler {
  std::function<void(std::string_view key)> key;  // one key changed at the origin
  // Every entry from this origin may be stale: the origin flushed, or the feed was lost.
  std::function<void()> all;
};

enum class FeedState : uint8_t {
  kOff,          // no feed for this origin
  kConnecting,   // an attempt is under way (the first, or a reconnect)
  kUp,           // invalidations are being received
  kDown,         // lost or failed; a reconnect waits for its backoff
  kUnsupported,  // the origin refused it (e.g. no CLIENT TRACKING): values fill on TTLs only
};

const char* FeedStateName(FeedState state);

// Figures for INFO, written on the loop and read from any thread.
struct FeedStats {
  std::atomic<FeedState> state{FeedState::kOff};
  std::atomic<uint64_t> keys{0};       // invalidated keys received
  std::atomic<uint64_t> flushes{0};    // "everything" messages (a flush at the origin)
  std::atomic<uint64_t> losses{0};     // times the feed went down after being up
  std::atomic<uint64_t> connects{0};   // times it came up
  std::atomic<uint64_t> untracked{0};  // values answered but not stored: feed not up throughout

  // ",tracking=up,invalidations=N,invalidation_flushes=N,tracking_losses=N,..." for a route
  // line of INFO; "" for kOff.
  std::string InfoFields(const char* name) const;
};

// Whether a value fetched from start_epoch (the feed's epoch when the fetch started, 0 when
// it was not up) may fill the store now.
inline bool FillAllowed(FeedState state, uint64_t start_epoch, uint64_t epoch_now) {
  if (state == FeedState::kOff || state == FeedState::kUnsupported) return true;
  return state == FeedState::kUp && start_epoch != 0 && start_epoch == epoch_now;
}

}  // namespace flightcache::origin
