// shard.h — one shard of the keyspace: a hash table of entries, TTLs and expiry.
//
// The table is an array of buckets (a power of two) chaining Entry blocks intrusively. It grows
// and shrinks incrementally, as Redis's dict does: a resize allocates a second table, and every
// lookup, write and delete then moves a few buckets of the old table into it (the cron moves more
// under a time budget), so no single call ever rehashes the whole shard. While rehashing, a key is
// in exactly one of the two tables: old-table buckets below the rehash index are already moved
// (and empty), new keys go to the new table, and lookups check both.
// Expired keys are removed lazily when looked up, and by ActiveExpireStep(), which walks the
// buckets with a cursor under a budget. Every change to a key is reported to the KeyWatcher
// (the singleflight table applies its Forget rule there) while it watches any key.
// Storage knows nothing of clients or RESP.
// A removed non-string value is freed through the keyspace's LazyFree (storage/lazyfree.h), which
// frees a big one on its own thread when the removal's FreeReason allows it; without a LazyFree
// (set_lazy_free), every value is freed at once.
//
// Locking (when the keyspace is thread-safe; see keyspace.h for the whole picture):
// - Every method that is not listed below must be called with this shard's mutex() held
//   (Keyspace::LockShards / LockAllShards). None of them locks the shard itself.
// - Lock-free, callable from any thread: size(), volatile_count(), bucket_count(),
//   memory_bytes(), stats(), AddWatch(), RemoveWatch(). The counters behind them are written
//   only under the shard lock and read with relaxed atomic loads: a reader sees a recent value,
//   not a snapshot consistent across counters or shards.
// - set_watcher(): before the server starts its threads (or with the shard lock held).
// - The shard's S3-FIFO queues are its own, guarded by the shard lock like the table: no method
//   takes any other lock for them.
// - The KeyWatcher is called with the shard lock held: it may take its own lock (lock order:
//   shard, then watcher) but must not lock a shard.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <functional>
#include <memory>
#include <mutex>
#include <string_view>
#include <utility>
#include <vector>

#include "storage/entry.h"
#include "storage/eviction.h"
#include "storage/lazyfree.h"
#include "storage/s3fifo.h"
#include "storage/sync.h"

namespace flightcache::storage {

// What happened to a key, as the KeyWatcher hears of it (keyspace notifications and client
// tracking name events after it; the Forget rule only needs to know that something happened).
enum class KeyChangeKind : uint8_t {
  kCreated,    // a value stored under a key that had none (Set, SetObject)
  kWritten,    // a value replaced (Set over a key) or changed in place (ReplaceValue, ObjectWrite)
  kExpireSet,  // SetExpire with an expiry
  kPersisted,  // SetExpire(0)
  kDeleted,    // Delete or TakeObject of a key that was there
  kAbsentDelete,  // Delete of a key that was not there (the Forget rule still hears of it)
  kExpired,       // removed because its time passed (a lookup or the active cycle)
  kEvicted,       // removed to stay under maxmemory
};

struct KeyChange {
  KeyChangeKind kind = KeyChangeKind::kWritten;
  bool with_expiry = false;  // kCreated / kWritten: the new value has an expiry
};

// Told about every write, delete, expiry and flush of a key while watching() is non-zero.
class KeyWatcher {
 public:
  virtual ~KeyWatcher() = default;
  virtual void OnKeyChanged(std::string_view key) = 0;
  // The same, saying what happened; watchers that only need the key keep this default.
  virtual void OnKeyChange(std::string_view key, KeyChange /*change*/) { OnKeyChanged(key); }
  virtual void OnFlush() = 0;
};

struct ShardStats {
  uint64_t expired_keys = 0;
  uint64_t evicted_keys = 0;
};

// Aligned to a cache line so that two shards' locks and counters never share one.
class alignas(64) Shard {
 public:
  // clock: the keyspace's cached "now" (unix ms), read to stamp new entries' access state.
  // mutex: the lock that guards this shard (shared with the shard of the same index in every
  // other database); nullptr: a lock of the shard's own.
  explicit Shard(const std::atomic<int64_t>* clock, std::mutex* mutex = nullptr);
  ~Shard();
  Shard(const Shard&) = delete;
  Shard& operator=(const Shard&) = delete;

