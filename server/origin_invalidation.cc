// origin_invalidation.cc — OriginInvalidation and Server's invalidation entry points (see
// origin_invalidation.h).
#include "server/origin_invalidation.h"

#include <string>

#include "server/clock.h"
#include "server/server.h"
#include "server/worker.h"

namespace flightcache::server {

OriginInvalidation::OriginInvalidation(storage::Keyspace* keyspace, Worker* home,
                                       std::vector<origin::RouteSpec> routes)
    : keyspace_(keyspace), home_(home), routes_(std::move(routes)) {}

bool OriginInvalidation::Serves(size_t route, std::string_view key) const {
  const int picked = origin::PickRoute(routes_, key, nullptr);
  return picked >= 0 && static_cast<size_t>(picked) == route;
}

size_t OriginInvalidation::DatabaseOf(size_t route) const {
  return static_cast<size_t>(routes_[route].options.db.value_or(0));
}

bool OriginInvalidation::DeleteKey(size_t db, std::string_view key) {
  // A value filled with a stale-while-revalidate window is marked stale instead: readers get it
  // at once while one background refresh fetches the new one. Otherwise the same call DEL
  // makes. Either way the shard reports the change to its watchers (singleflight Forget, WATCH,
  // tracking), and a missing key is reported too, so a fetch in flight is forgotten. A route
  // fills its own database (db=N, else 0) only, so that is where its invalidations apply.
  storage::KeyLocation at = keyspace_->db(db).Locate(key);
  if (at.shard->MarkStale(key, at.hash, WallClockMs())) return true;
  return at.shard->Delete(key, at.hash);
}

void OriginInvalidation::InvalidateKey(size_t route, std::string_view key) {
  if (!Serves(route, key)) return;
  auto locks = keyspace_->LockShards(storage::Keyspace::ShardMaskOf(key));
  if (DeleteKey(DatabaseOf(route), key)) keys_deleted_.fetch_add(1, std::memory_order_relaxed);
}

void OriginInvalidation::InvalidateAll(size_t route) {
  purges_started_.fetch_add(1, std::memory_order_relaxed);
  for (Purge& purge : running_) {
    if (purge.route != route) continue;
    purge = Purge{route};  // entries behind its cursor may have been filled meanwhile
    return;
  }
  running_.push_back(Purge{route});
  purging_.store(true, std::memory_order_relaxed);
  PostStep();
}

void OriginInvalidation::PostStep() {
  if (step_posted_) return;
  step_posted_ = true;
  std::weak_ptr<bool> alive = alive_;
  home_->Post([this, alive]() {
    if (alive.expired()) return;
    step_posted_ = false;
    Step();
  });
}

void OriginInvalidation::Step() {
  const int64_t now_ms = WallClockMs();
  std::vector<std::string> doomed;
  for (size_t i = 0; i < running_.size();) {
    Purge& purge = running_[i];
    const size_t db = DatabaseOf(purge.route);
    storage::Shard& shard = keyspace_->db(db).shard(purge.shard);
    {
      auto locks = keyspace_->LockShards(uint64_t{1} << purge.shard);
      doomed.clear();
      size_t buckets = 0;
      do {
        purge.cursor = shard.Scan(purge.cursor, now_ms, [&](const storage::Entry* entry) {
          std::string_view key = storage::EntryKey(entry);
          if (Serves(purge.route, key)) doomed.emplace_back(key);
        });
      } while (purge.cursor != 0 && ++buckets < kBucketsPerStep);
      for (const std::string& key : doomed) DeleteKey(db, key);
    }
    purged_keys_.fetch_add(doomed.size(), std::memory_order_relaxed);
    if (purge.cursor == 0 && ++purge.shard == storage::Keyspace::kShardCount) {
      running_.erase(running_.begin() + static_cast<std::ptrdiff_t>(i));
      continue;
    }
    ++i;
  }
  if (running_.empty()) {
    purging_.store(false, std::memory_order_relaxed);
  } else {
    PostStep();
  }
}

// ---- Server's entry points ----------------------------------------------------------------

void Server::InvalidateFromOrigin(size_t route, std::string_view key) {
  if (invalidation_) invalidation_->InvalidateKey(route, key);
}

void Server::InvalidateAllFromOrigin(size_t route) {
  if (invalidation_) invalidation_->InvalidateAll(route);
}

}  // namespace flightcache::server
