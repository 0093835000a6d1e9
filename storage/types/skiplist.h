// skiplist.h — Redis's skiplist with spans: (score, member) nodes in order, where every forward
// link also records how many nodes it skips, so that ranks, the node at a rank, and where a
// range starts are all O(log n) (Redis's zskiplist in t_zset.c; the idea, not its code).
//
// A node is one allocation: header fields, the member as a std::string, and a level array of
// 1..32 (forward, span) pairs, with levels drawn with p = 1/4. The backward link gives reverse
// walks. bytes() is the running total of node allocations (as the allocator sizes them) plus
// the members' heap buffers, for the shard's memory figure. Used by ZsetObject's skiplist
// encoding; no locking (the key's shard lock guards it).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace flightcache::storage {

class SkipList {
 public:
  struct Node;
  struct Level {
    Node* forward;
    size_t span;  // nodes between this node and forward, forward included
  };
  struct Node {
    double score;
    std::string member;
    Node* backward;
    int height;
    Level levels[1];  // really `height` of them (the node is allocated that large)
  };

  SkipList();
  ~SkipList();
  SkipList(const SkipList&) = delete;
  SkipList& operator=(const SkipList&) = delete;

  size_t size() const { return length_; }
  size_t bytes() const { return bytes_; }
  Node* First() const { return header_->levels[0].forward; }
  Node* Last() const { return tail_; }
  static Node* Next(const Node* n) { return n->levels[0].forward; }
  static Node* Prev(const Node* n) { return n->backward; }

  // Inserts (score, member), which must not be in the list.
  void Insert(double score, std::string_view member);
  // Removes (score, member); false when it is not there.
  bool Erase(double score, std::string_view member);
  // The 0-based rank of (score, member), which must be in the list.
  size_t Rank(double score, std::string_view member) const;
  // The node at 0-based rank (rank < size()).
  Node* AtRank(size_t rank) const;
  // The first node for which before(node) is false, where before is true for a prefix of the
  // list (a lower bound); nullptr when there is none. *rank gets its 0-based rank (size() when
  // nullptr). O(log n).
  template <typename Before>
  Node* LowerBound(const Before& before, size_t* rank) const {
    Node* x = header_;
    size_t traversed = 0;
    for (int i = level_ - 1; i >= 0; --i) {
      while (x->levels[i].forward && before(*x->levels[i].forward)) {
        traversed += x->levels[i].span;
        x = x->levels[i].forward;
      }
    }
    *rank = traversed;
    return x->levels[0].forward;
  }

 private:
  static constexpr int kMaxLevel = 32;
  Node* NewNode(int height, double score, std::string_view member);
  void FreeNode(Node* n);
  int RandomLevel();
  static bool Before(const Node& n, double score, std::string_view member) {
    return n.score < score || (n.score == score && std::string_view(n.member) < member);
  }

  Node* header_;
  Node* tail_ = nullptr;
  size_t length_ = 0;
  int level_ = 1;
  size_t bytes_ = 0;
  uint64_t rng_ = 0x9e3779b97f4a7c15ull;
};

}  // namespace flightcache::storage
