// typed_keyspace_test.cc — non-string values in the keyspace: the entry's type tag, object
// ownership through expiry, rewrite, rename and flush, memory accounting and eviction, and the
// KeyWatcher hearing of every object write (the singleflight Forget rule).
#include <doctest/doctest.h>

#include <memory>
#include <string>
#include <vector>

#include "storage/keyspace.h"
#include "storage/types/hash_object.h"
#include "storage/types/quicklist.h"
#include "storage/types/set_object.h"

using namespace flightcache::storage;

namespace {

struct RecordingWatcher : KeyWatcher {
  std::vector<std::string> changed;
  void OnKeyChanged(std::string_view key) override { changed.emplace_back(key); }
  void OnFlush() override {}
};

Entry* PutHash(Keyspace& ks, const std::string& key, int fields, int64_t expire_at = 0) {
  KeyLocation at = ks.db(0).Locate(key);
  Entry* e = at.shard->SetObject(key, at.hash, std::make_unique<HashObject>(), expire_at);
  TypeLimits limits;
  ObjectWrite write(*at.shard, e);
  auto* h = static_cast<HashObject*>(EntryObject(e));
  for (int i = 0; i < fields; ++i) h->Set("field:" + std::to_string(i), "value", limits);
  return e;
}

}  // namespace

TEST_CASE("an entry tags its type and a string entry stays untagged") {
  Keyspace ks;
  KeyLocation at = ks.db(0).Locate("s");
  Entry* s = at.shard->Set("s", at.hash, "v", 0);
  CHECK(EntryIsString(s));
  CHECK(std::string(TypeName(EntryType(s))) == "string");
  Entry* h = PutHash(ks, "h", 3, 5000);
  CHECK(EntryType(h) == ValueType::kHash);
  CHECK(std::string(TypeName(EntryType(h))) == "hash");
  CHECK(EntryExpireAt(h) == 5000);
  CHECK(static_cast<HashObject*>(EntryObject(h))->Length() == 3);
}

TEST_CASE("the shard counts an object's bytes as it grows, shrinks and goes") {
  Keyspace ks;
  const size_t empty = ks.memory_bytes();
  PutHash(ks, "h", 2000);
  const size_t full = ks.memory_bytes();
  CHECK(full > empty + 2000 * 15);
  Entry* e = ks.db(0).Find("h", 0);
  KeyLocation at = ks.db(0).Locate("h");
  {
    ObjectWrite write(*at.shard, e);
    auto* h = static_cast<HashObject*>(EntryObject(e));
    for (int i = 0; i < 1000; ++i) h->Delete("field:" + std::to_string(i));
  }
  CHECK(ks.memory_bytes() < full);
  // A TTL moves the object to a new block: its bytes stay counted once.
  const size_t before_ttl = ks.memory_bytes();
  e = at.shard->SetExpire(e, at.hash, 1000);
  CHECK(ks.memory_bytes() - before_ttl <= 16);  // the 8-byte expiry, rounded by malloc
  CHECK(static_cast<HashObject*>(EntryObject(e))->Length() == 1000);
  CHECK(ks.db(0).Delete("h"));
  CHECK(ks.memory_bytes() == empty);
}

TEST_CASE("a string written over an object frees it and the figure drops back") {
  Keyspace ks;
  const size_t empty = ks.memory_bytes();
  PutHash(ks, "k", 500);
  KeyLocation at = ks.db(0).Locate("k");
  at.shard->Set("k", at.hash, "plain", 0);
  CHECK(EntryIsString(ks.db(0).Find("k", 0)));
  CHECK(ks.memory_bytes() < empty + 200);
}

TEST_CASE("TakeObject moves an object out and its bytes with it") {
  Keyspace ks;
  const size_t empty = ks.memory_bytes();
  Entry* e = PutHash(ks, "src", 100, 9000);
  KeyLocation src = ks.db(0).Locate("src");
  std::unique_ptr<Object> object = src.shard->TakeObject(e, src.hash);
  CHECK(ks.size() == 0);
  CHECK(ks.memory_bytes() == empty);
  KeyLocation dst = ks.db(0).Locate("dst");
  dst.shard->SetObject("dst", dst.hash, std::move(object), 9000);
  CHECK(static_cast<HashObject*>(EntryObject(ks.db(0).Find("dst", 0)))->Length() == 100);
  CHECK(ks.volatile_count() == 1);
}

TEST_CASE("expired and flushed objects are freed (ASan checks there is no leak)") {
  Keyspace ks;
  PutHash(ks, "short", 50, 10);
  PutHash(ks, "long", 50, 0);
  CHECK(ks.db(0).Find("short", 20) == nullptr);
  bool more = false;
  ks.ActiveExpirePass(20, 100, &more);
  ks.FlushAll();
  CHECK(ks.size() == 0);
  CHECK(ks.memory_bytes() == Keyspace().memory_bytes());  // the empty bucket arrays only
}

TEST_CASE("every object write is reported to the watcher") {
  Keyspace ks;
  RecordingWatcher watcher;
  for (size_t i = 0; i < Keyspace::kShardCount; ++i) {
    ks.db(0).shard(i).set_watcher(&watcher);
    ks.db(0).shard(i).AddWatch();
  }
  Entry* e = PutHash(ks, "h", 1);
  watcher.changed.clear();
  KeyLocation at = ks.db(0).Locate("h");
  { ObjectWrite write(*at.shard, e); }
  CHECK(watcher.changed == std::vector<std::string>{"h"});
  for (size_t i = 0; i < Keyspace::kShardCount; ++i) ks.db(0).shard(i).RemoveWatch();
}

TEST_CASE("eviction keeps a keyspace of lists and sets within its limit") {
  Keyspace ks;
  ks.set_memory_baseline(0);
  const int64_t limit = 2 * 1024 * 1024;
  ks.ConfigureEviction(EvictionPolicy::kAllKeysS3Fifo, limit);
  TypeLimits limits;
  for (int k = 0; k < 2000; ++k) {
    REQUIRE(ks.MakeRoom());
    const std::string key = "obj:" + std::to_string(k);
    KeyLocation at = ks.db(0).Locate(key);
    Entry* e;
    if (k % 2) {
      e = at.shard->SetObject(key, at.hash, std::make_unique<ListObject>(), 0);
      ObjectWrite write(*at.shard, e);
      for (int i = 0; i < 100; ++i) {
        static_cast<ListObject*>(EntryObject(e))->PushBack(std::string(20, 'x'), limits);
      }
    } else {
      e = at.shard->SetObject(key, at.hash, NewSetFor("m", limits), 0);
      ObjectWrite write(*at.shard, e);
      for (int i = 0; i < 100; ++i) {
        static_cast<SetObject*>(EntryObject(e))->Add("member:" + std::to_string(i), limits);
      }
    }
  }
  ks.MakeRoom();
  CHECK(ks.evicted_keys() > 0);
  CHECK(ks.UsedMemoryEstimate() <= limit);
}
