// shard_test.cc — the keyspace's entries, TTLs, lazy and active expiry, SCAN guarantees and
// change notifications.
#include <doctest/doctest.h>

#include <set>
#include <string>
#include <vector>

#include "storage/keyspace.h"

using namespace flightcache::storage;

namespace {

struct RecordingWatcher : KeyWatcher {
  std::vector<std::string> changed;
  int flushes = 0;
  void OnKeyChanged(std::string_view key) override { changed.emplace_back(key); }
  void OnFlush() override { ++flushes; }
};

}  // namespace

TEST_CASE("an entry keeps long keys and values and its expiry intact") {
  std::string key(300, 'k'), value(70000, 'v');
  Entry* e = CreateEntry(key, value, 123456789);
  CHECK(EntryKey(e) == key);
  CHECK(EntryValue(e) == value);
  CHECK(EntryExpireAt(e) == 123456789);
  SetEntryExpireInPlace(e, 42);
  CHECK(EntryExpireAt(e) == 42);
  FreeEntry(e);
  Entry* plain = CreateEntry("a", "", 0);
  CHECK(EntryExpireAt(plain) == 0);
  CHECK(EntryValue(plain).empty());
  FreeEntry(plain);
}

TEST_CASE("set, find, replace and delete keep the counts right") {
  Keyspace ks;
  for (int i = 0; i < 1000; ++i) {
    std::string k = "key:" + std::to_string(i);
    KeyLocation at = ks.db(0).Locate(k);
    at.shard->Set(k, at.hash, "v" + std::to_string(i), i % 2 ? 1000000 : 0);
  }
  CHECK(ks.size() == 1000);
  CHECK(ks.volatile_count() == 500);
  Entry* e = ks.db(0).Find("key:7", 0);
  REQUIRE(e);
  CHECK(EntryValue(e) == "v7");
  KeyLocation at = ks.db(0).Locate("key:7");
  e = at.shard->ReplaceValue(e, at.hash, "a much longer value than before");
  CHECK(EntryValue(ks.db(0).Find("key:7", 0)) == "a much longer value than before");
  CHECK(EntryExpireAt(e) == 1000000);  // the TTL survives a value change
  e = at.shard->SetExpire(e, at.hash, 0);
  CHECK(ks.volatile_count() == 499);
  CHECK(ks.db(0).Delete("key:7"));
  CHECK_FALSE(ks.db(0).Delete("key:7"));
  CHECK(ks.size() == 999);
}

TEST_CASE("an expired key is gone on lookup, exactly at its expiry time") {
  Keyspace ks;
  KeyLocation at = ks.db(0).Locate("k");
  at.shard->Set("k", at.hash, "v", 1000);
  CHECK(ks.db(0).Find("k", 999) != nullptr);
  CHECK(ks.db(0).Find("k", 1000) == nullptr);
  CHECK(ks.size() == 0);
  CHECK(ks.expired_keys() == 1);
}

TEST_CASE("the active expiry pass removes expired keys without lookups") {
  Keyspace ks;
  for (int i = 0; i < 5000; ++i) {
    std::string k = "t:" + std::to_string(i);
    KeyLocation at = ks.db(0).Locate(k);
    at.shard->Set(k, at.hash, "v", i < 4000 ? 100 : 0);
  }
  bool more = true;
  size_t removed = 0;
  for (int pass = 0; pass < 10000 && ks.volatile_count() > 0; ++pass) {
    removed += ks.ActiveExpirePass(200, 16, &more);
  }
  CHECK(removed == 4000);
  CHECK(ks.size() == 1000);
}

TEST_CASE("the active expiry pass stops asking for more when few sampled keys expired") {
  Keyspace ks;
  for (int i = 0; i < 2000; ++i) {
    std::string k = "t:" + std::to_string(i);
    KeyLocation at = ks.db(0).Locate(k);
    at.shard->Set(k, at.hash, "v", 1000000);
  }
  bool more = true;
  CHECK(ks.ActiveExpirePass(10, 16, &more) == 0);
  CHECK_FALSE(more);
}

