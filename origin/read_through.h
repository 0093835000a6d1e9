// read_through.h — the read-through policy, in one place: what a GET, MGET or GETEX does with
// the entry it found (or did not), and what a filled value carries for it.
//
// DecideRead(entry, route settings, now) answers one of:
//   kHit          serve the entry;
//   kStaleHit     serve the expired entry at once and start one background refresh
//                 (stale-while-revalidate, RFC 5861: within S seconds past its expiry);
//   kEarlyRefresh serve the entry and start a background refresh before it expires
//                 (XFetch: Vattani, Chierichetti, Lowenstein, "Optimal Probabilistic Cache
//                 Stampede Prevention", VLDB 2015: refresh when now - δ·β·ln(rand()) >= expiry,
//                 δ the key's last fetch time, β the route's refresh-ahead-beta);
//   kMiss         no value to serve: park on the key's flight (an expired entry still within
//                 its stale-if-error window is served by the singleflight table if the fetch
//                 fails: StaleIfErrorAllows).
// A background refresh is a flight with no waiters (Singleflight::Refresh). Callers: the string
// commands (server/string_commands.cc) and the singleflight table (fills, errors).
#pragma once

#include <atomic>
#include <cstdint>
#include <optional>
#include <vector>

#include "origin/origin.h"
#include "storage/entry.h"

namespace flightcache::origin {

enum class ReadAction : uint8_t { kHit, kStaleHit, kEarlyRefresh, kMiss };

// The refresh-ahead β of every route, read lock-free on hits: a route's own
// refresh-ahead-beta=, else the global one (--refresh-ahead-beta, CONFIG SET).
class RefreshAheadBetas {
 public:
  // Route i's own β, or a negative number where it follows the global one. Call before other
  // threads read.
  void SetRouteBetas(std::vector<double> betas);
  void SetGlobal(double beta);
  double global() const { return global_.load(std::memory_order_relaxed); }
  // Route's β (0: off).
  double For(uint32_t route) const {
    if (route < route_betas_.size() && route_betas_[route] >= 0) return route_betas_[route];
    return global();
  }

 private:
  std::vector<double> route_betas_;
  std::atomic<double> global_{0};
};

// The slow half of DecideRead: an entry with a freshness block.
ReadAction DecideFreshRead(const storage::Entry* entry, bool expired,
                           const RefreshAheadBetas& betas, int64_t now_ms);

// The read-through policy (see the top of this file). entry: what Shard::FindReadThrough
// found (nullptr: nothing), expired: it is past its expiry, kept by its windows. Costs one flag
// test for an entry without freshness (every value not filled from an origin with freshness on).
inline ReadAction DecideRead(const storage::Entry* entry, bool expired,
                             const RefreshAheadBetas& betas, int64_t now_ms) {
  if (!entry) return ReadAction::kMiss;
  if (!storage::EntryHasFreshness(entry)) [[likely]] {
    return expired ? ReadAction::kMiss : ReadAction::kHit;
  }
  return DecideFreshRead(entry, expired, betas, now_ms);
}

// True when an origin error for entry's key may be answered with entry's value instead: it has
// expired and is still within its stale-if-error window.
bool StaleIfErrorAllows(const storage::Entry* entry, int64_t now_ms);

// The global freshness settings a fill falls back to (flags, CONFIG SET).
struct FreshnessDefaults {
  int64_t stale_while_revalidate_s = 0;
  int64_t stale_if_error_s = 0;
  double refresh_ahead_beta = 0;
};

// What a value filled from result carries: its windows (the origin's or route's, else the
// defaults) and its fetch time δ; nullopt when stale-while-revalidate, stale-if-error and
// refresh-ahead are all off for it (the entry then has no freshness block at all).
std::optional<storage::Freshness> FillFreshness(const FetchResult& result,
                                                const FreshnessDefaults& defaults,
                                                int64_t fetch_us);

}  // namespace flightcache::origin
