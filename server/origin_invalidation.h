// origin_invalidation.h — invalidations pushed from an origin, applied to the keyspace.
//
// An origin's invalidation feed (origin/invalidation.h: Redis CLIENT TRACKING, PostgreSQL
// LISTEN) is bound to its route's index; what it hears lands here, on the origin's home loop
// (worker 0), through Server::InvalidateFromOrigin / InvalidateAllFromOrigin:
//   * one key: deleted under its shard lock with Shard::Delete, exactly as a client's DEL
//     deletes it, so the shard's watcher applies the singleflight Forget rule (a fetch in
//     flight for it answers its waiters but does not fill) and WATCH sees the change;
//   * everything from one origin (it flushed, or the feed was lost): a purge that deletes,
//     shard by shard in bounded steps (kBucketsPerStep buckets per shard lock, one step per
//     loop turn), every key the router maps to that route.
// Which entries came from which origin is decided by the route's key pattern, not by a tag in
// each entry: every key that the router sends to a route is that origin's (a client's own SET
// of such a key is dropped with them; it would have been read through from there anyway). This
// costs no entry memory and needs nothing from storage/. A key a feed names that its route
// does not serve (another route's, or an unrouted key under a BCAST prefix) is left alone.
// DeleteKey is the single place that removes an invalidated key; a value filled with a
// stale-while-revalidate window (and an expiry) is marked stale instead of deleted.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <string_view>
#include <vector>

#include "origin/route.h"
#include "storage/keyspace.h"

namespace flightcache::server {

class Worker;

class OriginInvalidation {
 public:
  // Buckets one purge step scans under one shard lock.
  static constexpr size_t kBucketsPerStep = 256;

  OriginInvalidation(storage::Keyspace* keyspace, Worker* home,
                     std::vector<origin::RouteSpec> routes);

  // On the home loop. Deletes key when route serves it (see the top of this file).
  void InvalidateKey(size_t route, std::string_view key);
  // On the home loop. Starts (or restarts from the first shard) the purge of route's keys.
  void InvalidateAll(size_t route);

  uint64_t keys_deleted() const { return keys_deleted_.load(std::memory_order_relaxed); }
  uint64_t purges() const { return purges_started_.load(std::memory_order_relaxed); }
  uint64_t purged_keys() const { return purged_keys_.load(std::memory_order_relaxed); }
  bool purging() const { return purging_.load(std::memory_order_relaxed); }

 private:
  struct Purge {
    size_t route;
    size_t shard = 0;
    uint64_t cursor = 0;
  };
  bool Serves(size_t route, std::string_view key) const;
  // The database route fills (its db=N, else 0).
  size_t DatabaseOf(size_t route) const;
  // Removes key of database db as DEL does; true when it was there. Caller holds key's shard
  // lock.
  bool DeleteKey(size_t db, std::string_view key);
  // One bounded step of every purge; posts the next step while any is left.
  void Step();
  void PostStep();

  storage::Keyspace* keyspace_;
  Worker* home_;
  std::vector<origin::RouteSpec> routes_;
  std::vector<Purge> running_;
  bool step_posted_ = false;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
  std::atomic<uint64_t> keys_deleted_{0};  // single-key invalidations that removed a key
  std::atomic<uint64_t> purges_started_{0};
  std::atomic<uint64_t> purged_keys_{0};
  std::atomic<bool> purging_{false};
};

}  // namespace flightcache::server