TEST_CASE("a full SCAN returns every key that exists throughout, across table growth") {
  Keyspace ks;
  for (int i = 0; i < 3000; ++i) {
    std::string k = "s:" + std::to_string(i);
    KeyLocation at = ks.db(0).Locate(k);
    at.shard->Set(k, at.hash, "v", 0);
  }
  std::set<std::string> seen;
  uint64_t cursor = 0;
  int calls = 0, added = 0;
  do {
    cursor = ks.db(0).Scan(cursor, 10, 0, [&](const Entry* e) { seen.emplace(EntryKey(e)); });
    // Grow the tables while the scan is under way.
    for (int j = 0; j < 20; ++j, ++added) {
      std::string k = "grow:" + std::to_string(added);
      KeyLocation at = ks.db(0).Locate(k);
      at.shard->Set(k, at.hash, "v", 0);
    }
  } while (cursor != 0 && ++calls < 100000);
  CHECK(cursor == 0);
  for (int i = 0; i < 3000; ++i) CHECK(seen.count("s:" + std::to_string(i)) == 1);
}

TEST_CASE("SCAN skips expired keys") {
  Keyspace ks;
  KeyLocation at = ks.db(0).Locate("gone");
  at.shard->Set("gone", at.hash, "v", 5);
  at = ks.db(0).Locate("here");
  at.shard->Set("here", at.hash, "v", 0);
  std::vector<std::string> seen;
  uint64_t cursor = 0;
  do {
    cursor =
        ks.db(0).Scan(cursor, 100, 10, [&](const Entry* e) { seen.emplace_back(EntryKey(e)); });
  } while (cursor != 0);
  CHECK(seen == std::vector<std::string>{"here"});
}

TEST_CASE("a watching shard reports every change to a key and flushes") {
  Keyspace ks;
  RecordingWatcher watcher;
  KeyLocation at = ks.db(0).Locate("w");
  at.shard->set_watcher(&watcher);
  at.shard->AddWatch();
  Entry* e = at.shard->Set("w", at.hash, "1", 0);
  e = at.shard->ReplaceValue(e, at.hash, "22");
  e = at.shard->SetExpire(e, at.hash, 50);
  CHECK(at.shard->Find("w", at.hash, 100) == nullptr);  // expired on lookup
  at.shard->Set("w", at.hash, "3", 0);
  at.shard->Delete("w", at.hash);
  CHECK(watcher.changed.size() == 6);
  at.shard->Flush();
  CHECK(watcher.flushes == 1);
  at.shard->RemoveWatch();
  at.shard->Set("w", at.hash, "quiet", 0);
  CHECK(watcher.changed.size() == 6);
  at.shard->set_watcher(nullptr);
}

TEST_CASE("RANDOMKEY finds a live key and nothing in an empty keyspace") {
  Keyspace ks;
  CHECK(ks.db(0).RandomEntry(0, 12345) == nullptr);
  for (int i = 0; i < 100; ++i) {
    std::string k = "r:" + std::to_string(i);
    KeyLocation at = ks.db(0).Locate(k);
    at.shard->Set(k, at.hash, "v", 0);
  }
  std::set<std::string> picked;
  for (uint64_t r = 1; r < 200; ++r) {
    Entry* e = ks.db(0).RandomEntry(0, r * 0x9E3779B97F4A7C15ULL);
    REQUIRE(e != nullptr);
    picked.emplace(EntryKey(e));
  }
  CHECK(picked.size() > 20);
}

TEST_CASE("tables shrink after most keys are deleted") {
  Keyspace ks;
  for (int i = 0; i < 4000; ++i) {
    std::string k = "x:" + std::to_string(i);
    KeyLocation at = ks.db(0).Locate(k);
    at.shard->Set(k, at.hash, "v", 0);
  }
  size_t before = ks.memory_bytes();
  for (int i = 0; i < 3990; ++i) ks.db(0).Delete("x:" + std::to_string(i));
  ks.ShrinkTables();  // starts the shrinking; the cron's rehash passes finish it
  CHECK(ks.memory_bytes() > before / 10);
  int passes = 0;
  while (ks.RehashPass(100) && ++passes < 1000) {
  }
  CHECK(ks.memory_bytes() < before / 10);
  CHECK(ks.size() == 10);
}

