// read_through.cc — the read-through policy's decisions (see read_through.h).
#include "origin/read_through.h"

#include <algorithm>
#include <chrono>
#include <cmath>

namespace flightcache::origin {
namespace {

// XFetch draws -ln(rand()), exponential with mean 1: past this many δ·β of remaining TTL the
// chance of an early refresh is e^-16 (about 1e-7), so the draw and its log() are skipped.
constexpr double kSkipDrawFactor = 16;

// A uniform number in (0, 1], from a per-thread xorshift generator.
double RandomUnit() {
  thread_local uint64_t state =
      static_cast<uint64_t>(std::chrono::steady_clock::now().time_since_epoch().count()) |
      1;  // never zero
  state ^= state << 13;
  state ^= state >> 7;
  state ^= state << 17;
  return (static_cast<double>(state >> 11) + 1.0) * (1.0 / 9007199254740992.0);
}

}  // namespace

void RefreshAheadBetas::SetRouteBetas(std::vector<double> betas) {
  route_betas_ = std::move(betas);
}

void RefreshAheadBetas::SetGlobal(double beta) { global_.store(beta, std::memory_order_relaxed); }

ReadAction DecideFreshRead(const storage::Entry* entry, bool expired,
                           const RefreshAheadBetas& betas, int64_t now_ms) {
  const storage::Freshness f = storage::EntryFreshness(entry);
  const int64_t expire_at = storage::EntryExpireAt(entry);
  if (expired) {
    // Within stale-while-revalidate: serve now, refresh behind. Past it (kept only for
    // stale-if-error): a miss that waits for the fetch.
    return now_ms < expire_at + int64_t{f.stale_while_revalidate_s} * 1000 ? ReadAction::kStaleHit
                                                                           : ReadAction::kMiss;
  }
  const double beta = betas.For(f.route);
  if (beta <= 0 || f.fetch_us == 0) return ReadAction::kHit;
  // XFetch (VLDB 2015): refresh early when now - δ·β·ln(rand()) >= expiry, that is when
  // δ·β·(-ln rand()) >= the time left.
  const double scale_ms = static_cast<double>(f.fetch_us) / 1000.0 * beta;
  const auto remaining_ms = static_cast<double>(expire_at - now_ms);
  if (remaining_ms > kSkipDrawFactor * scale_ms) return ReadAction::kHit;
  return -std::log(RandomUnit()) * scale_ms >= remaining_ms ? ReadAction::kEarlyRefresh
                                                            : ReadAction::kHit;
}

bool StaleIfErrorAllows(const storage::Entry* entry, int64_t now_ms) {
  if (!entry || !storage::EntryHasFreshness(entry)) return false;
  const int64_t expire_at = storage::EntryExpireAt(entry);
  const storage::Freshness f = storage::EntryFreshness(entry);
  return expire_at <= now_ms && now_ms < expire_at + int64_t{f.stale_if_error_s} * 1000;
}

std::optional<storage::Freshness> FillFreshness(const FetchResult& result,
                                                const FreshnessDefaults& defaults,
                                                int64_t fetch_us) {
  const int64_t swr = result.stale_while_revalidate_s >= 0 ? result.stale_while_revalidate_s
                                                           : defaults.stale_while_revalidate_s;
  const int64_t sie =
      result.stale_if_error_s >= 0 ? result.stale_if_error_s : defaults.stale_if_error_s;
  const double beta =
      result.refresh_ahead_beta >= 0 ? result.refresh_ahead_beta : defaults.refresh_ahead_beta;
  if (swr <= 0 && sie <= 0 && beta <= 0) return std::nullopt;
  storage::Freshness f;
  f.stale_while_revalidate_s = static_cast<uint32_t>(std::min<int64_t>(swr, INT32_MAX));
  f.stale_if_error_s = static_cast<uint32_t>(std::min<int64_t>(sie, INT32_MAX));
  // At least 1 µs, so that a fetch measured as instant still counts as measured.
  f.fetch_us = static_cast<uint32_t>(std::clamp<int64_t>(fetch_us, 1, UINT32_MAX));
  f.route = result.route >= 0 ? static_cast<uint32_t>(result.route) : 0;
  return f;
}

}  // namespace flightcache::origin
