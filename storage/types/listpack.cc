// listpack.cc — the flat entry encoding in one heap block (see listpack.h).
#include "storage/types/listpack.h"

#include <malloc.h>

#include <cassert>
#include <cstdlib>
#include <cstring>

#include "storage/entry.h"
#include "storage/varint.h"

namespace flightcache::storage {

Listpack::~Listpack() { std::free(block_); }

Listpack::Listpack(const Listpack& other) {
  if (other.block_) {
    Resize(other.Bytes());
    std::memcpy(block_, other.block_, kHeader + other.Bytes());
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

uint64_t Listpack::Bytes() const {
  uint64_t v;
  std::memcpy(&v, block_, sizeof(v));
  return v;
}

uint32_t Listpack::Count() const {
  uint32_t v;
  std::memcpy(&v, block_ + sizeof(uint64_t), sizeof(v));
  return v;
}

void Listpack::SetBytes(uint64_t bytes) { std::memcpy(block_, &bytes, sizeof(bytes)); }

void Listpack::SetCount(uint32_t count) {
  std::memcpy(block_ + sizeof(uint64_t), &count, sizeof(count));
}

void Listpack::Resize(size_t bytes) {
  const bool fresh = block_ == nullptr;
  void* block = std::realloc(block_, kHeader + bytes);
  if (!block) std::abort();  // as Redis: out of memory is fatal
  block_ = static_cast<char*>(block);
  if (fresh) {
    SetBytes(0);
    SetCount(0);
  }
}

void Listpack::Reserve(size_t bytes) {
  if (block_ && kHeader + bytes <= malloc_usable_size(block_)) return;
  Resize(bytes <= 256 ? bytes : bytes + bytes / 4);
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

void Listpack::Insert(size_t pos, std::string_view value) {
  const size_t used = bytes();
  assert(pos <= used);
  const size_t header_size = VarintSize(value.size());
  const size_t added = header_size + value.size();
  Reserve(used + added);
  char* at = Data() + pos;
  std::memmove(at + added, at, used - pos);
  PutVarint(at, value.size());
  if (!value.empty()) std::memcpy(at + header_size, value.data(), value.size());
  SetBytes(used + added);
  SetCount(Count() + 1);
}

void Listpack::Erase(size_t pos, size_t count) {
  const size_t used = bytes();
  size_t end = pos;
  uint32_t left = Count();
  for (size_t i = 0; i < count && end < used; ++i) {
    end = Next(end);
    --left;
  }
  if (left == 0) {
    Clear();
    return;
  }
  std::memmove(Data() + pos, Data() + end, used - end);
  SetBytes(used - (end - pos));
  SetCount(left);
  // Give memory back once the block is less than half used (amortised over the erases).
  if (kHeader + Bytes() < malloc_usable_size(block_) / 2) ShrinkToFit();
}

void Listpack::Replace(size_t pos, std::string_view value) {
  const size_t used = bytes();
  const size_t next = Next(pos);
  const size_t header_size = VarintSize(value.size());
  const size_t encoded = header_size + value.size();
  const size_t new_used = used - (next - pos) + encoded;
  if (new_used > used) Reserve(new_used);
  char* at = Data() + pos;
  std::memmove(at + encoded, Data() + next, used - next);
  PutVarint(at, value.size());
  if (!value.empty()) std::memcpy(at + header_size, value.data(), value.size());
  SetBytes(new_used);
  if (kHeader + new_used < malloc_usable_size(block_) / 2) ShrinkToFit();
}

void Listpack::ShrinkToFit() {
  if (block_) Resize(Bytes());
}

void Listpack::Clear() {
  std::free(block_);
  block_ = nullptr;
}

}  // namespace flightcache::storage
