// origin_url.h — the address of a Redis-protocol origin, parsed from a URL.
//
// Accepted forms:
//   redis://[[user]:password@]host[:port][/db]      host may be [ipv6]
//   unix:///path/to.sock[?db=N][&user=U][&password=P]
// User and password may be percent-encoded. Parsing never throws: it returns std::nullopt and
// a one-line reason. RedactedUrl() is what INFO and logs print: it never contains the password.
// Callers: server config at start-up, RedisOrigin::Describe().
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace flightcache::origin {

struct OriginUrl {
  bool is_unix = false;
  std::string host;       // TCP only; without brackets for IPv6
  int port = 6379;        // TCP only; 1..65535
  std::string unix_path;  // unix only; absolute
  std::string user;       // empty: AUTH with the password alone (the "default" user)
  std::string password;   // empty: no AUTH
  int db = 0;             // SELECTed on connect when not 0
};

// Parses text into an OriginUrl. On failure returns std::nullopt and, when error is not null,
// sets *error to a reason such as "origin url: port must be 1..65535".
std::optional<OriginUrl> ParseOriginUrl(std::string_view text, std::string* error);

// The URL without its password (shown as "***"), e.g. "redis://alice:***@10.0.0.1:6379/2".
std::string RedactedUrl(const OriginUrl& url);

}  // namespace flightcache::origin
