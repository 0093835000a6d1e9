// keyspace.cc — keyspace-wide operations over the shards (see keyspace.h).
#include "storage/keyspace.h"

#include <algorithm>

namespace flightcache::storage {

Keyspace::Keyspace() {
  for (auto& s : shards_) s = std::make_unique<Shard>(&now_ms_);
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
  size_t n = s3fifo_ ? s3fifo_->queues.memory_bytes() : 0;
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
  if (s3fifo_) {
    s3fifo_->queues.Clear();
    s3fifo_->small_count = 0;
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
    if (s->volatile_count() > 0) seen += s->ActiveExpireStep(now_ms, buckets_per_shard, &expired);
  }
  *more = seen > 0 && expired * 10 >= seen;
  return expired;
}

void Keyspace::ShrinkTables() {
  for (auto& s : shards_) s->MaybeShrink();
}

namespace {

constexpr size_t kPoolSize = 16;        // EVPOOL_SIZE
constexpr size_t kSamplesPerRound = 5;  // maxmemory-samples
// One MakeRoom() call evicts at most this many keys: a huge CONFIG SET maxmemory drop is
// worked off over several calls (the cron calls it too) instead of stalling one command.
constexpr size_t kMaxEvictionsPerCall = 10000;

}  // namespace

void Keyspace::ConfigureEviction(EvictionPolicy policy, int64_t maxmemory) {
  policy_ = policy;
  maxmemory_ = maxmemory;
  pool_.clear();
  const bool queues = policy == EvictionPolicy::kAllKeysS3Fifo && maxmemory > 0;
  if (queues && !s3fifo_) {
    s3fifo_ = std::make_unique<S3Fifo>();
    for (auto& s : shards_) s->ConfigureEviction(policy, s3fifo_.get());
    s3fifo_->queues.SizeGhostFor(size());
  } else {
    for (auto& s : shards_) s->ConfigureEviction(policy, queues ? s3fifo_.get() : nullptr);
    if (!queues) s3fifo_.reset();
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
  if (maxmemory_ <= 0) return true;
  for (size_t evicted = 0; UsedMemoryEstimate() > maxmemory_; ++evicted) {
    if (evicted >= kMaxEvictionsPerCall || !EvictOne()) return false;
  }
  return true;
}

bool Keyspace::EvictOne() {
  switch (policy_) {
    case EvictionPolicy::kNoEviction:
      return false;
    case EvictionPolicy::kAllKeysS3Fifo:
      return EvictS3Fifo();
    case EvictionPolicy::kAllKeysRandom:
      return EvictRandom(false);
    case EvictionPolicy::kVolatileRandom:
      return EvictRandom(true);
    default:
      return EvictSampled();
  }
}

bool Keyspace::EvictRandom(bool volatile_only) {
  for (size_t i = 0; i < kShardCount; ++i) {
    Shard& s = *shards_[evict_cursor_];
    evict_cursor_ = (evict_cursor_ + 1) % kShardCount;
    if (s.size() == 0 || (volatile_only && s.volatile_count() == 0)) continue;
    Entry* e = volatile_only ? s.RandomVolatileEntry(now_ms_, NextRandom())
                             : s.RandomEntry(now_ms_, NextRandom());
    if (!e) continue;
    std::string_view key = EntryKey(e);
    return s.Evict(key, HashKey(key));
  }
  return false;
}

// Redis's approximated LRU/LFU/TTL: sample a few keys of a shard into a pool of the best
// candidates seen, then evict the best candidate that still exists.
bool Keyspace::EvictSampled() {
  const bool volatile_only = PolicyIsVolatileOnly(policy_);
  for (size_t round = 0; round < kShardCount; ++round) {
    Shard& s = *shards_[evict_cursor_];
    evict_cursor_ = (evict_cursor_ + 1) % kShardCount;
    if (s.size() == 0 || (volatile_only && s.volatile_count() == 0)) continue;
    for (size_t i = 0; i < kSamplesPerRound * 4 && i < s.size() * 4; ++i) {
      Entry* e = volatile_only ? s.RandomVolatileEntry(now_ms_, NextRandom())
                               : s.RandomEntry(now_ms_, NextRandom());
      if (!e) break;
      uint64_t score = 0;
      switch (policy_) {
        case EvictionPolicy::kAllKeysLfu:
        case EvictionPolicy::kVolatileLfu:
          score = 255 - LfuCounter(e->access, now_ms_);
          break;
        case EvictionPolicy::kVolatileTtl:
          score = UINT64_MAX - static_cast<uint64_t>(EntryExpireAt(e));
          break;
        default:
          score = LruIdleMs(e->access, now_ms_);
          break;
      }
      std::string_view key = EntryKey(e);
      auto same = std::find_if(pool_.begin(), pool_.end(),
                               [&](const Candidate& c) { return c.key == key; });
      if (same != pool_.end()) {
        same->score = score;
      } else if (pool_.size() < kPoolSize) {
        pool_.push_back(Candidate{std::string(key), score});
      } else {
        auto worst = std::min_element(pool_.begin(), pool_.end(), [](const auto& a, const auto& b) {
          return a.score < b.score;
        });
        if (worst->score < score) *worst = Candidate{std::string(key), score};
      }
      if (pool_.size() >= kSamplesPerRound && i + 1 >= kSamplesPerRound) break;
    }
    while (!pool_.empty()) {
      auto best = std::max_element(pool_.begin(), pool_.end(),
                                   [](const auto& a, const auto& b) { return a.score < b.score; });
      std::string key = std::move(best->key);
      pool_.erase(best);
      KeyLocation at = Locate(key);
      Entry* e = at.shard->Find(key, at.hash, now_ms_, false);
      if (!e || (volatile_only && !(e->flags & kHasExpire))) continue;  // gone or changed
      return at.shard->Evict(key, at.hash);
    }
  }
  return false;
}

// S3-FIFO's eviction (Algorithm 1 of the paper) over the keyspace-wide queues. The queues hold
// key hashes; a hash whose key is gone, or is in the other queue now, is stale and skipped.
bool Keyspace::EvictS3Fifo() {
  if (!s3fifo_) return false;
  S3FifoQueues& q = s3fifo_->queues;
  size_t& small = s3fifo_->small_count;
  const size_t keys = size();
  if (keys == 0) return false;
  if ((keys & 1023) == 0) q.SizeGhostFor(keys);
  // Each step evicts, drops a stale hash, or moves a key and lowers its frequency, so the
  // loop ends; the bound only guards against a logic error.
  const size_t max_steps = 4 * (q.small_slots() + q.main_slots()) + 16;
  for (size_t step = 0; step < max_steps; ++step) {
    const bool from_small = small > 0 && (small * 10 >= keys || q.main_slots() == 0);
    uint64_t hash;
    if (!(from_small ? q.PopSmall(&hash) : q.PopMain(&hash))) {
      if (from_small) small = 0;  // the count and the queue disagree: trust the queue
      if (!from_small && small == 0) return false;
      continue;
    }
    Shard& shard = *shards_[hash >> (64 - kShardBits)];
    Entry* e = shard.FindByHash(hash, !from_small);
    if (!e) continue;
    const unsigned freq = (e->flags & kFreqMask) >> kFreqShift;
    if (from_small) {
      if (freq > 0) {  // read while in S: promote to M, keeping its frequency
        e->flags |= kInMainQueue;
        --small;
        q.PushMain(hash);
        continue;
      }
      q.RememberGhost(hash);  // a one-hit wonder: evicted, but remembered in G
    } else if (freq > 0) {    // read since it last passed the tail: one more round
      e->flags = static_cast<uint8_t>(e->flags - (1 << kFreqShift));
      q.PushMain(hash);
      continue;
    }
    shard.EvictByHash(hash, !from_small);
    return true;
  }
  return false;
}

}  // namespace flightcache::storage
