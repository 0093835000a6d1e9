// keyspace.cc — keyspace-wide operations over the shards (see keyspace.h).
#include "storage/keyspace.h"

namespace flightcache::storage {

Keyspace::Keyspace() {
  for (auto& s : shards_) s = std::make_unique<Shard>();
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
  size_t n = 0;
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

}  // namespace flightcache::storage