  // Returns the live entry for key, or nullptr. An expired entry is removed first, unless its
  // freshness windows still keep it (then it stays, unseen: nullptr all the same). touch:
  // record the access for eviction (OBJECT, MEMORY and the evictor itself look without it).
  Entry* Find(std::string_view key, uint64_t hash, int64_t now_ms, bool touch = true);
  // The read-through reads' lookup (origin/read_through.h): as Find, but an entry past its
  // expiry that its freshness windows still keep is returned too, with *expired set. Only GET,
  // MGET and GETEX (through the policy) and the singleflight table see such entries.
  Entry* FindReadThrough(std::string_view key, uint64_t hash, int64_t now_ms, bool* expired,
                         bool touch = true);
  // Inserts or replaces key's value with a value filled from an origin, carrying freshness
  // (its windows and fetch time; dropped when expire_at_ms is 0). Returns the new entry.
  Entry* SetFilled(std::string_view key, uint64_t hash, std::string_view value,
                   int64_t expire_at_ms, const Freshness& freshness);
  // Marks key's value stale instead of deleting it (an invalidation while
  // stale-while-revalidate is set): when the entry has a stale-while-revalidate window, its
  // expiry becomes now (if later), the change is reported to the KeyWatcher (a fetch in flight
  // is forgotten), and true is returned; the next read-through read serves it stale and
  // refreshes it. False, with nothing done, when there is no such entry: delete it instead.
  bool MarkStale(std::string_view key, uint64_t hash, int64_t now_ms);
  // Inserts or replaces key's value (of any type) with a string. expire_at_ms == 0: no expiry.
  // Returns the new entry.
  Entry* Set(std::string_view key, uint64_t hash, std::string_view value, int64_t expire_at_ms);
  // Inserts or replaces key's value with object (a hash, list or set). Returns the new entry.
  Entry* SetObject(std::string_view key, uint64_t hash, std::unique_ptr<Object> object,
                   int64_t expire_at_ms);
  // Removes key and hands its object to the caller (RENAME moves it). The entry must be a
  // live non-string entry of this shard.
  std::unique_ptr<Object> TakeObject(Entry* entry, uint64_t hash);
  // Replaces the value of an existing string entry, keeping its expiry. Returns the entry.
  Entry* ReplaceValue(Entry* entry, uint64_t hash, std::string_view value);
  // Sets (or with 0 removes) the expiry of an existing entry. Returns the entry.
  Entry* SetExpire(Entry* entry, uint64_t hash, int64_t expire_at_ms);
  // Removes key; true if it existed (expired or not). reason: why, for lazy freeing (DEL passes
  // kUserDel, UNLINK kUnlink, EXPIRE in the past kExpire; the rest are server deletions).
  bool Delete(std::string_view key, uint64_t hash, FreeReason reason = FreeReason::kServerDel);
  // Removes every key. async (FLUSHALL/FLUSHDB ASYNC, with a LazyFree set): the tables are
  // detached and freed by the LazyFree thread; the shard starts again with empty ones at once.
  void Flush(bool async = false);
  // Exchanges every key (tables, counts, S3-FIFO queues, cursors) with other's; the watcher,
  // watch count, lock and statistics stay with each shard. A watched shard tells its watcher
  // of a flush first. Both shards' lock (the same lock) must be held.
  void SwapContents(Shard& other);

