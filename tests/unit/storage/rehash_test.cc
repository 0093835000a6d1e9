// rehash_test.cc — a shard's incremental rehash: each operation does a bounded share of the
// work, and while two tables are in use lookups, writes, deletes, SCAN, random sampling and
// active expiry all see every key exactly where it is.
#include <doctest/doctest.h>

#include <atomic>
#include <set>
#include <string>
#include <vector>

#include "storage/keyspace.h"

using namespace flightcache::storage;

namespace {

std::string Key(int i) { return "key:" + std::to_string(i); }

Entry* Put(Shard& s, const std::string& key, int64_t expire_at = 0) {
  return s.Set(key, HashKey(key), "value", expire_at);
}

Entry* Get(Shard& s, const std::string& key) { return s.Find(key, HashKey(key), 0, false); }

// Inserts keys key:from.. until a rehash is under way with at least min_buckets buckets in
// all; every ttl_every-th key (when non-zero) expires at 100. Returns the next unused index.
int GrowTo(Shard& s, int from, size_t min_buckets, int ttl_every = 0) {
  int i = from;
  while (s.bucket_count() < min_buckets || !s.rehashing()) {
    Put(s, Key(i), ttl_every != 0 && i % ttl_every == 0 ? 100 : 0);
    ++i;
  }
  return i;
}

// Every key a full SCAN of s returns (nothing counts as expired).
std::multiset<std::string> ScanAll(Shard& s) {
  std::multiset<std::string> seen;
  uint64_t cursor = 0;
  do {
    cursor = s.Scan(cursor, 0, [&](const Entry* e) { seen.emplace(EntryKey(e)); });
  } while (cursor != 0);
  return seen;
}

}  // namespace

TEST_CASE("a write that grows the table moves a bounded number of buckets, not the table") {
  std::atomic<int64_t> clock{0};
  Shard s(&clock);
  int next = 0;
  // Grow through several doublings, up to a table far larger than one step's budget.
  while (s.bucket_count() < 1 << 15) {
    const uint64_t before = s.rehashed_buckets();
    const bool was_rehashing = s.rehashing();
    Put(s, Key(next++));
    const uint64_t moved = s.rehashed_buckets() - before;
    REQUIRE(moved <= 10);  // one bucket, or ten empty ones
    if (!was_rehashing && s.rehashing()) {
      // The insert that started the growth left nearly all the work for later.
      CHECK(s.bucket_count() == s.size() - 1 + (s.size() - 1) * 2);
    }
  }
  CHECK(s.size() == static_cast<size_t>(next));
  for (int i = 0; i < next; ++i) REQUIRE(Get(s, Key(i)) != nullptr);
}

TEST_CASE("during a rehash every key is found, replaced and deleted") {
  std::atomic<int64_t> clock{0};
  Shard s(&clock);
  int n = GrowTo(s, 0, 4096);
  REQUIRE(s.rehashing());
  int found_while_rehashing = 0;
  for (int i = 0; i < n; ++i) {
    const bool rehashing = s.rehashing();
    Entry* e = Get(s, Key(i));
    REQUIRE(e != nullptr);
    REQUIRE(EntryKey(e) == Key(i));
    found_while_rehashing += rehashing;
  }
  CHECK(found_while_rehashing > 1000);

  n = GrowTo(s, n, 0);
  int deleted_while_rehashing = 0;
  for (int i = 0; i < n; i += 2) {
    deleted_while_rehashing += s.rehashing();
    std::string k = Key(i);
    REQUIRE(s.Delete(k, HashKey(k)));
    if (i + 1 < n) {  // a longer value: the entry is rewritten to a new block in place
      k = Key(i + 1);
      Entry* e = Get(s, k);
      REQUIRE(e);
      s.ReplaceValue(e, HashKey(k), "a longer value than before");
    }
  }
  CHECK(deleted_while_rehashing > 1000);
  CHECK(s.size() == static_cast<size_t>(n / 2));
  for (int i = 0; i < n; ++i) {
    Entry* e = Get(s, Key(i));
    if (i % 2 == 0) {
      REQUIRE(e == nullptr);
    } else {
      REQUIRE(e != nullptr);
      REQUIRE(EntryValue(e) == "a longer value than before");
    }
  }
}

TEST_CASE("the memory figure counts both tables while rehashing") {
  std::atomic<int64_t> clock{0};
  Shard s(&clock);
  GrowTo(s, 0, 1024);
  REQUIRE(s.rehashing());
  const size_t both = s.bucket_count();
  const size_t bytes = s.memory_bytes();
  while (s.RehashStep(100)) {
  }
  CHECK(s.bucket_count() == both / 3 * 2);  // old N + new 2N, then 2N alone
  CHECK(s.memory_bytes() == bytes - both / 3 * sizeof(Entry*));
}

