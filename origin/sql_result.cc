// sql_result.cc — JSON strings, base64 and the several-rows error for SQL kinds (sql_result.h).
#include "origin/sql_result.h"

#include <algorithm>
#include <cstdint>

namespace flightcache::origin {

void AppendJsonString(std::string* out, std::string_view text) {
  static const char kHex[] = "0123456789abcdef";
  out->push_back('"');
  for (char ch : text) {
    auto c = static_cast<unsigned char>(ch);
    switch (c) {
      case '"':
        *out += "\\\"";
        break;
      case '\\':
        *out += "\\\\";
        break;
      case '\n':
        *out += "\\n";
        break;
      case '\r':
        *out += "\\r";
        break;
      case '\t':
        *out += "\\t";
        break;
      default:
        if (c < 0x20 || c == 0x7f) {
          *out += "\\u00";
          out->push_back(kHex[c >> 4]);
          out->push_back(kHex[c & 15]);
        } else {
          out->push_back(ch);
        }
    }
  }
  out->push_back('"');
}

std::string Base64(std::string_view bytes) {
  static const char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  size_t i = 0;
  for (; i + 2 < bytes.size(); i += 3) {
    uint32_t v = (static_cast<unsigned char>(bytes[i]) << 16) |
                 (static_cast<unsigned char>(bytes[i + 1]) << 8) |
                 static_cast<unsigned char>(bytes[i + 2]);
    for (int shift : {18, 12, 6, 0}) out.push_back(kAlphabet[(v >> shift) & 63]);
  }
  if (i < bytes.size()) {
    uint32_t v = static_cast<unsigned char>(bytes[i]) << 16;
    if (i + 1 < bytes.size()) v |= static_cast<unsigned char>(bytes[i + 1]) << 8;
    out.push_back(kAlphabet[(v >> 18) & 63]);
    out.push_back(kAlphabet[(v >> 12) & 63]);
    out.push_back(i + 1 < bytes.size() ? kAlphabet[(v >> 6) & 63] : '=');
    out.push_back('=');
  }
  return out;
}

void MergeDuplicateColumns(std::vector<RowField>* fields) {
  if (fields->size() < 2) return;
  std::vector<size_t> order(fields->size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  // By name, and for one name by position: each run of equal names is first .. last.
  std::stable_sort(order.begin(), order.end(),
                   [&](size_t a, size_t b) { return (*fields)[a].first < (*fields)[b].first; });
  std::vector<bool> drop(fields->size(), false);
  bool any = false;
  for (size_t run = 0; run < order.size();) {
    size_t end = run + 1;
    while (end < order.size() && (*fields)[order[end]].first == (*fields)[order[run]].first) ++end;
    if (end - run > 1) {
      (*fields)[order[run]].second = std::move((*fields)[order[end - 1]].second);
      for (size_t k = run + 1; k < end; ++k) drop[order[k]] = true;
      any = true;
    }
    run = end;
  }
  if (!any) return;
  size_t kept = 0;
  for (size_t i = 0; i < fields->size(); ++i) {
    if (drop[i]) continue;
    if (kept != i) (*fields)[kept] = std::move((*fields)[i]);  // never a self-move
    ++kept;
  }
  fields->resize(kept);
}

FetchResult TooManyRows(const std::string& count) {
  return FetchResult::Error(
      FetchErrorKind::kErrorReply,
      "origin error: the query returned " + count + " rows for one key (expected 0 or 1)");
}

}  // namespace flightcache::origin
