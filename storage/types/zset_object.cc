// zset_object.cc — the listpack and tree encodings of a sorted set (see zset_object.h).
#include "storage/types/zset_object.h"

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <iterator>
#include <vector>

#include "storage/entry.h"
#include "storage/shard.h"

namespace flightcache::storage {
namespace {

std::string EncodeScore(double score) {
  std::string bytes(sizeof(double), '\0');
  std::memcpy(bytes.data(), &score, sizeof(double));
  return bytes;
}

double DecodeScore(std::string_view bytes) {
  double score;
  std::memcpy(&score, bytes.data(), sizeof(double));
  return score;
}

bool Less(double score_a, std::string_view a, double score_b, std::string_view b) {
  return score_a < score_b || (score_a == score_b && a < b);
}

struct ViewItem {
  std::string_view member;
  double score;
};

}  // namespace

bool ZsetObject::ItemBefore(double score, std::string_view member, const Bound& b) {
  if (b.is_lex) {
    if (b.lex_inf != 0) return b.lex_inf > 0;
    return member < b.member || (member == b.member && b.upper);
  }
  return score < b.score || (score == b.score && b.upper);
}

bool ParseScoreBound(std::string_view text, double* value, bool* exclusive) {
  *exclusive = !text.empty() && text.front() == '(';
  if (*exclusive) text.remove_prefix(1);
  // Redis parses the bound with strtod and rejects NaN; "+inf" and "-inf" are doubles too.
  return ParseScore(text, value);
}

bool ParseLexBound(std::string_view text, std::string* value, bool* exclusive, int* infinity) {
  *infinity = 0;
  *exclusive = false;
  if (text == "-") {
    *infinity = -1;
    return true;
  }
  if (text == "+") {
    *infinity = 1;
    return true;
  }
  if (text.empty() || (text.front() != '(' && text.front() != '[')) return false;
  *exclusive = text.front() == '(';
  value->assign(text.substr(1));
  return true;
}

bool ParseScore(std::string_view text, double* out) {
  if (text.empty() || text.size() > 1024) return false;
  if (std::isspace(static_cast<unsigned char>(text.front()))) return false;
  std::string buf(text);
  char* end = nullptr;
  errno = 0;
  const double v = std::strtod(buf.c_str(), &end);
  if (end != buf.c_str() + buf.size() || std::isnan(v)) return false;
  if (errno == ERANGE && !std::isinf(v) && v != 0) return false;
  *out = v;
  return true;
}

std::string FormatScore(double score) {
  if (std::isinf(score)) return score > 0 ? "inf" : "-inf";
  // to_chars with a precision prints exactly what printf's %.17g does, without printf's
  // multi-precision path (a third of ZPOPMIN's cost with snprintf).
  char buf[64];
  const auto [end, ec] =
      std::to_chars(buf, buf + sizeof(buf), score, std::chars_format::general, 17);
  (void)ec;  // 64 bytes hold any double at 17 digits
  return std::string(buf, end);
}

size_t ZsetObject::MemoryBytes() const {
  size_t bytes = AllocationSizeFor(sizeof(ZsetObject));
  if (!tree_) return bytes + lp_.MemoryBytes();
  return bytes + AllocationSizeFor(sizeof(Tree)) + tree_->index.ArrayBytes() + tree_->items.bytes();
}

size_t ZsetObject::Length() const { return tree_ ? tree_->items.size() : lp_.size() / 2; }

std::unique_ptr<Object> ZsetObject::Clone() const {
  auto copy = std::make_unique<ZsetObject>();
  if (!tree_) {
    copy->lp_ = lp_;
    return copy;
  }
  copy->tree_ = std::make_unique<Tree>();
  for (const SkipList::Node* n = tree_->items.First(); n; n = SkipList::Next(n)) {
    copy->tree_->Add(n->score, n->member());
  }
  return copy;
}

void ZsetObject::Tree::Add(double score, std::string_view member) {
  SkipList::Node* node = items.Insert(score, member);
  index.Insert(node, HashKey(node->member()));
}

std::optional<double> ZsetObject::Score(std::string_view member) const {
  if (tree_) {
    const SkipList::Node* n = tree_->index.Find(member, HashKey(member));
    if (!n) return std::nullopt;
    return n->score;
  }
  const size_t pos = lp_.Find(member, 0, 2);
  if (pos == lp_.End()) return std::nullopt;
  return DecodeScore(lp_.Get(lp_.Next(pos)));
}

bool ZsetObject::Set(std::string_view member, double score, const TypeLimits& limits) {
  const bool added = Remove(member) == false;
  if (!tree_ && (static_cast<int64_t>(member.size()) > limits.zset_max_listpack_value ||
                 static_cast<int64_t>(Length() + 1) > limits.zset_max_listpack_entries)) {
    ConvertToTree();
  }
  if (tree_) {
    tree_->Add(score, member);
    return added;
  }
  size_t pos = lp_.Begin();
  while (pos != lp_.End()) {
    const size_t score_pos = lp_.Next(pos);
    if (Less(score, member, DecodeScore(lp_.Get(score_pos)), lp_.Get(pos))) break;
    pos = lp_.Next(score_pos);
  }
  const std::string encoded = EncodeScore(score);
  lp_.Insert(pos, encoded);
  lp_.Insert(pos, member);
  return added;
}

bool ZsetObject::Remove(std::string_view member) {
  if (tree_) {
    SkipList::Node** link = tree_->index.FindLink(member, HashKey(member));
    if (!link) return false;
    const double score = (*link)->score;
    tree_->index.Unlink(link);
    tree_->items.Erase(score, member);
    return true;
  }
  const size_t pos = lp_.Find(member, 0, 2);
  if (pos == lp_.End()) return false;
  lp_.Erase(pos, 2);
  return true;
}

std::optional<size_t> ZsetObject::Rank(std::string_view member, bool reverse) const {
  std::optional<double> score = Score(member);
  if (!score) return std::nullopt;
  size_t rank = 0;
  if (tree_) {
    rank = tree_->items.Rank(*score, member);
  } else {
    for (size_t pos = lp_.Begin(); lp_.Get(pos) != member; pos = lp_.Next(lp_.Next(pos))) ++rank;
  }
  return reverse ? Length() - 1 - rank : rank;
}

void ZsetObject::ForRange(size_t start, size_t end, bool reverse,
                          const std::function<void(std::string_view, double)>& fn) const {
  if (start > end || end >= Length()) return;
  if (tree_) {
    // Reverse ranks start..end are forward ranks n-1-start down to n-1-end.
    const SkipList::Node* node = tree_->items.AtRank(reverse ? Length() - 1 - start : start);
    for (size_t i = start; i <= end && node; ++i) {
      fn(node->member(), node->score);
      node = reverse ? SkipList::Prev(node) : SkipList::Next(node);
    }
    return;
  }
  const size_t n = Length();
  // Ranks in the listpack's own order: reverse ranks start..end are forward n-1-end..n-1-start.
  const size_t from = reverse ? n - 1 - end : start;
  const size_t to = reverse ? n - 1 - start : end;
  std::vector<std::pair<std::string_view, double>> picked;
  size_t pos = lp_.PositionOf(from * 2);
  for (size_t i = from; i <= to; ++i) {
    const size_t score_pos = lp_.Next(pos);
    picked.emplace_back(lp_.Get(pos), DecodeScore(lp_.Get(score_pos)));
    pos = lp_.Next(score_pos);
  }
  if (reverse) {
    for (size_t k = picked.size(); k-- > 0;) fn(picked[k].first, picked[k].second);
  } else {
    for (const auto& [m, s] : picked) fn(m, s);
  }
}

bool ZsetObject::BoundsEmpty(const ScoreRange& r) {
  return r.min > r.max || (r.min == r.max && (r.min_exclusive || r.max_exclusive));
}

bool ZsetObject::BoundsEmpty(const LexRange& r) {
  if (r.min_is_pos_inf || r.max_is_neg_inf) return true;
  if (r.min_is_neg_inf || r.max_is_pos_inf) return false;
  return r.min > r.max || (r.min == r.max && (r.min_exclusive || r.max_exclusive));
}

ZsetObject::Bound ZsetObject::LexLow(const LexRange& r) {
  return Bound{0, r.min_exclusive, true, r.min, r.min_is_neg_inf ? -1 : (r.min_is_pos_inf ? 1 : 0)};
}

ZsetObject::Bound ZsetObject::LexHigh(const LexRange& r) {
  return Bound{0, !r.max_exclusive, true, r.max,
               r.max_is_pos_inf ? 1 : (r.max_is_neg_inf ? -1 : 0)};
}

void ZsetObject::ForBounds(const Bound& lo, const Bound& hi, bool reverse, size_t offset,
                           int64_t limit,
                           const std::function<void(std::string_view, double)>& fn) const {
  auto take = [&](std::string_view m, double s) {
    if (offset > 0) {
      --offset;
      return true;
    }
    if (limit == 0) return false;
    if (limit > 0) --limit;
    fn(m, s);
    return true;
  };
  if (tree_) {
    size_t first, last;  // ranks: the range is [first, last)
    TreeBounds(lo, hi, &first, &last);
    if (first + offset >= last) return;
    // Spans find the offset-th member of the range at once; then it is a walk of limit steps.
    const size_t skipped = offset;
    offset = 0;
    const SkipList::Node* node =
        tree_->items.AtRank(reverse ? last - 1 - skipped : first + skipped);
    for (size_t i = first + skipped; i < last && node; ++i) {
      if (!take(node->member(), node->score)) return;
      node = reverse ? SkipList::Prev(node) : SkipList::Next(node);
    }
    return;
  }
  std::vector<ViewItem> items;
  items.reserve(Length());
  for (size_t pos = lp_.Begin(); pos != lp_.End();) {
    const size_t score_pos = lp_.Next(pos);
    items.push_back(ViewItem{lp_.Get(pos), DecodeScore(lp_.Get(score_pos))});
    pos = lp_.Next(score_pos);
  }
  auto before = [](const ViewItem& v, const Bound& b) { return ItemBefore(v.score, v.member, b); };
  const size_t first =
      static_cast<size_t>(std::partition_point(items.begin(), items.end(),
                                               [&](const ViewItem& v) { return before(v, lo); }) -
                          items.begin());
  const size_t last =
      static_cast<size_t>(std::partition_point(items.begin(), items.end(),
                                               [&](const ViewItem& v) { return before(v, hi); }) -
                          items.begin());
  if (!reverse) {
    for (size_t i = first; i < last; ++i) {
      if (!take(items[i].member, items[i].score)) return;
    }
  } else {
    for (size_t i = last; i > first; --i) {
      if (!take(items[i - 1].member, items[i - 1].score)) return;
    }
  }
}

void ZsetObject::TreeBounds(const Bound& lo, const Bound& hi, size_t* first, size_t* last) const {
  tree_->items.LowerBound(
      [&](const SkipList::Node& n) { return ItemBefore(n.score, n.member(), lo); }, first);
  tree_->items.LowerBound(
      [&](const SkipList::Node& n) { return ItemBefore(n.score, n.member(), hi); }, last);
  if (*last < *first) *last = *first;
}

size_t ZsetObject::CountBounds(const Bound& lo, const Bound& hi) const {
  if (tree_) {
    size_t first, last;
    TreeBounds(lo, hi, &first, &last);
    return last > first ? last - first : 0;
  }
  size_t n = 0;
  ForBounds(lo, hi, false, 0, -1, [&](std::string_view, double) { ++n; });
  return n;
}

void ZsetObject::ForScoreRange(const ScoreRange& range, bool reverse, size_t offset, int64_t limit,
                               const std::function<void(std::string_view, double)>& fn) const {
  if (BoundsEmpty(range)) return;
  ForBounds(Bound{range.min, range.min_exclusive}, Bound{range.max, !range.max_exclusive}, reverse,
            offset, limit, fn);
}

void ZsetObject::ForLexRange(const LexRange& range, bool reverse, size_t offset, int64_t limit,
                             const std::function<void(std::string_view, double)>& fn) const {
  if (BoundsEmpty(range)) return;
  ForBounds(LexLow(range), LexHigh(range), reverse, offset, limit, fn);
}

size_t ZsetObject::CountScoreRange(const ScoreRange& range) const {
  if (BoundsEmpty(range)) return 0;
  return CountBounds(Bound{range.min, range.min_exclusive}, Bound{range.max, !range.max_exclusive});
}

size_t ZsetObject::CountLexRange(const LexRange& range) const {
  if (BoundsEmpty(range)) return 0;
  return CountBounds(LexLow(range), LexHigh(range));
}

void ZsetObject::ForEach(const std::function<void(std::string_view, double)>& fn) const {
  if (Length() > 0) ForRange(0, Length() - 1, false, fn);
}

uint64_t ZsetObject::Scan(uint64_t cursor, size_t count,
                          const std::function<void(std::string_view, double)>& fn) const {
  if (!tree_) {
    ForEach(fn);
    return 0;
  }
  auto each = [&](const SkipList::Node* n) { fn(n->member(), n->score); };
  for (size_t i = 0; i < count; ++i) {
    cursor = tree_->index.Scan(cursor, each);
    if (cursor == 0) break;
  }
  return cursor;
}

bool ZsetObject::RandomMember(uint64_t random, std::string* member, double* score) const {
  if (Length() == 0) return false;
  if (tree_) {
    const SkipList::Node* n = tree_->index.Random(random);
    if (!n) return false;
    member->assign(n->member());
    *score = n->score;
    return true;
  }
  const size_t rank = static_cast<size_t>(random % Length());
  ForRange(rank, rank, false, [&](std::string_view m, double s) {
    member->assign(m);
    *score = s;
  });
  return true;
}

void ZsetObject::ConvertToTree() {
  auto tree = std::make_unique<Tree>();
  for (size_t pos = lp_.Begin(); pos != lp_.End();) {
    const size_t score_pos = lp_.Next(pos);
    tree->Add(DecodeScore(lp_.Get(score_pos)), lp_.Get(pos));
    pos = lp_.Next(score_pos);
  }
  tree_ = std::move(tree);
  lp_.Clear();
}

}  // namespace flightcache::storage
