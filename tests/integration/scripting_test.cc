// scripting_test.cc — EVAL, EVALSHA, EVAL_RO, SCRIPT and the redis.* API against the real
// binary, with Redis 7.0's replies and errors (checked side by side with Debian's
// redis-server 7.0.15); the client-library sequences (redis-py's Lock, ioredis defineCommand);
// atomicity and undeclared keys with --threads; BUSY, SCRIPT KILL and UNKILLABLE.
#include <doctest/doctest.h>

#include <atomic>
#include <string>
#include <thread>
#include <vector>

#include "tests/integration/server_process.h"

namespace flightcache::integration {
namespace {

// The release script of redis-py 4.3's Lock (redis/lock.py, LUA_RELEASE_SCRIPT), verbatim.
const char* const kRedisPyRelease = R"(
        local token = redis.call('get', KEYS[1])
        if not token or token ~= ARGV[1] then
            return 0
        end
        redis.call('del', KEYS[1])
        return 1
    )";

// The script of a typical ioredis defineCommand rate limiter.
const char* const kRateLimit = R"(
local current = redis.call('incr', KEYS[1])
if current == 1 then redis.call('pexpire', KEYS[1], ARGV[1]) end
return current)";

// EVALSHA, and on NOSCRIPT the EVAL that ioredis's defineCommand falls back to.
std::string EvalshaOrEval(redisContext* c, const std::string& script, const std::string& sha,
                          const std::vector<std::string>& rest) {
  std::vector<std::string> args = {"EVALSHA", sha};
  args.insert(args.end(), rest.begin(), rest.end());
  std::string reply = Do(c, args);
  if (reply.rfind("-NOSCRIPT", 0) != 0) return reply;
  args[0] = "EVAL";
  args[1] = script;
  return Do(c, args);
}

}  // namespace

TEST_CASE_FIXTURE(ServerFixture, "EVAL converts Lua values to replies as Redis does") {
  CHECK(Do(c, {"EVAL", "return 1", "0"}) == ":1");
  CHECK(Do(c, {"EVAL", "return 3.99", "0"}) == ":3");  // numbers are truncated
  CHECK(Do(c, {"EVAL", "return -3.7", "0"}) == ":-3");
  CHECK(Do(c, {"EVAL", "return 'text'", "0"}) == "text");
  CHECK(Do(c, {"EVAL", "return true", "0"}) == ":1");
  CHECK(Do(c, {"EVAL", "return false", "0"}) == "(nil)");
  CHECK(Do(c, {"EVAL", "return nil", "0"}) == "(nil)");
  // A table is an array up to its first nil.
  CHECK(Do(c, {"EVAL", "return {1, 'a', {2, 'b'}, false, nil, 7}", "0"}) ==
        "[:1, a, [:2, b], (nil)]");
  CHECK(Do(c, {"EVAL", "return {ok='FINE'}", "0"}) == "+FINE");
  CHECK(Do(c, {"EVAL", "return {err='My Error'}", "0"}) == "-My Error");
  CHECK(Do(c, {"EVAL", "return redis.status_reply('DONE')", "0"}) == "+DONE");
  CHECK(Do(c, {"EVAL", "return redis.error_reply('oops')", "0"}) == "-ERR oops");
  CHECK(Do(c, {"EVAL", "return redis.error_reply('MY error')", "0"}) == "-MY error");
  CHECK(Do(c, {"EVAL", "return {1, {ok='x'}, {err='bad'}}", "0"}) == "[:1, +x, -bad]");
  CHECK(Do(c, {"EVAL", "return redis.sha1hex('')", "0"}) ==
        "da39a3ee5e6b4b0d3255bfef95601890afd80709");
  CHECK(Do(c, {"EVAL", "return {KEYS[1], KEYS[2], ARGV[1], #ARGV}", "2", "k1", "k2", "a1", "a2"}) ==
        "[k1, k2, a1, :2]");
}

