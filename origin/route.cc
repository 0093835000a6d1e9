// route.cc — key patterns, route lines and route choice (see route.h).
#include "origin/route.h"

#include <charconv>
#include <cstdio>
#include <cstdlib>

namespace flightcache::origin {
namespace {

bool ParseNumber(std::string_view text, int64_t min, int64_t max, int64_t* out) {
  int64_t v = 0;
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (text.empty() || ec != std::errc() || ptr != text.data() + text.size()) return false;
  if (v < min || v > max) return false;
  *out = v;
  return true;
}

// Sets one name=value route option; false with *error for an unknown name or a bad value.
bool SetRouteOption(std::string_view word, RouteOptions* options, std::string* error) {
  size_t eq = word.find('=');
  std::string_view name = word.substr(0, eq);
  std::string_view value = eq == std::string_view::npos ? "" : word.substr(eq + 1);
  int64_t v = 0;
  auto bad = [&](const char* range) {
    *error = "bad value for route option '" + std::string(name) + "': '" + std::string(value) +
             "' (" + range + ")";
    return false;
  };
  if (name == "ttl") {
    if (!ParseNumber(value, 0, INT32_MAX, &v)) return bad("seconds, 0 or more");
    options->cache_ttl_s = v;
  } else if (name == "negative-ttl") {
    if (!ParseNumber(value, 0, INT32_MAX, &v)) return bad("seconds, 0 or more");
    options->negative_ttl_s = v;
  } else if (name == "timeout") {
    if (!ParseNumber(value, 1, 3600 * 1000, &v)) return bad("milliseconds, 1 to 3600000");
    options->timeout_ms = static_cast<int>(v);
  } else if (name == "pool") {
    if (!ParseNumber(value, 1, 1024, &v)) return bad("connections, 1 to 1024");
    options->pool = static_cast<int>(v);
  } else if (name == "max-inflight" || name == "max-queue" || name == "breaker-failures") {
    if (!ParseNumber(value, 0, 1000000, &v)) return bad("0 (off) to 1000000");
    (name == "max-inflight" ? options->max_inflight
     : name == "max-queue"  ? options->max_queue
                            : options->breaker_failures) = static_cast<int>(v);
  } else if (name == "breaker-cooldown") {
    if (!ParseNumber(value, 1, 3600 * 1000, &v)) return bad("milliseconds, 1 to 3600000");
    options->breaker_cooldown_ms = static_cast<int>(v);
  } else if (name == "tracking") {
    if (value != "yes" && value != "no") return bad("yes or no");
    options->tracking = value == "yes";
  } else if (name == "listen") {
    // A PostgreSQL identifier: it is sent quoted, so only its length and NUL bytes matter.
    if (value.empty() || value.size() > 63) return bad("a channel name of 1 to 63 bytes");
    options->listen = std::string(value);
  } else if (name == "listen-keepalive") {
    if (!ParseNumber(value, 0, 3600 * 1000, &v)) return bad("milliseconds, 0 (off) to 3600000");
    options->listen_keepalive_ms = static_cast<int>(v);
  } else if (name == "db") {
    if (!ParseNumber(value, 0, INT32_MAX, &v)) return bad("a database number, 0 or more");
    options->db = static_cast<int>(v);
  } else if (name == "stale-while-revalidate") {
    if (!ParseNumber(value, 0, INT32_MAX, &v)) return bad("seconds, 0 or more");
    options->stale_while_revalidate_s = v;
  } else if (name == "stale-if-error") {
    if (!ParseNumber(value, 0, INT32_MAX, &v)) return bad("seconds, 0 or more");
    options->stale_if_error_s = v;
  } else if (name == "refresh-ahead-beta") {
    double beta = 0;
    if (!ParseRefreshAheadBeta(value, &beta)) return bad("a number from 0 to 1000000");
    options->refresh_ahead_beta = beta;
  } else {
    *error = "unknown route option '" + std::string(name) +
             "' (known: ttl, negative-ttl, timeout, pool, max-inflight, max-queue, "
             "breaker-failures, breaker-cooldown, tracking, listen, stale-while-revalidate, "
             "stale-if-error, refresh-ahead-beta, listen-keepalive, db)";
    return false;
  }
  return true;
}

bool IsOptionWord(std::string_view word) {
  for (std::string_view name :
       {"ttl=", "negative-ttl=", "timeout=", "pool=", "max-inflight=", "max-queue=",
        "breaker-failures=", "breaker-cooldown=", "tracking=", "listen=", "stale-while-revalidate=",
        "stale-if-error=", "refresh-ahead-beta=", "listen-keepalive=", "db="}) {
    if (word.substr(0, name.size()) == name) return true;
  }
  return false;
}

}  // namespace

bool ParseRefreshAheadBeta(std::string_view text, double* out) {
  double v = 0;
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (text.empty() || ec != std::errc() || ptr != text.data() + text.size()) return false;
  if (!(v >= 0 && v <= kMaxRefreshAheadBeta)) return false;  // NaN fails too
  *out = v;
  return true;
}

std::string FormatBeta(double beta) {
  char text[32];
  std::snprintf(text, sizeof(text), "%.17g", beta);
  // The shortest text that reads back as the same number.
  for (int precision = 1; precision <= 17; ++precision) {
    char shorter[32];
    std::snprintf(shorter, sizeof(shorter), "%.*g", precision, beta);
    if (std::strtod(shorter, nullptr) == beta) return shorter;
  }
  return text;
}

bool KeyPattern::Parse(std::string_view text, KeyPattern* out, std::string* error) {
  KeyPattern p;
  p.text_ = std::string(text);
  if (text.empty()) {
    *error = "empty key pattern";
    return false;
  }
  std::string literal;
  bool prefix_done = false;
  auto flush_literal = [&] {
    if (literal.empty()) return;
    p.parts_.push_back(Part{Part::kLiteral, literal});
    literal.clear();
  };
  auto add_open_part = [&](Part part) {
    if (!p.parts_.empty() && p.parts_.back().kind != Part::kLiteral && literal.empty()) {
      *error = "key pattern '" + p.text_ + "': two captures or wildcards need text between them";
      return false;
    }
    if (!prefix_done) p.prefix_length_ = literal.size();
    prefix_done = true;
    flush_literal();
    if (part.kind == Part::kCapture) p.names_.push_back(part.text);
    p.parts_.push_back(std::move(part));
    return true;
  };
  for (size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (c == '*') {
      if (!add_open_part(Part{Part::kWildcard, ""})) return false;
    } else if (c == '{') {
      size_t close = text.find('}', i + 1);
      if (close == std::string_view::npos || close == i + 1) {
        *error = "key pattern '" + p.text_ + "': '{' needs a name and a closing '}'";
        return false;
      }
      if (!add_open_part(Part{Part::kCapture, std::string(text.substr(i + 1, close - i - 1))})) {
        return false;
      }
      i = close;
    } else {
      literal.push_back(c);
    }
  }
  if (!prefix_done) p.prefix_length_ = literal.size();
  flush_literal();
  *out = std::move(p);
  return true;
}

bool KeyPattern::Match(std::string_view key, std::vector<std::string>* captures) const {
  captures->clear();
  return MatchFrom(0, key, captures);
}

bool KeyPattern::MatchFrom(size_t index, std::string_view rest,
                           std::vector<std::string>* captures) const {
  if (index == parts_.size()) return rest.empty();
  const Part& part = parts_[index];
  if (part.kind == Part::kLiteral) {
    if (rest.substr(0, part.text.size()) != part.text) return false;
    return MatchFrom(index + 1, rest.substr(part.text.size()), captures);
  }
  // A capture takes at least one byte, a wildcard any number; the shortest split that lets the
  // rest match wins (patterns are short, so backtracking is cheap).
  const size_t min_length = part.kind == Part::kCapture ? 1 : 0;
  for (size_t length = min_length; length <= rest.size(); ++length) {
    if (part.kind == Part::kCapture) captures->emplace_back(rest.substr(0, length));
    if (MatchFrom(index + 1, rest.substr(length), captures)) return true;
    if (part.kind == Part::kCapture) captures->pop_back();
  }
  return false;
}

std::string UrlScheme(std::string_view url) {
  size_t colon = url.find("://");
  return colon == std::string_view::npos ? "" : std::string(url.substr(0, colon));
}

std::string RedactUrlText(std::string_view url) {
  size_t start = url.find("://");
  if (start == std::string_view::npos) return std::string(url);
  start += 3;
  size_t end = url.find_first_of("/?", start);
  std::string_view authority =
      url.substr(start, end == std::string_view::npos ? url.npos : end - start);
  size_t at = authority.rfind('@');
  if (at == std::string_view::npos) return std::string(url);
  size_t colon = authority.substr(0, at).find(':');
  if (colon == std::string_view::npos) return std::string(url);
  std::string out(url.substr(0, start + colon + 1));
  out += "***";
  out += url.substr(start + at);
  return out;
}

std::string RouteSpec::Redacted() const {
  std::string out = pattern.text() + " " + RedactUrlText(url);
  if (!query.empty()) out += " \"" + query + "\"";
  if (options.cache_ttl_s) out += " ttl=" + std::to_string(*options.cache_ttl_s);
  if (options.negative_ttl_s) out += " negative-ttl=" + std::to_string(*options.negative_ttl_s);
  if (options.timeout_ms) out += " timeout=" + std::to_string(*options.timeout_ms);
  if (options.pool) out += " pool=" + std::to_string(*options.pool);
  if (options.max_inflight) out += " max-inflight=" + std::to_string(*options.max_inflight);
  if (options.max_queue) out += " max-queue=" + std::to_string(*options.max_queue);
  if (options.breaker_failures) {
    out += " breaker-failures=" + std::to_string(*options.breaker_failures);
  }
  if (options.breaker_cooldown_ms) {
    out += " breaker-cooldown=" + std::to_string(*options.breaker_cooldown_ms);
  }
  if (options.tracking) out += std::string(" tracking=") + (*options.tracking ? "yes" : "no");
  if (!options.listen.empty()) out += " listen=" + options.listen;
  if (options.listen_keepalive_ms) {
    out += " listen-keepalive=" + std::to_string(*options.listen_keepalive_ms);
  }
  if (options.db) out += " db=" + std::to_string(*options.db);
  if (options.stale_while_revalidate_s) {
    out += " stale-while-revalidate=" + std::to_string(*options.stale_while_revalidate_s);
  }
  if (options.stale_if_error_s) {
    out += " stale-if-error=" + std::to_string(*options.stale_if_error_s);
  }
  if (options.refresh_ahead_beta) {
    out += " refresh-ahead-beta=" + FormatBeta(*options.refresh_ahead_beta);
  }
  return out;
}

bool SplitRouteWords(std::string_view text, std::vector<std::string>* words, std::string* error) {
  words->clear();
  size_t i = 0;
  while (i < text.size()) {
    while (i < text.size() && (text[i] == ' ' || text[i] == '\t')) ++i;
    if (i == text.size()) break;
    std::string word;
    while (i < text.size() && text[i] != ' ' && text[i] != '\t') {
      char quote = text[i];
      if (quote != '"' && quote != '\'') {
        word.push_back(text[i++]);
        continue;
      }
      ++i;
      bool closed = false;
      while (i < text.size()) {
        char c = text[i++];
        if (c == quote) {
          closed = true;
          break;
        }
        if (quote == '"' && c == '\\' && i < text.size()) c = text[i++];
        word.push_back(c);
      }
      if (!closed) {
        *error = "unclosed quote";
        return false;
      }
    }
    words->push_back(std::move(word));
  }
  return true;
}

bool ParseRouteSpec(std::string_view text, RouteSpec* out, std::string* error) {
  std::vector<std::string> words;
  std::string why;
  // The message names the route by its pattern and URL, without the URL's password.
  std::string name(text);
  auto fail = [&](const std::string& reason) {
    *error = "route '" + name + "': " + reason;
    return false;
  };
  if (!SplitRouteWords(text, &words, &why)) return fail(why);
  if (words.size() >= 2) name = words[0] + " " + RedactUrlText(words[1]);
  if (words.size() < 2) return fail("expected <pattern> <url> [query] [options]");
  RouteSpec spec;
  if (!KeyPattern::Parse(words[0], &spec.pattern, &why)) return fail(why);
  spec.url = words[1];
  std::string scheme = UrlScheme(spec.url);
  const bool sql = scheme == "sqlite" || scheme == "postgres" || scheme == "postgresql";
  const bool http = scheme == "http" || scheme == "https";
  if (scheme != "redis" && scheme != "unix" && !sql && !http) {
    return fail("unknown origin URL scheme in '" + RedactUrlText(spec.url) +
                "' (known: redis://, unix://, sqlite://, postgres://, http://)");
  }
  size_t next = 2;
  if (next < words.size() && !IsOptionWord(words[next])) spec.query = words[next++];
  for (; next < words.size(); ++next) {
    if (!SetRouteOption(words[next], &spec.options, &why)) return fail(why);
  }
  if (sql && spec.query.empty()) return fail("a " + scheme + ":// route needs a query");
  const bool postgres = scheme == "postgres" || scheme == "postgresql";
  if (!spec.options.listen.empty() && !postgres) return fail("listen= is for postgres:// routes");
  if (spec.options.tracking && scheme != "redis" && scheme != "unix") {
    return fail("tracking= is for redis:// and unix:// routes");
  }
  if (!sql && !spec.query.empty()) {
    return fail("a " + scheme + ":// route takes no query");
  }
  *out = std::move(spec);
  return true;
}

int PickRoute(const std::vector<RouteSpec>& routes, std::string_view key,
              std::vector<std::string>* captures) {
  int best = -1;
  std::vector<std::string> found;
  for (size_t i = 0; i < routes.size(); ++i) {
    const KeyPattern& pattern = routes[i].pattern;
    if (best >= 0 && pattern.literal_prefix_length() <=
                         routes[static_cast<size_t>(best)].pattern.literal_prefix_length()) {
      continue;
    }
    if (pattern.Match(key, &found)) {
      best = static_cast<int>(i);
      if (captures) *captures = found;
    }
  }
  return best;
}

}  // namespace flightcache::origin
