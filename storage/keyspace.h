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
#include <string_view>

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

  KeyLocation Locate(std::string_view key) {
    uint64_t hash = HashKey(key);
    return {shards_[hash >> (64 - kShardBits)].get(), hash};
  }
  Shard& shard(size_t index) { return *shards_[index]; }
  const Shard& shard(size_t index) const { return *shards_[index]; }

  // Convenience single-key operations.
  Entry* Find(std::string_view key, int64_t now_ms) {
    KeyLocation at = Locate(key);
    return at.shard->Find(key, at.hash, now_ms);
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

 private:
  std::array<std::unique_ptr<Shard>, kShardCount> shards_;
};

}  // namespace flightcache::storage