TEST_CASE_FIXTURE(ServerFixture, "redis.call converts replies to Lua values as Redis does") {
  CHECK(Do(c, {"RPUSH", "list", "a", "b"}) == ":2");
  CHECK(Do(c, {"SET", "s", "text"}) == "+OK");
  // integer -> number, bulk -> string, nil -> false, array -> table, status -> {ok=}.
  CHECK(Do(c, {"EVAL", "return type(redis.call('incr', KEYS[1]))", "1", "n"}) == "number");
  CHECK(Do(c, {"EVAL", "return type(redis.call('get', KEYS[1]))", "1", "s"}) == "string");
  CHECK(Do(c, {"EVAL", "return tostring(redis.call('get', KEYS[1]))", "1", "missing"}) == "false");
  CHECK(Do(c, {"EVAL", "local t = redis.call('lrange', KEYS[1], 0, -1) return #t", "1", "list"}) ==
        ":2");
  CHECK(Do(c, {"EVAL", "return redis.call('set', KEYS[1], 1)['ok']", "1", "x"}) == "OK");
  CHECK(Do(c, {"EVAL", "return redis.call('set', KEYS[1], 1)", "1", "x"}) == "+OK");
  // Numbers as arguments are written as Redis writes them.
  CHECK(Do(c, {"EVAL", "redis.call('set', KEYS[1], 1.5) return redis.call('get', KEYS[1])", "1",
               "f"}) == "1.5");
  // An error reply: redis.pcall returns it as {err=...}; redis.call raises it.
  CHECK(Do(c, {"EVAL", "return redis.pcall('incr', KEYS[1])['err']", "1", "s"}) ==
        "ERR value is not an integer or out of range");
  CHECK(Do(c, {"EVAL", "return redis.pcall('incr', KEYS[1])", "1", "s"}) ==
        "-ERR value is not an integer or out of range");
  const std::string raised = Do(c, {"EVAL", "return redis.call('incr', KEYS[1])", "1", "s"});
  CHECK(raised.rfind("-ERR value is not an integer or out of range script: ", 0) == 0);
  CHECK(raised.find(", on @user_script:1.") != std::string::npos);
  // RESP3 replies after redis.setresp(3).
  CHECK(Do(c, {"HSET", "h", "f", "v"}) == ":1");
  CHECK(Do(c, {"EVAL", "redis.setresp(3) return redis.call('hgetall', KEYS[1])['map']['f']", "1",
               "h"}) == "v");
  CHECK(Do(c, {"EVAL", "redis.setresp(3) return tostring(redis.call('get', KEYS[1]))", "1",
               "missing"}) == "nil");
  CHECK(Do(c, {"EVAL", "return cjson.encode({1, 2})", "0"}) == "[1,2]");
  CHECK(Do(c, {"EVAL", "return cjson.decode('{\"a\":5}').a", "0"}) == ":5");
}

TEST_CASE_FIXTURE(ServerFixture, "script errors are formatted as Redis 7.0 formats them") {
  const std::string sha = Do(c, {"SCRIPT", "LOAD", "error('boom')"});
  CHECK(Do(c, {"EVAL", "error('boom')", "0"}) ==
        "-ERR user_script:1: boom script: " + sha + ", on @user_script:1.");
  CHECK(Do(c, {"EVAL", "return redis.call('nosuch')", "0"})
            .rfind("-ERR Unknown Redis command called from script script: ", 0) == 0);
  CHECK(Do(c, {"EVAL", "return redis.call('get')", "0"})
            .rfind("-ERR Wrong number of args calling Redis command from script script: ", 0) == 0);
  CHECK(Do(c, {"EVAL", "return redis.call('multi')", "0"})
            .rfind("-ERR This Redis command is not allowed from script script: ", 0) == 0);
  CHECK(Do(c, {"EVAL", "return redis.call('eval', 'return 1', 0)", "0"})
            .rfind("-ERR This Redis command is not allowed from script script: ", 0) == 0);
  CHECK(Do(c, {"EVAL", "return redis.call()", "0"})
            .rfind("-ERR Please specify at least one argument for this redis lib call script: ",
                   0) == 0);
  CHECK(Do(c, {"EVAL", "return redis.call({})", "0"})
            .rfind("-ERR Lua redis lib command arguments must be strings or integers script: ",
                   0) == 0);
  CHECK(
      Do(c, {"EVAL", "return 'x", "0"}) ==
      "-ERR Error compiling script (new function): user_script:1: unfinished string near '<eof>'");
  CHECK(Do(c, {"EVAL", "return y", "0"})
            .rfind("-ERR user_script:1: Script attempted to access nonexistent global variable 'y' "
                   "script: ",
                   0) == 0);
  CHECK(Do(c, {"EVAL", "x = 5", "0"})
            .rfind("-ERR user_script:1: Attempt to modify a readonly table script: ", 0) == 0);
  CHECK(Do(c, {"EVAL", "return 1", "2", "a"}) ==
        "-ERR Number of keys can't be greater than number of args");
  CHECK(Do(c, {"EVAL", "return 1", "-1"}) == "-ERR Number of keys can't be negative");
  CHECK(Do(c, {"EVAL", "return 1", "x"}) == "-ERR value is not an integer or out of range");
  CHECK(Do(c, {"EVAL", "return 1"}) == "-ERR wrong number of arguments for 'eval' command");
  // The server stays up and other data is untouched.
  CHECK(Do(c, {"PING"}) == "+PONG");
}

