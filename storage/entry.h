// entry.h — one key/value pair as one compact heap block.
//
// Layout (bytes): [next: Entry*][access: u32][flags: u8][key len: varint][value len: varint]
//                 [expire at ms: i64, only when kHasExpire][key][value]
// The block is the hash chain node too (intrusive chaining), so a key costs one allocation.
// `access` is the eviction policy's per-key state (LRU clock or LFU counter).
// Entries are created and freed only by the Shard that owns them.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

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
};

// Allocates an entry holding key and value; expire_at_ms == 0 means no expiry.
Entry* CreateEntry(std::string_view key, std::string_view value, int64_t expire_at_ms);
void FreeEntry(Entry* entry);

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

}  // namespace flightcache::storage
