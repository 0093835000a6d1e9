// encodings_test.cc — each value encoding on its own (listpack, dict, intset, quicklist) and
// the small-to-large conversions of hashes and sets, as storage/types/ implements them.
#include <doctest/doctest.h>

#include <algorithm>
#include <deque>
#include <set>
#include <string>
#include <vector>

#include "storage/types/dict.h"
#include "storage/types/hash_object.h"
#include "storage/types/intset.h"
#include "storage/types/listpack.h"
#include "storage/types/quicklist.h"
#include "storage/types/set_object.h"
#include "storage/types/zset_object.h"

using namespace flightcache::storage;

namespace {

std::vector<std::string> Entries(const Listpack& lp) {
  std::vector<std::string> out;
  for (size_t pos = lp.Begin(); pos != lp.End(); pos = lp.Next(pos)) out.emplace_back(lp.Get(pos));
  return out;
}

std::vector<std::string> Elements(const ListObject& list) {
  std::vector<std::string> out;
  if (list.Length() == 0) return out;
  list.ForRange(0, list.Length() - 1, [&](std::string_view v) {
    out.emplace_back(v);
    return true;
  });
  return out;
}

}  // namespace

TEST_CASE("a listpack keeps entries of any length in order through inserts, erases and replaces") {
  Listpack lp;
  lp.PushBack("b");
  lp.PushFront("a");
  lp.PushBack(std::string(300, 'x'));  // a two-byte length header
  lp.PushBack("");
  CHECK(lp.size() == 4);
  CHECK(Entries(lp) == std::vector<std::string>{"a", "b", std::string(300, 'x'), ""});
  lp.Replace(lp.PositionOf(2), "short");
  lp.Insert(lp.PositionOf(1), "between");
  CHECK(Entries(lp) == std::vector<std::string>{"a", "between", "b", "short", ""});
  CHECK(lp.Get(lp.Last()).empty());
  CHECK(lp.Find("b") == lp.PositionOf(2));
  CHECK(lp.Find("nope") == lp.End());
  lp.Erase(lp.PositionOf(1), 2);
  CHECK(Entries(lp) == std::vector<std::string>{"a", "short", ""});
  lp.Clear();
  CHECK(lp.empty());
  CHECK(lp.MemoryBytes() == 0);
}

TEST_CASE("a dict finds, replaces and erases fields and counts its memory exactly") {
  Dict d;
  CHECK(d.MemoryBytes() == 0);
  for (int i = 0; i < 5000; ++i) CHECK(d.Set("f" + std::to_string(i), "v" + std::to_string(i)));
  CHECK(d.size() == 5000);
  CHECK_FALSE(d.Set("f7", "seven"));
  CHECK(Dict::ValueOf(d.Find("f7")) == "seven");
  CHECK_FALSE(d.Add("f7"));
  const size_t full = d.MemoryBytes();
  for (int i = 0; i < 4990; ++i) CHECK(d.Erase("f" + std::to_string(i)));
  CHECK_FALSE(d.Erase("f0"));
  CHECK(d.size() == 10);
  CHECK(d.MemoryBytes() < full / 50);  // nodes freed and the bucket array shrunk
}

TEST_CASE("a dict scan sees every field that stays, even across resizes") {
  Dict d;
  for (int i = 0; i < 1000; ++i) d.Set("f" + std::to_string(i), "");
  std::set<std::string> seen;
  uint64_t cursor = 0;
  int steps = 0;
  do {
    cursor = d.Scan(cursor, [&](std::string_view f, std::string_view) { seen.emplace(f); });
    if (++steps == 100) {  // grow in the middle of the scan
      for (int i = 1000; i < 5000; ++i) d.Set("f" + std::to_string(i), "");
    }
  } while (cursor != 0);
  for (int i = 0; i < 1000; ++i) CHECK(seen.count("f" + std::to_string(i)) == 1);
}

TEST_CASE("an intset stays sorted and distinct, and only canonical integers are members") {
  Intset s;
  CHECK(s.Add(5));
  CHECK(s.Add(-3));
  CHECK(s.Add(INT64_MAX));
  CHECK_FALSE(s.Add(5));
  CHECK(s.values() == std::vector<int64_t>{-3, 5, INT64_MAX});
  CHECK(s.Remove(-3));
  CHECK_FALSE(s.Contains(-3));
  int64_t v;
  CHECK(ParseSetInteger("-9223372036854775808", &v));
  CHECK(v == INT64_MIN);
  CHECK_FALSE(ParseSetInteger("9223372036854775808", &v));
  CHECK_FALSE(ParseSetInteger("007", &v));
  CHECK_FALSE(ParseSetInteger("+1", &v));
  CHECK_FALSE(ParseSetInteger(" 1", &v));
}

