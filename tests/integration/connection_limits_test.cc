// connection_limits_test.cc — what a connection holds and how it ends: a half-closed client
// still gets the replies of what it sent (parked ones included), an idle client gives back its
// big buffers, and client-output-buffer-limit closes a client that does not read its replies.
// Every wait polls the server's own INFO / CLIENT LIST figures up to a deadline.
#include <doctest/doctest.h>

#include <chrono>
#include <functional>
#include <thread>

#include "tests/integration/server_process.h"
#include "tests/integration/test_origin_process.h"

namespace flightcache::integration {
namespace {

using Clock = std::chrono::steady_clock;
constexpr long long kMb = 1024 * 1024;

// The test origin (tests/tools/test_origin) on a free port.
using Origin = TestOriginProcess;

std::string ClientList(const ContextPtr& c) { return Do(c, {"CLIENT", "LIST"}); }

// The largest omem= (unsent reply bytes) in CLIENT LIST.
long long MaxOmem(const ContextPtr& c) {
  const std::string list = ClientList(c);
  long long most = 0;
  for (size_t at = list.find(" omem="); at != std::string::npos; at = list.find(" omem=", at + 1)) {
    most = std::max(most, std::stoll(list.substr(at + 6)));
  }
  return most;
}

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
                  std::chrono::seconds(30)));
  REQUIRE(raw.ShutdownWrite());
  // The server has seen the end of file once it marks the client close-after-reply ('c');
  // it must not have dropped it.
  CHECK(WaitUntil([&] { return ClientList(c).find("flags=bc ") != std::string::npos; },
                  std::chrono::seconds(30)));
  CHECK(origin.Do({"UNHANG"}) == "+OK");
  std::string out;
  CHECK(raw.WaitClosed(std::chrono::seconds(30), &out));
  CHECK(out == "$11\r\nfrom-origin\r\n+PONG\r\n");
  CHECK(
      WaitUntil([&] { return InfoNumber(c, "connected_clients") == 1; }, std::chrono::seconds(30)));
}

TEST_CASE("a client that half-closes with nothing pending is closed, and its replies were sent") {
  ServerFixture f;
  RawConnection raw(f.server.port());
  REQUIRE(raw.Send("SET k v\r\nGET k\r\n"));
  REQUIRE(raw.ShutdownWrite());
  std::string out;
  CHECK(raw.WaitClosed(std::chrono::seconds(30), &out));
  CHECK(out == "+OK\r\n$1\r\nv\r\n");
  CHECK(WaitUntil([&] { return InfoNumber(f.c, "connected_clients") == 1; },
                  std::chrono::seconds(30)));
}

