// http_origin_test.cc — the real binary reading through http:// routes against a real HTTP/1.1
// server (tests/tools/test_http_origin: per-path status codes and Cache-Control, a gate that
// holds replies, counts of requests and connections at the server). Covers the status
// mapping, a reply slower than the timeout, keep-alive reuse, max-age and no-store, and keys
// that must be percent-encoded. No test depends on the machine's speed: a slow reply is held
// behind the gate until released, and tests wait on counters, never on sleeps.
#include <doctest/doctest.h>

#include <thread>

#include "tests/integration/server_process.h"

namespace flightcache::integration {
namespace {

std::string HttpOriginBin() {
  if (const char* bin = getenv("TEST_HTTP_ORIGIN_BIN"); bin != nullptr && bin[0] != '\0') {
    return bin;
  }
  // Built next to test_origin (tests/tools/).
  std::string origin = RequiredEnv("TEST_ORIGIN_BIN");
  return origin.substr(0, origin.rfind('/') + 1) + "test_http_origin";
}

// test_http_origin on a free port.
struct HttpOrigin {
  HttpOrigin() {
    for (int attempt = 0;; ++attempt) {
      port = FreeTcpPort();
      try {
        process = std::make_unique<ChildProcess>(
            SpawnOptions{HttpOriginBin(), {"--port", std::to_string(port)}, {}, port});
        return;
      } catch (const std::exception&) {
        if (attempt == 4) throw;
      }
    }
  }
  // One control request (gate, release, held, requests, connections, count/<target>); its body.
  std::string Control(const std::string& what) const {
    RawConnection raw(port);
    REQUIRE(
        raw.Send("GET /_control/" + what + " HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n"));
    std::string reply;
    REQUIRE(raw.WaitClosed(milliseconds(10000), &reply));
    const size_t body = reply.find("\r\n\r\n");
    REQUIRE(body != std::string::npos);
    return reply.substr(body + 4);
  }
  long long Number(const std::string& what) const { return std::stoll(Control(what)); }
  std::string Url(const std::string& path) const {
    return "http://127.0.0.1:" + std::to_string(port) + path;
  }

