// origin_protection_test.cc — origin protection against the shipped test origin: the in-flight
// limit and its bounded queue (`-ERR origin busy`), and the circuit breaker (opens after N
// failures, fails fast with `-ERR origin unavailable`, re-opens on a failed probe, closes after
// a good one). No test depends on the machine's speed: fetches that must stay in flight are
// held behind the test origin's gate, and every wait is on the server's own INFO counters; the
// breaker's cool-down is only ever waited for, never timed.
#include <doctest/doctest.h>
#include <signal.h>

#include <memory>
#include <string>
#include <vector>

#include "tests/integration/server_process.h"

namespace flightcache::integration {
namespace {

// The test origin on port (a free one when 0).
std::unique_ptr<ChildProcess> StartTestOrigin(int* port, bool fixed = false) {
  for (int attempt = 0;; ++attempt) {
    if (!fixed) *port = FreeTcpPort();
    try {
      return std::make_unique<ChildProcess>(SpawnOptions{
          RequiredEnv("TEST_ORIGIN_BIN"), {"--port", std::to_string(*port)}, {}, *port});
    } catch (const std::exception&) {
      if (fixed || attempt == 4) throw;
    }
  }
}

std::string AtOrigin(int port, const std::vector<std::string>& args) {
  ContextPtr c = Connect(port);
  return Do(c, args);
}

// One field of route 0's INFO line (origin_route0:pattern=...,name=value,...), or "".
std::string RouteField(redisContext* c, const std::string& name) {
  const std::string line = InfoValue(c, "origin_route0");
  const size_t at = line.find("," + name + "=");
  if (at == std::string::npos) return "";
  const size_t start = at + name.size() + 2;
  return line.substr(start, line.find(',', start) - start);
}

// Waits until route 0's field shows value.
void WaitRouteField(redisContext* c, const std::string& name, const std::string& value) {
  std::string seen;
  const bool reached = WaitUntil([&] { return (seen = RouteField(c, name)) == value; });
  CAPTURE(name);
  CAPTURE(seen);
  REQUIRE(reached);
}

void Send(redisContext* c) {
  int done = 0;
  while (!done) REQUIRE(redisBufferWrite(c, &done) == REDIS_OK);
}

}  // namespace

TEST_CASE("past origin-max-inflight fetches queue, and a full queue answers origin busy") {
  int origin_port = 0;
  auto origin = StartTestOrigin(&origin_port);
  ServerProcess server({"--origin", "redis://127.0.0.1:" + std::to_string(origin_port),
                        "--origin-max-inflight", "1", "--origin-max-queue", "1", "--origin-timeout",
                        "60000"});
  ContextPtr c = Connect(server.port());
  CHECK(Do(c, {"CONFIG", "GET", "origin-max-inflight"}) == "[origin-max-inflight, 1]");
  CHECK(Do(c, {"CONFIG", "GET", "origin-max-queue"}) == "[origin-max-queue, 1]");
  REQUIRE(AtOrigin(origin_port, {"GATE"}) == "+OK");
  ContextPtr first = Connect(server.port(), milliseconds(30000));
  Append(first.get(), {"GET", "held"});
  Send(first.get());
  // The one fetch allowed in flight reached the origin and is held there.
  REQUIRE(WaitUntil([&] { return AtOrigin(origin_port, {"HELD"}) == ":1"; }));
  // On one connection, in order: the next miss waits in the queue, the one after finds it full.
  ContextPtr second = Connect(server.port(), milliseconds(30000));
  Append(second.get(), {"GET", "queued"});
  Append(second.get(), {"GET", "refused"});
  Send(second.get());
  WaitRouteField(c.get(), "busy_rejections", "1");
  // The queued fetch never reached the origin: only one is held.
  CHECK(AtOrigin(origin_port, {"HELD"}) == ":1");
  CHECK(AtOrigin(origin_port, {"COUNT", "queued"}) == ":0");
  REQUIRE(AtOrigin(origin_port, {"RELEASE"}) == "+OK");
  CHECK(Show(NextReply(first.get()).get()) == "value:held");
  CHECK(Show(NextReply(second.get()).get()) == "value:queued");
  CHECK(Show(NextReply(second.get()).get()) == "-ERR origin busy");
  // The refused fetch is not stored, and it never reached the origin; the others filled.
  CHECK(Do(c, {"EXISTS", "refused"}) == ":0");
  CHECK(Do(c, {"EXISTS", "held", "queued"}) == ":2");
  CHECK(AtOrigin(origin_port, {"COUNT", "refused"}) == ":0");
  // With room again, the same key reads through.
  CHECK(Do(c, {"GET", "refused"}) == "value:refused");
}

TEST_CASE("CONFIG SET origin-max-queue and a route's own max-queue= bound the queue") {
  int origin_port = 0;
  auto origin = StartTestOrigin(&origin_port);
  const std::string url = "redis://127.0.0.1:" + std::to_string(origin_port);
  ServerProcess server({"--route", "own:* " + url + " max-inflight=1 max-queue=2", "--route",
                        "* " + url, "--origin-timeout", "60000"});
  ContextPtr c = Connect(server.port());
  CHECK(Do(c, {"CONFIG", "SET", "origin-max-inflight", "1"}) == "+OK");
  CHECK(Do(c, {"CONFIG", "SET", "origin-max-queue", "0"}) == "+OK");
  CHECK(Do(c, {"CONFIG", "SET", "origin-max-queue", "-1"}).rfind("-ERR CONFIG SET failed", 0) == 0);
  REQUIRE(AtOrigin(origin_port, {"GATE"}) == "+OK");
  // `own:*` keeps its own max-queue=2 (CONFIG SET's 0 does not apply to it): two wait, the
  // third is refused.
  ContextPtr pipe = Connect(server.port(), milliseconds(30000));
  for (const char* key : {"own:1", "own:2", "own:3", "own:4"}) Append(pipe.get(), {"GET", key});
  Send(pipe.get());
  REQUIRE(WaitUntil([&] { return AtOrigin(origin_port, {"HELD"}) == ":1"; }));
  WaitRouteField(c.get(), "busy_rejections", "1");
  REQUIRE(AtOrigin(origin_port, {"RELEASE"}) == "+OK");
  CHECK(Show(NextReply(pipe.get()).get()) == "value:own:1");
  CHECK(Show(NextReply(pipe.get()).get()) == "value:own:2");
  CHECK(Show(NextReply(pipe.get()).get()) == "value:own:3");
  CHECK(Show(NextReply(pipe.get()).get()) == "-ERR origin busy");
}

TEST_CASE(
    "the breaker opens after N failures, fails fast, re-opens on a failed probe and "
    "closes after a good one") {
  int origin_port = 0;
  auto origin = StartTestOrigin(&origin_port);
  ServerProcess server({"--origin", "redis://127.0.0.1:" + std::to_string(origin_port),
                        "--origin-breaker-failures", "3", "--origin-breaker-cooldown", "200"});
  ContextPtr c = Connect(server.port());
  CHECK(Do(c, {"GET", "up"}) == "value:up");
  CHECK(RouteField(c.get(), "breaker") == "closed");
  // The test origin knows no CLIENT ID: its feed is unsupported, and values fill on TTLs.
  CHECK(RouteField(c.get(), "tracking") == "unsupported");
  CHECK(Do(c, {"EXISTS", "up"}) == ":1");
  // An error reply is an answer: the origin is up, the breaker does not move.
  for (int i = 0; i < 5; ++i)
    CHECK(Do(c, {"GET", "error:x" + std::to_string(i)}).rfind("-ERR", 0) == 0);
  CHECK(RouteField(c.get(), "breaker") == "closed");
  origin->Signal(SIGKILL, milliseconds(10000));
  origin.reset();
  // Three failures in a row open it.
  for (int i = 0; i < 3; ++i) {
    CHECK(Do(c, {"GET", "down" + std::to_string(i)}).rfind("-ERR origin unreachable", 0) == 0);
  }
  CHECK(RouteField(c.get(), "breaker") == "open");
  CHECK(RouteField(c.get(), "breaker_trips") == "1");
  // While open, a miss fails at once, without trying the origin.
  CHECK(Do(c, {"GET", "fast"}) == "-ERR origin unavailable");
  CHECK(RouteField(c.get(), "breaker_rejections") == "1");
  CHECK(Do(c, {"EXISTS", "fast"}) == ":0");
  // After the cool-down one probe goes; the origin is still dead, so it opens again.
  REQUIRE(WaitUntil([&] {
    Do(c, {"GET", "probe"});
    return RouteField(c.get(), "breaker_trips") == "2";
  }));
  CHECK(RouteField(c.get(), "breaker") == "open");
  // The origin comes back on its port: the next probe succeeds and closes the breaker.
  origin = StartTestOrigin(&origin_port, true);
  REQUIRE(WaitUntil([&] { return Do(c, {"GET", "back"}) == "value:back"; }));
  CHECK(RouteField(c.get(), "breaker") == "closed");
  // Probes sent before the pool had reconnected may have failed (and re-opened it) meanwhile.
  CHECK(std::stoll(RouteField(c.get(), "breaker_trips")) >= 2);
  CHECK(Do(c, {"GET", "again"}) == "value:again");
}

TEST_CASE("timeouts open the breaker too; origin-breaker-failures 0 turns it off") {
  int origin_port = 0;
  auto origin = StartTestOrigin(&origin_port);
  ServerProcess server({"--origin", "redis://127.0.0.1:" + std::to_string(origin_port),
                        "--origin-timeout", "100", "--origin-breaker-failures", "2",
                        "--origin-breaker-cooldown", "3600000"});
  ContextPtr c = Connect(server.port());
  CHECK(Do(c, {"GET", "warm"}) == "value:warm");
  REQUIRE(AtOrigin(origin_port, {"GATE"}) == "+OK");
  CHECK(Do(c, {"GET", "slow1"}) == "-ERR origin timeout after 100 ms");
  CHECK(Do(c, {"GET", "slow2"}) == "-ERR origin timeout after 100 ms");
  CHECK(RouteField(c.get(), "breaker") == "open");
  CHECK(Do(c, {"GET", "slow3"}) == "-ERR origin unavailable");
  REQUIRE(AtOrigin(origin_port, {"RELEASE"}) == "+OK");
  // An hour's cool-down: still open. Turning the breaker off closes it at once.
  CHECK(Do(c, {"GET", "slow4"}) == "-ERR origin unavailable");
  CHECK(Do(c, {"CONFIG", "SET", "origin-breaker-failures", "0"}) == "+OK");
  WaitRouteField(c.get(), "breaker", "closed");
  CHECK(Do(c, {"GET", "slow5"}) == "value:slow5");
}

}  // namespace flightcache::integration
