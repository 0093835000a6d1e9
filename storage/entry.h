// entry.h — one key/value pair as one compact heap block.
//
// Layout (bytes): [next: Entry*][access: u32][flags: u8][key len: varint][value len: varint]
//                 [expire at ms: i64, only when kHasExpire][key][value]
// The block is the hash chain node too (intrusive chaining), so a key costs one allocation.
// `access` is the eviction policy's per-key state (LRU clock or LFU counter).
// The value type is 3 bits of flags (0: string). A string's bytes are the value; any other type
// is an Object (storage/types/object.h) the entry owns, and the value bytes hold its pointer.
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
};

// Allocates an entry holding key and value; expire_at_ms == 0 means no expiry. For a type other
// than kString, value is the bytes of the Object pointer the entry then owns.
Entry* CreateEntry(std::string_view key, std::string_view value, int64_t expire_at_ms,
                   ValueType type = ValueType::kString);
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
