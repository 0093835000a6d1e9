// entry.cc — encoding of the compact entry block (see entry.h).
#include "storage/entry.h"

#include <malloc.h>

#include <cstdlib>
#include <cstring>

#include "storage/varint.h"

namespace flightcache::storage {
namespace {

constexpr size_t kFixedHeader = sizeof(Entry*) + sizeof(uint32_t) + sizeof(uint8_t);

const char* Variable(const Entry* e) { return reinterpret_cast<const char*>(e) + kFixedHeader; }

struct Decoded {
  const char* expire;  // nullptr without kHasExpire
  const char* key;
  size_t key_len;
  const char* value;
  size_t value_len;
};

Decoded Decode(const Entry* e) {
  uint64_t key_len = 0, value_len = 0;
  const char* p = GetVarint(Variable(e), &key_len);
  p = GetVarint(p, &value_len);
  Decoded d;
  d.expire = nullptr;
  if (e->flags & kHasExpire) {
    d.expire = p;
    p += sizeof(int64_t);
  }
  d.key = p;
  d.key_len = key_len;
  d.value = p + key_len;
  d.value_len = value_len;
  return d;
}

size_t FreshnessSize(const Freshness& f) {
  return VarintSize(f.stale_while_revalidate_s) + VarintSize(f.stale_if_error_s) +
         VarintSize(f.fetch_us) + VarintSize(f.route);
}

// The first byte of the freshness block (after the value).
const char* FreshnessBlock(const Entry* e) {
  Decoded d = Decode(e);
  return d.value + d.value_len;
}

}  // namespace

Entry* CreateEntry(std::string_view key, std::string_view value, int64_t expire_at_ms,
                   ValueType type, const Freshness* freshness) {
  const bool has_expire = expire_at_ms != 0;
  if (!has_expire) freshness = nullptr;  // windows count from an expiry
  const size_t size = kFixedHeader + VarintSize(key.size()) + VarintSize(value.size()) +
                      (has_expire ? sizeof(int64_t) : 0) + key.size() + value.size() +
                      (freshness ? FreshnessSize(*freshness) : 0);
  void* block = std::malloc(size);
  if (!block) std::abort();  // as Redis: out of memory is fatal, not recoverable
  Entry* e = static_cast<Entry*>(block);
  e->next = nullptr;
  e->access = 0;
  e->flags = static_cast<uint8_t>((has_expire ? kHasExpire : 0) | (freshness ? kHasFreshness : 0) |
                                  (static_cast<uint8_t>(type) << kTypeShift));
  char* p = reinterpret_cast<char*>(block) + kFixedHeader;
  p = PutVarint(p, key.size());
  p = PutVarint(p, value.size());
  if (has_expire) {
    std::memcpy(p, &expire_at_ms, sizeof(int64_t));
    p += sizeof(int64_t);
  }
  if (!key.empty()) std::memcpy(p, key.data(), key.size());
  if (!value.empty()) std::memcpy(p + key.size(), value.data(), value.size());
  if (freshness) {
    p += key.size() + value.size();
    p = PutVarint(p, freshness->stale_while_revalidate_s);
    p = PutVarint(p, freshness->stale_if_error_s);
    p = PutVarint(p, freshness->fetch_us);
    PutVarint(p, freshness->route);
  }
  return e;
}

Freshness EntryFreshness(const Entry* entry) {
  Freshness f;
  if (!EntryHasFreshness(entry)) return f;
  uint64_t v = 0;
  const char* p = GetVarint(FreshnessBlock(entry), &v);
  f.stale_while_revalidate_s = static_cast<uint32_t>(v);
  p = GetVarint(p, &v);
  f.stale_if_error_s = static_cast<uint32_t>(v);
  p = GetVarint(p, &v);
  f.fetch_us = static_cast<uint32_t>(v);
  GetVarint(p, &v);
  f.route = static_cast<uint32_t>(v);
  return f;
}

int64_t EntryGraceMs(const Entry* entry) {
  if (!EntryHasFreshness(entry)) return 0;
  uint64_t swr = 0, sie = 0;
  GetVarint(GetVarint(FreshnessBlock(entry), &swr), &sie);
  return static_cast<int64_t>(swr > sie ? swr : sie) * 1000;
}

Entry* CreateObjectEntry(std::string_view key, std::unique_ptr<Object> object,
                         int64_t expire_at_ms) {
  const ValueType type = object->type();
  Object* raw = object.release();
  return CreateEntry(key, std::string_view(reinterpret_cast<const char*>(&raw), sizeof(raw)),
                     expire_at_ms, type);
}

Object* EntryObject(const Entry* entry) {
  Object* object;
  std::memcpy(&object, EntryValue(entry).data(), sizeof(object));
  return object;
}

void FreeEntryObject(Entry* entry) { delete EntryObject(entry); }

void FreeEntryBlock(Entry* entry) { std::free(entry); }

std::string_view EntryKey(const Entry* entry) {
  Decoded d = Decode(entry);
  return {d.key, d.key_len};
}

std::string_view EntryValue(const Entry* entry) {
  Decoded d = Decode(entry);
  return {d.value, d.value_len};
}

int64_t EntryExpireAt(const Entry* entry) {
  if (!(entry->flags & kHasExpire)) return 0;
  Decoded d = Decode(entry);
  int64_t at;
  std::memcpy(&at, d.expire, sizeof(at));
  return at;
}

void SetEntryExpireInPlace(Entry* entry, int64_t expire_at_ms) {
  Decoded d = Decode(entry);
  std::memcpy(const_cast<char*>(d.expire), &expire_at_ms, sizeof(int64_t));
}

void OverwriteValueInPlace(Entry* entry, std::string_view value) {
  Decoded d = Decode(entry);
  if (!value.empty()) std::memcpy(const_cast<char*>(d.value), value.data(), value.size());
}

// glibc's used_memory (mallinfo2) counts whole chunks: the usable size plus a size_t header.
// Sanitizer allocators count the requested bytes, which is what usable size reports there.
#if defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
#define FLIGHTCACHE_CHUNK_HEADER 0
#endif
#endif
#if !defined(FLIGHTCACHE_CHUNK_HEADER) && \
    (defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__))
#define FLIGHTCACHE_CHUNK_HEADER 0
#endif
#ifndef FLIGHTCACHE_CHUNK_HEADER
#define FLIGHTCACHE_CHUNK_HEADER sizeof(size_t)
#endif

size_t EntryAllocatedSize(const Entry* entry) {
  return malloc_usable_size(const_cast<Entry*>(entry)) + FLIGHTCACHE_CHUNK_HEADER;
}

size_t EntryObjectMemory(const Entry* entry) { return EntryObject(entry)->MemoryBytes(); }

size_t AllocationSizeFor(size_t requested) {
  if (FLIGHTCACHE_CHUNK_HEADER == 0) return requested;
  // glibc: the request plus its size header, rounded up to 16 bytes, at least 32.
  const size_t chunk = (requested + sizeof(size_t) + 15) & ~size_t{15};
  return chunk < 32 ? 32 : chunk;
}

size_t AllocatedBlockSize(const void* block) {
  return malloc_usable_size(const_cast<void*>(block)) + FLIGHTCACHE_CHUNK_HEADER;
}

}  // namespace flightcache::storage
