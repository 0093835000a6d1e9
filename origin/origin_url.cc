// origin_url.cc — parsing and redacting origin URLs (see origin_url.h for the accepted forms).
//
// A hand-written parser rather than a regex: the grammar is small, errors name the part that
// is wrong, and nothing here allocates more than the result. Runs once at start-up.
#include "origin/origin_url.h"

#include <charconv>
#include <climits>

namespace flightcache::origin {
namespace {

bool Fail(std::string* error, std::string_view reason) {
  if (error != nullptr) *error = "origin url: " + std::string(reason);
  return false;
}

// Parses a whole string of decimal digits into [min, max]. No sign, no spaces, no suffix.
bool ParseInt(std::string_view text, long long min, long long max, int* out) {
  if (text.empty() || text.size() > 10) return false;
  long long value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size()) return false;
  if (text.front() == '+' || text.front() == '-') return false;
  if (value < min || value > max) return false;
  *out = static_cast<int>(value);
  return true;
}

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Decodes %XX escapes, so a password may contain '@', ':' or '/'.
bool PercentDecode(std::string_view text, std::string* out) {
  out->clear();
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] != '%') {
      out->push_back(text[i]);
      continue;
    }
    if (i + 2 >= text.size()) return false;
    int hi = HexValue(text[i + 1]);
    int lo = HexValue(text[i + 2]);
    if (hi < 0 || lo < 0) return false;
    out->push_back(static_cast<char>(hi * 16 + lo));
    i += 2;
  }
  return true;
}

bool StartsWithNoCase(std::string_view text, std::string_view prefix) {
  if (text.size() < prefix.size()) return false;
  for (size_t i = 0; i < prefix.size(); ++i) {
    char c = text[i];
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    if (c != prefix[i]) return false;
  }
  return true;
}

// "[user]:password" -> user, password. A user without a password is refused: it is ambiguous
// (some clients read "redis://secret@host" as a password) and AUTH needs a password anyway.
bool ParseUserInfo(std::string_view info, OriginUrl* url, std::string* error) {
  size_t colon = info.find(':');
  if (colon == std::string_view::npos) {
    return Fail(error, "credentials need a ':' (redis://:password@host or user:password@host)");
  }
  if (!PercentDecode(info.substr(0, colon), &url->user) ||
      !PercentDecode(info.substr(colon + 1), &url->password)) {
    return Fail(error, "bad %-escape in credentials");
  }
  if (url->password.empty()) return Fail(error, "empty password");
  return true;
}

// host, host:port, [v6], [v6]:port
bool ParseHostPort(std::string_view hostport, OriginUrl* url, std::string* error) {
  std::string_view host = hostport;
  std::string_view port;
  if (!hostport.empty() && hostport.front() == '[') {
    size_t close = hostport.find(']');
    if (close == std::string_view::npos) return Fail(error, "missing ']' after IPv6 host");
    host = hostport.substr(1, close - 1);
    std::string_view rest = hostport.substr(close + 1);
    if (!rest.empty()) {
      if (rest.front() != ':') return Fail(error, "unexpected text after ']'");
      port = rest.substr(1);
      if (port.empty()) return Fail(error, "empty port");
    }
  } else {
    size_t colon = hostport.find(':');
    if (colon != std::string_view::npos) {
      host = hostport.substr(0, colon);
      port = hostport.substr(colon + 1);
      if (port.empty()) return Fail(error, "empty port");
    }
  }
  if (host.empty()) return Fail(error, "empty host");
  url->host = std::string(host);
  if (!port.empty() && !ParseInt(port, 1, 65535, &url->port)) {
    return Fail(error, "port must be 1..65535");
  }
  return true;
}

