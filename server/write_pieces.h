// write_pieces.h — a byte range described as libuv write buffers of bounded size.
//
// uv_buf_init() takes an unsigned int length, so one buffer for a reply past 4 GiB would be
// truncated (and Windows' uv_buf_t stores a ULONG). Connection::Flush splits what it writes
// into pieces of at most kMaxWritePiece bytes. Header-only, so the unit tests can use it.
#pragma once

#include <uv.h>

#include <cstddef>
#include <vector>

namespace flightcache::server {

inline constexpr size_t kMaxWritePiece = size_t{1} << 30;  // 1 GiB

// Replaces *pieces with buffers covering [data, data + len) in order, none longer than
// max_piece (> 0); none at all when len is 0.
inline void SplitIntoWritePieces(char* data, size_t len, size_t max_piece,
                                 std::vector<uv_buf_t>* pieces) {
  pieces->clear();
  for (size_t at = 0; at < len; at += max_piece) {
    const size_t n = len - at < max_piece ? len - at : max_piece;
    pieces->push_back(uv_buf_init(data + at, static_cast<unsigned>(n)));
  }
}

}  // namespace flightcache::server