  // Removes expired keys, visiting at most max_buckets buckets (plus the few more one SCAN-cursor
  // step spans while rehashing). Returns how many volatile keys it looked at, and adds the
  // removed count to *expired, and the remaining TTLs (ms) of the live volatile keys it saw to
  // *ttl_sum_ms when given. Walks with its own SCAN cursor, so a resize never skips a bucket.
  // An expired entry its freshness windows keep stays until they pass, unless reclaim_stale
  // (memory is short: the evictor frees every expired key).
  size_t ActiveExpireStep(int64_t now_ms, size_t max_buckets, size_t* expired,
                          int64_t* ttl_sum_ms = nullptr, bool reclaim_stale = false);
  // Calls fn for each live entry of the bucket(s) at cursor (Redis's reverse-binary SCAN
  // cursor: resizes between calls never skip a key) and returns the next cursor, 0 at the end.
  uint64_t Scan(uint64_t cursor, int64_t now_ms, const std::function<void(const Entry*)>& fn);
  // A random live entry, or nullptr when empty.
  Entry* RandomEntry(int64_t now_ms, uint64_t random);
  // A random live entry with an expiry, or nullptr when there is none. Samples first; when
  // volatile keys are too sparse for sampling, walks the table from a random bucket.
  Entry* RandomVolatileEntry(int64_t now_ms, uint64_t random);
  // Starts shrinking the table (incrementally) while it is less than 1/8 full and no rehash is
  // under way (called from the cron).
  void MaybeShrink();
  // Lock-free: whether MaybeShrink() would shrink now (a hint; recheck under the lock).
  bool WantsShrink() const;
  // Moves up to max_buckets buckets of an incremental rehash; true while one is still under way.
  // See the comment above its definition for the bound.
  bool RehashStep(size_t max_buckets);
  // Whether an incremental rehash is under way (two tables).
  bool rehashing() const { return !tables_[1].empty(); }
  // Lock-free hint of rehashing() for the cron (recheck under the lock).
  bool RehashingHint() const { return rehashing_hint_.get(); }
  // Lock-free: how many old-table buckets rehashing has passed over (moved, or found empty) in
  // this shard's life. Tests use it to check that one call does a bounded amount of work.
  uint64_t rehashed_buckets() const { return rehashed_buckets_.get(); }

  // Chooses how access is tracked (LRU clock or LFU counter), and whether this shard keeps
  // S3-FIFO queues. Turning them on puts every key in the main queue; off frees them.
  void ConfigureEviction(EvictionPolicy policy, bool s3fifo);
  // Evicts key (counted as an eviction); false when it is not there.
  bool Evict(std::string_view key, uint64_t hash);

  enum class S3FifoResult : uint8_t {
    kEvicted,  // one key was evicted
    kEmpty,    // the queue asked for is empty here (or S3-FIFO is off)
    kMore,     // the step budget ran out first: call again (after releasing the lock, if wanted)
  };
  // S3-FIFO's eviction (Algorithm 1 of the paper) on this shard's small queue (from_small) or
  // main queue, for at most max_steps queue pops. The keyspace decides which queue, from the
  // keyspace-wide counts. See the definition for why it ends.
  S3FifoResult EvictS3Fifo(size_t max_steps, bool from_small);
  // Lock-free: how many of this shard's keys are in the S3-FIFO small queue.
  size_t s3fifo_small_count() const { return small_count_.get(); }

  // The lock that guards this shard while the keyspace is thread-safe. Take it through
  // Keyspace::LockShards (ascending shard order), never directly together with another shard's.
  std::mutex& mutex() { return *mutex_; }

  // Lock-free readers.
  size_t size() const { return size_.get(); }
  size_t volatile_count() const { return volatile_count_.get(); }
  // Buckets of both tables while rehashing.
  size_t bucket_count() const { return bucket_count_.get(); }
  // Bytes held: entry blocks (as the allocator sizes them), the bucket arrays (both while
  // rehashing), and the S3-FIFO queues.
  size_t memory_bytes() const {
    return entry_bytes_.get() + bucket_count_.get() * sizeof(Entry*) + queues_.memory_bytes();
  }
  // Lock-free: the S3-FIFO queues' part of memory_bytes().
  size_t queue_bytes() const { return queues_.memory_bytes(); }
  ShardStats stats() const { return ShardStats{expired_keys_.get(), evicted_keys_.get()}; }

