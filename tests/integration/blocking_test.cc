// blocking_test.cc — BLPOP, BRPOP, BRPOPLPUSH, BLMOVE, BLMPOP, BZPOPMIN, BZPOPMAX and BZMPOP
// against the real binary: served at once or blocked until a push, longest waiter first, across
// two workers, woken by a push inside MULTI/EXEC, timeouts, a client that disconnects while
// blocked, Redis 7.0's behaviour on DEL and on a type change, CLIENT UNBLOCK, and the error
// texts. Nothing sleeps: each step waits on INFO blocked_clients with WaitUntil.
#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "tests/integration/server_process.h"

namespace flightcache::integration {

namespace {

// Waits until the server counts n blocked clients (bounded by WaitUntil's deadline).
bool WaitBlocked(const ContextPtr& c, long long n) {
  return WaitUntil([&] { return InfoNumber(c, "blocked_clients") == n; });
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

// A server with two workers that hands consecutive connections to them in turn.
std::vector<std::string> TwoWorkers() { return {"--threads", "2", "--accept-mode", "acceptor"}; }

}  // namespace

TEST_CASE_FIXTURE(ServerFixture, "BLPOP answers at once from a list, else blocks until a push") {
  CHECK(Do(c, {"RPUSH", "k2", "x", "y"}) == ":2");
  CHECK(Do(c, {"BLPOP", "k1", "k2", "0"}) == "[k2, x]");
  CHECK(Do(c, {"BRPOP", "k1", "k2", "0"}) == "[k2, y]");
  CHECK(Do(c, {"EXISTS", "k2"}) == ":0");
  ContextPtr blocker = Connect(server.port());
  Send(blocker, {"BLPOP", "k1", "k2", "0"});
  REQUIRE(WaitBlocked(c, 1));
  CHECK(Do(c, {"CLIENT", "LIST"}).find("flags=b") != std::string::npos);
  CHECK(Do(c, {"RPUSH", "k2", "v"}) == ":1");
  CHECK(Next(blocker) == "[k2, v]");
  CHECK(WaitBlocked(c, 0));
  CHECK(Do(c, {"EXISTS", "k2"}) == ":0");
}

TEST_CASE_FIXTURE(ServerFixture, "blocked clients are served in the order they blocked") {
  std::vector<ContextPtr> waiters;
  for (int i = 0; i < 3; ++i) {
    waiters.push_back(Connect(server.port()));
    Send(waiters.back(), {"BLPOP", "q", "0"});
    REQUIRE(WaitBlocked(c, i + 1));  // one at a time, so that their order is known
  }
  CHECK(Do(c, {"RPUSH", "q", "a"}) == ":1");
  CHECK(Next(waiters[0]) == "[q, a]");
  REQUIRE(WaitBlocked(c, 2));  // one push served one client; the others still wait
  CHECK(Do(c, {"RPUSH", "q", "b", "c"}) == ":2");
  CHECK(Next(waiters[1]) == "[q, b]");
  CHECK(Next(waiters[2]) == "[q, c]");
  CHECK(WaitBlocked(c, 0));
  CHECK(Do(c, {"EXISTS", "q"}) == ":0");
}

TEST_CASE("a push on one worker wakes clients blocked on another, oldest first") {
  ServerProcess server(TwoWorkers());
  ContextPtr w0 = Connect(server.port());  // worker 0
  ContextPtr w1 = Connect(server.port());  // worker 1
  ContextPtr p0 = Connect(server.port());  // worker 0
  ContextPtr p1 = Connect(server.port());  // worker 1
  for (int round = 0; round < 20; ++round) {
    CAPTURE(round);
    const ContextPtr& first = round % 2 == 0 ? w1 : w0;
    const ContextPtr& second = round % 2 == 0 ? w0 : w1;
    const ContextPtr& pusher = round % 2 == 0 ? p0 : p1;
    Send(first, {"BRPOP", "q", "0"});
    REQUIRE(WaitBlocked(pusher, 1));
    Send(second, {"BZPOPMIN", "q", "z", "0"});
    REQUIRE(WaitBlocked(pusher, 2));
    CHECK(Do(pusher, {"LPUSH", "q", "v" + std::to_string(round)}) == ":1");
    CHECK(Next(first) == "[q, v" + std::to_string(round) + "]");
    CHECK(Do(pusher, {"ZADD", "z", "1", "m"}) == ":1");
    CHECK(Next(second) == "[z, m, 1]");
    REQUIRE(WaitBlocked(pusher, 0));
  }
}

TEST_CASE_FIXTURE(ServerFixture, "a push inside MULTI/EXEC wakes a blocked client") {
  ContextPtr blocker = Connect(server.port());
  Send(blocker, {"BLMPOP", "0", "2", "a", "b", "RIGHT", "COUNT", "5"});
  REQUIRE(WaitBlocked(c, 1));
  CHECK(Do(c, {"MULTI"}) == "+OK");
  CHECK(Do(c, {"SET", "x", "1"}) == "+QUEUED");
  CHECK(Do(c, {"RPUSH", "b", "1", "2", "3"}) == "+QUEUED");
  CHECK(Do(c, {"EXEC"}) == "[+OK, :3]");
  CHECK(Next(blocker) == "[b, [3, 2, 1]]");
  CHECK(WaitBlocked(c, 0));
}

TEST_CASE_FIXTURE(ServerFixture, "inside MULTI a blocking pop on empty keys answers null at once") {
  CHECK(Do(c, {"MULTI"}) == "+OK");
  CHECK(Do(c, {"BLPOP", "e", "0"}) == "+QUEUED");
  CHECK(Do(c, {"BRPOPLPUSH", "e", "f", "0"}) == "+QUEUED");
  CHECK(Do(c, {"BZMPOP", "0", "1", "e", "MIN"}) == "+QUEUED");
  CHECK(Do(c, {"EXEC"}) == "[(nil), (nil), (nil)]");
  RawConnection raw(server.port());
  REQUIRE(raw.Send("MULTI\r\nBLPOP e 0\r\nBLMOVE e f LEFT LEFT 0\r\nEXEC\r\n"));
  CHECK(raw.ReadUntil("*-1\r\n$-1\r\n") == "+OK\r\n+QUEUED\r\n+QUEUED\r\n*2\r\n*-1\r\n$-1\r\n");
}

TEST_CASE_FIXTURE(ServerFixture, "a blocking pop times out with a null, in RESP2 and RESP3") {
  RawConnection raw(server.port());
  REQUIRE(raw.Send("BLPOP e 0.05\r\nBRPOPLPUSH e f 0.01\r\n"));
  CHECK(raw.ReadUntil("*-1\r\n$-1\r\n") == "*-1\r\n$-1\r\n");
  REQUIRE(raw.Send("HELLO 3\r\n"));
  raw.ReadReply();  // HELLO's map
  REQUIRE(raw.Send("BZPOPMAX e 0.01\r\nBLMOVE e f LEFT LEFT 0.01\r\n"));
  CHECK(raw.ReadReply() == "_");
  CHECK(raw.ReadReply() == "_");
  CHECK(WaitBlocked(c, 0));
  CHECK(Do(c, {"EXISTS", "f"}) == ":0");
}

TEST_CASE_FIXTURE(ServerFixture, "a client that disconnects while blocked is removed") {
  {
    ContextPtr blocker = Connect(server.port());
    Send(blocker, {"BLPOP", "q", "0"});
    REQUIRE(WaitBlocked(c, 1));
  }  // closed here
  REQUIRE(WaitBlocked(c, 0));
  CHECK(Do(c, {"RPUSH", "q", "kept"}) == ":1");
  CHECK(Do(c, {"LRANGE", "q", "0", "-1"}) == "[kept]");  // nobody took it
}

TEST_CASE_FIXTURE(ServerFixture,
                  "blocked clients stay blocked on DEL and on a type change, as in Redis 7.0") {
  ContextPtr blocker = Connect(server.port());
  Send(blocker, {"BLPOP", "q", "0"});
  REQUIRE(WaitBlocked(c, 1));
  CHECK(Do(c, {"SET", "q", "string"}) == "+OK");
  CHECK(Do(c, {"DEL", "q"}) == ":1");
  CHECK(Do(c, {"FLUSHALL"}) == "+OK");
  CHECK(InfoNumber(c, "blocked_clients") == 1);
  CHECK(Do(c, {"RPUSH", "q", "v"}) == ":1");
  CHECK(Next(blocker) == "[q, v]");  // its first reply: it was not woken before
}

TEST_CASE_FIXTURE(ServerFixture, "BLMOVE chains: the element it moves wakes the next waiter") {
  ContextPtr mover = Connect(server.port());
  ContextPtr popper = Connect(server.port());
  Send(mover, {"BLMOVE", "src", "dst", "LEFT", "RIGHT", "0"});
  REQUIRE(WaitBlocked(c, 1));
  Send(popper, {"BRPOP", "dst", "0"});
  REQUIRE(WaitBlocked(c, 2));
  CHECK(Do(c, {"LPUSH", "src", "x"}) == ":1");
  CHECK(Next(mover) == "x");
  CHECK(Next(popper) == "[dst, x]");
  CHECK(WaitBlocked(c, 0));
  CHECK(Do(c, {"EXISTS", "src", "dst"}) == ":0");
}

TEST_CASE_FIXTURE(ServerFixture, "commands pipelined after a blocked pop wait for its answer") {
  RawConnection raw(server.port());
  REQUIRE(raw.Send("BRPOPLPUSH q out 0\r\nPING\r\nLLEN out\r\n"));
  REQUIRE(WaitBlocked(c, 1));
  CHECK(Do(c, {"RPUSH", "q", "v"}) == ":1");
  CHECK(raw.ReadReply() == "v");
  CHECK(raw.ReadReply() == "+PONG");
  CHECK(raw.ReadReply() == ":1");
}

TEST_CASE_FIXTURE(ServerFixture, "sorted-set blocking pops answer RESP3 doubles when served") {
  RawConnection raw(server.port());
  REQUIRE(raw.Send("HELLO 3\r\n"));
  raw.ReadReply();
  REQUIRE(raw.Send("BZMPOP 0 1 z MAX COUNT 2\r\n"));
  REQUIRE(WaitBlocked(c, 1));
  CHECK(Do(c, {"ZADD", "z", "1.5", "a", "2.5", "b", "3.5", "c"}) == ":3");
  CHECK(raw.ReadReply() == "[z, [[c, ,3.5], [b, ,2.5]]]");
  REQUIRE(raw.Send("BZPOPMIN z 0\r\n"));
  CHECK(raw.ReadReply() == "[z, a, ,1.5]");
}

TEST_CASE_FIXTURE(ServerFixture,
                  "CLIENT UNBLOCK answers a blocked client with a null or an error") {
  ContextPtr blocker = Connect(server.port());
  const std::string id = Do(blocker, {"CLIENT", "ID"}).substr(1);
  Send(blocker, {"BLPOP", "q", "0"});
  REQUIRE(WaitBlocked(c, 1));
  CHECK(Do(c, {"CLIENT", "UNBLOCK", id, "FOO"}) ==
        "-ERR CLIENT UNBLOCK reason should be TIMEOUT or ERROR");
  CHECK(Do(c, {"CLIENT", "UNBLOCK", id}) == ":1");
  CHECK(Next(blocker) == "(nil)");
  Send(blocker, {"BLPOP", "q", "0"});
  REQUIRE(WaitBlocked(c, 1));
  CHECK(Do(c, {"CLIENT", "UNBLOCK", id, "ERROR"}) == ":1");
  CHECK(Next(blocker) == "-UNBLOCKED client unblocked via CLIENT UNBLOCK");
  CHECK(Do(c, {"CLIENT", "UNBLOCK", id}) == ":0");
  CHECK(Do(c, {"RPUSH", "q", "v"}) == ":1");
  CHECK(Do(c, {"LLEN", "q"}) == ":1");  // the unblocked client took nothing
}

TEST_CASE_FIXTURE(ServerFixture, "blocking pops fail with Redis's errors") {
  CHECK(Do(c, {"BLPOP", "q", "-1"}) == "-ERR timeout is negative");
  CHECK(Do(c, {"BLPOP", "q", "x"}) == "-ERR timeout is not a float or out of range");
  CHECK(Do(c, {"BZPOPMIN", "q", "1e400"}) == "-ERR timeout is negative");  // as 7.0 says
  CHECK(Do(c, {"BZPOPMIN", "q", "inf"}) == "-ERR timeout is negative");
  CHECK(Do(c, {"BLMOVE", "a", "b", "UP", "LEFT", "0"}) == "-ERR syntax error");
  CHECK(Do(c, {"BLMPOP", "0", "0", "a", "LEFT"}) == "-ERR numkeys should be greater than 0");
  CHECK(Do(c, {"BLMPOP", "0", "2", "a", "LEFT"}) == "-ERR syntax error");
  CHECK(Do(c, {"BLMPOP", "0", "1", "a", "MIN"}) == "-ERR syntax error");
  CHECK(Do(c, {"BZMPOP", "0", "1", "a", "MIN", "COUNT", "0"}) ==
        "-ERR count should be greater than 0");
  CHECK(Do(c, {"BLPOP", "q"}) == "-ERR wrong number of arguments for 'blpop' command");
  CHECK(Do(c, {"SET", "s", "v"}) == "+OK");
  CHECK(Do(c, {"BLPOP", "s", "0"}) ==
        "-WRONGTYPE Operation against a key holding the wrong kind of value");
  CHECK(Do(c, {"BZPOPMAX", "s", "0"}) ==
        "-WRONGTYPE Operation against a key holding the wrong kind of value");
  CHECK(Do(c, {"BLMPOP", "0", "1", "s", "LEFT"}) ==
        "-WRONGTYPE Operation against a key holding the wrong kind of value");
  CHECK(InfoNumber(c, "blocked_clients") == 0);
}

}  // namespace flightcache::integration
