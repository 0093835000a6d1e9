// intset.cc — the sorted integer array (see intset.h).
#include "storage/types/intset.h"

#include <algorithm>

#include "storage/entry.h"

namespace flightcache::storage {

size_t Intset::MemoryBytes() const {
  return values_.capacity() > 0 ? AllocatedBlockSize(values_.data()) : 0;
}

bool Intset::Contains(int64_t v) const {
  return std::binary_search(values_.begin(), values_.end(), v);
}

bool Intset::Add(int64_t v) {
  auto it = std::lower_bound(values_.begin(), values_.end(), v);
  if (it != values_.end() && *it == v) return false;
  values_.insert(it, v);
  return true;
}

bool Intset::Remove(int64_t v) {
  auto it = std::lower_bound(values_.begin(), values_.end(), v);
  if (it == values_.end() || *it != v) return false;
  values_.erase(it);
  return true;
}

bool ParseSetInteger(std::string_view text, int64_t* out) {
  if (text.empty() || text.size() > 20) return false;
  if (text.size() == 1 && text[0] == '0') {
    *out = 0;
    return true;
  }
  size_t i = 0;
  bool negative = false;
  if (text[0] == '-') {
    negative = true;
    i = 1;
  }
  if (i >= text.size() || text[i] < '1' || text[i] > '9') return false;
  uint64_t value = 0;
  for (; i < text.size(); ++i) {
    if (text[i] < '0' || text[i] > '9') return false;
    const uint64_t digit = static_cast<uint64_t>(text[i] - '0');
    if (value > (UINT64_MAX - digit) / 10) return false;
    value = value * 10 + digit;
  }
  if (negative) {
    if (value > static_cast<uint64_t>(INT64_MAX) + 1) return false;
    *out = static_cast<int64_t>(0 - value);
  } else {
    if (value > static_cast<uint64_t>(INT64_MAX)) return false;
    *out = static_cast<int64_t>(value);
  }
  return true;
}

}  // namespace flightcache::storage
