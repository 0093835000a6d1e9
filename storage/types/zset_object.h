// zset_object.h — a sorted set: members ordered by (score, member), in one of two encodings.
// - listpack: member and score (8 raw bytes) alternate in one flat Listpack, kept sorted,
//   while there are at most zset-max-listpack-entries members, none longer than
//   zset-max-listpack-value bytes;
// - skiplist (OBJECT ENCODING's name, as Redis): past those bounds, an ordered tree of
//   (score, member) plus a Dict member -> score. Ranks walk the tree (O(rank)); Redis's
//   skiplist keeps spans for O(log n) ranks (a later step of issue 10).
// This step has what ZADD, ZINCRBY, ZREM, ZSCORE, ZCARD, ZRANK, ZRANGE by index and the pops
// need. Callers hold the key's shard lock and wrap writes in an ObjectWrite.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>

#include "storage/types/dict.h"
#include "storage/types/listpack.h"
#include "storage/types/object.h"

namespace flightcache::storage {

class ZsetObject final : public Object {
 public:
  ValueType type() const override { return ValueType::kZset; }
  const char* EncodingName() const override { return tree_ ? "skiplist" : "listpack"; }
  size_t MemoryBytes() const override;
  size_t Length() const override;
  std::unique_ptr<Object> Clone() const override;

  // The score of member, or nullopt.
  std::optional<double> Score(std::string_view member) const;
  // Sets member's score (adding it when new); true when it is new. Converts past the limits.
  bool Set(std::string_view member, double score, const TypeLimits& limits);
  // Removes member; true when it was there.
  bool Remove(std::string_view member);
  // The 0-based rank of member from the lowest score (or the highest with reverse).
  std::optional<size_t> Rank(std::string_view member, bool reverse) const;
  // Calls fn(member, score) for ranks start..end (inclusive, end < Length()), from the lowest
  // score up, or from the highest down with reverse.
  void ForRange(size_t start, size_t end, bool reverse,
                const std::function<void(std::string_view, double)>& fn) const;

 private:
  struct Item {
    double score;
    std::string member;
  };
  struct ItemLess {
    bool operator()(const Item& a, const Item& b) const {
      return a.score < b.score || (a.score == b.score && a.member < b.member);
    }
  };
  struct Tree {
    std::set<Item, ItemLess> items;
    Dict scores;  // member -> score as 8 raw bytes
    size_t item_bytes = 0;
  };
  void ConvertToTree();
  static size_t ItemBytes(const Item& item);

  Listpack lp_;
  std::unique_ptr<Tree> tree_;
};

// Parses a score as Redis's strtod-based zset parser: "inf", "-inf", "+inf" and any finite
// double; not NaN, not empty, no spaces.
bool ParseScore(std::string_view text, double* out);
// A score as Redis 7.0 prints it ("%.17g", "inf", "-inf").
std::string FormatScore(double score);

}  // namespace flightcache::storage
