// chained_table.h — an intrusive chained hash table that resizes incrementally: the index of
// Dict (big hashes and sets) and of the sorted set's skiplist nodes (member -> node).
//
// The table owns only its bucket arrays. Nodes belong to the caller, who links them in through
// a next pointer inside the node (Traits::Next(node) returns a Node*&) and whose key
// Traits::Key(node) returns; the table never allocates, copies or frees a node, so node
// pointers stay valid across resizes. Hashes are HashKey() of the key, not stored: a move
// hashes the key again.
//
// Resizing is Redis's incremental rehash: growing (at one node per bucket) or shrinking (below
// 1/8 full) allocates the new array, and every later Insert or Unlink moves a few buckets of
// the old array into it (RehashStep), so no single operation walks a big table. While both
// arrays exist, lookups look in both and inserts go to the new one. Small tables (up to
// kRehashAtOnce buckets) move at once. Scan() uses Redis's reverse-binary cursor over both
// arrays, so a resize between two calls never makes it miss a node that stays.
// No locking: the owning shard's lock guards it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "storage/entry.h"
#include "storage/shard.h"

namespace flightcache::storage {

template <typename Node, typename Traits>
class ChainedTable {
 public:
  // Buckets moved per Insert/Unlink while a resize is under way.
  static constexpr size_t kStepBuckets = 4;
  // Old arrays up to this many buckets are moved in one step.
  static constexpr size_t kRehashAtOnce = 64;

  ChainedTable() = default;
  // Frees the arrays only: the caller frees its nodes first (FreeAll).
  ~ChainedTable() {
    std::free(tables_[0].slots);
    std::free(tables_[1].slots);
  }
  ChainedTable(const ChainedTable&) = delete;
  ChainedTable& operator=(const ChainedTable&) = delete;

  size_t size() const { return size_; }
  bool rehashing() const { return tables_[1].slots != nullptr; }
  // Buckets of the array(s): the old one's plus the new one's while resizing.
  size_t buckets() const { return tables_[0].count + tables_[1].count; }
  // The bucket arrays as the allocator sizes them (nodes are the caller's to count).
  size_t ArrayBytes() const {
    size_t bytes = 0;
    for (const Array& t : tables_) {
      if (t.slots) bytes += AllocatedBlockSize(t.slots);
    }
    return bytes;
  }

  // The link (the bucket slot or the previous node's next) that points at the node whose key
  // is key, or nullptr when there is none. Valid until the table changes.
  Node** FindLink(std::string_view key, uint64_t hash) const {
    for (const Array& t : tables_) {
      if (!t.slots) continue;
      for (Node** link = &t.slots[hash & (t.count - 1)]; *link; link = &Traits::Next(*link)) {
        if (Traits::Key(*link) == key) return link;
      }
    }
    return nullptr;
  }
  Node* Find(std::string_view key, uint64_t hash) const {
    Node** link = FindLink(key, hash);
    return link ? *link : nullptr;
  }

  // Links node (whose key is not in the table; hash is HashKey of it) in, after a rehash step.
  void Insert(Node* node, uint64_t hash) {
    if (rehashing()) {
      // A shrink that inserts outrun (the new array already holds twice its buckets) moves
      // faster, so that chains stay short; still a bounded step.
      RehashStep(size_ > 2 * tables_[1].count ? kStepBuckets * 16 : kStepBuckets);
    } else if (size_ >= tables_[0].count) {
      StartResize(tables_[0].count == 0 ? kMinBuckets : tables_[0].count * 2);
    }
    Array& t = rehashing() ? tables_[1] : tables_[0];
    Node*& head = t.slots[hash & (t.count - 1)];
    Traits::Next(node) = head;
    head = node;
    ++size_;
  }
  // Puts replacement where *link's node is (same key); the old node is the caller's again.
  void Replace(Node** link, Node* replacement) {
    Traits::Next(replacement) = Traits::Next(*link);
    *link = replacement;
  }
  // Unlinks *link's node (from FindLink), then takes a rehash step or starts a shrink. The
  // node is the caller's again.
  void Unlink(Node** link) {
    *link = Traits::Next(*link);
    --size_;
    if (rehashing()) {
      RehashStep(kStepBuckets);
    } else {
      MaybeShrink();
    }
  }

  // Calls fn(node) for every node. fn must not change the table.
  template <typename Fn>
  void ForEach(Fn&& fn) const {
    for (const Array& t : tables_) {
      for (size_t i = 0; i < t.count; ++i) {
        for (Node* n = t.slots[i]; n; n = Traits::Next(n)) fn(n);
      }
    }
  }
  // Unlinks every node, calling free_node(node) on each, and frees the arrays.
  template <typename Fn>
  void FreeAll(Fn&& free_node) {
    for (Array& t : tables_) {
      for (size_t i = 0; i < t.count; ++i) {
        for (Node* n = t.slots[i]; n;) {
          Node* next = Traits::Next(n);
          free_node(n);
          n = next;
        }
      }
      std::free(t.slots);
      t = Array{};
    }
    size_ = 0;
    rehash_index_ = 0;
  }

