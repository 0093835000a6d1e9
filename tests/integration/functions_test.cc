// functions_test.cc — Redis 7 functions against the real binary: FUNCTION LOAD/DELETE/FLUSH/
// LIST/STATS/DUMP/RESTORE/KILL, FCALL and FCALL_RO, redis.register_function in both forms with
// flags, and Redis 7.0's errors (checked side by side with Debian's redis-server 7.0.15).
#include <doctest/doctest.h>

#include <string>

#include "tests/integration/server_process.h"

namespace flightcache::integration {
namespace {

const char* const kLib =
    "#!lua name=mylib\n"
    "redis.register_function('echo', function(keys, args) return args[1] end)\n"
    "redis.register_function{function_name='getter', callback=function(keys, args)\n"
    "  return redis.call('get', keys[1]) end, flags={'no-writes'}, description='reads'}\n"
    "redis.register_function('setter', function(keys, args)\n"
    "  return redis.call('set', keys[1], args[1]) end)\n";

}  // namespace

TEST_CASE_FIXTURE(ServerFixture, "FUNCTION LOAD and FCALL run a library's functions") {
  CHECK(Do(c, {"FUNCTION", "LOAD", kLib}) == "mylib");
  CHECK(Do(c, {"FCALL", "echo", "0", "hello"}) == "hello");
  CHECK(Do(c, {"FCALL", "setter", "1", "k", "v"}) == "+OK");
  CHECK(Do(c, {"FCALL", "getter", "1", "k"}) == "v");
  CHECK(Do(c, {"FCALL_RO", "getter", "1", "k"}) == "v");
  CHECK(Do(c, {"FCALL_RO", "setter", "1", "k", "x"}) ==
        "-ERR Can not execute a script with write flag using *_ro command.");
  CHECK(Do(c, {"FCALL", "nope", "0"}) == "-ERR Function not found");
  CHECK(Do(c, {"FCALL", "echo", "2", "a"}) ==
        "-ERR Number of keys can't be greater than number of args");
  // Functions are seen from other connections (other workers with --threads).
  for (int i = 0; i < 3; ++i) {
    ContextPtr other = Connect(server.port());
    CHECK(Do(other, {"FCALL", "echo", "0", "again"}) == "again");
  }
  // An error inside a function names the function.
  CHECK(Do(c, {"FUNCTION", "LOAD",
               "#!lua name=errs\nredis.register_function('fails', function() error('bad') end)"}) ==
        "errs");
  CHECK(Do(c, {"FCALL", "fails", "0"}) ==
        "-ERR user_function:2: bad script: fails, on @user_function:2.");
}

TEST_CASE_FIXTURE(ServerFixture, "FUNCTION LOAD reports Redis's errors") {
  CHECK(Do(c, {"FUNCTION", "LOAD", "return 1"}) == "-ERR Missing library metadata");
  CHECK(Do(c, {"FUNCTION", "LOAD", "#!lua\nreturn 1"}) == "-ERR Library name was not given");
  CHECK(Do(c, {"FUNCTION", "LOAD", "#!luax name=a\nreturn 1"}) == "-ERR Engine 'luax' not found");
  CHECK(Do(c, {"FUNCTION", "LOAD", "#!lua name=a foo=bar\nreturn 1"}) ==
        "-ERR Invalid metadata value given: foo=bar");
  CHECK(Do(c, {"FUNCTION", "LOAD", "#!lua name=a-b\nreturn 1"}) ==
        "-ERR Library names can only contain letters, numbers, or underscores(_) and must be at "
        "least one character long");
  CHECK(Do(c, {"FUNCTION", "LOAD", "#!lua name=a\nreturn 1"}) == "-ERR No functions registered");
  CHECK(Do(c, {"FUNCTION", "LOAD", "#!lua name=a\nredis.register_function('f', 1)"}) ==
        "-ERR Error registering functions: ERR second argument to redis.register_function must "
        "be a function");
  CHECK(Do(c, {"FUNCTION", "LOAD", "#!lua name=a\nredis.register_function()"}) ==
        "-ERR Error registering functions: ERR wrong number of arguments to "
        "redis.register_function");
  CHECK(Do(c, {"FUNCTION", "LOAD",
               "#!lua name=a\nredis.register_function{function_name='g', callback=function() "
               "end, flags={'bogus'}}"}) ==
        "-ERR Error registering functions: ERR unknown flag given");
  CHECK(Do(c, {"FUNCTION", "LOAD",
               "#!lua name=a\nredis.register_function{callback=function() end}"}) ==
        "-ERR Error registering functions: ERR redis.register_function must get a function name "
        "argument");
  CHECK(Do(c, {"FUNCTION", "LOAD", "#!lua name=a\nredis.call('ping')"}) ==
        "-ERR Error registering functions: ERR user_function:2: Script attempted to access "
        "nonexistent global variable 'call'");
  CHECK(Do(c, {"FUNCTION", "LOAD", "#!lua name=a\nreturn 'x"})
            .rfind("-ERR Error compiling function: user_function:2:", 0) == 0);
  // Names collide: a library twice (without REPLACE), a function in two libraries.
  CHECK(Do(c, {"FUNCTION", "LOAD", kLib}) == "mylib");
  CHECK(Do(c, {"FUNCTION", "LOAD", kLib}) == "-ERR Library 'mylib' already exists");
  CHECK(Do(c, {"FUNCTION", "LOAD",
               "#!lua name=other\nredis.register_function('echo', "
               "function() return 1 end)"}) == "-ERR Function echo already exists");
  // REPLACE swaps the library's code and functions.
  CHECK(Do(c, {"FUNCTION", "LOAD", "REPLACE",
               "#!lua name=mylib\nredis.register_function('echo', function() return 'new' end)"}) ==
        "mylib");
  CHECK(Do(c, {"FCALL", "echo", "0", "x"}) == "new");
  CHECK(Do(c, {"FCALL", "getter", "1", "k"}) == "-ERR Function not found");
}

TEST_CASE_FIXTURE(ServerFixture, "FUNCTION LIST STATS DELETE and FLUSH") {
  CHECK(Do(c, {"FUNCTION", "LOAD", kLib}) == "mylib");
  CHECK(Do(c, {"FUNCTION", "LIST", "LIBRARYNAME", "my*"}) ==
        "[[library_name, mylib, engine, LUA, functions, "
        "[[name, echo, description, (nil), flags, []], "
        "[name, getter, description, reads, flags, [no-writes]], "
        "[name, setter, description, (nil), flags, []]]]]");
  CHECK(Do(c, {"FUNCTION", "LIST", "LIBRARYNAME", "nomatch*"}) == "[]");
  CHECK(Do(c, {"FUNCTION", "LIST", "WITHCODE"}).find(kLib) != std::string::npos);
  CHECK(Do(c, {"FUNCTION", "LIST", "bogus"}) == "-ERR Unknown argument bogus");
  CHECK(Do(c, {"FUNCTION", "LIST", "LIBRARYNAME"}) == "-ERR library name argument was not given");
  CHECK(Do(c, {"FUNCTION", "STATS"}) ==
        "[running_script, (nil), engines, [LUA, [libraries_count, :1, functions_count, :3]]]");
  CHECK(Do(c, {"FUNCTION", "DELETE", "nope"}) == "-ERR Library not found");
  CHECK(Do(c, {"FUNCTION", "DELETE", "mylib"}) == "+OK");
  CHECK(Do(c, {"FCALL", "echo", "0", "x"}) == "-ERR Function not found");
  CHECK(Do(c, {"FUNCTION", "LOAD", kLib}) == "mylib");
  CHECK(Do(c, {"FUNCTION", "FLUSH", "bogus"}) ==
        "-ERR FUNCTION FLUSH only supports SYNC|ASYNC option");
  CHECK(Do(c, {"FUNCTION", "FLUSH", "SYNC"}) == "+OK");
  CHECK(Do(c, {"FUNCTION", "LIST"}) == "[]");
  CHECK(Do(c, {"FUNCTION", "KILL"}) == "-NOTBUSY No scripts in execution right now.");
  CHECK(Do(c, {"FUNCTION", "HELP"}).rfind("[+FUNCTION <subcommand>", 0) == 0);
}

TEST_CASE_FIXTURE(ServerFixture, "FUNCTION DUMP and RESTORE with FLUSH APPEND and REPLACE") {
  CHECK(Do(c, {"FUNCTION", "LOAD", kLib}) == "mylib");
  ReplyPtr dump = Command(c.get(), {"FUNCTION", "DUMP"});
  REQUIRE(dump);
  REQUIRE(dump->type == REDIS_REPLY_STRING);
  const std::string payload(dump->str, dump->len);
  CHECK(Do(c, {"FUNCTION", "RESTORE", payload}) == "-ERR Library mylib already exists");
  CHECK(Do(c, {"FUNCTION", "RESTORE", payload, "REPLACE"}) == "+OK");
  CHECK(Do(c, {"FUNCTION", "FLUSH"}) == "+OK");
  CHECK(Do(c, {"FUNCTION", "LOAD",
               "#!lua name=extra\nredis.register_function('x', "
               "function() return 'x' end)"}) == "extra");
  CHECK(Do(c, {"FUNCTION", "RESTORE", payload}) == "+OK");  // APPEND: both libraries
  CHECK(Do(c, {"FCALL", "echo", "0", "back"}) == "back");
  CHECK(Do(c, {"FCALL", "x", "0"}) == "x");
  CHECK(Do(c, {"FUNCTION", "RESTORE", payload, "FLUSH"}) == "+OK");
  CHECK(Do(c, {"FCALL", "x", "0"}) == "-ERR Function not found");
  CHECK(Do(c, {"FCALL", "echo", "0", "kept"}) == "kept");
  CHECK(Do(c, {"FUNCTION", "RESTORE", payload, "BOGUS"}) ==
        "-ERR Wrong restore policy given, value should be either FLUSH, APPEND or REPLACE.");
  std::string damaged = payload;
  damaged[damaged.size() / 2] ^= 1;
  CHECK(Do(c, {"FUNCTION", "RESTORE", damaged}) ==
        "-ERR DUMP payload version or checksum are wrong");
  CHECK(Do(c, {"FUNCTION", "RESTORE", "garbage"}) ==
        "-ERR DUMP payload version or checksum are wrong");
}

TEST_CASE("a busy function makes others get BUSY until FUNCTION KILL") {
  ServerFixture f;
  CHECK(Do(f.c, {"CONFIG", "SET", "busy-reply-threshold", "100"}) == "+OK");
  CHECK(Do(f.c, {"FUNCTION", "LOAD",
                 "#!lua name=spin\nredis.register_function{function_name='spin', "
                 "callback=function() while true do end end, flags={'no-writes'}}"}) == "spin");
  ContextPtr runner = Connect(f.server.port());
  Append(runner.get(), {"FCALL", "spin", "0"});
  int flushed = 0;
  CHECK(redisBufferWrite(runner.get(), &flushed) == REDIS_OK);
  const std::string kBusy =
      "-BUSY Redis is busy running a script. You can only call FUNCTION KILL or SHUTDOWN NOSAVE.";
  CHECK(WaitUntil([&] { return Do(f.c, {"PING"}) == kBusy; }));
  CHECK(Do(f.c, {"SCRIPT", "KILL"}) == "-NOTBUSY No scripts in execution right now.");
  const std::string stats = Do(f.c, {"FUNCTION", "STATS"});
  CHECK(stats.rfind("[running_script, [name, spin, command, [FCALL, spin, 0], duration_ms, :", 0) ==
        0);
  CHECK(Do(f.c, {"FUNCTION", "KILL"}) == "+OK");
  ReplyPtr killed = NextReply(runner.get());
  REQUIRE(killed);
  CHECK(
      Show(killed.get()).rfind("-ERR Script killed by user with SCRIPT KILL... script: spin", 0) ==
      0);
  CHECK(Do(f.c, {"PING"}) == "+PONG");
}

}  // namespace flightcache::integration