  // An object's bytes changed from before to after (ObjectWrite calls it).
  void ObjectResized(size_t before, size_t after) {
    entry_bytes_.add(after);
    entry_bytes_.sub(before);
  }
  // Tells the KeyWatcher that key is being written (ObjectWrite calls it).
  void NoteWrite(std::string_view key) { Notify(key, {KeyChangeKind::kWritten, false}); }

  void set_watcher(KeyWatcher* watcher) { watcher_ = watcher; }
  // Where removed values are freed (nullptr: at once, by the caller). Before the shard is used.
  void set_lazy_free(LazyFree* lazy_free) { lazy_free_ = lazy_free; }
  // A flag this shard sets when it stores its first new key (the database's used()); before
  // any other thread uses the shard.
  void set_used_flag(std::atomic<bool>* used) { used_flag_ = used; }
  // Lock-free (an atomic count). For the Forget rule to hold, add the watch before any write the
  // watcher must hear of can happen: e.g. while holding the key's shard lock.
  void AddWatch() { watching_.fetch_add(1, std::memory_order_relaxed); }
  void RemoveWatch() { watching_.fetch_sub(1, std::memory_order_relaxed); }

 private:
  // One table: a power-of-two array of chain heads, zeroed by calloc (a large array then comes
  // from fresh zero pages: starting a rehash costs no memset of the whole table). Empty: none.
  class Table {
   public:
    Table() = default;
    explicit Table(size_t buckets);
    ~Table() { std::free(slots_); }
    Table(Table&& other) noexcept
        : slots_(std::exchange(other.slots_, nullptr)), size_(std::exchange(other.size_, 0)) {}
    Table& operator=(Table&& other) noexcept {
      std::swap(slots_, other.slots_);
      std::swap(size_, other.size_);
      return *this;
    }
    bool empty() const { return size_ == 0; }
    // Gives up the array (a flush hands it to the LazyFree thread); the table is empty after.
    DetachedTable Release() {
      return DetachedTable{std::exchange(slots_, nullptr), std::exchange(size_, 0)};
    }
    size_t size() const { return size_; }
    size_t mask() const { return size_ - 1; }
    Entry*& operator[](size_t i) { return slots_[i]; }
    Entry* const& operator[](size_t i) const { return slots_[i]; }

   private:
    Entry** slots_ = nullptr;
    size_t size_ = 0;
  };

  // How many buckets each lookup, write and delete moves while rehashing (Redis moves 1).
  static constexpr size_t kRehashBucketsPerOp = 1;

  // The link to key's entry, or nullptr when it is not there. Checks both tables.
  Entry** FindLink(std::string_view key, uint64_t hash);
  // The bucket head of hash in table t.
  Entry** BucketLink(int t, uint64_t hash) { return &tables_[t][hash & tables_[t].mask()]; }
  // Whether hash's bucket in the old table is already moved (so it is empty).
  bool MovedAlready(uint64_t hash) const {
    return rehashing() && (hash & tables_[0].mask()) < rehash_index_;
  }
  // The table new keys go to: the new one while rehashing.
  int InsertTable() const { return rehashing() ? 1 : 0; }
  // One rehash step for the operation being served, when a rehash is under way.
  void RehashTick() {
    if (rehashing()) RehashStep(kRehashBucketsPerOp);
  }
  // Starts an incremental rehash into a table of new_bucket_count buckets.
  void StartRehash(size_t new_bucket_count);
  // Keeps the lock-free bucket count and rehash hint in step with the tables.
  void TablesChanged();
  // Calls on_bucket(Entry** head) for the bucket(s) under a SCAN cursor and returns the next
  // cursor; adds the buckets visited to *visited.
  template <typename OnBucket>
  uint64_t ScanBuckets(uint64_t cursor, size_t* visited, OnBucket&& on_bucket);
  // Calls fn(Entry*) for every entry of both tables; fn must not unlink.
  template <typename Fn>
  void ForEachEntry(Fn&& fn);
  // Frees every entry of both tables and returns how many were in the small S3-FIFO queue.
  size_t FreeAllEntries();
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
  // Unlinks and frees the entry at link (and its object, lazily when reason allows).
  void Unlink(Entry** link, FreeReason reason);
  // Frees an unlinked entry: the block at once, a non-string's object through the LazyFree.
  void Release(Entry* e, FreeReason reason) {
    if (!EntryIsString(e) && lazy_free_) [[unlikely]] {
      ReleaseObjectEntry(e, reason);
      return;
    }
    FreeEntry(e);
  }
  void ReleaseObjectEntry(Entry* e, FreeReason reason);
  // Puts created in place of key's entry, or inserts it as a new key.
  Entry* Insert(std::string_view key, uint64_t hash, Entry* created, int64_t expire_at_ms);
  // Moves entry to a new block of the same value with expire_at_ms (SetExpire).
  Entry* Rewrite(Entry* entry, uint64_t hash, std::string_view value, int64_t expire_at_ms);
  void Notify(std::string_view key, KeyChange change) {
    if (watching_.load(std::memory_order_relaxed) > 0 && watcher_) {
      watcher_->OnKeyChange(key, change);
    }
  }
  int64_t Now() const { return clock_->load(std::memory_order_relaxed); }

