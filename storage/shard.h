// shard.h — one shard of the keyspace: a hash table of entries, TTLs and expiry.
//
// The table is an array of buckets (a power of two) chaining Entry blocks intrusively.
// Expired keys are removed lazily when looked up, and by ActiveExpireStep(), which walks the
// buckets with a cursor under a budget. Every change to a key is reported to the KeyWatcher
// (the singleflight table applies its Forget rule there) while it watches any key.
// A shard is used by one thread at a time. Storage knows nothing of clients or RESP.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string_view>
#include <vector>

#include "storage/entry.h"
#include "storage/eviction.h"
#include "storage/s3fifo.h"

namespace flightcache::storage {

// Told about every write, delete, expiry and flush of a key while watching() is non-zero.
class KeyWatcher {
 public:
  virtual ~KeyWatcher() = default;
  virtual void OnKeyChanged(std::string_view key) = 0;
  virtual void OnFlush() = 0;
};

struct ShardStats {
  uint64_t expired_keys = 0;
  uint64_t evicted_keys = 0;
};

class Shard {
 public:
  // clock: the keyspace's cached "now" (unix ms), read to stamp new entries' access state.
  explicit Shard(const int64_t* clock);
  ~Shard();
  Shard(const Shard&) = delete;
  Shard& operator=(const Shard&) = delete;

  // Returns the live entry for key, or nullptr. An expired entry is removed first. touch:
  // record the access for eviction (OBJECT, MEMORY and the evictor itself look without it).
  Entry* Find(std::string_view key, uint64_t hash, int64_t now_ms, bool touch = true);
  // Inserts or replaces key's value. expire_at_ms == 0: no expiry. Returns the new entry.
  Entry* Set(std::string_view key, uint64_t hash, std::string_view value, int64_t expire_at_ms);
  // Replaces the value of an existing entry, keeping its expiry. Returns the entry.
  Entry* ReplaceValue(Entry* entry, uint64_t hash, std::string_view value);
  // Sets (or with 0 removes) the expiry of an existing entry. Returns the entry.
  Entry* SetExpire(Entry* entry, uint64_t hash, int64_t expire_at_ms);
  // Removes key; true if it existed (expired or not).
  bool Delete(std::string_view key, uint64_t hash);
  // Removes every key.
  void Flush();

  // Removes expired keys, visiting at most max_buckets buckets. Returns how many it visited
  // that held a volatile key, and adds the removed count to *expired.
  size_t ActiveExpireStep(int64_t now_ms, size_t max_buckets, size_t* expired);
  // Calls fn for each live entry of the bucket(s) at cursor (Redis's reverse-binary SCAN
  // cursor: resizes between calls never skip a key) and returns the next cursor, 0 at the end.
  uint64_t Scan(uint64_t cursor, int64_t now_ms, const std::function<void(const Entry*)>& fn);
  // A random live entry, or nullptr when empty.
  Entry* RandomEntry(int64_t now_ms, uint64_t random);
  // A random live entry with an expiry, or nullptr when there is none. Samples first; when
  // volatile keys are too sparse for sampling, walks the table from a random bucket.
  Entry* RandomVolatileEntry(int64_t now_ms, uint64_t random);
  // Halves the table while it is less than 1/8 full (called from the cron).
  void MaybeShrink();

  // Chooses how access is tracked (LRU clock or LFU counter), and the keyspace's S3-FIFO
  // state to keep up to date (nullptr: none). Attaching puts every key in the main queue.
  void ConfigureEviction(EvictionPolicy policy, S3Fifo* s3fifo);
  // Evicts key (counted as an eviction); false when it is not there.
  bool Evict(std::string_view key, uint64_t hash);
  // S3-FIFO: the entry whose key hashes to hash and is in the given queue, or nullptr.
  Entry* FindByHash(uint64_t hash, bool in_main);
  // S3-FIFO: evicts the entry FindByHash(hash, in_main) finds.
  void EvictByHash(uint64_t hash, bool in_main);

  size_t size() const { return size_; }
  size_t volatile_count() const { return volatile_count_; }
  size_t bucket_count() const { return buckets_.size(); }
  // Bytes held: entry blocks (as the allocator sizes them) and the bucket array.
  size_t memory_bytes() const { return entry_bytes_ + buckets_.size() * sizeof(Entry*); }
  const ShardStats& stats() const { return stats_; }

  void set_watcher(KeyWatcher* watcher) { watcher_ = watcher; }
  void AddWatch() { ++watching_; }
  void RemoveWatch() { --watching_; }

 private:
  Entry** FindLink(std::string_view key, uint64_t hash);
  // The link of the entry whose key hashes to hash and whose S3-FIFO queue is in_main.
  Entry** FindLinkByHash(uint64_t hash, bool in_main);
  // Records an access: LRU clock or LFU counter, and S3-FIFO's frequency.
  void Touch(Entry* e);
  // Gives a new key its access state and queue place.
  void Admit(Entry* e, uint64_t hash);
  // Copies the eviction state of an entry that is being rewritten to its new block.
  static void CarryState(const Entry* from, Entry* to);
  void AttachS3Fifo();
  Entry** LinkOf(const Entry* entry, uint64_t hash);
  void Unlink(Entry** link);
  void Resize(size_t new_bucket_count);
  void Notify(std::string_view key) {
    if (watching_ > 0 && watcher_) watcher_->OnKeyChanged(key);
  }
  size_t BucketOf(uint64_t hash) const { return hash & (buckets_.size() - 1); }

  std::vector<Entry*> buckets_;
  size_t size_ = 0;
  size_t volatile_count_ = 0;
  size_t entry_bytes_ = 0;
  uint64_t expire_cursor_ = 0;
  ShardStats stats_;
  KeyWatcher* watcher_ = nullptr;
  size_t watching_ = 0;
  const int64_t* clock_;
  bool track_lfu_ = false;
  S3Fifo* s3_ = nullptr;  // the keyspace's, while S3-FIFO evicts
  uint64_t rng_ = 0x9E3779B97F4A7C15ULL;
};

// The hash every shard and the keyspace use for keys.
uint64_t HashKey(std::string_view key);

}  // namespace flightcache::storage
