// shard.cc — the shard's chained hash table, lazy and active expiry (see shard.h).
#include "storage/shard.h"

#include <cstring>

namespace flightcache::storage {
namespace {

constexpr size_t kInitialBuckets = 16;

uint64_t ReverseBits(uint64_t v) {
  v = ((v >> 1) & 0x5555555555555555ULL) | ((v & 0x5555555555555555ULL) << 1);
  v = ((v >> 2) & 0x3333333333333333ULL) | ((v & 0x3333333333333333ULL) << 2);
  v = ((v >> 4) & 0x0F0F0F0F0F0F0F0FULL) | ((v & 0x0F0F0F0F0F0F0F0FULL) << 4);
  v = ((v >> 8) & 0x00FF00FF00FF00FFULL) | ((v & 0x00FF00FF00FF00FFULL) << 8);
  v = ((v >> 16) & 0x0000FFFF0000FFFFULL) | ((v & 0x0000FFFF0000FFFFULL) << 16);
  return (v >> 32) | (v << 32);
}

bool IsExpired(const Entry* e, int64_t now_ms) {
  if (!(e->flags & kHasExpire)) return false;
  return EntryExpireAt(e) <= now_ms;
}

uint64_t Mix(uint64_t a, uint64_t b) {
  __uint128_t r = static_cast<__uint128_t>(a) * b;
  return static_cast<uint64_t>(r) ^ static_cast<uint64_t>(r >> 64);
}

uint64_t Read64(const char* p) {
  uint64_t v;
  std::memcpy(&v, p, 8);
  return v;
}

uint64_t Read32(const char* p) {
  uint32_t v;
  std::memcpy(&v, p, 4);
  return v;
}

}  // namespace

// A wyhash-style hash: 64-bit multiply-mix over 16-byte blocks. Fast for short keys.
uint64_t HashKey(std::string_view key) {
  constexpr uint64_t kP0 = 0xa0761d6478bd642fULL, kP1 = 0xe7037ed1a0b428dbULL,
                     kP2 = 0x8ebc6af09c88c6e3ULL;
  const char* p = key.data();
  size_t len = key.size();
  uint64_t seed = kP0 ^ len;
  uint64_t a = 0, b = 0;
  if (len <= 16) {
    if (len >= 4) {
      a = (Read32(p) << 32) | Read32(p + ((len >> 3) << 2));
      b = (Read32(p + len - 4) << 32) | Read32(p + len - 4 - ((len >> 3) << 2));
    } else if (len > 0) {
      a = (static_cast<uint64_t>(static_cast<uint8_t>(p[0])) << 16) |
          (static_cast<uint64_t>(static_cast<uint8_t>(p[len >> 1])) << 8) |
          static_cast<uint8_t>(p[len - 1]);
    }
  } else {
    size_t i = len;
    while (i > 16) {
      seed = Mix(Read64(p) ^ kP1, Read64(p + 8) ^ seed);
      p += 16;
      i -= 16;
    }
    a = Read64(p + i - 16);
    b = Read64(p + i - 8);
  }
  return Mix(kP1 ^ len, Mix(a ^ kP1, b ^ seed) ^ kP2);
}

Shard::Shard(const std::atomic<int64_t>* clock) : clock_(clock) {
  SetBuckets(std::vector<Entry*>(kInitialBuckets, nullptr));
}

void Shard::SetBuckets(std::vector<Entry*> buckets) {
  buckets_ = std::move(buckets);
  bucket_count_.set(buckets_.size());
}

void Shard::ForgetSmall(size_t n) {
  if (n == 0) return;
  MaybeLock lock(s3_->mutex, s3_->thread_safe);
  s3_->small_count -= n;
}

Shard::~Shard() {
  for (Entry*& head : buckets_) {
    while (head) {
      Entry* next = head->next;
      FreeEntry(head);
      head = next;
    }
  }
}

Entry** Shard::FindLink(std::string_view key, uint64_t hash) {
  Entry** link = &buckets_[BucketOf(hash)];
  while (*link) {
    std::string_view k = EntryKey(*link);
    if (k.size() == key.size() && std::memcmp(k.data(), key.data(), key.size()) == 0) return link;
    link = &(*link)->next;
  }
  return link;
}

Entry** Shard::LinkOf(const Entry* entry, uint64_t hash) {
  Entry** link = &buckets_[BucketOf(hash)];
  while (*link != entry) link = &(*link)->next;
  return link;
}

void Shard::Unlink(Entry** link) {
  Entry* e = *link;
  *link = e->next;
  --size_;
  if (s3_ && !(e->flags & kInMainQueue)) ForgetSmall(1);
  if (e->flags & kHasExpire) --volatile_count_;
  entry_bytes_.sub(EntryAllocatedSize(e));
  FreeEntry(e);
}

Entry* Shard::Find(std::string_view key, uint64_t hash, int64_t now_ms, bool touch) {
  Entry** link = FindLink(key, hash);
  Entry* e = *link;
  if (!e) return nullptr;
  if (IsExpired(e, now_ms)) {
    Notify(key);
    Unlink(link);
    ++expired_keys_;
    return nullptr;
  }
  if (touch) Touch(e);
  return e;
}

Entry* Shard::Set(std::string_view key, uint64_t hash, std::string_view value,
                  int64_t expire_at_ms) {
  Notify(key);
  Entry** link = FindLink(key, hash);
  Entry* created = CreateEntry(key, value, expire_at_ms);
  entry_bytes_.add(EntryAllocatedSize(created));
  if (expire_at_ms != 0) ++volatile_count_;
  if (*link) {
    Entry* old = *link;
    created->next = old->next;
    CarryState(old, created);
    Touch(created);
    *link = created;
    if (old->flags & kHasExpire) --volatile_count_;
    entry_bytes_.sub(EntryAllocatedSize(old));
    FreeEntry(old);
    return created;
  }
  *link = created;
  ++size_;
  Admit(created, hash);
  if (size_.get() > buckets_.size()) Resize(buckets_.size() * 2);
  return created;
}

Entry* Shard::ReplaceValue(Entry* entry, uint64_t hash, std::string_view value) {
  Notify(EntryKey(entry));
  if (EntryValue(entry).size() == value.size()) {
    OverwriteValueInPlace(entry, value);
    return entry;
  }
  Entry** link = LinkOf(entry, hash);
  Entry* created = CreateEntry(EntryKey(entry), value, EntryExpireAt(entry));
  created->next = entry->next;
  CarryState(entry, created);
  *link = created;
  entry_bytes_.add(EntryAllocatedSize(created));
  entry_bytes_.sub(EntryAllocatedSize(entry));
  FreeEntry(entry);
  return created;
}

Entry* Shard::SetExpire(Entry* entry, uint64_t hash, int64_t expire_at_ms) {
  Notify(EntryKey(entry));
  const bool had = entry->flags & kHasExpire;
  if (had && expire_at_ms != 0) {
    SetEntryExpireInPlace(entry, expire_at_ms);
    return entry;
  }
  if (!had && expire_at_ms == 0) return entry;
  Entry** link = LinkOf(entry, hash);
  Entry* created = CreateEntry(EntryKey(entry), EntryValue(entry), expire_at_ms);
  created->next = entry->next;
  CarryState(entry, created);
  *link = created;
  if (expire_at_ms != 0) {
    ++volatile_count_;
  } else {
    --volatile_count_;
  }
  entry_bytes_.add(EntryAllocatedSize(created));
  entry_bytes_.sub(EntryAllocatedSize(entry));
  FreeEntry(entry);
  return created;
}

bool Shard::Delete(std::string_view key, uint64_t hash) {
  // A delete of a missing key still counts as a change: a fetch in flight for it must not
  // fill the store afterwards (the singleflight Forget rule).
  Notify(key);
  Entry** link = FindLink(key, hash);
  if (!*link) return false;
  Unlink(link);
  return true;
}

void Shard::Flush() {
  if (watching_.load(std::memory_order_relaxed) > 0 && watcher_) watcher_->OnFlush();
  size_t small = 0;
  for (Entry*& head : buckets_) {
    while (head) {
      Entry* next = head->next;
      if (!(head->flags & kInMainQueue)) ++small;
      FreeEntry(head);
      head = next;
    }
  }
  if (s3_) ForgetSmall(small);
  SetBuckets(std::vector<Entry*>(kInitialBuckets, nullptr));
  size_.set(0);
  volatile_count_.set(0);
  entry_bytes_.set(0);
  expire_cursor_ = 0;
}

void Shard::Resize(size_t new_bucket_count) {
  std::vector<Entry*> old;
  old.swap(buckets_);
  SetBuckets(std::vector<Entry*>(new_bucket_count, nullptr));
  for (Entry* head : old) {
    while (head) {
      Entry* next = head->next;
      Entry*& bucket = buckets_[BucketOf(HashKey(EntryKey(head)))];
      head->next = bucket;
      bucket = head;
      head = next;
    }
  }
}

bool Shard::WantsShrink() const {
  const size_t buckets = bucket_count_.get();
  return buckets > kInitialBuckets && size_.get() * 8 < buckets;
}

void Shard::MaybeShrink() {
  const size_t size = size_.get();
  if (buckets_.size() > kInitialBuckets && size * 8 < buckets_.size()) {
    size_t target = buckets_.size();
    while (target > kInitialBuckets && size * 2 < target) target /= 2;
    Resize(target);
  }
}

size_t Shard::ActiveExpireStep(int64_t now_ms, size_t max_buckets, size_t* expired) {
  size_t visited_volatile = 0;
  for (size_t i = 0; i < max_buckets && volatile_count_.get() > 0; ++i) {
    expire_cursor_ &= buckets_.size() - 1;
    Entry** link = &buckets_[expire_cursor_];
    ++expire_cursor_;
    while (*link) {
      Entry* e = *link;
      if (e->flags & kHasExpire) {
        ++visited_volatile;
        if (EntryExpireAt(e) <= now_ms) {
          Notify(EntryKey(e));
          Unlink(link);
          ++expired_keys_;
          ++*expired;
          continue;
        }
      }
      link = &e->next;
    }
  }
  return visited_volatile;
}

uint64_t Shard::Scan(uint64_t cursor, int64_t now_ms, const std::function<void(const Entry*)>& fn) {
  const uint64_t mask = buckets_.size() - 1;
  for (const Entry* e = buckets_[cursor & mask]; e; e = e->next) {
    if (!IsExpired(e, now_ms)) fn(e);
  }
  cursor |= ~mask;
  cursor = ReverseBits(cursor);
  ++cursor;
  cursor = ReverseBits(cursor);
  return cursor;
}

Entry* Shard::RandomEntry(int64_t now_ms, uint64_t random) {
  if (size_.get() == 0) return nullptr;
  const size_t mask = buckets_.size() - 1;
  // Probe buckets from a random start; chains are short, so pick a random element of the
  // first non-empty chain, skipping expired entries (bounded tries, as Redis does).
  for (size_t tries = 0; tries < buckets_.size() * 2 + 16; ++tries) {
    uint64_t r = random + tries * 0x9E3779B97F4A7C15ULL;
    Entry* head = buckets_[(r >> 7) & mask];
    if (!head) continue;
    size_t len = 0;
    for (Entry* e = head; e; e = e->next) ++len;
    Entry* pick = head;
    for (size_t k = (r >> 3) % len; k > 0; --k) pick = pick->next;
    if (!IsExpired(pick, now_ms)) return pick;
  }
  return nullptr;
}

void Shard::CarryState(const Entry* from, Entry* to) {
  to->access = from->access;
  to->flags =
      static_cast<uint8_t>((to->flags & kHasExpire) | (from->flags & (kInMainQueue | kFreqMask)));
}

void Shard::Touch(Entry* e) {
  if (track_lfu_) {
    rng_ ^= rng_ << 13;
    rng_ ^= rng_ >> 7;
    rng_ ^= rng_ << 17;
    e->access = LfuTouch(e->access, Now(), rng_);
  } else {
    e->access = LruClock(Now());
  }
  if (s3_) {
    unsigned freq = (e->flags & kFreqMask) >> kFreqShift;
    if (freq < 3) e->flags = static_cast<uint8_t>(e->flags + (1 << kFreqShift));
  }
}

void Shard::Admit(Entry* e, uint64_t hash) {
  e->access = track_lfu_ ? LfuInitial(Now()) : LruClock(Now());
  if (!s3_) return;
  MaybeLock lock(s3_->mutex, s3_->thread_safe);
  if (s3_->queues.TakeGhost(hash)) {
    e->flags |= kInMainQueue;
    s3_->queues.PushMain(hash);
  } else {
    ++s3_->small_count;
    s3_->queues.PushSmall(hash);
  }
}

void Shard::ConfigureEviction(EvictionPolicy policy, S3Fifo* s3fifo) {
  const bool lfu = PolicyTracksLfu(policy);
  if (lfu != track_lfu_) {
    // Reinterpret every key's access state from now on, as Redis does after a policy switch.
    const uint32_t fresh = lfu ? LfuInitial(Now()) : LruClock(Now());
    for (Entry* head : buckets_) {
      for (Entry* e = head; e; e = e->next) e->access = fresh;
    }
    track_lfu_ = lfu;
  }
  if (s3fifo != s3_) {
    s3_ = s3fifo;
    if (s3_) AttachS3Fifo();
  }
}

void Shard::AttachS3Fifo() {
  // Keys that were there before S3-FIFO took over start in the main queue, in table order.
  MaybeLock lock(s3_->mutex, s3_->thread_safe);
  for (Entry* head : buckets_) {
    for (Entry* e = head; e; e = e->next) {
      e->flags = static_cast<uint8_t>((e->flags & ~kFreqMask) | kInMainQueue);
      s3_->queues.PushMain(HashKey(EntryKey(e)));
    }
  }
}

Entry** Shard::FindLinkByHash(uint64_t hash, bool in_main) {
  Entry** link = &buckets_[BucketOf(hash)];
  while (*link) {
    Entry* e = *link;
    if (((e->flags & kInMainQueue) != 0) == in_main && HashKey(EntryKey(e)) == hash) return link;
    link = &e->next;
  }
  return nullptr;
}

Entry* Shard::FindByHash(uint64_t hash, bool in_main) {
  Entry** link = FindLinkByHash(hash, in_main);
  return link ? *link : nullptr;
}

void Shard::EvictByHash(uint64_t hash, bool in_main) {
  Entry** link = FindLinkByHash(hash, in_main);
  if (!link) return;
  Notify(EntryKey(*link));
  Unlink(link);
  ++evicted_keys_;
}

bool Shard::Evict(std::string_view key, uint64_t hash) {
  Entry** link = FindLink(key, hash);
  if (!*link) return false;
  Notify(key);
  Unlink(link);
  ++evicted_keys_;
  return true;
}

Entry* Shard::RandomVolatileEntry(int64_t now_ms, uint64_t random) {
  if (volatile_count_.get() == 0) return nullptr;
  for (uint64_t i = 0; i < 8; ++i) {
    Entry* e = RandomEntry(now_ms, random + i * 0x9E3779B97F4A7C15ULL);
    if (e && (e->flags & kHasExpire)) return e;
  }
  const size_t mask = buckets_.size() - 1;
  for (size_t i = 0; i < buckets_.size(); ++i) {
    for (Entry* e = buckets_[(random + i) & mask]; e; e = e->next) {
      if ((e->flags & kHasExpire) && !IsExpired(e, now_ms)) return e;
    }
  }
  return nullptr;
}

}  // namespace flightcache::storage