TEST_CASE("a client that half-closes in the middle of a command is closed") {
  ServerFixture f;
  RawConnection raw(f.server.port());
  REQUIRE(raw.Send("PING\r\n*2\r\n$3\r\nGET\r\n"));
  REQUIRE(raw.ShutdownWrite());
  std::string out;
  CHECK(raw.WaitClosed(std::chrono::seconds(30), &out));
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

// ---- client-output-buffer-limit ----

const char* const kDefaultLimits =
    "normal 0 0 0 slave 268435456 67108864 60 pubsub 33554432 8388608 60";

TEST_CASE("CONFIG GET client-output-buffer-limit shows Redis's format and SET changes a class") {
  ServerFixture f;
  CHECK(Do(f.c, {"CONFIG", "GET", "client-output-buffer-limit"}) ==
        std::string("[client-output-buffer-limit, ") + kDefaultLimits + "]");
  CHECK(Do(f.c, {"CONFIG", "SET", "client-output-buffer-limit", "normal 1mb 512kb 10"}) == "+OK");
  CHECK(Do(f.c, {"CONFIG", "GET", "client-output-buffer-limit"}) ==
        "[client-output-buffer-limit, normal 1048576 524288 10 slave 268435456 67108864 60 "
        "pubsub 33554432 8388608 60]");
  CHECK(Do(f.c, {"CONFIG", "SET", "client-output-buffer-limit",
                 "replica 1gb 0 0 pubsub 0 0 0 normal 0 0 0"}) == "+OK");
  CHECK(Do(f.c, {"CONFIG", "GET", "client-output-buffer-limit"}) ==
        "[client-output-buffer-limit, normal 0 0 0 slave 1073741824 0 0 pubsub 0 0 0]");
  for (const char* bad : {"normal 1mb 0", "bogus 0 0 0", "normal x 0 0", "normal 0 0 -1", ""}) {
    CAPTURE(bad);
    CHECK(Do(f.c, {"CONFIG", "SET", "client-output-buffer-limit", bad})
              .rfind("-ERR CONFIG SET failed (possibly related to argument "
                     "'client-output-buffer-limit')",
                     0) == 0);
  }
  // A flag sets it at start-up too.
  ServerFixture g({"--client-output-buffer-limit", "normal 2mb 1mb 5"});
  CHECK(Do(g.c, {"CONFIG", "GET", "client-output-buffer-limit"}) ==
        "[client-output-buffer-limit, normal 2097152 1048576 5 slave 268435456 67108864 60 "
        "pubsub 33554432 8388608 60]");
}

// Sends `count` pipelined GET v without reading anything.
void PipelineGets(RawConnection& raw, int count) {
  std::string pipeline;
  for (int i = 0; i < count; ++i) pipeline += "GET v\r\n";
  REQUIRE(raw.Send(pipeline));
}

TEST_CASE("a client past the hard output limit is closed and other clients are unaffected") {
  ServerFixture f;
  CHECK(Do(f.c, {"SET", "v", std::string(100 * 1024, 'x')}) == "+OK");
  CHECK(Do(f.c, {"CONFIG", "SET", "client-output-buffer-limit", "normal 1mb 0 0"}) == "+OK");
  RawConnection reader(f.server.port());  // a client that reads keeps working
  REQUIRE(reader.Send("PING\r\n"));
  CHECK(reader.ReadReply() == "+PONG");
  RawConnection hog(f.server.port());
  PipelineGets(hog, 1000);  // 100 MB of replies it never reads
  CHECK(WaitUntil([&] { return InfoNumber(f.c, "connected_clients") == 2; },
                  std::chrono::seconds(30)));
  CHECK(hog.WaitClosed(std::chrono::seconds(30)));
  CHECK(f.server.Log().find("scheduled to be closed ASAP for overcoming of output buffer limits") !=
        std::string::npos);
  REQUIRE(reader.Send("GET v\r\n"));
  CHECK(reader.ReadReply().size() == 100 * 1024);
  CHECK(Do(f.c, {"PING"}) == "+PONG");
}

TEST_CASE("one reply bigger than the hard output limit closes the client while it is built") {
  ServerFixture f;
  std::vector<std::string> mget = {"MGET"};
  for (int i = 0; i < 30; ++i) {
    CHECK(Do(f.c, {"SET", "k" + std::to_string(i), std::string(100 * 1024, 'x')}) == "+OK");
    mget.push_back("k" + std::to_string(i));
  }
  CHECK(Do(f.c, {"CONFIG", "SET", "client-output-buffer-limit", "normal 1mb 0 0"}) == "+OK");
  RawConnection raw(f.server.port());
  std::string command = "*" + std::to_string(mget.size()) + "\r\n";
  for (const std::string& a : mget) command += "$" + std::to_string(a.size()) + "\r\n" + a + "\r\n";
  REQUIRE(raw.Send(command));
  std::string out;
  CHECK(raw.WaitClosed(std::chrono::seconds(30), &out));
  CHECK(out.size() < 1 * kMb);  // the reply was dropped, not sent
  CHECK(Do(f.c, {"PING"}) == "+PONG");
  // Below the limit the same command is answered.
  CHECK(Do(f.c, {"CONFIG", "SET", "client-output-buffer-limit", "normal 4mb 0 0"}) == "+OK");
  RawConnection ok(f.server.port());
  REQUIRE(ok.Send(command));
  CHECK(ok.ReadReply(std::chrono::seconds(30)).size() > 2 * kMb);
}

TEST_CASE("a client over the soft output limit for soft_seconds is closed") {
  ServerFixture f({"--hz", "20"});
  CHECK(Do(f.c, {"SET", "v", std::string(100 * 1024, 'x')}) == "+OK");
  CHECK(Do(f.c, {"CONFIG", "SET", "client-output-buffer-limit", "normal 0 1mb 1"}) == "+OK");
  RawConnection hog(f.server.port());
  PipelineGets(hog, 300);  // 30 MB of replies it does not read: it stays over 1 MB
  // Nothing is read until the server closed it: reading would bring it under the soft limit.
  CHECK(WaitUntil([&] { return MaxOmem(f.c) > 1 * kMb; }, std::chrono::seconds(30)));
  CHECK(WaitUntil([&] { return InfoNumber(f.c, "connected_clients") == 1; },
                  std::chrono::seconds(15)));
  CHECK(hog.WaitClosed(std::chrono::seconds(30)));
}

TEST_CASE("with the default limits a client that does not read is paused, not closed") {
  ServerFixture f;
  CHECK(Do(f.c, {"SET", "v", std::string(100 * 1024, 'x')}) == "+OK");
  RawConnection hog(f.server.port());
  PipelineGets(hog, 1000);  // 100 MB: past the 64 MB pause
  CHECK(WaitUntil([&] { return MaxOmem(f.c) > 32 * kMb; }, std::chrono::seconds(30)));
  CHECK(InfoNumber(f.c, "connected_clients") == 2);
  // It reads everything in the end.
  const size_t total = 1000 * (100 * 1024 + std::string("$102400\r\n\r\n").size());
  CHECK(hog.ReadAtLeast(total, std::chrono::seconds(30)).size() == total);
}

}  // namespace
}  // namespace flightcache::integration
