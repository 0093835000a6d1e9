// object.h — a non-string value: the common interface of hashes, lists and sets.
//
// A key's entry block holds a string inline; any other type is an Object the entry owns
// through a pointer in its value bytes (see storage/entry.h). The shard counts each object's
// MemoryBytes() in its memory figure: every change to an object goes through an ObjectWrite
// (storage/shard.h), which tells the KeyWatcher and re-counts the bytes. The encoding limits
// (hash-max-listpack-entries...) come with each write in TypeLimits, from the server's config.
// No locking here: the shard lock of the key guards its object.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>

namespace flightcache::storage {

// Stored in the entry's flags (3 bits); kString is 0 so that string entries need no tag.
enum class ValueType : uint8_t { kString = 0, kList = 1, kSet = 2, kZset = 3, kHash = 4 };

// TYPE's answer for a value type.
const char* TypeName(ValueType type);

// Redis's encoding thresholds, as CONFIG sets them.
struct TypeLimits {
  int64_t hash_max_listpack_entries = 512;
  int64_t hash_max_listpack_value = 64;
  int64_t set_max_intset_entries = 512;
  int64_t set_max_listpack_entries = 128;
  int64_t set_max_listpack_value = 64;
  int64_t zset_max_listpack_entries = 128;
  int64_t zset_max_listpack_value = 64;
  // Positive: entries per quicklist node; -1..-5: node bytes 4, 8, 16, 32, 64 KB.
  int64_t list_max_listpack_size = -2;
};

class Object {
 public:
  virtual ~Object() = default;
  virtual ValueType type() const = 0;
  // OBJECT ENCODING's answer: "listpack", "hashtable", "intset", "quicklist".
  virtual const char* EncodingName() const = 0;
  // Heap bytes held, beyond the entry block: kept as a running figure, O(1).
  virtual size_t MemoryBytes() const = 0;
  // Elements (fields, members): an object with none is removed with its key.
  virtual size_t Length() const = 0;
  // A deep copy (COPY).
  virtual std::unique_ptr<Object> Clone() const = 0;
};

}  // namespace flightcache::storage
