// origin_faults_test.cc — the real binary against origins that stop answering: a hung test
// origin (HANG / UNHANG), a peer that accepts connections and never answers, and
// CONFIG SET origin-timeout reaching fetches at once. Every wait is bounded by a deadline.
#include <arpa/inet.h>
#include <doctest/doctest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <thread>

#include "tests/integration/server_process.h"
#include "tests/integration/test_origin_process.h"

namespace flightcache::integration {
namespace {

// tests/tools/test_origin on a port (a free one when port is 0).
struct FaultOrigin : TestOriginProcess {
  explicit FaultOrigin(int fixed_port = 0) : TestOriginProcess({}, fixed_port) {}
};

std::string OriginUrl(int port) { return "redis://127.0.0.1:" + std::to_string(port); }

std::string InfoField(redisContext* c, const std::string& name) { return InfoValue(c, name); }

// Polls INFO until field reads want; returns the last value read (bounded by timeout).
std::string WaitInfo(redisContext* c, const std::string& field, const std::string& want,
                     std::chrono::milliseconds timeout = std::chrono::milliseconds(30000)) {
  std::string value;
  WaitUntil([&] { return (value = InfoField(c, field)) == want; }, timeout);
  return value;
}

// A loopback listening socket that the test accepts on by hand and never answers.
struct SilentListener {
  // Close-on-exec: a server spawned later must not inherit (and keep open) the listener.
  SilentListener() {
    fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
    listen(fd, 16);
    socklen_t len = sizeof(addr);
    getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
    port = ntohs(addr.sin_port);
  }
  ~SilentListener() {
    for (int c : accepted) close(c);
    if (fd >= 0) close(fd);
  }
  // Accepts one connection, waiting at most timeout_ms; false when none came.
  bool AcceptOne(int timeout_ms) {
    pollfd p{fd, POLLIN, 0};
    if (poll(&p, 1, timeout_ms) <= 0) return false;
    int c = accept4(fd, nullptr, nullptr, SOCK_CLOEXEC);
    if (c < 0) return false;
    accepted.push_back(c);
    return true;
  }
  void StopListening() {
    close(fd);
    fd = -1;
  }
  int fd = -1;
  int port = 0;
  std::vector<int> accepted;  // open and silent until destruction
};

TEST_CASE(
    "a GET against a hung origin times out, the connection is dropped and reconnects, and "
    "after UNHANG the next GET gets its value") {
  FaultOrigin origin;
  ServerProcess server(
      {"--origin", OriginUrl(origin.port), "--origin-timeout", "200", "--origin-connections", "1"});
  ContextPtr c = Connect(server.port());
  REQUIRE(WaitInfo(c.get(), "origin_connected", "1") == "1");
  REQUIRE(origin.Do({"HANG"}) == "+OK");
  CHECK(Do(c, {"GET", "k"}) == "-ERR origin timeout after 200 ms");
  CHECK(WaitInfo(c.get(), "origin_timeout_drops", "1") == "1");
  CHECK(WaitInfo(c.get(), "origin_connects", "2") == "2");  // a fresh connection, still hung
  REQUIRE(origin.Do({"UNHANG"}) == "+OK");
  CHECK(Do(c, {"GET", "k"}) == "value:k");
  CHECK(InfoField(c.get(), "origin_connected") == "1");
}

TEST_CASE(
    "connections pinned to a silent peer are replaced, so a healthy origin that takes its "
    "port answers within a few GETs") {
  SilentListener peer;
  ServerProcess server(
      {"--origin", OriginUrl(peer.port), "--origin-timeout", "200", "--origin-connections", "2"});
  REQUIRE(peer.AcceptOne(5000));
  REQUIRE(peer.AcceptOne(5000));
  ContextPtr c = Connect(server.port());
  REQUIRE(WaitInfo(c.get(), "origin_connected", "2") == "2");
  // The silent peer keeps both connections open; a healthy origin now listens on the port.
  peer.StopListening();
  FaultOrigin healthy(peer.port);
  std::string value;
  int tries = 0;
  for (; tries < 15 && value != "value:k"; ++tries) {
    value = Do(c, {"GET", "k"});
    if (value != "value:k") CHECK(value == "-ERR origin timeout after 200 ms");
  }
  CHECK(value == "value:k");
  CHECK(tries <= 5);  // at most one timeout per pinned connection, plus slack
  CHECK(InfoField(c.get(), "origin_timeout_drops") != "0");
}

TEST_CASE("CONFIG SET origin-timeout applies to the next fetch") {
  FaultOrigin origin;
  ServerProcess server({"--origin", OriginUrl(origin.port), "--origin-timeout", "5000"});
  ContextPtr c = Connect(server.port(), std::chrono::milliseconds(10000));
  REQUIRE(WaitInfo(c.get(), "origin_connected", "4") == "4");
  REQUIRE(origin.Do({"HANG"}) == "+OK");
  CHECK(Do(c, {"CONFIG", "SET", "origin-timeout", "200"}) == "+OK");
  CHECK(Do(c, {"CONFIG", "GET", "origin-timeout"}) == "[origin-timeout, 200]");
  CHECK(Do(c, {"GET", "k"}) == "-ERR origin timeout after 200 ms");
  CHECK(InfoField(c.get(), "origin_timeout_ms") == "200");
  REQUIRE(origin.Do({"UNHANG"}) == "+OK");
}

}  // namespace
}  // namespace flightcache::integration
