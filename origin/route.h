// route.h — routes: which origin a key is read from, chosen by key pattern.
//
// A route is one line, from a `route` config line or a `--route` flag:
//   <pattern> <url> [query] [ttl=S] [negative-ttl=S] [timeout=MS] [pool=N]
//             [max-inflight=N] [max-queue=N] [breaker-failures=N] [breaker-cooldown=MS]
//             [tracking=yes|no] [listen=CHANNEL] [listen-keepalive=MS] [db=N]
//             [stale-while-revalidate=S] [stale-if-error=S] [refresh-ahead-beta=B]
// A pattern is literal text with `{name}` captures and `*` wildcards: `user:{id}` matches
// "user:42" with id = "42"; `*` alone matches every key. A capture matches one or more bytes, a
// `*` zero or more; neither is ever interpreted. Captured parts are handed to the origin as
// bound parameters (never spliced into SQL or a URL by this module). Among the routes that
// match a key, the one with the longest literal prefix (the text before its first capture or
// wildcard) wins; on a tie, the one given first. Parsing never throws: it returns false with a
// message. Callers: server config (start-up checks, CONFIG GET) and the router.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace flightcache::origin {

class KeyPattern {
 public:
  // Parses text; false with *error on an empty pattern, an unclosed or empty `{}`, or two
  // captures/wildcards with nothing between them (the split would be ambiguous).
  static bool Parse(std::string_view text, KeyPattern* out, std::string* error);

  // True when key matches the whole pattern; captures (in pattern order) go to *captures.
  bool Match(std::string_view key, std::vector<std::string>* captures) const;

  const std::string& text() const { return text_; }
  // The literal text before the first capture or wildcard.
  size_t literal_prefix_length() const { return prefix_length_; }
  // The names of the captures, in order.
  const std::vector<std::string>& capture_names() const { return names_; }

 private:
  struct Part {
    enum Kind : uint8_t { kLiteral, kCapture, kWildcard } kind;
    std::string text;  // the literal, or the capture's name
  };
  bool MatchFrom(size_t part, std::string_view rest, std::vector<std::string>* captures) const;

  std::string text_;
  std::vector<Part> parts_;
  std::vector<std::string> names_;
  size_t prefix_length_ = 0;
};

// Options a route may set for itself; unset ones follow the global options.
struct RouteOptions {
  std::optional<int64_t> cache_ttl_s;     // ttl=S
  std::optional<int64_t> negative_ttl_s;  // negative-ttl=S
  std::optional<int> timeout_ms;          // timeout=MS
  std::optional<int> pool;                // pool=N (most connections)
  // Origin protection (origin/circuit_breaker.h, pool.h) and invalidation (invalidation.h).
  std::optional<int> max_inflight;         // max-inflight=N
  std::optional<int> max_queue;            // max-queue=N
  std::optional<int> breaker_failures;     // breaker-failures=N
  std::optional<int> breaker_cooldown_ms;  // breaker-cooldown=MS
  std::optional<bool> tracking;            // tracking=yes|no (redis:// routes)
  std::string listen;                      // listen=CHANNEL (postgres:// routes); "" for none
  std::optional<int> listen_keepalive_ms;  // listen-keepalive=MS (0: off)
  // db=N: the database whose reads of the route's keys read through (and which its fills and
  // invalidations apply to); 0 when unset. Checked against `databases` at start-up.
  std::optional<int> db;
  // Freshness (origin/read_through.h): stale-while-revalidate=S, stale-if-error=S,
  // refresh-ahead-beta=B.
  std::optional<int64_t> stale_while_revalidate_s;
  std::optional<int64_t> stale_if_error_s;
  std::optional<double> refresh_ahead_beta;
};

struct RouteSpec {
  KeyPattern pattern;
  std::string url;    // as given (it may hold a password: print Redacted())
  std::string query;  // SQL for sqlite:// (and later postgres://); empty for other kinds
  RouteOptions options;
  // "user:{id} sqlite:///tmp/app.db" without any password, for logs, INFO and CONFIG GET.
  std::string Redacted() const;
};

// Splits a route line into words: blanks separate, "double" or 'single' quotes group (with
// \" and \\ escapes inside double quotes). False with *error on an unclosed quote.
bool SplitRouteWords(std::string_view text, std::vector<std::string>* words, std::string* error);

// Parses one route line (see the top of this file). Checks the pattern, the option names and
// values and that the URL has a known scheme; the URL itself is checked by its origin kind.
bool ParseRouteSpec(std::string_view text, RouteSpec* out, std::string* error);

// The largest refresh-ahead β accepted (flag, config and route option).
inline constexpr double kMaxRefreshAheadBeta = 1e6;
// Parses a refresh-ahead β: a finite number from 0 to kMaxRefreshAheadBeta.
bool ParseRefreshAheadBeta(std::string_view text, double* out);
// β as CONFIG GET and ORIGIN ROUTES print it (shortest form: "0", "1", "0.5").
std::string FormatBeta(double beta);

// The URL's scheme ("redis", "sqlite", ...), or "" when it has none.
std::string UrlScheme(std::string_view url);

// url with the password of user:password@ shown as "***".
std::string RedactUrlText(std::string_view url);

// The index of the route that serves key (see the top of this file), or -1 for none.
int PickRoute(const std::vector<RouteSpec>& routes, std::string_view key,
              std::vector<std::string>* captures);

}  // namespace flightcache::origin
