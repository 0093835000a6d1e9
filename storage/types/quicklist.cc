// quicklist.cc — the list of listpack nodes (see quicklist.h).
#include "storage/types/quicklist.h"

#include <cassert>
#include <cstring>
#include <vector>

#include "storage/entry.h"

namespace flightcache::storage {
namespace {

bool Equal(std::string_view a, std::string_view b) {
  return a.size() == b.size() && (a.empty() || std::memcmp(a.data(), b.data(), a.size()) == 0);
}

// The byte bound of a node for a negative list-max-listpack-size (-1: 4 KB ... -5: 64 KB).
size_t MaxNodeBytes(const TypeLimits& limits) {
  const int64_t fill = limits.list_max_listpack_size;
  const int64_t level = fill < -5 ? 5 : (fill >= 0 ? 1 : -fill);
  return size_t{4096} << (level - 1);
}

}  // namespace

size_t ListObject::MemoryBytes() const {
  const size_t array =
      nodes_.capacity() > 0 ? AllocationSizeFor(nodes_.capacity() * sizeof(Listpack)) : 0;
  size_t positions = 0;
  if (tail_positions_) {
    positions = AllocationSizeFor(sizeof(std::vector<uint32_t>));
    if (tail_positions_->capacity() > 0) {
      positions += AllocationSizeFor(tail_positions_->capacity() * sizeof(uint32_t));
    }
  }
  return AllocationSizeFor(sizeof(ListObject)) + array + node_bytes_ + positions;
}

std::unique_ptr<Object> ListObject::Clone() const {
  auto copy = std::make_unique<ListObject>();
  copy->nodes_ = nodes_;
  copy->count_ = count_;
  for (const Listpack& node : copy->nodes_) copy->node_bytes_ += node.MemoryBytes();  // new buffers
  return copy;
}

template <typename Fn>
void ListObject::Modify(size_t i, Fn&& fn, bool keep_tail_positions) {
  if (i + 1 == nodes_.size() && !keep_tail_positions) ForgetTailPositions();
  node_bytes_ -= nodes_[i].MemoryBytes();
  fn(nodes_[i]);
  node_bytes_ += nodes_[i].MemoryBytes();
}

bool ListObject::Fits(const Listpack& node, std::string_view value,
                      const TypeLimits& limits) const {
  if (node.empty()) return true;
  const int64_t fill = limits.list_max_listpack_size;
  if (fill > 0) return static_cast<int64_t>(node.size()) < fill;
  return node.bytes() + value.size() + 10 <= MaxNodeBytes(limits);
}

void ListObject::PushFront(std::string_view value, const TypeLimits& limits) {
  if (nodes_.empty() || !Fits(nodes_.front(), value, limits)) {
    // The front node is full: give back its growth slack before opening a new one.
    if (!nodes_.empty()) Modify(0, [](Listpack& lp) { lp.ShrinkToFit(); });
    nodes_.emplace(nodes_.begin());
  }
  Modify(0, [&](Listpack& lp) { lp.PushFront(value); });
  ++count_;
}

void ListObject::PushBack(std::string_view value, const TypeLimits& limits) {
  if (nodes_.empty() || !Fits(nodes_.back(), value, limits)) {
    // The back node is full: give back its growth slack before opening a new one (Modify of
    // the tail node also drops its kept positions).
    if (!nodes_.empty()) Modify(nodes_.size() - 1, [](Listpack& lp) { lp.ShrinkToFit(); });
    ForgetTailPositions();  // a new tail node
    nodes_.emplace_back();
  }
  const size_t pos = nodes_.back().End();
  if (tail_positions_ && pos <= UINT32_MAX) {
    tail_positions_->push_back(static_cast<uint32_t>(pos));
    Modify(
        nodes_.size() - 1, [&](Listpack& lp) { lp.PushBack(value); }, true);
  } else {
    Modify(nodes_.size() - 1, [&](Listpack& lp) { lp.PushBack(value); });
  }
  ++count_;
}

std::vector<uint32_t>& ListObject::TailPositions() {
  if (!tail_positions_) {
    const Listpack& lp = nodes_.back();
    tail_positions_ = std::make_unique<std::vector<uint32_t>>();
    tail_positions_->reserve(lp.size());
    for (size_t pos = lp.Begin(); pos != lp.End(); pos = lp.Next(pos)) {
      tail_positions_->push_back(static_cast<uint32_t>(pos));
    }
  }
  return *tail_positions_;
}

void ListObject::DropNode(size_t i) {
  if (i + 1 == nodes_.size()) ForgetTailPositions();
  node_bytes_ -= nodes_[i].MemoryBytes();
  nodes_.erase(nodes_.begin() + static_cast<std::ptrdiff_t>(i));
  // Give the array back as the list shrinks (amortised: only past a 4x slack).
  if (nodes_.size() * 4 < nodes_.capacity()) nodes_.shrink_to_fit();
}

bool ListObject::PopFront(std::string* out) {
  if (count_ == 0) return false;
  out->assign(nodes_.front().Get(0));
  Modify(0, [](Listpack& lp) { lp.Erase(0); });
  if (nodes_.front().empty()) DropNode(0);
  --count_;
  return true;
}

bool ListObject::PopBack(std::string* out) {
  if (count_ == 0) return false;
  const size_t last = nodes_.size() - 1;
  if (nodes_[last].bytes() > UINT32_MAX) {  // positions would not fit the cache: walk
    const size_t pos = nodes_[last].Last();
    out->assign(nodes_[last].Get(pos));
    Modify(last, [&](Listpack& lp) { lp.Erase(pos); });
  } else {
    std::vector<uint32_t>& positions = TailPositions();
    const size_t pos = positions.back();
    positions.pop_back();
    out->assign(nodes_[last].Get(pos));
    Modify(
        last, [&](Listpack& lp) { lp.Erase(pos); }, true);
  }
  if (nodes_[last].empty()) DropNode(last);
  --count_;
  return true;
}

ListObject::Place ListObject::Locate(size_t index) const {
  assert(index < count_);
  if (index < count_ / 2) {
    size_t i = 0;
    while (index >= nodes_[i].size()) index -= nodes_[i++].size();
    return {i, index};
  }
  size_t from_back = count_ - 1 - index;
  size_t i = nodes_.size() - 1;
  while (from_back >= nodes_[i].size()) from_back -= nodes_[i--].size();
  return {i, nodes_[i].size() - 1 - from_back};
}

std::string_view ListObject::At(size_t index) const {
  Place p = Locate(index);
  const Listpack& lp = nodes_[p.node];
  return lp.Get(lp.PositionOf(p.index));
}

void ListObject::Normalize(size_t i, const TypeLimits& limits) {
  Listpack& node = nodes_[i];
  if (node.size() <= 1) return;
  bool over;
  if (limits.list_max_listpack_size > 0) {
    over = static_cast<int64_t>(node.size()) > limits.list_max_listpack_size;
  } else {
    over = node.bytes() > MaxNodeBytes(limits);
  }
  if (!over) return;
  std::vector<Listpack> parts(1);
  for (size_t pos = node.Begin(); pos != node.End(); pos = node.Next(pos)) {
    std::string_view v = node.Get(pos);
    if (!Fits(parts.back(), v, limits)) parts.emplace_back();
    parts.back().PushBack(v);
  }
  DropNode(i);
  for (size_t k = 0; k < parts.size(); ++k) {
    parts[k].ShrinkToFit();
    node_bytes_ += parts[k].MemoryBytes();
    nodes_.insert(nodes_.begin() + static_cast<std::ptrdiff_t>(i + k), std::move(parts[k]));
  }
}

void ListObject::Set(size_t index, std::string_view value, const TypeLimits& limits) {
  Place p = Locate(index);
  Modify(p.node, [&](Listpack& lp) { lp.Replace(lp.PositionOf(p.index), value); });
  Normalize(p.node, limits);
}

void ListObject::ForRange(size_t start, size_t end,
                          const std::function<bool(std::string_view)>& fn) const {
  if (start > end || end >= count_) return;
  Place p = Locate(start);
  size_t left = end - start + 1;
  for (size_t i = p.node; i < nodes_.size() && left > 0; ++i) {
    const Listpack& lp = nodes_[i];
    size_t pos = lp.PositionOf(i == p.node ? p.index : 0);
    for (; pos != lp.End() && left > 0; pos = lp.Next(pos), --left) {
      if (!fn(lp.Get(pos))) return;
    }
  }
}

void ListObject::ForEachReverse(const std::function<bool(size_t, std::string_view)>& fn) const {
  size_t index = count_;
  std::vector<size_t> positions;
  for (size_t i = nodes_.size(); i-- > 0;) {
    const Listpack& lp = nodes_[i];
    positions.clear();
    for (size_t pos = lp.Begin(); pos != lp.End(); pos = lp.Next(pos)) positions.push_back(pos);
    for (size_t k = positions.size(); k-- > 0;) {
      if (!fn(--index, lp.Get(positions[k]))) return;
    }
  }
}

bool ListObject::Insert(std::string_view pivot, std::string_view value, bool after,
                        const TypeLimits& limits) {
  for (size_t i = 0; i < nodes_.size(); ++i) {
    const Listpack& lp = nodes_[i];
    for (size_t pos = lp.Begin(); pos != lp.End(); pos = lp.Next(pos)) {
      if (!Equal(lp.Get(pos), pivot)) continue;
      const size_t at = after ? lp.Next(pos) : pos;
      Modify(i, [&](Listpack& node) { node.Insert(at, value); });
      ++count_;
      Normalize(i, limits);
      return true;
    }
  }
  return false;
}

size_t ListObject::Remove(std::string_view value, size_t count, bool from_back) {
  size_t removed = 0;
  auto done = [&] { return count != 0 && removed >= count; };
  if (!from_back) {
    for (size_t i = 0; i < nodes_.size() && !done();) {
      Modify(i, [&](Listpack& lp) {
        for (size_t pos = lp.Begin(); pos != lp.End() && !done();) {
          if (Equal(lp.Get(pos), value)) {
            lp.Erase(pos);
            ++removed;
          } else {
            pos = lp.Next(pos);
          }
        }
      });
      if (nodes_[i].empty()) {
        DropNode(i);
      } else {
        ++i;
      }
    }
  } else {
    std::vector<size_t> positions;
    for (size_t i = nodes_.size(); i-- > 0 && !done();) {
      Modify(i, [&](Listpack& lp) {
        positions.clear();
        for (size_t pos = lp.Begin(); pos != lp.End(); pos = lp.Next(pos)) {
          positions.push_back(pos);
        }
        // Erase from the back so the earlier positions stay valid.
        for (size_t k = positions.size(); k-- > 0 && !done();) {
          if (Equal(lp.Get(positions[k]), value)) {
            lp.Erase(positions[k]);
            ++removed;
          }
        }
      });
      if (nodes_[i].empty()) DropNode(i);
    }
  }
  count_ -= removed;
  return removed;
}

void ListObject::Trim(size_t start, size_t end) {
  assert(start <= end && end < count_);
  // Drop from the back first so that start's place does not move.
  size_t drop_back = count_ - 1 - end;
  while (drop_back > 0) {
    const size_t last = nodes_.size() - 1;
    const size_t n = nodes_[last].size();
    if (n <= drop_back) {
      DropNode(last);
      drop_back -= n;
    } else {
      Modify(last, [&](Listpack& lp) { lp.Erase(lp.PositionOf(n - drop_back), drop_back); });
      drop_back = 0;
    }
  }
  size_t drop_front = start;
  while (drop_front > 0) {
    const size_t n = nodes_[0].size();
    if (n <= drop_front) {
      DropNode(0);
      drop_front -= n;
    } else {
      Modify(0, [&](Listpack& lp) { lp.Erase(0, drop_front); });
      drop_front = 0;
    }
  }
  count_ = end - start + 1;
}

}  // namespace flightcache::storage
