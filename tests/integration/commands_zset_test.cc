// commands_zset_test.cc — the sorted-set commands on members (ZADD with its options, ZINCRBY,
// ZREM, ZSCORE, ZCARD, ZRANK/ZREVRANK, ZRANGE by index, ZPOPMIN/ZPOPMAX) against the real binary,
// the listpack -> skiplist conversion, RESP3 doubles, WRONGTYPE and argument errors. Replies are
// redis-server 7.0's. Ranges and the algebra: commands_zset_range_test.cc.
#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "tests/integration/server_process.h"

namespace flightcache::integration {

namespace {
const char* const kWrongType = "-WRONGTYPE Operation against a key holding the wrong kind of value";
}  // namespace

TEST_CASE_FIXTURE(ServerFixture, "ZADD adds and updates under NX XX GT LT CH and INCR") {
  CHECK(Do(c, {"ZADD", "z", "1", "a", "2", "b", "3", "c"}) == ":3");
  CHECK(Do(c, {"ZADD", "z", "1.1", "d"}) == ":1");
  CHECK(Do(c, {"ZSCORE", "z", "d"}) == "1.1000000000000001");  // Redis 7.0 prints %.17g
  CHECK(Do(c, {"ZADD", "z", "NX", "5", "a", "4", "e"}) == ":1");
  CHECK(Do(c, {"ZSCORE", "z", "a"}) == "1");
  CHECK(Do(c, {"ZADD", "z", "XX", "5", "a", "6", "f"}) == ":0");
  CHECK(Do(c, {"ZSCORE", "z", "f"}) == "(nil)");
  CHECK(Do(c, {"ZADD", "z", "XX", "CH", "7", "a"}) == ":1");
  CHECK(Do(c, {"ZADD", "z", "GT", "CH", "1", "a", "8", "b"}) == ":1");
  CHECK(Do(c, {"ZADD", "z", "LT", "CH", "1", "a", "8", "b"}) == ":1");
  CHECK(Do(c, {"ZADD", "z", "INCR", "2", "a"}) == "3");
  CHECK(Do(c, {"ZADD", "z", "NX", "INCR", "2", "a"}) == "(nil)");
  CHECK(Do(c, {"ZADD", "z", "NX", "XX", "1", "a"}) ==
        "-ERR XX and NX options at the same time are not compatible");
  CHECK(Do(c, {"ZADD", "z", "GT", "LT", "1", "a"}) ==
        "-ERR GT, LT, and/or NX options at the same time are not compatible");
  CHECK(Do(c, {"ZADD", "z", "INCR", "2", "a", "3", "b"}) ==
        "-ERR INCR option supports a single increment-element pair");
  CHECK(Do(c, {"ZADD", "z", "1", "a", "2"}) == "-ERR syntax error");
  CHECK(Do(c, {"ZADD", "z", "x", "a"}) == "-ERR value is not a valid float");
  CHECK(Do(c, {"ZADD", "z"}) == "-ERR wrong number of arguments for 'zadd' command");
  CHECK(Do(c, {"ZADD", "inf", "inf", "i", "-inf", "j"}) == ":2");
  CHECK(Do(c, {"ZSCORE", "inf", "i"}) == "inf");
  CHECK(Do(c, {"ZADD", "inf", "INCR", "+inf", "j"}) ==
        "-ERR resulting score is not a number (NaN)");
  CHECK(Do(c, {"ZADD", "nokey", "XX", "1", "a"}) == ":0");
  CHECK(Do(c, {"EXISTS", "nokey"}) == ":0");
  CHECK(Do(c, {"TYPE", "z"}) == "+zset");
}

TEST_CASE_FIXTURE(ServerFixture, "ZRANGE ZRANK ZCARD ZINCRBY and ZREM read and change by rank") {
  CHECK(Do(c, {"ZADD", "z", "1", "a", "2", "b", "3", "c"}) == ":3");
  CHECK(Do(c, {"ZRANGE", "z", "0", "-1"}) == "[a, b, c]");
  CHECK(Do(c, {"ZRANGE", "z", "0", "-1", "WITHSCORES"}) == "[a, 1, b, 2, c, 3]");
  CHECK(Do(c, {"ZRANGE", "z", "0", "1", "REV", "WITHSCORES"}) == "[c, 3, b, 2]");
  CHECK(Do(c, {"ZRANGE", "z", "-9223372036854775808", "9223372036854775807"}) == "[a, b, c]");
  CHECK(Do(c, {"ZRANGE", "z", "5", "1"}) == "[]");
  CHECK(Do(c, {"ZRANGE", "z", "x", "1"}) == "-ERR value is not an integer or out of range");
  CHECK(Do(c, {"ZRANGE", "z", "0", "1", "FOO"}) == "-ERR syntax error");
  CHECK(Do(c, {"ZRANGE", "nokey", "0", "-1"}) == "[]");
  CHECK(Do(c, {"ZRANK", "z", "b"}) == ":1");
  CHECK(Do(c, {"ZREVRANK", "z", "b"}) == ":1");
  CHECK(Do(c, {"ZREVRANK", "z", "a"}) == ":2");
  CHECK(Do(c, {"ZRANK", "z", "nosuch"}) == "(nil)");
  CHECK(Do(c, {"ZCARD", "z"}) == ":3");
  CHECK(Do(c, {"ZCARD", "nokey"}) == ":0");
  CHECK(Do(c, {"ZINCRBY", "z", "10", "a"}) == "11");
  CHECK(Do(c, {"ZRANGE", "z", "0", "-1"}) == "[b, c, a]");
  CHECK(Do(c, {"ZINCRBY", "z", "x", "a"}) == "-ERR value is not a valid float");
  CHECK(Do(c, {"ZREM", "z", "a", "nosuch"}) == ":1");
  CHECK(Do(c, {"ZREM", "z", "b", "c"}) == ":2");
  CHECK(Do(c, {"EXISTS", "z"}) == ":0");
}

TEST_CASE_FIXTURE(ServerFixture, "ZPOPMIN and ZPOPMAX pop the ends, one or a count") {
  CHECK(Do(c, {"ZADD", "z", "1", "a", "2", "b", "3", "c", "4", "d"}) == ":4");
  CHECK(Do(c, {"ZPOPMIN", "z"}) == "[a, 1]");
  CHECK(Do(c, {"ZPOPMAX", "z"}) == "[d, 4]");
  CHECK(Do(c, {"ZPOPMIN", "z", "0"}) == "[]");
  CHECK(Do(c, {"ZPOPMIN", "z", "-1"}) == "-ERR value is out of range, must be positive");
  CHECK(Do(c, {"ZPOPMIN", "z", "1", "2"}) == "-ERR syntax error");
  CHECK(Do(c, {"ZPOPMIN", "nokey"}) == "[]");
  CHECK(Do(c, {"ZPOPMAX", "z", "100"}) == "[c, 3, b, 2]");
  CHECK(Do(c, {"EXISTS", "z"}) == ":0");
}

TEST_CASE_FIXTURE(ServerFixture,
                  "a sorted set is a listpack until zset-max-listpack-* then a skiplist") {
  CHECK(Do(c, {"ZADD", "z", "1", "a"}) == ":1");
  CHECK(Do(c, {"OBJECT", "ENCODING", "z"}) == "listpack");
  CHECK(Do(c, {"ZADD", "z", "2", std::string(65, 'm')}) == ":1");
  CHECK(Do(c, {"OBJECT", "ENCODING", "z"}) == "skiplist");
  CHECK(Do(c, {"CONFIG", "SET", "zset-max-ziplist-entries", "3"}) == "+OK");
  CHECK(Do(c, {"ZADD", "y", "3", "c", "1", "a", "2", "b"}) == ":3");
  CHECK(Do(c, {"OBJECT", "ENCODING", "y"}) == "listpack");
  CHECK(Do(c, {"ZADD", "y", "0", "z"}) == ":1");
  CHECK(Do(c, {"OBJECT", "ENCODING", "y"}) == "skiplist");
  CHECK(Do(c, {"ZRANGE", "y", "0", "-1", "WITHSCORES"}) == "[z, 0, a, 1, b, 2, c, 3]");
  CHECK(Do(c, {"ZRANK", "y", "c"}) == ":3");
  CHECK(Do(c, {"ZPOPMAX", "y"}) == "[c, 3]");
  CHECK(Do(c, {"COPY", "y", "y2"}) == ":1");
  CHECK(Do(c, {"ZRANGE", "y2", "0", "-1"}) == "[z, a, b]");
}

TEST_CASE_FIXTURE(ServerFixture, "ZSCORE and ZRANGE WITHSCORES answer RESP3 doubles") {
  CHECK(Do(c, {"ZADD", "z", "1.5", "a", "2", "b"}) == ":2");
  RawConnection raw(server.port());
  REQUIRE(raw.Send("HELLO 3\r\n"));
  raw.ReadReply();
  REQUIRE(raw.Send("ZSCORE z a\r\nZRANGE z 0 -1 WITHSCORES\r\nZPOPMIN z 1\r\n"));
  CHECK(raw.ReadReply() == ",1.5");
  CHECK(raw.ReadReply() == "[[a, ,1.5], [b, ,2]]");
  CHECK(raw.ReadReply() == "[[a, ,1.5]]");
}

TEST_CASE_FIXTURE(ServerFixture, "sorted-set commands on other types fail with WRONGTYPE") {
  CHECK(Do(c, {"SET", "s", "v"}) == "+OK");
  for (const std::vector<std::string>& cmd :
       std::vector<std::vector<std::string>>{{"ZADD", "s", "1", "a"},
                                             {"ZINCRBY", "s", "1", "a"},
                                             {"ZREM", "s", "a"},
                                             {"ZSCORE", "s", "a"},
                                             {"ZCARD", "s"},
                                             {"ZRANK", "s", "a"},
                                             {"ZRANGE", "s", "0", "1"},
                                             {"ZPOPMIN", "s"}}) {
    CAPTURE(cmd[0]);
    CHECK(Do(c, cmd) == kWrongType);
  }
  CHECK(Do(c, {"ZADD", "z", "1", "a"}) == ":1");
  CHECK(Do(c, {"GET", "z"}) == kWrongType);
  CHECK(Do(c, {"SADD", "z", "a"}) == kWrongType);
}

TEST_CASE("redis-benchmark's whole default suite runs with no error") {
  ServerFixture f;
  RunResult run =
      RunToExit("/usr/bin/redis-benchmark",
                {"-p", std::to_string(f.server.port()), "-q", "-n", "2000"}, milliseconds(120000));
  CHECK(run.exit_code == 0);
  CHECK(run.output.find("ERR") == std::string::npos);
  CHECK(run.output.find("ZPOPMIN") != std::string::npos);
  CHECK(run.output.find("MSET") != std::string::npos);
}

}  // namespace flightcache::integration
