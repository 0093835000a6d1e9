// commands_zset_range_test.cc — the sorted-set commands of issue 10's second step against the
// real binary: ZRANGE BYSCORE/BYLEX/REV/LIMIT and the legacy range commands, ZCOUNT,
// ZLEXCOUNT, ZREMRANGEBY*, ZRANGESTORE, the algebra (ZUNION... with WEIGHTS, AGGREGATE, sets as
// inputs), ZMPOP, ZMSCORE, ZRANDMEMBER and ZSCAN, in both encodings, with Redis 7.0's replies
// and error texts (each checked against redis-server 7.0.15).
#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "tests/integration/server_process.h"

namespace flightcache::integration {

namespace {

// Adds members m0..m(n-1) with score i % 10 to key (one ZADD).
void AddNumbered(ContextPtr& c, const std::string& key, int n) {
  std::vector<std::string> cmd = {"ZADD", key};
  for (int i = 0; i < n; ++i) {
    cmd.push_back(std::to_string(i % 10));
    cmd.push_back("m" + std::to_string(i));
  }
  REQUIRE(Do(c, cmd) == ":" + std::to_string(n));
}

}  // namespace

TEST_CASE_FIXTURE(ServerFixture, "ZRANGE BYSCORE takes exclusive and infinite bounds, REV, LIMIT") {
  CHECK(Do(c, {"ZADD", "z", "1", "a", "2", "b", "3", "c", "4", "d", "5", "e"}) == ":5");
  CHECK(Do(c, {"ZRANGE", "z", "2", "4", "BYSCORE"}) == "[b, c, d]");
  CHECK(Do(c, {"ZRANGE", "z", "(2", "+inf", "BYSCORE", "WITHSCORES"}) == "[c, 3, d, 4, e, 5]");
  CHECK(Do(c, {"ZRANGE", "z", "+inf", "-inf", "BYSCORE", "REV", "LIMIT", "1", "2"}) == "[d, c]");
  CHECK(Do(c, {"ZRANGEBYSCORE", "z", "-inf", "+inf", "LIMIT", "1", "-1"}) == "[b, c, d, e]");
  CHECK(Do(c, {"ZRANGEBYSCORE", "z", "1", "5", "LIMIT", "-1", "2"}) == "[]");
  CHECK(Do(c, {"ZRANGEBYSCORE", "z", "(1", "(5"}) == "[b, c, d]");
  CHECK(Do(c, {"ZREVRANGEBYSCORE", "z", "5", "(2", "WITHSCORES"}) == "[e, 5, d, 4, c, 3]");
  CHECK(Do(c, {"ZREVRANGE", "z", "0", "1", "WITHSCORES"}) == "[e, 5, d, 4]");
  CHECK(Do(c, {"ZRANGEBYSCORE", "z", "3", "3"}) == "[c]");
  CHECK(Do(c, {"ZRANGEBYSCORE", "z", "(3", "3"}) == "[]");
  CHECK(Do(c, {"ZRANGEBYSCORE", "nokey", "0", "1"}) == "[]");
  CHECK(Do(c, {"ZCOUNT", "z", "(1", "3"}) == ":2");
  CHECK(Do(c, {"ZCOUNT", "z", "-inf", "+inf"}) == ":5");
  CHECK(Do(c, {"ZCOUNT", "z", "5", "1"}) == ":0");
  CHECK(Do(c, {"ZADD", "inf", "-inf", "lo", "+inf", "hi"}) == ":2");
  CHECK(Do(c, {"ZRANGEBYSCORE", "inf", "-inf", "+inf", "WITHSCORES"}) == "[lo, -inf, hi, inf]");
  CHECK(Do(c, {"ZRANGEBYSCORE", "inf", "(-inf", "(+inf"}) == "[]");
}

TEST_CASE_FIXTURE(ServerFixture, "ZRANGE BYLEX and the lex commands take [ ( - + bounds") {
  CHECK(Do(c, {"ZADD", "l", "0", "a", "0", "b", "0", "c", "0", "d", "0", "e"}) == ":5");
  CHECK(Do(c, {"ZRANGEBYLEX", "l", "[b", "(d"}) == "[b, c]");
  CHECK(Do(c, {"ZRANGEBYLEX", "l", "-", "+", "LIMIT", "1", "2"}) == "[b, c]");
  CHECK(Do(c, {"ZRANGE", "l", "[c", "-", "BYLEX", "REV"}) == "[c, b, a]");
  CHECK(Do(c, {"ZREVRANGEBYLEX", "l", "+", "[c"}) == "[e, d, c]");
  CHECK(Do(c, {"ZREVRANGEBYLEX", "l", "(c", "-"}) == "[b, a]");
  CHECK(Do(c, {"ZLEXCOUNT", "l", "[b", "+"}) == ":4");
  CHECK(Do(c, {"ZLEXCOUNT", "l", "+", "-"}) == ":0");
  CHECK(Do(c, {"ZRANGEBYLEX", "l", "[d", "[b"}) == "[]");
  CHECK(Do(c, {"ZREMRANGEBYLEX", "l", "[a", "[b"}) == ":2");
  CHECK(Do(c, {"ZRANGE", "l", "0", "-1"}) == "[c, d, e]");
}

TEST_CASE_FIXTURE(ServerFixture, "ZRANGE-family options and bounds fail with Redis's errors") {
  CHECK(Do(c, {"ZADD", "z", "1", "a"}) == ":1");
  CHECK(Do(c, {"ZRANGE", "z", "0", "-1", "LIMIT", "0", "1"}) ==
        "-ERR syntax error, LIMIT is only supported in combination with either BYSCORE or BYLEX");
  CHECK(Do(c, {"ZRANGE", "z", "-", "+", "BYLEX", "WITHSCORES"}) ==
        "-ERR syntax error, WITHSCORES not supported in combination with BYLEX");
  CHECK(Do(c, {"ZRANGE", "z", "0", "1", "BYSCORE", "BYLEX"}) == "-ERR syntax error");
  CHECK(Do(c, {"ZRANGE", "z", "0", "1", "REV", "REV"}) == "-ERR syntax error");
  CHECK(Do(c, {"ZRANGE", "z", "0", "-1", "BYSCORE", "LIMIT", "1"}) == "-ERR syntax error");
  CHECK(Do(c, {"ZRANGE", "z", "0", "1", "BYSCORE", "LIMIT", "x", "1"}) ==
        "-ERR value is not an integer or out of range");
  CHECK(Do(c, {"ZRANGE", "z", "a", "b", "BYSCORE"}) == "-ERR min or max is not a float");
  CHECK(Do(c, {"ZRANGEBYSCORE", "z", "(x", "1"}) == "-ERR min or max is not a float");
  CHECK(Do(c, {"ZRANGEBYSCORE", "z", "0", "1", "REV"}) == "-ERR syntax error");
  CHECK(Do(c, {"ZRANGEBYSCORE", "z", "0", "1", "BYSCORE"}) == "-ERR syntax error");
  CHECK(Do(c, {"ZRANGEBYLEX", "z", "b", "d"}) == "-ERR min or max not valid string range item");
  CHECK(Do(c, {"ZRANGEBYLEX", "z", "-", "+", "WITHSCORES"}) ==
        "-ERR syntax error, WITHSCORES not supported in combination with BYLEX");
  CHECK(Do(c, {"ZCOUNT", "z", "x", "3"}) == "-ERR min or max is not a float");
  CHECK(Do(c, {"ZLEXCOUNT", "z", "a", "+"}) == "-ERR min or max not valid string range item");
  CHECK(Do(c, {"ZREMRANGEBYSCORE", "z", "nan", "1"}) == "-ERR min or max is not a float");
  CHECK(Do(c, {"ZREMRANGEBYRANK", "z", "x", "1"}) ==
        "-ERR value is not an integer or out of range");
  CHECK(Do(c, {"ZRANGESTORE", "d", "z", "0", "-1", "WITHSCORES"}) == "-ERR syntax error");
  CHECK(Do(c, {"SET", "s", "v"}) == "+OK");
  for (const std::vector<std::string>& cmd :
       std::vector<std::vector<std::string>>{{"ZRANGEBYSCORE", "s", "0", "1"},
                                             {"ZRANGEBYLEX", "s", "-", "+"},
                                             {"ZCOUNT", "s", "0", "1"},
                                             {"ZLEXCOUNT", "s", "-", "+"},
                                             {"ZREMRANGEBYRANK", "s", "0", "1"},
                                             {"ZRANGESTORE", "d", "s", "0", "1"},
                                             {"ZMSCORE", "s", "a"},
                                             {"ZSCAN", "s", "0"},
                                             {"ZRANDMEMBER", "s"},
                                             {"ZUNION", "2", "z", "s"},
                                             {"ZMPOP", "1", "s", "MIN"}}) {
    CAPTURE(cmd[0]);
    CHECK(Do(c, cmd) == "-WRONGTYPE Operation against a key holding the wrong kind of value");
  }
}

TEST_CASE_FIXTURE(ServerFixture, "ZREMRANGEBY* and ZRANGESTORE remove and store ranges") {
  CHECK(Do(c, {"ZADD", "z", "1", "a", "2", "b", "3", "c", "4", "d", "5", "e"}) == ":5");
  CHECK(Do(c, {"ZRANGESTORE", "dst", "z", "1", "3", "BYSCORE", "LIMIT", "1", "5"}) == ":2");
  CHECK(Do(c, {"ZRANGE", "dst", "0", "-1", "WITHSCORES"}) == "[b, 2, c, 3]");
  CHECK(Do(c, {"ZRANGESTORE", "dst", "z", "10", "20", "BYSCORE"}) == ":0");
  CHECK(Do(c, {"EXISTS", "dst"}) == ":0");
  CHECK(Do(c, {"ZRANGESTORE", "z", "z", "0", "1"}) == ":2");  // source and destination alike
  CHECK(Do(c, {"ZRANGE", "z", "0", "-1"}) == "[a, b]");
  CHECK(Do(c, {"ZADD", "z", "3", "c", "4", "d", "5", "e"}) == ":3");
  CHECK(Do(c, {"ZREMRANGEBYRANK", "z", "0", "0"}) == ":1");
  CHECK(Do(c, {"ZREMRANGEBYSCORE", "z", "(2", "3"}) == ":1");
  CHECK(Do(c, {"ZRANGE", "z", "0", "-1"}) == "[b, d, e]");
  CHECK(Do(c, {"ZREMRANGEBYRANK", "z", "0", "-1"}) == ":3");
  CHECK(Do(c, {"EXISTS", "z"}) == ":0");
  CHECK(Do(c, {"ZREMRANGEBYSCORE", "nokey", "0", "1"}) == ":0");
}

TEST_CASE_FIXTURE(ServerFixture, "score ranges in the skiplist encoding match the listpack's") {
  AddNumbered(c, "big", 300);  // past zset-max-listpack-entries
  CHECK(Do(c, {"OBJECT", "ENCODING", "big"}) == "skiplist");
  CHECK(Do(c, {"CONFIG", "SET", "zset-max-listpack-entries", "1000"}) == "+OK");
  AddNumbered(c, "small", 300);
  CHECK(Do(c, {"OBJECT", "ENCODING", "small"}) == "listpack");
  for (const std::string& key : {std::string("big"), std::string("small")}) {
    CAPTURE(key);
    CHECK(Do(c, {"ZCOUNT", key, "(3", "5"}) == ":60");
    CHECK(Do(c, {"ZRANGEBYSCORE", key, "(8", "+inf", "LIMIT", "2", "3"}) == "[m129, m139, m149]");
    CHECK(Do(c, {"ZREVRANGEBYSCORE", key, "(1", "-inf", "LIMIT", "0", "2"}) == "[m90, m80]");
    CHECK(Do(c, {"ZRANGE", key, "0", "0", "BYSCORE", "WITHSCORES", "LIMIT", "0", "1"}) ==
          "[m0, 0]");
    CHECK(Do(c, {"ZREMRANGEBYSCORE", key, "9", "9"}) == ":30");
    CHECK(Do(c, {"ZCARD", key}) == ":270");
  }
}

TEST_CASE_FIXTURE(ServerFixture, "ZUNIONSTORE ZINTERSTORE ZDIFFSTORE weigh, aggregate, take sets") {
  CHECK(Do(c, {"ZADD", "z", "1", "a", "2", "b", "3", "c"}) == ":3");
  CHECK(Do(c, {"ZADD", "z2", "10", "b", "20", "x"}) == ":2");
  CHECK(Do(c, {"SADD", "s", "b", "y"}) == ":2");
  CHECK(Do(c, {"ZUNIONSTORE", "u", "3", "z", "z2", "s", "WEIGHTS", "1", "2", "3"}) == ":5");
  CHECK(Do(c, {"ZRANGE", "u", "0", "-1", "WITHSCORES"}) == "[a, 1, c, 3, y, 3, b, 25, x, 40]");
  CHECK(Do(c, {"ZUNION", "2", "z", "z2", "AGGREGATE", "MAX", "WITHSCORES"}) ==
        "[a, 1, c, 3, b, 10, x, 20]");
  CHECK(Do(c, {"ZINTER", "2", "z", "z2", "WITHSCORES"}) == "[b, 12]");
  CHECK(Do(c, {"ZINTERSTORE", "i", "3", "z", "z2", "s", "AGGREGATE", "MIN"}) == ":1");
  CHECK(Do(c, {"ZRANGE", "i", "0", "-1", "WITHSCORES"}) == "[b, 1]");
  CHECK(Do(c, {"ZINTERSTORE", "i", "2", "z", "nokey"}) == ":0");
  CHECK(Do(c, {"EXISTS", "i"}) == ":0");
  CHECK(Do(c, {"ZINTERCARD", "2", "z", "z2"}) == ":1");
  CHECK(Do(c, {"ZINTERCARD", "1", "z", "LIMIT", "2"}) == ":2");
  CHECK(Do(c, {"ZDIFF", "2", "z", "z2", "WITHSCORES"}) == "[a, 1, c, 3]");
  CHECK(Do(c, {"ZDIFFSTORE", "z", "2", "z", "z2"}) == ":2");  // destination is a source
  CHECK(Do(c, {"ZRANGE", "z", "0", "-1"}) == "[a, c]");
  CHECK(Do(c, {"ZADD", "infs", "inf", "a"}) == ":1");
  CHECK(Do(c, {"ZUNION", "2", "infs", "infs", "WEIGHTS", "1", "0", "WITHSCORES"}) == "[a, inf]");
  CHECK(Do(c, {"ZADD", "ninf", "-inf", "a"}) == ":1");
  CHECK(Do(c, {"ZUNION", "2", "infs", "ninf", "WITHSCORES"}) == "[a, 0]");  // inf + -inf: 0
}

TEST_CASE_FIXTURE(ServerFixture, "the sorted-set algebra fails with Redis's errors") {
  CHECK(Do(c, {"ZADD", "z", "1", "a"}) == ":1");
  CHECK(Do(c, {"ZUNIONSTORE", "u", "0", "z"}) ==
        "-ERR at least 1 input key is needed for 'zunionstore' command");
  CHECK(Do(c, {"ZINTERCARD", "0", "z"}) ==
        "-ERR at least 1 input key is needed for 'zintercard' command");
  CHECK(Do(c, {"ZUNIONSTORE", "u", "x", "z"}) == "-ERR value is not an integer or out of range");
  CHECK(Do(c, {"ZUNIONSTORE", "u", "3", "z"}) == "-ERR syntax error");
  CHECK(Do(c, {"ZUNIONSTORE", "u", "2", "z", "z", "WEIGHTS", "1"}) == "-ERR syntax error");
  CHECK(Do(c, {"ZUNIONSTORE", "u", "2", "z", "z", "WEIGHTS", "1", "x"}) ==
        "-ERR weight value is not a float");
  CHECK(Do(c, {"ZUNIONSTORE", "u", "2", "z", "z", "AGGREGATE", "foo"}) == "-ERR syntax error");
  CHECK(Do(c, {"ZUNIONSTORE", "u", "2", "z", "z", "WITHSCORES"}) == "-ERR syntax error");
  CHECK(Do(c, {"ZDIFF", "2", "z", "z", "WEIGHTS", "1", "1"}) == "-ERR syntax error");
  CHECK(Do(c, {"ZINTERCARD", "1", "z", "LIMIT", "-1"}) == "-ERR LIMIT can't be negative");
  CHECK(Do(c, {"ZINTERCARD", "2", "z"}) == "-ERR syntax error");
}

TEST_CASE_FIXTURE(ServerFixture, "ZMPOP ZMSCORE ZRANDMEMBER and ZSCAN answer as Redis") {
  CHECK(Do(c, {"ZADD", "p", "1", "a", "2", "b", "3", "c"}) == ":3");
  CHECK(Do(c, {"ZMSCORE", "p", "a", "nope", "c"}) == "[1, (nil), 3]");
  CHECK(Do(c, {"ZMPOP", "2", "nokey", "p", "MAX"}) == "[p, [[c, 3]]]");
  CHECK(Do(c, {"ZMPOP", "1", "p", "MIN", "COUNT", "5"}) == "[p, [[a, 1], [b, 2]]]");
  CHECK(Do(c, {"EXISTS", "p"}) == ":0");
  CHECK(Do(c, {"ZMPOP", "1", "p", "MIN"}) == "(nil)");
  CHECK(Do(c, {"ZMPOP", "0", "p", "MIN"}) == "-ERR numkeys should be greater than 0");
  CHECK(Do(c, {"ZMPOP", "1", "p", "MIN", "COUNT", "0"}) == "-ERR count should be greater than 0");
  CHECK(Do(c, {"ZMPOP", "1", "p", "FOO"}) == "-ERR syntax error");
  CHECK(Do(c, {"ZMPOP", "2", "p", "MIN"}) == "-ERR syntax error");
  CHECK(Do(c, {"ZADD", "r", "1", "a", "2", "b"}) == ":2");
  CHECK(Do(c, {"ZRANDMEMBER", "nokey"}) == "(nil)");
  CHECK(Do(c, {"ZRANDMEMBER", "nokey", "3"}) == "[]");
  CHECK(Do(c, {"ZRANDMEMBER", "r", "5", "WITHSCORES"}).size() ==
        std::string("[a, 1, b, 2]").size());
  CHECK(Do(c, {"ZRANDMEMBER", "r", "-5"}).size() == std::string("[a, a, a, a, a]").size());
  CHECK(Do(c, {"ZRANDMEMBER", "r", "1", "bad"}) == "-ERR syntax error");
  CHECK(Do(c, {"ZSCAN", "r", "0"}) == "[0, [a, 1, b, 2]]");
  CHECK(Do(c, {"ZSCAN", "r", "0", "MATCH", "b"}) == "[0, [b, 2]]");
  CHECK(Do(c, {"ZSCAN", "r", "x"}) == "-ERR invalid cursor");
  AddNumbered(c, "big", 200);
  std::string cursor = "0";
  size_t seen = 0;
  for (int round = 0; round < 1000; ++round) {  // bounded: 200 members come back in few rounds
    ReplyPtr r = Command(c.get(), {"ZSCAN", "big", cursor, "COUNT", "20"});
    REQUIRE(r);
    REQUIRE(r->type == REDIS_REPLY_ARRAY);
    cursor = r->element[0]->str;
    seen += r->element[1]->elements / 2;
    if (cursor == "0") break;
  }
  CHECK(cursor == "0");
  CHECK(seen == 200);
}

TEST_CASE_FIXTURE(ServerFixture, "range replies with scores are RESP3 pairs of doubles") {
  CHECK(Do(c, {"ZADD", "z", "1.5", "a", "2", "b"}) == ":2");
  RawConnection raw(server.port());
  REQUIRE(raw.Send("HELLO 3\r\n"));
  raw.ReadReply();
  REQUIRE(
      raw.Send("ZRANGEBYSCORE z -inf +inf WITHSCORES\r\nZUNION 1 z WITHSCORES\r\nZMSCORE z a x\r\n"
               "ZMPOP 1 z MAX\r\nZSCAN z 0\r\n"));
  CHECK(raw.ReadReply() == "[[a, ,1.5], [b, ,2]]");
  CHECK(raw.ReadReply() == "[[a, ,1.5], [b, ,2]]");
  CHECK(raw.ReadReply() == "[,1.5, _]");
  CHECK(raw.ReadReply() == "[z, [[b, ,2]]]");
  CHECK(raw.ReadReply() == "[0, [a, 1.5]]");
}

}  // namespace flightcache::integration