TEST_CASE_FIXTURE(ServerFixture, "SCRIPT LOAD EXISTS FLUSH and EVALSHA") {
  const std::string sha = Do(c, {"SCRIPT", "LOAD", "return ARGV[1]"});
  CHECK(sha.size() == 40);
  CHECK(Do(c, {"EVALSHA", sha, "0", "hi"}) == "hi");
  std::string upper = sha;
  for (char& ch : upper) ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
  CHECK(Do(c, {"EVALSHA", upper, "0", "up"}) == "up");
  CHECK(Do(c, {"SCRIPT", "EXISTS", sha, "ffffffffffffffffffffffffffffffffffffffff"}) == "[:1, :0]");
  // EVAL caches its script too.
  CHECK(Do(c, {"EVAL", "return 42", "0"}) == ":42");
  const std::string sha42 = Do(c, {"SCRIPT", "LOAD", "return 42"});
  CHECK(Do(c, {"EVALSHA", sha42, "0"}) == ":42");
  CHECK(Do(c, {"SCRIPT", "FLUSH", "bogus"}) == "-ERR SCRIPT FLUSH only support SYNC|ASYNC option");
  CHECK(Do(c, {"SCRIPT", "FLUSH"}) == "+OK");
  CHECK(Do(c, {"SCRIPT", "EXISTS", sha}) == "[:0]");
  CHECK(Do(c, {"EVALSHA", sha, "0"}) == "-NOSCRIPT No matching script. Please use EVAL.");
  CHECK(Do(c, {"EVALSHA", "short", "0"}) == "-NOSCRIPT No matching script. Please use EVAL.");
  CHECK(Do(c, {"SCRIPT", "KILL"}) == "-NOTBUSY No scripts in execution right now.");
  CHECK(Do(c, {"SCRIPT", "LOAD", "return 'x"}).rfind("-ERR Error compiling script", 0) == 0);
  CHECK(Do(c, {"SCRIPT", "EXISTS"}) ==
        "-ERR wrong number of arguments for 'script|exists' command");
  CHECK(Do(c, {"SCRIPT", "FOO"}) == "-ERR unknown subcommand 'FOO'. Try SCRIPT HELP.");
  CHECK(Do(c, {"SCRIPT", "HELP"}).rfind("[+SCRIPT <subcommand>", 0) == 0);
  // Another connection (another worker, with --threads) sees the cache.
  const std::string again = Do(c, {"SCRIPT", "LOAD", "return 'shared'"});
  for (int i = 0; i < 4; ++i) {
    ContextPtr other = Connect(server.port());
    CHECK(Do(other, {"EVALSHA", again, "0"}) == "shared");
  }
}

TEST_CASE_FIXTURE(ServerFixture, "EVAL_RO and no-writes scripts refuse writes") {
  CHECK(Do(c, {"SET", "k", "v"}) == "+OK");
  CHECK(Do(c, {"EVAL_RO", "return redis.call('get', KEYS[1])", "1", "k"}) == "v");
  CHECK(Do(c, {"EVAL_RO", "return redis.call('set', KEYS[1], 'x')", "1", "k"})
            .rfind("-ERR Write commands are not allowed from read-only scripts. script: ", 0) == 0);
  CHECK(Do(c, {"EVAL", "#!lua flags=no-writes\nreturn redis.call('del', KEYS[1])", "1", "k"})
            .rfind("-ERR Write commands are not allowed from read-only scripts.", 0) == 0);
  CHECK(Do(c, {"EVAL_RO", "#!lua\nreturn 1", "0"}) ==
        "-ERR Can not execute a script with write flag using *_ro command.");
  CHECK(Do(c, {"EVAL", "#!lua flags=bogus\nreturn 1", "0"}) ==
        "-ERR Unexpected flag in script shebang: bogus");
  CHECK(Do(c, {"EVAL", "#!python\nreturn 1", "0"}) ==
        "-ERR Unexpected engine in script shebang: #!python");
  const std::string sha = Do(c, {"SCRIPT", "LOAD", "return redis.call('get', KEYS[1])"});
  CHECK(Do(c, {"EVALSHA_RO", sha, "1", "k"}) == "v");
  CHECK(Do(c, {"GET", "k"}) == "v");
}

