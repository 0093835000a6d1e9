// listpack.cc — the flat entry encoding (see listpack.h).
#include "storage/types/listpack.h"

#include <cassert>
#include <cstring>

#include "storage/entry.h"
#include "storage/varint.h"

namespace flightcache::storage {
namespace {}  // namespace

size_t Listpack::MemoryBytes() const {
  // std::string keeps 15 bytes inline; past that data() is its own heap block.
  return buf_.capacity() > 15 ? AllocatedBlockSize(buf_.data()) : 0;
}

size_t Listpack::Next(size_t pos) const {
  assert(pos < buf_.size());
  uint64_t len;
  const size_t header =
      static_cast<size_t>(GetVarint(buf_.data() + pos, &len) - (buf_.data() + pos));
  return pos + header + len;
}

std::string_view Listpack::Get(size_t pos) const {
  assert(pos < buf_.size());
  uint64_t len;
  const size_t header =
      static_cast<size_t>(GetVarint(buf_.data() + pos, &len) - (buf_.data() + pos));
  return std::string_view(buf_.data() + pos + header, len);
}

size_t Listpack::PositionOf(size_t index) const {
  assert(index < count_);
  size_t pos = 0;
  for (size_t i = 0; i < index; ++i) pos = Next(pos);
  return pos;
}

size_t Listpack::Last() const {
  if (count_ == 0) return End();
  return PositionOf(count_ - 1);
}

size_t Listpack::Find(std::string_view value, size_t from, size_t step) const {
  size_t pos = from;
  while (pos < buf_.size()) {
    std::string_view v = Get(pos);
    if (v.size() == value.size() && std::memcmp(v.data(), value.data(), v.size()) == 0) {
      return pos;
    }
    for (size_t s = 0; s < step && pos < buf_.size(); ++s) pos = Next(pos);
  }
  return End();
}

void Listpack::Insert(size_t pos, std::string_view value) {
  assert(pos <= buf_.size());
  char header[10];
  const size_t header_size = VarintSize(value.size());
  PutVarint(header, value.size());
  buf_.insert(pos, header_size + value.size(), '\0');
  std::memcpy(buf_.data() + pos, header, header_size);
  if (!value.empty()) std::memcpy(buf_.data() + pos + header_size, value.data(), value.size());
  ++count_;
}

void Listpack::Erase(size_t pos, size_t count) {
  size_t end = pos;
  for (size_t i = 0; i < count && end < buf_.size(); ++i) {
    end = Next(end);
    --count_;
  }
  buf_.erase(pos, end - pos);
}

void Listpack::Replace(size_t pos, std::string_view value) {
  const size_t next = Next(pos);
  char header[10];
  const size_t header_size = VarintSize(value.size());
  PutVarint(header, value.size());
  std::string encoded(header, header_size);
  encoded.append(value);
  buf_.replace(pos, next - pos, encoded);
}

void Listpack::Clear() {
  buf_.clear();
  buf_.shrink_to_fit();
  count_ = 0;
}

}  // namespace flightcache::storage
