// s3fifo.cc — S3-FIFO's queues and ghost table (see s3fifo.h).
#include "storage/s3fifo.h"

namespace flightcache::storage {

void S3FifoQueues::Clear() {
  fifos_.reset();
  std::vector<uint32_t>().swap(ghost_);
  UpdateBytes();
}

bool S3FifoQueues::PopSmall(uint64_t* hash) {
  if (!fifos_ || fifos_->small.empty()) return false;
  *hash = fifos_->small.front();
  fifos_->small.pop_front();
  UpdateBytes();
  return true;
}

bool S3FifoQueues::PopMain(uint64_t* hash) {
  if (!fifos_ || fifos_->main.empty()) return false;
  *hash = fifos_->main.front();
  fifos_->main.pop_front();
  UpdateBytes();
  return true;
}

// The ghost table is 4-way set associative: a fingerprint may sit in any of the 4 slots of
// its group, so a few unlucky collisions do not wipe a ghost out.
void S3FifoQueues::RememberGhost(uint64_t hash) {
  if (ghost_.empty()) SizeGhostFor(kMinGhostSlots);
  uint32_t* group = &ghost_[GhostGroup(hash)];
  const uint32_t fp = Fingerprint(hash);
  for (int i = 0; i < kGhostWays; ++i) {
    if (group[i] == 0 || group[i] == fp) {
      group[i] = fp;
      return;
    }
  }
  group[(hash >> 16) & (kGhostWays - 1)] = fp;  // the group is full: replace one
}

bool S3FifoQueues::TakeGhost(uint64_t hash) {
  if (ghost_.empty()) return false;
  uint32_t* group = &ghost_[GhostGroup(hash)];
  const uint32_t fp = Fingerprint(hash);
  for (int i = 0; i < kGhostWays; ++i) {
    if (group[i] == fp) {
      group[i] = 0;
      return true;
    }
  }
  return false;
}

void S3FifoQueues::SizeGhostFor(size_t keys) {
  if (keys == 0 && ghost_.empty()) return;  // an empty shard keeps no table
  size_t want = kMinGhostSlots;
  while (want < keys) want *= 2;
  if (ghost_.size() >= want && ghost_.size() <= want * 4) return;
  // Resizing forgets the ghosts: they are a hint, and this happens only as the shard grows.
  ghost_.assign(want, 0);
  UpdateBytes();
}

}  // namespace flightcache::storage
