// skiplist.cc — insert, erase, rank and rank lookup with spans (see skiplist.h).
#include "storage/types/skiplist.h"

#include <cstdlib>

#include "storage/entry.h"

namespace flightcache::storage {

size_t SkipList::UpperOffset(size_t member_len) {
  const size_t end = sizeof(Node) + 1 + VarintSize(member_len) + member_len;
  return (end + 7) & ~size_t{7};
}

size_t SkipList::NodeSize(int height, size_t member_len) {
  if (height == 1) return sizeof(Node) + 1 + VarintSize(member_len) + member_len;
  return UpperOffset(member_len) + static_cast<size_t>(height - 1) * sizeof(Level);
}

SkipList::Level* SkipList::Node::Upper() const {
  uint64_t len;
  GetVarint(Tail() + 1, &len);
  const size_t offset = UpperOffset(static_cast<size_t>(len));
  return reinterpret_cast<Level*>(const_cast<char*>(reinterpret_cast<const char*>(this)) + offset);
}

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
  const size_t size = NodeSize(height, member.size());
  void* block = std::malloc(size);
  if (!block) std::abort();  // as Redis: out of memory is fatal
  auto* n = static_cast<Node*>(block);
  n->score = score;
  n->backward = nullptr;
  n->hash_next = nullptr;
  n->forward0 = nullptr;
  char* p = reinterpret_cast<char*>(n) + sizeof(Node);
  *p++ = static_cast<char>(height);
  p = PutVarint(p, member.size());
  if (!member.empty()) std::memcpy(p, member.data(), member.size());
  for (int i = 1; i < height; ++i) n->Upper()[i - 1] = Level{nullptr, 0};
  bytes_ += AllocationSizeFor(size);
  return n;
}

void SkipList::FreeNode(Node* n) {
  bytes_ -= AllocationSizeFor(NodeSize(n->height(), n->member().size()));
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

SkipList::Node* SkipList::Insert(double score, std::string_view member) {
  Node* update[kMaxLevel];
  size_t rank[kMaxLevel];
  Node* x = header_;
  for (int i = level_ - 1; i >= 0; --i) {
    rank[i] = i == level_ - 1 ? 0 : rank[i + 1];
    while (x->forward(i) && Before(*x->forward(i), score, member)) {
      rank[i] += x->span(i);
      x = x->forward(i);
    }
    update[i] = x;
  }
  const int height = RandomLevel();
  if (height > level_) {
    for (int i = level_; i < height; ++i) {
      rank[i] = 0;
      update[i] = header_;
      header_->set_span(i, length_);
    }
    level_ = height;
  }
  x = NewNode(height, score, member);
  for (int i = 0; i < height; ++i) {
    x->set_forward(i, update[i]->forward(i));
    update[i]->set_forward(i, x);
    x->set_span(i, update[i]->span(i) - (rank[0] - rank[i]));
    update[i]->set_span(i, (rank[0] - rank[i]) + 1);
  }
  for (int i = height; i < level_; ++i) update[i]->set_span(i, update[i]->span(i) + 1);
  x->backward = update[0] == header_ ? nullptr : update[0];
  if (x->forward0) {
    x->forward0->backward = x;
  } else {
    tail_ = x;
  }
  ++length_;
  return x;
}

bool SkipList::Erase(double score, std::string_view member) {
  Node* update[kMaxLevel];
  Node* x = header_;
  for (int i = level_ - 1; i >= 0; --i) {
    while (x->forward(i) && Before(*x->forward(i), score, member)) x = x->forward(i);
    update[i] = x;
  }
  x = x->forward0;
  if (!x || x->score != score || x->member() != member) return false;
  for (int i = 0; i < level_; ++i) {
    if (update[i]->forward(i) == x) {
      update[i]->set_span(i, update[i]->span(i) + x->span(i) - 1);
      update[i]->set_forward(i, x->forward(i));
    } else {
      update[i]->set_span(i, update[i]->span(i) - 1);
    }
  }
  if (x->forward0) {
    x->forward0->backward = x->backward;
  } else {
    tail_ = x->backward;
  }
  while (level_ > 1 && !header_->forward(level_ - 1)) --level_;
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
    while (x->forward(i) && traversed + x->span(i) <= wanted) {
      traversed += x->span(i);
      x = x->forward(i);
    }
    if (traversed == wanted) return x;
  }
  return nullptr;
}

}  // namespace flightcache::storage
