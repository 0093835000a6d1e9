// listpack.h — a flat, compact sequence of byte strings in one buffer (Redis's listpack idea).
//
// Entry layout: [length: varint][bytes]. Positions are byte offsets into the buffer; End() is
// one past the last entry. Lookups walk from the front, so a listpack is meant for small
// values: the hash, set and list encodings bound its entries and bytes and convert past them.
// Positions are invalidated by any insert, erase or replace at or before them.
// Used by HashObject, SetObject and Quicklist (one listpack per node). No locking: the owner's
// shard lock guards it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace flightcache::storage {

class Listpack {
 public:
  size_t size() const { return count_; }
  bool empty() const { return count_ == 0; }
  // Bytes of the encoded entries.
  size_t bytes() const { return buf_.size(); }
  // Heap bytes the buffer holds, as the allocator sizes its block (0 while it fits inline).
  size_t MemoryBytes() const;

  size_t Begin() const { return 0; }
  size_t End() const { return buf_.size(); }
  // The position after the entry at pos.
  size_t Next(size_t pos) const;
  // The entry at pos (valid until the listpack changes).
  std::string_view Get(size_t pos) const;
  // The position of the index-th entry (0-based, index < size()), walking from the front.
  size_t PositionOf(size_t index) const;
  // The position of the last entry, or End() when empty.
  size_t Last() const;
  // The first position at or after from, stepping by step entries, whose entry equals value;
  // End() when none. (step 2 from 0 finds hash fields, skipping their values.)
  size_t Find(std::string_view value, size_t from = 0, size_t step = 1) const;

  void PushBack(std::string_view value) { Insert(End(), value); }
  void PushFront(std::string_view value) { Insert(0, value); }
  // Inserts value before the entry at pos (pos == End(): appends).
  void Insert(size_t pos, std::string_view value);
  // Removes count entries starting at pos.
  void Erase(size_t pos, size_t count = 1);
  // Replaces the entry at pos with value.
  void Replace(size_t pos, std::string_view value);
  void Clear();
  // Gives back unused capacity (after large removals).
  void ShrinkToFit() { buf_.shrink_to_fit(); }

 private:
  std::string buf_;
  size_t count_ = 0;
};

}  // namespace flightcache::storage