TEST_CASE("a hash is a listpack until it passes either bound, then a hashtable for good") {
  TypeLimits limits;
  limits.hash_max_listpack_entries = 4;
  limits.hash_max_listpack_value = 8;
  HashObject by_count;
  for (int i = 0; i < 4; ++i) by_count.Set("f" + std::to_string(i), "v", limits);
  CHECK(std::string(by_count.EncodingName()) == "listpack");
  CHECK_FALSE(by_count.Set("f0", "again", limits));
  CHECK(*by_count.Get("f0") == "again");
  CHECK(by_count.Set("f4", "v", limits));
  CHECK(std::string(by_count.EncodingName()) == "hashtable");
  CHECK(by_count.Length() == 5);
  CHECK(*by_count.Get("f0") == "again");  // every field survived the conversion
  for (int i = 0; i < 5; ++i) by_count.Delete("f" + std::to_string(i));
  CHECK(std::string(by_count.EncodingName()) == "hashtable");  // never converts back

  HashObject by_value;
  by_value.Set("a", "short", limits);
  by_value.Set("b", "longer than 8", limits);
  CHECK(std::string(by_value.EncodingName()) == "hashtable");
  CHECK(*by_value.Get("a") == "short");
  HashObject by_field;
  by_field.Set("a field longer than 8", "v", limits);
  CHECK(std::string(by_field.EncodingName()) == "hashtable");
}

TEST_CASE("a hash copy is deep and a hash's memory grows with its fields") {
  TypeLimits limits;
  HashObject h;
  const size_t empty = h.MemoryBytes();
  for (int i = 0; i < 1000; ++i) h.Set("field:" + std::to_string(i), std::string(20, 'v'), limits);
  CHECK(h.MemoryBytes() > empty + 1000 * 26);
  auto copy = h.Clone();
  h.Delete("field:1");
  auto* c = static_cast<HashObject*>(copy.get());
  CHECK(c->Length() == 1000);
  CHECK(c->Contains("field:1"));
}

TEST_CASE("a set starts as an intset, becomes a listpack on a string and a hashtable past 128") {
  TypeLimits limits;
  auto set = NewSetFor("1", limits);
  CHECK(std::string(set->EncodingName()) == "intset");
  for (int i = 0; i < 10; ++i) set->Add(std::to_string(i), limits);
  CHECK(std::string(set->EncodingName()) == "intset");
  CHECK(set->Add("abc", limits));
  CHECK(std::string(set->EncodingName()) == "listpack");
  CHECK(set->Contains("5"));
  CHECK(set->Contains("abc"));
  for (int i = 0; set->Length() < 128; ++i) set->Add("m" + std::to_string(i), limits);
  CHECK(std::string(set->EncodingName()) == "listpack");
  set->Add("one more", limits);
  CHECK(std::string(set->EncodingName()) == "hashtable");
  CHECK(set->Length() == 129);
  CHECK(set->Contains("5"));
}

TEST_CASE("an integer set past set-max-intset-entries goes straight to a hashtable") {
  TypeLimits limits;
  limits.set_max_intset_entries = 200;
  auto set = NewSetFor("0", limits);
  for (int i = 0; i < 201; ++i) set->Add(std::to_string(i), limits);
  CHECK(std::string(set->EncodingName()) == "hashtable");  // 201 > 128 listpack entries
  limits.set_max_intset_entries = 4;
  auto small = NewSetFor("0", limits);
  for (int i = 0; i < 5; ++i) small->Add(std::to_string(i), limits);
  CHECK(std::string(small->EncodingName()) == "listpack");
  CHECK(small->Remove("3"));
  CHECK_FALSE(small->Contains("3"));
  auto big_member = NewSetFor(std::string(65, 'x'), limits);
  CHECK(std::string(big_member->EncodingName()) == "hashtable");
}