  std::mutex own_mutex_;  // used only when no shared lock was given
  std::mutex* mutex_;
  // Written under mutex_, read lock-free (see the top of this file).
  RelaxedCounter<size_t> size_;
  RelaxedCounter<size_t> volatile_count_;
  RelaxedCounter<size_t> entry_bytes_;
  RelaxedCounter<size_t> bucket_count_;
  RelaxedCounter<uint64_t> expired_keys_;
  RelaxedCounter<uint64_t> evicted_keys_;
  RelaxedCounter<uint64_t> rehashed_buckets_;
  RelaxedCounter<bool> rehashing_hint_;
  std::atomic<size_t> watching_{0};
  // Guarded by mutex_.
  // tables_[0]: the table; tables_[1]: the table being filled while rehashing, else empty.
  Table tables_[2];
  // While rehashing: the next bucket of tables_[0] to move; every bucket below it is moved.
  size_t rehash_index_ = 0;
  uint64_t expire_cursor_ = 0;  // a SCAN cursor
  KeyWatcher* watcher_ = nullptr;
  LazyFree* lazy_free_ = nullptr;
  std::atomic<bool>* used_flag_ = nullptr;
  const std::atomic<int64_t>* clock_;
  bool track_lfu_ = false;
  // S3-FIFO, while it evicts: this shard's queues and how many live keys are in the small one
  // (the others are in main).
  bool s3_ = false;
  S3FifoQueues queues_;
  RelaxedCounter<size_t> small_count_;  // read lock-free by the evictor to pick a shard
  uint64_t rng_ = 0x9E3779B97F4A7C15ULL;
};

// The one way to change a hash, list or set in place: tells the KeyWatcher of the write (the
// Forget rule) when made, and re-counts the object's bytes in the shard's memory figure when it
// goes out of scope. Hold the key's shard lock for its whole life, and let it end before the
// key is deleted (an empty object is removed with its key).
class ObjectWrite {
 public:
  ObjectWrite(Shard& shard, Entry* entry)
      : shard_(shard), object_(EntryObject(entry)), before_(object_->MemoryBytes()) {
    shard_.NoteWrite(EntryKey(entry));
  }
  ~ObjectWrite() { shard_.ObjectResized(before_, object_->MemoryBytes()); }
  ObjectWrite(const ObjectWrite&) = delete;
  ObjectWrite& operator=(const ObjectWrite&) = delete;

 private:
  Shard& shard_;
  Object* object_;
  size_t before_;
};

// The hash every shard and the keyspace use for keys.
uint64_t HashKey(std::string_view key);

}  // namespace flightcache::storage
