// skiplist.cc — insert, erase, rank and rank lookup with spans (see skiplist.h).
#include "storage/types/skiplist.h"

#include <cstdlib>
#include <new>

#include "storage/entry.h"

namespace flightcache::storage {

SkipList::SkipList() { header_ = NewNode(kMaxLevel, 0, {}); }

SkipList::~SkipList() {
  Node* n = First();
  while (n) {
    Node* next = Next(n);
    FreeNode(n);
    n = next;
  }
  FreeNode(header_);
}

SkipList::Node* SkipList::NewNode(int height, double score, std::string_view member) {
  const size_t size = sizeof(Node) + static_cast<size_t>(height - 1) * sizeof(Level);
  void* block = std::malloc(size);
  if (!block) throw std::bad_alloc();
  Node* n = new (block) Node{score, std::string(member), nullptr, height, {{nullptr, 0}}};
  for (int i = 1; i < height; ++i) n->levels[i] = Level{nullptr, 0};
  bytes_ += AllocationSizeFor(size);
  if (n->member.capacity() > 15) bytes_ += AllocatedBlockSize(n->member.data());
  return n;
}

void SkipList::FreeNode(Node* n) {
  bytes_ -= AllocationSizeFor(sizeof(Node) + static_cast<size_t>(n->height - 1) * sizeof(Level));
  if (n->member.capacity() > 15) bytes_ -= AllocatedBlockSize(n->member.data());
  n->~Node();
  std::free(n);
}

int SkipList::RandomLevel() {
  int level = 1;
  for (;;) {
    rng_ ^= rng_ << 13;  // xorshift64
    rng_ ^= rng_ >> 7;
    rng_ ^= rng_ << 17;
    if ((rng_ & 3) != 0 || level >= kMaxLevel) return level;  // grow with p = 1/4
    ++level;
  }
}

void SkipList::Insert(double score, std::string_view member) {
  Node* update[kMaxLevel];
  size_t rank[kMaxLevel];
  Node* x = header_;
  for (int i = level_ - 1; i >= 0; --i) {
    rank[i] = i == level_ - 1 ? 0 : rank[i + 1];
    while (x->levels[i].forward && Before(*x->levels[i].forward, score, member)) {
      rank[i] += x->levels[i].span;
      x = x->levels[i].forward;
    }
    update[i] = x;
  }
  const int height = RandomLevel();
  if (height > level_) {
    for (int i = level_; i < height; ++i) {
      rank[i] = 0;
      update[i] = header_;
      header_->levels[i].span = length_;
    }
    level_ = height;
  }
  x = NewNode(height, score, member);
  for (int i = 0; i < height; ++i) {
    x->levels[i].forward = update[i]->levels[i].forward;
    update[i]->levels[i].forward = x;
    x->levels[i].span = update[i]->levels[i].span - (rank[0] - rank[i]);
    update[i]->levels[i].span = (rank[0] - rank[i]) + 1;
  }
  for (int i = height; i < level_; ++i) ++update[i]->levels[i].span;
  x->backward = update[0] == header_ ? nullptr : update[0];
  if (x->levels[0].forward) {
    x->levels[0].forward->backward = x;
  } else {
    tail_ = x;
  }
  ++length_;
}

bool SkipList::Erase(double score, std::string_view member) {
  Node* update[kMaxLevel];
  Node* x = header_;
  for (int i = level_ - 1; i >= 0; --i) {
    while (x->levels[i].forward && Before(*x->levels[i].forward, score, member)) {
      x = x->levels[i].forward;
    }
    update[i] = x;
  }
  x = x->levels[0].forward;
  if (!x || x->score != score || x->member != member) return false;
  for (int i = 0; i < level_; ++i) {
    if (update[i]->levels[i].forward == x) {
      update[i]->levels[i].span += x->levels[i].span - 1;
      update[i]->levels[i].forward = x->levels[i].forward;
    } else {
      --update[i]->levels[i].span;
    }
  }
  if (x->levels[0].forward) {
    x->levels[0].forward->backward = x->backward;
  } else {
    tail_ = x->backward;
  }
  while (level_ > 1 && !header_->levels[level_ - 1].forward) --level_;
  --length_;
  FreeNode(x);
  return true;
}

size_t SkipList::Rank(double score, std::string_view member) const {
  size_t rank;
  LowerBound([&](const Node& n) { return Before(n, score, member); }, &rank);
  return rank;
}

SkipList::Node* SkipList::AtRank(size_t rank) const {
  Node* x = header_;
  size_t traversed = 0;
  const size_t wanted = rank + 1;  // spans count 1-based positions
  for (int i = level_ - 1; i >= 0; --i) {
    while (x->levels[i].forward && traversed + x->levels[i].span <= wanted) {
      traversed += x->levels[i].span;
      x = x->levels[i].forward;
    }
    if (traversed == wanted) return x;
  }
  return nullptr;
}

}  // namespace flightcache::storage
