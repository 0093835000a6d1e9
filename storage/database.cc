// database.cc — one database's shard-wide operations (see database.h).
#include "storage/database.h"

namespace flightcache::storage {

Database::Database(size_t index, const std::atomic<int64_t>* clock,
                   const std::array<std::mutex*, kShardCount>& locks, LazyFree* lazy_free)
    : index_(index) {
  for (size_t i = 0; i < kShardCount; ++i) {
    shards_[i] = std::make_unique<Shard>(clock, locks[i]);
    shards_[i]->set_used_flag(&used_);
    shards_[i]->set_lazy_free(lazy_free);
  }
}

size_t Database::size() const {
  size_t n = 0;
  for (const auto& s : shards_) n += s->size();
  return n;
}

size_t Database::volatile_count() const {
  size_t n = 0;
  for (const auto& s : shards_) n += s->volatile_count();
  return n;
}

size_t Database::memory_bytes() const {
  size_t n = 0;
  for (const auto& s : shards_) n += s->memory_bytes();
  return n;
}

void Database::Flush(bool async) {
  for (auto& s : shards_) s->Flush(async);
  avg_ttl_ms_.store(0, std::memory_order_relaxed);
}

void Database::SwapContents(Database& other) {
  for (size_t i = 0; i < kShardCount; ++i) shards_[i]->SwapContents(*other.shards_[i]);
  const int64_t ttl = avg_ttl_ms_.load(std::memory_order_relaxed);
  avg_ttl_ms_.store(other.avg_ttl_ms_.load(std::memory_order_relaxed), std::memory_order_relaxed);
  other.avg_ttl_ms_.store(ttl, std::memory_order_relaxed);
  const bool used =
      used_.load(std::memory_order_relaxed) || other.used_.load(std::memory_order_relaxed);
  used_.store(used, std::memory_order_relaxed);
  other.used_.store(used, std::memory_order_relaxed);
}

void Database::NoteSampledTtl(int64_t mean_ttl_ms) {
  const int64_t old = avg_ttl_ms_.load(std::memory_order_relaxed);
  // Redis's activeExpireCycle: the new sample weighs 2%.
  avg_ttl_ms_.store(old == 0 ? mean_ttl_ms : (old / 50) * 49 + mean_ttl_ms / 50,
                    std::memory_order_relaxed);
}

uint64_t Database::Scan(uint64_t cursor, size_t count, int64_t now_ms,
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

Entry* Database::RandomEntry(int64_t now_ms, uint64_t random) {
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

}  // namespace flightcache::storage
