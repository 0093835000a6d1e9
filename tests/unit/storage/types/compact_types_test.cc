// compact_types_test.cc — the memory work of issue 10 on the type encodings: the incremental
// resize of ChainedTable through its two users, Dict (big hashes and sets) against
// std::unordered_map under random operations, scans that run while the table grows and
// shrinks, random picks mid-resize, and the exact memory figure; the sorted set's member index
// against std::map; the one-block Listpack's copies, moves and byte figure; and the intset's
// 2/4/8-byte widths against std::set.
#include <doctest/doctest.h>
#include <malloc.h>

#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

#include "storage/entry.h"
#include "storage/types/dict.h"
#include "storage/types/intset.h"
#include "storage/types/listpack.h"
#include "storage/types/zset_object.h"

using namespace flightcache::storage;

namespace {

struct Rng {
  uint64_t state;
  uint64_t Next() {
    state = state * 6364136223846793005ull + 1442695040888963407ull;
    return state >> 33;
  }
};

// Every field of d, read through ForEach, as a map (fails on a field seen twice).
std::unordered_map<std::string, std::string> Contents(const Dict& d) {
  std::unordered_map<std::string, std::string> out;
  d.ForEach([&](std::string_view f, std::string_view v) {
    CHECK(out.emplace(std::string(f), std::string(v)).second);
  });
  return out;
}

}  // namespace

TEST_CASE("a dict under random sets and erases matches an unordered_map, mid-resize included") {
  Dict d;
  std::unordered_map<std::string, std::string> model;
  Rng rng{7};
  bool saw_rehashing = false;
  // Phases: grow to ~20000 fields, then shrink to a few, then grow again, so that both
  // directions of resize run under the random operations.
  for (int phase = 0; phase < 3; ++phase) {
    const int grow = phase == 1 ? 10 : 90;  // percent of operations that set
    for (int step = 0; step < 40000; ++step) {
      const std::string field = "f" + std::to_string(rng.Next() % 30000);
      if (static_cast<int>(rng.Next() % 100) < grow) {
        const std::string value = "v" + std::to_string(rng.Next());
        CHECK(d.Set(field, value) == model.insert_or_assign(field, value).second);
      } else {
        CHECK(d.Erase(field) == (model.erase(field) == 1));
      }
      saw_rehashing = saw_rehashing || d.rehashing();
      if (step % 4999 == 0) {
        REQUIRE(d.size() == model.size());
        CHECK(Contents(d) == model);
        for (const auto& [f, v] : model) {
          const Dict::Node* n = d.Find(f);
          REQUIRE(n);
          CHECK(Dict::ValueOf(n) == v);
        }
        CHECK_FALSE(d.Find("absent"));
      }
    }
  }
  CHECK(saw_rehashing);  // the operations above did run while a resize was under way
  CHECK(Contents(d) == model);
}

TEST_CASE("a dict's memory figure is its nodes and bucket arrays as the allocator sizes them") {
  Dict d;
  auto nodes_bytes = [&] {
    size_t bytes = 0;
    d.ForEach(
        [&](std::string_view f, std::string_view) { bytes += AllocatedBlockSize(d.Find(f)); });
    return bytes;
  };
  bool checked_mid_resize = false;
  for (int i = 0; i < 20000; ++i) {
    d.Set("field:" + std::to_string(i), std::string(static_cast<size_t>(i % 50), 'x'));
    if (d.rehashing() && !checked_mid_resize) {
      // Both arrays are held while the resize runs: more than the nodes alone.
      CHECK(d.MemoryBytes() > nodes_bytes());
      checked_mid_resize = true;
    }
  }
  CHECK(checked_mid_resize);
  while (d.rehashing()) d.Set("field:0", "again");  // each write moves a few buckets
  // 20000 fields: one array of 32768 slots once the resize is over (plus the allocator's
  // header, at most a page for a block this big).
  const size_t array_bytes = d.MemoryBytes() - nodes_bytes();
  CHECK(array_bytes >= 32768 * sizeof(void*));
  CHECK(array_bytes <= 32768 * sizeof(void*) + 4096);
  for (int i = 0; i < 20000; ++i) d.Erase("field:" + std::to_string(i));
  CHECK(d.size() == 0);
  CHECK(d.MemoryBytes() < 1024);  // the array shrank back as the fields went
}

