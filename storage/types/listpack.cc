// listpack.cc — the flat entry encoding in one heap block (see listpack.h).
#include "storage/types/listpack.h"

#include <malloc.h>

#include <algorithm>
#include <cassert>
#include <cstdlib>
#include <cstring>

#include "storage/entry.h"
#include "storage/varint.h"

namespace flightcache::storage {

Listpack::~Listpack() { std::free(block_); }

Listpack::Listpack(const Listpack& other) {
  if (other.block_) {
    const Header h = other.ReadHeader();
    Resize(h.size + h.bytes);
    std::memcpy(block_, other.block_, h.size + h.bytes);
  }
}

Listpack& Listpack::operator=(const Listpack& other) {
  if (this != &other) {
    Listpack copy(other);
    *this = std::move(copy);
  }
  return *this;
}

Listpack& Listpack::operator=(Listpack&& other) noexcept {
  if (this != &other) {
    std::free(block_);
    block_ = other.block_;
    other.block_ = nullptr;
  }
  return *this;
}

Listpack::Header Listpack::ReadHeader() const {
  uint64_t bytes, count;
  const char* p = GetVarint(block_, &bytes);
  p = GetVarint(p, &count);
  return Header{static_cast<size_t>(bytes), static_cast<size_t>(count),
                static_cast<size_t>(p - block_)};
}

size_t Listpack::HeaderSize(size_t bytes, size_t count) {
  return VarintSize(bytes) + VarintSize(count);
}

void Listpack::WriteHeader(size_t old_header_size, size_t bytes, size_t count) {
  const size_t size = HeaderSize(bytes, count);
  if (size != old_header_size) std::memmove(block_ + size, block_ + old_header_size, bytes);
  PutVarint(PutVarint(block_, bytes), count);
}

size_t Listpack::size() const { return block_ ? ReadHeader().count : 0; }

size_t Listpack::bytes() const { return block_ ? ReadHeader().bytes : 0; }

void Listpack::Resize(size_t total) {
  const bool fresh = block_ == nullptr;
  void* block = std::realloc(block_, total);
  if (!block) std::abort();  // as Redis: out of memory is fatal
  block_ = static_cast<char*>(block);
  if (fresh) PutVarint(PutVarint(block_, 0), 0);
}

void Listpack::Reserve(size_t total) {
  if (block_ && total <= malloc_usable_size(block_)) return;
  Resize(total <= 256 ? total : total + total / 4);
}

size_t Listpack::MemoryBytes() const { return block_ ? AllocatedBlockSize(block_) : 0; }

size_t Listpack::Next(size_t pos) const {
  assert(pos < bytes());
  uint64_t len;
  const char* p = Data() + pos;
  const size_t header = static_cast<size_t>(GetVarint(p, &len) - p);
  return pos + header + len;
}

std::string_view Listpack::Get(size_t pos) const {
  assert(pos < bytes());
  uint64_t len;
  const char* p = Data() + pos;
  const char* start = GetVarint(p, &len);
  return std::string_view(start, len);
}

size_t Listpack::PositionOf(size_t index) const {
  assert(index < size());
  size_t pos = 0;
  for (size_t i = 0; i < index; ++i) pos = Next(pos);
  return pos;
}

size_t Listpack::Last() const {
  if (empty()) return End();
  return PositionOf(size() - 1);
}

size_t Listpack::Find(std::string_view value, size_t from, size_t step) const {
  const size_t end = bytes();
  size_t pos = from;
  while (pos < end) {
    std::string_view v = Get(pos);
    if (v.size() == value.size() &&
        (v.empty() || std::memcmp(v.data(), value.data(), v.size()) == 0)) {
      return pos;
    }
    for (size_t s = 0; s < step && pos < end; ++s) pos = Next(pos);
  }
  return End();
}

bool Listpack::Aliases(std::string_view value) const {
  const auto* begin = reinterpret_cast<const char*>(block_);
  return block_ && value.data() >= begin && value.data() < begin + malloc_usable_size(block_);
}

void Listpack::Insert(size_t pos, std::string_view value) {
  if (Aliases(value)) {
    const std::string copy(value);
    Insert(pos, copy);
    return;
  }
  if (!block_) Resize(HeaderSize(0, 0));
  const Header h = ReadHeader();
  assert(pos <= h.bytes);
  const size_t header_size = VarintSize(value.size());
  const size_t added = header_size + value.size();
  const size_t new_bytes = h.bytes + added;
  const size_t new_header = HeaderSize(new_bytes, h.count + 1);
  Reserve(std::max(h.size, new_header) + new_bytes);
  char* at = block_ + h.size + pos;
  std::memmove(at + added, at, h.bytes - pos);
  PutVarint(at, value.size());
  if (!value.empty()) std::memcpy(at + header_size, value.data(), value.size());
  WriteHeader(h.size, new_bytes, h.count + 1);
}

void Listpack::Erase(size_t pos, size_t count) {
  const Header h = ReadHeader();
  size_t end = pos;
  size_t left = h.count;
  for (size_t i = 0; i < count && end < h.bytes; ++i) {
    end = Next(end);
    --left;
  }
  if (left == 0) {
    Clear();
    return;
  }
  char* data = block_ + h.size;
  std::memmove(data + pos, data + end, h.bytes - end);
  const size_t new_bytes = h.bytes - (end - pos);
  WriteHeader(h.size, new_bytes, left);
  // Give memory back once the block is less than half used (amortised over the erases).
  if (HeaderSize(new_bytes, left) + new_bytes < malloc_usable_size(block_) / 2) ShrinkToFit();
}

void Listpack::Replace(size_t pos, std::string_view value) {
  if (Aliases(value)) {
    const std::string copy(value);
    Replace(pos, copy);
    return;
  }
  const Header h = ReadHeader();
  const size_t next = Next(pos);
  const size_t header_size = VarintSize(value.size());
  const size_t encoded = header_size + value.size();
  const size_t new_bytes = h.bytes - (next - pos) + encoded;
  const size_t new_header = HeaderSize(new_bytes, h.count);
  Reserve(std::max(h.size, new_header) + std::max(h.bytes, new_bytes));
  char* data = block_ + h.size;
  std::memmove(data + pos + encoded, data + next, h.bytes - next);
  PutVarint(data + pos, value.size());
  if (!value.empty()) std::memcpy(data + pos + header_size, value.data(), value.size());
  WriteHeader(h.size, new_bytes, h.count);
  if (new_header + new_bytes < malloc_usable_size(block_) / 2) ShrinkToFit();
}

void Listpack::ShrinkToFit() {
  if (!block_) return;
  const Header h = ReadHeader();
  Resize(h.size + h.bytes);
}

void Listpack::Clear() {
  std::free(block_);
  block_ = nullptr;
}

}  // namespace flightcache::storage
