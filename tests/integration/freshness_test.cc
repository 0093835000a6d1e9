// freshness_test.cc — stale-while-revalidate, stale-if-error, refresh-ahead (XFetch), the
// forgotten-flight rule and the ORIGIN command (origin/read_through.h, origin/singleflight.h),
// against the shipped test origins (tests/tools/test_origin, test_http_origin).
// Nothing here depends on the machine's speed: a refresh that must still be in flight is held
// behind the origin's gate, expiry is waited for by polling PTTL, and every other wait is on
// the server's own counters (INFO) with a deadline that only bounds a hung test.
#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "tests/integration/server_process.h"
#include "tests/integration/test_origin_process.h"

namespace flightcache::integration {
namespace {

// The test origin (RESP) on a free port.
struct GatedOrigin : TestOriginProcess {
  explicit GatedOrigin(int delay_ms = 0)
      : TestOriginProcess({"--delay-ms", std::to_string(delay_ms)}) {}
};

// A flightcache reading through a gated origin, plus one client.
struct Fresh {
  // route_options: the one route `*` gets them (else it is --origin URL).
  explicit Fresh(std::vector<std::string> extra, int delay_ms = 0,
                 const std::string& route_options = "")
      : origin(delay_ms),
        server(Args(origin, std::move(extra), route_options)),
        c(Connect(server.port())) {}
  static std::vector<std::string> Args(const GatedOrigin& origin, std::vector<std::string> extra,
                                       const std::string& route_options) {
    std::vector<std::string> args = {"--origin", origin.Url()};
    if (!route_options.empty()) args = {"--route", "* " + origin.Url() + " " + route_options};
    args.insert(args.end(), extra.begin(), extra.end());
    return args;
  }
  long long Info(const std::string& name) { return InfoNumber(c, name); }
  // Waits until INFO's name reaches at least value.
  void WaitInfoAtLeast(const std::string& name, long long value) {
    long long seen = -1;
    bool reached = WaitUntil([&] { return (seen = Info(name)) >= value; });
    CAPTURE(name);
    CAPTURE(seen);
    REQUIRE(reached);
  }
  // Waits until key's TTL has passed (PTTL says -2: for every reader but read-through, the key
  // is gone).
  void WaitExpired(const std::string& key) {
    REQUIRE(WaitUntil([&] { return integration::Do(c, {"PTTL", key}) == ":-2"; }));
  }
  GatedOrigin origin;
  ServerProcess server;
  ContextPtr c;
};

// Sends GET key on a fresh connection without reading the reply.
ContextPtr SendGet(int port, const std::string& key) {
  ContextPtr client = Connect(port);
  Append(client.get(), {"GET", key});
  int done = 0;
  while (!done) REQUIRE(redisBufferWrite(client.get(), &done) == REDIS_OK);
  return client;
}

std::string Reply(const ContextPtr& client) {
  return Show(NextReply(client.get()).get(), client.get());
}

}  // namespace

TEST_CASE(
    "stale-while-revalidate serves the expired value at once while exactly one refresh "
    "runs, and the refresh replaces value and TTL") {
  Fresh f({"--cache-ttl", "1", "--stale-while-revalidate", "600"});
  CHECK(Do(f.c, {"GET", "k"}) == "value:k");
  REQUIRE(f.origin.Do({"SET", "k", "v2"}) == "+OK");
  f.WaitExpired("k");
  // As Redis for an expired key: only read-through reads see the stale value.
  CHECK(Do(f.c, {"TTL", "k"}) == ":-2");
  CHECK(Do(f.c, {"EXISTS", "k"}) == ":0");
  CHECK(Do(f.c, {"STRLEN", "k"}) == ":0");
  CHECK(Do(f.c, {"KEYS", "*"}) == "[]");
  f.origin.Gate();
  for (int i = 0; i < 5; ++i) CHECK(Do(f.c, {"GET", "k"}) == "value:k");  // not waiting
  CHECK(Do(f.c, {"MGET", "k", "k"}) == "[value:k, value:k]");
  f.origin.WaitHeld(1);  // one refresh, behind the gate
  CHECK(f.Info("origin_stale_hits") == 7);
  CHECK(f.Info("origin_refreshes_started") == 1);
  CHECK(f.Info("origin_fetches_started") == 2);
  CHECK(f.Info("origin_parked_clients") == 0);
  CHECK(f.origin.Do({"COUNT", "k"}) == ":2");
  f.origin.Release();
  f.WaitInfoAtLeast("origin_refreshes_succeeded", 1);
  CHECK(Do(f.c, {"GET", "k"}) == "v2");
  CHECK(Do(f.c, {"TTL", "k"}) == ":1");
  CHECK(Do(f.c, {"EXISTS", "k"}) == ":1");
  CHECK(f.Info("origin_refreshes_failed") == 0);
  CHECK(f.Info("origin_early_refreshes") == 0);  // refresh-ahead is off by default
}

TEST_CASE("a write during a background refresh wins over the refresh") {
  // The settings are the route's own here: no global flag is set.
  Fresh f({}, 0, "ttl=1 stale-while-revalidate=600");
  CHECK(Do(f.c, {"GET", "k"}) == "value:k");
  CHECK(Do(f.c, {"GET", "d"}) == "value:d");
  REQUIRE(f.origin.Do({"SET", "k", "from-origin"}) == "+OK");
  REQUIRE(f.origin.Do({"SET", "d", "from-origin"}) == "+OK");
  f.WaitExpired("k");
  f.WaitExpired("d");
  f.origin.Gate();
  CHECK(Do(f.c, {"GET", "k"}) == "value:k");
  CHECK(Do(f.c, {"GET", "d"}) == "value:d");
  f.origin.WaitHeld(2);
  CHECK(Do(f.c, {"SET", "k", "mine"}) == "+OK");
  CHECK(Do(f.c, {"DEL", "d"}) == ":0");  // expired: nothing a client could see was deleted
  f.origin.Release();
  f.WaitInfoAtLeast("origin_refreshes_succeeded", 2);
  CHECK(f.Info("origin_forgotten") == 2);
  CHECK(Do(f.c, {"GET", "k"}) == "mine");
  CHECK(Do(f.c, {"TTL", "k"}) == ":-1");
  // The DEL dropped the stale value too: the next GET is a miss that fetches anew.
  CHECK(Do(f.c, {"GET", "d"}) == "from-origin");
  CHECK(f.Info("origin_fetches_started") == 5);
}

TEST_CASE(
    "stale-if-error serves the last value while the origin is down, and errors once the "
    "window has passed") {
  Fresh f({"--cache-ttl", "1", "--stale-if-error", "4", "--origin-timeout", "300"});
  CHECK(Do(f.c, {"GET", "k"}) == "value:k");
  f.origin.Kill();
  f.WaitExpired("k");
  CHECK(Do(f.c, {"EXISTS", "k"}) == ":0");
  // Each read waits for a fetch that fails, and is answered with the stale value.
  CHECK(Do(f.c, {"GET", "k"}) == "value:k");
  CHECK(f.Info("origin_stale_if_error_serves") == 1);
  CHECK(f.Info("origin_stale_hits") == 0);  // no stale-while-revalidate: every read waited
  CHECK(f.Info("origin_errors") >= 1);
  // Once 4 s past the expiry, the origin's error reaches the client.
  std::string seen;
  REQUIRE(WaitUntil([&] {
    seen = Do(f.c, {"GET", "k"});
    return seen != "value:k";
  }));
  CHECK(seen.rfind("-ERR origin", 0) == 0);
  CHECK(Do(f.c, {"GET", "k"}).rfind("-ERR origin", 0) == 0);
  CHECK(Do(f.c, {"DBSIZE"}) == ":0");  // reclaimed
}

TEST_CASE(
    "a failed background refresh leaves the stale value served, and the next stale read "
    "refreshes again") {
  Fresh f({"--cache-ttl", "1", "--stale-while-revalidate", "600", "--stale-if-error", "600",
           "--origin-timeout", "300"});
  CHECK(Do(f.c, {"GET", "k"}) == "value:k");
  f.origin.Kill();
  f.WaitExpired("k");
  CHECK(Do(f.c, {"GET", "k"}) == "value:k");  // stale hit; its refresh fails
  f.WaitInfoAtLeast("origin_refreshes_failed", 1);
  CHECK(Do(f.c, {"GET", "k"}) == "value:k");  // still served, and refreshed again
  CHECK(f.Info("origin_stale_hits") == 2);
}

TEST_CASE("refresh-ahead (XFetch) refreshes a hot key before it expires") {
  // δ is at least the origin's 5 ms delay; with β = 1e6, δ·β is over an hour against a 60 s
  // TTL, so each hit refreshes with probability above 98%.
  Fresh f({"--cache-ttl", "60", "--refresh-ahead-beta", "1000000"}, 5);
  CHECK(Do(f.c, {"GET", "k"}) == "value:k");
  REQUIRE(f.origin.Do({"SET", "k", "v2"}) == "+OK");
  REQUIRE(WaitUntil([&] { return Do(f.c, {"GET", "k"}) == "v2"; }));
  CHECK(f.Info("origin_early_refreshes") >= 1);
  CHECK(f.Info("origin_stale_hits") == 0);
  CHECK(f.Info("keyspace_misses") == 1);  // never expired: every later read was a hit
  const long long ttl = std::stoll(Do(f.c, {"TTL", "k"}).substr(1));
  CHECK(ttl > 0);
  CHECK(ttl <= 60);
  // CONFIG SET turns it off: no more early refreshes.
  CHECK(Do(f.c, {"CONFIG", "SET", "refresh-ahead-beta", "0"}) == "+OK");
  const long long before = f.Info("origin_early_refreshes");
  for (int i = 0; i < 50; ++i) CHECK(Do(f.c, {"GET", "k"}) == "v2");
  CHECK(f.Info("origin_early_refreshes") == before);
}

TEST_CASE("a GET after a DEL during a fetch starts a new fetch, never joining the forgotten one") {
  Fresh f({});
  f.origin.Gate();
  ContextPtr early = SendGet(f.server.port(), "k");
  f.origin.WaitHeld(1);  // its reply, "value:k", is computed and held
  REQUIRE(f.origin.Do({"SET", "k", "changed"}) == "+OK");
  CHECK(Do(f.c, {"DEL", "k"}) == ":0");  // forgets the flight
  ContextPtr late = SendGet(f.server.port(), "k");
  f.origin.WaitHeld(2);  // the late reader started its own fetch
  f.origin.Release();
  CHECK(Reply(early) == "value:k");  // joined before the change: the old flight answers it
  CHECK(Reply(late) == "changed");   // arrived after: never the value from before the DEL
  CHECK(Do(f.c, {"GET", "k"}) == "changed");
  CHECK(f.Info("origin_fetches_started") == 2);
  CHECK(f.Info("origin_forgotten") == 1);
}

TEST_CASE("ORIGIN FLIGHTS, FORGET, REFRESH, ROUTES and HELP") {
  GatedOrigin origin;
  const std::string url = "redis://:secret@127.0.0.1:" + std::to_string(origin.port);
  ServerProcess server(
      {"--route", "user:{id} " + url + " ttl=5 stale-while-revalidate=7", "--stale-if-error", "3"});
  ContextPtr c = Connect(server.port());
  origin.Gate();
  ContextPtr parked = SendGet(server.port(), "user:1");
  origin.WaitHeld(1);
  std::string flights = Do(c, {"ORIGIN", "FLIGHTS", "user:*"});
  CHECK(flights.find("key, user:1, route, user:{id}, waiters, :1, age-ms, :") != std::string::npos);
  CHECK(flights.find("forgotten, :0, background, :0]") != std::string::npos);
  CHECK(Do(c, {"ORIGIN", "FLIGHTS", "page:*"}) == "[]");
  CHECK(Do(c, {"ORIGIN", "FORGET", "user:1"}) == ":1");
  CHECK(Do(c, {"ORIGIN", "FORGET", "user:1"}) == ":0");  // forgotten already
  CHECK(Do(c, {"ORIGIN", "FLIGHTS"}).find("forgotten, :1") != std::string::npos);
  CHECK(Do(c, {"ORIGIN", "REFRESH", "user:2"}) == ":1");
  CHECK(Do(c, {"ORIGIN", "REFRESH", "user:2"}) == ":0");  // one is in flight
  origin.WaitHeld(2);
  flights = Do(c, {"ORIGIN", "FLIGHTS", "user:2"});
  CHECK(flights.find("key, user:2, route, user:{id}, waiters, :0") != std::string::npos);
  CHECK(flights.find("background, :1]") != std::string::npos);
  CHECK(Do(c, {"ORIGIN", "REFRESH", "page:1"}) == "-ERR no route serves this key");
  origin.Release();
  CHECK(Reply(parked) == "value:user:1");
  REQUIRE(WaitUntil([&] { return InfoNumber(c, "origin_refreshes_succeeded") == 1; }));
  CHECK(Do(c, {"EXISTS", "user:2"}) == ":1");  // the refresh filled it
  CHECK(Do(c, {"EXISTS", "user:1"}) == ":0");  // the forgotten flight filled nothing
  CHECK(Do(c, {"ORIGIN", "FLIGHTS"}) == "[]");

  const std::string routes = Do(c, {"ORIGIN", "ROUTES"});
  CAPTURE(routes);
  CHECK(routes.find("pattern, user:{id}, url, redis://:***@127.0.0.1:") != std::string::npos);
  CHECK(routes.find("secret") == std::string::npos);
  CHECK(routes.find("ttl, 5, negative-ttl, 0, timeout, 1000, pool, default, "
                    "stale-while-revalidate, 7, stale-if-error, 3, refresh-ahead-beta, 0") !=
        std::string::npos);
  CHECK(routes.find("fetches_started, 2") != std::string::npos);

  CHECK(Do(c, {"ORIGIN", "HELP"}).find("ORIGIN <subcommand>") != std::string::npos);
  CHECK(Do(c, {"ORIGIN", "BOGUS"}) == "-ERR unknown subcommand 'BOGUS'. Try ORIGIN HELP.");
  CHECK(Do(c, {"ORIGIN", "FORGET"}) ==
        "-ERR wrong number of arguments for 'origin|forget' command");
  CHECK(Do(c, {"ORIGIN"}) == "-ERR wrong number of arguments for 'origin' command");
}

TEST_CASE("ORIGIN without an origin: no flights, no routes, nothing to refresh") {
  ServerFixture f;
  CHECK(Do(f.c, {"ORIGIN", "FLIGHTS"}) == "[]");
  CHECK(Do(f.c, {"ORIGIN", "ROUTES"}) == "[]");
  CHECK(Do(f.c, {"ORIGIN", "FORGET", "k"}) == ":0");
  CHECK(Do(f.c, {"ORIGIN", "REFRESH", "k"}) == "-ERR no origin is configured");
}

TEST_CASE("freshness settings are flags, CONFIG GET/SET options and route options") {
  ServerFixture f({"--stale-while-revalidate", "30", "--refresh-ahead-beta", "1.5"});
  CHECK(Do(f.c, {"CONFIG", "GET", "stale-while-revalidate"}) == "[stale-while-revalidate, 30]");
  CHECK(Do(f.c, {"CONFIG", "GET", "stale-if-error"}) == "[stale-if-error, 0]");
  CHECK(Do(f.c, {"CONFIG", "GET", "refresh-ahead-beta"}) == "[refresh-ahead-beta, 1.5]");
  CHECK(Do(f.c, {"CONFIG", "SET", "stale-if-error", "60"}) == "+OK");
  CHECK(Do(f.c, {"CONFIG", "GET", "stale-if-error"}) == "[stale-if-error, 60]");
  CHECK(Do(f.c, {"CONFIG", "SET", "refresh-ahead-beta", "-1"}).rfind("-ERR CONFIG SET failed", 0) ==
        0);
  CHECK(
      Do(f.c, {"CONFIG", "SET", "refresh-ahead-beta", "nan"}).rfind("-ERR CONFIG SET failed", 0) ==
      0);
  CHECK(Do(f.c, {"CONFIG", "SET", "stale-while-revalidate", "x"}).rfind("-ERR", 0) == 0);
  RunResult bad =
      RunToExit(RequiredEnv("FLIGHTCACHE_BIN"),
                {"--port", "0", "--route", "k:{id} redis://127.0.0.1:1 stale-if-error=-3"});
  CHECK(bad.exit_code == 1);
  CHECK(bad.output.find("stale-if-error") != std::string::npos);
}

TEST_CASE("HTTP origin: Cache-Control stale-while-revalidate sets the entry's window") {
  int port = FreeTcpPort();
  ChildProcess http(SpawnOptions{
      RequiredEnv("TEST_HTTP_ORIGIN_BIN"), {"--port", std::to_string(port)}, {}, port});
  const std::string base = "http://127.0.0.1:" + std::to_string(port);
  ServerProcess server({"--route", "item:{id} " + base + "/items/{id}"});
  ContextPtr c = Connect(server.port());
  auto control = [&](const std::string& what) {
    RawConnection raw(port);
    REQUIRE(
        raw.Send("GET /_control/" + what + " HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n"));
    std::string reply;
    REQUIRE(raw.WaitClosed(milliseconds(10000), &reply));
    return reply.substr(reply.find("\r\n\r\n") + 4);
  };
  CHECK(Do(c, {"GET", "item:swr-1-600-a"}) == "value:/items/swr-1-600-a");
  REQUIRE(WaitUntil([&] { return Do(c, {"PTTL", "item:swr-1-600-a"}) == ":-2"; }));
  REQUIRE(control("gate") == "OK");
  // Served at once though the origin holds every reply: the response's own window.
  CHECK(Do(c, {"GET", "item:swr-1-600-a"}) == "value:/items/swr-1-600-a");
  CHECK(InfoNumber(c, "origin_stale_hits") == 1);
  REQUIRE(WaitUntil([&] { return control("held") == "1"; }));
  REQUIRE(control("release") == "OK");
  REQUIRE(WaitUntil([&] { return InfoNumber(c, "origin_refreshes_succeeded") == 1; }));
  CHECK(Do(c, {"TTL", "item:swr-1-600-a"}) == ":1");
}

}  // namespace flightcache::integration