bool ParseRedis(std::string_view rest, OriginUrl* url, std::string* error) {
  if (rest.find_first_of("?#") != std::string_view::npos) {
    return Fail(error, "redis:// URLs take no query (put the db in the path: /N)");
  }
  size_t slash = rest.find('/');
  std::string_view authority = rest.substr(0, slash);
  if (slash != std::string_view::npos) {
    std::string_view db = rest.substr(slash + 1);
    if (!db.empty() && !ParseInt(db, 0, INT_MAX, &url->db)) {
      return Fail(error, "db must be a non-negative integer");
    }
  }
  size_t at = authority.rfind('@');
  if (at != std::string_view::npos) {
    if (!ParseUserInfo(authority.substr(0, at), url, error)) return false;
    authority = authority.substr(at + 1);
  }
  return ParseHostPort(authority, url, error);
}

// unix:///path?db=N&user=U&password=P. The query keys follow redis-py's unix URLs.
bool ParseUnix(std::string_view rest, OriginUrl* url, std::string* error) {
  url->is_unix = true;
  if (rest.empty() || rest.front() != '/') {
    return Fail(error, "unix socket path must be absolute (unix:///path/to.sock)");
  }
  size_t query = rest.find('?');
  std::string_view path = rest.substr(0, query);
  if (path.size() < 2) return Fail(error, "empty unix socket path");
  url->unix_path = std::string(path);
  if (query == std::string_view::npos) return true;
  std::string_view params = rest.substr(query + 1);
  while (!params.empty()) {
    size_t amp = params.find('&');
    std::string_view param = params.substr(0, amp);
    params = amp == std::string_view::npos ? std::string_view() : params.substr(amp + 1);
    size_t eq = param.find('=');
    if (eq == std::string_view::npos) return Fail(error, "query parameter without '='");
    std::string_view name = param.substr(0, eq);
    std::string_view value = param.substr(eq + 1);
    if (name == "db") {
      if (!ParseInt(value, 0, INT_MAX, &url->db)) {
        return Fail(error, "db must be a non-negative integer");
      }
    } else if (name == "password") {
      if (!PercentDecode(value, &url->password)) return Fail(error, "bad %-escape in password");
    } else if (name == "user") {
      if (!PercentDecode(value, &url->user)) return Fail(error, "bad %-escape in user");
    } else {
      return Fail(error, "unknown query parameter '" + std::string(name) + "'");
    }
  }
  if (!url->user.empty() && url->password.empty()) return Fail(error, "user without password");
  return true;
}

}  // namespace

std::optional<OriginUrl> ParseOriginUrl(std::string_view text, std::string* error) {
  OriginUrl url;
  bool ok = false;
  if (StartsWithNoCase(text, "redis://")) {
    ok = ParseRedis(text.substr(8), &url, error);
  } else if (StartsWithNoCase(text, "unix://")) {
    ok = ParseUnix(text.substr(7), &url, error);
  } else if (StartsWithNoCase(text, "rediss://")) {
    ok = Fail(error, "TLS (rediss://) is not supported");
  } else {
    ok = Fail(error, "scheme must be redis:// or unix://");
  }
  if (!ok) return std::nullopt;
  return url;
}

std::string RedactedUrl(const OriginUrl& url) {
  // Built with append() only: GCC 12 at -O3 reports a false -Wrestrict on chained operator+.
  std::string out;
  if (url.is_unix) {
    out.append("unix://").append(url.unix_path);
    char sep = '?';
    auto param = [&](std::string_view name, std::string_view value) {
      out.push_back(sep);
      out.append(name).append("=").append(value);
      sep = '&';
    };
    if (url.db != 0) param("db", std::to_string(url.db));
    if (!url.user.empty()) param("user", url.user);
    if (!url.password.empty()) param("password", "***");
    return out;
  }
  out.append("redis://");
  if (!url.password.empty()) out.append(url.user).append(":***@");
  bool ipv6 = url.host.find(':') != std::string::npos;
  if (ipv6) out.push_back('[');
  out.append(url.host);
  if (ipv6) out.push_back(']');
  out.append(":").append(std::to_string(url.port));
  out.append("/").append(std::to_string(url.db));
  return out;
}

}  // namespace flightcache::origin
