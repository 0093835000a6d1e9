// varint.h — the 7-bits-per-byte lengths that entry blocks, listpacks and dict nodes carry.
//
// Little-endian groups of 7 bits, the high bit set on every byte but the last (as protobuf's
// varints). A 64-bit value takes 1 to 10 bytes. No bounds checks: callers size their buffers
// with VarintSize and read only what they wrote.
#pragma once

#include <cstddef>
#include <cstdint>

namespace flightcache::storage {

// Bytes PutVarint writes for v.
inline size_t VarintSize(uint64_t v) {
  size_t n = 1;
  while (v >= 0x80) {
    v >>= 7;
    ++n;
  }
  return n;
}

// Writes v at p; returns the byte after it.
inline char* PutVarint(char* p, uint64_t v) {
  while (v >= 0x80) {
    *p++ = static_cast<char>((v & 0x7f) | 0x80);
    v >>= 7;
  }
  *p++ = static_cast<char>(v);
  return p;
}

// Reads the varint at p into *v; returns the byte after it.
inline const char* GetVarint(const char* p, uint64_t* v) {
  uint64_t result = 0;
  int shift = 0;
  while (true) {
    const uint8_t byte = static_cast<uint8_t>(*p++);
    result |= static_cast<uint64_t>(byte & 0x7f) << shift;
    if (!(byte & 0x80)) break;
    shift += 7;
  }
  *v = result;
  return p;
}

}  // namespace flightcache::storage
