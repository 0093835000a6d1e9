// write_pieces_test.cc — SplitIntoWritePieces covers a byte range in order with bounded pieces.
#include "server/write_pieces.h"

#include <doctest/doctest.h>

#include <cstdint>
#include <string>

namespace flightcache::server {
namespace {

TEST_CASE("a range splits into pieces of at most the limit, in order, covering every byte") {
  std::string bytes(10, 'x');
  std::vector<uv_buf_t> pieces;
  SplitIntoWritePieces(bytes.data(), bytes.size(), 4, &pieces);
  REQUIRE(pieces.size() == 3);
  CHECK(pieces[0].base == bytes.data());
  CHECK(pieces[0].len == 4);
  CHECK(pieces[1].base == bytes.data() + 4);
  CHECK(pieces[1].len == 4);
  CHECK(pieces[2].base == bytes.data() + 8);
  CHECK(pieces[2].len == 2);
  SplitIntoWritePieces(bytes.data(), 8, 4, &pieces);
  CHECK(pieces.size() == 2);
  SplitIntoWritePieces(bytes.data(), 0, 4, &pieces);
  CHECK(pieces.empty());
}

TEST_CASE("a write past 4 GiB keeps its whole length across 1 GiB pieces") {
  // Only pointers are computed from a made-up address: nothing is read or written.
  char* base = reinterpret_cast<char*>(uintptr_t{1} << 40);
  const size_t len = (size_t{5} << 30) + 123;
  std::vector<uv_buf_t> pieces;
  SplitIntoWritePieces(base, len, kMaxWritePiece, &pieces);
  REQUIRE(pieces.size() == 6);
  size_t total = 0;
  for (const uv_buf_t& piece : pieces) {
    CHECK(piece.len <= kMaxWritePiece);
    total += piece.len;
  }
  CHECK(total == len);
  CHECK(pieces.back().len == 123);
}

}  // namespace
}  // namespace flightcache::server
