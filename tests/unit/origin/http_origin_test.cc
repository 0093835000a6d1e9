// http_origin_test.cc — the HTTP kind's URL templates, percent-encoding and Cache-Control
// parsing (origin/http_origin.h). Transfers are tested against a real server in
// tests/integration/http_origin_test.cc.
#include "origin/http_origin.h"

#include <doctest/doctest.h>

namespace flightcache::origin {
namespace {

TEST_CASE("percent-encoding keeps only the unreserved bytes") {
  CHECK(PercentEncode("abcXYZ019-._~") == "abcXYZ019-._~");
  CHECK(PercentEncode("a b/c?d#e%f") == "a%20b%2Fc%3Fd%23e%25f");
  CHECK(PercentEncode("\xC3\xA9") == "%C3%A9");
  CHECK(PercentEncode(std::string("\0\xff", 2)) == "%00%FF");
}

TEST_CASE("a URL template puts each capture, encoded, where its name stands") {
  HttpUrlTemplate url;
  std::string error;
  REQUIRE(ParseHttpUrl("http://h:8080/u/{id}/p/{post}?x=1", {"id", "post"}, &url, &error));
  CHECK(url.Expand("user:1:2", {"a/b", "c d"}) == "http://h:8080/u/a%2Fb/p/c%20d?x=1");
  REQUIRE(ParseHttpUrl("https://h/all/{key}", {}, &url, &error));
  CHECK(url.Expand("k:1", {}) == "https://h/all/k%3A1");
}

TEST_CASE("a URL template refuses other schemes, unknown names and unclosed braces") {
  HttpUrlTemplate url;
  std::string error;
  CHECK_FALSE(ParseHttpUrl("ftp://h/{id}", {"id"}, &url, &error));
  CHECK_FALSE(ParseHttpUrl("http://h/{nope}", {"id"}, &url, &error));
  CHECK(error.find("{nope} names no capture") != std::string::npos);
  CHECK_FALSE(ParseHttpUrl("http://h/{id", {"id"}, &url, &error));
  CHECK_FALSE(ParseHttpUrl("http://a b/{id}", {"id"}, &url, &error));
}

TEST_CASE("Cache-Control gives max-age, s-maxage over it, and what may not be stored") {
  CacheControl cc;
  ParseCacheControl(" public, max-age=300", &cc);
  CHECK(cc.max_age_s == 300);
  CHECK_FALSE(cc.no_store);
  cc = {};
  ParseCacheControl("max-age=60, s-maxage=\"10\"", &cc);
  CHECK(cc.max_age_s == 10);
  cc = {};
  ParseCacheControl("No-Store", &cc);
  CHECK(cc.no_store);
  cc = {};
  ParseCacheControl("private, max-age=5", &cc);
  CHECK(cc.no_store);
  cc = {};
  ParseCacheControl("max-age=abc", &cc);
  CHECK(cc.max_age_s == -1);
  cc = {};
  ParseCacheControl("max-age=99999999999999999999", &cc);
  CHECK(cc.max_age_s == INT32_MAX);
}

TEST_CASE("Cache-Control stale-while-revalidate and stale-if-error give the entry's windows") {
  CacheControl cc;
  ParseCacheControl("max-age=600, stale-while-revalidate=30, Stale-If-Error=\"86400\"", &cc);
  CHECK(cc.max_age_s == 600);
  CHECK(cc.stale_while_revalidate_s == 30);
  CHECK(cc.stale_if_error_s == 86400);
  CHECK_FALSE(cc.no_store);
  cc = {};
  ParseCacheControl("max-age=60", &cc);
  CHECK(cc.stale_while_revalidate_s == -1);
  CHECK(cc.stale_if_error_s == -1);
  cc = {};
  ParseCacheControl("stale-while-revalidate=x, stale-if-error=-1", &cc);
  CHECK(cc.stale_while_revalidate_s == -1);
  CHECK(cc.stale_if_error_s == -1);
}

}  // namespace
}  // namespace flightcache::origin
