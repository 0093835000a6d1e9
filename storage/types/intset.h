// intset.h — a sorted array of distinct integers: the encoding of small integer sets.
//
// One heap block, nullptr while empty (an Intset is one pointer): [count: u32][width: u8]
// [3 bytes unused][count values of width bytes]. As Redis's intset, every value takes the
// width of the widest one, 2, 4 or 8 bytes, and the whole array widens when a wider value
// comes (it never narrows back). Binary search for lookups, memmove for inserts and removals,
// one exact realloc per change: meant for at most set-max-intset-entries members.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

namespace flightcache::storage {

class Intset {
 public:
  Intset() = default;
  ~Intset();
  Intset(const Intset& other);
  Intset& operator=(const Intset& other);
  Intset(Intset&& other) noexcept : block_(other.block_) { other.block_ = nullptr; }
  Intset& operator=(Intset&& other) noexcept;

  size_t size() const;
  // Bytes per value now: 2, 4 or 8 (2 while empty).
  size_t width() const;
  // The block as the allocator sizes it (0 when empty).
  size_t MemoryBytes() const;
  bool Contains(int64_t v) const;
  // True when v was added (it was not there).
  bool Add(int64_t v);
  // True when v was there.
  bool Remove(int64_t v);
  // The i-th smallest value (i < size()).
  int64_t At(size_t i) const;
  // Every value, in order (a copy; for tests and conversions).
  std::vector<int64_t> values() const;

 private:
  static constexpr size_t kHeader = 8;
  // The position of the first value >= v.
  size_t LowerBound(int64_t v) const;
  void Put(size_t i, int64_t v, size_t width);
  // Reallocates to count values of width bytes (frees the block at 0).
  void Resize(size_t count, size_t width);

  char* block_ = nullptr;
};

// Parses text as a member an intset may hold: a canonical decimal int64 (as Redis's
// string2ll: no '+', no leading zeros, no spaces).
bool ParseSetInteger(std::string_view text, int64_t* out);

}  // namespace flightcache::storage
