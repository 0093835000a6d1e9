// zset_range_test.cc — ZsetObject's score and lex range walks (offset, limit, reverse,
// exclusive and infinite bounds) and counts, in the listpack and the skiplist encodings alike.
#include <doctest/doctest.h>

#include <cmath>
#include <string>
#include <vector>

#include "storage/types/zset_object.h"

namespace flightcache::storage {
namespace {

// A zset of members "m<i>" with score i / 2 (two members per score), in the encoding asked.
ZsetObject Numbered(int n, bool skiplist) {
  TypeLimits limits;
  if (skiplist) limits.zset_max_listpack_entries = 0;
  ZsetObject z;
  for (int i = 0; i < n; ++i) z.Set("m" + std::to_string(i), i / 2, limits);
  CHECK(std::string(z.EncodingName()) == (skiplist ? "skiplist" : "listpack"));
  return z;
}

std::vector<std::string> Scores(const ZsetObject& z, const ScoreRange& r, bool reverse,
                                size_t offset, int64_t limit) {
  std::vector<std::string> out;
  z.ForScoreRange(r, reverse, offset, limit,
                  [&](std::string_view m, double) { out.emplace_back(m); });
  return out;
}

}  // namespace

TEST_CASE("score ranges walk the same members in both sorted-set encodings") {
  for (bool skiplist : {false, true}) {
    CAPTURE(skiplist);
    ZsetObject z = Numbered(10, skiplist);  // scores 0 0 1 1 2 2 3 3 4 4
    ScoreRange r{1, 3, false, false};
    CHECK(Scores(z, r, false, 0, -1) ==
          std::vector<std::string>{"m2", "m3", "m4", "m5", "m6", "m7"});
    CHECK(z.CountScoreRange(r) == 6);
    r.min_exclusive = true;
    CHECK(Scores(z, r, false, 0, -1) == std::vector<std::string>{"m4", "m5", "m6", "m7"});
    r.max_exclusive = true;
    CHECK(Scores(z, r, true, 0, -1) == std::vector<std::string>{"m5", "m4"});
    CHECK(z.CountScoreRange(r) == 2);
    ScoreRange all{-INFINITY, INFINITY, false, false};
    CHECK(Scores(z, all, false, 8, -1) == std::vector<std::string>{"m8", "m9"});
    CHECK(Scores(z, all, true, 1, 2) == std::vector<std::string>{"m8", "m7"});
    CHECK(Scores(z, all, false, 0, 0).empty());
    CHECK(Scores(z, all, false, 20, -1).empty());
    CHECK(Scores(z, ScoreRange{3, 1, false, false}, false, 0, -1).empty());  // min > max
    CHECK(Scores(z, ScoreRange{2, 2, true, false}, false, 0, -1).empty());
    CHECK(z.CountScoreRange(ScoreRange{2, 2, false, false}) == 2);
  }
}

TEST_CASE("lex ranges take inclusive, exclusive and infinite ends in both encodings") {
  for (bool skiplist : {false, true}) {
    CAPTURE(skiplist);
    TypeLimits limits;
    if (skiplist) limits.zset_max_listpack_entries = 0;
    ZsetObject z;
    for (const char* m : {"a", "b", "c", "d", "e"}) z.Set(m, 0, limits);
    LexRange r;
    r.min = "b";
    r.max = "d";
    r.max_exclusive = true;
    std::vector<std::string> out;
    auto collect = [&](std::string_view m, double) { out.emplace_back(m); };
    z.ForLexRange(r, false, 0, -1, collect);
    CHECK(out == std::vector<std::string>{"b", "c"});
    CHECK(z.CountLexRange(r) == 2);
    LexRange open;
    open.min_is_neg_inf = open.max_is_pos_inf = true;
    out.clear();
    z.ForLexRange(open, true, 1, 2, collect);
    CHECK(out == std::vector<std::string>{"d", "c"});
    LexRange none;
    none.min_is_pos_inf = true;
    none.max_is_pos_inf = true;
    CHECK(z.CountLexRange(none) == 0);
    LexRange reversed;
    reversed.min = "d";
    reversed.max = "b";
    CHECK(z.CountLexRange(reversed) == 0);
  }
}

TEST_CASE("range bounds parse as Redis's zslParseRange and zslParseLexRange") {
  double v;
  bool exclusive;
  CHECK(ParseScoreBound("(1.5", &v, &exclusive));
  CHECK((v == 1.5 && exclusive));
  CHECK(ParseScoreBound("-inf", &v, &exclusive));
  CHECK((std::isinf(v) && v < 0 && !exclusive));
  CHECK_FALSE(ParseScoreBound("(x", &v, &exclusive));
  CHECK_FALSE(ParseScoreBound("nan", &v, &exclusive));
  std::string s;
  int inf;
  CHECK(ParseLexBound("[a", &s, &exclusive, &inf));
  CHECK((s == "a" && !exclusive && inf == 0));
  CHECK(ParseLexBound("(a", &s, &exclusive, &inf));
  CHECK(exclusive);
  CHECK(ParseLexBound("+", &s, &exclusive, &inf));
  CHECK(inf == 1);
  CHECK_FALSE(ParseLexBound("a", &s, &exclusive, &inf));
  CHECK_FALSE(ParseLexBound("", &s, &exclusive, &inf));
  CHECK_FALSE(ParseLexBound("+a", &s, &exclusive, &inf));
}

}  // namespace flightcache::storage