  // Redis's dictScan: calls fn(node) for the nodes of the bucket under cursor (and, while
  // resizing, of every bucket of the larger array it expands to) and returns the next cursor,
  // 0 when the scan is over. The cursor counts in reverse binary, so the buckets it has passed
  // stay passed when the table doubles or halves: a node present for the whole scan is seen
  // at least once (possibly more than once across a resize).
  template <typename Fn>
  uint64_t Scan(uint64_t cursor, Fn&& fn) const {
    if (!rehashing()) {
      const Array& t = tables_[0];
      if (t.count == 0) return 0;
      const uint64_t mask = t.count - 1;
      VisitBucket(t, cursor & mask, fn);
      cursor |= ~mask;
      return ReverseBits(ReverseBits(cursor) + 1);
    }
    const Array* small = &tables_[0];
    const Array* large = &tables_[1];
    if (small->count > large->count) std::swap(small, large);
    const uint64_t m0 = small->count - 1, m1 = large->count - 1;
    VisitBucket(*small, cursor & m0, fn);
    do {
      VisitBucket(*large, cursor & m1, fn);
      // Increment the reverse cursor over the bits the smaller mask does not cover; the carry
      // out of them advances the smaller array's part.
      cursor |= ~m1;
      cursor = ReverseBits(ReverseBits(cursor) + 1);
    } while (cursor & (m0 ^ m1));
    return cursor;
  }

  // A random node: a random non-empty bucket of either array (the old array's moved buckets
  // left out), then a random node of its chain; nullptr when the table is empty. As Redis's
  // dictGetRandomKey, nodes in long chains are a little less likely.
  Node* Random(uint64_t random) const {
    if (size_ == 0) return nullptr;
    const size_t old_left = tables_[0].count - rehash_index_;
    const size_t total = old_left + tables_[1].count;
    for (uint64_t i = 0;; ++i) {
      const uint64_t r = random + i * 0x9E3779B97F4A7C15ULL;
      const size_t pick = static_cast<size_t>((r >> 7) % total);
      Node* head = pick < old_left ? tables_[0].slots[rehash_index_ + pick]
                                   : tables_[1].slots[pick - old_left];
      if (!head) continue;
      size_t len = 0;
      for (Node* n = head; n; n = Traits::Next(n)) ++len;
      Node* chosen = head;
      for (size_t k = (r >> 3) % len; k > 0; --k) chosen = Traits::Next(chosen);
      return chosen;
    }
  }

  // One step of an incremental resize: moves the chains of up to max_buckets non-empty buckets
  // of the old array (from rehash_index_ up) into the new one, visiting at most 10 times as
  // many buckets in all, so that a sparse old array (after many erases) cannot make one step
  // walk most of it. On the step that moves the last bucket, the new array replaces the old.
  // Returns true while buckets are left to move.
  bool RehashStep(size_t max_buckets) {
    if (!rehashing()) return false;
    Array& from = tables_[0];
    Array& to = tables_[1];
    size_t empty_visits = max_buckets * 10;
    while (max_buckets > 0 && rehash_index_ < from.count) {
      Node* n = from.slots[rehash_index_];
      from.slots[rehash_index_] = nullptr;
      ++rehash_index_;
      if (!n) {
        if (--empty_visits == 0) break;
        continue;
      }
      while (n) {
        Node* next = Traits::Next(n);
        Node*& head = to.slots[HashKey(Traits::Key(n)) & (to.count - 1)];
        Traits::Next(n) = head;
        head = n;
        n = next;
      }
      --max_buckets;
    }
    if (rehash_index_ < from.count) return true;
    std::free(from.slots);
    tables_[0] = to;
    tables_[1] = Array{};
    rehash_index_ = 0;
    return false;
  }

 private:
  static constexpr size_t kMinBuckets = 4;
  struct Array {
    Node** slots = nullptr;
    size_t count = 0;  // a power of two, or 0 before the first insert
  };

  static uint64_t ReverseBits(uint64_t v) {
    v = ((v >> 1) & 0x5555555555555555ULL) | ((v & 0x5555555555555555ULL) << 1);
    v = ((v >> 2) & 0x3333333333333333ULL) | ((v & 0x3333333333333333ULL) << 2);
    v = ((v >> 4) & 0x0F0F0F0F0F0F0F0FULL) | ((v & 0x0F0F0F0F0F0F0F0FULL) << 4);
    v = ((v >> 8) & 0x00FF00FF00FF00FFULL) | ((v & 0x00FF00FF00FF00FFULL) << 8);
    v = ((v >> 16) & 0x0000FFFF0000FFFFULL) | ((v & 0x0000FFFF0000FFFFULL) << 16);
    return (v >> 32) | (v << 32);
  }
  template <typename Fn>
  static void VisitBucket(const Array& t, uint64_t index, Fn& fn) {
    for (Node* n = t.slots[index]; n;) {
      Node* next = Traits::Next(n);
      fn(n);
      n = next;
    }
  }

  // Allocates the new array; an old array of up to kRehashAtOnce buckets moves at once.
  void StartResize(size_t buckets) {
    auto* slots = static_cast<Node**>(std::calloc(buckets, sizeof(Node*)));
    if (!slots) std::abort();  // as Redis: out of memory is fatal
    if (tables_[0].slots == nullptr) {
      tables_[0] = Array{slots, buckets};
      return;
    }
    tables_[1] = Array{slots, buckets};
    rehash_index_ = 0;
    if (tables_[0].count <= kRehashAtOnce) RehashStep(tables_[0].count);
  }
  void MaybeShrink() {
    size_t target = tables_[0].count;
    if (target <= kMinBuckets || size_ * 8 >= target) return;
    while (target > kMinBuckets && size_ * 2 < target) target /= 2;
    StartResize(target);
  }

  Array tables_[2];
  size_t rehash_index_ = 0;  // old buckets below it have moved
  size_t size_ = 0;
};

}  // namespace flightcache::storage
