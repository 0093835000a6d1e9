// database.h — one numbered database (SELECT n): a fixed set of shards chosen by key hash.
//
// Commands locate a key's shard with Locate() and work against that shard; database-wide
// operations (DBSIZE, FLUSHDB, SCAN, KEYS, RANDOMKEY) visit every shard of the database. SCAN
// cursors carry the shard index in their low kShardBits (5) bits and the shard's reverse-binary
// bucket cursor above it.
//
// Every database has the same number of shards, and shard i of every database is guarded by
// one lock, the keyspace's lock i (see keyspace.h): a key's lock is the same in every database,
// so a command touching two databases (MOVE, COPY ... DB, SWAPDB, FLUSHALL) takes its locks as a
// one-database command does. The locking rules of keyspace.h apply: Locate()'s Shard::* methods,
// Find, Delete need the key's lock held; Scan, RandomEntry, Flush and SwapContents need every
// lock held; size, volatile_count and memory_bytes are lock-free.
#pragma once

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string_view>

#include "storage/shard.h"

namespace flightcache::storage {

// 32 shards per database. Not more than 5 bits while TSan checks the build: its deadlock
// detector tracks at most 64 locks held by one thread, and LockAllShards() plus the eviction,
// queue, watcher and singleflight locks must stay under that.
inline constexpr size_t kShardBits = 5;
inline constexpr size_t kShardCount = size_t{1} << kShardBits;
static_assert(kShardCount <= 64, "a shard mask is a uint64_t");

struct KeyLocation {
  Shard* shard;
  uint64_t hash;
};

class Database {
 public:
  // index: the database's number (SELECT index). clock: the keyspace's cached "now". locks: the
  // keyspace's kShardCount shard locks, shared by every database. lazy_free: where the shards
  // free removed values (the keyspace's; nullptr: at once).
  Database(size_t index, const std::atomic<int64_t>* clock,
           const std::array<std::mutex*, kShardCount>& locks, LazyFree* lazy_free = nullptr);
  Database(const Database&) = delete;
  Database& operator=(const Database&) = delete;

  size_t index() const { return index_; }
  // The shard a key hash belongs to (its lock is the keyspace's lock of the same index).
  static constexpr size_t ShardIndex(uint64_t hash) { return hash >> (64 - kShardBits); }

  KeyLocation Locate(std::string_view key) {
    uint64_t hash = HashKey(key);
    return {shards_[ShardIndex(hash)].get(), hash};
  }
  Shard& shard(size_t index) { return *shards_[index]; }
  const Shard& shard(size_t index) const { return *shards_[index]; }

  // Convenience single-key operations.
  Entry* Find(std::string_view key, int64_t now_ms, bool touch = true) {
    KeyLocation at = Locate(key);
    return at.shard->Find(key, at.hash, now_ms, touch);
  }
  bool Delete(std::string_view key) {
    KeyLocation at = Locate(key);
    return at.shard->Delete(key, at.hash);
  }
  // An origin's invalidation of key (caller holds its shard lock): marks the value stale when
  // it has a stale-while-revalidate window (Shard::MarkStale), else deletes it. Either way a
  // fetch in flight for key is forgotten. True when the key was marked stale.
  bool MarkStaleOrDelete(std::string_view key, int64_t now_ms) {
    KeyLocation at = Locate(key);
    if (at.shard->MarkStale(key, at.hash, now_ms)) return true;
    at.shard->Delete(key, at.hash);
    return false;
  }

  // Whether a key was ever stored here (the keyspace's totals skip databases never used: with
  // 16 databases, most are). Lock-free.
  bool used() const { return used_.load(std::memory_order_relaxed); }

  // Keys (live or not yet removed), keys with an expiry, and bytes held, over every shard.
  size_t size() const;
  size_t volatile_count() const;
  size_t memory_bytes() const;
  // Removes every key of this database (FLUSHDB); async: freed by the LazyFree thread.
  void Flush(bool async = false);
  // Exchanges every key of this database with other's, shard by shard (SWAPDB). Each shard keeps
  // its watcher; a watched shard tells it of a flush. Every shard lock must be held.
  void SwapContents(Database& other);

  // One SCAN step: calls fn for keys under cursor, at least count buckets' worth when there
  // are keys. Returns the next cursor (0 when done).
  uint64_t Scan(uint64_t cursor, size_t count, int64_t now_ms,
                const std::function<void(const Entry*)>& fn);
  // A random live entry, or nullptr when the database is empty.
  Entry* RandomEntry(int64_t now_ms, uint64_t random);

  // The running estimate of the keys' time to live (ms) that INFO keyspace prints as avg_ttl:
  // Redis's moving average of the TTLs the active expiry cycle samples; 0 when none was seen.
  int64_t avg_ttl_ms() const { return avg_ttl_ms_.load(std::memory_order_relaxed); }
  // Folds the mean TTL of one expiry pass's samples into the estimate (Redis: 2% per pass).
  void NoteSampledTtl(int64_t mean_ttl_ms);
  void ClearAvgTtl() { avg_ttl_ms_.store(0, std::memory_order_relaxed); }

 private:
  size_t index_;
  std::array<std::unique_ptr<Shard>, kShardCount> shards_;
  std::atomic<int64_t> avg_ttl_ms_{0};
  std::atomic<bool> used_{false};  // set by the shards on their first new key
};

}  // namespace flightcache::storage
