// sync.h — the two small synchronization helpers storage uses under --threads N.
//
// RelaxedCounter: a counter written by one thread at a time (the holder of the lock that guards
// it) and read from any thread without a lock. Relaxed atomic loads and stores, no
// read-modify-write: as cheap as a plain integer, yet a lock-free reader never races.
// MaybeLock: locks a mutex only when the keyspace is thread-safe, so that a single-threaded
// server performs no mutex operation at all.
#pragma once

#include <atomic>
#include <mutex>

namespace flightcache::storage {

template <typename T>
class RelaxedCounter {
 public:
  RelaxedCounter() = default;
  explicit RelaxedCounter(T v) : v_(v) {}
  RelaxedCounter(const RelaxedCounter&) = delete;
  RelaxedCounter& operator=(const RelaxedCounter&) = delete;

  T get() const { return v_.load(std::memory_order_relaxed); }
  void set(T v) { v_.store(v, std::memory_order_relaxed); }
  // Writers only (they are serialized by a lock): load, then store.
  void add(T d) { set(get() + d); }
  void sub(T d) { set(get() - d); }
  RelaxedCounter& operator++() {
    add(1);
    return *this;
  }
  RelaxedCounter& operator--() {
    sub(1);
    return *this;
  }

 private:
  std::atomic<T> v_{};
};

// Holds `mutex` for its scope when `on`; does nothing otherwise.
class MaybeLock {
 public:
  MaybeLock(std::mutex& mutex, bool on) : mutex_(on ? &mutex : nullptr) {
    if (mutex_) mutex_->lock();
  }
  ~MaybeLock() {
    if (mutex_) mutex_->unlock();
  }
  MaybeLock(const MaybeLock&) = delete;
  MaybeLock& operator=(const MaybeLock&) = delete;

 private:
  std::mutex* mutex_;
};

}  // namespace flightcache::storage