  int port = 0;
  std::unique_ptr<ChildProcess> process;
};

// A flightcache with one route `item:{id}` → origin /items/{id}, plus extra route options.
struct HttpFixture {
  explicit HttpFixture(const std::string& options = "", std::vector<std::string> extra = {})
      : server(Args(origin, options, std::move(extra))), c(Connect(server.port())) {}
  static std::vector<std::string> Args(const HttpOrigin& origin, const std::string& options,
                                       std::vector<std::string> extra) {
    std::vector<std::string> args = {"--route",
                                     "item:{id} " + origin.Url("/items/{id}") + " " + options};
    args.insert(args.end(), extra.begin(), extra.end());
    return args;
  }
  HttpOrigin origin;
  ServerProcess server;
  ContextPtr c;
};

// One counter of INFO's origin_route<route> line (-1 when absent).
long long RouteCounter(redisContext* c, int route, const std::string& name) {
  std::string line = InfoValue(c, "origin_route" + std::to_string(route));
  size_t at = line.find("," + name + "=");
  if (at == std::string::npos) return -1;
  return std::stoll(line.substr(at + name.size() + 2));
}

TEST_CASE("HTTP origin: a 200 answers its body as the value and fills the cache") {
  HttpFixture f;
  CHECK(Do(f.c, {"GET", "item:42"}) == "value:/items/42");
  CHECK(Do(f.c, {"GET", "item:42"}) == "value:/items/42");
  CHECK(f.origin.Number("count/items/42") == 1);
  CHECK(Do(f.c, {"EXISTS", "item:42"}) == ":1");
  CHECK(Do(f.c, {"TTL", "item:42"}) == ":-1");
}

TEST_CASE("HTTP origin: 404 and 410 are not found (nil), remembered with the negative ttl") {
  HttpFixture f("negative-ttl=60");
  CHECK(Do(f.c, {"GET", "item:missing-1"}) == "(nil)");
  CHECK(Do(f.c, {"GET", "item:gone-1"}) == "(nil)");
  CHECK(Do(f.c, {"GET", "item:gone-1"}) == "(nil)");
  CHECK(f.origin.Number("count/items/gone-1") == 1);
  CHECK(InfoNumber(f.c, "origin_negative_hits") == 1);
  CHECK(InfoNumber(f.c, "origin_errors") == 0);
  CHECK(Do(f.c, {"EXISTS", "item:missing-1", "item:gone-1"}) == ":0");
}

TEST_CASE("HTTP origin: another status is an error naming it, and is not stored") {
  HttpFixture f;
  CHECK(Do(f.c, {"GET", "item:status-500"}) == "-ERR origin error: HTTP 500");
  CHECK(Do(f.c, {"GET", "item:status-503"}) == "-ERR origin error: HTTP 503");
  CHECK(Do(f.c, {"GET", "item:status-301"}) == "-ERR origin error: HTTP 301");
  CHECK(Do(f.c, {"EXISTS", "item:status-500"}) == ":0");
  CHECK(Do(f.c, {"GET", "item:status-500"}) == "-ERR origin error: HTTP 500");
  CHECK(f.origin.Number("count/items/status-500") == 2);
}

TEST_CASE("HTTP origin: a reply slower than the timeout is a timeout, and the next fetch works") {
  HttpFixture f("timeout=200");
  CHECK(f.origin.Control("gate") == "OK");
  CHECK(Do(f.c, {"GET", "item:slow"}) == "-ERR origin timeout after 200 ms");
  CHECK(f.origin.Number("held") <= 1);
  CHECK(WaitUntil([&] { return InfoNumber(f.c, "origin_timeout_drops") == 1; }));
  CHECK(f.origin.Control("release") == "OK");
  CHECK(Do(f.c, {"GET", "item:slow"}) == "value:/items/slow");
  CHECK(Do(f.c, {"GET", "item:other"}) == "value:/items/other");
  CHECK(InfoNumber(f.c, "origin_timeouts") == 1);
}

TEST_CASE("HTTP origin: sequential fetches reuse one keep-alive connection") {
  HttpFixture f;
  for (int i = 0; i < 20; ++i) {
    CHECK(Do(f.c, {"GET", "item:k" + std::to_string(i)}) == "value:/items/k" + std::to_string(i));
  }
  CHECK(f.origin.Number("requests") == 20);
  CHECK(f.origin.Number("connections") == 1);
}

TEST_CASE("HTTP origin: concurrent misses of one key share one request behind the gate") {
  HttpFixture f("timeout=60000");
  CHECK(f.origin.Control("gate") == "OK");
  std::vector<ContextPtr> clients;
  for (int i = 0; i < 10; ++i) {
    clients.push_back(Connect(f.server.port()));
    Append(clients.back().get(), {"GET", "item:hot"});
    REQUIRE(redisBufferWrite(clients.back().get(), nullptr) == REDIS_OK);
  }
  CHECK(WaitUntil([&] { return InfoNumber(f.c, "origin_parked_clients") == 10; }));
  CHECK(WaitUntil([&] { return f.origin.Number("held") == 1; }));
  CHECK(f.origin.Control("release") == "OK");
  for (auto& client : clients) CHECK(Show(NextReply(client.get()).get()) == "value:/items/hot");
  CHECK(f.origin.Number("count/items/hot") == 1);
}

TEST_CASE("HTTP origin: Cache-Control max-age sets the entry's TTL, over the route's ttl") {
  HttpFixture f("ttl=5");
  CHECK(Do(f.c, {"GET", "item:maxage-1000-a"}) == "value:/items/maxage-1000-a");
  const long long ttl = std::stoll(Do(f.c, {"TTL", "item:maxage-1000-a"}).substr(1));
  CHECK(ttl > 900);
  CHECK(ttl <= 1000);
  CHECK(Do(f.c, {"GET", "item:plain"}) == "value:/items/plain");
  const long long route_ttl = std::stoll(Do(f.c, {"TTL", "item:plain"}).substr(1));
  CHECK(route_ttl > 0);
  CHECK(route_ttl <= 5);
}

TEST_CASE("HTTP origin: Cache-Control no-store is answered but not stored") {
  HttpFixture f;
  CHECK(Do(f.c, {"GET", "item:nostore-1"}) == "value:/items/nostore-1");
  CHECK(Do(f.c, {"EXISTS", "item:nostore-1"}) == ":0");
  CHECK(Do(f.c, {"GET", "item:nostore-1"}) == "value:/items/nostore-1");
  CHECK(f.origin.Number("count/items/nostore-1") == 2);
  CHECK(InfoNumber(f.c, "origin_not_stored") == 2);
  CHECK(InfoNumber(f.c, "origin_fills") == 0);
}

TEST_CASE(
    "HTTP origin: a key with spaces, slashes, unicode and '%' arrives as one encoded segment") {
  HttpFixture f;
  const std::string id = "a b/c?d#e%20f&g=h+\xC3\xA9\xE2\x82\xAC~._-";
  const std::string encoded = "a%20b%2Fc%3Fd%23e%2520f%26g%3Dh%2B%C3%A9%E2%82%AC~._-";
  CHECK(Do(f.c, {"GET", "item:" + id}) == "value:/items/" + encoded);
  CHECK(f.origin.Number("count/items/" + encoded) == 1);
  CHECK(f.origin.Number("requests") == 1);
  CHECK(Do(f.c, {"GET", "item:" + id}) == "value:/items/" + encoded);
  CHECK(f.origin.Number("requests") == 1);
}

TEST_CASE("HTTP origin: a URL placeholder with the whole key, and {key} in a pattern without it") {
  HttpOrigin origin;
  ServerFixture f({"--route", "page:* " + origin.Url("/pages/{key}")});
  CHECK(Do(f.c, {"GET", "page:x/y"}) == "value:/pages/page%3Ax%2Fy");
}

TEST_CASE("HTTP origin: an unreachable server answers an error, and works once it is up") {
  const int port = FreeTcpPort();
  ServerFixture f(
      {"--route", "item:{id} http://127.0.0.1:" + std::to_string(port) + "/items/{id}"});
  const std::string reply = Do(f.c, {"GET", "item:1"});
  CHECK(reply.rfind("-ERR origin unreachable: ", 0) == 0);
  ChildProcess origin(SpawnOptions{HttpOriginBin(), {"--port", std::to_string(port)}, {}, port});
  // Fetches fail fast while the connect backoff (50 ms after one failure) runs.
  CHECK(WaitUntil([&] { return Do(f.c, {"GET", "item:1"}) == "value:/items/1"; }));
}

TEST_CASE("HTTP origin: after a refused connect, fetches fail at once while the backoff runs") {
  const int port = FreeTcpPort();
  // No circuit breaker: it would answer "origin unavailable" after a few refusals, and this
  // test is about the connect backoff.
  ServerFixture f({"--route",
                   "item:{id} http://127.0.0.1:" + std::to_string(port) + "/items/{id} pool=4",
                   "--origin-breaker-failures", "0"});
  constexpr int kFetches = 200;
  for (int i = 0; i < kFetches; ++i) Append(f.c.get(), {"GET", "item:" + std::to_string(i)});
  int unreachable = 0;
  int backing_off = 0;
  for (int i = 0; i < kFetches; ++i) {
    const std::string reply = Show(NextReply(f.c.get()).get());
    unreachable += reply.rfind("-ERR origin unreachable: ", 0) == 0 ? 1 : 0;
    const std::string suffix = " (backing off)";
    backing_off += reply.size() > suffix.size() &&
                           reply.compare(reply.size() - suffix.size(), suffix.size(), suffix) == 0
                       ? 1
                       : 0;
  }
  CHECK(unreachable == kFetches);
  // The first ones knock (one per connection); what follows within the backoff does not.
  CHECK(backing_off >= kFetches / 2);
  MESSAGE(backing_off, " of ", kFetches, " failed without a connect attempt");
}

TEST_CASE("HTTP origin: a bad URL or a placeholder without a capture stops start-up") {
  const std::string bin = RequiredEnv("FLIGHTCACHE_BIN");
  RunResult bad =
      RunToExit(bin, {"--port", "0", "--route", "item:{id} http://127.0.0.1:1/x/{nope}"});
  CHECK(bad.exit_code == 1);
  CHECK(bad.output.find("{nope} names no capture") != std::string::npos);
  RunResult query =
      RunToExit(bin, {"--port", "0", "--route", "item:{id} http://h/{id} \"SELECT 1\""});
  CHECK(query.exit_code == 1);
  CHECK(query.output.find("takes no query") != std::string::npos);
}

TEST_CASE("HTTP origin: a burst of distinct keys is answered over a bounded pool") {
  HttpFixture f("pool=4 timeout=60000");
  CHECK(f.origin.Control("gate") == "OK");
  ContextPtr client = Connect(f.server.port());
  for (int i = 0; i < 50; ++i) Append(client.get(), {"GET", "item:b" + std::to_string(i)});
  REQUIRE(redisBufferWrite(client.get(), nullptr) == REDIS_OK);
  CHECK(WaitUntil([&] { return f.origin.Number("held") == 4; }));
  CHECK(f.origin.Number("requests") == 4);
  CHECK(f.origin.Control("release") == "OK");
  for (int i = 0; i < 50; ++i) {
    CHECK(Show(NextReply(client.get()).get()) == "value:/items/b" + std::to_string(i));
  }
  CHECK(f.origin.Number("connections") <= 4);
}

// Pipelines `count` GETs of distinct keys (prefix + number, from first on) and returns how many
// were answered with exactly `want`.
int PipelineGets(redisContext* c, const std::string& prefix, int first, int count,
                 const std::string& want) {
  for (int i = 0; i < count; ++i) Append(c, {"GET", prefix + std::to_string(first + i)});
  int matched = 0;
  for (int i = 0; i < count; ++i) matched += Show(NextReply(c).get()) == want ? 1 : 0;
  return matched;
}

TEST_CASE("HTTP origin: 100k timeouts against a hung server leave memory, queue and pool bounded") {
  constexpr int kBatch = 2000;
  constexpr int kBatches = 50;
  // No circuit breaker: every fetch must reach the hung server and time out.
  HttpFixture f("pool=4", {"--origin-timeout", "20", "--origin-breaker-failures", "0"});
  CHECK(f.origin.Control("gate") == "OK");  // the server takes requests and never answers
  ContextPtr client = Connect(f.server.port());
  const std::string timeout = "-ERR origin timeout after 20 ms";
  // Two warm-up batches: buffers, the latency window and the connection slots reach size.
  REQUIRE(PipelineGets(client.get(), "item:w", 0, kBatch, timeout) == kBatch);
  REQUIRE(PipelineGets(client.get(), "item:w", kBatch, kBatch, timeout) == kBatch);
  const long long before = InfoNumber(f.c, "used_memory");
  int timed_out = 0;
  for (int b = 0; b < kBatches; ++b) {
    timed_out += PipelineGets(client.get(), "item:h", b * kBatch, kBatch, timeout);
  }
  const long long after = InfoNumber(f.c, "used_memory");
  MESSAGE("HTTP hung origin: ", timed_out, " timeouts, used_memory ", before, " -> ", after, "; ",
          InfoValue(f.c.get(), "origin_route0"));
  CHECK(timed_out == kBatch * kBatches);
  // What a timed-out fetch leaves behind must not add up: 12 MB per 200k was the bug.
  CHECK(after - before < 1024 * 1024);
  CHECK(InfoNumber(f.c, "origin_fetches_in_flight") == 0);
  CHECK(InfoNumber(f.c, "origin_parked_clients") == 0);
  CHECK(InfoNumber(f.c, "origin_queued") == 0);
  CHECK(InfoNumber(f.c, "origin_queue_peak") <= kBatch);
  CHECK(RouteCounter(f.c.get(), 0, "connections") <= 4);
  CHECK(RouteCounter(f.c.get(), 0, "timeouts") == kBatch * (kBatches + 2));
  // The server comes back: the next fetches get their own values, never a late reply (with a
  // deadline that a slow machine meets).
  CHECK(Do(f.c, {"CONFIG", "SET", "origin-timeout", "30000"}) == "+OK");
  CHECK(f.origin.Control("release") == "OK");
  CHECK(WaitUntil([&] { return Do(f.c, {"GET", "item:after0"}) == "value:/items/after0"; }));
  for (int i = 1; i <= 100; ++i) {
    CHECK(Do(client, {"GET", "item:after" + std::to_string(i)}) ==
          "value:/items/after" + std::to_string(i));
  }
}

TEST_CASE("INFO origin: one line per route with fetches, shared, results, queue, pool, latency") {
  HttpOrigin origin;
  ServerFixture f({"--route", "item:{id} " + origin.Url("/items/{id}") + " pool=2 timeout=60000",
                   "--route", "slow:{id} " + origin.Url("/slow/{id}") + " timeout=50", "--route",
                   "cold:{id} " + origin.Url("/cold/{id}") + " pool=2 timeout=60000"});
  ContextPtr pipeline = Connect(f.server.port());
  // Two concurrent fetches open the route's two connections (both wait for one: peak 2).
  Append(pipeline.get(), {"GET", "item:w0"});
  Append(pipeline.get(), {"GET", "item:w1"});
  CHECK(Show(NextReply(pipeline.get()).get()) == "value:/items/w0");
  CHECK(Show(NextReply(pipeline.get()).get()) == "value:/items/w1");
  CHECK(origin.Control("gate") == "OK");
  for (int i = 0; i < 5; ++i) Append(pipeline.get(), {"GET", "item:q" + std::to_string(i)});
  REQUIRE(redisBufferWrite(pipeline.get(), nullptr) == REDIS_OK);
  CHECK(WaitUntil([&] { return origin.Number("held") == 2; }));  // 2 connections, 3 queued
  std::vector<ContextPtr> sharers;
  for (int i = 0; i < 3; ++i) {
    sharers.push_back(Connect(f.server.port()));
    Append(sharers.back().get(), {"GET", "item:q4"});
    REQUIRE(redisBufferWrite(sharers.back().get(), nullptr) == REDIS_OK);
  }
  CHECK(WaitUntil([&] { return RouteCounter(f.c.get(), 0, "fetches_shared") == 3; }));
  CHECK(RouteCounter(f.c.get(), 0, "fetches_started") == 7);
  CHECK(RouteCounter(f.c.get(), 0, "queued") == 3);
  CHECK(RouteCounter(f.c.get(), 0, "queue_peak") == 3);
  CHECK(RouteCounter(f.c.get(), 0, "connections") == 2);
  CHECK(Do(f.c, {"GET", "slow:x"}) == "-ERR origin timeout after 50 ms");  // held: times out
  CHECK(origin.Control("release") == "OK");
  for (int i = 0; i < 5; ++i) {
    CHECK(Show(NextReply(pipeline.get()).get()) == "value:/items/q" + std::to_string(i));
  }
  for (auto& sharer : sharers) CHECK(Show(NextReply(sharer.get()).get()) == "value:/items/q4");
  CHECK(Do(f.c, {"GET", "item:missing-1"}) == "(nil)");
  CHECK(Do(f.c, {"GET", "item:status-500"}) == "-ERR origin error: HTTP 500");
  CHECK(RouteCounter(f.c.get(), 0, "values") == 7);
  CHECK(RouteCounter(f.c.get(), 0, "not_found") == 1);
  CHECK(RouteCounter(f.c.get(), 0, "errors") == 1);
  CHECK(RouteCounter(f.c.get(), 0, "timeouts") == 0);
  CHECK(RouteCounter(f.c.get(), 0, "queued") == 0);
  CHECK(RouteCounter(f.c.get(), 0, "queue_peak") == 3);
  CHECK(RouteCounter(f.c.get(), 1, "fetches_started") == 1);
  CHECK(RouteCounter(f.c.get(), 1, "errors") == 1);
  CHECK(RouteCounter(f.c.get(), 1, "timeouts") == 1);
  const std::string line = InfoValue(f.c.get(), "origin_route1");
  CHECK(line.rfind("pattern=slow:{id},url=" + origin.Url("/slow/{id}") + ",", 0) == 0);
  // The timed-out fetch took about its 50 ms deadline (the loop's clock is in whole ms).
  const size_t p50 = line.find(",latency_p50_ms=");
  const size_t p99 = line.find(",latency_p99_ms=");
  REQUIRE(p50 != std::string::npos);
  REQUIRE(p99 != std::string::npos);
  CHECK(std::stod(line.substr(p50 + 16)) >= 45.0);
  CHECK(std::stod(line.substr(p99 + 16)) >= std::stod(line.substr(p50 + 16)));
  // A cold route: all 5 wait while its 2 connections open, then 3 still wait (read live, not
  // as of the last fetch start).
  CHECK(origin.Control("gate") == "OK");
  for (int i = 0; i < 5; ++i) Append(pipeline.get(), {"GET", "cold:c" + std::to_string(i)});
  REQUIRE(redisBufferWrite(pipeline.get(), nullptr) == REDIS_OK);
  CHECK(WaitUntil([&] { return origin.Number("held") == 2; }));
  CHECK(RouteCounter(f.c.get(), 2, "queued") == 3);
  // All 5 queue at once when they are read in one go; a slow machine may open a connection
  // between two reads of the pipeline, so the peak is between the 3 waiting now and all 5.
  const long long cold_peak = RouteCounter(f.c.get(), 2, "queue_peak");
  CHECK(cold_peak >= 3);
  CHECK(cold_peak <= 5);
  CHECK(RouteCounter(f.c.get(), 2, "connections") == 2);
  CHECK(origin.Control("release") == "OK");
  for (int i = 0; i < 5; ++i) {
    CHECK(Show(NextReply(pipeline.get()).get()) == "value:/cold/c" + std::to_string(i));
  }
}

}  // namespace
}  // namespace flightcache::integration
