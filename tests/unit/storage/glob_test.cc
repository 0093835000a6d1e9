// glob_test.cc — glob patterns as KEYS and SCAN MATCH use them.
#include "storage/glob.h"

#include <doctest/doctest.h>

#include <string>

using flightcache::storage::GlobMatch;

TEST_CASE("glob patterns match as in Redis") {
  CHECK(GlobMatch("*", "anything"));
  CHECK(GlobMatch("h?llo", "hello"));
  CHECK_FALSE(GlobMatch("h?llo", "hllo"));
  CHECK(GlobMatch("h*llo", "heeeello"));
  CHECK(GlobMatch("h[ae]llo", "hallo"));
  CHECK_FALSE(GlobMatch("h[ae]llo", "hillo"));
  CHECK(GlobMatch("h[^e]llo", "hallo"));
  CHECK_FALSE(GlobMatch("h[^e]llo", "hello"));
  CHECK(GlobMatch("h[a-b]llo", "hbllo"));
  CHECK(GlobMatch("key:\\*", "key:*"));
  CHECK_FALSE(GlobMatch("key:\\*", "key:a"));
  CHECK(GlobMatch("MAX*", "maxclients", true));
  CHECK_FALSE(GlobMatch("MAX*", "maxclients", false));
  CHECK(GlobMatch("", ""));
  CHECK_FALSE(GlobMatch("a", ""));
}

TEST_CASE("a pathological pattern finishes") {
  std::string text(200, 'a');
  CHECK_FALSE(GlobMatch("*a*a*a*a*a*a*a*a*a*b", text));
}