TEST_CASE("a SCAN returns every key present throughout while the table grows under it") {
  std::atomic<int64_t> clock{0};
  Shard s(&clock);
  const int kept = 3000;
  for (int i = 0; i < kept; ++i) Put(s, Key(i));
  std::set<std::string> seen;
  uint64_t cursor = 0;
  int added = 0, calls = 0, calls_while_rehashing = 0;
  do {
    calls_while_rehashing += s.rehashing();
    cursor = s.Scan(cursor, 0, [&](const Entry* e) { seen.emplace(EntryKey(e)); });
    for (int j = 0; j < 5; ++j) Put(s, "grow:" + std::to_string(added++));
  } while (cursor != 0 && ++calls < 1000000);
  CHECK(cursor == 0);
  CHECK(calls_while_rehashing > 100);
  for (int i = 0; i < kept; ++i) REQUIRE(seen.count(Key(i)) == 1);
}

TEST_CASE("a SCAN returns every key present throughout while the table shrinks under it") {
  std::atomic<int64_t> clock{0};
  Shard s(&clock);
  for (int i = 0; i < 20000; ++i) Put(s, Key(i));
  while (s.RehashStep(100)) {
  }
  // Keep every 40th key: the table is then sparse enough to shrink.
  for (int i = 0; i < 20000; ++i) {
    if (i % 40 != 0) s.Delete(Key(i), HashKey(Key(i)));
  }
  while (s.RehashStep(100)) {
  }
  std::set<std::string> seen;
  uint64_t cursor = 0;
  int calls = 0, calls_while_rehashing = 0;
  do {
    cursor = s.Scan(cursor, 0, [&](const Entry* e) { seen.emplace(EntryKey(e)); });
    if (calls == 10) {
      REQUIRE(s.WantsShrink());
      s.MaybeShrink();
      REQUIRE(s.rehashing());
    }
    calls_while_rehashing += s.rehashing();
    s.RehashStep(8);  // the shrink ends partway through the scan
  } while (cursor != 0 && ++calls < 1000000);
  CHECK(cursor == 0);
  CHECK(calls_while_rehashing > 100);
  for (int i = 0; i < 20000; i += 40) REQUIRE(seen.count(Key(i)) == 1);
}

TEST_CASE("a SCAN made entirely during a rehash returns every key once") {
  std::atomic<int64_t> clock{0};
  Shard s(&clock);
  GrowTo(s, 0, 4096);
  REQUIRE(s.rehashing());
  s.RehashStep(300);  // part of the old table moved, part not
  REQUIRE(s.rehashing());
  std::multiset<std::string> seen = ScanAll(s);  // SCAN itself moves nothing
  REQUIRE(s.rehashing());
  CHECK(seen.size() == s.size());
  for (const std::string& k : seen) REQUIRE(seen.count(k) == 1);
}

TEST_CASE("random sampling during a rehash draws live keys from both tables") {
  std::atomic<int64_t> clock{0};
  Shard s(&clock);
  GrowTo(s, 0, 4096);
  s.RehashStep(400);
  REQUIRE(s.rehashing());
  std::set<std::string> drawn;
  uint64_t r = 12345;
  for (int i = 0; i < 4000; ++i) {
    r = r * 6364136223846793005ULL + 1442695040888963407ULL;
    Entry* e = s.RandomEntry(0, r);
    REQUIRE(e != nullptr);
    REQUIRE(Get(s, std::string(EntryKey(e))) == e);
    drawn.emplace(EntryKey(e));
  }
  // Lookups above moved buckets, but sampling saw keys of both tables: a fair spread.
  CHECK(drawn.size() > s.size() / 4);
}

TEST_CASE("active expiry during a rehash removes every expired key and nothing else") {
  std::atomic<int64_t> clock{0};
  Shard s(&clock);
  const int n = GrowTo(s, 0, 4096, 3);
  s.RehashStep(200);
  REQUIRE(s.rehashing());
  size_t expired = 0;
  for (int pass = 0; pass < 100000 && s.volatile_count() > 0; ++pass) {
    s.ActiveExpireStep(200, 16, &expired);
  }
  CHECK(s.rehashing());  // the expiry cycle moves no bucket
  CHECK(expired == static_cast<size_t>((n + 2) / 3));
  CHECK(s.size() == static_cast<size_t>(n - (n + 2) / 3));
  for (int i = 0; i < n; ++i) REQUIRE((Get(s, Key(i)) != nullptr) == (i % 3 != 0));
}

TEST_CASE("the keyspace's rehash pass finishes every shard's rehash") {
  Keyspace ks;
  for (int i = 0; i < 50000; ++i) {
    const std::string k = Key(i);
    KeyLocation at = ks.db(0).Locate(k);
    at.shard->Set(k, at.hash, "v", 0);
  }
  int passes = 0;
  while (ks.RehashPass(100) && ++passes < 100000) {
  }
  for (size_t i = 0; i < Keyspace::kShardCount; ++i) REQUIRE_FALSE(ks.db(0).shard(i).rehashing());
  for (int i = 0; i < 50000; ++i) REQUIRE(ks.db(0).Find(Key(i), 0, false) != nullptr);
}
