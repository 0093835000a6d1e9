// shard.cc — the shard's chained hash table, lazy and active expiry (see shard.h).
#include "storage/shard.h"

#include <cassert>
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

// For an expired entry: whether its freshness windows still keep it (stale, not reclaimed).
bool KeptStale(const Entry* e, int64_t now_ms) {
  return EntryHasFreshness(e) && EntryExpireAt(e) + EntryGraceMs(e) > now_ms;
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

Shard::Table::Table(size_t buckets)
    : slots_(static_cast<Entry**>(std::calloc(buckets, sizeof(Entry*)))), size_(buckets) {
  if (!slots_) std::abort();  // as operator new would fail, without exceptions on the hot path
}

Shard::Shard(const std::atomic<int64_t>* clock, std::mutex* mutex)
    : mutex_(mutex ? mutex : &own_mutex_), clock_(clock) {
  tables_[0] = Table(kInitialBuckets);
  TablesChanged();
}

void Shard::TablesChanged() {
  bucket_count_.set(tables_[0].size() + tables_[1].size());
  rehashing_hint_.set(rehashing());
}

template <typename Fn>
void Shard::ForEachEntry(Fn&& fn) {
  for (Table& t : tables_) {
    for (size_t i = 0; i < t.size(); ++i) {
      for (Entry* e = t[i]; e; e = e->next) fn(e);
    }
  }
}

size_t Shard::FreeAllEntries() {
  size_t small = 0;
  for (Table& t : tables_) {
    for (size_t i = 0; i < t.size(); ++i) {
      for (Entry* e = t[i]; e;) {
        Entry* next = e->next;
        if (!(e->flags & kInMainQueue)) ++small;
        FreeEntry(e);
        e = next;
      }
      t[i] = nullptr;
    }
  }
  return small;
}

Shard::~Shard() { FreeAllEntries(); }

namespace {

// The link that points at key's entry in the chain starting at link, or nullptr.
Entry** FindInChain(Entry** link, std::string_view key) {
  for (; *link; link = &(*link)->next) {
    std::string_view k = EntryKey(*link);
    if (k.size() == key.size() && std::memcmp(k.data(), key.data(), key.size()) == 0) return link;
  }
  return nullptr;
}

}  // namespace

Entry** Shard::FindLink(std::string_view key, uint64_t hash) {
  if (!rehashing()) return FindInChain(BucketLink(0, hash), key);  // the common case: one table
  if (!MovedAlready(hash)) {
    if (Entry** link = FindInChain(BucketLink(0, hash), key)) return link;
  }
  return FindInChain(BucketLink(1, hash), key);
}

Entry** Shard::LinkOf(const Entry* entry, uint64_t hash) {
  for (int t = 0; t <= InsertTable(); ++t) {
    if (t == 0 && MovedAlready(hash)) continue;
    for (Entry** link = BucketLink(t, hash); *link; link = &(*link)->next) {
      if (*link == entry) return link;
    }
  }
  assert(false && "the entry is in its shard");
  return nullptr;
}

void Shard::Unlink(Entry** link, FreeReason reason) {
  Entry* e = *link;
  *link = e->next;
  --size_;
  if (s3_ && !(e->flags & kInMainQueue)) --small_count_;
  if (e->flags & kHasExpire) --volatile_count_;
  entry_bytes_.sub(EntryMemory(e));
  Release(e, reason);
}

void Shard::ReleaseObjectEntry(Entry* e, FreeReason reason) {
  // The object leaves the block first: the block is small, freed here; the object may be big.
  std::unique_ptr<Object> object(EntryObject(e));
  FreeEntryBlock(e);
  lazy_free_->Free(std::move(object), reason);
}

Entry* Shard::Find(std::string_view key, uint64_t hash, int64_t now_ms, bool touch) {
  RehashTick();
  Entry** link = FindLink(key, hash);
  if (!link) return nullptr;
  Entry* e = *link;
  if (IsExpired(e, now_ms)) [[unlikely]] {
    if (KeptStale(e, now_ms)) return nullptr;  // expired for every reader but read-through
    // An entry with freshness expired logically at its expiry, unseen: reclaiming it later is
    // no change (as Redis 7.0's WATCH treats the deletion of an already expired key).
    if (!EntryHasFreshness(e)) Notify(key, {KeyChangeKind::kExpired, false});
    Unlink(link, FreeReason::kExpire);
    ++expired_keys_;
    return nullptr;
  }
  if (touch) Touch(e);
  return e;
}

Entry* Shard::FindReadThrough(std::string_view key, uint64_t hash, int64_t now_ms, bool* expired,
                              bool touch) {
  *expired = false;
  RehashTick();
  Entry** link = FindLink(key, hash);
  if (!link) return nullptr;
  Entry* e = *link;
  if (IsExpired(e, now_ms)) [[unlikely]] {
    if (!KeptStale(e, now_ms)) {
      if (!EntryHasFreshness(e)) Notify(key, {KeyChangeKind::kExpired, false});
      Unlink(link, FreeReason::kExpire);
      ++expired_keys_;
      return nullptr;
    }
    *expired = true;
  }
  if (touch) Touch(e);
  return e;
}

Entry* Shard::SetFilled(std::string_view key, uint64_t hash, std::string_view value,
                        int64_t expire_at_ms, const Freshness& freshness) {
  return Insert(key, hash, CreateEntry(key, value, expire_at_ms, ValueType::kString, &freshness),
                expire_at_ms);
}

bool Shard::MarkStale(std::string_view key, uint64_t hash, int64_t now_ms) {
  RehashTick();
  Entry** link = FindLink(key, hash);
  if (!link) return false;
  Entry* e = *link;
  if (!EntryHasFreshness(e) || EntryFreshness(e).stale_while_revalidate_s == 0) return false;
  // A value without an expiry has no stale window to serve from: the caller deletes it.
  if (!(e->flags & kHasExpire)) return false;
  if (IsExpired(e, now_ms) && !KeptStale(e, now_ms)) return false;
  // Reported as a deletion: for every reader but read-through the key is gone (an origin
  // invalidation, named "invalidate" by keyspace notifications; trackers are told).
  Notify(key, {KeyChangeKind::kDeleted, false});
  if (EntryExpireAt(e) > now_ms) SetEntryExpireInPlace(e, now_ms);
  return true;
}

// Inlined into Set: the string write path pays no extra call for sharing it with SetObject.
[[gnu::always_inline]] inline Entry* Shard::Insert(std::string_view key, uint64_t hash,
                                                   Entry* created, int64_t expire_at_ms) {
  RehashTick();
  Entry** link = FindLink(key, hash);
  Notify(key, {link ? KeyChangeKind::kWritten : KeyChangeKind::kCreated, expire_at_ms != 0});
  entry_bytes_.add(EntryMemory(created));
  if (expire_at_ms != 0) ++volatile_count_;
  if (link) {
    Entry* old = *link;
    created->next = old->next;
    CarryState(old, created);
    Touch(created);
    *link = created;
    if (old->flags & kHasExpire) --volatile_count_;
    entry_bytes_.sub(EntryMemory(old));
    Release(old, FreeReason::kServerDel);  // Redis's dbSetValue: lazyfree-lazy-server-del
    return created;
  }
  Entry** head = BucketLink(InsertTable(), hash);
  created->next = *head;
  *head = created;
  ++size_;
  if (used_flag_ && !used_flag_->load(std::memory_order_relaxed)) {
    used_flag_->store(true, std::memory_order_relaxed);
  }
  Admit(created, hash);
  // As Redis: no new resize while one is under way. Every operation moves a bucket, so the
  // rehash ends long before the new table is full.
  if (!rehashing() && size_.get() > tables_[0].size()) StartRehash(tables_[0].size() * 2);
  return created;
}

Entry* Shard::Set(std::string_view key, uint64_t hash, std::string_view value,
                  int64_t expire_at_ms) {
  return Insert(key, hash, CreateEntry(key, value, expire_at_ms), expire_at_ms);
}

Entry* Shard::SetObject(std::string_view key, uint64_t hash, std::unique_ptr<Object> object,
                        int64_t expire_at_ms) {
  return Insert(key, hash, CreateObjectEntry(key, std::move(object), expire_at_ms), expire_at_ms);
}

std::unique_ptr<Object> Shard::TakeObject(Entry* entry, uint64_t hash) {
  assert(!EntryIsString(entry));
  Notify(EntryKey(entry), {KeyChangeKind::kDeleted, false});
  std::unique_ptr<Object> object(EntryObject(entry));
  Entry** link = LinkOf(entry, hash);
  *link = entry->next;
  --size_;
  if (s3_ && !(entry->flags & kInMainQueue)) --small_count_;
  if (entry->flags & kHasExpire) --volatile_count_;
  entry_bytes_.sub(EntryAllocatedSize(entry) + object->MemoryBytes());
  FreeEntryBlock(entry);
  return object;
}

Entry* Shard::ReplaceValue(Entry* entry, uint64_t hash, std::string_view value) {
  assert(EntryIsString(entry));
  Notify(EntryKey(entry), {KeyChangeKind::kWritten, false});
  if (EntryValue(entry).size() == value.size()) {
    ClearEntryFreshness(entry);  // a client's value is no origin fill
    OverwriteValueInPlace(entry, value);
    return entry;
  }
  return Rewrite(entry, hash, value, EntryExpireAt(entry));
}

Entry* Shard::Rewrite(Entry* entry, uint64_t hash, std::string_view value, int64_t expire_at_ms) {
  Entry** link = LinkOf(entry, hash);
  // A non-string's value bytes are its object pointer: the new block takes the object over.
  Entry* created = CreateEntry(EntryKey(entry), value, expire_at_ms, EntryType(entry));
  created->next = entry->next;
  CarryState(entry, created);
  *link = created;
  entry_bytes_.add(EntryAllocatedSize(created));
  entry_bytes_.sub(EntryAllocatedSize(entry));
  FreeEntryBlock(entry);
  return created;
}

Entry* Shard::SetExpire(Entry* entry, uint64_t hash, int64_t expire_at_ms) {
  Notify(EntryKey(entry),
         {expire_at_ms != 0 ? KeyChangeKind::kExpireSet : KeyChangeKind::kPersisted, false});
  const bool had = entry->flags & kHasExpire;
  if (had && expire_at_ms != 0) {
    ClearEntryFreshness(entry);  // the client's expiry: the key expires as an ordinary one
    SetEntryExpireInPlace(entry, expire_at_ms);
    return entry;
  }
  if (!had && expire_at_ms == 0) return entry;
  if (expire_at_ms != 0) {
    ++volatile_count_;
  } else {
    --volatile_count_;
  }
  return Rewrite(entry, hash, EntryValue(entry), expire_at_ms);
}

bool Shard::Delete(std::string_view key, uint64_t hash, FreeReason reason) {
  // A delete of a missing key still counts as a change: a fetch in flight for it must not
  // fill the store afterwards (the singleflight Forget rule).
  RehashTick();
  Entry** link = FindLink(key, hash);
  Notify(key, {link ? KeyChangeKind::kDeleted : KeyChangeKind::kAbsentDelete, false});
  if (!link) return false;
  Unlink(link, reason);
  return true;
}

void Shard::Flush(bool async) {
  if (watching_.load(std::memory_order_relaxed) > 0 && watcher_) watcher_->OnFlush();
  if (async && lazy_free_ && size_.get() > 0) {
    // Redis's emptyDbAsync: the whole table goes to the thread, every key counted as an object.
    // The bytes it hands over are everything the shard counted for keys and buckets.
    const size_t bytes = entry_bytes_.get() + bucket_count_.get() * sizeof(Entry*);
    std::vector<DetachedTable> detached;
    for (Table& t : tables_) {
      if (!t.empty()) detached.push_back(t.Release());
    }
    lazy_free_->FreeTables(std::move(detached), size_.get(), bytes);
  } else {
    FreeAllEntries();
  }
  queues_.Clear();
  small_count_.set(0);
  tables_[0] = Table(kInitialBuckets);
  tables_[1] = Table();
  rehash_index_ = 0;
  TablesChanged();
  size_.set(0);
  volatile_count_.set(0);
  entry_bytes_.set(0);
  expire_cursor_ = 0;
}

void Shard::SwapContents(Shard& other) {
  for (Shard* s : {this, &other}) {
    if (s->watching_.load(std::memory_order_relaxed) > 0 && s->watcher_) s->watcher_->OnFlush();
  }
  std::swap(tables_[0], other.tables_[0]);
  std::swap(tables_[1], other.tables_[1]);
  std::swap(rehash_index_, other.rehash_index_);
  std::swap(expire_cursor_, other.expire_cursor_);
  queues_.SwapWith(other.queues_);
  auto swap_counter = [](auto& a, auto& b) {
    const auto v = a.get();
    a.set(b.get());
    b.set(v);
  };
  swap_counter(size_, other.size_);
  swap_counter(volatile_count_, other.volatile_count_);
  swap_counter(entry_bytes_, other.entry_bytes_);
  swap_counter(small_count_, other.small_count_);
  TablesChanged();
  other.TablesChanged();
}

void Shard::StartRehash(size_t new_bucket_count) {
  assert(!rehashing());
  tables_[1] = Table(new_bucket_count);
  rehash_index_ = 0;
  TablesChanged();
}

// One step of an incremental rehash: moves up to max_buckets non-empty buckets of the old table
// (tables_[0]) into the new one, from rehash_index_ upwards, relinking each entry (no entry is
// allocated, copied or freed, so Entry pointers callers hold stay valid). Returns true while
// buckets are left to move, false once the rehash is over (or none was under way); on the step
// that moves the last bucket, the new table replaces the old one and the old array is freed.
//
// Why the work is bounded: a step visits at most max_buckets * 10 buckets, empty or not (a
// sparse table, as after many deletes, could otherwise make one step walk almost all of it),
// and moves the chains of at most max_buckets of them. Chains are short: a table grows when it
// holds as many keys as buckets, so the expected chain is about one entry. Each move hashes the
// key again, as the table does not store hashes.
bool Shard::RehashStep(size_t max_buckets) {
  if (!rehashing()) return false;
  Table& from = tables_[0];
  Table& to = tables_[1];
  size_t empty_visits = max_buckets * 10;
  const size_t first = rehash_index_;
  while (max_buckets > 0 && rehash_index_ < from.size()) {
    Entry* e = from[rehash_index_];
    from[rehash_index_] = nullptr;
    ++rehash_index_;
    if (!e) {
      if (--empty_visits == 0) break;
      continue;
    }
    while (e) {
      Entry* next = e->next;
      Entry*& head = to[HashKey(EntryKey(e)) & to.mask()];
      e->next = head;
      head = e;
      e = next;
    }
    --max_buckets;
  }
  rehashed_buckets_.add(rehash_index_ - first);
  if (rehash_index_ < from.size()) return true;
  tables_[0] = std::move(tables_[1]);
  tables_[1] = Table();  // frees the old array
  rehash_index_ = 0;
  TablesChanged();
  return false;
}

bool Shard::WantsShrink() const {
  const size_t buckets = bucket_count_.get();
  return !rehashing_hint_.get() && buckets > kInitialBuckets && size_.get() * 8 < buckets;
}

void Shard::MaybeShrink() {
  if (rehashing()) return;
  const size_t size = size_.get();
  size_t target = tables_[0].size();
  if (target > kInitialBuckets && size * 8 < target) {
    while (target > kInitialBuckets && size * 2 < target) target /= 2;
    StartRehash(target);
  }
}

// Redis's dictScan: the cursor counts in reverse binary (the high bit of the mask increments
// first), so the buckets a cursor has passed stay passed when the table doubles or halves. While
// rehashing, it visits the cursor's bucket in the smaller table, then every bucket of the larger
// table that bucket expands to: a key is in one of them whichever table holds it now.
template <typename OnBucket>
uint64_t Shard::ScanBuckets(uint64_t cursor, size_t* visited, OnBucket&& on_bucket) {
  if (!rehashing()) {
    const uint64_t mask = tables_[0].mask();
    on_bucket(&tables_[0][cursor & mask]);
    ++*visited;
    cursor |= ~mask;
    return ReverseBits(ReverseBits(cursor) + 1);
  }
  Table* small = &tables_[0];
  Table* large = &tables_[1];
  if (small->size() > large->size()) std::swap(small, large);
  const uint64_t m0 = small->mask(), m1 = large->mask();
  on_bucket(&(*small)[cursor & m0]);
  ++*visited;
  do {
    on_bucket(&(*large)[cursor & m1]);
    ++*visited;
    // Increment the reverse cursor over the bits the smaller mask does not cover; the carry
    // out of them advances the smaller table's part.
    cursor |= ~m1;
    cursor = ReverseBits(ReverseBits(cursor) + 1);
  } while (cursor & (m0 ^ m1));
  return cursor;
}

size_t Shard::ActiveExpireStep(int64_t now_ms, size_t max_buckets, size_t* expired,
                               int64_t* ttl_sum_ms, bool reclaim_stale) {
  size_t visited_volatile = 0;
  size_t visited = 0;
  while (visited < max_buckets && volatile_count_.get() > 0) {
    expire_cursor_ = ScanBuckets(expire_cursor_, &visited, [&](Entry** link) {
      while (*link) {
        Entry* e = *link;
        if (e->flags & kHasExpire) {
          ++visited_volatile;
          if (EntryExpireAt(e) <= now_ms && (reclaim_stale || !KeptStale(e, now_ms))) {
            if (!EntryHasFreshness(e)) Notify(EntryKey(e), {KeyChangeKind::kExpired, false});
            Unlink(link, FreeReason::kExpire);
            ++expired_keys_;
            ++*expired;
            continue;
          }
          if (ttl_sum_ms) *ttl_sum_ms += EntryExpireAt(e) - now_ms;
        }
        link = &e->next;
      }
    });
  }
  return visited_volatile;
}

uint64_t Shard::Scan(uint64_t cursor, int64_t now_ms, const std::function<void(const Entry*)>& fn) {
  size_t visited = 0;
  return ScanBuckets(cursor, &visited, [&](Entry** head) {
    for (const Entry* e = *head; e; e = e->next) {
      if (!IsExpired(e, now_ms)) fn(e);
    }
  });
}

Entry* Shard::RandomEntry(int64_t now_ms, uint64_t random) {
  if (size_.get() == 0) return nullptr;
  const size_t old_size = tables_[0].size();
  const size_t total = old_size + tables_[1].size();
  // Probe buckets from a random start; chains are short, so pick a random element of the
  // first non-empty chain, skipping expired entries (bounded tries, as Redis does). While
  // rehashing, probe only where keys can be: the old table's unmoved buckets and the new table.
  for (size_t tries = 0; tries < total * 2 + 16; ++tries) {
    uint64_t r = random + tries * 0x9E3779B97F4A7C15ULL;
    Entry* head;
    if (rehashing()) {
      const size_t slot = rehash_index_ + (r >> 7) % (total - rehash_index_);
      head = slot < old_size ? tables_[0][slot] : tables_[1][slot - old_size];
    } else {
      head = tables_[0][(r >> 7) & tables_[0].mask()];
    }
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
  to->flags = static_cast<uint8_t>((to->flags & (kHasExpire | kHasFreshness | kTypeMask)) |
                                   (from->flags & (kInMainQueue | kFreqMask)));
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
  if (queues_.TakeGhost(hash)) {
    e->flags |= kInMainQueue;
    queues_.PushMain(hash);
  } else {
    ++small_count_;
    queues_.PushSmall(hash);
  }
}

void Shard::ConfigureEviction(EvictionPolicy policy, bool s3fifo) {
  const bool lfu = PolicyTracksLfu(policy);
  if (lfu != track_lfu_) {
    // Reinterpret every key's access state from now on, as Redis does after a policy switch.
    const uint32_t fresh = lfu ? LfuInitial(Now()) : LruClock(Now());
    ForEachEntry([&](Entry* e) { e->access = fresh; });
    track_lfu_ = lfu;
  }
  if (s3fifo != s3_) {
    s3_ = s3fifo;
    queues_.Clear();
    small_count_.set(0);
    if (s3_) AttachS3Fifo();
  }
}

void Shard::AttachS3Fifo() {
  // Keys that were there before S3-FIFO took over start in the main queue, in table order.
  ForEachEntry([&](Entry* e) {
    e->flags = static_cast<uint8_t>((e->flags & ~kFreqMask) | kInMainQueue);
    queues_.PushMain(HashKey(EntryKey(e)));
  });
  queues_.SizeGhostFor(size_.get());
}

Entry** Shard::FindLinkByHash(uint64_t hash, bool in_main) {
  for (int t = 0; t <= InsertTable(); ++t) {
    if (t == 0 && MovedAlready(hash)) continue;
    for (Entry** link = BucketLink(t, hash); *link; link = &(*link)->next) {
      const Entry* e = *link;
      if (((e->flags & kInMainQueue) != 0) == in_main && HashKey(EntryKey(e)) == hash) {
        return link;
      }
    }
  }
  return nullptr;
}

// Each step pops one hash of the queue asked for and either drops it (its key is gone, or is in
// the other queue now: stale), promotes a small-queue key read while there to main, gives a main
// key read since it last passed the tail another round (lowering its 2-bit frequency), or
// evicts. A key is promoted at most once and goes round main at most 3 times per access burst,
// so repeated calls end in an eviction or an empty queue; max_steps only bounds the time one
// call holds the shard lock.
Shard::S3FifoResult Shard::EvictS3Fifo(size_t max_steps, bool from_small) {
  if (!s3_ || size_.get() == 0) return S3FifoResult::kEmpty;
  queues_.SizeGhostFor(size_.get());
  for (size_t step = 0; step < max_steps; ++step) {
    uint64_t hash;
    if (!(from_small ? queues_.PopSmall(&hash) : queues_.PopMain(&hash))) {
      if (from_small) small_count_.set(0);  // the count and the queue disagree: trust the queue
      return S3FifoResult::kEmpty;
    }
    Entry** link = FindLinkByHash(hash, !from_small);
    if (!link) continue;  // stale
    Entry* e = *link;
    const unsigned freq = (e->flags & kFreqMask) >> kFreqShift;
    if (from_small) {
      if (freq > 0) {  // read while in S: promote to M, keeping its frequency
        e->flags |= kInMainQueue;
        --small_count_;
        queues_.PushMain(hash);
        continue;
      }
      queues_.RememberGhost(hash);  // a one-hit wonder: evicted, but remembered in G
    } else if (freq > 0) {          // read since it last passed the tail: one more round
      e->flags = static_cast<uint8_t>(e->flags - (1 << kFreqShift));
      queues_.PushMain(hash);
      continue;
    }
    Notify(EntryKey(e), {KeyChangeKind::kEvicted, false});
    Unlink(link, FreeReason::kEviction);
    ++evicted_keys_;
    return S3FifoResult::kEvicted;
  }
  return S3FifoResult::kMore;
}

bool Shard::Evict(std::string_view key, uint64_t hash) {
  RehashTick();
  Entry** link = FindLink(key, hash);
  if (!link) return false;
  Notify(key, {KeyChangeKind::kEvicted, false});
  Unlink(link, FreeReason::kEviction);
  ++evicted_keys_;
  return true;
}

Entry* Shard::RandomVolatileEntry(int64_t now_ms, uint64_t random) {
  if (volatile_count_.get() == 0) return nullptr;
  for (uint64_t i = 0; i < 8; ++i) {
    Entry* e = RandomEntry(now_ms, random + i * 0x9E3779B97F4A7C15ULL);
    if (e && (e->flags & kHasExpire)) return e;
  }
  for (const Table& t : tables_) {  // moved buckets of the old table are empty
    for (size_t i = 0; i < t.size(); ++i) {
      for (Entry* e = t[(random + i) & t.mask()]; e; e = e->next) {
        if ((e->flags & kHasExpire) && !IsExpired(e, now_ms)) return e;
      }
    }
  }
  return nullptr;
}

}  // namespace flightcache::storage
