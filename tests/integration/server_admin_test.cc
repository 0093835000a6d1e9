// server_admin_test.cc — SHUTDOWN, WAIT, SLOWLOG, LATENCY and COMMAND INFO's ACL categories
// against the real binary, with Redis 7.0's replies and errors.
#include <doctest/doctest.h>

#include <string>

#include "tests/integration/server_process.h"

namespace flightcache::integration {

TEST_CASE("SHUTDOWN stops the server with exit code 0, closing the client without a reply") {
  ServerProcess server;
  ContextPtr c = Connect(server.port());
  CHECK(Do(c, {"SET", "k", "v"}) == "+OK");
  ReplyPtr r = Command(c.get(), {"SHUTDOWN"});
  CHECK(r == nullptr);  // the connection closed
  std::optional<int> status = server.process().WaitExit(std::chrono::milliseconds(20000));
  REQUIRE(status.has_value());
  CHECK(ExitCodeOf(*status) == 0);
  CHECK(server.Log().find("User requested shutdown...") != std::string::npos);
}

TEST_CASE("SHUTDOWN NOSAVE NOW FORCE stops the server too") {
  ServerProcess server;
  ContextPtr c = Connect(server.port());
  CHECK(Command(c.get(), {"SHUTDOWN", "NOSAVE", "NOW", "FORCE"}) == nullptr);
  std::optional<int> status = server.process().WaitExit(std::chrono::milliseconds(20000));
  REQUIRE(status.has_value());
  CHECK(ExitCodeOf(*status) == 0);
}

TEST_CASE_FIXTURE(ServerFixture, "SHUTDOWN reports Redis's errors and the server stays up") {
  CHECK(Do(c, {"SHUTDOWN", "LATER"}) == "-ERR syntax error");
  CHECK(Do(c, {"SHUTDOWN", "SAVE", "NOSAVE"}) == "-ERR syntax error");
  CHECK(Do(c, {"SHUTDOWN", "ABORT", "NOW"}) == "-ERR syntax error");
  CHECK(Do(c, {"SHUTDOWN", "ABORT"}) == "-ERR No shutdown in progress.");
  // Nothing to save to: as Redis when its save fails.
  CHECK(Do(c, {"SHUTDOWN", "SAVE"}) == "-ERR Errors trying to SHUTDOWN. Check logs.");
  CHECK(Do(c, {"MULTI"}) == "+OK");
  CHECK(Do(c, {"SHUTDOWN"}) == "-ERR Command not allowed inside a transaction");
  CHECK(Do(c, {"EXEC"}) == "-EXECABORT Transaction discarded because of previous errors.");
  CHECK(Do(c, {"PING"}) == "+PONG");
  CHECK(server.Log().find("Error trying to save the DB, can't exit") != std::string::npos);
}

TEST_CASE_FIXTURE(ServerFixture, "WAIT answers 0 replicas and checks its arguments") {
  CHECK(Do(c, {"WAIT", "0", "0"}) == ":0");
  CHECK(Do(c, {"WAIT", "1", "10"}) == ":0");
  CHECK(Do(c, {"WAIT", "x", "0"}) == "-ERR value is not an integer or out of range");
  CHECK(Do(c, {"WAIT", "1", "x"}) == "-ERR timeout is not an integer or out of range");
  CHECK(Do(c, {"WAIT", "1", "-1"}) == "-ERR timeout is negative");
  CHECK(Do(c, {"WAIT", "1"}) == "-ERR wrong number of arguments for 'wait' command");
}

TEST_CASE_FIXTURE(ServerFixture, "SLOWLOG records commands past slowlog-log-slower-than") {
  CHECK(Do(c, {"CONFIG", "GET", "slowlog-log-slower-than"}) == "[slowlog-log-slower-than, 10000]");
  CHECK(Do(c, {"CONFIG", "GET", "slowlog-max-len"}) == "[slowlog-max-len, 128]");
  CHECK(Do(c, {"SET", "fast", "v"}) == "+OK");
  CHECK(Do(c, {"SLOWLOG", "LEN"}) == ":0");  // nothing took 10 ms
  CHECK(Do(c, {"CONFIG", "SET", "slowlog-log-slower-than", "0"}) == "+OK");
  CHECK(Do(c, {"CLIENT", "SETNAME", "tester"}) == "+OK");
  CHECK(Do(c, {"SLOWLOG", "RESET"}) == "+OK");
  const std::string big(200, 'x');
  CHECK(Do(c, {"SET", "k", big}) == "+OK");
  ReplyPtr r = Command(c.get(), {"SLOWLOG", "GET", "1"});
  REQUIRE(r);
  REQUIRE(r->type == REDIS_REPLY_ARRAY);
  REQUIRE(r->elements == 1);
  const redisReply* e = r->element[0];
  REQUIRE(e->elements == 6);
  CHECK(e->element[1]->integer > 1600000000);
  CHECK(e->element[2]->integer >= 0);
  CHECK(Show(e->element[3]) == "[SET, k, " + std::string(128, 'x') + "... (72 more bytes)]");
  CHECK(std::string(e->element[4]->str).rfind("127.0.0.1:", 0) == 0);
  CHECK(std::string(e->element[5]->str) == "tester");
  CHECK(Do(c, {"AUTH", "secret"}).rfind("-ERR", 0) == 0);
  ReplyPtr a = Command(c.get(), {"SLOWLOG", "GET", "1"});
  REQUIRE(a);
  CHECK(Show(a->element[0]->element[3]) == "[AUTH, (redacted)]");
  CHECK(Do(c, {"CONFIG", "SET", "slowlog-max-len", "2"}) == "+OK");
  CHECK(Do(c, {"PING"}) == "+PONG");
  CHECK(Do(c, {"SLOWLOG", "LEN"}) == ":2");
  CHECK(Do(c, {"SLOWLOG", "GET", "-2"}) == "-ERR count should be greater than or equal to -1");
  CHECK(Do(c, {"SLOWLOG", "GET", "1", "2"}) ==
        "-ERR unknown subcommand or wrong number of arguments for 'GET'. Try SLOWLOG HELP.");
  CHECK(Do(c, {"SLOWLOG", "NOPE"}) == "-ERR unknown subcommand 'NOPE'. Try SLOWLOG HELP.");
  CHECK(Do(c, {"CONFIG", "SET", "slowlog-log-slower-than", "-1"}) == "+OK");
  CHECK(Do(c, {"SLOWLOG", "RESET"}) == "+OK");
  CHECK(Do(c, {"PING"}) == "+PONG");
  CHECK(Do(c, {"SLOWLOG", "LEN"}) == ":0");
  CHECK(Do(c, {"SLOWLOG", "HELP"}).find("RESET") != std::string::npos);
}

TEST_CASE_FIXTURE(ServerFixture, "LATENCY is off at threshold 0 and records slow commands above") {
  CHECK(Do(c, {"CONFIG", "GET", "latency-monitor-threshold"}) == "[latency-monitor-threshold, 0]");
  CHECK(Do(c, {"LATENCY", "LATEST"}) == "[]");
  CHECK(Do(c, {"LATENCY", "HISTORY", "command"}) == "[]");
  // A 100k-key KEYS takes well over 1 ms on any machine; the check does not time it.
  CHECK(Do(c, {"CONFIG", "SET", "latency-monitor-threshold", "1"}) == "+OK");
  for (int i = 0; i < 100; ++i) {
    std::vector<std::string> mset = {"MSET"};
    for (int k = 0; k < 1000; ++k) {
      mset.push_back("key:" + std::to_string(i) + ":" + std::to_string(k));
      mset.push_back("v");
    }
    REQUIRE(Do(c, mset) == "+OK");
  }
  bool recorded = false;
  for (int attempt = 0; attempt < 20 && !recorded; ++attempt) {
    ReplyPtr keys = Command(c.get(), {"KEYS", "key:*"});
    REQUIRE(keys);
    ReplyPtr latest = Command(c.get(), {"LATENCY", "LATEST"});
    REQUIRE(latest);
    for (size_t i = 0; i < latest->elements; ++i) {
      const redisReply* ev = latest->element[i];
      if (std::string(ev->element[0]->str) == "command") {
        recorded = true;
        CHECK(ev->element[2]->integer >= 1);
        CHECK(ev->element[3]->integer >= ev->element[2]->integer);
      }
    }
  }
  CHECK(recorded);
  ReplyPtr history = Command(c.get(), {"LATENCY", "HISTORY", "command"});
  REQUIRE(history);
  CHECK(history->elements >= 1);
  CHECK(Do(c, {"LATENCY", "RESET", "nosuch"}) == ":0");
  CHECK(Do(c, {"LATENCY", "RESET"}).rfind(":", 0) == 0);
  CHECK(Do(c, {"CONFIG", "SET", "latency-monitor-threshold", "0"}) == "+OK");
  CHECK(Do(c, {"LATENCY", "RESET"}) == ":0");
  CHECK(Do(c, {"KEYS", "key:*"}).size() > 0);
  CHECK(Do(c, {"LATENCY", "LATEST"}) == "[]");
  CHECK(Do(c, {"LATENCY", "NOPE"}) == "-ERR unknown subcommand 'NOPE'. Try LATENCY HELP.");
}

TEST_CASE_FIXTURE(ServerFixture, "COMMAND INFO lists Redis 7.0's ACL categories") {
  CHECK(Do(c, {"COMMAND", "INFO", "get"}) ==
        "[[get, :2, [+readonly, +fast], :1, :1, :1, [+@read, +@string, +@fast], [], [], []]]");
  const std::string set = Do(c, {"COMMAND", "INFO", "set"});
  CHECK(set.find("[+@write, +@string, +@slow]") != std::string::npos);
  CHECK(Do(c, {"COMMAND", "INFO", "flushall"}).find("[+@keyspace, +@write, +@slow, +@dangerous]") !=
        std::string::npos);
  CHECK(Do(c, {"COMMAND", "INFO", "shutdown"}).find("[+@admin, +@slow, +@dangerous]") !=
        std::string::npos);
  CHECK(Do(c, {"COMMAND", "INFO", "hset"}).find("[+@write, +@hash, +@fast]") != std::string::npos);
  CHECK(Do(c, {"COMMAND", "LIST", "FILTERBY", "ACLCAT", "transaction"}) ==
        "[multi, exec, discard, watch, unwatch]");
}

}  // namespace flightcache::integration

