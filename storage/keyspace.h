// keyspace.h — every database of the process (SELECT 0..databases-1), the shard locks they
// share, and what is process-wide: the clock, the memory budget and eviction, the expiry and
// rehash passes of the cron.
//
// A Database (database.h) holds the shards of one database; shard i of every database is
// guarded by the keyspace's lock i. Eviction, expiry and the memory figure work over every
// shard of every database: maxmemory is one budget for all of them, as in Redis.
//
// Threads. SetThreadSafe(true), before any other thread uses the keyspace, turns locking on;
// while it is off (the default, one worker) no method takes or checks a lock beyond one branch.
// Lock order, everywhere: eviction mutex -> shard locks (ascending index) -> a KeyWatcher's own
// lock (the singleflight table). S3-FIFO's queues are per shard, under the shard lock. Never the
// reverse; none of them is recursive, so a thread holding shard locks must not call LockShards
// again. A shard lock covers that shard index in every database, so a mask means the same keys'
// shards whichever databases a command touches.
// 1. Caller holds the shard lock(s) of the keys it names (LockShards(mask), or LockAllShards()
//    for whole-database commands): a Database's Locate()'s Shard::* methods, Find, Delete, and
//    with ALL shard locks: Scan, RandomEntry, Flush, SwapDatabases, FlushAll.
// 2. Caller holds NO shard lock; the method locks internally, one shard at a time (or all, in
//    ascending order, for ConfigureEviction): MakeRoom, ActiveExpirePass, ShrinkTables,
//    RehashPass, ConfigureEviction. The eviction mutex serializes MakeRoom and ConfigureEviction.
// 3. Lock-free, from any thread, with or without locks held: size, volatile_count,
//    memory_bytes, expired_keys, evicted_keys, UsedMemoryEstimate, OverMemoryLimit, policy,
//    maxmemory, SetClock, set_memory_baseline, ShardIndex, ShardMaskOf, db, database_count,
//    lazy_free (its own lock, taken after shard locks; see lazyfree.h).
//    Counters are relaxed atomics: each is a recent value; sums over shards are not a
//    consistent snapshot.
// 4. LockShards / LockAllShards: from any thread holding no shard lock.
#pragma once

#include <array>
#include <atomic>
#include <bit>
#include <cassert>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "storage/database.h"
#include "storage/eviction.h"
#include "storage/lazyfree.h"
#include "storage/shard.h"
#include "storage/sync.h"

namespace flightcache::storage {

class Keyspace;

// The shard locks a thread holds: released when this goes out of scope (or by Unlock()).
// Movable, not copyable. Empty (holds nothing) when the keyspace is not thread-safe.
class ShardLocks {
 public:
  ShardLocks() = default;
  ShardLocks(ShardLocks&& other) noexcept
      : keyspace_(other.keyspace_), mask_(std::exchange(other.mask_, 0)) {}
  ShardLocks& operator=(ShardLocks&& other) noexcept {
    if (this != &other) {
      Unlock();
      keyspace_ = other.keyspace_;
      mask_ = std::exchange(other.mask_, 0);
    }
    return *this;
  }
  ShardLocks(const ShardLocks&) = delete;
  ShardLocks& operator=(const ShardLocks&) = delete;
  ~ShardLocks() { Unlock(); }

  // Releases every lock held now; later calls do nothing.
  inline void Unlock();
  // The shards held (bit i: shard i); 0 when nothing is held.
  uint64_t mask() const { return mask_; }

 private:
  friend class Keyspace;
  ShardLocks(Keyspace* keyspace, uint64_t mask) : keyspace_(keyspace), mask_(mask) {}

  Keyspace* keyspace_ = nullptr;
  uint64_t mask_ = 0;
};

class Keyspace {
 public:
  static constexpr size_t kShardBits = storage::kShardBits;
  static constexpr size_t kShardCount = storage::kShardCount;
  static constexpr uint64_t kAllShards =
      kShardCount == 64 ? ~uint64_t{0} : (uint64_t{1} << kShardCount) - 1;
  // Redis's limit on `databases` is INT_MAX; one database costs kShardCount small tables.
  static constexpr size_t kMaxDatabases = 1u << 20;

  // databases: how many numbered databases (at least 1; Redis's default is 16).
  explicit Keyspace(size_t databases = 1);