TEST_CASE("a dict scan sees every field that stays while the table grows and shrinks under it") {
  for (const bool shrink : {false, true}) {
    CAPTURE(shrink);
    Dict d;
    const int stay = 3000;
    for (int i = 0; i < stay; ++i) d.Set("stay" + std::to_string(i), "");
    if (shrink) {
      for (int i = 0; i < 60000; ++i) d.Set("go" + std::to_string(i), "");
    }
    std::set<std::string> seen;
    uint64_t cursor = 0;
    int calls = 0, mid_resize_calls = 0, churn = 0;
    do {
      cursor = d.Scan(cursor, [&](std::string_view f, std::string_view) { seen.emplace(f); });
      ++calls;
      if (d.rehashing()) ++mid_resize_calls;
      // Between calls, add (or remove) other fields, so that the table resizes mid-scan.
      for (int k = 0; k < 40 && churn < 60000; ++k, ++churn) {
        if (shrink) {
          d.Erase("go" + std::to_string(churn));
        } else {
          d.Set("go" + std::to_string(churn), "");
        }
      }
    } while (cursor != 0 && calls < 1000000);
    CHECK(cursor == 0);
    CHECK(mid_resize_calls > 0);  // some calls did run while both arrays existed
    for (int i = 0; i < stay; ++i) CHECK(seen.count("stay" + std::to_string(i)) == 1);
  }
}

TEST_CASE("a dict's random pick works during a resize and reaches every field") {
  Dict d;
  for (int i = 0; i < 1024; ++i) d.Set("f" + std::to_string(i), "");
  d.Set("f1024", "");  // 1025 fields in 1024 buckets: a resize to 2048 starts
  REQUIRE(d.rehashing());
  std::set<std::string> picked;
  for (uint64_t r = 0; r < 200000 && d.rehashing(); r += 1) {
    const Dict::Node* n = d.Random(r * 0x2545F4914F6CDD1DULL);
    REQUIRE(n);
    REQUIRE(d.Find(Dict::FieldOf(n)) == n);
    picked.emplace(Dict::FieldOf(n));
  }
  CHECK(d.rehashing());  // Random() is const: it never moves buckets
  CHECK(picked.size() == 1025);
}

TEST_CASE("a sorted set's member index follows the skiplist through random writes and resizes") {
  TypeLimits limits;
  ZsetObject z;
  std::map<std::string, double> model;
  Rng rng{11};
  for (int step = 0; step < 60000; ++step) {
    const std::string member = "member:" + std::to_string(rng.Next() % 20000);
    if (rng.Next() % 4 != 0) {
      const double score = static_cast<double>(rng.Next() % 1000);
      CHECK(z.Set(member, score, limits) == (model.count(member) == 0));
      model[member] = score;
    } else {
      CHECK(z.Remove(member) == (model.erase(member) == 1));
    }
    if (step % 9999 != 0) continue;
    REQUIRE(z.Length() == model.size());
    for (const auto& [m, s] : model) {
      const auto score = z.Score(m);
      REQUIRE(score.has_value());
      CHECK(*score == s);
    }
    std::set<std::string> scanned;
    uint64_t cursor = 0;
    do {
      cursor = z.Scan(cursor, 10, [&](std::string_view m, double s) {
        CHECK(model.at(std::string(m)) == s);
        scanned.emplace(m);
      });
    } while (cursor != 0);
    CHECK(scanned.size() == model.size());
    std::string m;
    double s;
    REQUIRE(z.RandomMember(rng.Next(), &m, &s));
    CHECK(model.at(m) == s);
  }
  CHECK(std::string(z.EncodingName()) == "skiplist");
  const auto copy = z.Clone();
  CHECK(copy->MemoryBytes() > 0);
  for (const auto& [m, s] : model) CHECK(z.Remove(m));
  CHECK(z.Length() == 0);
}

