// hash_object.h — a hash value: field -> value, in one of two encodings.
//
// - listpack: fields and values alternate in one flat Listpack, while the hash has at most
//   hash-max-listpack-entries fields and no field or value longer than hash-max-listpack-value.
// - hashtable: a Dict, once either bound is passed. As in Redis, a hash never converts back.
// Callers (server/commands/hash_commands.cc) hold the key's shard lock and wrap writes in an
// ObjectWrite.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "storage/types/dict.h"
#include "storage/types/listpack.h"
#include "storage/types/object.h"

namespace flightcache::storage {

class HashObject final : public Object {
 public:
  ValueType type() const override { return ValueType::kHash; }
  const char* EncodingName() const override { return dict_ ? "hashtable" : "listpack"; }
  size_t MemoryBytes() const override;
  size_t Length() const override { return dict_ ? dict_->size() : lp_.size() / 2; }
  std::unique_ptr<Object> Clone() const override;

  bool is_listpack() const { return !dict_; }
  // The value of field (valid until the hash changes), or nullopt.
  std::optional<std::string_view> Get(std::string_view field) const;
  bool Contains(std::string_view field) const { return Get(field).has_value(); }
  // Sets field; true when it is new. Converts to a hashtable when the limits are passed.
  bool Set(std::string_view field, std::string_view value, const TypeLimits& limits);
  // Removes field; true when it was there.
  bool Delete(std::string_view field);
  // Calls fn(field, value) for every field, in encoding order.
  void ForEach(const std::function<void(std::string_view, std::string_view)>& fn) const;
  // HSCAN: a listpack answers everything at once (next cursor 0), as in Redis; a hashtable
  // walks the bucket(s) under cursor, count buckets at least. Returns the next cursor.
  uint64_t Scan(uint64_t cursor, size_t count,
                const std::function<void(std::string_view, std::string_view)>& fn) const;
  // A random field and its value (the hash is not empty).
  std::pair<std::string_view, std::string_view> Random(uint64_t random) const;

 private:
  void ConvertToDict();

  Listpack lp_;
  std::unique_ptr<Dict> dict_;
};

}  // namespace flightcache::storage