namespace flightcache::integration {

// Reads one reply from a monitoring client, as text.
std::string NextMonitorLine(redisContext* c) {
  ReplyPtr r = NextReply(c);
  return Show(r.get(), c);
}

TEST_CASE_FIXTURE(ServerFixture, "MONITOR streams every client's commands in Redis's format") {
  ContextPtr monitor = Connect(server.port());
  CHECK(Do(monitor, {"MONITOR"}) == "+OK");
  // Other workers' clients too, when the suite runs with --threads: a few connections land on
  // every worker.
  for (int i = 0; i < 4; ++i) {
    ContextPtr other = Connect(server.port());
    CHECK(Do(other, {"SELECT", "3"}) == "+OK");
    CHECK(Do(other, {"SET", "k" + std::to_string(i), "a \"b\"\n"}) == "+OK");
    const std::string select = NextMonitorLine(monitor.get());
    const std::string set = NextMonitorLine(monitor.get());
    CAPTURE(select);
    CAPTURE(set);
    CHECK(select.find(" [3 127.0.0.1:") != std::string::npos);
    CHECK(select.size() > 20);
    CHECK(select.substr(select.find(']')) == "] \"SELECT\" \"3\"");
    CHECK(set.substr(set.find(']')) ==
          "] \"SET\" \"k" + std::to_string(i) + "\" \"a \\\"b\\\"\\n\"");
    CHECK(set[0] == '+');
    CHECK(set[11] == '.');  // +seconds.microseconds
  }
  CHECK(Do(c, {"AUTH", "x"}).rfind("-ERR", 0) == 0);
  const std::string auth = NextMonitorLine(monitor.get());
  CHECK(auth.substr(auth.find(']')) == "] \"AUTH\" \"(redacted)\"");
  CHECK(Do(c, {"CONFIG", "GET", "hz"}) == "[hz, 10]");  // admin: not shown
  CHECK(Do(c, {"PING"}) == "+PONG");
  const std::string ping = NextMonitorLine(monitor.get());
  CHECK(ping.substr(ping.find(']')) == "] \"PING\"");
  CHECK(Do(c, {"CLIENT", "LIST"}).find("flags=O ") != std::string::npos);
  CHECK(Do(c, {"MULTI"}) == "+OK");
  CHECK(Do(c, {"MONITOR"}) == "+QUEUED");
  CHECK(Do(c, {"EXEC"}) == "[-ERR MONITOR isn't allowed for DENY BLOCKING client]");
}

}  // namespace flightcache::integration