  // Turns shard and eviction locking on or off. Call before any other thread uses the keyspace.
  void SetThreadSafe(bool on);
  bool thread_safe() const { return thread_safe_; }

  // Database index (0 .. database_count()-1).
  Database& db(size_t index) { return *dbs_[index]; }
  const Database& db(size_t index) const { return *dbs_[index]; }
  size_t database_count() const { return dbs_.size(); }

  // The shard a key hash belongs to, and the lock mask of a key's shard (OR masks together for
  // a multi-key command). The same in every database.
  static constexpr size_t ShardIndex(uint64_t hash) { return Database::ShardIndex(hash); }
  static uint64_t ShardMaskOf(std::string_view key) {
    return uint64_t{1} << ShardIndex(HashKey(key));
  }
  // Locks the shards of mask (in every database) in ascending index order (deadlock-free
  // against any other caller) and returns the guard that unlocks them. A no-op returning an
  // empty guard when the keyspace is not thread-safe. The caller must hold no shard lock already.
  ShardLocks LockShards(uint64_t mask) {
    assert((mask & ~kAllShards) == 0 && "a shard mask names only existing shards");
    if (!thread_safe_ || mask == 0) return ShardLocks();
    for (uint64_t m = mask; m != 0; m &= m - 1) locks_[std::countr_zero(m)].mutex.lock();
    return ShardLocks(this, mask);
  }
  ShardLocks LockAllShards() { return LockShards(kAllShards); }

  // The cached "now" (unix ms) that stamps access state; each worker refreshes it per batch.
  void SetClock(int64_t now_ms) {
    // Skip the store when unchanged: several workers share this cache line.
    if (now_ms_.load(std::memory_order_relaxed) != now_ms) {
      now_ms_.store(now_ms, std::memory_order_relaxed);
    }
  }

  // Totals over every database.
  size_t size() const;
  size_t volatile_count() const;
  size_t memory_bytes() const;
  uint64_t expired_keys() const;
  // Removes every key of every database (FLUSHALL); async: freed by the LazyFree thread. Every
  // shard lock must be held.
  void FlushAll(bool async = false);
  // Where every shard frees removed values: big ones on its thread (lazyfree.h).
  LazyFree& lazy_free() { return lazy_free_; }
  const LazyFree& lazy_free() const { return lazy_free_; }
  // Exchanges the keys of databases a and b (SWAPDB). Every shard lock must be held.
  void SwapDatabases(size_t a, size_t b);

  // One pass of the active expiry cycle: visits buckets_per_shard buckets of every shard of
  // every database, folds the TTLs it saw into each database's avg_ttl, and
  // removes the expired keys there. Returns how many it removed; *more is set when at least
  // 10% of the volatile keys seen had expired (Redis's rule for running another pass).
  // Call with no shard lock held: locks each shard with volatile keys in turn.
  size_t ActiveExpirePass(int64_t now_ms, size_t buckets_per_shard, bool* more);
  // Starts shrinking sparse shard tables. Call with no shard lock held: locks each sparse shard
  // in turn.
  void ShrinkTables();
  // Advances every shard's incremental rehash by up to buckets_per_shard buckets (the cron's
  // share of the work; operations move a bucket each too). Returns true while any shard is still
  // rehashing. Call with no shard lock held: locks each rehashing shard in turn, for one bounded
  // step.
  bool RehashPass(size_t buckets_per_shard);

