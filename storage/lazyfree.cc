// lazyfree.cc — the background freeing thread and its queue (see lazyfree.h).
#include "storage/lazyfree.h"

#include <cstdlib>
#include <cstring>
#include <system_error>
#include <utility>

#include "storage/types/quicklist.h"

namespace flightcache::storage {

size_t FreeEffort(const Object& object) {
  if (object.type() == ValueType::kList) {
    return static_cast<const ListObject&>(object).nodes();
  }
  const char* encoding = object.EncodingName();
  if (std::strcmp(encoding, "hashtable") == 0 || std::strcmp(encoding, "skiplist") == 0) {
    return object.Length();
  }
  return 1;
}

LazyFree::~LazyFree() {
  {
    std::lock_guard<std::mutex> hold(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void LazyFree::Configure(const LazyFreeConfig& config) {
  lazy_eviction_.store(config.lazy_eviction, std::memory_order_relaxed);
  lazy_expire_.store(config.lazy_expire, std::memory_order_relaxed);
  lazy_server_del_.store(config.lazy_server_del, std::memory_order_relaxed);
  lazy_user_del_.store(config.lazy_user_del, std::memory_order_relaxed);
}

bool LazyFree::AllowedFor(FreeReason reason) const {
  switch (reason) {
    case FreeReason::kUnlink:
      return true;
    case FreeReason::kUserDel:
      return lazy_user_del_.load(std::memory_order_relaxed);
    case FreeReason::kServerDel:
      return lazy_server_del_.load(std::memory_order_relaxed);
    case FreeReason::kExpire:
      return lazy_expire_.load(std::memory_order_relaxed);
    case FreeReason::kEviction:
      return lazy_eviction_.load(std::memory_order_relaxed);
  }
  return false;
}

bool LazyFree::Free(std::unique_ptr<Object> object, FreeReason reason) {
  if (!AllowedFor(reason) || FreeEffort(*object) <= kLazyfreeThreshold) {
    object.reset();
    return false;
  }
  Job job;
  job.bytes = object->MemoryBytes();
  job.objects = 1;
  job.object = std::move(object);
  Enqueue(std::move(job));
  return true;
}

void LazyFree::FreeTables(std::vector<DetachedTable> tables, size_t keys, size_t bytes) {
  Job job;
  job.tables = std::move(tables);
  job.objects = keys;
  job.bytes = bytes;
  Enqueue(std::move(job));
}

void LazyFree::Enqueue(Job job) {
  std::unique_lock<std::mutex> lock(mutex_);
  if (!thread_.joinable()) {
    try {
      thread_ = std::thread([this] { Run(); });
    } catch (const std::system_error&) {
      // No thread to be had (out of resources): free here, as if lazy freeing were off.
      lock.unlock();
      FreeJob(job);
      return;
    }
  }
  // Counted under the lock, before the thread can pop the job: its decrement never goes first.
  pending_objects_.fetch_add(job.objects, std::memory_order_relaxed);
  pending_bytes_.fetch_add(static_cast<int64_t>(job.bytes), std::memory_order_relaxed);
  queue_.push_back(std::move(job));
  lock.unlock();
  wake_.notify_one();
}

void LazyFree::FreeJob(Job& job) {
  job.object.reset();
  for (DetachedTable& table : job.tables) {
    for (size_t i = 0; i < table.size; ++i) {
      for (Entry* e = table.slots[i]; e;) {
        Entry* next = e->next;
        FreeEntry(e);
        e = next;
      }
    }
    std::free(table.slots);
  }
  job.tables.clear();
}

void LazyFree::Run() {
  std::unique_lock<std::mutex> lock(mutex_);
  for (;;) {
    wake_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
    if (queue_.empty()) break;  // stopping, and everything queued is freed
    Job job = std::move(queue_.front());
    queue_.pop_front();
    busy_ = true;
    lock.unlock();
    FreeJob(job);
    // lazyfreed_objects first, then (release) the pending counts: a reader that sees the
    // pending count drop (acquire) sees the freed count that goes with it.
    freed_objects_.fetch_add(job.objects, std::memory_order_relaxed);
    pending_bytes_.fetch_sub(static_cast<int64_t>(job.bytes), std::memory_order_release);
    pending_objects_.fetch_sub(job.objects, std::memory_order_release);
    lock.lock();
    busy_ = false;
    if (queue_.empty()) idle_.notify_all();
  }
}

void LazyFree::Drain() {
  std::unique_lock<std::mutex> lock(mutex_);
  idle_.wait(lock, [this] { return queue_.empty() && !busy_; });
}

}  // namespace flightcache::storage
