// invalidation_test.cc — invalidation pushed from the origin, against a real redis-server from
// Debian (CLIENT TRACKING redirected to a `__redis__:invalidate` subscriber): a SET at the
// origin reaches the cache without any TTL, BCAST PREFIX for a prefix-scoped route, FLUSHALL at
// the origin, and a killed invalidation connection (entries dropped, tracking re-established).
// Values are filled with no TTL at all, so a changed value can only come from an invalidation.
// Every wait is on the server's own INFO counters or on the answer itself (WaitUntil).
#include <doctest/doctest.h>

#include <memory>
#include <string>
#include <vector>

#include "tests/integration/server_process.h"

namespace flightcache::integration {
namespace {

// Debian's redis-server on a free port of 127.0.0.1, without persistence.
struct RedisOriginServer {
  RedisOriginServer() {
    for (int attempt = 0;; ++attempt) {
      port = FreeTcpPort();
      try {
        process = std::make_unique<ChildProcess>(
            SpawnOptions{"/usr/bin/redis-server",
                         {"--port", std::to_string(port), "--bind", "127.0.0.1", "--save", "",
                          "--appendonly", "no"},
                         {},
                         port});
        break;
      } catch (const std::exception&) {
        if (attempt == 4) throw;
      }
    }
    c = Connect(port);
  }
  std::string Url() const { return "redis://127.0.0.1:" + std::to_string(port); }
  int port = 0;
  std::unique_ptr<ChildProcess> process;
  ContextPtr c;
};

// One field of route N's INFO line, or "".
std::string RouteField(redisContext* c, const std::string& name, int route = 0) {
  const std::string line = InfoValue(c, "origin_route" + std::to_string(route));
  const size_t at = line.find("," + name + "=");
  if (at == std::string::npos) return "";
  const size_t start = at + name.size() + 2;
  return line.substr(start, line.find(',', start) - start);
}

void WaitRouteField(redisContext* c, const std::string& name, const std::string& value,
                    int route = 0) {
  std::string seen;
  const bool reached = WaitUntil([&] { return (seen = RouteField(c, name, route)) == value; });
  CAPTURE(name);
  CAPTURE(seen);
  REQUIRE(reached);
}

}  // namespace

TEST_CASE("a SET at a redis-server origin reaches the cache without waiting for a TTL") {
  RedisOriginServer origin;
  ServerProcess server({"--origin", origin.Url(), "--cache-ttl", "0"});
  ContextPtr c = Connect(server.port());
  WaitRouteField(c.get(), "tracking", "up");
  CHECK(Do(origin.c, {"SET", "k", "v1"}) == "+OK");
  CHECK(Do(c, {"GET", "k"}) == "v1");
  CHECK(Do(c, {"TTL", "k"}) == ":-1");  // filled, with no expiry
  CHECK(Do(origin.c, {"SET", "k", "v2"}) == "+OK");
  // The invalidation deletes the cached key; the next read fetches the new value.
  REQUIRE(WaitUntil([&] { return Do(c, {"EXISTS", "k"}) == ":0"; }));
  CHECK(Do(c, {"GET", "k"}) == "v2");
  CHECK(std::stoll(RouteField(c.get(), "invalidations")) >= 1);
  CHECK(InfoNumber(c, "origin_invalidated_keys") >= 1);
  // Tracking goes on: the refetched key is tracked again.
  CHECK(Do(origin.c, {"DEL", "k"}) == ":1");
  REQUIRE(WaitUntil([&] { return Do(c, {"EXISTS", "k"}) == ":0"; }));
  CHECK(Do(c, {"GET", "k"}) == "(nil)");
}

TEST_CASE("with stale-while-revalidate an origin invalidation marks the value stale") {
  RedisOriginServer origin;
  ServerProcess server(
      {"--origin", origin.Url(), "--cache-ttl", "600", "--stale-while-revalidate", "600"});
  ContextPtr c = Connect(server.port());
  WaitRouteField(c.get(), "tracking", "up");
  CHECK(Do(origin.c, {"SET", "k", "v1"}) == "+OK");
  CHECK(Do(c, {"GET", "k"}) == "v1");
  CHECK(Do(origin.c, {"SET", "k", "v2"}) == "+OK");
  REQUIRE(WaitUntil([&] { return InfoNumber(c, "origin_invalidated_keys") >= 1; }));
  // Stale: gone for every command but a read-through read, which gets the old value at once
  // and starts one background refresh that brings the new one.
  CHECK(Do(c, {"EXISTS", "k"}) == ":0");
  CHECK(Do(c, {"GET", "k"}) == "v1");
  CHECK(InfoNumber(c, "origin_stale_hits") == 1);
  REQUIRE(WaitUntil([&] { return Do(c, {"GET", "k"}) == "v2"; }));
  CHECK(Do(c, {"EXISTS", "k"}) == ":1");
}

TEST_CASE("with --origin-tracking no a change at the origin waits for the TTL") {
  RedisOriginServer origin;
  ServerProcess server({"--origin", origin.Url(), "--origin-tracking", "no"});
  ContextPtr c = Connect(server.port());
  CHECK(Do(c, {"CONFIG", "GET", "origin-tracking"}) == "[origin-tracking, no]");
  CHECK(Do(origin.c, {"SET", "k", "v1"}) == "+OK");
  CHECK(Do(c, {"GET", "k"}) == "v1");
  CHECK(Do(origin.c, {"SET", "k", "v2"}) == "+OK");
  // No subscriber at the origin: only the fetch connections are there.
  CHECK(Do(origin.c, {"CLIENT", "KILL", "TYPE", "pubsub"}) == ":0");
  CHECK(Do(c, {"GET", "k"}) == "v1");
  CHECK(RouteField(c.get(), "tracking").empty());
}

TEST_CASE("a prefix-scoped route tracks with BCAST PREFIX and leaves keys it does not serve") {
  RedisOriginServer origin;
  ServerProcess server({"--route", "user:{id}:name " + origin.Url()});
  ContextPtr c = Connect(server.port());
  WaitRouteField(c.get(), "tracking", "up");
  CHECK(Do(origin.c, {"SET", "user:1:name", "ann"}) == "+OK");
  CHECK(Do(c, {"GET", "user:1:name"}) == "ann");
  // Under the prefix "user:" but not served by the route: a local key, which stays.
  CHECK(Do(c, {"SET", "user:1:email", "local"}) == "+OK");
  // BCAST: the origin reports every key under the prefix, read by the cache or not.
  const long long before = std::stoll(RouteField(c.get(), "invalidations"));
  CHECK(Do(origin.c, {"SET", "user:1:email", "x"}) == "+OK");
  REQUIRE(WaitUntil([&] { return std::stoll(RouteField(c.get(), "invalidations")) > before; }));
  CHECK(Do(c, {"GET", "user:1:email"}) == "local");
  CHECK(Do(origin.c, {"SET", "user:1:name", "bob"}) == "+OK");
  REQUIRE(WaitUntil([&] { return Do(c, {"GET", "user:1:name"}) == "bob"; }));
  CHECK(Do(c, {"GET", "user:1:email"}) == "local");
}

TEST_CASE("FLUSHALL at the origin drops every entry filled from it") {
  RedisOriginServer origin;
  ServerProcess server({"--origin", origin.Url()});
  ContextPtr c = Connect(server.port());
  WaitRouteField(c.get(), "tracking", "up");
  for (int i = 0; i < 50; ++i) {
    CHECK(Do(origin.c, {"SET", "f" + std::to_string(i), "v"}) == "+OK");
    CHECK(Do(c, {"GET", "f" + std::to_string(i)}) == "v");
  }
  CHECK(Do(c, {"DBSIZE"}) == ":50");
  CHECK(Do(origin.c, {"FLUSHALL"}) == "+OK");
  REQUIRE(WaitUntil([&] { return Do(c, {"DBSIZE"}) == ":0"; }));
  CHECK(std::stoll(RouteField(c.get(), "invalidation_flushes")) >= 1);
  CHECK(Do(c, {"GET", "f1"}) == "(nil)");
}

TEST_CASE("a killed invalidation connection drops the origin's entries and tracking comes back") {
  RedisOriginServer origin;
  ServerProcess server({"--origin", origin.Url()});
  ContextPtr c = Connect(server.port());
  WaitRouteField(c.get(), "tracking", "up");
  CHECK(Do(origin.c, {"SET", "a", "1"}) == "+OK");
  CHECK(Do(origin.c, {"SET", "b", "1"}) == "+OK");
  CHECK(Do(c, {"GET", "a"}) == "1");
  CHECK(Do(c, {"GET", "b"}) == "1");
  CHECK(Do(c, {"EXISTS", "a", "b"}) == ":2");
  // Changes made while nobody listens would be missed: losing the subscriber drops them all.
  CHECK(Do(origin.c, {"CLIENT", "KILL", "TYPE", "pubsub"}) == ":1");
  REQUIRE(WaitUntil([&] { return Do(c, {"EXISTS", "a", "b"}) == ":0"; }));
  CHECK(RouteField(c.get(), "tracking_losses") == "1");
  // It reconnects and the fetch connections track again, redirected to the new subscriber.
  WaitRouteField(c.get(), "tracking_connects", "2");
  WaitRouteField(c.get(), "tracking", "up");
  CHECK(Do(c, {"GET", "a"}) == "1");
  CHECK(Do(c, {"EXISTS", "a"}) == ":1");
  CHECK(Do(origin.c, {"SET", "a", "2"}) == "+OK");
  REQUIRE(WaitUntil([&] { return Do(c, {"GET", "a"}) == "2"; }));
}

TEST_CASE("a prefix-scoped route hears each change at the origin once, also after a reconnect") {
  RedisOriginServer origin;
  // Four fetch connections: were BCAST registered on each, every change would arrive 4 times.
  ServerProcess server({"--route", "user:{id} " + origin.Url(), "--origin-connections", "4"});
  ContextPtr c = Connect(server.port());
  WaitRouteField(c.get(), "tracking", "up");
  auto invalidations = [&]() { return std::stoll(RouteField(c.get(), "invalidations")); };
  // Sets key at the origin and reads it into the cache, after the SET's own broadcast came
  // (else it could arrive after the fill and drop it).
  auto fill = [&](const std::string& key, const std::string& value) {
    const long long before = invalidations();
    CHECK(Do(origin.c, {"SET", key, value}) == "+OK");
    REQUIRE(WaitUntil([&] { return invalidations() > before; }));
    CHECK(Do(c, {"GET", key}) == value);
    REQUIRE(Do(c, {"EXISTS", key}) == ":1");
  };
  // One write at the origin, then a second to another key: the feed delivers in order, so
  // once the second has dropped its key every message the first caused has been counted.
  auto expect_one_message_each = [&]() {
    const long long before = invalidations();
    CHECK(Do(origin.c, {"SET", "user:a", "changed"}) == "+OK");
    REQUIRE(WaitUntil([&] { return invalidations() > before; }));
    CHECK(Do(origin.c, {"SET", "user:b", "changed"}) == "+OK");
    REQUIRE(WaitUntil([&] { return Do(c, {"EXISTS", "user:b"}) == ":0"; }));
    CHECK(invalidations() == before + 2);
    CHECK(Do(c, {"EXISTS", "user:a"}) == ":0");
  };
  fill("user:a", "1");
  fill("user:b", "1");
  expect_one_message_each();
  // The registration lives on the feed connection: killing it drops the origin's entries
  // (changes may have been missed), and the new connection registers the prefix again, once.
  fill("user:a", "2");
  CHECK(Do(origin.c, {"CLIENT", "KILL", "TYPE", "pubsub"}) == ":1");
  REQUIRE(WaitUntil([&] { return Do(c, {"EXISTS", "user:a"}) == ":0"; }));
  WaitRouteField(c.get(), "tracking_connects", "2");
  WaitRouteField(c.get(), "tracking", "up");
  fill("user:a", "3");
  fill("user:b", "3");
  expect_one_message_each();
  CHECK(Do(c, {"GET", "user:a"}) == "changed");
}

TEST_CASE("an origin invalidation of a db=3 route deletes the key in database 3, not 0") {
  RedisOriginServer origin;
  ServerProcess server({"--route", "user:{id} " + origin.Url() + " db=3"});
  ContextPtr c = Connect(server.port());
  ContextPtr in_db3 = Connect(server.port());
  REQUIRE(Do(in_db3, {"SELECT", "3"}) == "+OK");
  WaitRouteField(c.get(), "tracking", "up");
  CHECK(Do(origin.c, {"SET", "user:1", "v1"}) == "+OK");
  // BCAST reports the SET itself: let it pass before the fill, or it could drop the fill.
  REQUIRE(WaitUntil([&] { return RouteField(c.get(), "invalidations") == "1"; }));
  CHECK(Do(in_db3, {"GET", "user:1"}) == "v1");
  CHECK(Do(in_db3, {"EXISTS", "user:1"}) == ":1");
  CHECK(Do(c, {"SET", "user:1", "local in db 0"}) == "+OK");
  CHECK(Do(origin.c, {"SET", "user:1", "v2"}) == "+OK");
  REQUIRE(WaitUntil([&] { return Do(in_db3, {"EXISTS", "user:1"}) == ":0"; }));
  CHECK(Do(in_db3, {"GET", "user:1"}) == "v2");
  CHECK(Do(c, {"GET", "user:1"}) == "local in db 0");
  // Losing the feed drops the route's entries in database 3 only.
  CHECK(Do(origin.c, {"CLIENT", "KILL", "TYPE", "pubsub"}) == ":1");
  REQUIRE(WaitUntil([&] { return Do(in_db3, {"EXISTS", "user:1"}) == ":0"; }));
  REQUIRE(WaitUntil([&] { return InfoNumber(c, "origin_purging") == 0; }));
  CHECK(Do(c, {"GET", "user:1"}) == "local in db 0");
}

}  // namespace flightcache::integration