TEST_CASE("a listpack is one block: copies are deep, moves steal it, and its bytes are exact") {
  Listpack lp;
  CHECK(lp.MemoryBytes() == 0);
  for (int i = 0; i < 100; ++i) lp.PushBack("entry" + std::to_string(i));
  CHECK(lp.size() == 100);
  Listpack copy(lp);
  copy.Replace(copy.Begin(), "changed");
  CHECK(lp.Get(lp.Begin()) == "entry0");
  CHECK(copy.Get(copy.Begin()) == "changed");
  Listpack moved(std::move(copy));
  CHECK(copy.empty());  // NOLINT(bugprone-use-after-move): a moved-from listpack is empty
  CHECK(copy.MemoryBytes() == 0);
  CHECK(moved.size() == 100);
  copy = lp;
  CHECK(copy.size() == 100);
  // The block's allocated size is the figure, and a full block gives back its slack.
  lp.ShrinkToFit();
  CHECK(lp.MemoryBytes() < lp.bytes() + 12 + 32);
  lp.Erase(lp.Begin(), 99);
  CHECK(lp.size() == 1);
  CHECK(lp.Get(lp.Begin()) == "entry99");
  CHECK(lp.MemoryBytes() < 64);  // erasing most of it shrank the block
  lp.Erase(lp.Begin());
  CHECK(lp.empty());
  CHECK(lp.MemoryBytes() == 0);
}

TEST_CASE("an intset keeps 2-byte values until a wider one comes, then widens in order") {
  Intset s;
  std::set<int64_t> model;
  for (int64_t v : {5, -3, 300, -32768, 32767}) {
    CHECK(s.Add(v));
    model.insert(v);
  }
  CHECK(s.width() == 2);
  const size_t narrow = s.MemoryBytes();
  CHECK(s.Add(-40000));  // wider and negative: goes first
  model.insert(-40000);
  CHECK(s.width() == 4);
  CHECK(s.values() == std::vector<int64_t>(model.begin(), model.end()));
  CHECK(s.Add(INT64_MAX));  // wider and positive: goes last
  model.insert(INT64_MAX);
  CHECK(s.width() == 8);
  CHECK(s.MemoryBytes() > narrow);
  CHECK(s.values() == std::vector<int64_t>(model.begin(), model.end()));
  CHECK_FALSE(s.Contains(INT64_MIN));
  CHECK_FALSE(s.Add(300));
  Rng rng{3};
  for (int step = 0; step < 20000; ++step) {
    const int64_t v = static_cast<int64_t>(rng.Next() % 2000) - 1000;
    if (rng.Next() % 2) {
      CHECK(s.Add(v) == model.insert(v).second);
    } else {
      CHECK(s.Remove(v) == (model.erase(v) == 1));
    }
    CHECK(s.Contains(v) == (model.count(v) == 1));
  }
  CHECK(s.values() == std::vector<int64_t>(model.begin(), model.end()));
  Intset copy(s);
  CHECK(copy.values() == s.values());
  for (int64_t v : model) CHECK(s.Remove(v));
  CHECK(s.size() == 0);
  CHECK(s.MemoryBytes() == 0);
  CHECK(copy.size() == model.size());
}

TEST_CASE("an intset of 100 values below 32768 takes 2 bytes each") {
  Intset s;
  for (int64_t v = 0; v < 100; ++v) s.Add(v * 300);
  CHECK(s.width() == 2);
  CHECK(s.MemoryBytes() <= AllocationSizeFor(8 + 100 * 2));
}
