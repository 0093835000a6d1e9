// commands_set_test.cc — the set commands against the real binary: membership, random picks
// and pops, SMOVE, the algebra commands and their STORE forms, SINTERCARD, SSCAN, the intset /
// listpack / hashtable encodings and their CONFIG options, RESP3's set for SMEMBERS, WRONGTYPE
// and argument errors. Replies are redis-server 7.0's (sorted where Redis's order is its hash
// table's), except OBJECT ENCODING, which follows Redis 7.2 (intset, listpack, hashtable).
#include <doctest/doctest.h>

#include <algorithm>
#include <set>
#include <string>
#include <vector>

#include "tests/integration/server_process.h"

namespace flightcache::integration {
namespace {

const char* const kWrongType = "-WRONGTYPE Operation against a key holding the wrong kind of value";

std::vector<std::string> Sorted(const ContextPtr& c, const std::vector<std::string>& args) {
  ReplyPtr r = Command(c.get(), args);
  REQUIRE(r);
  REQUIRE(r->type == REDIS_REPLY_ARRAY);
  std::vector<std::string> out;
  for (size_t i = 0; i < r->elements; ++i) out.emplace_back(Show(r->element[i]));
  std::sort(out.begin(), out.end());
  return out;
}

using Members = std::vector<std::string>;

}  // namespace

TEST_CASE_FIXTURE(ServerFixture, "SADD SREM SISMEMBER SMISMEMBER SCARD and SMEMBERS") {
  CHECK(Do(c, {"SADD", "s", "1", "2", "3", "2"}) == ":3");
  CHECK(Do(c, {"SADD", "s", "2", "a", "b"}) == ":2");
  CHECK(Do(c, {"SREM", "s", "1", "nothing"}) == ":1");
  CHECK(Do(c, {"SISMEMBER", "s", "2"}) == ":1");
  CHECK(Do(c, {"SISMEMBER", "s", "1"}) == ":0");
  CHECK(Do(c, {"SISMEMBER", "nos", "1"}) == ":0");
  CHECK(Do(c, {"SMISMEMBER", "s", "2", "1", "a"}) == "[:1, :0, :1]");
  CHECK(Do(c, {"SMISMEMBER", "nos", "a"}) == "[:0]");
  CHECK(Do(c, {"SCARD", "s"}) == ":4");
  CHECK(Do(c, {"SCARD", "nos"}) == ":0");
  CHECK(Sorted(c, {"SMEMBERS", "s"}) == Members{"2", "3", "a", "b"});
  CHECK(Do(c, {"SMEMBERS", "nos"}) == "[]");
  CHECK(Do(c, {"SREM", "s", "2", "3", "a", "b"}) == ":4");
  CHECK(Do(c, {"EXISTS", "s"}) == ":0");
  CHECK(Do(c, {"SADD", "s"}) == "-ERR wrong number of arguments for 'sadd' command");
  CHECK(Do(c, {"SADD", "t", "x"}) == ":1");
  CHECK(Do(c, {"TYPE", "t"}) == "+set");
}

TEST_CASE_FIXTURE(ServerFixture, "SINTER SUNION SDIFF and their STORE forms") {
  CHECK(Do(c, {"SADD", "a", "1", "2", "3", "x"}) == ":4");
  CHECK(Do(c, {"SADD", "b", "2", "3", "4", "y"}) == ":4");
  CHECK(Sorted(c, {"SINTER", "a", "b"}) == Members{"2", "3"});
  CHECK(Do(c, {"SINTER", "a", "nos"}) == "[]");
  CHECK(Sorted(c, {"SUNION", "a", "b", "nos"}) == Members{"1", "2", "3", "4", "x", "y"});
  CHECK(Sorted(c, {"SDIFF", "a", "b"}) == Members{"1", "x"});
  CHECK(Do(c, {"SDIFF", "nos", "a"}) == "[]");
  CHECK(Do(c, {"SINTERSTORE", "d", "a", "b"}) == ":2");
  CHECK(Sorted(c, {"SMEMBERS", "d"}) == Members{"2", "3"});
  CHECK(Do(c, {"OBJECT", "ENCODING", "d"}) == "intset");
  CHECK(Do(c, {"SINTERSTORE", "d", "a", "nos"}) == ":0");
  CHECK(Do(c, {"EXISTS", "d"}) == ":0");
  CHECK(Do(c, {"SUNIONSTORE", "d", "a", "b"}) == ":6");
  CHECK(Do(c, {"SDIFFSTORE", "d", "a", "b"}) == ":2");
  CHECK(Sorted(c, {"SMEMBERS", "d"}) == Members{"1", "x"});
  CHECK(Do(c, {"SDIFFSTORE", "a", "a", "b"}) == ":2");  // the destination may be a source
  CHECK(Sorted(c, {"SMEMBERS", "a"}) == Members{"1", "x"});
  CHECK(Do(c, {"SET", "s", "v"}) == "+OK");
  CHECK(Do(c, {"SINTER", "a", "nos", "s"}) == kWrongType);  // every key's type is checked
  CHECK(Do(c, {"SUNION", "s", "a"}) == kWrongType);
  CHECK(Do(c, {"SDIFFSTORE", "d", "a", "s"}) == kWrongType);
  CHECK(Do(c, {"SUNIONSTORE", "s", "a", "b"}) == ":6");  // a STORE replaces any type
  CHECK(Do(c, {"TYPE", "s"}) == "+set");
}

TEST_CASE_FIXTURE(ServerFixture, "SINTERCARD counts the intersection up to a LIMIT") {
  CHECK(Do(c, {"SADD", "a", "1", "2", "3"}) == ":3");
  CHECK(Do(c, {"SADD", "b", "2", "3", "4"}) == ":3");
  CHECK(Do(c, {"SINTERCARD", "2", "a", "b"}) == ":2");
  CHECK(Do(c, {"SINTERCARD", "2", "a", "b", "LIMIT", "1"}) == ":1");
  CHECK(Do(c, {"SINTERCARD", "2", "a", "b", "LIMIT", "0"}) == ":2");
  CHECK(Do(c, {"SINTERCARD", "2", "a", "nos"}) == ":0");
  CHECK(Do(c, {"SINTERCARD", "0", "a"}) == "-ERR numkeys should be greater than 0");
  CHECK(Do(c, {"SINTERCARD", "x", "a"}) == "-ERR numkeys should be greater than 0");
  CHECK(Do(c, {"SINTERCARD", "3", "a", "b"}) ==
        "-ERR Number of keys can't be greater than number of args");
  CHECK(Do(c, {"SINTERCARD", "2", "a", "b", "LIMIT", "-1"}) == "-ERR LIMIT can't be negative");
  CHECK(Do(c, {"SINTERCARD", "2", "a", "b", "FOO"}) == "-ERR syntax error");
  CHECK(Do(c, {"SET", "s", "v"}) == "+OK");
  CHECK(Do(c, {"SINTERCARD", "2", "nos", "s"}) == kWrongType);
  ReplyPtr info = Command(c.get(), {"COMMAND", "INFO", "sintercard"});
  REQUIRE(info);
  CAPTURE(Show(info.get()));
  CHECK(Show(info.get()).find("[sintercard, :-3, [+readonly, +movablekeys], :0, :0, :0") !=
        std::string::npos);
}

TEST_CASE_FIXTURE(ServerFixture, "SMOVE moves a member and checks both types") {
  CHECK(Do(c, {"SADD", "a", "1", "b"}) == ":2");
  CHECK(Do(c, {"SADD", "z", "9"}) == ":1");
  CHECK(Do(c, {"SMOVE", "a", "z", "1"}) == ":1");
  CHECK(Do(c, {"SMOVE", "a", "z", "nothing"}) == ":0");
  CHECK(Do(c, {"SMOVE", "nos", "z", "a"}) == ":0");
  CHECK(Do(c, {"SMOVE", "a", "a", "b"}) == ":1");
  CHECK(Do(c, {"SMOVE", "a", "a", "zz"}) == ":0");
  CHECK(Do(c, {"SMOVE", "a", "new", "b"}) == ":1");
  CHECK(Do(c, {"EXISTS", "a"}) == ":0");
  CHECK(Sorted(c, {"SMEMBERS", "z"}) == Members{"1", "9"});
  CHECK(Do(c, {"SMEMBERS", "new"}) == "[b]");
  CHECK(Do(c, {"SET", "s", "v"}) == "+OK");
  CHECK(Do(c, {"SMOVE", "z", "s", "1"}) == kWrongType);
  CHECK(Do(c, {"SCARD", "z"}) == ":2");
}

TEST_CASE_FIXTURE(ServerFixture, "SPOP and SRANDMEMBER pick members, with or without a count") {
  CHECK(Do(c, {"SPOP", "nos"}) == "(nil)");
  CHECK(Do(c, {"SPOP", "nos", "3"}) == "[]");
  CHECK(Do(c, {"SRANDMEMBER", "nos"}) == "(nil)");
  CHECK(Do(c, {"SRANDMEMBER", "nos", "5"}) == "[]");
  CHECK(Do(c, {"SADD", "s", "a", "b", "c"}) == ":3");
  CHECK(Do(c, {"SRANDMEMBER", "s", "0"}) == "[]");
  CHECK(Sorted(c, {"SRANDMEMBER", "s", "10"}) == Members{"a", "b", "c"});
  ReplyPtr many = Command(c.get(), {"SRANDMEMBER", "s", "-30"});
  REQUIRE(many);
  CHECK(many->elements == 30);
  CHECK(Do(c, {"SRANDMEMBER", "s", "-9223372036854775808"}) ==
        "-ERR value is out of range, value must between -9223372036854775807 and "
        "9223372036854775807");
  CHECK(Do(c, {"SRANDMEMBER", "s", "x"}) == "-ERR value is not an integer or out of range");
  CHECK(Do(c, {"SRANDMEMBER", "s", "1", "2"}) == "-ERR syntax error");
  CHECK(Do(c, {"SPOP", "s", "0"}) == "[]");
  CHECK(Do(c, {"SPOP", "s", "-1"}) == "-ERR value is out of range, must be positive");
  CHECK(Do(c, {"SPOP", "s", "x"}) == "-ERR value is out of range, must be positive");
  CHECK(Do(c, {"SPOP", "s", "1", "2"}) == "-ERR syntax error");
  std::vector<std::string> two = Sorted(c, {"SPOP", "s", "2"});
  CHECK(two.size() == 2);
  CHECK(Do(c, {"SCARD", "s"}) == ":1");
  const std::string last = Do(c, {"SPOP", "s"});
  CHECK(std::find(two.begin(), two.end(), last) == two.end());
  CHECK(Do(c, {"EXISTS", "s"}) == ":0");
  CHECK(Do(c, {"SADD", "t", "x", "y"}) == ":2");
  CHECK(Sorted(c, {"SPOP", "t", "5"}) == Members{"x", "y"});
  CHECK(Do(c, {"EXISTS", "t"}) == ":0");
}

TEST_CASE_FIXTURE(ServerFixture, "SSCAN returns a small set at once and walks a big one") {
  CHECK(Do(c, {"SSCAN", "nos", "0"}) == "[0, []]");
  CHECK(Do(c, {"SADD", "s", "a1", "a2", "b"}) == ":3");
  CHECK(Do(c, {"SSCAN", "s", "0", "MATCH", "a*"}) == "[0, [a1, a2]]");
  CHECK(Do(c, {"SSCAN", "s", "abc"}) == "-ERR invalid cursor");
  for (int i = 0; i < 1000; ++i) Append(c.get(), {"SADD", "big", "m" + std::to_string(i)});
  for (int i = 0; i < 1000; ++i) REQUIRE(NextReply(c.get()));
  CHECK(Do(c, {"OBJECT", "ENCODING", "big"}) == "hashtable");
  std::set<std::string> seen;
  std::string cursor = "0";
  int calls = 0;
  do {
    ReplyPtr r = Command(c.get(), {"SSCAN", "big", cursor});
    REQUIRE(r);
    cursor = Show(r->element[0]);
    for (size_t i = 0; i < r->element[1]->elements; ++i)
      seen.insert(Show(r->element[1]->element[i]));
    REQUIRE(++calls < 2000);
  } while (cursor != "0");
  CHECK(seen.size() == 1000);
}

TEST_CASE_FIXTURE(ServerFixture,
                  "a set is an intset, a listpack, then a hashtable by the options") {
  CHECK(Do(c, {"SADD", "i", "1", "2", "3"}) == ":3");
  CHECK(Do(c, {"OBJECT", "ENCODING", "i"}) == "intset");
  CHECK(Do(c, {"SADD", "i", "a"}) == ":1");
  CHECK(Do(c, {"OBJECT", "ENCODING", "i"}) == "listpack");
  CHECK(Do(c, {"SADD", "long", std::string(65, 'x')}) == ":1");
  CHECK(Do(c, {"OBJECT", "ENCODING", "long"}) == "hashtable");
  CHECK(Do(c, {"CONFIG", "GET", "set-max-intset-entries"}) == "[set-max-intset-entries, 512]");
  CHECK(Do(c, {"CONFIG", "SET", "set-max-intset-entries", "2"}) == "+OK");
  CHECK(Do(c, {"CONFIG", "SET", "set-max-listpack-entries", "3"}) == "+OK");
  CHECK(Do(c, {"SADD", "n", "1", "2"}) == ":2");
  CHECK(Do(c, {"OBJECT", "ENCODING", "n"}) == "intset");
  CHECK(Do(c, {"SADD", "n", "3"}) == ":1");
  CHECK(Do(c, {"OBJECT", "ENCODING", "n"}) == "listpack");
  CHECK(Do(c, {"SADD", "n", "4"}) == ":1");
  CHECK(Do(c, {"OBJECT", "ENCODING", "n"}) == "hashtable");
  CHECK(Sorted(c, {"SMEMBERS", "n"}) == Members{"1", "2", "3", "4"});
}

TEST_CASE_FIXTURE(ServerFixture, "SMEMBERS and SINTER answer a RESP3 set") {
  CHECK(Do(c, {"SADD", "s", "x"}) == ":1");
  RawConnection raw(server.port());
  REQUIRE(raw.Send("HELLO 3\r\n"));
  raw.ReadReply();
  REQUIRE(raw.Send("SMEMBERS s\r\nSINTER s s\r\nSMEMBERS nos\r\n"));
  CHECK(raw.ReadReply() == "~[x]");
  CHECK(raw.ReadReply() == "~[x]");
  CHECK(raw.ReadReply() == "~[]");
}

TEST_CASE_FIXTURE(ServerFixture, "set commands on other types fail with WRONGTYPE") {
  CHECK(Do(c, {"RPUSH", "l", "a"}) == ":1");
  for (const std::vector<std::string>& cmd :
       std::vector<std::vector<std::string>>{{"SADD", "l", "a"},
                                             {"SREM", "l", "a"},
                                             {"SISMEMBER", "l", "a"},
                                             {"SMISMEMBER", "l", "a"},
                                             {"SMEMBERS", "l"},
                                             {"SCARD", "l"},
                                             {"SPOP", "l"},
                                             {"SRANDMEMBER", "l"},
                                             {"SSCAN", "l", "0"},
                                             {"SINTERSTORE", "d", "l"}}) {
    CAPTURE(cmd[0]);
    CHECK(Do(c, cmd) == kWrongType);
  }
  CHECK(Do(c, {"SADD", "s", "a"}) == ":1");
  CHECK(Do(c, {"INCR", "s"}) == kWrongType);
  CHECK(Do(c, {"LLEN", "s"}) == kWrongType);
}

}  // namespace flightcache::integration
