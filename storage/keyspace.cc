// keyspace.cc — keyspace-wide operations over the shards (see keyspace.h).
#include "storage/keyspace.h"

#include <algorithm>

namespace flightcache::storage {

Keyspace::Keyspace(size_t databases) {
  if (databases < 1) databases = 1;
  std::array<std::mutex*, kShardCount> locks;
  for (size_t i = 0; i < kShardCount; ++i) locks[i] = &locks_[i].mutex;
  dbs_.reserve(databases);
  for (size_t i = 0; i < databases; ++i) {
    dbs_.push_back(std::make_unique<Database>(i, &now_ms_, locks, &lazy_free_));
  }
}

void Keyspace::SetThreadSafe(bool on) { thread_safe_ = on; }

// The totals skip databases never used: their shards hold no key and change nothing.
size_t Keyspace::size() const {
  size_t n = 0;
  for (const auto& d : dbs_) n += d->used() ? d->size() : 0;
  return n;
}

size_t Keyspace::volatile_count() const {
  size_t n = 0;
  for (const auto& d : dbs_) n += d->used() ? d->volatile_count() : 0;
  return n;
}

size_t Keyspace::memory_bytes() const {
  // An unused database holds its empty bucket arrays, the same for each: measured once.
  static const size_t kEmptyDatabaseBytes = [] {
    std::atomic<int64_t> clock{0};
    std::array<std::mutex, kShardCount> mutexes;
    std::array<std::mutex*, kShardCount> locks;
    for (size_t i = 0; i < kShardCount; ++i) locks[i] = &mutexes[i];
    return Database(0, &clock, locks).memory_bytes();
  }();
  size_t n = 0;
  for (const auto& d : dbs_) n += d->used() ? d->memory_bytes() : kEmptyDatabaseBytes;
  return n;
}

uint64_t Keyspace::expired_keys() const {
  uint64_t n = 0;
  for (size_t i = 0; i < FlatCount(); ++i) {
    n += dbs_[i / kShardCount]->shard(i % kShardCount).stats().expired_keys;
  }
  return n;
}

void Keyspace::FlushAll(bool async) {
  for (auto& d : dbs_) d->Flush(async);
}

void Keyspace::SwapDatabases(size_t a, size_t b) {
  if (a == b) return;
  dbs_[a]->SwapContents(*dbs_[b]);
}

size_t Keyspace::ActiveExpirePass(int64_t now_ms, size_t buckets_per_shard, bool* more) {
  size_t expired = 0;
  size_t seen = 0;
  for (auto& d : dbs_) {
    if (!d->used()) continue;
    if (d->volatile_count() == 0) {
      d->ClearAvgTtl();  // as Redis: no volatile keys, no estimate
      continue;
    }
    size_t db_seen = 0, db_expired = 0;
    int64_t ttl_sum = 0;
    for (size_t i = 0; i < kShardCount; ++i) {
      Shard& s = d->shard(i);
      if (s.volatile_count() == 0) continue;  // lock-free check: most shards are skipped cheaply
      MaybeLock lock(s.mutex(), thread_safe_);
      db_seen += s.ActiveExpireStep(now_ms, buckets_per_shard, &db_expired, &ttl_sum);
    }
    if (db_seen > db_expired) {
      d->NoteSampledTtl(ttl_sum / static_cast<int64_t>(db_seen - db_expired));
    }
    seen += db_seen;
    expired += db_expired;
  }
  *more = seen > 0 && expired * 10 >= seen;
  return expired;
}

void Keyspace::ShrinkTables() {
  for (size_t i = 0; i < FlatCount(); ++i) {
    Shard& s = FlatShard(i);
    if (!s.WantsShrink()) continue;
    MaybeLock lock(s.mutex(), thread_safe_);
    s.MaybeShrink();
  }
}

bool Keyspace::RehashPass(size_t buckets_per_shard) {
  bool more = false;
  for (size_t i = 0; i < FlatCount(); ++i) {
    Shard& s = FlatShard(i);
    if (!s.RehashingHint()) continue;  // lock-free check: most shards are not rehashing
    MaybeLock lock(s.mutex(), thread_safe_);
    more |= s.RehashStep(buckets_per_shard);
  }
  return more;
}

namespace {

constexpr size_t kPoolSize = 16;        // EVPOOL_SIZE
constexpr size_t kSamplesPerRound = 5;  // maxmemory-samples
// One MakeRoom() call evicts at most this many keys: a huge CONFIG SET maxmemory drop is
// worked off over several calls (the cron calls it too) instead of stalling one command.
constexpr size_t kMaxEvictionsPerCall = 10000;
// S3-FIFO: queue steps one shard runs per lock hold.
constexpr size_t kS3FifoStepsPerLock = 64;

}  // namespace

void Keyspace::ConfigureEviction(EvictionPolicy policy, int64_t maxmemory) {
  MaybeLock evict_lock(evict_mutex_, thread_safe_);
  ShardLocks shard_locks = LockAllShards();
  policy_.store(policy, std::memory_order_relaxed);
  maxmemory_.store(maxmemory, std::memory_order_relaxed);
  pool_.clear();
  const bool queues = policy == EvictionPolicy::kAllKeysS3Fifo && maxmemory > 0;
  for (size_t i = 0; i < FlatCount(); ++i) FlatShard(i).ConfigureEviction(policy, queues);
}

uint64_t Keyspace::evicted_keys() const {
  uint64_t n = 0;
  for (size_t i = 0; i < FlatCount(); ++i) {
    n += dbs_[i / kShardCount]->shard(i % kShardCount).stats().evicted_keys;
  }
  return n;
}

uint64_t Keyspace::NextRandom() {
  rng_ ^= rng_ >> 12;
  rng_ ^= rng_ << 25;
  rng_ ^= rng_ >> 27;
  return rng_ * 0x2545F4914F6CDD1DULL;
}

bool Keyspace::MakeRoom() {
  if (maxmemory() <= 0 || !OverMemoryLimit()) return true;  // lock-free fast path
  MaybeLock evict_lock(evict_mutex_, thread_safe_);
  // Under the eviction mutex ConfigureEviction cannot run: the policy and limit stay put.
  const int64_t limit = maxmemory();
  const EvictionPolicy policy = this->policy();
  if (limit <= 0) return true;
  for (size_t evicted = 0; EvictionMemoryEstimate() > limit; ++evicted) {
    if (evicted >= kMaxEvictionsPerCall) return false;
    // Keys that have expired but are not removed yet are skipped by the samplers; when
    // nothing else may go, they are freed before giving up.
    if (!EvictOne(policy) && RemoveExpiredKeys() == 0) return false;
  }
  return true;
}

size_t Keyspace::RemoveExpiredKeys() {
  size_t expired = 0;
  for (size_t i = 0; i < FlatCount(); ++i) {
    Shard& s = FlatShard(i);
    if (s.volatile_count() == 0) continue;
    MaybeLock lock(s.mutex(), thread_safe_);
    s.ActiveExpireStep(Now(), s.bucket_count(), &expired, /*ttl_sum_ms=*/nullptr,
                       /*reclaim_stale=*/true);
  }
  return expired;
}

bool Keyspace::EvictOne(EvictionPolicy policy) {
  switch (policy) {
    case EvictionPolicy::kNoEviction:
      return false;
    case EvictionPolicy::kAllKeysS3Fifo:
      return EvictS3Fifo();
    case EvictionPolicy::kAllKeysRandom:
      return EvictRandom(false);
    case EvictionPolicy::kVolatileRandom:
      return EvictRandom(true);
    default:
      return EvictSampled(policy);
  }
}

bool Keyspace::EvictRandom(bool volatile_only) {
  for (size_t i = 0; i < FlatCount(); ++i) {
    Shard& s = FlatShard(evict_cursor_ % FlatCount());
    evict_cursor_ = (evict_cursor_ + 1) % FlatCount();
    if (s.size() == 0 || (volatile_only && s.volatile_count() == 0)) continue;  // lock-free hint
    MaybeLock lock(s.mutex(), thread_safe_);
    Entry* e = volatile_only ? s.RandomVolatileEntry(Now(), NextRandom())
                             : s.RandomEntry(Now(), NextRandom());
    if (!e) continue;
    std::string_view key = EntryKey(e);
    return s.Evict(key, HashKey(key));
  }
  return false;
}

// Redis's approximated LRU/LFU/TTL: sample a few keys of a shard into a pool of the best
// candidates seen, then evict the best candidate that still exists. The pool holds key copies,
// so it outlives the shard lock it was filled under.
bool Keyspace::EvictSampled(EvictionPolicy policy) {
  const bool volatile_only = PolicyIsVolatileOnly(policy);
  const int64_t now_ms = Now();
  for (size_t round = 0; round < FlatCount(); ++round) {
    const size_t flat = evict_cursor_ % FlatCount();
    Database& db = *dbs_[flat / kShardCount];
    Shard& s = db.shard(flat % kShardCount);
    evict_cursor_ = (flat + 1) % FlatCount();
    if (s.size() == 0 || (volatile_only && s.volatile_count() == 0)) continue;  // lock-free hint
    {
      MaybeLock lock(s.mutex(), thread_safe_);
      SampleInto(db, s, policy, volatile_only, now_ms);
    }
    while (!pool_.empty()) {
      auto best = std::max_element(pool_.begin(), pool_.end(),
                                   [](const auto& a, const auto& b) { return a.score < b.score; });
      std::string key = std::move(best->key);
      Database* key_db = best->db;
      pool_.erase(best);
      KeyLocation at = key_db->Locate(key);
      MaybeLock lock(at.shard->mutex(), thread_safe_);
      Entry* e = at.shard->Find(key, at.hash, now_ms, false);
      if (!e || (volatile_only && !(e->flags & kHasExpire))) continue;  // gone or changed
      return at.shard->Evict(key, at.hash);
    }
  }
  return false;
}

// Adds a few random keys of s to the pool, scored by the policy. Holds s's lock.
void Keyspace::SampleInto(Database& db, Shard& s, EvictionPolicy policy, bool volatile_only,
                          int64_t now_ms) {
  for (size_t i = 0; i < kSamplesPerRound * 4 && i < s.size() * 4; ++i) {
    Entry* e = volatile_only ? s.RandomVolatileEntry(now_ms, NextRandom())
                             : s.RandomEntry(now_ms, NextRandom());
    if (!e) break;
    uint64_t score = 0;
    switch (policy) {
      case EvictionPolicy::kAllKeysLfu:
      case EvictionPolicy::kVolatileLfu:
        score = 255 - LfuCounter(e->access, now_ms);
        break;
      case EvictionPolicy::kVolatileTtl:
        score = UINT64_MAX - static_cast<uint64_t>(EntryExpireAt(e));
        break;
      default:
        score = LruIdleMs(e->access, now_ms);
        break;
    }
    std::string_view key = EntryKey(e);
    auto same = std::find_if(pool_.begin(), pool_.end(),
                             [&](const Candidate& c) { return c.db == &db && c.key == key; });
    if (same != pool_.end()) {
      same->score = score;
    } else if (pool_.size() < kPoolSize) {
      pool_.push_back(Candidate{std::string(key), &db, score});
    } else {
      auto worst = std::min_element(pool_.begin(), pool_.end(),
                                    [](const auto& a, const auto& b) { return a.score < b.score; });
      if (worst->score < score) *worst = Candidate{std::string(key), &db, score};
    }
    if (pool_.size() >= kSamplesPerRound && i + 1 >= kSamplesPerRound) break;
  }
}

// S3-FIFO over the shards' own queues. Which queue to evict from is decided as the paper does,
// but from the keyspace-wide counts (the small queue while it holds at least 10% of all keys, or
// when main is empty); the shard whose queue of that kind is longest then runs the algorithm on
// it. The counts are read lock-free, so they may be a little stale: a shard that finds its queue
// empty corrects its count and the choice is made again. A shard runs at most
// kS3FifoStepsPerLock queue steps per lock hold, so a long run of promotions and reinsertions
// never holds one shard lock for long.
bool Keyspace::EvictS3Fifo() {
  // Every step makes progress (see Shard::EvictS3Fifo), so an eviction comes within about four
  // steps per queued hash; the bound only guards against a logic error.
  const size_t flat_count = FlatCount();
  size_t slots = 0;
  for (size_t i = 0; i < flat_count; ++i) {
    if (FlatUsed(i)) slots += FlatShard(i).queue_bytes() / sizeof(uint64_t);
  }
  const size_t max_rounds = 4 * slots / kS3FifoStepsPerLock + 4 * flat_count + 16;
  for (size_t round = 0; round < max_rounds; ++round) {
    size_t keys = 0, small = 0;
    for (size_t i = 0; i < flat_count; ++i) {
      if (!FlatUsed(i)) continue;
      const Shard& s = FlatShard(i);
      keys += s.size();
      small += std::min(s.s3fifo_small_count(), s.size());
    }
    if (keys == 0) return false;
    const bool from_small = small > 0 && (small * 10 >= keys || small == keys);
    // The longest queue of that kind; ties go to the first shard after the last one picked.
    size_t best = flat_count, best_len = 0;
    for (size_t k = 0; k < flat_count; ++k) {
      const size_t i = (evict_cursor_ + k) % flat_count;
      if (!FlatUsed(i)) continue;
      const Shard& s = FlatShard(i);
      const size_t small_here = std::min(s.s3fifo_small_count(), s.size());
      const size_t len = from_small ? small_here : s.size() - small_here;
      if (len > best_len) {
        best = i;
        best_len = len;
      }
    }
    if (best == flat_count) return false;
    evict_cursor_ = (best + 1) % flat_count;
    Shard& s = FlatShard(best);
    MaybeLock lock(s.mutex(), thread_safe_);
    if (s.EvictS3Fifo(kS3FifoStepsPerLock, from_small) == Shard::S3FifoResult::kEvicted) {
      return true;
    }
  }
  return false;
}

}  // namespace flightcache::storage
