// set_object.cc — the intset, listpack and hashtable encodings of a set (see set_object.h).
#include "storage/types/set_object.h"

#include <charconv>
#include <new>

#include "storage/entry.h"

namespace flightcache::storage {
namespace {

std::string_view FormatInt(int64_t v, std::string* buf) {
  char text[24];
  auto [end, ec] = std::to_chars(text, text + sizeof(text), v);
  (void)ec;
  buf->assign(text, end);
  return *buf;
}

}  // namespace

const char* SetObject::EncodingName() const {
  switch (encoding_) {
    case Encoding::kIntset:
      return "intset";
    case Encoding::kListpack:
      return "listpack";
    case Encoding::kHashtable:
      return "hashtable";
  }
  return "hashtable";
}

size_t SetObject::MemoryBytes() const {
  const size_t bytes = AllocationSizeFor(sizeof(SetObject));
  switch (encoding_) {
    case Encoding::kIntset:
      return bytes + ints_.MemoryBytes();
    case Encoding::kListpack:
      return bytes + lp_.MemoryBytes();
    case Encoding::kHashtable:
      return bytes + AllocationSizeFor(sizeof(Dict)) + dict_->MemoryBytes();
  }
  return bytes;
}

size_t SetObject::Length() const {
  switch (encoding_) {
    case Encoding::kIntset:
      return ints_.size();
    case Encoding::kListpack:
      return lp_.size();
    case Encoding::kHashtable:
      return dict_->size();
  }
  return 0;
}

SetObject::~SetObject() { DestroyEncoding(); }

void SetObject::DestroyEncoding() {
  switch (encoding_) {
    case Encoding::kIntset:
      ints_.~Intset();
      return;
    case Encoding::kListpack:
      lp_.~Listpack();
      return;
    case Encoding::kHashtable:
      delete dict_;
      return;
  }
}

std::unique_ptr<Object> SetObject::Clone() const {
  auto copy = std::make_unique<SetObject>();
  switch (encoding_) {
    case Encoding::kIntset:
      copy->ints_ = ints_;
      break;
    case Encoding::kListpack:
      copy->DestroyEncoding();
      new (&copy->lp_) Listpack(lp_);
      break;
    case Encoding::kHashtable: {
      auto dict = std::make_unique<Dict>();
      dict_->ForEach([&](std::string_view m, std::string_view) { dict->Add(m); });
      copy->DestroyEncoding();
      copy->dict_ = dict.release();
      break;
    }
  }
  copy->encoding_ = encoding_;
  return copy;
}

bool SetObject::Contains(std::string_view member) const {
  switch (encoding_) {
    case Encoding::kIntset: {
      int64_t v;
      return ParseSetInteger(member, &v) && ints_.Contains(v);
    }
    case Encoding::kListpack:
      return lp_.Find(member) != lp_.End();
    case Encoding::kHashtable:
      return dict_->Find(member) != nullptr;
  }
  return false;
}

bool SetObject::Add(std::string_view member, const TypeLimits& limits) {
  if (encoding_ == Encoding::kIntset) {
    int64_t v;
    if (ParseSetInteger(member, &v)) {
      if (!ints_.Add(v)) return false;
      if (static_cast<int64_t>(ints_.size()) > limits.set_max_intset_entries) {
        ConvertTo(ints_.size() <= static_cast<size_t>(limits.set_max_listpack_entries)
                      ? Encoding::kListpack
                      : Encoding::kHashtable);
      }
      return true;
    }
    // A non-integer member: a listpack when the result still fits one, as Redis 7.2.
    const bool fits = static_cast<int64_t>(ints_.size()) < limits.set_max_listpack_entries &&
                      static_cast<int64_t>(member.size()) <= limits.set_max_listpack_value;
    ConvertTo(fits ? Encoding::kListpack : Encoding::kHashtable);
  }
  if (encoding_ == Encoding::kListpack) {
    if (lp_.Find(member) != lp_.End()) return false;
    if (static_cast<int64_t>(lp_.size()) >= limits.set_max_listpack_entries ||
        static_cast<int64_t>(member.size()) > limits.set_max_listpack_value) {
      ConvertTo(Encoding::kHashtable);
    } else {
      lp_.PushBack(member);
      return true;
    }
  }
  return dict_->Add(member);
}

bool SetObject::Remove(std::string_view member) {
  switch (encoding_) {
    case Encoding::kIntset: {
      int64_t v;
      return ParseSetInteger(member, &v) && ints_.Remove(v);
    }
    case Encoding::kListpack: {
      const size_t pos = lp_.Find(member);
      if (pos == lp_.End()) return false;
      lp_.Erase(pos);
      return true;
    }
    case Encoding::kHashtable:
      return dict_->Erase(member);
  }
  return false;
}

void SetObject::ForEach(const std::function<void(std::string_view)>& fn) const {
  switch (encoding_) {
    case Encoding::kIntset: {
      std::string buf;
      for (size_t i = 0; i < ints_.size(); ++i) fn(FormatInt(ints_.At(i), &buf));
      return;
    }
    case Encoding::kListpack:
      for (size_t pos = lp_.Begin(); pos != lp_.End(); pos = lp_.Next(pos)) fn(lp_.Get(pos));
      return;
    case Encoding::kHashtable:
      dict_->ForEach([&](std::string_view m, std::string_view) { fn(m); });
      return;
  }
}

uint64_t SetObject::Scan(uint64_t cursor, size_t count,
                         const std::function<void(std::string_view)>& fn) const {
  if (encoding_ != Encoding::kHashtable) {
    ForEach(fn);
    return 0;
  }
  auto each = [&](std::string_view m, std::string_view) { fn(m); };
  for (size_t i = 0; i < count; ++i) {
    cursor = dict_->Scan(cursor, each);
    if (cursor == 0) break;
  }
  return cursor;
}

std::string_view SetObject::Random(uint64_t random, std::string* buf) const {
  switch (encoding_) {
    case Encoding::kIntset:
      return FormatInt(ints_.At(random % ints_.size()), buf);
    case Encoding::kListpack:
      return lp_.Get(lp_.PositionOf(random % lp_.size()));
    case Encoding::kHashtable:
      return Dict::FieldOf(dict_->Random(random));
  }
  return {};
}

void SetObject::ConvertTo(Encoding target) {
  if (target == encoding_) return;
  if (target == Encoding::kHashtable) {
    auto dict = std::make_unique<Dict>();
    ForEach([&](std::string_view m) { dict->Add(m); });
    DestroyEncoding();
    dict_ = dict.release();
  } else {  // intset -> listpack
    Listpack lp;
    ForEach([&](std::string_view m) { lp.PushBack(m); });
    DestroyEncoding();
    new (&lp_) Listpack(std::move(lp));
  }
  encoding_ = target;
}

std::unique_ptr<SetObject> NewSetFor(std::string_view first_member, const TypeLimits& limits) {
  auto set = std::make_unique<SetObject>();
  int64_t v;
  if (!ParseSetInteger(first_member, &v) || limits.set_max_intset_entries == 0) {
    const bool fits = limits.set_max_listpack_entries > 0 &&
                      static_cast<int64_t>(first_member.size()) <= limits.set_max_listpack_value;
    set->ConvertTo(fits ? SetObject::Encoding::kListpack : SetObject::Encoding::kHashtable);
  }
  return set;
}

}  // namespace flightcache::storage