TEST_CASE("an entry's freshness block is read back, and only when set") {
  Freshness f{30, 600, 50000, 3};
  Entry* e = CreateEntry("k", "value", 1000, ValueType::kString, &f);
  CHECK(EntryHasFreshness(e));
  CHECK(EntryValue(e) == "value");
  CHECK(EntryExpireAt(e) == 1000);
  Freshness back = EntryFreshness(e);
  CHECK(back.stale_while_revalidate_s == 30);
  CHECK(back.stale_if_error_s == 600);
  CHECK(back.fetch_us == 50000);
  CHECK(back.route == 3);
  CHECK(EntryGraceMs(e) == 600000);
  ClearEntryFreshness(e);
  CHECK_FALSE(EntryHasFreshness(e));
  CHECK(EntryGraceMs(e) == 0);
  CHECK(EntryValue(e) == "value");
  FreeEntry(e);
  Entry* plain = CreateEntry("k", "v", 0, ValueType::kString, &f);  // no expiry: no windows
  CHECK_FALSE(EntryHasFreshness(plain));
  FreeEntry(plain);
}

TEST_CASE(
    "an expired entry within its windows is seen only by read-through lookups, and "
    "reclaimed once they pass") {
  std::atomic<int64_t> clock{0};
  Shard s(&clock);
  RecordingWatcher watcher;
  s.set_watcher(&watcher);
  s.AddWatch();
  const uint64_t h = HashKey("k");
  s.SetFilled("k", h, "v", 1000, Freshness{5, 0, 100, 0});
  watcher.changed.clear();
  bool expired = true;
  CHECK(s.FindReadThrough("k", h, 999, &expired) != nullptr);
  CHECK_FALSE(expired);
  CHECK(s.Find("k", h, 1000) == nullptr);  // expired for everyone else
  CHECK(s.size() == 1);                    // but kept
  Entry* stale = s.FindReadThrough("k", h, 5999, &expired);
  REQUIRE(stale != nullptr);
  CHECK(expired);
  CHECK(EntryValue(stale) == "v");
  size_t removed = 0;
  s.ActiveExpireStep(5999, 1024, &removed);
  CHECK(removed == 0);
  s.ActiveExpireStep(6000, 1024, &removed);
  CHECK(removed == 1);
  CHECK(s.size() == 0);
  CHECK(s.memory_bytes() == s.bucket_count() * sizeof(Entry*));
  CHECK(watcher.changed.empty());  // it expired unseen: no change to report
  // Short of memory, the evictor's pass frees stale entries too.
  s.SetFilled("k", h, "v", 1000, Freshness{5, 0, 100, 0});
  s.ActiveExpireStep(2000, 1024, &removed, nullptr, /*reclaim_stale=*/true);
  CHECK(s.size() == 0);
}

TEST_CASE("MarkStale expires a value with a revalidate window now, and reports the change") {
  std::atomic<int64_t> clock{0};
  Shard s(&clock);
  RecordingWatcher watcher;
  s.set_watcher(&watcher);
  s.AddWatch();
  const uint64_t h = HashKey("k");
  s.SetFilled("k", h, "v", 100000, Freshness{60, 0, 100, 0});
  watcher.changed.clear();
  CHECK(s.MarkStale("k", h, 500));
  CHECK(watcher.changed == std::vector<std::string>{"k"});
  CHECK(s.Find("k", h, 500) == nullptr);
  bool expired = false;
  CHECK(s.FindReadThrough("k", h, 500, &expired) != nullptr);
  CHECK(expired);
  s.Set("plain", HashKey("plain"), "v", 100000);
  CHECK_FALSE(s.MarkStale("plain", HashKey("plain"), 500));  // no window: delete it instead
  CHECK_FALSE(s.MarkStale("none", HashKey("none"), 500));
}

TEST_CASE("a client's write to an origin-filled value drops its freshness") {
  std::atomic<int64_t> clock{0};
  Shard s(&clock);
  const uint64_t h = HashKey("k");
  Entry* e = s.SetFilled("k", h, "v", 1000, Freshness{60, 60, 100, 0});
  e = s.ReplaceValue(e, h, "w");  // same length: in place
  CHECK_FALSE(EntryHasFreshness(e));
  e = s.SetFilled("k", h, "v", 1000, Freshness{60, 60, 100, 0});
  e = s.SetExpire(e, h, 2000);
  CHECK_FALSE(EntryHasFreshness(e));
  bool expired = false;
  CHECK(s.FindReadThrough("k", h, 2000, &expired) == nullptr);
}
