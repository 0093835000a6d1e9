// keyspace.cc — keyspace-wide operations over the shards (see keyspace.h).
#include "storage/keyspace.h"

#include <algorithm>

namespace flightcache::storage {

Keyspace::Keyspace() {
  for (auto& s : shards_) s = std::make_unique<Shard>(&now_ms_);
}

void Keyspace::SetThreadSafe(bool on) {
  thread_safe_ = on;
  if (s3fifo_storage_) s3fifo_storage_->thread_safe = on;
}

size_t Keyspace::size() const {
  size_t n = 0;
  for (const auto& s : shards_) n += s->size();
  return n;
}

size_t Keyspace::volatile_count() const {
  size_t n = 0;
  for (const auto& s : shards_) n += s->volatile_count();
  return n;
}

size_t Keyspace::memory_bytes() const {
  const S3Fifo* s3 = s3fifo_.load(std::memory_order_relaxed);
  size_t n = s3 ? s3->queues.memory_bytes() : 0;
  for (const auto& s : shards_) n += s->memory_bytes();
  return n;
}

uint64_t Keyspace::expired_keys() const {
  uint64_t n = 0;
  for (const auto& s : shards_) n += s->stats().expired_keys;
  return n;
}

void Keyspace::Flush() {
  for (auto& s : shards_) s->Flush();
  if (S3Fifo* s3 = s3fifo_.load(std::memory_order_relaxed)) {
    MaybeLock lock(s3->mutex, thread_safe_);
    s3->queues.Clear();
    s3->small_count = 0;
  }
}

uint64_t Keyspace::Scan(uint64_t cursor, size_t count, int64_t now_ms,
                        const std::function<void(const Entry*)>& fn) {
  size_t shard_index = cursor & (kShardCount - 1);
  uint64_t bucket_cursor = cursor >> kShardBits;
  size_t visited = 0;
  while (visited < count) {
    Shard& s = *shards_[shard_index];
    if (s.size() == 0) {
      bucket_cursor = 0;
    } else {
      bucket_cursor = s.Scan(bucket_cursor, now_ms, fn);
      ++visited;
    }
    if (bucket_cursor == 0) {
      ++shard_index;
      if (shard_index == kShardCount) return 0;
    }
  }
  return (bucket_cursor << kShardBits) | shard_index;
}

Entry* Keyspace::RandomEntry(int64_t now_ms, uint64_t random) {
  size_t total = size();
  if (total == 0) return nullptr;
  // Pick a shard with probability proportional to its size.
  uint64_t pick = random % total;
  for (auto& s : shards_) {
    if (pick < s->size()) {
      Entry* e = s->RandomEntry(now_ms, random * 0x2545F4914F6CDD1DULL + 1);
      if (e) return e;
      break;
    }
    pick -= s->size();
  }
  for (auto& s : shards_) {
    if (Entry* e = s->RandomEntry(now_ms, random)) return e;
  }
  return nullptr;
}

size_t Keyspace::ActiveExpirePass(int64_t now_ms, size_t buckets_per_shard, bool* more) {
  size_t expired = 0;
  size_t seen = 0;
  for (auto& s : shards_) {
    if (s->volatile_count() == 0) continue;  // lock-free check: most shards are skipped cheaply
    MaybeLock lock(s->mutex(), thread_safe_);
    seen += s->ActiveExpireStep(now_ms, buckets_per_shard, &expired);
  }
  *more = seen > 0 && expired * 10 >= seen;
  return expired;
}

void Keyspace::ShrinkTables() {
  for (auto& s : shards_) {
    if (!s->WantsShrink()) continue;
    MaybeLock lock(s->mutex(), thread_safe_);
    s->MaybeShrink();
  }
}

bool Keyspace::RehashPass(size_t buckets_per_shard) {
  bool more = false;
  for (auto& s : shards_) {
    if (!s->RehashingHint()) continue;  // lock-free check: most shards are not rehashing
    MaybeLock lock(s->mutex(), thread_safe_);
    more |= s->RehashStep(buckets_per_shard);
  }
  return more;
}

namespace {

constexpr size_t kPoolSize = 16;        // EVPOOL_SIZE
constexpr size_t kSamplesPerRound = 5;  // maxmemory-samples
// One MakeRoom() call evicts at most this many keys: a huge CONFIG SET maxmemory drop is
// worked off over several calls (the cron calls it too) instead of stalling one command.
constexpr size_t kMaxEvictionsPerCall = 10000;

}  // namespace

void Keyspace::ConfigureEviction(EvictionPolicy policy, int64_t maxmemory) {
  MaybeLock evict_lock(evict_mutex_, thread_safe_);
  ShardLocks shard_locks = LockAllShards();
  policy_.store(policy, std::memory_order_relaxed);
  maxmemory_.store(maxmemory, std::memory_order_relaxed);
  pool_.clear();
  const bool queues = policy == EvictionPolicy::kAllKeysS3Fifo && maxmemory > 0;
  S3Fifo* active = s3fifo_.load(std::memory_order_relaxed);
  if (queues && !active) {
    if (!s3fifo_storage_) {
      s3fifo_storage_ = std::make_unique<S3Fifo>();
      s3fifo_storage_->thread_safe = thread_safe_;
    }
    active = s3fifo_storage_.get();
    for (auto& s : shards_) s->ConfigureEviction(policy, active);
    {
      MaybeLock lock(active->mutex, thread_safe_);
      active->queues.SizeGhostFor(size());
    }
    s3fifo_.store(active, std::memory_order_relaxed);
  } else {
    for (auto& s : shards_) s->ConfigureEviction(policy, queues ? active : nullptr);
    if (!queues && active) {
      // Detached from every shard: empty the queues (their memory goes back) but keep the
      // object, which a lock-free memory_bytes() may still be reading.
      s3fifo_.store(nullptr, std::memory_order_relaxed);
      MaybeLock lock(active->mutex, thread_safe_);
      active->queues.Clear();
      active->small_count = 0;
    }
  }
}

uint64_t Keyspace::evicted_keys() const {
  uint64_t n = 0;
  for (const auto& s : shards_) n += s->stats().evicted_keys;
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
  for (size_t evicted = 0; UsedMemoryEstimate() > limit; ++evicted) {
    if (evicted >= kMaxEvictionsPerCall) return false;
    // Keys that have expired but are not removed yet are skipped by the samplers; when
    // nothing else may go, they are freed before giving up.
    if (!EvictOne(policy) && RemoveExpiredKeys() == 0) return false;
  }
  return true;
}

size_t Keyspace::RemoveExpiredKeys() {
  size_t expired = 0;
  for (auto& s : shards_) {
    if (s->volatile_count() == 0) continue;
    MaybeLock lock(s->mutex(), thread_safe_);
    s->ActiveExpireStep(Now(), s->bucket_count(), &expired);
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
  for (size_t i = 0; i < kShardCount; ++i) {
    Shard& s = *shards_[evict_cursor_];
    evict_cursor_ = (evict_cursor_ + 1) % kShardCount;
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
  for (size_t round = 0; round < kShardCount; ++round) {
    Shard& s = *shards_[evict_cursor_];
    evict_cursor_ = (evict_cursor_ + 1) % kShardCount;
    if (s.size() == 0 || (volatile_only && s.volatile_count() == 0)) continue;  // lock-free hint
    {
      MaybeLock lock(s.mutex(), thread_safe_);
      SampleInto(s, policy, volatile_only, now_ms);
    }
    while (!pool_.empty()) {
      auto best = std::max_element(pool_.begin(), pool_.end(),
                                   [](const auto& a, const auto& b) { return a.score < b.score; });
      std::string key = std::move(best->key);
      pool_.erase(best);
      KeyLocation at = Locate(key);
      MaybeLock lock(at.shard->mutex(), thread_safe_);
      Entry* e = at.shard->Find(key, at.hash, now_ms, false);
      if (!e || (volatile_only && !(e->flags & kHasExpire))) continue;  // gone or changed
      return at.shard->Evict(key, at.hash);
    }
  }
  return false;
}

// Adds a few random keys of s to the pool, scored by the policy. Holds s's lock.
void Keyspace::SampleInto(Shard& s, EvictionPolicy policy, bool volatile_only, int64_t now_ms) {
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
    auto same =
        std::find_if(pool_.begin(), pool_.end(), [&](const Candidate& c) { return c.key == key; });
    if (same != pool_.end()) {
      same->score = score;
    } else if (pool_.size() < kPoolSize) {
      pool_.push_back(Candidate{std::string(key), score});
    } else {
      auto worst = std::min_element(pool_.begin(), pool_.end(),
                                    [](const auto& a, const auto& b) { return a.score < b.score; });
      if (worst->score < score) *worst = Candidate{std::string(key), score};
    }
    if (pool_.size() >= kSamplesPerRound && i + 1 >= kSamplesPerRound) break;
  }
}

// S3-FIFO's eviction (Algorithm 1 of the paper) over the keyspace-wide queues. The queues hold
// key hashes; a hash whose key is gone, or is in the other queue now, is stale and skipped.
// Locking: a hash is popped under the queue mutex, which is released before the victim's shard
// is locked (order: shard, then queue); pushes back happen with the shard lock held. Evictors
// are serialized by the eviction mutex, so a popped hash is never handled twice.
bool Keyspace::EvictS3Fifo() {
  S3Fifo* s3 = s3fifo_.load(std::memory_order_relaxed);
  if (!s3) return false;
  S3FifoQueues& q = s3->queues;
  const size_t keys = size();
  if (keys == 0) return false;
  // Each step evicts, drops a stale hash, or moves a key and lowers its frequency, so the
  // loop ends; the bound only guards against a logic error.
  size_t max_steps;
  {
    MaybeLock lock(s3->mutex, thread_safe_);
    if ((keys & 1023) == 0) q.SizeGhostFor(keys);
    max_steps = 4 * (q.small_slots() + q.main_slots()) + 16;
  }
  for (size_t step = 0; step < max_steps; ++step) {
    uint64_t hash;
    bool from_small;
    {
      MaybeLock lock(s3->mutex, thread_safe_);
      const size_t small = s3->small_count;
      from_small = small > 0 && (small * 10 >= keys || q.main_slots() == 0);
      if (!(from_small ? q.PopSmall(&hash) : q.PopMain(&hash))) {
        if (from_small) s3->small_count = 0;  // the count and the queue disagree: trust the queue
        if (!from_small && small == 0) return false;
        continue;
      }
    }
    Shard& shard = *shards_[ShardIndex(hash)];
    MaybeLock shard_lock(shard.mutex(), thread_safe_);
    Entry* e = shard.FindByHash(hash, !from_small);
    if (!e) continue;
    const unsigned freq = (e->flags & kFreqMask) >> kFreqShift;
    if (from_small) {
      if (freq > 0) {  // read while in S: promote to M, keeping its frequency
        e->flags |= kInMainQueue;
        MaybeLock lock(s3->mutex, thread_safe_);
        --s3->small_count;
        q.PushMain(hash);
        continue;
      }
      MaybeLock lock(s3->mutex, thread_safe_);
      q.RememberGhost(hash);  // a one-hit wonder: evicted, but remembered in G
    } else if (freq > 0) {    // read since it last passed the tail: one more round
      e->flags = static_cast<uint8_t>(e->flags - (1 << kFreqShift));
      MaybeLock lock(s3->mutex, thread_safe_);
      q.PushMain(hash);
      continue;
    }
    shard.EvictByHash(hash, !from_small);  // takes the queue mutex itself (small_count)
    return true;
  }
  return false;
}

}  // namespace flightcache::storage
