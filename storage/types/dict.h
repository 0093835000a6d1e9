// dict.h — the hashtable encoding of hashes and sets: a chained hash table whose nodes are one
// allocation each, holding the link, the field and (for hashes) the value.
//
// Node layout: [next: Node*][field len: varint][value len: varint][field][value]. A set's
// members are fields with an empty value. The index is a ChainedTable (chained_table.h): the
// bucket array is a power of two, doubles when the table holds as many fields as buckets
// (halves below 1/8 full), and resizes incrementally, a few buckets per Set/Erase. Scan()
// uses Redis's reverse-binary cursor, so a resize between two calls never skips a field that
// stays. MemoryBytes() is exact: every node as the allocator sizes it, plus the bucket
// array(s).
// No locking: the owning shard's lock guards it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string_view>

#include "storage/types/chained_table.h"

namespace flightcache::storage {

class Dict {
 public:
  struct Node {
    Node* next;
    // variable part follows: [field len varint][value len varint][field][value]
  };

  Dict() = default;
  ~Dict();
  Dict(const Dict&) = delete;
  Dict& operator=(const Dict&) = delete;

  size_t size() const { return table_.size(); }
  // True while an incremental resize is under way (tests).
  bool rehashing() const { return table_.rehashing(); }
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
  struct Traits {
    static Node*& Next(Node* n) { return n->next; }
    static std::string_view Key(const Node* n) { return FieldOf(n); }
  };

  ChainedTable<Node, Traits> table_;
  size_t node_bytes_ = 0;
};

}  // namespace flightcache::storage
