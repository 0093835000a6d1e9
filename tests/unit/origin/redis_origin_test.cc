// redis_origin_test.cc — RedisOrigin on a real uv loop against the test_origin binary
// (path in $TEST_ORIGIN_BIN): values, nil, error and garbage replies, deadlines and late
// replies, reconnects, queue-vs-fail while disconnected, dropping a connection after a timeout
// (silent peers), CONFIG SET origin-timeout, and Close() from any state.
// Every test closes the origin and asserts uv_loop_close() == 0, so a leaked handle fails it.
#include "origin/redis_origin.h"

#include <doctest/doctest.h>

#include <memory>
#include <string>
#include <vector>

#include "origin/origin_test_util.h"

namespace flightcache::origin {
namespace {

using testing::Command;
using testing::NowMs;
using testing::Outcome;
using testing::StartFetch;
using testing::TestLoop;
using testing::TestOrigin;

std::string Key(int i) { return std::string("k").append(std::to_string(i)); }

OriginUrl UrlFor(int port) {
  OriginUrl url;
  url.host = "127.0.0.1";
  url.port = port;
  return url;
}

TEST_CASE("a fetch returns the value, nil as not found, and an error reply as kErrorReply") {
  TestOrigin server;
  REQUIRE(server.Start(0));
  TestLoop loop;
  auto origin = std::make_unique<RedisOrigin>(loop.get(), UrlFor(server.port()), 2, 2000);
  auto value = StartFetch(*origin, "user:1");
  auto missing = StartFetch(*origin, "missing:1");
  auto error = StartFetch(*origin, "error:1");
  REQUIRE(loop.RunUntil([&] { return value->calls && missing->calls && error->calls; }, 5000));
  CHECK(value->result.status == FetchStatus::kValue);
  CHECK(value->result.value == "value:user:1");
  CHECK(missing->result.status == FetchStatus::kNotFound);
  CHECK(error->result.status == FetchStatus::kError);
  CHECK(error->result.error_kind == FetchErrorKind::kErrorReply);
  CHECK(error->result.error == "origin error: ERR test origin error");
  CHECK(origin->ConnectedCount() == 2);
  CHECK(origin->Stats().values == 1);
  CHECK(origin->Stats().not_found == 1);
  CHECK(origin->Stats().errors == 1);
  origin.reset();
  CHECK(loop.Finish() == 0);
}

TEST_CASE("binary keys and values pass through unchanged") {
  TestOrigin server;
  REQUIRE(server.Start(0));
  std::string key("bin\0key\r\n", 9);
  std::string stored("v\0\r\n$-1\r\n", 9);
  REQUIRE(Command(server.port(), {"SET", key, stored}) == "+OK");
  TestLoop loop;
  RedisOrigin origin(loop.get(), UrlFor(server.port()), 1, 2000);
  auto fetched = StartFetch(origin, key);
  REQUIRE(loop.Wait(fetched));
  CHECK(fetched->result.status == FetchStatus::kValue);
  CHECK(fetched->result.value == stored);
  auto empty = StartFetch(origin, "");
  REQUIRE(loop.Wait(empty));
  CHECK(empty->result.value == "value:");
  origin.Close();
  CHECK(loop.Finish() == 0);
}

TEST_CASE("Fetch never calls back from inside Fetch, whatever the origin's state") {
  TestOrigin server;
  REQUIRE(server.Start(0));
  TestLoop loop;
  RedisOrigin origin(loop.get(), UrlFor(server.port()), 1, 2000);
  auto queued = StartFetch(origin, "k1");  // no connection is up yet
  CHECK(queued->calls == 0);
  REQUIRE(loop.Wait(queued));
  CHECK(queued->result.value == "value:k1");
  auto ready = StartFetch(origin, "k2");
  CHECK(ready->calls == 0);
  REQUIRE(loop.Wait(ready));
  origin.Close();
  auto closed = StartFetch(origin, "k3");
  CHECK(closed->calls == 0);
  REQUIRE(loop.Wait(closed));
  CHECK(closed->result.error_kind == FetchErrorKind::kUnreachable);

  // An origin nobody listens on: once every attempt has failed, Fetch fails fast, later.
  RedisOrigin dead(loop.get(), UrlFor(testing::FreePort()), 1, 2000);
  REQUIRE(loop.RunUntil([&] { return dead.Stats().connect_failures > 0; }, 3000));
  auto hopeless = StartFetch(dead, "k4");
  CHECK(hopeless->calls == 0);
  REQUIRE(loop.Wait(hopeless));
  CHECK(hopeless->result.error_kind == FetchErrorKind::kUnreachable);
  dead.Close();
  CHECK(loop.Finish() == 0);
}

TEST_CASE("hundreds of pipelined fetches over two connections each get their own key's value") {
  TestOrigin server;
  REQUIRE(server.Start(5));
  TestLoop loop;
  RedisOrigin origin(loop.get(), UrlFor(server.port()), 2, 3000);
  REQUIRE(loop.RunUntil([&] { return origin.ConnectedCount() == 2; }, 5000));
  std::vector<std::shared_ptr<Outcome>> outcomes;
  for (int i = 0; i < 300; ++i) outcomes.push_back(StartFetch(origin, Key(i)));
  REQUIRE(loop.RunUntil(
      [&] {
        for (auto& o : outcomes) {
          if (o->calls == 0) return false;
        }
        return true;
      },
      10000));
  for (int i = 0; i < 300; ++i) {
    CHECK(outcomes[i]->calls == 1);
    CHECK(outcomes[i]->result.value == "value:" + Key(i));
  }
  CHECK(Command(server.port(), {"COUNTS"}) == ":300");
  CHECK(Command(server.port(), {"COUNT", "k7"}) == ":1");
  origin.Close();
  CHECK(loop.Finish() == 0);
}

TEST_CASE(
    "a reply slower than the timeout fails with kTimeout once; its connection is dropped and "
    "a fresh one serves the next fetch") {
  TestOrigin server;
  REQUIRE(server.Start(300));
  TestLoop loop;
  RedisOrigin origin(loop.get(), UrlFor(server.port()), 1, 100);
  REQUIRE(loop.RunUntil([&] { return origin.ConnectedCount() == 1; }, 5000));
  uint64_t start = NowMs();
  auto slow = StartFetch(origin, "slow");
  REQUIRE(loop.Wait(slow));
  uint64_t took = slow->answered_ms - start;
  CHECK(took >= 90);
  CHECK(took < 280);
  CHECK(slow->result.error_kind == FetchErrorKind::kTimeout);
  CHECK(slow->result.error == "origin timeout after 100 ms");
  CHECK(origin.Stats().timeout_drops == 1);
  CHECK(origin.Stats().disconnects == 1);
  // The late reply, had it come, would go to a freed context: nothing may answer twice.
  REQUIRE(Command(server.port(), {"DELAY", "0"}) == "+OK");
  REQUIRE(loop.RunUntil([&] { return origin.Stats().connects == 2; }, 3000));
  auto next = StartFetch(origin, "next");
  REQUIRE(loop.Wait(next));
  CHECK(next->result.value == "value:next");
  loop.RunFor(300);
  CHECK(slow->calls == 1);
  CHECK(next->calls == 1);
  CHECK(origin.Stats().timeouts == 1);
  CHECK(origin.Stats().late_replies == 0);
  origin.Close();
  CHECK(loop.Finish() == 0);
}

TEST_CASE(
    "a hung origin times fetches out and drops the connection; after UNHANG a fresh one "
    "serves") {
  TestOrigin server;
  REQUIRE(server.Start(0));
  TestLoop loop;
  RedisOrigin origin(loop.get(), UrlFor(server.port()), 1, 150);
  REQUIRE(loop.RunUntil([&] { return origin.ConnectedCount() == 1; }, 5000));
  REQUIRE(Command(server.port(), {"HANG"}) == "+OK");
  auto a = StartFetch(origin, "a");
  auto b = StartFetch(origin, "b");
  REQUIRE(loop.RunUntil([&] { return a->calls && b->calls; }, 2000));
  CHECK(a->result.error_kind == FetchErrorKind::kTimeout);
  CHECK(b->result.error_kind == FetchErrorKind::kTimeout);
  CHECK(origin.Stats().timeout_drops == 1);  // both on one connection: dropped once
  REQUIRE(Command(server.port(), {"UNHANG"}) == "+OK");
  auto c = StartFetch(origin, "c");
  REQUIRE(loop.Wait(c));
  CHECK(c->result.value == "value:c");
  CHECK(origin.Stats().connects >= 2);
  CHECK(a->calls == 1);
  CHECK(b->calls == 1);
  origin.Close();
  CHECK(loop.Finish() == 0);
}

TEST_CASE(
    "a silent peer that stays connected is dropped after a timeout, and values come back "
    "once a healthy origin listens on its port") {
  testing::SilentPeer peer;
  TestLoop loop;
  RedisOrigin origin(loop.get(), UrlFor(peer.port()), 4, 100);
  REQUIRE(loop.RunUntil([&] { return origin.ConnectedCount() == 4; }, 5000));
  auto first = StartFetch(origin, "k");
  REQUIRE(loop.Wait(first));
  CHECK(first->result.error_kind == FetchErrorKind::kTimeout);
  CHECK(origin.Stats().timeout_drops == 1);
  // The dropped slot reconnects (to the same silent peer, which still accepts).
  CHECK(loop.RunUntil([&] { return origin.Stats().connects == 5; }, 3000));
  // Now the peer stops accepting but keeps its connections open and silent, and a healthy
  // origin takes the port: each pinned connection goes after one timeout, and reconnects land
  // on the healthy server. Bounded: at most one timeout per connection, plus slack.
  peer.StopListening();
  TestOrigin healthy;
  REQUIRE(healthy.Start(0, peer.port()));
  std::shared_ptr<Outcome> got;
  int tries = 0;
  for (; tries < 20; ++tries) {
    got = StartFetch(origin, "k");
    REQUIRE(loop.Wait(got, 3000));
    if (got->result.status == FetchStatus::kValue) break;
    CHECK(got->result.error_kind == FetchErrorKind::kTimeout);
  }
  CHECK(got->result.value == "value:k");
  CHECK(tries <= 8);
  CHECK(origin.Stats().timeout_drops >= 2);
  origin.Close();
  CHECK(loop.Finish() == 0);
}

TEST_CASE(
    "fetches pipelined behind a timed-out one are sent again, not failed, when its "
    "connection drops") {
  testing::SilentPeer peer;
  TestLoop loop;
  RedisOrigin origin(loop.get(), UrlFor(peer.port()), 1, 300);
  REQUIRE(loop.RunUntil([&] { return origin.ConnectedCount() == 1; }, 5000));
  auto early = StartFetch(origin, "early");
  loop.RunFor(150);
  auto late = StartFetch(origin, "late");  // same connection, 150 ms of deadline left
  REQUIRE(loop.Wait(early));
  CHECK(early->result.error_kind == FetchErrorKind::kTimeout);
  CHECK(late->calls == 0);  // requeued with its own deadline
  REQUIRE(loop.Wait(late));
  CHECK(late->result.error_kind == FetchErrorKind::kTimeout);
  CHECK(late->result.error == "origin timeout after 300 ms");
  CHECK(late->answered_ms - early->answered_ms >= 100);
  CHECK(origin.Stats().timeout_drops == 2);
  origin.Close();
  CHECK(loop.Finish() == 0);
}

TEST_CASE("SetTimeoutMs applies to the next fetch, even when it is shorter than earlier ones") {
  TestOrigin server;
  REQUIRE(server.Start(0));
  TestLoop loop;
  RedisOrigin origin(loop.get(), UrlFor(server.port()), 1, 5000);
  REQUIRE(loop.RunUntil([&] { return origin.ConnectedCount() == 1; }, 5000));
  REQUIRE(Command(server.port(), {"HANG"}) == "+OK");
  auto before = StartFetch(origin, "before");  // keeps its 5000 ms deadline
  origin.SetTimeoutMs(100);
  CHECK(origin.timeout_ms() == 100);
  auto after = StartFetch(origin, "after");
  REQUIRE(loop.Wait(after, 2000));
  CHECK(after->result.error_kind == FetchErrorKind::kTimeout);
  CHECK(after->result.error == "origin timeout after 100 ms");
  CHECK(before->calls == 0);
  REQUIRE(Command(server.port(), {"UNHANG"}) == "+OK");
  origin.Close();
  CHECK(before->calls == 1);
  CHECK(loop.Finish() == 0);
}

TEST_CASE("a garbage reply drops the connection, fails every fetch on it, and reconnects") {
  TestOrigin server;
  REQUIRE(server.Start(20));
  TestLoop loop;
  RedisOrigin origin(loop.get(), UrlFor(server.port()), 1, 2000);
  REQUIRE(loop.RunUntil([&] { return origin.ConnectedCount() == 1; }, 5000));
  auto before = StartFetch(origin, "before");
  auto garbage = StartFetch(origin, "garbage:1");
  auto after = StartFetch(origin, "after");
  REQUIRE(loop.RunUntil([&] { return before->calls && garbage->calls && after->calls; }, 3000));
  CHECK(before->result.value == "value:before");
  CHECK(garbage->result.error_kind == FetchErrorKind::kProtocol);
  CHECK(garbage->result.error.rfind("origin protocol error: ", 0) == 0);
  CHECK(after->result.status == FetchStatus::kError);
  CHECK(origin.Stats().disconnects == 1);
  REQUIRE(loop.RunUntil([&] { return origin.ConnectedCount() == 1; }, 3000));
  auto again = StartFetch(origin, "again");
  REQUIRE(loop.Wait(again));
  CHECK(again->result.value == "value:again");
  CHECK(origin.Stats().connects == 2);
  origin.Close();
  CHECK(loop.Finish() == 0);
}

TEST_CASE("Close fails every pending fetch at once and leaves no open handle") {
  TestOrigin server;
  REQUIRE(server.Start(1000));
  TestLoop loop;
  RedisOrigin origin(loop.get(), UrlFor(server.port()), 2, 5000);
  auto queued = StartFetch(origin, "queued");  // before any connection is up
  REQUIRE(loop.Wait(queued, 200) == false);
  REQUIRE(origin.ConnectedCount() == 2);
  auto sent1 = StartFetch(origin, "s1");
  auto sent2 = StartFetch(origin, "s2");
  loop.RunFor(50);
  origin.Close();
  for (auto* o : {&queued, &sent1, &sent2}) {
    CHECK((*o)->calls == 1);
    CHECK((*o)->result.error_kind == FetchErrorKind::kUnreachable);
  }
  origin.Close();  // idempotent
  CHECK(origin.ConnectedCount() == 0);
  CHECK(loop.Finish() == 0);
}

TEST_CASE("Close while connecting closes the half-open connections") {
  TestOrigin server;
  REQUIRE(server.Start(0));
  TestLoop loop;
  auto origin = std::make_unique<RedisOrigin>(loop.get(), UrlFor(server.port()), 4, 1000);
  auto pending = StartFetch(*origin, "k");
  origin.reset();  // never ran the loop: every connection is still connecting
  CHECK(pending->calls == 1);
  CHECK(loop.Finish() == 0);
}

TEST_CASE("a callback may destroy the origin; the fetches behind it still get one answer each") {
  TestOrigin server;
  REQUIRE(server.Start(20));
  TestLoop loop;
  auto origin = std::make_unique<RedisOrigin>(loop.get(), UrlFor(server.port()), 1, 2000);
  REQUIRE(loop.RunUntil([&] { return origin->ConnectedCount() == 1; }, 5000));
  int first_calls = 0;
  origin->Fetch("first", [&](FetchResult result) {
    ++first_calls;
    CHECK(result.value == "value:first");
    origin.reset();  // inside a hiredis reply callback
  });
  auto second = StartFetch(*origin, "second");
  auto third = StartFetch(*origin, "third");
  REQUIRE(loop.RunUntil([&] { return second->calls && third->calls; }, 3000));
  CHECK(first_calls == 1);
  CHECK(second->result.error_kind == FetchErrorKind::kUnreachable);
  CHECK(third->result.error_kind == FetchErrorKind::kUnreachable);
  loop.RunFor(100);  // the second and third replies, if any arrive, find nothing
  CHECK(second->calls == 1);
  CHECK(third->calls == 1);
  CHECK(loop.Finish() == 0);
}

TEST_CASE("a callback may start new fetches while the origin fails a dropped connection") {
  TestOrigin server;
  REQUIRE(server.Start(20));
  TestLoop loop;
  RedisOrigin origin(loop.get(), UrlFor(server.port()), 1, 2000);
  REQUIRE(loop.RunUntil([&] { return origin.ConnectedCount() == 1; }, 5000));
  std::shared_ptr<Outcome> retry;
  origin.Fetch("garbage:x", [&](FetchResult result) {
    CHECK(result.error_kind == FetchErrorKind::kProtocol);
    retry = StartFetch(origin, "retry");  // queued: the connection is reconnecting
  });
  REQUIRE(loop.RunUntil([&] { return retry && retry->calls; }, 3000));
  CHECK(retry->result.value == "value:retry");
  origin.Close();
  CHECK(loop.Finish() == 0);
}

TEST_CASE("an origin that refuses connections fails fetches with kUnreachable, not a timeout") {
  TestLoop loop;
  RedisOrigin origin(loop.get(), UrlFor(testing::FreePort()), 2, 3000);
  uint64_t start = NowMs();
  auto first = StartFetch(origin, "k");  // queued, then failed when every attempt is refused
  REQUIRE(loop.Wait(first));
  CHECK(first->answered_ms - start < 1000);
  CHECK(first->result.error_kind == FetchErrorKind::kUnreachable);
  CHECK(first->result.error.find("onnection refused") != std::string::npos);
  CHECK(origin.ConnectedCount() == 0);
  origin.Close();
  CHECK(loop.Finish() == 0);
}

TEST_CASE("a unix socket that does not exist is unreachable") {
  TestLoop loop;
  OriginUrl url;
  url.is_unix = true;
  url.unix_path = "/nonexistent/flightcache-test.sock";
  RedisOrigin origin(loop.get(), url, 1, 1000);
  auto fetch = StartFetch(origin, "k");
  CHECK(fetch->calls == 0);
  REQUIRE(loop.Wait(fetch));
  CHECK(fetch->result.error_kind == FetchErrorKind::kUnreachable);
  origin.Close();
  CHECK(loop.Finish() == 0);
}

TEST_CASE("Describe shows the address without the password") {
  TestLoop loop;
  std::string error;
  auto url = ParseOriginUrl("redis://bob:hunter2@127.0.0.1:1/3", &error);
  REQUIRE(url.has_value());
  RedisOrigin origin(loop.get(), *url, 1, 1000);
  CHECK(origin.Describe() == "redis://bob:***@127.0.0.1:1/3");
  origin.Close();
  CHECK(loop.Finish() == 0);
}

TEST_CASE("the test origin survives a client that leaves while its delayed reply waits") {
  TestOrigin server;
  REQUIRE(server.Start(100));
  {
    int fd = testing::ConnectTo(server.port());
    REQUIRE(fd >= 0);
    const char get[] = "*2\r\n$3\r\nGET\r\n$1\r\nx\r\n";
    REQUIRE(write(fd, get, sizeof(get) - 1) == static_cast<ssize_t>(sizeof(get) - 1));
    close(fd);
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  CHECK(Command(server.port(), {"COUNT", "x"}) == ":1");
  CHECK(Command(server.port(), {"PING"}) == "+PONG");
  CHECK(server.Stop() == 0);  // SIGTERM: clean exit, status 0
}

}  // namespace
}  // namespace flightcache::origin