TEST_CASE_FIXTURE(ServerFixture, "redis-py's Lock: SET NX PX then EVALSHA of its release script") {
  const std::string sha = Do(c, {"SCRIPT", "LOAD", kRedisPyRelease});
  CHECK(Do(c, {"SET", "lock:job", "token-1", "NX", "PX", "10000"}) == "+OK");
  CHECK(Do(c, {"SET", "lock:job", "token-2", "NX", "PX", "10000"}) == "(nil)");  // held
  // A release with the wrong token leaves the lock; the owner's releases it.
  CHECK(Do(c, {"EVALSHA", sha, "1", "lock:job", "token-2"}) == ":0");
  CHECK(Do(c, {"GET", "lock:job"}) == "token-1");
  CHECK(Do(c, {"EVALSHA", sha, "1", "lock:job", "token-1"}) == ":1");
  CHECK(Do(c, {"EXISTS", "lock:job"}) == ":0");
  CHECK(Do(c, {"SET", "lock:job", "token-2", "NX", "PX", "10000"}) == "+OK");
}

TEST_CASE_FIXTURE(ServerFixture, "ioredis defineCommand: EVALSHA falls back to EVAL on NOSCRIPT") {
  ContextPtr a = Connect(server.port());
  const std::string sha = Do(c, {"EVAL", "return redis.sha1hex(ARGV[1])", "0", kRateLimit});
  CHECK(sha.size() == 40);
  CHECK(Do(c, {"SCRIPT", "EXISTS", sha}) == "[:0]");  // nothing cached yet
  CHECK(EvalshaOrEval(c.get(), kRateLimit, sha, {"1", "rate:ip", "60000"}) == ":1");
  CHECK(Do(c, {"SCRIPT", "EXISTS", sha}) == "[:1]");  // EVAL cached it
  CHECK(Do(a, {"EVALSHA", sha, "1", "rate:ip", "60000"}) == ":2");
  CHECK(EvalshaOrEval(a.get(), kRateLimit, sha, {"1", "rate:ip", "60000"}) == ":3");
  const long long pttl = std::stoll(Do(c, {"PTTL", "rate:ip"}).substr(1));
  CHECK(pttl > 0);
  CHECK(pttl <= 60000);
}

TEST_CASE_FIXTURE(ServerFixture, "EVAL inside MULTI runs when EXEC does") {
  CHECK(Do(c, {"MULTI"}) == "+OK");
  CHECK(Do(c, {"EVAL", "return redis.call('incr', KEYS[1])", "1", "m"}) == "+QUEUED");
  CHECK(Do(c, {"EVAL", "return redis.call('incr', KEYS[1])", "1", "m"}) == "+QUEUED");
  CHECK(Do(c, {"EXEC"}) == "[:1, :2]");
  CHECK(Do(c, {"COMMAND", "INFO", "eval"}).find("movablekeys") != std::string::npos);
}

TEST_CASE("a script reads through nothing: a miss answers from the cache only") {
  const int origin_port = FreeTcpPort();
  ChildProcess origin(SpawnOptions{
      RequiredEnv("TEST_ORIGIN_BIN"), {"--port", std::to_string(origin_port)}, {}, origin_port});
  ServerFixture f({"--origin", "redis://127.0.0.1:" + std::to_string(origin_port)});
  CHECK(Do(f.c, {"EVAL", "return redis.call('get', KEYS[1])", "1", "cold"}) == "(nil)");
  CHECK(InfoNumber(f.c, "origin_fetches_started") == 0);
  CHECK(Do(f.c, {"GET", "cold"}) == "value:cold");  // outside a script it reads through
  CHECK(Do(f.c, {"EVAL", "return redis.call('get', KEYS[1])", "1", "cold"}) == "value:cold");
}

TEST_CASE("with --threads a script touching an undeclared key gets an error naming it") {
  ServerProcess server({"--threads", "2"});
  ContextPtr c = Connect(server.port());
  CHECK(Do(c, {"EVAL", "return redis.call('set', KEYS[1], 'v')", "1", "declared"}) == "+OK");
  const std::string reply = Do(c, {"EVAL", "return redis.call('set', 'other', 'v')", "0"});
  CHECK(reply.rfind("-ERR Script attempted to access key 'other' that was not declared in KEYS",
                    0) == 0);
  CHECK(Do(c, {"EXISTS", "other"}) == ":0");
  CHECK(Do(c, {"EVAL", "return redis.call('keys', '*')", "0"}).find("touches every key") !=
        std::string::npos);
  CHECK(Do(c, {"EVAL", "return redis.call('ping')", "0"}) == "+PONG");  // no keys: fine
}

