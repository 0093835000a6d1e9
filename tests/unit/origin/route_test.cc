// route_test.cc — key patterns, route lines and route choice (origin/route.h).
#include "origin/route.h"

#include <doctest/doctest.h>

namespace flightcache::origin {
namespace {

RouteSpec Spec(const std::string& text) {
  RouteSpec spec;
  std::string error;
  REQUIRE_MESSAGE(ParseRouteSpec(text, &spec, &error), error);
  return spec;
}

std::string RouteError(const std::string& text) {
  RouteSpec spec;
  std::string error;
  CHECK_FALSE(ParseRouteSpec(text, &spec, &error));
  return error;
}

TEST_CASE("a pattern captures the parts of a key between its literals") {
  KeyPattern p;
  std::string error;
  REQUIRE(KeyPattern::Parse("user:{id}:post:{post}", &p, &error));
  std::vector<std::string> captures;
  REQUIRE(p.Match("user:42:post:7", &captures));
  CHECK(captures == std::vector<std::string>{"42", "7"});
  CHECK(p.capture_names() == std::vector<std::string>{"id", "post"});
  CHECK(p.literal_prefix_length() == 5);
  CHECK_FALSE(p.Match("user::post:7", &captures));  // a capture takes at least one byte
  CHECK_FALSE(p.Match("user:42", &captures));
  REQUIRE(KeyPattern::Parse("*", &p, &error));
  CHECK(p.Match("", &captures));
  CHECK(p.Match("anything at all", &captures));
  CHECK(p.literal_prefix_length() == 0);
}

TEST_CASE("a capture takes binary bytes and braces in the key as they are") {
  KeyPattern p;
  std::string error;
  REQUIRE(KeyPattern::Parse("k:{id}", &p, &error));
  std::vector<std::string> captures;
  const std::string key("k:\0\xff'; DROP TABLE x; --{}", 25);
  REQUIRE(p.Match(key, &captures));
  CHECK(captures[0] == key.substr(2));
}

TEST_CASE("bad patterns are refused with a reason") {
  KeyPattern p;
  std::string error;
  CHECK_FALSE(KeyPattern::Parse("", &p, &error));
  CHECK_FALSE(KeyPattern::Parse("user:{id", &p, &error));
  CHECK_FALSE(KeyPattern::Parse("user:{}", &p, &error));
  CHECK_FALSE(KeyPattern::Parse("user:{a}{b}", &p, &error));
  CHECK(error.find("text between them") != std::string::npos);
}

TEST_CASE("a route line has a pattern, a URL, a quoted query and options") {
  RouteSpec spec = Spec(
      "user:{id} sqlite:///tmp/app.db \"SELECT profile FROM users WHERE id = ?1\" ttl=60 "
      "negative-ttl=5 timeout=500 pool=8");
  CHECK(spec.pattern.text() == "user:{id}");
  CHECK(spec.url == "sqlite:///tmp/app.db");
  CHECK(spec.query == "SELECT profile FROM users WHERE id = ?1");
  CHECK(*spec.options.cache_ttl_s == 60);
  CHECK(*spec.options.negative_ttl_s == 5);
  CHECK(*spec.options.timeout_ms == 500);
  CHECK(*spec.options.pool == 8);
  RouteSpec redis = Spec("* redis://127.0.0.1:6380");
  CHECK(redis.query.empty());
  CHECK_FALSE(redis.options.pool.has_value());
}

TEST_CASE("db= and listen-keepalive= are route options, shown in the redacted route") {
  RouteSpec spec =
      Spec("user:{id} postgres://app@h/db \"SELECT 1\" listen=c listen-keepalive=250 db=3");
  CHECK(*spec.options.db == 3);
  CHECK(*spec.options.listen_keepalive_ms == 250);
  CHECK(spec.Redacted() ==
        "user:{id} postgres://app@h/db \"SELECT 1\" listen=c listen-keepalive=250 db=3");
  CHECK_FALSE(Spec("* redis://h").options.db.has_value());
  CHECK(RouteError("x:{id} redis://h db=-1").find("route option 'db'") != std::string::npos);
  CHECK(RouteError("x:{id} redis://h listen-keepalive=x").find("'listen-keepalive'") !=
        std::string::npos);
}

TEST_CASE("bad route lines name the route and never show its password") {
  CHECK(RouteError("user:{id}").find("route 'user:{id}'") != std::string::npos);
  CHECK(RouteError("x:{id} ftp://host/").find("unknown origin URL scheme") != std::string::npos);
  CHECK(RouteError("x:{id} postgres://h/db").find("needs a query") != std::string::npos);
  CHECK(RouteError("x:{id} sqlite:///a.db").find("needs a query") != std::string::npos);
  CHECK(RouteError("x:{id} sqlite:///a.db \"SELECT 1\" pool=0").find("pool") != std::string::npos);
  CHECK(RouteError("x:{id} sqlite:///a.db \"SELECT 1\" color=red").find("unknown route option") !=
        std::string::npos);
  CHECK(RouteError("x:{id} sqlite:///a.db \"SELECT 1").find("unclosed quote") != std::string::npos);
  const std::string error = RouteError("x:{id} redis://u:hunter2@host:1 \"SELECT 1\"");
  CHECK(error.find("route 'x:{id} redis://u:***@host:1'") != std::string::npos);
  CHECK(error.find("hunter2") == std::string::npos);
}

TEST_CASE("a redacted route hides the password") {
  CHECK(Spec("* redis://alice:secret@10.0.0.1:6379/2").Redacted() ==
        "* redis://alice:***@10.0.0.1:6379/2");
  CHECK(RedactUrlText("redis://:secret@h") == "redis://:***@h");
  CHECK(RedactUrlText("redis://h:6379") == "redis://h:6379");
}

TEST_CASE("the route with the longest literal prefix wins; the first on a tie; none is -1") {
  std::vector<RouteSpec> routes = {Spec("* redis://h:1"), Spec("user:{id} redis://h:2"),
                                   Spec("user:admin:{id} redis://h:3"),
                                   Spec("user:{a}:x redis://h:4")};
  std::vector<std::string> captures;
  CHECK(PickRoute(routes, "user:admin:9", &captures) == 2);
  CHECK(captures == std::vector<std::string>{"9"});
  CHECK(PickRoute(routes, "user:5", &captures) == 1);
  CHECK(PickRoute(routes, "user:5:x", &captures) == 1);  // same prefix: the first given
  CHECK(PickRoute(routes, "page:1", &captures) == 0);
  routes.erase(routes.begin());
  CHECK(PickRoute(routes, "page:1", &captures) == -1);
}

}  // namespace
}  // namespace flightcache::origin
