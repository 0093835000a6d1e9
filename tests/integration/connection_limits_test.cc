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
constexpr long long kMb = 1024 * 1024;

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

// ---- idle buffers ----

// One client SETs, GETs and DELs a value of `size` bytes and stays connected. Under a tight
// maxmemory the value itself may be evicted on the way: check_kept = false allows that.
void BigValueRoundTrip(int port, size_t size, ContextPtr* keep, bool check_kept = true) {
  *keep = Connect(port, std::chrono::milliseconds(60000));
  const std::string value(size, 'v');
  CHECK(Do(*keep, {"SET", "big", value}) == "+OK");
  ReplyPtr r = Command(keep->get(), {"GET", "big"});
  REQUIRE(r);
  if (check_kept) CHECK(r->len == size);
  r.reset();
  const std::string deleted = Do(*keep, {"DEL", "big"});
  if (check_kept) CHECK(deleted == ":1");
}

TEST_CASE("an idle client that moved a 100 MB value gives its buffers back") {
  ServerFixture f({"--hz", "20"});
  const long long baseline = InfoNumber(f.c, "used_memory");
  ContextPtr big;
  BigValueRoundTrip(f.server.port(), 100 * kMb, &big);
  long long used = 0;
  CHECK(WaitUntil(
      [&] {
        used = InfoNumber(f.c, "used_memory");
        return used < baseline + 40 * kMb;
      },
      std::chrono::seconds(20)));
  CAPTURE(baseline);
  CAPTURE(used);
  CHECK(Do(big, {"PING"}) == "+PONG");  // still connected
}

TEST_CASE("with maxmemory, one client's big value leaves room for other clients' writes") {
  ServerFixture f({"--maxmemory", "300mb", "--hz", "20"});
  const long long baseline = InfoNumber(f.c, "used_memory");
  ContextPtr big;
  BigValueRoundTrip(f.server.port(), 100 * kMb, &big, false);
  CHECK(WaitUntil([&] { return InfoNumber(f.c, "used_memory") < baseline + 40 * kMb; },
                  std::chrono::seconds(20)));
  ContextPtr other = Connect(f.server.port());
  const std::string value(1000, 'x');
  int errors = 0;
  for (int i = 0; i < 1000; ++i) {
    if (Do(other, {"SET", "k:" + std::to_string(i), value}) != "+OK") ++errors;
  }
  CHECK(errors == 0);
  CHECK(Do(other, {"DBSIZE"}) == ":1000");
  CHECK(Do(big, {"PING"}) == "+PONG");
}

TEST_CASE("an idle client gives back the argument table of a command with many arguments") {
  ServerFixture f({"--hz", "20"});
  const long long baseline = InfoNumber(f.c, "used_memory");
  ContextPtr many = Connect(f.server.port(), std::chrono::milliseconds(30000));
  std::vector<std::string> del = {"DEL"};
  for (int i = 0; i < 300000; ++i) del.push_back("k" + std::to_string(i));
  CHECK(Do(many, del) == ":0");
  CHECK(WaitUntil([&] { return InfoNumber(f.c, "used_memory") < baseline + 2 * kMb; },
                  std::chrono::seconds(20)));
  CHECK(Do(many, {"PING"}) == "+PONG");
}

}  // namespace
}  // namespace flightcache::integration
