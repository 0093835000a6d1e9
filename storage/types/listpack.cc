// listpack.cc — the flat entry encoding (see listpack.h).
#include "storage/types/listpack.h"

#include <cassert>
#include <cstring>

#include "storage/entry.h"

namespace flightcache::storage {
namespace {

size_t VarintSize(uint64_t v) {
  size_t n = 1;
  while (v >= 0x80) {
    v >>= 7;
    ++n;
  }
  return n;
}

void PutVarint(char* p, uint64_t v) {
  while (v >= 0x80) {
    *p++ = static_cast<char>((v & 0x7f) | 0x80);
    v >>= 7;
  }
  *p = static_cast<char>(v);
}

// Decodes the varint at p; *len gets its value and the return is the varint's size.
size_t GetVarint(const char* p, uint64_t* len) {
  uint64_t result = 0;
  int shift = 0;
  size_t n = 0;
  while (true) {
    uint8_t byte = static_cast<uint8_t>(p[n++]);
    result |= static_cast<uint64_t>(byte & 0x7f) << shift;
    if (!(byte & 0x80)) break;
    shift += 7;
  }
  *len = result;
  return n;
}

}  // namespace

size_t Listpack::MemoryBytes() const {
  // std::string keeps 15 bytes inline; past that data() is its own heap block.
  return buf_.capacity() > 15 ? AllocatedBlockSize(buf_.data()) : 0;
}

size_t Listpack::Next(size_t pos) const {
  assert(pos < buf_.size());
  uint64_t len;
  size_t header = GetVarint(buf_.data() + pos, &len);
  return pos + header + len;
}

std::string_view Listpack::Get(size_t pos) const {
  assert(pos < buf_.size());
  uint64_t len;
  size_t header = GetVarint(buf_.data() + pos, &len);
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
