// listpack.h — a flat, compact sequence of byte strings in one buffer (Redis's listpack idea).
//
// One heap block: [entry bytes: varint][entry count: varint][entries], nullptr while empty, so
// a Listpack itself is one pointer and a small one pays 2 or 3 header bytes. Entry layout: [length:
// varint][bytes]. Positions are byte offsets into the entries; End() is one past the last entry.
// The block grows to the exact size up to 256 bytes and by a quarter past it (so that pushes stay
// amortised), and shrinks when it is less than half used; MemoryBytes() is the block as the
// allocator sizes it. Lookups walk from the front, so a listpack is meant for small values: the
// hash, set and list encodings bound its entries and bytes and convert past them. Positions are
// invalidated by any insert, erase or replace at or before them. Used by HashObject, SetObject and
// Quicklist (one listpack per node). No locking: the owner's shard lock guards it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace flightcache::storage {

class Listpack {
 public:
  Listpack() = default;
  ~Listpack();
  Listpack(const Listpack& other);
  Listpack& operator=(const Listpack& other);
  Listpack(Listpack&& other) noexcept : block_(other.block_) { other.block_ = nullptr; }
  Listpack& operator=(Listpack&& other) noexcept;

  size_t size() const;
  bool empty() const { return size() == 0; }
  // Bytes of the encoded entries.
  size_t bytes() const;
  // Heap bytes of the block, as the allocator sizes it (0 when empty).
  size_t MemoryBytes() const;

  size_t Begin() const { return 0; }
  size_t End() const { return bytes(); }
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
  // Gives back unused capacity (a quicklist node that is full).
  void ShrinkToFit();

 private:
  struct Header {
    size_t bytes;  // of the entries
    size_t count;  // entries
    size_t size;   // of the header itself
  };
  Header ReadHeader() const;
  static size_t HeaderSize(size_t bytes, size_t count);
  // Writes the header for bytes and count, first moving the entries (bytes of them, now after
  // a header of old_header_size) to where the new header ends. The block must be large enough.
  void WriteHeader(size_t old_header_size, size_t bytes, size_t count);
  char* Data() const { return block_ + ReadHeader().size; }
  // True when value points into this listpack's block (it would move under a realloc).
  bool Aliases(std::string_view value) const;
  // Makes the block hold at least total bytes (header included; it may move).
  void Reserve(size_t total);
  // Reallocates the block to exactly total bytes (a new block gets an empty header).
  void Resize(size_t total);

  char* block_ = nullptr;
};

}  // namespace flightcache::storage
