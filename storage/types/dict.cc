// dict.cc — the chained hash table of big hashes and sets (see dict.h).
#include "storage/types/dict.h"

#include <cstdlib>
#include <cstring>

#include "storage/entry.h"
#include "storage/shard.h"
#include "storage/varint.h"

namespace flightcache::storage {

struct Dict::Node {
  Node* next;
  // variable part follows: [field len varint][value len varint][field][value]
};

namespace {

constexpr size_t kMinBuckets = 4;

uint64_t ReverseBits(uint64_t v) {
  v = ((v >> 1) & 0x5555555555555555ULL) | ((v & 0x5555555555555555ULL) << 1);
  v = ((v >> 2) & 0x3333333333333333ULL) | ((v & 0x3333333333333333ULL) << 2);
  v = ((v >> 4) & 0x0F0F0F0F0F0F0F0FULL) | ((v & 0x0F0F0F0F0F0F0F0FULL) << 4);
  v = ((v >> 8) & 0x00FF00FF00FF00FFULL) | ((v & 0x00FF00FF00FF00FFULL) << 8);
  v = ((v >> 16) & 0x0000FFFF0000FFFFULL) | ((v & 0x0000FFFF0000FFFFULL) << 16);
  return (v >> 32) | (v << 32);
}

size_t NodeBytes(const void* node) { return AllocatedBlockSize(node); }

}  // namespace

size_t Dict::MemoryBytes() const { return node_bytes_ + (table_ ? AllocatedBlockSize(table_) : 0); }

Dict::~Dict() {
  for (size_t i = 0; i < buckets_; ++i) {
    for (Node* n = table_[i]; n;) {
      Node* next = n->next;
      std::free(n);
      n = next;
    }
  }
  std::free(table_);
}

std::string_view Dict::FieldOf(const Node* node) {
  uint64_t flen, vlen;
  const char* p = GetVarint(reinterpret_cast<const char*>(node) + sizeof(Node), &flen);
  p = GetVarint(p, &vlen);
  return {p, flen};
}

std::string_view Dict::ValueOf(const Node* node) {
  uint64_t flen, vlen;
  const char* p = GetVarint(reinterpret_cast<const char*>(node) + sizeof(Node), &flen);
  p = GetVarint(p, &vlen);
  return {p + flen, vlen};
}

Dict::Node** Dict::Link(std::string_view field, uint64_t hash) const {
  if (buckets_ == 0) return nullptr;
  for (Node** link = &table_[hash & (buckets_ - 1)]; *link; link = &(*link)->next) {
    std::string_view f = FieldOf(*link);
    if (f.size() == field.size() && std::memcmp(f.data(), field.data(), f.size()) == 0) {
      return link;
    }
  }
  return nullptr;
}

Dict::Node* Dict::Find(std::string_view field) const {
  Node** link = Link(field, HashKey(field));
  return link ? *link : nullptr;
}

namespace {

Dict::Node* NewNode(std::string_view field, std::string_view value) {
  const size_t size = sizeof(void*) + VarintSize(field.size()) + VarintSize(value.size()) +
                      field.size() + value.size();
  void* block = std::malloc(size);
  if (!block) std::abort();  // as Redis: out of memory is fatal
  auto* node = static_cast<Dict::Node*>(block);
  char* p = static_cast<char*>(block) + sizeof(void*);
  p = PutVarint(p, field.size());
  p = PutVarint(p, value.size());
  if (!field.empty()) std::memcpy(p, field.data(), field.size());
  if (!value.empty()) std::memcpy(p + field.size(), value.data(), value.size());
  return node;
}

}  // namespace

bool Dict::Set(std::string_view field, std::string_view value) {
  const uint64_t hash = HashKey(field);
  if (Node** link = Link(field, hash)) {
    Node* old = *link;
    Node* created = NewNode(field, value);
    created->next = old->next;
    *link = created;
    node_bytes_ += NodeBytes(created);
    node_bytes_ -= NodeBytes(old);
    std::free(old);
    return false;
  }
  if (size_ >= buckets_) Resize(buckets_ == 0 ? kMinBuckets : buckets_ * 2);
  Node* created = NewNode(field, value);
  Node*& head = table_[hash & (buckets_ - 1)];
  created->next = head;
  head = created;
  node_bytes_ += NodeBytes(created);
  ++size_;
  return true;
}

bool Dict::Add(std::string_view field, std::string_view value) {
  if (Find(field)) return false;
  return Set(field, value);
}

bool Dict::Erase(std::string_view field) {
  Node** link = Link(field, HashKey(field));
  if (!link) return false;
  Node* n = *link;
  *link = n->next;
  node_bytes_ -= NodeBytes(n);
  std::free(n);
  --size_;
  MaybeShrink();
  return true;
}

void Dict::Resize(size_t buckets) {
  Node** table = static_cast<Node**>(std::calloc(buckets, sizeof(Node*)));
  if (!table) std::abort();
  for (size_t i = 0; i < buckets_; ++i) {
    for (Node* n = table_[i]; n;) {
      Node* next = n->next;
      Node*& head = table[HashKey(FieldOf(n)) & (buckets - 1)];
      n->next = head;
      head = n;
      n = next;
    }
  }
  std::free(table_);
  table_ = table;
  buckets_ = buckets;
}

void Dict::MaybeShrink() {
  if (buckets_ > kMinBuckets && size_ * 8 < buckets_) {
    size_t target = buckets_;
    while (target > kMinBuckets && size_ * 2 < target) target /= 2;
    Resize(target);
  }
}

void Dict::ForEach(const std::function<void(std::string_view, std::string_view)>& fn) const {
  for (size_t i = 0; i < buckets_; ++i) {
    for (const Node* n = table_[i]; n; n = n->next) fn(FieldOf(n), ValueOf(n));
  }
}

uint64_t Dict::Scan(uint64_t cursor,
                    const std::function<void(std::string_view, std::string_view)>& fn) const {
  if (buckets_ == 0) return 0;
  const uint64_t mask = buckets_ - 1;
  for (const Node* n = table_[cursor & mask]; n; n = n->next) fn(FieldOf(n), ValueOf(n));
  cursor |= ~mask;
  return ReverseBits(ReverseBits(cursor) + 1);
}

const Dict::Node* Dict::Random(uint64_t random) const {
  if (size_ == 0) return nullptr;
  for (uint64_t i = 0;; ++i) {
    uint64_t r = random + i * 0x9E3779B97F4A7C15ULL;
    const Node* head = table_[(r >> 7) & (buckets_ - 1)];
    if (!head) continue;
    size_t len = 0;
    for (const Node* n = head; n; n = n->next) ++len;
    const Node* pick = head;
    for (size_t k = (r >> 3) % len; k > 0; --k) pick = pick->next;
    return pick;
  }
}

}  // namespace flightcache::storage
