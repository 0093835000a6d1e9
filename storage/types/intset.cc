// intset.cc — the sorted integer array (see intset.h).
#include "storage/types/intset.h"

#include <algorithm>
#include <cstdlib>
#include <cstring>

#include "storage/entry.h"

namespace flightcache::storage {

namespace {

size_t WidthFor(int64_t v) {
  if (v >= INT16_MIN && v <= INT16_MAX) return 2;
  if (v >= INT32_MIN && v <= INT32_MAX) return 4;
  return 8;
}

int64_t Read(const char* p, size_t width) {
  if (width == 2) {
    int16_t v;
    std::memcpy(&v, p, 2);
    return v;
  }
  if (width == 4) {
    int32_t v;
    std::memcpy(&v, p, 4);
    return v;
  }
  int64_t v;
  std::memcpy(&v, p, 8);
  return v;
}

}  // namespace

Intset::~Intset() { std::free(block_); }

Intset::Intset(const Intset& other) {
  if (!other.block_) return;
  const size_t bytes = kHeader + other.size() * other.width();
  block_ = static_cast<char*>(std::malloc(bytes));
  if (!block_) std::abort();  // as Redis: out of memory is fatal
  std::memcpy(block_, other.block_, bytes);
}

Intset& Intset::operator=(const Intset& other) {
  if (this != &other) {
    Intset copy(other);
    *this = std::move(copy);
  }
  return *this;
}

Intset& Intset::operator=(Intset&& other) noexcept {
  if (this != &other) {
    std::free(block_);
    block_ = other.block_;
    other.block_ = nullptr;
  }
  return *this;
}

size_t Intset::size() const {
  if (!block_) return 0;
  uint32_t count;
  std::memcpy(&count, block_, 4);
  return count;
}

size_t Intset::width() const { return block_ ? static_cast<uint8_t>(block_[4]) : 2; }

size_t Intset::MemoryBytes() const { return block_ ? AllocatedBlockSize(block_) : 0; }

int64_t Intset::At(size_t i) const {
  const size_t w = width();
  return Read(block_ + kHeader + i * w, w);
}

std::vector<int64_t> Intset::values() const {
  std::vector<int64_t> out(size());
  for (size_t i = 0; i < out.size(); ++i) out[i] = At(i);
  return out;
}

size_t Intset::LowerBound(int64_t v) const {
  size_t lo = 0, hi = size();
  while (lo < hi) {
    const size_t mid = lo + (hi - lo) / 2;
    if (At(mid) < v) {
      lo = mid + 1;
    } else {
      hi = mid;
    }
  }
  return lo;
}

bool Intset::Contains(int64_t v) const {
  if (WidthFor(v) > width()) return false;
  const size_t i = LowerBound(v);
  return i < size() && At(i) == v;
}

void Intset::Put(size_t i, int64_t v, size_t width) {
  char* p = block_ + kHeader + i * width;
  if (width == 2) {
    const auto x = static_cast<int16_t>(v);
    std::memcpy(p, &x, 2);
  } else if (width == 4) {
    const auto x = static_cast<int32_t>(v);
    std::memcpy(p, &x, 4);
  } else {
    std::memcpy(p, &v, 8);
  }
}

void Intset::Resize(size_t count, size_t width) {
  if (count == 0) {
    std::free(block_);
    block_ = nullptr;
    return;
  }
  void* block = std::realloc(block_, kHeader + count * width);
  if (!block) std::abort();  // as Redis: out of memory is fatal
  block_ = static_cast<char*>(block);
  const auto count32 = static_cast<uint32_t>(count);
  std::memcpy(block_, &count32, 4);
  block_[4] = static_cast<char>(width);
}

bool Intset::Add(int64_t v) {
  const size_t n = size();
  const size_t old_width = width();
  const size_t new_width = std::max(old_width, WidthFor(v));
  if (new_width == old_width) {
    const size_t i = LowerBound(v);
    if (i < n && At(i) == v) return false;
    Resize(n + 1, new_width);
    char* base = block_ + kHeader;
    std::memmove(base + (i + 1) * new_width, base + i * new_width, (n - i) * new_width);
    Put(i, v, new_width);
    return true;
  }
  // v is wider than every value, so it is new and goes first (negative) or last. Widen from
  // the back, so that no value is overwritten before it is read.
  Resize(n + 1, new_width);
  const size_t shift = v < 0 ? 1 : 0;
  for (size_t i = n; i-- > 0;)
    Put(i + shift, Read(block_ + kHeader + i * old_width, old_width), new_width);
  Put(v < 0 ? 0 : n, v, new_width);
  return true;
}

bool Intset::Remove(int64_t v) {
  if (WidthFor(v) > width()) return false;
  const size_t n = size();
  const size_t i = LowerBound(v);
  if (i >= n || At(i) != v) return false;
  const size_t w = width();
  char* base = block_ + kHeader;
  std::memmove(base + i * w, base + (i + 1) * w, (n - i - 1) * w);
  Resize(n - 1, w);
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
