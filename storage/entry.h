// entry.h — one key/value pair as one compact heap block.
//
// Layout (bytes): [next: Entry*][access: u32][flags: u8][key len: varint][value len: varint]
//                 [expire at ms: i64, only when kHasExpire][key][value]
//                 [freshness, only when kHasFreshness: 4 varints, see Freshness]
// The block is the hash chain node too (intrusive chaining), so a key costs one allocation.
// `access` is the eviction policy's per-key state (LRU clock or LFU counter).
// The value type is 3 bits of flags (0: string). A string's bytes are the value; any other type
// is an Object (storage/types/object.h) the entry owns, and the value bytes hold its pointer.
// The freshness block (values filled from an origin with stale-while-revalidate, stale-if-error
// or refresh-ahead on) comes last, so that clearing kHasFreshness in place just drops it: the
// bytes stay in the block, unread. kHasFreshness is only ever set together with kHasExpire.
// Entries are created and freed only by the Shard that owns them.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string_view>

#include "storage/types/object.h"

namespace flightcache::storage {

struct Entry {
  Entry* next;      // next entry in the same hash bucket
  uint32_t access;  // eviction policy state
  uint8_t flags;    // EntryFlag bits
  // variable part follows; see the layout above
};

enum EntryFlag : uint8_t {
  kHasExpire = 1 << 0,
  kInMainQueue = 1 << 1,  // S3-FIFO: the key is in the main queue (else the small one)
  kFreqShift = 2,         // S3-FIFO: 2-bit access frequency in bits 2..3
  kFreqMask = 3 << kFreqShift,
  kTypeShift = 4,  // ValueType in bits 4..6 (0: string)
  kTypeMask = 7 << kTypeShift,
  kHasFreshness = 1 << 7,  // a freshness block follows the value (origin fills only)
};

// What the read-through policy (origin/read_through.h) needs of a value filled from an origin,
// kept in the entry only when some part is on: how long after its expiry it may still be
// served while a refresh runs, or when the origin fails, and how long its fetch took (δ of
// XFetch). Each field is a varint in the block (a few bytes in all).
struct Freshness {
  uint32_t stale_while_revalidate_s = 0;
  uint32_t stale_if_error_s = 0;
  uint32_t fetch_us = 0;  // δ: how long the fetch that filled the value took
  uint32_t route = 0;     // the route that filled it (its index), for its refresh-ahead β
};

// Allocates an entry holding key and value; expire_at_ms == 0 means no expiry. For a type other
// than kString, value is the bytes of the Object pointer the entry then owns.
// freshness (only with an expiry): the block to add, or nullptr for none.
Entry* CreateEntry(std::string_view key, std::string_view value, int64_t expire_at_ms,
                   ValueType type = ValueType::kString, const Freshness* freshness = nullptr);
// Allocates an entry that takes ownership of object.
Entry* CreateObjectEntry(std::string_view key, std::unique_ptr<Object> object,
                         int64_t expire_at_ms);
inline ValueType EntryType(const Entry* entry) {
  return static_cast<ValueType>((entry->flags & kTypeMask) >> kTypeShift);
}
inline bool EntryIsString(const Entry* entry) { return (entry->flags & kTypeMask) == 0; }
// The object of a non-string entry.
Object* EntryObject(const Entry* entry);

// Frees only the block: its object has moved to another block (or to the caller).
void FreeEntryBlock(Entry* entry);
// Deletes a non-string entry's object (FreeEntry's slow path).
void FreeEntryObject(Entry* entry);
// Frees the block and the object it owns. Inline: a string pays one flag test.
inline void FreeEntry(Entry* entry) {
  if (!EntryIsString(entry)) [[unlikely]]
    FreeEntryObject(entry);
  FreeEntryBlock(entry);
}

std::string_view EntryKey(const Entry* entry);
std::string_view EntryValue(const Entry* entry);
// Absolute unix time in ms, or 0 when the key has no expiry.
int64_t EntryExpireAt(const Entry* entry);
inline bool EntryHasFreshness(const Entry* entry) { return entry->flags & kHasFreshness; }
// The entry's freshness block; all zero when it has none.
Freshness EntryFreshness(const Entry* entry);
// How long past its expiry the entry is kept (the longer of its two windows), in ms; 0 without
// a freshness block. The shard reclaims it at expiry + this.
int64_t EntryGraceMs(const Entry* entry);
// Drops the freshness block in place (a client's write makes the key an ordinary one).
inline void ClearEntryFreshness(Entry* entry) {
  entry->flags = static_cast<uint8_t>(entry->flags & ~kHasFreshness);
}
// Sets an existing expiry in place; only valid when the entry has kHasExpire.
void SetEntryExpireInPlace(Entry* entry, int64_t expire_at_ms);
// Overwrites the value in place; only valid when the new value has the same length.
void OverwriteValueInPlace(Entry* entry, std::string_view value);
// Bytes the allocator spends on the block: its usable size plus the chunk header.
size_t EntryAllocatedSize(const Entry* entry);
// The bytes of a non-string entry's object (EntryMemory's slow path).
size_t EntryObjectMemory(const Entry* entry);
// The block's bytes plus its object's (what the shard counts for the key).
inline size_t EntryMemory(const Entry* entry) {
  const size_t block = EntryAllocatedSize(entry);
  if (EntryIsString(entry)) [[likely]]
    return block;
  return block + EntryObjectMemory(entry);
}
// Bytes the allocator spends on any malloc'd block, as EntryAllocatedSize counts them.
size_t AllocatedBlockSize(const void* block);
// What the allocator would spend on a block of `requested` bytes (an object's own block,
// counted without asking the allocator, so that objects on the stack in tests work too).
size_t AllocationSizeFor(size_t requested);

}  // namespace flightcache::storage
