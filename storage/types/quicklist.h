// quicklist.h — a list value: an array of Listpack nodes (Redis's quicklist).
//
// Each node holds entries up to list-max-listpack-size: a positive value bounds the entries
// per node, -1..-5 bound its bytes to 4, 8, 16, 32 or 64 KB. An entry bigger than the bound
// gets a node of its own. OBJECT ENCODING says "listpack" while the list is a single node and
// "quicklist" past it, as Redis 7.2 does. Pushes and pops at the ends touch one node; index
// operations walk node sizes from the nearer end, then entries inside one node. LINSERT and
// LSET split a node that grows past the bound; nodes are not merged back (Redis merges small
// neighbours; a later step of issue 10). Listpack entries carry no back length, so the last
// entry of a node is found by walking it; the positions of the tail node's entries are kept
// once walked (TailPositions), so that RPOP after RPOP costs O(1), not a walk of the node.
// Callers hold the key's shard lock and wrap writes in an ObjectWrite.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "storage/types/listpack.h"
#include "storage/types/object.h"

namespace flightcache::storage {

class ListObject final : public Object {
 public:
  ValueType type() const override { return ValueType::kList; }
  const char* EncodingName() const override {
    return nodes_.size() <= 1 ? "listpack" : "quicklist";
  }
  size_t MemoryBytes() const override;
  size_t Length() const override { return count_; }
  std::unique_ptr<Object> Clone() const override;

  size_t nodes() const { return nodes_.size(); }
  void PushFront(std::string_view value, const TypeLimits& limits);
  void PushBack(std::string_view value, const TypeLimits& limits);
  // Removes the first (last) element into *out; false when empty.
  bool PopFront(std::string* out);
  bool PopBack(std::string* out);
  // The element at index (< Length()); valid until the list changes.
  std::string_view At(size_t index) const;
  // Replaces the element at index (< Length()).
  void Set(size_t index, std::string_view value, const TypeLimits& limits);
  // Calls fn for elements start..end (inclusive, end < Length()), front to back; stops early
  // when fn returns false.
  void ForRange(size_t start, size_t end, const std::function<bool(std::string_view)>& fn) const;
  // Calls fn(index, element) from the back to the front; stops when fn returns false.
  void ForEachReverse(const std::function<bool(size_t, std::string_view)>& fn) const;
  // Inserts value before (or after) the first element equal to pivot; false when no element
  // equals pivot.
  bool Insert(std::string_view pivot, std::string_view value, bool after, const TypeLimits& limits);
  // LREM: removes up to count (0: all) elements equal to value, from the front, or from the
  // back when from_back. Returns how many it removed.
  size_t Remove(std::string_view value, size_t count, bool from_back);
  // Keeps elements start..end (inclusive, start <= end < Length()) and drops the rest.
  void Trim(size_t start, size_t end);

 private:
  struct Place {
    size_t node;
    size_t index;  // inside the node
  };
  Place Locate(size_t index) const;
  bool Fits(const Listpack& node, std::string_view value, const TypeLimits& limits) const;
  // Splits node i into nodes within the bound when it has grown past it.
  void Normalize(size_t i, const TypeLimits& limits);
  void DropNode(size_t i);
  // Runs fn on node i and keeps bytes_ in step with its memory. A change to the tail node
  // forgets its positions, unless keep_tail_positions (the caller keeps them right).
  template <typename Fn>
  void Modify(size_t i, Fn&& fn, bool keep_tail_positions = false);
  // The byte positions of the tail node's entries, front to back: walked once, then kept in
  // step by PushBack and PopBack while nothing else changes the tail node.
  std::vector<uint32_t>& TailPositions();
  void ForgetTailPositions() { tail_positions_.reset(); }

  // An array, not a deque: a small list costs one small block, not a deque's 512-byte chunk and
  // map. A new node at the front moves the others (8 bytes each), once per node of pushes.
  std::vector<Listpack> nodes_;
  size_t count_ = 0;
  size_t node_bytes_ = 0;  // sum of the nodes' MemoryBytes()
  // Null until an RPOP walks the tail node, and again after any other change to that node.
  std::unique_ptr<std::vector<uint32_t>> tail_positions_;
};

}  // namespace flightcache::storage