  // ---- memory budget and eviction ----
  // maxmemory 0 means no limit. The shards keep S3-FIFO queues only while S3-FIFO evicts
  // under a limit.
  // Call with no shard lock held: takes the eviction mutex, then every shard lock.
  void ConfigureEviction(EvictionPolicy policy, int64_t maxmemory);
  EvictionPolicy policy() const { return policy_.load(std::memory_order_relaxed); }
  int64_t maxmemory() const { return maxmemory_.load(std::memory_order_relaxed); }
  // Bytes the process holds outside the keyspace (tables, buffers) that change slowly:
  // measured by the server from the allocator now and then, less the transient bytes at that
  // moment, so that keyspace bytes + baseline + transient bytes tracks used_memory.
  void set_memory_baseline(int64_t bytes) { baseline_.store(bytes, std::memory_order_relaxed); }
  // Transient bytes: memory outside the keyspace that moves fast, such as replies queued for
  // clients (origin values among them), read through fn(context) at every estimate so that a
  // burst of fills is seen before the next re-measure. Set before the server's threads start.
  using TransientBytesFn = int64_t (*)(void* context);
  void set_transient_bytes_source(TransientBytesFn fn, void* context) {
    transient_fn_ = fn;
    transient_context_ = context;
  }
  int64_t TransientBytes() const { return transient_fn_ ? transient_fn_(transient_context_) : 0; }
  // Values handed to the LazyFree thread count until it has freed them, as the allocator's
  // figure does.
  int64_t UsedMemoryEstimate() const {
    return baseline_.load(std::memory_order_relaxed) + static_cast<int64_t>(memory_bytes()) +
           lazy_free_.pending_bytes() + TransientBytes();
  }
  // What eviction compares with maxmemory: the estimate less the bytes the LazyFree thread is
  // about to free anyway (evicting more keys for them would evict too many).
  int64_t EvictionMemoryEstimate() const {
    return UsedMemoryEstimate() - lazy_free_.pending_bytes();
  }
  bool OverMemoryLimit() const {
    const int64_t limit = maxmemory();
    return limit > 0 && EvictionMemoryEstimate() > limit;
  }
  // Evicts keys by the policy until the estimate is within maxmemory. Returns false when it
  // is still over (noeviction, or no key the policy may evict). Call with no shard lock held:
  // takes the eviction mutex, then one shard lock at a time. Under threads, other workers'
  // writes may use memory while it works: the bound is as exact as the callers' timing.
  bool MakeRoom();
  uint64_t evicted_keys() const;

 private:
  struct Candidate {
    std::string key;
    Database* db;    // the database the key was sampled in
    uint64_t score;  // higher: evict sooner
  };
  struct alignas(64) ShardLock {
    std::mutex mutex;
  };
  friend class ShardLocks;
  // The evictors run with the eviction mutex held (when thread-safe) and lock shards inside.
  bool EvictOne(EvictionPolicy policy);
  bool EvictS3Fifo();
  // Removes every expired key of every shard (locking each in turn); returns how many.
  size_t RemoveExpiredKeys();
  bool EvictRandom(bool volatile_only);
  bool EvictSampled(EvictionPolicy policy);
  void SampleInto(Database& db, Shard& s, EvictionPolicy policy, bool volatile_only,
                  int64_t now_ms);
  // Shard flat of every database's shards (database-major), and its database.
  Shard& FlatShard(size_t flat) { return dbs_[flat / kShardCount]->shard(flat % kShardCount); }
  const Shard& FlatShard(size_t flat) const {
    return dbs_[flat / kShardCount]->shard(flat % kShardCount);
  }
  // Whether flat's database ever held a key (the others are skipped cheaply).
  bool FlatUsed(size_t flat) const { return dbs_[flat / kShardCount]->used(); }
  size_t FlatCount() const { return dbs_.size() * kShardCount; }
  uint64_t NextRandom();
  int64_t Now() const { return now_ms_.load(std::memory_order_relaxed); }

  // Written by every worker: on its own cache line, away from the read-mostly fields below.
  alignas(64) std::atomic<int64_t> now_ms_{0};
  std::array<ShardLock, kShardCount> locks_;
  // Before dbs_: the shards point at it, and it outlives them (its destructor joins its thread).
  LazyFree lazy_free_;
  std::vector<std::unique_ptr<Database>> dbs_;
  bool thread_safe_ = false;
  std::atomic<EvictionPolicy> policy_{EvictionPolicy::kNoEviction};
  std::atomic<int64_t> maxmemory_{0};
  std::atomic<int64_t> baseline_{0};
  TransientBytesFn transient_fn_ = nullptr;
  void* transient_context_ = nullptr;
  // Guarded by evict_mutex_ (when thread-safe).
  std::mutex evict_mutex_;
  size_t evict_cursor_ = 0;
  std::vector<Candidate> pool_;  // Redis's eviction pool: best candidates seen so far
  uint64_t rng_ = 0x2545F4914F6CDD1DULL;
};

inline void ShardLocks::Unlock() {
  for (uint64_t m = mask_; m != 0; m &= m - 1) {
    keyspace_->locks_[std::countr_zero(m)].mutex.unlock();
  }
  mask_ = 0;
}

}  // namespace flightcache::storage