TEST_CASE("with --threads a script's read-modify-write is atomic against other scripts") {
  // The acceptor hands consecutive connections to different workers.
  ServerProcess server({"--threads", "2", "--accept-mode", "acceptor"});
  const char* kIncrement =
      "local v = tonumber(redis.call('get', KEYS[1]) or '0') "
      "for i = 1, 20000 do end "  // widens the window a torn read-modify-write would need
      "redis.call('set', KEYS[1], tostring(v + 1)) return v + 1";
  constexpr int kClients = 4;
  constexpr int kRounds = 300;
  std::vector<std::thread> clients;
  std::atomic<int> failures{0};
  for (int i = 0; i < kClients; ++i) {
    clients.emplace_back([&] {
      ContextPtr c = Connect(server.port());
      for (int r = 0; r < kRounds; ++r) {
        if (Do(c, {"EVAL", kIncrement, "1", "counter"})[0] != ':') ++failures;
      }
    });
  }
  for (std::thread& t : clients) t.join();
  ContextPtr c = Connect(server.port());
  CHECK(failures.load() == 0);
  CHECK(Do(c, {"GET", "counter"}) == std::to_string(kClients * kRounds));
}

TEST_CASE("a script past busy-reply-threshold makes others get BUSY until SCRIPT KILL") {
  ServerFixture f;
  CHECK(Do(f.c, {"CONFIG", "SET", "busy-reply-threshold", "100"}) == "+OK");
  CHECK(Do(f.c, {"CONFIG", "GET", "lua-time-limit"}) == "[lua-time-limit, 100]");
  ContextPtr runner = Connect(f.server.port());
  Append(runner.get(), {"EVAL", "while true do end", "0"});
  int flushed = 0;
  CHECK(redisBufferWrite(runner.get(), &flushed) == REDIS_OK);
  const std::string kBusy =
      "-BUSY Redis is busy running a script. You can only call SCRIPT KILL or SHUTDOWN NOSAVE.";
  // The script cannot end by itself: wait for BUSY, from an open and from a new connection.
  CHECK(WaitUntil([&] { return Do(f.c, {"PING"}) == kBusy; }));
  ContextPtr late = Connect(f.server.port());
  CHECK(Do(late, {"GET", "k"}) == kBusy);
  CHECK(Do(late, {"SCRIPT", "FLUSH"}) == kBusy);
  CHECK(Do(late, {"FUNCTION", "KILL"}) == "-NOTBUSY No scripts in execution right now.");
  CHECK(Do(late, {"SCRIPT", "KILL"}) == "+OK");
  ReplyPtr killed = NextReply(runner.get());
  REQUIRE(killed);
  const std::string text = Show(killed.get());
  CHECK(text.rfind("-ERR Script killed by user with SCRIPT KILL... script: ", 0) == 0);
  CHECK(Do(f.c, {"PING"}) == "+PONG");
  CHECK(Do(runner, {"PING"}) == "+PONG");
  CHECK(Do(f.c, {"SCRIPT", "KILL"}) == "-NOTBUSY No scripts in execution right now.");
}

TEST_CASE("SCRIPT KILL answers UNKILLABLE once the busy script has written") {
  ServerFixture f;
  CHECK(Do(f.c, {"CONFIG", "SET", "lua-time-limit", "100"}) == "+OK");
  ContextPtr runner = Connect(f.server.port());
  // Writes, then runs for 3 s of server time: far past the threshold on any machine.
  Append(runner.get(),
         {"EVAL",
          "redis.call('set', KEYS[1], 'written') local t = redis.call('time') "
          "local stop = t[1] + 3 repeat t = redis.call('time') until tonumber(t[1]) >= stop "
          "return 'done'",
          "1", "w"});
  int flushed = 0;
  CHECK(redisBufferWrite(runner.get(), &flushed) == REDIS_OK);
  CHECK(WaitUntil([&] { return Do(f.c, {"PING"}).rfind("-BUSY", 0) == 0; }));
  CHECK(Do(f.c, {"SCRIPT", "KILL"})
            .rfind("-UNKILLABLE Sorry the script already executed write "
                   "commands against the dataset.",
                   0) == 0);
  ReplyPtr done = NextReply(runner.get());
  REQUIRE(done);
  CHECK(Show(done.get()) == "done");
  CHECK(Do(f.c, {"GET", "w"}) == "written");
}

}  // namespace flightcache::integration
