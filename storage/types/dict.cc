// dict.cc — the chained hash table of big hashes and sets (see dict.h).
#include "storage/types/dict.h"

#include <cstdlib>
#include <cstring>

#include "storage/entry.h"
#include "storage/shard.h"
#include "storage/varint.h"

namespace flightcache::storage {
namespace {

size_t NodeBytes(const void* node) { return AllocatedBlockSize(node); }

// A node holding field and value (see the layout in dict.h); its next link is unset.
Dict::Node* NewNode(std::string_view field, std::string_view value) {
  const size_t size = sizeof(Dict::Node) + VarintSize(field.size()) + VarintSize(value.size()) +
                      field.size() + value.size();
  void* block = std::malloc(size);
  if (!block) std::abort();  // as Redis: out of memory is fatal
  auto* node = static_cast<Dict::Node*>(block);
  char* p = static_cast<char*>(block) + sizeof(Dict::Node);
  p = PutVarint(p, field.size());
  p = PutVarint(p, value.size());
  if (!field.empty()) std::memcpy(p, field.data(), field.size());
  if (!value.empty()) std::memcpy(p + field.size(), value.data(), value.size());
  return node;
}

}  // namespace

size_t Dict::MemoryBytes() const { return node_bytes_ + table_.ArrayBytes(); }

Dict::~Dict() {
  table_.FreeAll([](Node* n) { std::free(n); });
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

Dict::Node* Dict::Find(std::string_view field) const { return table_.Find(field, HashKey(field)); }

bool Dict::Set(std::string_view field, std::string_view value) {
  const uint64_t hash = HashKey(field);
  Node* created = NewNode(field, value);
  node_bytes_ += NodeBytes(created);
  if (Node** link = table_.FindLink(field, hash)) {
    Node* old = *link;
    table_.Replace(link, created);
    node_bytes_ -= NodeBytes(old);
    std::free(old);
    return false;
  }
  table_.Insert(created, hash);
  return true;
}

bool Dict::Add(std::string_view field, std::string_view value) {
  if (Find(field)) return false;
  return Set(field, value);
}

bool Dict::Erase(std::string_view field) {
  Node** link = table_.FindLink(field, HashKey(field));
  if (!link) return false;
  Node* n = *link;
  table_.Unlink(link);
  node_bytes_ -= NodeBytes(n);
  std::free(n);
  return true;
}

void Dict::ForEach(const std::function<void(std::string_view, std::string_view)>& fn) const {
  table_.ForEach([&](const Node* n) { fn(FieldOf(n), ValueOf(n)); });
}

uint64_t Dict::Scan(uint64_t cursor,
                    const std::function<void(std::string_view, std::string_view)>& fn) const {
  return table_.Scan(cursor, [&](const Node* n) { fn(FieldOf(n), ValueOf(n)); });
}

const Dict::Node* Dict::Random(uint64_t random) const { return table_.Random(random); }

}  // namespace flightcache::storage
