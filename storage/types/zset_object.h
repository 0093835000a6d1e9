// zset_object.h — a sorted set: members ordered by (score, member), in one of two encodings.
// - listpack: member and score (8 raw bytes) alternate in one flat Listpack, kept sorted,
//   while there are at most zset-max-listpack-entries members, none longer than
//   zset-max-listpack-value bytes;
// - skiplist: past those bounds, a SkipList with spans (storage/types/skiplist.h) of
//   (score, member) plus an index of its nodes by member (a ChainedTable linked through the
//   nodes' hash_next), as Redis's skiplist + dict: ranks, the member at a rank, where a score
//   or lex range starts and how many members it holds are O(log n), a member's score O(1).
//   The member is stored once, in its skiplist node.
// Callers hold the key's shard lock and wrap writes in an ObjectWrite.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "storage/types/chained_table.h"
#include "storage/types/listpack.h"
#include "storage/types/object.h"
#include "storage/types/skiplist.h"

namespace flightcache::storage {

// A score interval as ZRANGEBYSCORE parses it: "(1.5" is exclusive, "-inf"/"+inf" unbounded.
struct ScoreRange {
  double min = 0;
  double max = 0;
  bool min_exclusive = false;
  bool max_exclusive = false;
};

// A member interval as ZRANGEBYLEX parses it: "[a" inclusive, "(a" exclusive, "-" and "+" the
// ends. Meaningful when all members have the same score, as in Redis.
struct LexRange {
  std::string min, max;
  bool min_exclusive = false, max_exclusive = false;
  bool min_is_neg_inf = false, max_is_pos_inf = false;
  bool min_is_pos_inf = false, max_is_neg_inf = false;  // "+" as min or "-" as max: empty
};

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
  // Calls fn(member, score) for the members whose score is in range, from the lowest up (or the
  // highest down with reverse), skipping the first offset of them and stopping after limit
  // (limit < 0: no limit). Finding the start is O(log n) in the skiplist encoding.
  void ForScoreRange(const ScoreRange& range, bool reverse, size_t offset, int64_t limit,
                     const std::function<void(std::string_view, double)>& fn) const;
  // As ForScoreRange, for the members in a lex range.
  void ForLexRange(const LexRange& range, bool reverse, size_t offset, int64_t limit,
                   const std::function<void(std::string_view, double)>& fn) const;
  // How many members have a score / a member in range.
  size_t CountScoreRange(const ScoreRange& range) const;
  size_t CountLexRange(const LexRange& range) const;
  // Calls fn(member, score) for every member, in order.
  void ForEach(const std::function<void(std::string_view, double)>& fn) const;
  // Calls fn for some members from cursor on (the member index's cursor; the listpack answers
  // all members at once) and returns the next cursor, 0 when done.
  uint64_t Scan(uint64_t cursor, size_t count,
                const std::function<void(std::string_view, double)>& fn) const;
  // The member and score at a random rank (uniform), or false when empty.
  bool RandomMember(uint64_t random, std::string* member, double* score) const;

 private:
  // A place in the (score, member) order: before (after, when upper) every item with this
  // score, or, for lex bounds, before/after this member (with is_lex).
  struct Bound {
    double score;
    bool upper;
    bool is_lex = false;
    std::string_view member = {};
    int lex_inf = 0;  // -1: before every member; +1: after every member
  };
  // (score, member) < bound.
  static bool ItemBefore(double score, std::string_view member, const Bound& b);
  struct IndexTraits {
    static SkipList::Node*& Next(SkipList::Node* n) { return n->hash_next; }
    static std::string_view Key(const SkipList::Node* n) { return n->member(); }
  };
  struct Tree {
    SkipList items;  // owns the nodes; declared first, so the index goes first
    ChainedTable<SkipList::Node, IndexTraits> index;  // member -> its node
    // Adds (score, member), which is not in the tree, to the list and the index.
    void Add(double score, std::string_view member);
  };
  void ConvertToTree();
  // Visits [lo, hi) of the order (bounds as above), reversed or not, with offset and limit.
  void ForBounds(const Bound& lo, const Bound& hi, bool reverse, size_t offset, int64_t limit,
                 const std::function<void(std::string_view, double)>& fn) const;
  size_t CountBounds(const Bound& lo, const Bound& hi) const;
  static bool BoundsEmpty(const ScoreRange& range);
  static bool BoundsEmpty(const LexRange& range);
  static Bound LexLow(const LexRange& range);
  static Bound LexHigh(const LexRange& range);
  // The ranks [*first, *last) of the skiplist's members between the bounds. O(log n).
  void TreeBounds(const Bound& lo, const Bound& hi, size_t* first, size_t* last) const;

  Listpack lp_;
  std::unique_ptr<Tree> tree_;
};

// Parses a score as Redis's strtod-based zset parser: "inf", "-inf", "+inf" and any finite
// double; not NaN, not empty, no spaces.
bool ParseScore(std::string_view text, double* out);
// A score as Redis 7.0 prints it ("%.17g", "inf", "-inf").
std::string FormatScore(double score);
// Parses one end of a score range ("1.5", "(1.5", "-inf", "+inf"); false when it is not a
// float (Redis: "ERR min or max is not a float").
bool ParseScoreBound(std::string_view text, double* value, bool* exclusive);
// Parses one end of a lex range ("[a", "(a", "-", "+"); false when it is none of these
// (Redis: "ERR min or max not valid string range item").
bool ParseLexBound(std::string_view text, std::string* value, bool* exclusive, int* infinity);

}  // namespace flightcache::storage
