// hash_object.cc — the listpack and hashtable encodings of a hash (see hash_object.h).
#include "storage/types/hash_object.h"

#include "storage/entry.h"

namespace flightcache::storage {

size_t HashObject::MemoryBytes() const {
  // This object's own block too: small hashes are mostly overhead, and eviction must see it.
  return AllocationSizeFor(sizeof(HashObject)) +
         (dict_ ? AllocationSizeFor(sizeof(Dict)) + dict_->MemoryBytes() : lp_.MemoryBytes());
}

std::unique_ptr<Object> HashObject::Clone() const {
  auto copy = std::make_unique<HashObject>();
  if (dict_) {
    copy->dict_ = std::make_unique<Dict>();
    dict_->ForEach([&](std::string_view f, std::string_view v) { copy->dict_->Set(f, v); });
  } else {
    copy->lp_ = lp_;
  }
  return copy;
}

std::optional<std::string_view> HashObject::Get(std::string_view field) const {
  if (dict_) {
    const Dict::Node* n = dict_->Find(field);
    if (!n) return std::nullopt;
    return Dict::ValueOf(n);
  }
  const size_t pos = lp_.Find(field, 0, 2);
  if (pos == lp_.End()) return std::nullopt;
  return lp_.Get(lp_.Next(pos));
}

bool HashObject::Set(std::string_view field, std::string_view value, const TypeLimits& limits) {
  if (!dict_) {
    const auto max_value = static_cast<size_t>(limits.hash_max_listpack_value);
    if (field.size() > max_value || value.size() > max_value) ConvertToDict();
  }
  if (dict_) return dict_->Set(field, value);
  const size_t pos = lp_.Find(field, 0, 2);
  if (pos != lp_.End()) {
    lp_.Replace(lp_.Next(pos), value);
    return false;
  }
  lp_.PushBack(field);
  lp_.PushBack(value);
  if (static_cast<int64_t>(lp_.size() / 2) > limits.hash_max_listpack_entries) ConvertToDict();
  return true;
}

bool HashObject::Delete(std::string_view field) {
  if (dict_) return dict_->Erase(field);
  const size_t pos = lp_.Find(field, 0, 2);
  if (pos == lp_.End()) return false;
  lp_.Erase(pos, 2);
  return true;
}

void HashObject::ForEach(const std::function<void(std::string_view, std::string_view)>& fn) const {
  if (dict_) {
    dict_->ForEach(fn);
    return;
  }
  for (size_t pos = lp_.Begin(); pos != lp_.End();) {
    const size_t value_pos = lp_.Next(pos);
    fn(lp_.Get(pos), lp_.Get(value_pos));
    pos = lp_.Next(value_pos);
  }
}

uint64_t HashObject::Scan(uint64_t cursor, size_t count,
                          const std::function<void(std::string_view, std::string_view)>& fn) const {
  if (!dict_) {
    ForEach(fn);
    return 0;
  }
  for (size_t i = 0; i < count; ++i) {
    cursor = dict_->Scan(cursor, fn);
    if (cursor == 0) break;
  }
  return cursor;
}

std::pair<std::string_view, std::string_view> HashObject::Random(uint64_t random) const {
  if (dict_) {
    const Dict::Node* n = dict_->Random(random);
    return {Dict::FieldOf(n), Dict::ValueOf(n)};
  }
  const size_t pos = lp_.PositionOf((random % (lp_.size() / 2)) * 2);
  return {lp_.Get(pos), lp_.Get(lp_.Next(pos))};
}

void HashObject::ConvertToDict() {
  auto dict = std::make_unique<Dict>();
  ForEach([&](std::string_view f, std::string_view v) { dict->Set(f, v); });
  dict_ = std::move(dict);
  lp_.Clear();
}

}  // namespace flightcache::storage
