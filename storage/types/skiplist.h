// skiplist.h — Redis's skiplist with spans: (score, member) nodes in order, where every forward
// link also records how many nodes it skips, so that ranks, the node at a rank, and where a
// range starts are all O(log n) (Redis's zskiplist in t_zset.c; the idea, not its code).
//
// A node is one allocation holding its member inline (no separate string):
//   [score: f64][backward: Node*][hash_next: Node*][forward at level 0: Node*]
//   [height: u8][member len: varint][member][padding to 8][(forward, span) x (height - 1)]
// Level 0's span is always 1, so it is not stored. hash_next is the chain link of the sorted
// set's member index (ZsetObject's ChainedTable), so the member is kept once for both. Levels
// are drawn with p = 1/4, 1..32. The backward link gives reverse walks. bytes() is the running
// total of node allocations (as the allocator sizes them), for the shard's memory figure. Used
// by ZsetObject's skiplist encoding; no locking (the key's shard lock guards it).
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string_view>

#include "storage/varint.h"

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
    Node* backward;
    Node* hash_next;  // owned by the member index (ZsetObject), not by the list
    Node* forward0;
    // variable part follows; see the layout above

    int height() const { return static_cast<uint8_t>(Tail()[0]); }
    std::string_view member() const {
      uint64_t len;
      const char* p = GetVarint(Tail() + 1, &len);
      return {p, static_cast<size_t>(len)};
    }
    // The link at level i (< height()).
    Node* forward(int i) const { return i == 0 ? forward0 : Upper()[i - 1].forward; }
    size_t span(int i) const { return i == 0 ? 1 : Upper()[i - 1].span; }

   private:
    friend class SkipList;
    const char* Tail() const { return reinterpret_cast<const char*>(this) + sizeof(Node); }
    // The levels above 0, after the member (8-aligned).
    Level* Upper() const;
    void set_forward(int i, Node* n) { (i == 0 ? forward0 : Upper()[i - 1].forward) = n; }
    // Level 0's span is 1 by construction; only upper levels store one.
    void set_span(int i, size_t span) {
      if (i > 0) Upper()[i - 1].span = span;
    }
  };

  SkipList();
  ~SkipList();
  SkipList(const SkipList&) = delete;
  SkipList& operator=(const SkipList&) = delete;

  size_t size() const { return length_; }
  size_t bytes() const { return bytes_; }
  Node* First() const { return header_->forward0; }
  Node* Last() const { return tail_; }
  static Node* Next(const Node* n) { return n->forward0; }
  static Node* Prev(const Node* n) { return n->backward; }

  // Inserts (score, member), which must not be in the list; returns its node.
  Node* Insert(double score, std::string_view member);
  // Removes and frees the node of (score, member); false when it is not there. member may be
  // the node's own member().
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
      while (x->forward(i) && before(*x->forward(i))) {
        traversed += x->span(i);
        x = x->forward(i);
      }
    }
    *rank = traversed;
    return x->forward0;
  }

 private:
  static constexpr int kMaxLevel = 32;
  // What a node of this height and member length allocates, and where its upper levels start.
  static size_t UpperOffset(size_t member_len);
  static size_t NodeSize(int height, size_t member_len);
  Node* NewNode(int height, double score, std::string_view member);
  void FreeNode(Node* n);
  int RandomLevel();
  static bool Before(const Node& n, double score, std::string_view member) {
    return n.score < score || (n.score == score && n.member() < member);
  }

  Node* header_;
  Node* tail_ = nullptr;
  size_t length_ = 0;
  int level_ = 1;
  size_t bytes_ = 0;
  uint64_t rng_ = 0x9e3779b97f4a7c15ull;
};

}  // namespace flightcache::storage
