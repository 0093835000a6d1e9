// lazyfree.h — freeing big values off the event loop, as Redis's lazyfree.c does.
//
// A value removed from the keyspace (a deleted, expired, evicted or overwritten key's object, or
// every entry of a flushed shard) is handed here by the shard that removed it. An object whose
// free effort (FreeEffort) passes kLazyfreeThreshold, when the removal's reason allows it
// (Redis's lazyfree-lazy-* options, see FreeReason), is freed by one background thread; a
// smaller one, or any one whose reason does not allow it, is freed at once by the caller.
// FLUSHALL/FLUSHDB ASYNC hand over whole tables, whatever their size.
//
// What is queued is fully detached: no shard, entry or index points at it, so the thread takes
// no shard lock and frees it through its destructor alone. The thread starts with the first job
// and is joined by the destructor, after it has freed everything still queued.
//
// Memory: the shard stops counting a value the moment it is detached (used_memory_dataset drops
// at once); its bytes then count as pending_bytes() until the thread has freed them. The
// keyspace's memory estimate adds pending bytes, so the estimate, like used_memory (the
// allocator's figure), falls only when the memory is really freed; eviction alone treats pending
// bytes as already freed (keyspace.h).
//
// Thread-safety: every method may be called from any thread (the counters are atomics, the queue
// has its own mutex, taken after any shard lock the caller holds, never before one).
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "storage/entry.h"
#include "storage/types/object.h"

namespace flightcache::storage {

// Redis's LAZYFREE_THRESHOLD: an object is freed in the background only past this effort.
inline constexpr size_t kLazyfreeThreshold = 64;

// Why a value leaves the keyspace: decides whether it may be freed in the background.
enum class FreeReason : uint8_t {
  kUnlink,     // UNLINK: always may
  kUserDel,    // DEL: lazyfree-lazy-user-del
  kServerDel,  // overwrites, RENAME's destination, other implicit deletes: lazyfree-lazy-server-del
  kExpire,     // expiry, EXPIRE with a time in the past: lazyfree-lazy-expire
  kEviction,   // maxmemory eviction: lazyfree-lazy-eviction
};

// Redis 7.0's lazyfree-lazy-* options (all "no" by default).
struct LazyFreeConfig {
  bool lazy_eviction = false;
  bool lazy_expire = false;
  bool lazy_server_del = false;
  bool lazy_user_del = false;
};

// Redis's lazyfreeGetFreeEffort: how many allocations freeing object takes, roughly. A list
// counts its quicklist nodes; a hashtable-encoded hash or set and a skiplist zset count their
// elements; a flat encoding (listpack, intset) is one allocation: 1.
size_t FreeEffort(const Object& object);

// A bucket array a flush detached from a shard: every entry on its chains (with their objects)
// and the calloc'd array itself are freed by the thread.
struct DetachedTable {
  Entry** slots = nullptr;
  size_t size = 0;
};

class LazyFree {
 public:
  LazyFree() = default;
  // Stops the thread after it has freed everything queued, and joins it.
  ~LazyFree();
  LazyFree(const LazyFree&) = delete;
  LazyFree& operator=(const LazyFree&) = delete;

  // Applies CONFIG's lazyfree-lazy-* options (takes effect for the next removal).
  void Configure(const LazyFreeConfig& config);
  // Whether a value removed for reason may be freed in the background.
  bool AllowedFor(FreeReason reason) const;

  // Frees object: queues it for the thread when reason allows and its effort passes
  // kLazyfreeThreshold (returns true), else deletes it now (returns false).
  bool Free(std::unique_ptr<Object> object, FreeReason reason);
  // Queues the tables a flush detached: `keys` entries holding `bytes` bytes in all (entries,
  // objects, bucket arrays). Each key counts as one lazyfreed object, as in Redis.
  void FreeTables(std::vector<DetachedTable> tables, size_t keys, size_t bytes);

  // INFO memory's lazyfree_pending_objects: queued and not yet freed.
  size_t pending_objects() const { return pending_objects_.load(std::memory_order_acquire); }
  // INFO memory's lazyfreed_objects: freed by the thread since start or ResetStats().
  uint64_t freed_objects() const { return freed_objects_.load(std::memory_order_relaxed); }
  // Bytes queued and not yet freed (see the top of this file).
  int64_t pending_bytes() const { return pending_bytes_.load(std::memory_order_acquire); }
  // CONFIG RESETSTAT: lazyfreed_objects starts again from 0.
  void ResetStats() { freed_objects_.store(0, std::memory_order_relaxed); }
  // Blocks until everything queued so far has been freed (tests; a bounded wait in practice,
  // as the thread never stops while work is queued).
  void Drain();

 private:
  struct Job {
    std::unique_ptr<Object> object;     // one object, or
    std::vector<DetachedTable> tables;  // a flush's tables
    size_t objects = 0;                 // what it adds to pending_objects
    size_t bytes = 0;                   // what it adds to pending_bytes
  };
  void Enqueue(Job job);
  // The thread: frees jobs in order until stopping and the queue is empty.
  void Run();
  static void FreeJob(Job& job);

  std::atomic<bool> lazy_eviction_{false};
  std::atomic<bool> lazy_expire_{false};
  std::atomic<bool> lazy_server_del_{false};
  std::atomic<bool> lazy_user_del_{false};
  std::atomic<size_t> pending_objects_{0};
  std::atomic<uint64_t> freed_objects_{0};
  std::atomic<int64_t> pending_bytes_{0};
  // Guarded by mutex_.
  std::mutex mutex_;
  std::condition_variable wake_;  // the thread waits here for work or a stop
  std::condition_variable idle_;  // Drain() waits here for the queue to empty
  std::deque<Job> queue_;
  bool busy_ = false;  // the thread is freeing a job it popped
  bool stopping_ = false;
  std::thread thread_;  // started by the first Enqueue
};

}  // namespace flightcache::storage
