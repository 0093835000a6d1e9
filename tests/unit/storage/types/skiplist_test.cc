// skiplist_test.cc — the skiplist with spans against std::set as the model: order, ranks, the
// node at a rank, lower bounds with their ranks, backward links, and the byte count.
#include "storage/types/skiplist.h"

#include <doctest/doctest.h>

#include <cstdint>
#include <iterator>
#include <set>
#include <string>
#include <utility>
#include <vector>

namespace flightcache::storage {

TEST_CASE("a skiplist keeps ranks and order as a sorted set does under random inserts and erases") {
  SkipList list;
  const size_t empty_bytes = list.bytes();
  std::set<std::pair<double, std::string>> model;
  uint64_t rng = 12345;
  auto next = [&] {
    rng = rng * 6364136223846793005ull + 1442695040888963407ull;
    return rng >> 33;
  };
  for (int step = 0; step < 20000; ++step) {
    const double score = static_cast<double>(next() % 50);
    std::string member = "m" + std::to_string(next() % 400);
    if (next() % 20 == 0) member += std::string(40, 'x');  // some members on the heap
    const auto item = std::make_pair(score, member);
    if (next() % 3 == 0) {
      CHECK(list.Erase(score, member) == (model.erase(item) == 1));
    } else if (model.insert(item).second) {
      list.Insert(score, member);
    }
    if (step % 997 != 0) continue;
    REQUIRE(list.size() == model.size());
    size_t rank = 0;
    const SkipList::Node* prev = nullptr;
    for (const auto& [s, m] : model) {
      const SkipList::Node* n = list.AtRank(rank);
      REQUIRE(n);
      CHECK(n->score == s);
      CHECK(n->member() == m);
      CHECK(list.Rank(s, m) == rank);
      CHECK(SkipList::Prev(n) == prev);
      prev = n;
      ++rank;
    }
    CHECK(list.Last() == prev);
    const double bound = static_cast<double>(next() % 50);
    size_t found_rank;
    const SkipList::Node* lb =
        list.LowerBound([&](const SkipList::Node& n) { return n.score < bound; }, &found_rank);
    auto it = model.lower_bound({bound, ""});
    CHECK(found_rank == static_cast<size_t>(std::distance(model.begin(), it)));
    CHECK((lb == nullptr) == (it == model.end()));
    if (lb) CHECK(lb->score == it->first);
  }
  for (const auto& [s, m] : model) CHECK(list.Erase(s, m));
  CHECK(list.size() == 0);
  CHECK(list.First() == nullptr);
  CHECK(list.bytes() == empty_bytes);  // every node's bytes counted in and out
}

}  // namespace flightcache::storage
