// databases_events_test.cc — what the merge with blocking pops and keyspace notifications made
// database-aware, against the real binary: a client blocked on a key in one database is woken
// only by a push to that key in the same database (or a MOVE or COPY ... DB into it, or a
// SWAPDB that brings the key in), and a
// notification names the database of the key that changed (`__keyspace@1__`). Nothing sleeps:
// blocked clients are counted with INFO blocked_clients and WaitUntil; messages are read as
// they come.
#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "tests/integration/server_process.h"

namespace flightcache::integration {
namespace {

// A connection that has selected database db.
ContextPtr ConnectDb(int port, int db) {
  ContextPtr c = Connect(port);
  REQUIRE(Do(c, {"SELECT", std::to_string(db)}) == "+OK");
  return c;
}

// Sends a command on a client without reading its reply.
void Send(const ContextPtr& c, const std::vector<std::string>& args) {
  Append(c.get(), args);
  int done = 0;
  while (!done && redisBufferWrite(c.get(), &done) == REDIS_OK) {
  }
}

// The next reply of a client, as text.
std::string Next(const ContextPtr& c) {
  ReplyPtr r = NextReply(c.get());
  return r ? Show(r.get()) : "(connection error)";
}

bool WaitBlocked(const ContextPtr& c, long long n) {
  return WaitUntil([&] { return InfoNumber(c, "blocked_clients") == n; });
}

// The next message of a pattern subscriber, as "channel message".
std::string NextEvent(const ContextPtr& c) {
  ReplyPtr r = NextReply(c.get());
  if (!r || r->type != REDIS_REPLY_ARRAY || r->elements != 4) return Show(r.get(), c.get());
  return std::string(r->element[2]->str, r->element[2]->len) + " " +
         std::string(r->element[3]->str, r->element[3]->len);
}

}  // namespace

TEST_CASE_FIXTURE(ServerFixture, "a push wakes only the clients blocked in its own database") {
  ContextPtr in_db1 = ConnectDb(server.port(), 1);
  Send(in_db1, {"BLPOP", "q", "0"});
  REQUIRE(WaitBlocked(c, 1));  // the client of db 1 is the longest waiter on q
  ContextPtr in_db0 = ConnectDb(server.port(), 0);
  Send(in_db0, {"BLPOP", "q", "0"});
  REQUIRE(WaitBlocked(c, 2));
  // A push in db 0 serves the client of db 0, and the one of db 1 still waits.
  CHECK(Do(c, {"RPUSH", "q", "zero"}) == ":1");
  CHECK(Next(in_db0) == "[q, zero]");
  REQUIRE(WaitBlocked(c, 1));
  CHECK(Do(c, {"EXISTS", "q"}) == ":0");
  // A push in db 1 serves it, from db 1.
  ContextPtr pusher1 = ConnectDb(server.port(), 1);
  CHECK(Do(pusher1, {"RPUSH", "q", "one"}) == ":1");
  CHECK(Next(in_db1) == "[q, one]");
  CHECK(WaitBlocked(c, 0));
  CHECK(Do(pusher1, {"EXISTS", "q"}) == ":0");
  // The pusher's own database is unchanged by serving a client of another.
  CHECK(Do(pusher1, {"CLIENT", "INFO"}).find(" db=1 ") != std::string::npos);
}

TEST_CASE_FIXTURE(ServerFixture, "BLMOVE in database 2 moves within database 2") {
  ContextPtr in_db2 = ConnectDb(server.port(), 2);
  Send(in_db2, {"BLMOVE", "src", "dst", "LEFT", "RIGHT", "0"});
  REQUIRE(WaitBlocked(c, 1));
  CHECK(Do(c, {"RPUSH", "src", "a"}) == ":1");  // db 0: not the waiter's key
  ContextPtr pusher2 = ConnectDb(server.port(), 2);
  CHECK(Do(pusher2, {"RPUSH", "src", "b"}) == ":1");
  CHECK(Next(in_db2) == "b");
  CHECK(WaitBlocked(c, 0));
  CHECK(Do(pusher2, {"LRANGE", "dst", "0", "-1"}) == "[b]");
  CHECK(Do(c, {"LRANGE", "src", "0", "-1"}) == "[a]");
  CHECK(Do(c, {"EXISTS", "dst"}) == ":0");
}

TEST_CASE_FIXTURE(ServerFixture, "MOVE and COPY ... DB into a database wake its blocked clients") {
  ContextPtr in_db1 = ConnectDb(server.port(), 1);
  Send(in_db1, {"BLPOP", "q", "0"});
  REQUIRE(WaitBlocked(c, 1));
  CHECK(Do(c, {"RPUSH", "q", "moved"}) == ":1");  // db 0: the waiter is in db 1
  CHECK(Do(c, {"MOVE", "q", "1"}) == ":1");
  CHECK(Next(in_db1) == "[q, moved]");
  REQUIRE(WaitBlocked(c, 0));
  Send(in_db1, {"BLPOP", "copy", "0"});
  REQUIRE(WaitBlocked(c, 1));
  CHECK(Do(c, {"RPUSH", "src", "copied"}) == ":1");
  CHECK(Do(c, {"COPY", "src", "copy", "DB", "1"}) == ":1");
  CHECK(Next(in_db1) == "[copy, copied]");
  CHECK(WaitBlocked(c, 0));
  CHECK(Do(c, {"LRANGE", "src", "0", "-1"}) == "[copied]");
}

TEST_CASE_FIXTURE(ServerFixture,
                  "SWAPDB wakes the clients blocked on keys their database now holds") {
  ContextPtr waits_q_in_db1 = ConnectDb(server.port(), 1);
  ContextPtr waits_z_in_db0 = ConnectDb(server.port(), 0);
  ContextPtr waits_none_in_db1 = ConnectDb(server.port(), 1);
  Send(waits_q_in_db1, {"BLPOP", "q", "0"});
  Send(waits_z_in_db0, {"BLPOP", "z", "0"});
  Send(waits_none_in_db1, {"BLPOP", "none", "0"});
  REQUIRE(WaitBlocked(c, 3));
  ContextPtr writer_in_db1 = ConnectDb(server.port(), 1);
  CHECK(Do(c, {"RPUSH", "q", "from0"}) == ":1");              // db 0: nobody waits on q there
  CHECK(Do(writer_in_db1, {"RPUSH", "z", "from1"}) == ":1");  // db 1: nobody waits on z there
  CHECK(InfoNumber(c, "blocked_clients") == 3);
  CHECK(Do(c, {"SWAPDB", "0", "1"}) == "+OK");
  CHECK(Next(waits_q_in_db1) == "[q, from0]");
  CHECK(Next(waits_z_in_db0) == "[z, from1]");
  // A key neither database holds wakes nobody.
  REQUIRE(WaitBlocked(c, 1));
  CHECK(Do(c, {"EXISTS", "q", "z"}) == ":0");
  CHECK(Do(writer_in_db1, {"EXISTS", "q", "z"}) == ":0");
  CHECK(Do(c, {"RPUSH", "none", "later"}) == ":1");
  CHECK(Do(c, {"SWAPDB", "1", "0"}) == "+OK");
  CHECK(Next(waits_none_in_db1) == "[none, later]");
  CHECK(WaitBlocked(c, 0));
}

TEST_CASE_FIXTURE(ServerFixture, "keyspace notifications name the database of the key") {
  CHECK(Do(c, {"CONFIG", "SET", "notify-keyspace-events", "KEA"}) == "+OK");
  ContextPtr sub = Connect(server.port());
  REQUIRE(Do(sub, {"PSUBSCRIBE", "__key*@*__:*"}) == "[psubscribe, __key*@*__:*, :1]");
  ContextPtr in_db1 = ConnectDb(server.port(), 1);
  CHECK(Do(in_db1, {"SET", "k", "v"}) == "+OK");
  CHECK(NextEvent(sub) == "__keyspace@1__:k set");
  CHECK(NextEvent(sub) == "__keyevent@1__:set k");
  CHECK(Do(c, {"LPUSH", "k", "v"}) == ":1");  // db 0
  CHECK(NextEvent(sub) == "__keyspace@0__:k lpush");
  CHECK(NextEvent(sub) == "__keyevent@0__:lpush k");
  CHECK(Do(in_db1, {"DEL", "k"}) == ":1");
  CHECK(NextEvent(sub) == "__keyspace@1__:k del");
  CHECK(NextEvent(sub) == "__keyevent@1__:del k");
}

}  // namespace flightcache::integration
