// dict.h — the hashtable encoding of hashes and sets: a chained hash table whose nodes are one
// allocation each, holding the link, the field and (for hashes) the value.
//
// Node layout: [next: Node*][field len: varint][value len: varint][field][value]. A set's
// members are fields with an empty value. The bucket array is a power of two and doubles when
// the table holds as many fields as buckets (halves below 1/8 full); the resize moves every
// node at once (TODO of issue 10: incremental, as the shard table). Scan() uses Redis's
// reverse-binary cursor, so a resize between two calls never skips a field that stays.
// MemoryBytes() is exact: every node as the allocator sizes it, plus the bucket array.
// No locking: the owning shard's lock guards it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string_view>

namespace flightcache::storage {

class Dict {
 public:
  struct Node;

  Dict() = default;
  ~Dict();
  Dict(const Dict&) = delete;
  Dict& operator=(const Dict&) = delete;

  size_t size() const { return size_; }
  // Every node and the bucket array, as the allocator sizes them.
  size_t MemoryBytes() const;

  // The node of field, or nullptr.
  Node* Find(std::string_view field) const;
  // Sets field to value; true when the field is new.
  bool Set(std::string_view field, std::string_view value);
  // Adds field with value only when absent; true when added.
  bool Add(std::string_view field, std::string_view value = {});
  // Removes field; true when it was there.
  bool Erase(std::string_view field);

  static std::string_view FieldOf(const Node* node);
  static std::string_view ValueOf(const Node* node);

  // Calls fn(field, value) for every node. fn must not change the dict.
  void ForEach(const std::function<void(std::string_view, std::string_view)>& fn) const;
  // Calls fn for the nodes of the bucket(s) under cursor and returns the next cursor (0: done).
  uint64_t Scan(uint64_t cursor,
                const std::function<void(std::string_view, std::string_view)>& fn) const;
  // A random node (uniform over buckets, then within a chain), or nullptr when empty.
  const Node* Random(uint64_t random) const;

 private:
  Node** Link(std::string_view field, uint64_t hash) const;
  void Resize(size_t buckets);
  void MaybeShrink();

  Node** table_ = nullptr;
  size_t buckets_ = 0;
  size_t size_ = 0;
  size_t node_bytes_ = 0;
};

}  // namespace flightcache::storage
