// notifications_test.cc — keyspace notifications (notify-keyspace-events) against the real
// binary: CONFIG SET's validation and Redis 7.0's canonical CONFIG GET form, the event names of
// each command family (checked against Redis 7.0's), the K/E channels and class filters,
// expired and evicted events, the origin's fill events (class o, off unless asked for), and
// delivery to subscribers on another worker. Messages are read as they come, with a deadline; an
// event that must not come is checked by the order of messages (a later event arrives first).
#include <doctest/doctest.h>

#include <memory>
#include <string>
#include <vector>

#include "tests/integration/server_process.h"
#include "tests/integration/test_origin_process.h"

namespace flightcache::integration {
namespace {

// The next message of a pattern subscriber, as "channel message".
std::string NextEvent(const ContextPtr& c) {
  ReplyPtr r = NextReply(c.get());
  if (!r || r->type != REDIS_REPLY_ARRAY || r->elements != 4) return Show(r.get(), c.get());
  return std::string(r->element[2]->str, r->element[2]->len) + " " +
         std::string(r->element[3]->str, r->element[3]->len);
}

// A subscriber to every keyevent channel of db 0.
ContextPtr KeyeventSubscriber(int port) {
  ContextPtr s = Connect(port);
  REQUIRE(Do(s, {"PSUBSCRIBE", "__keyevent@0__:*"}) == "[psubscribe, __keyevent@0__:*, :1]");
  return s;
}

std::string Event(const std::string& name, const std::string& key) {
  return "__keyevent@0__:" + name + " " + key;
}

using TestOrigin = TestOriginProcess;

}  // namespace

TEST_CASE_FIXTURE(ServerFixture,
                  "notify-keyspace-events is validated and reads back in Redis's canonical form") {
  CHECK(Do(c, {"CONFIG", "GET", "notify-keyspace-events"}) == "[notify-keyspace-events, ]");
  const std::vector<std::pair<std::string, std::string>> forms = {
      {"KEA", "AKE"}, {"E$lgs", "g$lsE"}, {"A", "A"},    {"", ""},    {"KEAm", "AKEm"},
      {"xeK", "xeK"}, {"Ag$K", "AK"},     {"n", "n"},    {"An", "A"}, {"thzd", "hztd"},
      {"o", "o"},     {"AKEo", "AKEo"},   {"oKg", "gKo"}};
  for (const auto& form : forms) {
    const std::string& given = form.first;
    const std::string& shown = form.second;
    CAPTURE(given);
    CHECK(Do(c, {"CONFIG", "SET", "notify-keyspace-events", given}) == "+OK");
    CHECK(Do(c, {"CONFIG", "GET", "notify-keyspace-events"}) ==
          "[notify-keyspace-events, " + shown + "]");
  }
  CHECK(Do(c, {"CONFIG", "SET", "notify-keyspace-events", "Kq"}) ==
        "-ERR CONFIG SET failed (possibly related to argument 'notify-keyspace-events') - Invalid "
        "event class character. Use 'Ag$lshzxeKEtmdn'.");
  CHECK(Do(c, {"CONFIG", "GET", "notify-keyspace-events"}) == "[notify-keyspace-events, gKo]");
}

TEST_CASE_FIXTURE(ServerFixture, "each command family sends Redis 7.0's event names") {
  CHECK(Do(c, {"CONFIG", "SET", "notify-keyspace-events", "KEA"}) == "+OK");
  ContextPtr s = KeyeventSubscriber(server.port());
  const std::vector<std::pair<std::vector<std::string>, std::vector<std::string>>> steps = {
      {{"SET", "s", "1", "EX", "100"}, {Event("set", "s"), Event("expire", "s")}},
      {{"INCRBY", "s", "2"}, {Event("incrby", "s")}},
      {{"INCRBYFLOAT", "s", "1.5"}, {Event("incrbyfloat", "s")}},
      {{"APPEND", "s", "x"}, {Event("append", "s")}},
      {{"SETRANGE", "s", "0", "9"}, {Event("setrange", "s")}},
      {{"PERSIST", "s"}, {Event("persist", "s")}},
      {{"MSET", "a", "1", "b", "2"}, {Event("set", "a"), Event("set", "b")}},
      {{"RENAME", "a", "c"}, {Event("rename_from", "a"), Event("rename_to", "c")}},
      {{"DEL", "b", "c", "nosuch"}, {Event("del", "b"), Event("del", "c")}},
      {{"LPUSH", "l", "x", "y"}, {Event("lpush", "l")}},
      {{"RPUSH", "l", "z"}, {Event("rpush", "l")}},
      {{"LMOVE", "l", "l2", "LEFT", "RIGHT"}, {Event("rpush", "l2"), Event("lpop", "l")}},
      {{"LTRIM", "l", "5", "6"}, {Event("ltrim", "l"), Event("del", "l")}},
      {{"RPOP", "l2"}, {Event("rpop", "l2"), Event("del", "l2")}},
      {{"HSET", "h", "f", "v"}, {Event("hset", "h")}},
      {{"HINCRBY", "h", "n", "1"}, {Event("hincrby", "h")}},
      {{"HDEL", "h", "f", "n"}, {Event("hdel", "h"), Event("del", "h")}},
      {{"SADD", "set", "m"}, {Event("sadd", "set")}},
      {{"SMOVE", "set", "set2", "m"},
       {Event("srem", "set"), Event("del", "set"), Event("sadd", "set2")}},
      {{"ZADD", "z", "1", "m"}, {Event("zadd", "z")}},
      {{"ZINCRBY", "z", "2", "m"}, {Event("zincr", "z")}},
      {{"ZREM", "z", "m"}, {Event("zrem", "z"), Event("del", "z")}},
      {{"EXPIRE", "set2", "100"}, {Event("expire", "set2")}},
      {{"EXPIRE", "set2", "-1"}, {Event("del", "set2")}},
  };
  for (const auto& step : steps) {
    const std::vector<std::string>& command = step.first;
    const std::vector<std::string>& events = step.second;
    CAPTURE(command[0]);
    Do(c, command);
    for (const std::string& expected : events) CHECK(NextEvent(s) == expected);
  }
  // A command that changes nothing sends nothing: the next event is the SET's.
  CHECK(Do(c, {"DEL", "nosuch"}) == ":0");
  CHECK(Do(c, {"SET", "last", "1"}) == "+OK");
  CHECK(NextEvent(s) == Event("set", "last"));
}

TEST_CASE_FIXTURE(ServerFixture, "K and E choose the channels and the classes choose the events") {
  CHECK(Do(c, {"CONFIG", "SET", "notify-keyspace-events", "K$n"}) == "+OK");
  ContextPtr s = Connect(server.port());
  CHECK(Do(s, {"PSUBSCRIBE", "__key*__:*"}) == "[psubscribe, __key*__:*, :1]");
  CHECK(Do(c, {"SET", "k", "v"}) == "+OK");
  CHECK(NextEvent(s) == "__keyspace@0__:k new");  // n: a key that was not there
  CHECK(NextEvent(s) == "__keyspace@0__:k set");
  CHECK(Do(c, {"DEL", "k"}) == ":1");         // g is off
  CHECK(Do(c, {"LPUSH", "l", "x"}) == ":1");  // l is off (but n is on)
  CHECK(Do(c, {"SET", "k", "w"}) == "+OK");
  CHECK(NextEvent(s) == "__keyspace@0__:l new");
  CHECK(NextEvent(s) == "__keyspace@0__:k new");
  CHECK(NextEvent(s) == "__keyspace@0__:k set");
  CHECK(Do(c, {"CONFIG", "SET", "notify-keyspace-events", ""}) == "+OK");
  CHECK(Do(c, {"SET", "k", "x"}) == "+OK");
  CHECK(Do(c, {"CONFIG", "SET", "notify-keyspace-events", "E$"}) == "+OK");
  CHECK(Do(c, {"SET", "k", "y"}) == "+OK");
  CHECK(NextEvent(s) == "__keyevent@0__:set k");
}

TEST_CASE_FIXTURE(ServerFixture, "expired and evicted keys send expired and evicted events") {
  CHECK(Do(c, {"CONFIG", "SET", "notify-keyspace-events", "Exe"}) == "+OK");
  ContextPtr s = KeyeventSubscriber(server.port());
  CHECK(Do(c, {"SET", "soon", "v", "PX", "50"}) == "+OK");
  // The active expiry cycle removes it with nobody asking: the event comes by itself.
  CHECK(NextEvent(s) == Event("expired", "soon"));
  CHECK(Do(c, {"SET", "big", std::string(100000, 'x')}) == "+OK");
  CHECK(Do(c, {"CONFIG", "SET", "maxmemory-policy", "allkeys-lru"}) == "+OK");
  CHECK(Do(c, {"CONFIG", "SET", "maxmemory", "1"}) == "+OK");
  CHECK(NextEvent(s) == Event("evicted", "big"));
}

TEST_CASE("keys filled from the origin send fill events in class o, which A leaves out") {
  TestOrigin origin;
  ServerProcess server({"--origin", "redis://127.0.0.1:" + std::to_string(origin.port),
                        "--notify-keyspace-events", "KEA"});
  ContextPtr c = Connect(server.port());
  ContextPtr s = KeyeventSubscriber(server.port());
  CHECK(Do(c, {"GET", "a"}) == "value:a");  // filled: no event under A
  CHECK(Do(c, {"SET", "marker", "1"}) == "+OK");
  CHECK(NextEvent(s) == Event("set", "marker"));
  CHECK(Do(c, {"CONFIG", "SET", "notify-keyspace-events", "KEAo"}) == "+OK");
  CHECK(Do(c, {"GET", "b"}) == "value:b");
  CHECK(NextEvent(s) == Event("fill", "b"));
  CHECK(Do(c, {"GET", "b"}) == "value:b");  // a hit changes nothing
  CHECK(Do(c, {"DEL", "b"}) == ":1");
  CHECK(NextEvent(s) == Event("del", "b"));
}

TEST_CASE("keyspace events reach subscribers on another worker") {
  ServerProcess server({"--threads", "2", "--accept-mode", "acceptor"});
  ContextPtr s0 = KeyeventSubscriber(server.port());
  ContextPtr s1 = KeyeventSubscriber(server.port());
  ContextPtr w0 = Connect(server.port());
  ContextPtr w1 = Connect(server.port());
  CHECK(Do(w0, {"CONFIG", "SET", "notify-keyspace-events", "E$"}) == "+OK");
  for (int i = 0; i < 20; ++i) {
    const std::string key = "k" + std::to_string(i);
    CHECK(Do(i % 2 ? w1 : w0, {"SET", key, "v"}) == "+OK");
    CHECK(NextEvent(s0) == Event("set", key));
    CHECK(NextEvent(s1) == Event("set", key));
  }
}

}  // namespace flightcache::integration