TEST_CASE("a list grows nodes by bytes and keeps its order through every operation") {
  TypeLimits limits;  // -2: 8 KB nodes
  ListObject list;
  for (int i = 0; i < 3000; ++i) list.PushBack("element:" + std::to_string(i), limits);
  CHECK(list.nodes() > 1);
  CHECK(std::string(list.EncodingName()) == "quicklist");
  CHECK(list.At(0) == "element:0");
  CHECK(list.At(2999) == "element:2999");
  CHECK(list.At(1500) == "element:1500");
  list.PushFront("first", limits);
  CHECK(list.At(0) == "first");
  std::string v;
  CHECK(list.PopBack(&v));
  CHECK(v == "element:2999");
  CHECK(list.PopFront(&v));
  CHECK(v == "first");
  list.Set(10, std::string(9000, 'x'), limits);  // bigger than a node: split off
  CHECK(list.At(10) == std::string(9000, 'x'));
  CHECK(list.At(11) == "element:11");
  CHECK(list.Insert("element:20", "after20", true, limits));
  CHECK(list.At(21) == "after20");
  CHECK_FALSE(list.Insert("nothing", "x", false, limits));
  list.Trim(5, 24);
  CHECK(list.Length() == 20);
  CHECK(list.At(0) == "element:5");
  CHECK(list.At(19) == "element:23");
}

TEST_CASE("a list with a count bound holds that many entries per node") {
  TypeLimits limits;
  limits.list_max_listpack_size = 3;
  ListObject list;
  for (int i = 0; i < 10; ++i) list.PushBack(std::to_string(i), limits);
  CHECK(list.nodes() == 4);
  CHECK(Elements(list) ==
        std::vector<std::string>{"0", "1", "2", "3", "4", "5", "6", "7", "8", "9"});
  ListObject one;
  one.PushBack("a", limits);
  CHECK(std::string(one.EncodingName()) == "listpack");
}

TEST_CASE("LREM removes from the front, the back, or everywhere") {
  TypeLimits limits;
  limits.list_max_listpack_size = 2;
  auto fresh = [&] {
    ListObject list;
    for (const char* v : {"a", "b", "a", "c", "a", "d"}) list.PushBack(v, limits);
    return list;
  };
  ListObject front = fresh();
  CHECK(front.Remove("a", 2, false) == 2);
  CHECK(Elements(front) == std::vector<std::string>{"b", "c", "a", "d"});
  ListObject back = fresh();
  CHECK(back.Remove("a", 2, true) == 2);
  CHECK(Elements(back) == std::vector<std::string>{"a", "b", "c", "d"});
  ListObject all = fresh();
  CHECK(all.Remove("a", 0, false) == 3);
  CHECK(Elements(all) == std::vector<std::string>{"b", "c", "d"});
  CHECK(all.Remove("zzz", 0, false) == 0);
  std::vector<size_t> indexes;
  all.ForEachReverse([&](size_t i, std::string_view) {
    indexes.push_back(i);
    return true;
  });
  CHECK(indexes == std::vector<size_t>{2, 1, 0});
}

TEST_CASE("a list's memory figure follows its pushes and pops back to empty") {
  TypeLimits limits;
  ListObject list;
  const size_t empty = list.MemoryBytes();
  for (int i = 0; i < 10000; ++i) list.PushBack(std::string(50, 'v'), limits);
  CHECK(list.MemoryBytes() > empty + 10000 * 50);
  std::string v;
  while (list.PopFront(&v)) {
  }
  CHECK(list.MemoryBytes() == empty);
}

TEST_CASE("a sorted set keeps (score, member) order in both encodings and across conversion") {
  TypeLimits limits;
  limits.zset_max_listpack_entries = 4;
  ZsetObject z;
  z.Set("c", 3, limits);
  z.Set("a", 1, limits);
  z.Set("b", 1, limits);  // ties order by member
  CHECK(std::string(z.EncodingName()) == "listpack");
  std::vector<std::string> order;
  z.ForRange(0, 2, false, [&](std::string_view m, double) { order.emplace_back(m); });
  CHECK(order == std::vector<std::string>{"a", "b", "c"});
  CHECK_FALSE(z.Set("a", 5, limits));  // an update moves the member
  CHECK(*z.Rank("a", false) == 2);
  z.Set("d", 0, limits);
  z.Set("e", -1, limits);
  CHECK(std::string(z.EncodingName()) == "skiplist");
  order.clear();
  z.ForRange(0, 4, true, [&](std::string_view m, double) { order.emplace_back(m); });
  CHECK(order == std::vector<std::string>{"a", "c", "b", "d", "e"});
  CHECK(*z.Score("c") == 3);
  CHECK(*z.Rank("e", false) == 0);
  CHECK(*z.Rank("e", true) == 4);
  CHECK(z.Remove("c"));
  CHECK_FALSE(z.Score("c"));
  CHECK(z.Length() == 4);
  auto copy = z.Clone();
  CHECK(copy->Length() == 4);
  double v;
  CHECK(ParseScore("-inf", &v));
  CHECK(ParseScore("+inf", &v));
  CHECK_FALSE(ParseScore("nan", &v));
  CHECK_FALSE(ParseScore(" 1", &v));
  CHECK(FormatScore(1.1) == "1.1000000000000001");
  CHECK(FormatScore(3) == "3");
}

