// s3fifo.h — the queues of S3-FIFO (Yang et al., "FIFO queues are all you need for cache
// eviction", SOSP 2023), one set per shard.
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
// Each shard keeps its own queues for its own keys, under its own lock: admitting a new key
// takes no lock beyond the shard's, so writes to different shards never serialize on eviction
// state. The evictor visits the shards in turn and runs the algorithm on one shard's queues; as
// keys spread evenly over shards by hash, each shard's FIFO order approximates the global one.
//
// Threads: guarded by the owning shard's lock. Only memory_bytes() may be read without it.
// An empty shard holds no queue memory (the FIFOs are allocated at the first push, the ghost
// table when the shard has keys): every database has 32 shards, most of them empty.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <vector>

#include "storage/sync.h"

namespace flightcache::storage {

class S3FifoQueues {
 public:
  void Clear();
  // Exchanges every queue with other's (SWAPDB moves a shard's keys with their queue places).
  void SwapWith(S3FifoQueues& other) {
    fifos_.swap(other.fifos_);
    ghost_.swap(other.ghost_);
    UpdateBytes();
    other.UpdateBytes();
  }
  void PushSmall(uint64_t hash) {
    Fifos().small.push_back(hash);
    UpdateBytes();
  }
  void PushMain(uint64_t hash) {
    Fifos().main.push_back(hash);
    UpdateBytes();
  }
  // Pops the oldest hash of a queue; false when it is empty.
  bool PopSmall(uint64_t* hash);
  bool PopMain(uint64_t* hash);
  size_t small_slots() const { return fifos_ ? fifos_->small.size() : 0; }
  size_t main_slots() const { return fifos_ ? fifos_->main.size() : 0; }

  // Ghost queue: remember an evicted key; Take() reports (and forgets) whether it is there.
  void RememberGhost(uint64_t hash);
  bool TakeGhost(uint64_t hash);
  // Keeps the ghost table about as large as the number of keys (a power of two, at least
  // kMinGhostSlots). Cheap when nothing changes: call it as often as convenient.
  void SizeGhostFor(size_t keys);
  // A shard's smallest ghost table: 32 slots (128 bytes), so 32 idle shards cost 4 KiB.
  static constexpr size_t kMinGhostSlots = 32;

  // Bytes the queues and the ghost table hold. Lock-free: a mirror kept by every change.
  size_t memory_bytes() const { return bytes_.get(); }

 private:
  void UpdateBytes() {
    bytes_.set((small_slots() + main_slots()) * sizeof(uint64_t) +
               ghost_.size() * sizeof(uint32_t));
  }

  static constexpr int kGhostWays = 4;
  size_t GhostGroup(uint64_t hash) const {
    return ((hash >> 32) & (ghost_.size() / kGhostWays - 1)) * kGhostWays;
  }
  static uint32_t Fingerprint(uint64_t hash) { return static_cast<uint32_t>(hash) | 1u; }

  struct FifoPair {
    std::deque<uint64_t> small;
    std::deque<uint64_t> main;
  };
  FifoPair& Fifos() {
    if (!fifos_) fifos_ = std::make_unique<FifoPair>();
    return *fifos_;
  }
  std::unique_ptr<FifoPair> fifos_;  // null while both are empty since the last Clear
  std::vector<uint32_t> ghost_;
  RelaxedCounter<size_t> bytes_;
};

}  // namespace flightcache::storage
