// transaction_test.cc — MULTI, EXEC, DISCARD, WATCH and UNWATCH against the real binary, with
// Redis 7.0's replies and errors; WATCH broken by writes, expiry, flushes and origin fills;
// EXEC atomic across two workers.
#include <doctest/doctest.h>

#include <atomic>
#include <thread>

#include "tests/integration/server_process.h"

namespace flightcache::integration {

TEST_CASE_FIXTURE(ServerFixture, "MULTI queues commands and EXEC runs them in order") {
  CHECK(Do(c, {"SET", "s", "text"}) == "+OK");
  CHECK(Do(c, {"MULTI"}) == "+OK");
  CHECK(Do(c, {"SET", "a", "1"}) == "+QUEUED");
  CHECK(Do(c, {"INCR", "a"}) == "+QUEUED");
  CHECK(Do(c, {"INCR", "s"}) == "+QUEUED");  // fails when it runs, not when queued
  CHECK(Do(c, {"GET", "a"}) == "+QUEUED");
  ContextPtr other = Connect(server.port());
  CHECK(Do(other, {"GET", "a"}) == "(nil)");  // nothing ran yet
  const std::string clients = Do(other, {"CLIENT", "LIST"});
  CHECK(clients.find("flags=x db=0 sub=0 psub=0 ssub=0 multi=4 ") != std::string::npos);
  CHECK(Do(c, {"EXEC"}) == "[+OK, :2, -ERR value is not an integer or out of range, 2]");
  CHECK(Do(c, {"GET", "a"}) == "2");
  CHECK(Do(c, {"MULTI"}) == "+OK");
  CHECK(Do(c, {"EXEC"}) == "[]");
}

TEST_CASE_FIXTURE(ServerFixture, "MULTI EXEC and DISCARD report Redis's errors when misused") {
  CHECK(Do(c, {"EXEC"}) == "-ERR EXEC without MULTI");
  CHECK(Do(c, {"DISCARD"}) == "-ERR DISCARD without MULTI");
  CHECK(Do(c, {"MULTI"}) == "+OK");
  CHECK(Do(c, {"MULTI"}) == "-ERR MULTI calls can not be nested");
  CHECK(Do(c, {"WATCH", "x"}) == "-ERR WATCH inside MULTI is not allowed");
  CHECK(Do(c, {"SET", "d", "1"}) == "+QUEUED");
  CHECK(Do(c, {"DISCARD"}) == "+OK");
  CHECK(Do(c, {"GET", "d"}) == "(nil)");
  CHECK(Do(c, {"EXEC"}) == "-ERR EXEC without MULTI");
}

TEST_CASE_FIXTURE(ServerFixture, "a command that fails to queue makes EXEC answer EXECABORT") {
  const std::string abort = "-EXECABORT Transaction discarded because of previous errors.";
  CHECK(Do(c, {"MULTI"}) == "+OK");
  CHECK(Do(c, {"SET", "k", "1"}) == "+QUEUED");
  CHECK(Do(c, {"NOSUCHCOMMAND", "x"}).rfind("-ERR unknown command 'NOSUCHCOMMAND'", 0) == 0);
  CHECK(Do(c, {"EXEC"}) == abort);
  CHECK(Do(c, {"GET", "k"}) == "(nil)");
  CHECK(Do(c, {"MULTI"}) == "+OK");
  CHECK(Do(c, {"GET"}) == "-ERR wrong number of arguments for 'get' command");
  CHECK(Do(c, {"SET", "k", "1"}) == "+QUEUED");
  CHECK(Do(c, {"EXEC"}) == abort);
  CHECK(Do(c, {"GET", "k"}) == "(nil)");
}

TEST_CASE_FIXTURE(ServerFixture, "WATCH fails EXEC when another client writes the key") {
  ContextPtr other = Connect(server.port());
  CHECK(Do(c, {"SET", "w", "1"}) == "+OK");
  CHECK(Do(c, {"WATCH", "w", "untouched"}) == "+OK");
  CHECK(Do(other, {"SET", "w", "2"}) == "+OK");
  CHECK(Do(c, {"MULTI"}) == "+OK");
  CHECK(Do(c, {"SET", "w", "mine"}) == "+QUEUED");
  CHECK(Do(c, {"EXEC"}) == "(nil)");
  CHECK(Do(c, {"GET", "w"}) == "2");
  // EXEC forgot the watch: the next transaction runs.
  CHECK(Do(c, {"MULTI"}) == "+OK");
  CHECK(Do(c, {"SET", "w", "mine"}) == "+QUEUED");
  CHECK(Do(c, {"EXEC"}) == "[+OK]");
  // A watch nobody breaks lets EXEC run; UNWATCH drops a broken one.
  CHECK(Do(c, {"WATCH", "w"}) == "+OK");
  CHECK(Do(c, {"MULTI"}) == "+OK");
  CHECK(Do(c, {"INCR", "n"}) == "+QUEUED");
  CHECK(Do(c, {"EXEC"}) == "[:1]");
  CHECK(Do(c, {"WATCH", "w"}) == "+OK");
  CHECK(Do(other, {"DEL", "w"}) == ":1");
  CHECK(Do(c, {"UNWATCH"}) == "+OK");
  CHECK(Do(c, {"MULTI"}) == "+OK");
  CHECK(Do(c, {"INCR", "n"}) == "+QUEUED");
  CHECK(Do(c, {"EXEC"}) == "[:2]");
}

TEST_CASE_FIXTURE(ServerFixture, "WATCH is broken by expiry, FLUSHALL and the client's own write") {
  ContextPtr other = Connect(server.port());
  CHECK(Do(c, {"SET", "e", "1", "PX", "50"}) == "+OK");
  CHECK(Do(c, {"WATCH", "e"}) == "+OK");
  std::this_thread::sleep_for(milliseconds(100));  // at least its 50 ms: it has expired
  CHECK(Do(c, {"MULTI"}) == "+OK");
  CHECK(Do(c, {"PING"}) == "+QUEUED");
  CHECK(Do(c, {"EXEC"}) == "(nil)");
  // As Redis 7.0's touchAllWatchedKeysInDb: a flush breaks the watch of a key it removes...
  CHECK(Do(c, {"SET", "f", "1"}) == "+OK");
  CHECK(Do(c, {"WATCH", "f"}) == "+OK");
  CHECK(Do(other, {"FLUSHALL"}) == "+OK");
  CHECK(Do(c, {"MULTI"}) == "+OK");
  CHECK(Do(c, {"PING"}) == "+QUEUED");
  CHECK(Do(c, {"EXEC"}) == "(nil)");
  // ...and not of a key that was not there.
  CHECK(Do(c, {"WATCH", "f"}) == "+OK");
  CHECK(Do(other, {"FLUSHALL"}) == "+OK");
  CHECK(Do(c, {"MULTI"}) == "+OK");
  CHECK(Do(c, {"PING"}) == "+QUEUED");
  CHECK(Do(c, {"EXEC"}) == "[+PONG]");
  CHECK(Do(c, {"WATCH", "g"}) == "+OK");
  CHECK(Do(c, {"SET", "g", "self"}) == "+OK");
  CHECK(Do(c, {"MULTI"}) == "+OK");
  CHECK(Do(c, {"PING"}) == "+QUEUED");
  CHECK(Do(c, {"EXEC"}) == "(nil)");
  // RESET ends a transaction and its watches.
  CHECK(Do(c, {"WATCH", "h"}) == "+OK");
  CHECK(Do(other, {"SET", "h", "x"}) == "+OK");
  CHECK(Do(c, {"MULTI"}) == "+OK");
  CHECK(Do(c, {"RESET"}) == "+RESET");
  CHECK(Do(c, {"MULTI"}) == "+OK");
  CHECK(Do(c, {"PING"}) == "+QUEUED");
  CHECK(Do(c, {"EXEC"}) == "[+PONG]");
}

TEST_CASE("inside MULTI a miss answers from the cache; an origin fill breaks a WATCH") {
  const int origin_port = FreeTcpPort();
  ChildProcess origin(SpawnOptions{
      RequiredEnv("TEST_ORIGIN_BIN"), {"--port", std::to_string(origin_port)}, {}, origin_port});
  ServerFixture f({"--origin", "redis://127.0.0.1:" + std::to_string(origin_port)});
  CHECK(Do(f.c, {"MULTI"}) == "+OK");
  CHECK(Do(f.c, {"GET", "cold"}) == "+QUEUED");
  CHECK(Do(f.c, {"MGET", "cold", "colder"}) == "+QUEUED");
  CHECK(Do(f.c, {"EXEC"}) == "[(nil), [(nil), (nil)]]");
  CHECK(InfoNumber(f.c, "origin_fetches_started") == 0);
  // Outside MULTI the same key reads through; the fill counts as a change for WATCH.
  ContextPtr other = Connect(f.server.port());
  CHECK(Do(f.c, {"WATCH", "cold"}) == "+OK");
  CHECK(Do(other, {"GET", "cold"}) == "value:cold");
  CHECK(Do(f.c, {"MULTI"}) == "+OK");
  CHECK(Do(f.c, {"GET", "cold"}) == "+QUEUED");
  CHECK(Do(f.c, {"EXEC"}) == "(nil)");
  CHECK(Do(f.c, {"MULTI"}) == "+OK");
  CHECK(Do(f.c, {"GET", "cold"}) == "+QUEUED");
  CHECK(Do(f.c, {"EXEC"}) == "[value:cold]");
}

TEST_CASE("EXEC is atomic across two workers: no reader sees half a transaction") {
  // The acceptor hands consecutive connections to different workers.
  ServerProcess server({"--threads", "2", "--accept-mode", "acceptor"});
  ContextPtr writer = Connect(server.port());
  ContextPtr reader = Connect(server.port());
  constexpr int kRounds = 100;
  std::atomic<bool> done{false};
  std::atomic<int> torn{0};
  std::atomic<int> reads{0};
  std::thread read_loop([&] {
    while (!done.load()) {
      ReplyPtr r = Command(reader.get(), {"MGET", "left", "right"});
      if (!r || r->type != REDIS_REPLY_ARRAY || r->elements != 2) {
        ++torn;
        return;
      }
      auto text = [&](size_t i) {
        return r->element[i]->type == REDIS_REPLY_STRING
                   ? std::string(r->element[i]->str, r->element[i]->len)
                   : std::string("0");
      };
      if (text(0) != text(1)) ++torn;
      ++reads;
    }
  });
  for (int i = 0; i < kRounds; ++i) {
    // Commands between the two INCRs widen the window a torn read would fall in.
    Append(writer.get(), {"MULTI"});
    Append(writer.get(), {"INCR", "left"});
    for (int k = 0; k < 2000; ++k) Append(writer.get(), {"INCR", "between"});
    Append(writer.get(), {"INCR", "right"});
    Append(writer.get(), {"EXEC"});
    for (int k = 0; k < 2003; ++k) NextReply(writer.get());
    ReplyPtr exec = NextReply(writer.get());
    REQUIRE(exec);
    REQUIRE(exec->type == REDIS_REPLY_ARRAY);
  }
  done.store(true);
  read_loop.join();
  CHECK(torn.load() == 0);
  CHECK(reads.load() > 0);
  CHECK(Do(writer, {"MGET", "left", "right"}) ==
        "[" + std::to_string(kRounds) + ", " + std::to_string(kRounds) + "]");
}

}  // namespace flightcache::integration