TEST_CASE("a list matches a deque through random pushes, pops and edits at both ends") {
  // RPOP keeps the tail node's entry positions between pops; every other change to that node
  // must forget them. A deque is the model; small nodes make the tail change often.
  for (int64_t fill : {int64_t{-1}, int64_t{3}}) {
    TypeLimits limits;
    limits.list_max_listpack_size = fill;
    ListObject list;
    std::deque<std::string> model;
    uint64_t seed = 42;
    auto next = [&](uint64_t n) {
      seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
      return (seed >> 33) % n;
    };
    for (int step = 0; step < 20000; ++step) {
      const std::string value = "v" + std::to_string(step) + std::string(next(40), 'x');
      std::string got;
      switch (next(9)) {
        case 0:
        case 1:
          list.PushBack(value, limits);
          model.push_back(value);
          break;
        case 2:
          list.PushFront(value, limits);
          model.push_front(value);
          break;
        case 3:
        case 4:
          REQUIRE(list.PopBack(&got) == !model.empty());
          if (!model.empty()) {
            REQUIRE(got == model.back());
            model.pop_back();
          }
          break;
        case 5:
          REQUIRE(list.PopFront(&got) == !model.empty());
          if (!model.empty()) {
            REQUIRE(got == model.front());
            model.pop_front();
          }
          break;
        case 6:
          if (!model.empty()) {
            const size_t i = model.size() - 1 - next(std::min<size_t>(model.size(), 3));
            list.Set(i, value, limits);
            model[i] = value;
          }
          break;
        case 7:
          if (!model.empty()) {
            const std::string pivot = model[model.size() - 1];
            const bool after = next(2) == 0;
            REQUIRE(list.Insert(pivot, value, after, limits));
            auto at = std::find(model.begin(), model.end(), pivot);  // values are unique
            model.insert(after ? at + 1 : at, value);
          }
          break;
        case 8:
          if (model.size() > 4 && next(4) == 0) {
            list.Trim(1, model.size() - 2);
            model.pop_front();
            model.pop_back();
          }
          break;
      }
      REQUIRE(list.Length() == model.size());
      if (!model.empty()) {
        REQUIRE(list.At(model.size() - 1) == model.back());
        REQUIRE(list.At(0) == model.front());
      }
      if (step % 1000 == 0) {
        REQUIRE(Elements(list) == std::vector<std::string>(model.begin(), model.end()));
      }
    }
    REQUIRE(Elements(list) == std::vector<std::string>(model.begin(), model.end()));
    std::string v;
    while (list.PopBack(&v)) {
      REQUIRE(v == model.back());
      model.pop_back();
    }
    CHECK(model.empty());
  }
}

TEST_CASE("a list's memory figure counts the kept tail positions and drops them with the node") {
  TypeLimits limits;  // -2: 8 KB nodes
  ListObject list;
  const size_t empty = list.MemoryBytes();
  for (int i = 0; i < 5000; ++i) list.PushBack("e" + std::to_string(i), limits);
  const size_t full = list.MemoryBytes();
  std::string v;
  REQUIRE(list.PopBack(&v));
  CHECK(v == "e4999");
  CHECK(list.MemoryBytes() > full - 16);  // less one entry, plus the positions of the tail
  list.PushBack("again", limits);         // kept in step
  REQUIRE(list.PopBack(&v));
  CHECK(v == "again");
  list.Set(list.Length() - 1, "changed", limits);  // forgets the positions
  REQUIRE(list.PopBack(&v));
  CHECK(v == "changed");
  while (list.PopBack(&v)) {
  }
  CHECK(list.MemoryBytes() == empty);
}
