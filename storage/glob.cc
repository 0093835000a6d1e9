// glob.cc — glob matching with Redis's semantics (see glob.h). Consecutive stars collapse, a
// failed '*' stops earlier stars from retrying, and nesting is capped, so a hostile pattern
// can neither take exponential time nor blow the stack.
#include "storage/glob.h"

#include <cctype>
#include <utility>

namespace flightcache::storage {
namespace {

char Fold(char c, bool nocase) {
  return nocase ? static_cast<char>(std::tolower(static_cast<unsigned char>(c))) : c;
}

// skip_longer: set once a '*' has tried every rest of the string and failed. Then no earlier
// '*' can succeed by matching a longer piece either (Redis's fix for exponential patterns).
bool Match(const char* p, const char* pend, const char* s, const char* send, bool nocase,
           bool* skip_longer, int nesting) {
  if (nesting > 1000) return false;
  while (p < pend) {
    switch (*p) {
      case '*': {
        while (p + 1 < pend && p[1] == '*') ++p;
        if (p + 1 == pend) return true;
        for (const char* t = s; t <= send; ++t) {
          if (Match(p + 1, pend, t, send, nocase, skip_longer, nesting + 1)) return true;
          if (*skip_longer) return false;
        }
        *skip_longer = true;
        return false;
      }
      case '?':
        if (s >= send) return false;
        ++s;
        break;
      case '[': {
        if (s >= send) return false;
        ++p;
        bool negate = p < pend && *p == '^';
        if (negate) ++p;
        bool matched = false;
        while (p < pend && *p != ']') {
          if (*p == '\\' && p + 1 < pend) {
            ++p;
            if (Fold(*p, nocase) == Fold(*s, nocase)) matched = true;
          } else if (p + 2 < pend && p[1] == '-') {
            char lo = Fold(p[0], nocase), hi = Fold(p[2], nocase), c = Fold(*s, nocase);
            if (lo > hi) std::swap(lo, hi);
            if (c >= lo && c <= hi) matched = true;
            p += 2;
          } else if (Fold(*p, nocase) == Fold(*s, nocase)) {
            matched = true;
          }
          ++p;
        }
        if (p >= pend) --p;  // unterminated class: treat the end as its close, as Redis does
        if (negate) matched = !matched;
        if (!matched) return false;
        ++s;
        break;
      }
      case '\\':
        if (p + 1 < pend) ++p;
        [[fallthrough]];
      default:
        if (s >= send || Fold(*p, nocase) != Fold(*s, nocase)) return false;
        ++s;
        break;
    }
    ++p;
  }
  return s == send;
}

}  // namespace

bool GlobMatch(std::string_view pattern, std::string_view text, bool nocase) {
  bool skip_longer = false;
  return Match(pattern.data(), pattern.data() + pattern.size(), text.data(),
               text.data() + text.size(), nocase, &skip_longer, 0);
}

}  // namespace flightcache::storage
