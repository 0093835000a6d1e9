// set_object.h — a set value in one of three encodings, as Redis 7.2:
// - intset: every member is a canonical 64-bit integer and there are at most
//   set-max-intset-entries of them;
// - listpack: at most set-max-listpack-entries members, none longer than
//   set-max-listpack-value bytes;
// - hashtable: a Dict of members (empty values), past those bounds.
// Conversions go one way (intset -> listpack -> hashtable, or intset -> hashtable), never back.
// Only the current encoding is held (a union of three pointers' worth), so a small set costs
// its object (32 bytes with the allocator's header) and its one block.
// Callers hold the key's shard lock and wrap writes in an ObjectWrite.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "storage/types/dict.h"
#include "storage/types/intset.h"
#include "storage/types/listpack.h"
#include "storage/types/object.h"

namespace flightcache::storage {

class SetObject;
std::unique_ptr<SetObject> NewSetFor(std::string_view first_member, const TypeLimits& limits);

class SetObject final : public Object {
 public:
  enum class Encoding : uint8_t { kIntset, kListpack, kHashtable };

  SetObject() : ints_() {}
  ~SetObject() override;
  SetObject(const SetObject&) = delete;
  SetObject& operator=(const SetObject&) = delete;

  ValueType type() const override { return ValueType::kSet; }
  const char* EncodingName() const override;
  size_t MemoryBytes() const override;
  size_t Length() const override;
  std::unique_ptr<Object> Clone() const override;

  Encoding encoding() const { return encoding_; }
  bool Contains(std::string_view member) const;
  // True when member was added. Converts when the limits are passed.
  bool Add(std::string_view member, const TypeLimits& limits);
  // True when member was there.
  bool Remove(std::string_view member);
  // Calls fn(member) for every member, in encoding order. fn must not change the set.
  void ForEach(const std::function<void(std::string_view)>& fn) const;
  // SSCAN, as HashObject::Scan: intset and listpack answer at once.
  uint64_t Scan(uint64_t cursor, size_t count,
                const std::function<void(std::string_view)>& fn) const;
  // A random member (the set is not empty); the text lives until the set changes (an intset
  // member is formatted into *buf).
  std::string_view Random(uint64_t random, std::string* buf) const;

 private:
  friend std::unique_ptr<SetObject> NewSetFor(std::string_view, const TypeLimits&);
  void ConvertTo(Encoding target);

  // Ends the lifetime of the current encoding's member (freeing what it holds).
  void DestroyEncoding();

  Encoding encoding_ = Encoding::kIntset;
  union {  // the member of encoding_
    Intset ints_;
    Listpack lp_;
    Dict* dict_;  // owned
  };
};

// The encoding a new set of these members should start in: an intset when the first member is
// an integer, as Redis's setTypeCreate.
std::unique_ptr<SetObject> NewSetFor(std::string_view first_member, const TypeLimits& limits);

}  // namespace flightcache::storage
