// connection_limits_test.cc — what a connection holds and how it ends: a half-closed client
// still gets the replies of what it sent (parked ones included), an idle client gives back its
// big buffers, and client-output-buffer-limit closes a client that does not read its replies.
// Every wait polls the server's own INFO / CLIENT LIST figures up to a deadline.
#include <doctest/doctest.h>

#include <chrono>
#include <functional>
#include <thread>

#include "tests/integration/server_process.h"

namespace flightcache::integration {
namespace {

using Clock = std::chrono::steady_clock;

// The test origin (tests/tools/test_origin) on a free port.
struct Origin {
  Origin() {
    for (int attempt = 0;; ++attempt) {
      port = FreeTcpPort();
      try {
        process = std::make_unique<ChildProcess>(SpawnOptions{
            RequiredEnv("TEST_ORIGIN_BIN"), {"--port", std::to_string(port)}, {}, port});
        return;
      } catch (const std::exception&) {
        if (attempt == 4) throw;
      }
    }
  }
  std::string Do(const std::vector<std::string>& args) {
    ContextPtr c = Connect(port);
    return integration::Do(c, args);
  }
  int port = 0;
  std::unique_ptr<ChildProcess> process;
};

long long InfoNumber(const ContextPtr& c, const std::string& field) {
  ReplyPtr r = Command(c.get(), {"INFO", "everything"});
  REQUIRE(r);
  std::string text(r->str, r->len);
  size_t at = text.find("\r\n" + field + ":");
  REQUIRE(at != std::string::npos);
  return std::stoll(text.substr(at + field.size() + 3));
}

// Polls until done() holds or timeout passes; returns whether it held.
bool WaitUntil(const std::function<bool()>& done, std::chrono::milliseconds timeout) {
  const auto deadline = Clock::now() + timeout;
  while (!done()) {
    if (Clock::now() > deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return true;
}

std::string ClientList(const ContextPtr& c) { return Do(c, {"CLIENT", "LIST"}); }

// ---- half-close ----

TEST_CASE("a client that half-closes after GET still gets the value the origin sends, then EOF") {
  Origin origin;
  ServerProcess server({"--origin", "redis://127.0.0.1:" + std::to_string(origin.port),
                        "--origin-timeout", "20000"});
  ContextPtr c = Connect(server.port());
  CHECK(origin.Do({"SET", "cold", "from-origin"}) == "+OK");
  CHECK(origin.Do({"HANG"}) == "+OK");
  RawConnection raw(server.port());
  REQUIRE(raw.Send("GET cold\r\nPING\r\n"));
  CHECK(WaitUntil([&] { return InfoNumber(c, "origin_parked_clients") == 1; },
                  std::chrono::seconds(10)));
  REQUIRE(raw.ShutdownWrite());
  // The server has seen the end of file once it marks the client close-after-reply ('c');
  // it must not have dropped it.
  CHECK(WaitUntil([&] { return ClientList(c).find("flags=bc ") != std::string::npos; },
                  std::chrono::seconds(10)));
  CHECK(origin.Do({"UNHANG"}) == "+OK");
  std::string out;
  CHECK(raw.WaitClosed(std::chrono::seconds(10), &out));
  CHECK(out == "$11\r\nfrom-origin\r\n+PONG\r\n");
  CHECK(
      WaitUntil([&] { return InfoNumber(c, "connected_clients") == 1; }, std::chrono::seconds(10)));
}

TEST_CASE("a client that half-closes with nothing pending is closed, and its replies were sent") {
  ServerFixture f;
  RawConnection raw(f.server.port());
  REQUIRE(raw.Send("SET k v\r\nGET k\r\n"));
  REQUIRE(raw.ShutdownWrite());
  std::string out;
  CHECK(raw.WaitClosed(std::chrono::seconds(10), &out));
  CHECK(out == "+OK\r\n$1\r\nv\r\n");
  CHECK(WaitUntil([&] { return InfoNumber(f.c, "connected_clients") == 1; },
                  std::chrono::seconds(10)));
}

TEST_CASE("a client that half-closes in the middle of a command is closed") {
  ServerFixture f;
  RawConnection raw(f.server.port());
  REQUIRE(raw.Send("PING\r\n*2\r\n$3\r\nGET\r\n"));
  REQUIRE(raw.ShutdownWrite());
  std::string out;
  CHECK(raw.WaitClosed(std::chrono::seconds(10), &out));
  CHECK(out == "+PONG\r\n");
}

}  // namespace
}  // namespace flightcache::integration
