// read_through_test.cc — GET/MGET/GETEX reading through an origin with singleflight, against
// the shipped test origin (tests/tools/test_origin: per-key GET counts, delays, nil/error/
// garbage replies, a gate) and against a real redis-server from Debian.
// No test here depends on the machine's speed: a fetch that must still be in flight is held
// behind the test origin's gate, and the test waits on the server's own counters (INFO) or the
// origin's (HELD, COUNT) before it acts, then releases the gate.
#include <doctest/doctest.h>
#include <signal.h>

#include <chrono>
#include <thread>

#include "tests/integration/server_process.h"
#include "tests/integration/test_origin_process.h"

namespace flightcache::integration {
namespace {

using Clock = std::chrono::steady_clock;

// The test origin on a free port, with a reply delay.
struct TestOrigin : TestOriginProcess {
  explicit TestOrigin(int delay_ms, int fixed_port = 0)
      : TestOriginProcess({"--delay-ms", std::to_string(delay_ms)}, fixed_port) {}
};

std::string OriginUrl(int port) { return "redis://127.0.0.1:" + std::to_string(port); }

// A flightcache reading through `origin`, plus one client.
struct ReadThrough {
  explicit ReadThrough(int delay_ms, std::vector<std::string> extra = {})
      : origin(delay_ms), server(Args(origin.port, std::move(extra))), c(Connect(server.port())) {}
  static std::vector<std::string> Args(int port, std::vector<std::string> extra) {
    std::vector<std::string> args = {"--origin", OriginUrl(port)};
    args.insert(args.end(), extra.begin(), extra.end());
    return args;
  }
  std::string InfoField(const std::string& name) { return InfoValue(c.get(), name); }
  // Waits until INFO shows name:value.
  void WaitInfo(const std::string& name, const std::string& value) {
    std::string seen;
    bool reached = WaitUntil([&] { return (seen = InfoField(name)) == value; });
    CAPTURE(name);
    CAPTURE(seen);
    REQUIRE(reached);
  }
  TestOrigin origin;
  ServerProcess server;
  ContextPtr c;
};

// Writes everything appended to c's output buffer, without reading.
void Send(redisContext* c) {
  int done = 0;
  while (!done) REQUIRE(redisBufferWrite(c, &done) == REDIS_OK);
}

// Sends GET key on clients_per_key fresh connections per key, without reading the replies.
std::vector<ContextPtr> SendGets(int port, const std::vector<std::string>& keys,
                                 int clients_per_key) {
  std::vector<ContextPtr> clients;
  for (const std::string& key : keys) {
    for (int i = 0; i < clients_per_key; ++i) {
      clients.push_back(Connect(port, std::chrono::milliseconds(30000)));
      Append(clients.back().get(), {"GET", key});
      Send(clients.back().get());
    }
  }
  return clients;
}

// Reads one reply from each client, in order.
std::vector<std::string> ReadReplies(std::vector<ContextPtr>& clients) {
  std::vector<std::string> replies;
  for (auto& client : clients) replies.push_back(Show(NextReply(client.get()).get(), client.get()));
  return replies;
}

}  // namespace

TEST_CASE("a GET miss reads through the origin, fills the store, and the next GET is a hit") {
  ReadThrough rt(0);
  CHECK(Do(rt.c, {"GET", "user:1"}) == "value:user:1");
  CHECK(Do(rt.c, {"EXISTS", "user:1"}) == ":1");
  CHECK(Do(rt.c, {"GET", "user:1"}) == "value:user:1");
  CHECK(rt.origin.Count("user:1") == 1);
  CHECK(rt.InfoField("origin_fetches_started") == "1");
  CHECK(rt.InfoField("origin_fills") == "1");
  CHECK(rt.InfoField("keyspace_hits") == "1");
  CHECK(rt.InfoField("keyspace_misses") == "1");
}

TEST_CASE("without --origin a miss is a miss") {
  ServerFixture f;
  CHECK(Do(f.c, {"GET", "user:1"}) == "(nil)");
  ReplyPtr r = Command(f.c.get(), {"INFO", "origin"});
  REQUIRE(r);
  CHECK(std::string(r->str, r->len).find("origin_enabled:0") != std::string::npos);
}

TEST_CASE("an origin nil answers nil and stores nothing; the next GET asks again") {
  ReadThrough rt(0);
  CHECK(Do(rt.c, {"GET", "missing:a"}) == "(nil)");
  CHECK(Do(rt.c, {"EXISTS", "missing:a"}) == ":0");
  CHECK(Do(rt.c, {"GET", "missing:a"}) == "(nil)");
  CHECK(rt.origin.Count("missing:a") == 2);
  CHECK(rt.InfoField("origin_not_found") == "2");
}

TEST_CASE("negative-ttl remembers an origin nil for that long") {
  ReadThrough rt(0, {"--negative-ttl", "2"});
  CHECK(Do(rt.c, {"GET", "missing:b"}) == "(nil)");
  CHECK(Do(rt.c, {"GET", "missing:b"}) == "(nil)");
  CHECK(rt.origin.Count("missing:b") == 1);
  CHECK(rt.InfoField("origin_negative_hits") == "1");
  // Once it lapses, a GET asks the origin again (and the answer is remembered anew).
  CHECK(WaitUntil([&] {
    CHECK(Do(rt.c, {"GET", "missing:b"}) == "(nil)");
    return rt.origin.Count("missing:b") == 2;
  }));
  CHECK(Do(rt.c, {"GET", "missing:b"}) == "(nil)");
  CHECK(rt.origin.Count("missing:b") == 2);
}

TEST_CASE("cache-ttl gives filled values an expiry") {
  ReadThrough rt(0, {"--cache-ttl", "100"});
  CHECK(Do(rt.c, {"GET", "k"}) == "value:k");
  ReplyPtr ttl = Command(rt.c.get(), {"TTL", "k"});
  REQUIRE(ttl);
  CHECK(ttl->integer > 95);
  CHECK(ttl->integer <= 100);
}

TEST_CASE("an origin error reply reaches the client and is never stored") {
  ReadThrough rt(0);
  CHECK(Do(rt.c, {"GET", "error:x"}) == "-ERR origin error: ERR test origin error");
  CHECK(Do(rt.c, {"GET", "error:x"}) == "-ERR origin error: ERR test origin error");
  CHECK(rt.origin.Count("error:x") == 2);
  CHECK(Do(rt.c, {"EXISTS", "error:x"}) == ":0");
  CHECK(rt.InfoField("origin_errors") == "2");
}

TEST_CASE("an origin that answers garbage gives an error and the server stays up") {
  ReadThrough rt(0);
  std::string reply = Do(rt.c, {"GET", "garbage:x"});
  CHECK(reply.rfind("-ERR origin", 0) == 0);
  CHECK(Do(rt.c, {"PING"}) == "+PONG");
  // The origin connection is re-established and later fetches work.
  CHECK(WaitUntil([&] { return Do(rt.c, {"GET", "after"}) == "value:after"; }));
}

TEST_CASE("1000 concurrent clients on one cold key cause exactly one origin fetch") {
  ReadThrough rt(0, {"--origin-timeout", "60000"});
  rt.origin.Gate();
  std::vector<ContextPtr> clients = SendGets(rt.server.port(), {"hot"}, 1000);
  rt.WaitInfo("origin_parked_clients", "1000");
  CHECK(rt.InfoField("origin_fetches_in_flight") == "1");
  rt.origin.Release();
  std::vector<std::string> replies = ReadReplies(clients);
  REQUIRE(replies.size() == 1000);
  int correct = 0;
  for (const std::string& r : replies) correct += r == "value:hot";
  CHECK(correct == 1000);
  CHECK(rt.origin.Count("hot") == 1);
  CHECK(rt.InfoField("origin_fetches_shared") == "999");
  CHECK(rt.InfoField("origin_parked_clients") == "0");
}

TEST_CASE("many keys times many clients cost one origin fetch per key") {
  ReadThrough rt(0, {"--origin-timeout", "60000"});
  std::vector<std::string> keys;
  for (int i = 0; i < 40; ++i) keys.push_back("many:" + std::to_string(i));
  rt.origin.Gate();
  std::vector<ContextPtr> clients = SendGets(rt.server.port(), keys, 20);
  rt.WaitInfo("origin_parked_clients", "800");
  rt.origin.WaitHeld(40);
  rt.origin.Release();
  std::vector<std::string> replies = ReadReplies(clients);
  REQUIRE(replies.size() == 800);
  for (size_t i = 0; i < replies.size(); ++i) CHECK(replies[i] == "value:" + keys[i / 20]);
  for (const std::string& k : keys) CHECK(rt.origin.Count(k) == 1);
  CHECK(rt.InfoField("origin_fetches_shared") == "760");
}

TEST_CASE("pipelined commands around misses keep their order, and misses fetch concurrently") {
  ReadThrough rt(0);
  redisContext* c = rt.c.get();
  rt.origin.Gate();
  Append(c, {"SET", "a", "1"});
  for (int i = 0; i < 10; ++i) Append(c, {"GET", "p:" + std::to_string(i)});
  Append(c, {"GET", "a"});
  Append(c, {"GET", "missing:p"});
  Append(c, {"INCR", "a"});
  Append(c, {"PING"});
  Send(c);
  // All eleven misses reach the origin while the first is still unanswered: they fetch
  // concurrently, not one after another.
  rt.origin.WaitHeld(11);
  rt.origin.Release();
  CHECK(Show(NextReply(c).get()) == "+OK");
  for (int i = 0; i < 10; ++i) CHECK(Show(NextReply(c).get()) == "value:p:" + std::to_string(i));
  CHECK(Show(NextReply(c).get()) == "1");
  CHECK(Show(NextReply(c).get()) == "(nil)");
  CHECK(Show(NextReply(c).get()) == ":2");
  CHECK(Show(NextReply(c).get()) == "+PONG");
}

TEST_CASE("MGET fetches its missing keys concurrently and answers in key order") {
  ReadThrough rt(0);
  CHECK(Do(rt.c, {"SET", "cached", "here"}) == "+OK");
  std::vector<std::string> args = {"MGET", "cached"};
  for (int i = 0; i < 8; ++i) args.push_back("m:" + std::to_string(i));
  args.push_back("missing:m");
  args.push_back("m:0");
  rt.origin.Gate();
  Append(rt.c.get(), args);
  Send(rt.c.get());
  rt.origin.WaitHeld(9);  // nine distinct missing keys, all in flight at once
  rt.origin.Release();
  CHECK(Show(NextReply(rt.c.get()).get()) ==
        "[here, value:m:0, value:m:1, value:m:2, value:m:3, value:m:4, value:m:5, value:m:6, "
        "value:m:7, (nil), value:m:0]");
  CHECK(rt.origin.Count("m:0") == 1);
  CHECK(Do(rt.c, {"MGET", "m:3", "cached"}) == "[value:m:3, here]");
  CHECK(rt.origin.Count("m:3") == 1);
}

TEST_CASE("GETEX reads through the origin too") {
  ReadThrough rt(0);
  CHECK(Do(rt.c, {"GETEX", "gx"}) == "value:gx");
  CHECK(Do(rt.c, {"GETEX", "gx", "EX", "50"}) == "value:gx");
  ReplyPtr ttl = Command(rt.c.get(), {"TTL", "gx"});
  REQUIRE(ttl);
  CHECK(ttl->integer == 50);
  CHECK(rt.origin.Count("gx") == 1);
}

TEST_CASE("GETEX's EX PX EXAT PXAT and PERSIST apply to the value a miss fills") {
  ReadThrough rt(0, {"--cache-ttl", "1000"});
  ReplyPtr now = Command(rt.c.get(), {"TIME"});
  REQUIRE(now);
  REQUIRE(now->type == REDIS_REPLY_ARRAY);
  const long long now_s = std::stoll(now->element[0]->str);
  CHECK(Do(rt.c, {"GETEX", "ex", "EX", "50"}) == "value:ex");
  CHECK(Do(rt.c, {"TTL", "ex"}) == ":50");
  CHECK(Do(rt.c, {"GETEX", "px", "PX", "50000"}) == "value:px");
  ReplyPtr pttl = Command(rt.c.get(), {"PTTL", "px"});
  REQUIRE(pttl);
  CHECK(pttl->integer > 40000);
  CHECK(pttl->integer <= 50000);
  const std::string at = std::to_string(now_s + 5000);
  CHECK(Do(rt.c, {"GETEX", "exat", "EXAT", at}) == "value:exat");
  CHECK(Do(rt.c, {"EXPIRETIME", "exat"}) == ":" + at);
  CHECK(Do(rt.c, {"GETEX", "pxat", "PXAT", at + "000"}) == "value:pxat");
  CHECK(Do(rt.c, {"PEXPIRETIME", "pxat"}) == ":" + at + "000");
  CHECK(Do(rt.c, {"GETEX", "persist", "PERSIST"}) == "value:persist");
  CHECK(Do(rt.c, {"TTL", "persist"}) == ":-1");
  // A plain GETEX keeps the fill's --cache-ttl.
  CHECK(Do(rt.c, {"GETEX", "plain"}) == "value:plain");
  CHECK(Do(rt.c, {"TTL", "plain"}) == ":1000");
  // A time in the past answers the value and leaves no key, as GETEX on a present key does.
  CHECK(Do(rt.c, {"GETEX", "past", "EXAT", "1"}) == "value:past");
  CHECK(Do(rt.c, {"EXISTS", "past"}) == ":0");
  CHECK(rt.origin.Count("ex") == 1);
}

TEST_CASE("a DEL while the fetch is in flight keeps the stale origin value out of the store") {
  ReadThrough rt(0, {"--origin-timeout", "60000"});
  CHECK(rt.origin.Do({"SET", "fk", "old"}) == "+OK");
  rt.origin.Gate();
  ContextPtr waiter = Connect(rt.server.port(), std::chrono::milliseconds(30000));
  Append(waiter.get(), {"GET", "fk"});
  Send(waiter.get());
  rt.origin.WaitHeld(1);  // the fetch is in flight, its answer "old" held at the origin
  CHECK(rt.origin.Do({"SET", "fk", "new"}) == "+OK");
  CHECK(Do(rt.c, {"DEL", "fk"}) == ":0");
  rt.origin.Release();
  // The waiter gets the value its fetch returned...
  CHECK(Show(NextReply(waiter.get()).get()) == "old");
  // ...but the store was not filled with it: the next GET fetches again and sees "new".
  CHECK(Do(rt.c, {"EXISTS", "fk"}) == ":0");
  CHECK(Do(rt.c, {"GET", "fk"}) == "new");
  CHECK(rt.origin.Count("fk") == 2);
  CHECK(rt.InfoField("origin_forgotten") == "1");
}

TEST_CASE("a SET while the fetch is in flight wins over the fetched value") {
  ReadThrough rt(0, {"--origin-timeout", "60000"});
  rt.origin.Gate();
  ContextPtr waiter = Connect(rt.server.port(), std::chrono::milliseconds(30000));
  Append(waiter.get(), {"GET", "sk"});
  Send(waiter.get());
  rt.origin.WaitHeld(1);
  CHECK(Do(rt.c, {"SET", "sk", "written"}) == "+OK");
  rt.origin.Release();
  CHECK(Show(NextReply(waiter.get()).get()) == "value:sk");
  CHECK(Do(rt.c, {"GET", "sk"}) == "written");
}

TEST_CASE("an HSET, RPUSH or SADD while the fetch is in flight keeps the fetched string out") {
  ReadThrough rt(0, {"--origin-timeout", "60000"});
  const std::vector<std::vector<std::string>> writes = {
      {"HSET", "tk:h", "f", "v"}, {"RPUSH", "tk:l", "e"}, {"SADD", "tk:s", "m"}};
  for (const std::vector<std::string>& write : writes) {
    CAPTURE(write[0]);
    const std::string& key = write[1];
    rt.origin.Gate();
    ContextPtr waiter = Connect(rt.server.port(), std::chrono::milliseconds(30000));
    Append(waiter.get(), {"GET", key});
    Send(waiter.get());
    rt.origin.WaitHeld(1);
    CHECK(Do(rt.c, write) == ":1");
    rt.origin.Release();
    // The waiter that joined before the write gets the origin's value; the store keeps the write.
    CHECK(Show(NextReply(waiter.get()).get()) == "value:" + key);
    CHECK(Do(rt.c, {"TYPE", key}) != "+string");
    CHECK(Do(rt.c, {"GET", key}) ==
          "-WRONGTYPE Operation against a key holding the wrong kind of value");
  }
  CHECK(rt.InfoField("origin_forgotten") == "3");
}

TEST_CASE("a FLUSHALL while fetches are in flight keeps their values out of the store") {
  ReadThrough rt(0, {"--origin-timeout", "60000"});
  rt.origin.Gate();
  ContextPtr waiter = Connect(rt.server.port(), std::chrono::milliseconds(30000));
  Append(waiter.get(), {"MGET", "f1", "f2"});
  Send(waiter.get());
  rt.origin.WaitHeld(2);
  CHECK(Do(rt.c, {"FLUSHALL"}) == "+OK");
  rt.origin.Release();
  CHECK(Show(NextReply(waiter.get()).get()) == "[value:f1, value:f2]");
  CHECK(Do(rt.c, {"DBSIZE"}) == ":0");
}

TEST_CASE("a client that disconnects while parked is taken off the flight; others get answers") {
  ReadThrough rt(0, {"--origin-timeout", "60000"});
  rt.origin.Gate();
  {
    ContextPtr leaver = Connect(rt.server.port());
    Append(leaver.get(), {"GET", "shared"});
    Append(leaver.get(), {"MGET", "shared", "other"});
    Send(leaver.get());
    rt.WaitInfo("origin_parked_clients", "3");
    rt.origin.WaitHeld(2);
  }  // closed while parked
  ContextPtr stayer = Connect(rt.server.port(), std::chrono::milliseconds(30000));
  Append(stayer.get(), {"GET", "shared"});
  Send(stayer.get());
  rt.WaitInfo("origin_fetches_shared", "2");               // the stayer joined the same flight
  CHECK(rt.InfoField("origin_fetches_in_flight") == "2");  // the fetches go on
  rt.origin.Release();
  CHECK(Show(NextReply(stayer.get()).get()) == "value:shared");
  CHECK(rt.origin.Count("shared") == 1);
  rt.WaitInfo("origin_fetches_in_flight", "0");
  CHECK(rt.InfoField("origin_parked_clients") == "0");
  CHECK(rt.InfoField("connected_clients") == "2");
  CHECK(Do(rt.c, {"GET", "other"}) == "value:other");  // filled by the abandoned fetch
  CHECK(rt.origin.Count("other") == 1);
}

TEST_CASE("an origin killed mid-flight gives every waiter an error, then the server reconnects") {
  // A long deadline: the waiters' errors must come from the lost connection, not a timeout.
  ReadThrough rt(0, {"--origin-timeout", "60000"});
  const int origin_port = rt.origin.port;
  rt.origin.Gate();
  std::vector<ContextPtr> waiters;
  for (int i = 0; i < 5; ++i) {
    waiters.push_back(Connect(rt.server.port(), std::chrono::milliseconds(30000)));
    Append(waiters.back().get(), {"GET", "dying:" + std::to_string(i % 2)});
    Send(waiters.back().get());
  }
  rt.WaitInfo("origin_parked_clients", "5");
  rt.origin.WaitHeld(2);
  rt.origin.process->Signal(SIGKILL, std::chrono::milliseconds(10000));
  for (auto& w : waiters) {
    std::string reply = Show(NextReply(w.get()).get(), w.get());
    CHECK(reply.rfind("-ERR origin unreachable", 0) == 0);
  }
  CHECK(Do(rt.c, {"PING"}) == "+PONG");
  CHECK(Do(rt.c, {"GET", "while-down"}).rfind("-ERR origin", 0) == 0);
  // The origin comes back on the same port: the server reconnects by itself.
  TestOrigin revived(0, origin_port);
  CHECK(WaitUntil([&] { return Do(rt.c, {"GET", "back"}) == "value:back"; }));
  CHECK(rt.InfoField("origin_connected") != "0");
}

TEST_CASE("a hanging origin (DEBUG SLEEP on redis-server) gives timeouts, then recovers") {
  const int port = FreeTcpPort();
  ChildProcess redis(SpawnOptions{"/usr/bin/redis-server",
                                  {"--port", std::to_string(port), "--bind", "127.0.0.1", "--save",
                                   "", "--appendonly", "no", "--enable-debug-command", "yes"},
                                  {},
                                  port});
  ContextPtr origin = Connect(port);
  CHECK(Do(origin, {"SET", "slow", "ok"}) == "+OK");
  ServerProcess server(
      {"--origin", OriginUrl(port), "--origin-timeout", "300", "--origin-connections", "2"});
  ContextPtr c = Connect(server.port());
  ContextPtr sleeper = Connect(port, std::chrono::milliseconds(30000));
  Append(sleeper.get(), {"DEBUG", "SLEEP", "3"});
  Send(sleeper.get());
  // The origin is asleep once a PING on another connection gets no answer within 100 ms.
  CHECK(WaitUntil([&] {
    ContextPtr probe = Connect(port, std::chrono::milliseconds(100));
    return !Command(probe.get(), {"PING"});
  }));
  CHECK(Do(c, {"GET", "slow"}) == "-ERR origin timeout after 300 ms");
  CHECK(Do(c, {"EXISTS", "slow"}) == ":0");
  CHECK(Show(NextReply(sleeper.get()).get()) == "+OK");  // the sleep is over
  CHECK(WaitUntil([&] { return Do(c, {"GET", "slow"}) == "ok"; }));
  ReplyPtr info = Command(c.get(), {"INFO", "origin"});
  REQUIRE(info);
  CHECK(std::string(info->str, info->len).find("origin_timeouts:0") == std::string::npos);
}

TEST_CASE("a real redis-server origin with a password and a database reads through") {
  const int port = FreeTcpPort();
  ChildProcess redis(SpawnOptions{"/usr/bin/redis-server",
                                  {"--port", std::to_string(port), "--bind", "127.0.0.1", "--save",
                                   "", "--appendonly", "no", "--requirepass", "s3cret"},
                                  {},
                                  port});
  ContextPtr origin = Connect(port);
  CHECK(Do(origin, {"AUTH", "s3cret"}) == "+OK");
  CHECK(Do(origin, {"SELECT", "2"}) == "+OK");
  CHECK(Do(origin, {"SET", "db2key", "from-db-2"}) == "+OK");
  ServerProcess server({"--origin", "redis://:s3cret@127.0.0.1:" + std::to_string(port) + "/2"});
  ContextPtr c = Connect(server.port());
  CHECK(Do(c, {"GET", "db2key"}) == "from-db-2");
  CHECK(Do(c, {"GET", "nothere"}) == "(nil)");
  ReplyPtr info = Command(c.get(), {"INFO", "origin"});
  REQUIRE(info);
  std::string text(info->str, info->len);
  CHECK(text.find("s3cret") == std::string::npos);
  CHECK(text.find("origin_url:redis://") != std::string::npos);
  // CONFIG GET shows the origin as INFO does: without the password.
  CHECK(Do(c, {"CONFIG", "GET", "origin"}) ==
        "[origin, redis://:***@127.0.0.1:" + std::to_string(port) + "/2]");
}

TEST_CASE("a bad origin URL or option stops the server at start with exit code 1") {
  const std::string bin = RequiredEnv("FLIGHTCACHE_BIN");
  for (const std::vector<std::string>& args :
       {std::vector<std::string>{"--port", "0", "--origin", "http://x"},
        std::vector<std::string>{"--port", "0", "--origin", "redis://127.0.0.1:99999"},
        std::vector<std::string>{"--port", "0", "--origin-timeout", "0"},
        std::vector<std::string>{"--port", "0", "--origin-connections", "x"}}) {
    RunResult r = RunToExit(bin, args);
    CAPTURE(r.output);
    CHECK(r.exit_code == 1);
    CHECK(r.output.find("origin") != std::string::npos);
  }
}

TEST_CASE("with db=3 a write in database 3 during a fetch forgets it; one in database 0 does not") {
  TestOrigin origin(0);
  ServerProcess server({"--route", "* " + OriginUrl(origin.port) + " db=3"});
  ContextPtr c = Connect(server.port());
  ContextPtr in_db3 = Connect(server.port());
  REQUIRE(Do(in_db3, {"SELECT", "3"}) == "+OK");
  ContextPtr waiter = Connect(server.port(), std::chrono::milliseconds(30000));
  REQUIRE(Do(waiter, {"SELECT", "3"}) == "+OK");
  origin.Gate();
  Append(waiter.get(), {"GET", "k"});
  Send(waiter.get());
  origin.WaitHeld(1);
  // The same key name in database 0 is another key: the flight goes on.
  CHECK(Do(c, {"SET", "k", "db0"}) == "+OK");
  CHECK(Do(c, {"ORIGIN", "FLIGHTS"}).find("forgotten, :0") != std::string::npos);
  // In database 3 it is the key being fetched: the flight is forgotten (the Forget rule).
  CHECK(Do(in_db3, {"SET", "k", "local"}) == "+OK");
  CHECK(Do(c, {"ORIGIN", "FLIGHTS"}).find("forgotten, :1") != std::string::npos);
  origin.Release();
  CHECK(Show(NextReply(waiter.get()).get()) == "value:k");
  REQUIRE(WaitUntil([&] { return InfoNumber(c, "origin_fetches_in_flight") == 0; }));
  CHECK(InfoValue(c.get(), "origin_forgotten") == "1");
  CHECK(Do(in_db3, {"GET", "k"}) == "local");
  CHECK(Do(c, {"GET", "k"}) == "db0");
}

}  // namespace flightcache::integration
