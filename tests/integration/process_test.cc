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
