// intset.h — a sorted array of distinct 64-bit integers: the encoding of small integer sets.
//
// Binary search for lookups, memmove for inserts and removals: meant for at most
// set-max-intset-entries members. Every element takes 8 bytes (Redis narrows to 2 or 4 when
// all members fit; a later step of issue 10).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

namespace flightcache::storage {

class Intset {
 public:
  size_t size() const { return values_.size(); }
  // The array's heap block, as the allocator sizes it.
  size_t MemoryBytes() const;
  bool Contains(int64_t v) const;
  // True when v was added (it was not there).
  bool Add(int64_t v);
  // True when v was there.
  bool Remove(int64_t v);
  int64_t At(size_t i) const { return values_[i]; }
  const std::vector<int64_t>& values() const { return values_; }

 private:
  std::vector<int64_t> values_;
};

// Parses text as a member an intset may hold: a canonical decimal int64 (as Redis's
// string2ll: no '+', no leading zeros, no spaces).
bool ParseSetInteger(std::string_view text, int64_t* out);

}  // namespace flightcache::storage
