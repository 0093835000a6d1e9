// s3fifo.h — the queues of S3-FIFO (Yang et al., "FIFO queues are all you need for cache
// eviction", SOSP 2023), one set for the whole keyspace.
//
// S3-FIFO keeps a small FIFO S (10% of the keys) for new keys, a main FIFO M, and a ghost
// queue G that remembers keys recently evicted from S. A key read at least once while in S
// moves to M; one that was not goes to G and is evicted, so one-hit wonders (scans) never
// reach M. M is a FIFO with reinsertion: a key read since it last passed the tail gets
// another round (its 2-bit frequency drops by one). A new key found in G goes straight to M.
// The queues hold key hashes, not pointers (entries move when rewritten); the shard resolves
// a hash to its entry and skips hashes whose key is gone. G is a 4-way set-associative table
// of 32-bit fingerprints: old ghosts are overwritten rather than queued, 4 bytes per slot.
//
// Threads: the queues and small_count are guarded by S3Fifo::mutex when the keyspace is
// thread-safe (lock order: a shard lock, then this mutex; never the reverse). Only
// memory_bytes() may be read without it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <mutex>
#include <vector>

#include "storage/sync.h"

namespace flightcache::storage {

class S3FifoQueues {
 public:
  void Clear();
  void PushSmall(uint64_t hash) {
    small_.push_back(hash);
    UpdateBytes();
  }
  void PushMain(uint64_t hash) {
    main_.push_back(hash);
    UpdateBytes();
  }
  // Pops the oldest hash of a queue; false when it is empty.
  bool PopSmall(uint64_t* hash);
  bool PopMain(uint64_t* hash);
  size_t small_slots() const { return small_.size(); }
  size_t main_slots() const { return main_.size(); }

  // Ghost queue: remember an evicted key; Take() reports (and forgets) whether it is there.
  void RememberGhost(uint64_t hash);
  bool TakeGhost(uint64_t hash);
  // Keeps the ghost table about as large as the number of keys (a power of two).
  void SizeGhostFor(size_t keys);

  // Bytes the queues and the ghost table hold. Lock-free: a mirror kept by every change.
  size_t memory_bytes() const { return bytes_.get(); }

 private:
  void UpdateBytes() {
    bytes_.set((small_.size() + main_.size()) * sizeof(uint64_t) +
               ghost_.size() * sizeof(uint32_t));
  }

  static constexpr int kGhostWays = 4;
  size_t GhostGroup(uint64_t hash) const {
    return ((hash >> 32) & (ghost_.size() / kGhostWays - 1)) * kGhostWays;
  }
  static uint32_t Fingerprint(uint64_t hash) { return static_cast<uint32_t>(hash) | 1u; }

  std::deque<uint64_t> small_;
  std::deque<uint64_t> main_;
  std::vector<uint32_t> ghost_;
  RelaxedCounter<size_t> bytes_;
};

// The keyspace-wide S3-FIFO state: the queues, and how many live keys are in S (the other
// keys are in M). Owned by the Keyspace (it lives as long as the keyspace, so that a lock-free
// reader of memory_bytes() never sees it freed); its shards add and remove keys.
struct S3Fifo {
  // Guards queues and small_count while thread_safe (set by the keyspace before threads start).
  std::mutex mutex;
  bool thread_safe = false;
  S3FifoQueues queues;
  size_t small_count = 0;
};

}  // namespace flightcache::storage
