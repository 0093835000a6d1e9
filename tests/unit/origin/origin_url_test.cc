// origin_url_test.cc — ParseOriginUrl accepts the documented forms, refuses malformed ones with
// a reason, and RedactedUrl never shows the password. Also holds the doctest main for the
// origin unit test binary.
#define DOCTEST_CONFIG_IMPLEMENT_WITH_MAIN
#include "origin/origin_url.h"

#include <doctest/doctest.h>

namespace flightcache::origin {
namespace {

OriginUrl MustParse(const char* text) {
  std::string error;
  auto url = ParseOriginUrl(text, &error);
  INFO("url: ", text, " error: ", error);
  REQUIRE(url.has_value());
  return *url;
}

TEST_CASE("a bare redis URL defaults to port 6379 and db 0 without credentials") {
  OriginUrl url = MustParse("redis://localhost");
  CHECK_FALSE(url.is_unix);
  CHECK(url.host == "localhost");
  CHECK(url.port == 6379);
  CHECK(url.db == 0);
  CHECK(url.user.empty());
  CHECK(url.password.empty());
}

TEST_CASE("a full redis URL yields user, password, host, port and db") {
  OriginUrl url = MustParse("redis://alice:s3cret@10.0.0.7:6380/5");
  CHECK(url.user == "alice");
  CHECK(url.password == "s3cret");
  CHECK(url.host == "10.0.0.7");
  CHECK(url.port == 6380);
  CHECK(url.db == 5);
}

TEST_CASE("a password alone, percent escapes, IPv6 hosts and a trailing slash parse") {
  OriginUrl url = MustParse("redis://:p%40ss%3Aw0rd@[::1]:7000/");
  CHECK(url.user.empty());
  CHECK(url.password == "p@ss:w0rd");
  CHECK(url.host == "::1");
  CHECK(url.port == 7000);
  CHECK(url.db == 0);
  CHECK(MustParse("REDIS://h:1/0").port == 1);
  CHECK(MustParse("redis://h:65535").port == 65535);
  CHECK(MustParse("redis://[fe80::1]").port == 6379);
}

TEST_CASE("a unix URL takes an absolute path and optional db, user and password") {
  OriginUrl url = MustParse("unix:///var/run/redis.sock");
  CHECK(url.is_unix);
  CHECK(url.unix_path == "/var/run/redis.sock");
  CHECK(url.db == 0);
  url = MustParse("unix:///tmp/r.sock?db=3&user=bob&password=pw");
  CHECK(url.unix_path == "/tmp/r.sock");
  CHECK(url.db == 3);
  CHECK(url.user == "bob");
  CHECK(url.password == "pw");
}

TEST_CASE("malformed URLs are refused with a reason") {
  const char* bad[] = {
      "",
      "http://host",
      "rediss://host",
      "redis://",
      "redis://:6379",
      "redis://host:0",
      "redis://host:65536",
      "redis://host:",
      "redis://host:12ab",
      "redis://host:-1",
      "redis://host/-1",
      "redis://host/x",
      "redis://host/1/2",
      "redis://host?db=1",
      "redis://user@host",
      "redis://user:@host",
      "redis://:pw%4@host",
      "redis://[::1",
      "redis://[::1]x",
      "unix://",
      "unix://relative.sock",
      "unix:///",
      "unix:///tmp/r.sock?db=",
      "unix:///tmp/r.sock?db=-2",
      "unix:///tmp/r.sock?foo=1",
      "unix:///tmp/r.sock?db",
      "unix:///tmp/r.sock?user=u",
  };
  for (const char* text : bad) {
    std::string error;
    INFO("url: '", text, "'");
    CHECK_FALSE(ParseOriginUrl(text, &error).has_value());
    CHECK(error.rfind("origin url: ", 0) == 0);
  }
  CHECK_FALSE(ParseOriginUrl("nope", nullptr).has_value());  // error is optional
}

TEST_CASE("RedactedUrl shows everything but the password") {
  CHECK(RedactedUrl(MustParse("redis://alice:s3cret@h:6380/2")) == "redis://alice:***@h:6380/2");
  CHECK(RedactedUrl(MustParse("redis://:s3cret@h")) == "redis://:***@h:6379/0");
  CHECK(RedactedUrl(MustParse("redis://h")) == "redis://h:6379/0");
  CHECK(RedactedUrl(MustParse("redis://[::1]:7000")) == "redis://[::1]:7000/0");
  CHECK(RedactedUrl(MustParse("unix:///tmp/r.sock")) == "unix:///tmp/r.sock");
  std::string redacted = RedactedUrl(MustParse("unix:///tmp/r.sock?db=2&password=s3cret"));
  CHECK(redacted == "unix:///tmp/r.sock?db=2&password=***");
  CHECK(redacted.find("s3cret") == std::string::npos);
}

}  // namespace
}  // namespace flightcache::origin
