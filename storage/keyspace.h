// keyspace.h — the whole keyspace: a fixed set of shards chosen by key hash.
//
// Commands locate a key's shard with Locate() and work against that shard; keyspace-wide
// operations (DBSIZE, FLUSHALL, SCAN, RANDOMKEY, the expiry cycle) visit every shard.
// SCAN cursors carry the shard index in their low 4 bits and the shard's reverse-binary
// bucket cursor above it.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "storage/eviction.h"
#include "storage/shard.h"

namespace flightcache::storage {

struct KeyLocation {
  Shard* shard;
  uint64_t hash;
};

class Keyspace {
 public:
  static constexpr size_t kShardBits = 4;
  static constexpr size_t kShardCount = size_t{1} << kShardBits;

  Keyspace();

  // The cached "now" (unix ms) that stamps access state; the server refreshes it per batch.
  void SetClock(int64_t now_ms) { now_ms_ = now_ms; }

  KeyLocation Locate(std::string_view key) {
    uint64_t hash = HashKey(key);
    return {shards_[hash >> (64 - kShardBits)].get(), hash};
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

  size_t size() const;
  size_t volatile_count() const;
  size_t memory_bytes() const;
  uint64_t expired_keys() const;
  void Flush();

  // One SCAN step: calls fn for keys under cursor, at least count buckets' worth when there
  // are keys. Returns the next cursor (0 when done).
  uint64_t Scan(uint64_t cursor, size_t count, int64_t now_ms,
                const std::function<void(const Entry*)>& fn);
  Entry* RandomEntry(int64_t now_ms, uint64_t random);

  // One pass of the active expiry cycle: visits buckets_per_shard buckets of every shard and
  // removes the expired keys there. Returns how many it removed; *more is set when at least
  // 10% of the volatile keys seen had expired (Redis's rule for running another pass).
  size_t ActiveExpirePass(int64_t now_ms, size_t buckets_per_shard, bool* more);
  // Shrinks sparse shard tables.
  void ShrinkTables();

  // ---- memory budget and eviction ----
  // maxmemory 0 means no limit. The S3-FIFO queues exist only while they can be used.
  void ConfigureEviction(EvictionPolicy policy, int64_t maxmemory);
  EvictionPolicy policy() const { return policy_; }
  int64_t maxmemory() const { return maxmemory_; }
  // Bytes the process holds outside the keyspace (buffers, tables): measured by the server
  // from the allocator now and then, so that keyspace bytes + baseline tracks used_memory.
  void set_memory_baseline(int64_t bytes) { baseline_ = bytes; }
  int64_t UsedMemoryEstimate() const { return baseline_ + static_cast<int64_t>(memory_bytes()); }
  bool OverMemoryLimit() const { return maxmemory_ > 0 && UsedMemoryEstimate() > maxmemory_; }
  // Evicts keys by the policy until the estimate is within maxmemory. Returns false when it
  // is still over (noeviction, or no key the policy may evict).
  bool MakeRoom();
  uint64_t evicted_keys() const;

 private:
  struct Candidate {
    std::string key;
    uint64_t score;  // higher: evict sooner
  };
  bool EvictOne();
  bool EvictS3Fifo();
  bool EvictRandom(bool volatile_only);
  bool EvictSampled();
  uint64_t NextRandom();

  std::array<std::unique_ptr<Shard>, kShardCount> shards_;
  int64_t now_ms_ = 0;
  EvictionPolicy policy_ = EvictionPolicy::kNoEviction;
  int64_t maxmemory_ = 0;
  int64_t baseline_ = 0;
  size_t evict_cursor_ = 0;
  std::vector<Candidate> pool_;     // Redis's eviction pool: best candidates seen so far
  std::unique_ptr<S3Fifo> s3fifo_;  // only while S3-FIFO evicts under a limit
  uint64_t rng_ = 0x2545F4914F6CDD1DULL;
};

}  // namespace flightcache::storage
