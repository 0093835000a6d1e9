// redis_server_test.cc — RedisOrigin against a real Debian redis-server started per test on a
// free loopback port: real replies, AUTH (requirepass and ACL users), SELECT, and a server
// killed mid-flight then restarted on the same port. Skipped when redis-server is missing.
#include <doctest/doctest.h>

#include <memory>
#include <string>

#include "origin/origin_test_util.h"
#include "origin/redis_origin.h"

namespace flightcache::origin {
namespace {

using testing::Command;
using testing::Commands;
using testing::FreePort;
using testing::HaveRedisServer;
using testing::NowMs;
using testing::RedisServer;
using testing::StartFetch;
using testing::TestLoop;

OriginUrl MustParse(const std::string& text) {
  std::string error;
  auto url = ParseOriginUrl(text, &error);
  INFO(error);
  REQUIRE(url.has_value());
  return *url;
}

std::string Local(int port, const std::string& credentials = "", int db = 0) {
  return "redis://" + credentials + "127.0.0.1:" + std::to_string(port) + "/" + std::to_string(db);
}

TEST_CASE("redis-server: values, nil, binary keys and WRONGTYPE errors come back mapped") {
  if (!HaveRedisServer()) {
    MESSAGE("redis-server not installed; skipped");
    return;
  }
  RedisServer redis;
  REQUIRE(redis.Start(FreePort()));
  std::string key("k\0\r\n", 4);
  REQUIRE(Command(redis.port(), {"SET", key, "hello"}) == "+OK");
  REQUIRE(Command(redis.port(), {"LPUSH", "list", "x"}) == ":1");
  TestLoop loop;
  RedisOrigin origin(loop.get(), MustParse(Local(redis.port())), 2, 2000);
  auto value = StartFetch(origin, key);
  auto nil = StartFetch(origin, "nope");
  auto wrong = StartFetch(origin, "list");
  REQUIRE(loop.RunUntil([&] { return value->calls && nil->calls && wrong->calls; }, 5000));
  CHECK(value->result.value == "hello");
  CHECK(nil->result.status == FetchStatus::kNotFound);
  CHECK(wrong->result.error_kind == FetchErrorKind::kErrorReply);
  CHECK(wrong->result.error.rfind("origin error: WRONGTYPE", 0) == 0);
  origin.Close();
  CHECK(loop.Finish() == 0);
}

TEST_CASE("redis-server: AUTH with requirepass and SELECT read the right database") {
  if (!HaveRedisServer()) return;
  RedisServer redis;
  REQUIRE(redis.Start(FreePort(), {"--requirepass", "s3cret", "--user", "alice", "on", ">alicepw",
                                   "~*", "&*", "+@all"}));
  auto setup =
      Commands(redis.port(), {{"AUTH", "s3cret"}, {"SELECT", "3"}, {"SET", "k", "in-db-3"}});
  REQUIRE(setup == std::vector<std::string>{"+OK", "+OK", "+OK"});
  TestLoop loop;
  RedisOrigin origin(loop.get(), MustParse(Local(redis.port(), ":s3cret@", 3)), 2, 2000);
  RedisOrigin db0(loop.get(), MustParse(Local(redis.port(), ":s3cret@", 0)), 1, 2000);
  RedisOrigin alice(loop.get(), MustParse(Local(redis.port(), "alice:alicepw@", 3)), 1, 2000);
  auto in3 = StartFetch(origin, "k");
  auto in0 = StartFetch(db0, "k");
  auto as_alice = StartFetch(alice, "k");
  REQUIRE(loop.RunUntil([&] { return in3->calls && in0->calls && as_alice->calls; }, 5000));
  CHECK(in3->result.value == "in-db-3");
  CHECK(in0->result.status == FetchStatus::kNotFound);
  CHECK(as_alice->result.value == "in-db-3");
  CHECK(origin.ConnectedCount() == 2);
  origin.Close();
  db0.Close();
  alice.Close();
  CHECK(loop.Finish() == 0);
}

TEST_CASE("redis-server: a wrong password never makes a connection ready") {
  if (!HaveRedisServer()) return;
  RedisServer redis;
  REQUIRE(redis.Start(FreePort(), {"--requirepass", "s3cret"}));
  TestLoop loop;
  RedisOrigin wrong(loop.get(), MustParse(Local(redis.port(), ":wrong@")), 2, 2000);
  RedisOrigin none(loop.get(), MustParse(Local(redis.port())), 1, 2000);
  auto denied = StartFetch(wrong, "k");
  auto noauth = StartFetch(none, "k");
  REQUIRE(loop.RunUntil([&] { return denied->calls && noauth->calls; }, 5000));
  CHECK(denied->result.error_kind == FetchErrorKind::kUnreachable);
  CHECK(denied->result.error.find("AUTH failed: WRONGPASS") != std::string::npos);
  // Without AUTH the connection is up but GET is refused: that is the origin's error reply.
  CHECK(noauth->result.error_kind == FetchErrorKind::kErrorReply);
  CHECK(noauth->result.error.find("NOAUTH") != std::string::npos);
  CHECK(wrong.ConnectedCount() == 0);
  CHECK(wrong.Stats().connects == 0);
  wrong.Close();
  none.Close();
  CHECK(loop.Finish() == 0);
}

TEST_CASE("redis-server: a kill mid-flight fails the fetches; a restart reconnects") {
  if (!HaveRedisServer()) return;
  int port = FreePort();
  auto redis = std::make_unique<RedisServer>();
  REQUIRE(redis->Start(port));
  TestLoop loop;
  RedisOrigin origin(loop.get(), MustParse(Local(port)), 2, 3000);
  REQUIRE(loop.RunUntil([&] { return origin.ConnectedCount() == 2; }, 5000));
  // Pause every client so the GETs are surely in flight when the server dies.
  REQUIRE(Command(port, {"CLIENT", "PAUSE", "10000", "ALL"}) == "+OK");
  auto a = StartFetch(origin, "a");
  auto b = StartFetch(origin, "b");
  loop.RunFor(100);
  REQUIRE(a->calls == 0);
  uint64_t killed = NowMs();
  redis->Kill();
  REQUIRE(loop.RunUntil([&] { return a->calls && b->calls; }, 2000));
  CHECK(a->answered_ms - killed < 1000);  // not the 3 s timeout
  CHECK(a->result.error_kind == FetchErrorKind::kUnreachable);
  CHECK(b->result.error_kind == FetchErrorKind::kUnreachable);
  CHECK(a->result.error.rfind("origin unreachable: ", 0) == 0);
  REQUIRE(loop.RunUntil([&] { return origin.ConnectedCount() == 0; }, 1000));
  loop.RunFor(300);  // a few refused reconnects: the backoff grows
  auto down = StartFetch(origin, "down");
  REQUIRE(loop.Wait(down));
  CHECK(down->result.error_kind == FetchErrorKind::kUnreachable);  // fails fast, no timeout

  redis = std::make_unique<RedisServer>();
  REQUIRE(redis->Start(port));
  REQUIRE(Command(port, {"SET", "a", "back"}) == "+OK");
  REQUIRE(loop.RunUntil([&] { return origin.ConnectedCount() == 2; }, 5000));
  auto again = StartFetch(origin, "a");
  REQUIRE(loop.Wait(again));
  CHECK(again->result.value == "back");
  CHECK(origin.Stats().disconnects == 2);
  origin.Close();
  CHECK(loop.Finish() == 0);
}

}  // namespace
}  // namespace flightcache::origin
