// process_test.cc — the server as a process: signals, ports, descriptor limits, and CONFIG SET
// from several workers at once. Each case starts its own flightcache.
#include <doctest/doctest.h>
#include <signal.h>

#include <atomic>
#include <thread>

#include "tests/integration/server_process.h"

namespace flightcache::integration {
namespace {

// CONFIG GET name's value, as one string.
std::string ConfigValue(const ContextPtr& c, const std::string& name) {
  ReplyPtr r = Command(c.get(), {"CONFIG", "GET", name});
  if (!r || r->type != REDIS_REPLY_ARRAY || r->elements != 2) return "(none)";
  return std::string(r->element[1]->str, r->element[1]->len);
}

}  // namespace

TEST_CASE("concurrent CONFIG SETs of different options on two workers both take effect") {
  // The acceptor hands connections to the workers in turn: two consecutive clients are served
  // by different workers.
  ServerProcess server({"--threads", "2", "--accept-mode", "acceptor"});
  ContextPtr a = Connect(server.port());
  ContextPtr b = Connect(server.port());
  constexpr int kRounds = 100;
  int lost = 0;
  for (int round = 1; round <= kRounds && lost == 0; ++round) {
    const std::string value = std::to_string(round);
    std::atomic<int> ready{0};
    auto set = [&](const ContextPtr& c, const char* name) {
      ready.fetch_add(1);
      while (ready.load() < 2) {
      }
      CHECK(Do(c, {"CONFIG", "SET", name, value}) == "+OK");
    };
    std::thread ta(set, std::cref(a), "timeout");
    std::thread tb(set, std::cref(b), "cache-ttl");
    ta.join();
    tb.join();
    // Each worker's copy catches up a loop turn later; a lost change never shows.
    const bool both = WaitUntil(
        [&] {
          for (const ContextPtr* c : {&a, &b}) {
            if (ConfigValue(*c, "timeout") != value || ConfigValue(*c, "cache-ttl") != value) {
              return false;
            }
          }
          return true;
        },
        milliseconds(5000));
    if (!both) ++lost;
    CAPTURE(round);
    CHECK(both);
  }
  CHECK(lost == 0);
}

TEST_CASE("CONFIG GET maxclients reports the limit in force after the descriptor cap") {
  // prlimit (util-linux) starts the server with at most 256 descriptors, hard limit included.
  const int port = FreeTcpPort();
  ChildProcess server(SpawnOptions{"/usr/bin/prlimit",
                                   {"--nofile=256:256", RequiredEnv("FLIGHTCACHE_BIN"), "--port",
                                    std::to_string(port), "--maxclients", "10000"},
                                   {},
                                   port});
  ContextPtr c = Connect(port);
  const std::string in_force = std::to_string(256 - 32);  // Redis keeps 32 for itself
  CHECK(ConfigValue(c, "maxclients") == in_force);
  CHECK(InfoValue(c.get(), "maxclients") == in_force);
  CHECK(Do(c, {"CONFIG", "SET", "maxclients", "5000"}) == "+OK");
  CHECK(ConfigValue(c, "maxclients") == in_force);
  CHECK(Do(c, {"CONFIG", "SET", "maxclients", "100"}) == "+OK");
  CHECK(ConfigValue(c, "maxclients") == "100");
  CHECK(server.Log().find("maxclients is now " + in_force) != std::string::npos);
}

}  // namespace flightcache::integration

namespace flightcache::integration {

TEST_CASE("SIGHUP is ignored: the server keeps serving") {
  ServerFixture f;
  CHECK(Do(f.c, {"SET", "k", "v"}) == "+OK");
  kill(f.server.process().pid(), SIGHUP);
  // A signal is delivered before kill() returns to a process that does not block it; if it
  // had killed the server, the next command would fail.
  CHECK(Do(f.c, {"GET", "k"}) == "v");
  CHECK(f.server.process().Running());
  ContextPtr again = Connect(f.server.port());
  CHECK(Do(again, {"PING"}) == "+PONG");
}

TEST_CASE("a second flightcache on the same port fails with Address already in use") {
  for (const std::string threads : {"1", "2"}) {
    CAPTURE(threads);
    ServerProcess first({"--threads", threads});
    ContextPtr c = Connect(first.port());
    CHECK(Do(c, {"SET", "owner", "first"}) == "+OK");
    for (const std::string second_threads : {"1", "2", "4"}) {
      CAPTURE(second_threads);
      RunResult second =
          RunToExit(RequiredEnv("FLIGHTCACHE_BIN"),
                    {"--port", std::to_string(first.port()), "--threads", second_threads},
                    milliseconds(30000));
      CAPTURE(second.output);
      CHECK(second.exit_code == 1);
      CHECK(second.output.find("Address already in use") != std::string::npos);
    }
    // Every new client still reaches the first server's keyspace.
    for (int i = 0; i < 20; ++i) {
      ContextPtr client = Connect(first.port());
      CHECK(Do(client, {"GET", "owner"}) == "first");
    }
  }
}

TEST_CASE("SIGTERM at any moment of start-up ends the server cleanly") {
  // Sweeps the signal across start-up: before the workers run, while they open their
  // listeners, and after. Each start must end with exit code 0 within the bound.
  const std::string bin = RequiredEnv("FLIGHTCACHE_BIN");
  for (int round = 0; round < 60; ++round) {
    CAPTURE(round);
    const int port = FreeTcpPort();
    ChildProcess server(SpawnOptions{bin, {"--port", std::to_string(port), "--threads", "4"}});
    std::this_thread::sleep_for(std::chrono::microseconds(250 * round));
    std::optional<int> status = server.Signal(SIGTERM, milliseconds(20000));
    REQUIRE(status.has_value());
    // 0, or killed by the signal itself when it came before main() could block it.
    const int code = ExitCodeOf(*status);
    CHECK((code == 0 || code == 128 + SIGTERM));
  }
}

}  // namespace flightcache::integration
