// connection_test.cc — the server process and its connections: AUTH and requirepass,
// maxclients, idle timeout, the unix socket, clean SIGTERM shutdown, start-up errors, and
// the config file with flags overriding it.
#include <doctest/doctest.h>
#include <signal.h>
#include <sys/wait.h>

#include <chrono>
#include <thread>

#include "tests/integration/server_process.h"

namespace flightcache::integration {
namespace {

using std::chrono::milliseconds;

const char* const kNoAuth = "-NOAUTH Authentication required.";
const char* const kWrongPass = "-WRONGPASS invalid username-password pair or user is disabled.";

TEST_CASE("with requirepass commands get NOAUTH until AUTH succeeds") {
  ServerFixture f({"--requirepass", "secret"});
  auto& c = f.c;
  CHECK(Do(c, {"GET", "k"}) == kNoAuth);
  CHECK(Do(c, {"PING"}) == kNoAuth);
  // Redis looks the command up before it checks authentication.
  CHECK(Do(c, {"NOSUCHCMD"}) == "-ERR unknown command 'NOSUCHCMD', with args beginning with: ");
  CHECK(Do(c, {"AUTH", "wrong"}) == kWrongPass);
  CHECK(Do(c, {"AUTH", "default", "wrong"}) == kWrongPass);
  CHECK(Do(c, {"AUTH", "other", "secret"}) == kWrongPass);
  CHECK(Do(c, {"AUTH", "a", "b", "c"}) == "-ERR syntax error");
  CHECK(Do(c, {"GET", "k"}) == kNoAuth);
  CHECK(Do(c, {"AUTH", "secret"}) == "+OK");
  CHECK(Do(c, {"SET", "k", "v"}) == "+OK");
  CHECK(Do(c, {"GET", "k"}) == "v");
  auto second = Connect(f.server.port());
  CHECK(Do(second, {"GET", "k"}) == kNoAuth);  // authentication is per connection
  CHECK(Do(second, {"AUTH", "default", "secret"}) == "+OK");
  CHECK(Do(second, {"GET", "k"}) == "v");
  // RESET logs the connection out again.
  CHECK(Do(second, {"RESET"}) == "+RESET");
  CHECK(Do(second, {"GET", "k"}) == kNoAuth);
}

TEST_CASE("AUTH without requirepass explains that no password is set") {
  ServerFixture f;
  CHECK(Do(f.c, {"AUTH", "foo"}) ==
        "-ERR AUTH <password> called without any password configured for the default user. "
        "Are you sure your configuration is correct?");
  CHECK(Do(f.c, {"AUTH", "default", "anything"}) == "+OK");
}

TEST_CASE("HELLO AUTH authenticates and HELLO without it gets NOAUTH") {
  ServerFixture f({"--requirepass", "secret"});
  auto& c = f.c;
  CHECK(Do(c, {"HELLO", "2"})
            .rfind("-NOAUTH HELLO must be called with the client already "
                   "authenticated",
                   0) == 0);
  CHECK(Do(c, {"HELLO", "2", "AUTH", "default", "wrong"}) == kWrongPass);
  CHECK(Do(c, {"GET", "k"}) == kNoAuth);
  CHECK(Do(c, {"HELLO", "2", "AUTH", "default", "secret", "SETNAME", "me"})
            .rfind("[server, redis,", 0) == 0);
  CHECK(Do(c, {"CLIENT", "GETNAME"}) == "me");
  RawConnection raw(f.server.port());
  raw.Send("HELLO 3 AUTH default secret\r\nGET k\r\n");
  CHECK(raw.ReadReply().rfind("{server: redis", 0) == 0);
  CHECK(raw.ReadReply() == "_");
}

TEST_CASE("an unauthenticated client may not send big requests") {
  ServerProcess server({"--requirepass", "secret"});
  RawExchangeResult big_count = RawExchange(server.port(), "*1048577\r\n");
  CHECK(big_count.reply == "-ERR Protocol error: unauthenticated multibulk length\r\n");
  CHECK(big_count.closed);
  RawExchangeResult big_bulk = RawExchange(server.port(), "*1\r\n$200000\r\n");
  CHECK(big_bulk.reply == "-ERR Protocol error: unauthenticated bulk length\r\n");
  CHECK(big_bulk.closed);
  // After AUTH the same sizes are fine.
  RawConnection raw(server.port());
  raw.Send("AUTH secret\r\n*1\r\n$200000\r\n");
  CHECK(raw.ReadReply() == "+OK");
  raw.Send(std::string(200000, 'x') + "\r\n");
  CHECK(raw.ReadReply().rfind("-ERR unknown command 'xxxx", 0) == 0);
}

// Waits (bounded) until INFO reports n connected clients: the harness's readiness probe and
// clients closed by the test are counted until the server has seen them go.
void WaitForClients(const ContextPtr& c, int n) {
  std::string seen;
  CHECK(WaitUntil(
      [&] { return (seen = InfoValue(c.get(), "connected_clients")) == std::to_string(n); }));
  CAPTURE(seen);
}

TEST_CASE("clients past maxclients get Redis's error and the others keep working") {
  ServerFixture f({"--maxclients", "2"});
  WaitForClients(f.c, 1);
  auto second = Connect(f.server.port());
  CHECK(Do(second, {"PING"}) == "+PONG");
  RawConnection third(f.server.port());
  std::string reply;
  CHECK(third.WaitClosed(milliseconds(10000), &reply));
  CHECK(reply == "-ERR max number of clients reached\r\n");
  CHECK(Do(f.c, {"PING"}) == "+PONG");
  ReplyPtr info = Command(f.c.get(), {"INFO", "stats"});
  REQUIRE(info);
  CHECK(std::string(info->str, info->len).find("rejected_connections:1\r\n") != std::string::npos);
  // Raising the limit at run time lets a new client in.
  CHECK(Do(f.c, {"CONFIG", "SET", "maxclients", "3"}) == "+OK");
  auto fourth = Connect(f.server.port());
  CHECK(Do(fourth, {"PING"}) == "+PONG");
  // A slot freed by a closing client can be reused.
  second.reset();
  fourth.reset();
  WaitForClients(f.c, 1);
  auto fifth = Connect(f.server.port());
  auto sixth = Connect(f.server.port());
  CHECK(Do(fifth, {"PING"}) == "+PONG");
  CHECK(Do(sixth, {"PING"}) == "+PONG");
}

TEST_CASE("an idle client is closed after timeout and a busy one is not") {
  ServerFixture f({"--timeout", "1", "--hz", "50"});
  RawConnection idle(f.server.port());
  auto busy = Connect(f.server.port());
  const auto start = std::chrono::steady_clock::now();
  bool closed = false;
  while (std::chrono::steady_clock::now() - start < milliseconds(30000) && !closed) {
    CHECK(Do(busy, {"PING"}) == "+PONG");
    closed = idle.WaitClosed(milliseconds(100));
  }
  CHECK(closed);
  CHECK(std::chrono::steady_clock::now() - start >= milliseconds(900));
  CHECK(Do(busy, {"PING"}) == "+PONG");
}

TEST_CASE("CONFIG SET timeout takes effect on open connections") {
  ServerFixture f({"--hz", "50"});
  RawConnection idle(f.server.port());
  CHECK_FALSE(idle.WaitClosed(milliseconds(300)));
  CHECK(Do(f.c, {"CONFIG", "SET", "timeout", "1"}) == "+OK");
  CHECK(idle.WaitClosed(milliseconds(30000)));
}

TEST_CASE("the unix socket serves the same keyspace as TCP") {
  auto server = ServerProcess::WithUnixSocket();
  auto unix_client = ConnectUnix(server->unix_socket());
  auto tcp_client = Connect(server->port());
  CHECK(Do(unix_client, {"SET", "k", "from-unix"}) == "+OK");
  CHECK(Do(tcp_client, {"GET", "k"}) == "from-unix");
  CHECK(Do(unix_client, {"CONFIG", "GET", "unixsocket"}) ==
        "[unixsocket, " + server->unix_socket() + "]");
  RawConnection raw(server->unix_socket());
  raw.Send("PING\r\n");
  CHECK(raw.ReadReply() == "+PONG");
}

TEST_CASE("SIGTERM shuts the server down with exit code 0") {
  ServerFixture f;
  CHECK(Do(f.c, {"SET", "k", "v"}) == "+OK");
  RawConnection mid_request(f.server.port());
  mid_request.Send("*2\r\n$3\r\nGET\r\n");  // a half-sent request must not block shutdown
  std::optional<int> status = f.server.process().Signal(SIGTERM, milliseconds(5000));
  REQUIRE(status.has_value());
  CHECK(WIFEXITED(*status));
  CHECK(ExitCodeOf(*status) == 0);
}

TEST_CASE("SIGINT also shuts the server down with exit code 0") {
  ServerProcess server;
  std::optional<int> status = server.process().Signal(SIGINT, milliseconds(5000));
  REQUIRE(status.has_value());
  CHECK(ExitCodeOf(*status) == 0);
}

TEST_CASE("a bad option value exits with code 1 and names the option") {
  const std::string bin = RequiredEnv("FLIGHTCACHE_BIN");
  for (const std::vector<std::string>& args : {std::vector<std::string>{"--maxclients", "abc"},
                                               {"--port", "99999"},
                                               {"--timeout", "-5"},
                                               {"--proto-max-bulk-len", "lots"},
                                               {"--loglevel", "loud"}}) {
    CAPTURE(args[0]);
    RunResult r = RunToExit(bin, args);
    CHECK(r.exit_code == 1);
    CHECK(r.output.find(args[0].substr(2)) != std::string::npos);
  }
  RunResult unknown = RunToExit(bin, {"--no-such-flag", "1"});
  CHECK(unknown.exit_code == 1);
  CHECK(unknown.output.find("no-such-flag") != std::string::npos);
}

TEST_CASE("a port in use is a start-up error with exit code 1") {
  ServerProcess first;
  RunResult r = RunToExit(RequiredEnv("FLIGHTCACHE_BIN"),
                          {"--port", std::to_string(first.port()), "--bind", "127.0.0.1"});
  CHECK(r.exit_code == 1);
}

TEST_CASE("the config file given first is read and flags override it") {
  TempDir dir;
  std::string path = dir.WriteFile("flightcache.conf",
                                   "# a redis.conf-style file\n"
                                   "maxclients 123\n"
                                   "timeout 77\n"
                                   "requirepass \"from file\"\n"
                                   "hz 15\n");
  ServerFixture f({path, "--timeout", "88"});
  auto& c = f.c;
  CHECK(Do(c, {"AUTH", "from file"}) == "+OK");
  CHECK(Do(c, {"CONFIG", "GET", "maxclients"}) == "[maxclients, 123]");
  CHECK(Do(c, {"CONFIG", "GET", "timeout"}) == "[timeout, 88]");
  CHECK(Do(c, {"CONFIG", "GET", "hz"}) == "[hz, 15]");
}

TEST_CASE("a bad config file is a start-up error with exit code 1") {
  TempDir dir;
  std::string path = dir.WriteFile("bad.conf", "maxclients lots\n");
  RunResult r = RunToExit(RequiredEnv("FLIGHTCACHE_BIN"), {path, "--port", "0"});
  CHECK(r.exit_code == 1);
  CHECK(r.output.find("maxclients") != std::string::npos);
  RunResult unknown_directive =
      RunToExit(RequiredEnv("FLIGHTCACHE_BIN"), {dir.WriteFile("u.conf", "nosuch 1\n")});
  CHECK(unknown_directive.exit_code == 1);
  CHECK(unknown_directive.output.find("nosuch") != std::string::npos);
  RunResult missing = RunToExit(RequiredEnv("FLIGHTCACHE_BIN"), {dir.path() + "/absent.conf"});
  CHECK(missing.exit_code == 1);
}

}  // namespace
}  // namespace flightcache::integration
