// commands_hash_test.cc — the hash commands against the real binary: every command of the
// family, the listpack -> hashtable conversion and its CONFIG options, RESP3's map for HGETALL,
// WRONGTYPE and argument errors. Replies are redis-server 7.0's.
#include <doctest/doctest.h>

#include <algorithm>
#include <set>
#include <string>
#include <vector>

#include "tests/integration/server_process.h"

namespace flightcache::integration {
namespace {

const char* const kWrongType = "-WRONGTYPE Operation against a key holding the wrong kind of value";

// The elements of an array reply, sorted (for replies in encoding order).
std::vector<std::string> Sorted(const ContextPtr& c, const std::vector<std::string>& args) {
  ReplyPtr r = Command(c.get(), args);
  REQUIRE(r);
  REQUIRE(r->type == REDIS_REPLY_ARRAY);
  std::vector<std::string> out;
  for (size_t i = 0; i < r->elements; ++i) out.emplace_back(Show(r->element[i]));
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace

TEST_CASE_FIXTURE(ServerFixture, "HSET HMSET and HSETNX set fields and count the new ones") {
  CHECK(Do(c, {"HSET", "h", "a", "1", "b", "2", "c", "3"}) == ":3");
  CHECK(Do(c, {"HSET", "h", "a", "10"}) == ":0");
  CHECK(Do(c, {"HSET", "h"}) == "-ERR wrong number of arguments for 'hset' command");
  CHECK(Do(c, {"HSET", "h", "a"}) == "-ERR wrong number of arguments for 'hset' command");
  CHECK(Do(c, {"HMSET", "h", "x", "1", "y"}) ==
        "-ERR wrong number of arguments for 'hmset' command");
  CHECK(Do(c, {"HMSET", "h", "d", "4"}) == "+OK");
  CHECK(Do(c, {"HSETNX", "h", "a", "5"}) == ":0");
  CHECK(Do(c, {"HSETNX", "h", "z", "26"}) == ":1");
  CHECK(Do(c, {"HSETNX", "new", "f", "v"}) == ":1");
  CHECK(Do(c, {"HGET", "h", "a"}) == "10");
  CHECK(Do(c, {"HLEN", "h"}) == ":5");
  CHECK(Do(c, {"TYPE", "h"}) == "+hash");
}

TEST_CASE_FIXTURE(ServerFixture, "HGET HMGET HGETALL HKEYS HVALS HLEN HEXISTS and HSTRLEN read") {
  CHECK(Do(c, {"HSET", "h", "a", "1", "b", "22"}) == ":2");
  CHECK(Do(c, {"HGET", "h", "nosuch"}) == "(nil)");
  CHECK(Do(c, {"HGET", "nokey", "a"}) == "(nil)");
  CHECK(Do(c, {"HMGET", "h", "a", "nosuch", "b"}) == "[1, (nil), 22]");
  CHECK(Do(c, {"HMGET", "nokey", "a", "b"}) == "[(nil), (nil)]");
  CHECK(Do(c, {"HGETALL", "h"}) == "[a, 1, b, 22]");  // a listpack keeps insertion order
  CHECK(Do(c, {"HGETALL", "nokey"}) == "[]");
  CHECK(Do(c, {"HKEYS", "h"}) == "[a, b]");
  CHECK(Do(c, {"HVALS", "h"}) == "[1, 22]");
  CHECK(Do(c, {"HKEYS", "nokey"}) == "[]");
  CHECK(Do(c, {"HLEN", "nokey"}) == ":0");
  CHECK(Do(c, {"HEXISTS", "h", "a"}) == ":1");
  CHECK(Do(c, {"HEXISTS", "h", "q"}) == ":0");
  CHECK(Do(c, {"HSTRLEN", "h", "b"}) == ":2");
  CHECK(Do(c, {"HSTRLEN", "h", "q"}) == ":0");
  CHECK(Do(c, {"HGET", "h"}) == "-ERR wrong number of arguments for 'hget' command");
  CHECK(Do(c, {"HMGET", "h"}) == "-ERR wrong number of arguments for 'hmget' command");
}

TEST_CASE_FIXTURE(ServerFixture, "HDEL removes fields and the key goes with its last field") {
  CHECK(Do(c, {"HSET", "h", "a", "1", "b", "2", "c", "3"}) == ":3");
  CHECK(Do(c, {"HDEL", "h", "a", "q"}) == ":1");
  CHECK(Do(c, {"HDEL", "h", "b", "c", "b"}) == ":2");
  CHECK(Do(c, {"EXISTS", "h"}) == ":0");
  CHECK(Do(c, {"HDEL", "h", "a"}) == ":0");
  CHECK(Do(c, {"HDEL", "h"}) == "-ERR wrong number of arguments for 'hdel' command");
}

TEST_CASE_FIXTURE(ServerFixture, "HINCRBY and HINCRBYFLOAT add, and refuse what Redis refuses") {
  CHECK(Do(c, {"HINCRBY", "h", "f", "5"}) == ":5");
  CHECK(Do(c, {"HINCRBY", "h", "f", "-2"}) == ":3");
  CHECK(Do(c, {"HINCRBY", "h", "f", "x"}) == "-ERR value is not an integer or out of range");
  CHECK(Do(c, {"HINCRBY", "h", "f", "9223372036854775807"}) ==
        "-ERR increment or decrement would overflow");
  CHECK(Do(c, {"HSET", "h", "s", "abc"}) == ":1");
  CHECK(Do(c, {"HINCRBY", "h", "s", "1"}) == "-ERR hash value is not an integer");
  CHECK(Do(c, {"HINCRBYFLOAT", "h", "g", "1.5"}) == "1.5");
  CHECK(Do(c, {"HINCRBYFLOAT", "h", "g", "abc"}) == "-ERR value is not a valid float");
  CHECK(Do(c, {"HINCRBYFLOAT", "h", "s", "1"}) == "-ERR hash value is not a float");
  CHECK(Do(c, {"HINCRBYFLOAT", "h", "f", "0.25"}) == "3.25");
  CHECK(Do(c, {"HINCRBYFLOAT", "h", "f", "-3.25"}) == "0");
  CHECK(Do(c, {"HGET", "h", "f"}) == "0");
}

TEST_CASE_FIXTURE(ServerFixture,
                  "HRANDFIELD picks distinct fields for a count, any for a negative") {
  CHECK(Do(c, {"HRANDFIELD", "nokey"}) == "(nil)");
  CHECK(Do(c, {"HRANDFIELD", "nokey", "3"}) == "[]");
  CHECK(Do(c, {"HSET", "h", "a", "1", "b", "2", "c", "3"}) == ":3");
  const std::set<std::string> fields{"a", "b", "c"};
  CHECK(fields.count(Do(c, {"HRANDFIELD", "h"})) == 1);
  CHECK(Do(c, {"HRANDFIELD", "h", "0"}) == "[]");
  CHECK(Sorted(c, {"HRANDFIELD", "h", "10"}) == std::vector<std::string>{"a", "b", "c"});
  std::vector<std::string> two = Sorted(c, {"HRANDFIELD", "h", "2"});
  CHECK(two.size() == 2);
  CHECK(two[0] != two[1]);
  ReplyPtr many = Command(c.get(), {"HRANDFIELD", "h", "-20", "WITHVALUES"});
  REQUIRE(many);
  REQUIRE(many->elements == 40);
  for (size_t i = 0; i < 40; i += 2) {
    const std::string f = Show(many->element[i]), v = Show(many->element[i + 1]);
    CHECK(fields.count(f) == 1);
    CHECK(v == std::string(1, static_cast<char>('1' + (f[0] - 'a'))));
  }
  CHECK(Do(c, {"HRANDFIELD", "h", "1", "withvalues", "extra"}) == "-ERR syntax error");
  CHECK(Do(c, {"HRANDFIELD", "h", "1", "foo"}) == "-ERR syntax error");
  CHECK(Do(c, {"HRANDFIELD", "h", "x"}) == "-ERR value is not an integer or out of range");
  CHECK(Do(c, {"HRANDFIELD", "h", "-9223372036854775808", "withvalues"}) ==
        "-ERR value is out of range, value must between -9223372036854775807 and "
        "9223372036854775807");
}

TEST_CASE_FIXTURE(ServerFixture, "HSCAN returns a small hash at once and walks a big one") {
  CHECK(Do(c, {"HSCAN", "nokey", "0"}) == "[0, []]");
  CHECK(Do(c, {"HSET", "h", "f1", "1", "f2", "2", "g", "3"}) == ":3");
  CHECK(Do(c, {"HSCAN", "h", "0"}) == "[0, [f1, 1, f2, 2, g, 3]]");
  CHECK(Do(c, {"HSCAN", "h", "0", "MATCH", "f*"}) == "[0, [f1, 1, f2, 2]]");
  CHECK(Do(c, {"HSCAN", "h", "x"}) == "-ERR invalid cursor");
  CHECK(Do(c, {"HSCAN", "h", "0", "COUNT", "0"}) == "-ERR syntax error");
  CHECK(Do(c, {"HSCAN", "h", "0", "COUNT"}) == "-ERR syntax error");
  CHECK(Do(c, {"HSCAN", "h", "0", "NOPE", "1"}) == "-ERR syntax error");
  for (int i = 0; i < 1000; ++i) {
    Append(c.get(), {"HSET", "big", "field:" + std::to_string(i), std::to_string(i)});
  }
  for (int i = 0; i < 1000; ++i) REQUIRE(Show(NextReply(c.get()).get()) == ":1");
  std::set<std::string> seen;
  std::string cursor = "0";
  int calls = 0;
  do {
    ReplyPtr r = Command(c.get(), {"HSCAN", "big", cursor, "COUNT", "20"});
    REQUIRE(r);
    REQUIRE(r->elements == 2);
    cursor = Show(r->element[0]);
    for (size_t i = 0; i < r->element[1]->elements; i += 2) {
      seen.insert(Show(r->element[1]->element[i]));
    }
    REQUIRE(++calls < 1000);
  } while (cursor != "0");
  CHECK(seen.size() == 1000);
  CHECK(calls > 2);
}

TEST_CASE_FIXTURE(ServerFixture, "a hash is a listpack until hash-max-listpack-entries or -value") {
  CHECK(Do(c, {"HSET", "small", "a", "1"}) == ":1");
  CHECK(Do(c, {"OBJECT", "ENCODING", "small"}) == "listpack");
  CHECK(Do(c, {"HSET", "long", "a", std::string(65, 'v')}) == ":1");
  CHECK(Do(c, {"OBJECT", "ENCODING", "long"}) == "hashtable");
  CHECK(Do(c, {"CONFIG", "GET", "hash-max-listpack-entries"}) ==
        "[hash-max-listpack-entries, 512]");
  CHECK(Do(c, {"CONFIG", "GET", "hash-max-listpack-value"}) == "[hash-max-listpack-value, 64]");
  CHECK(Do(c, {"CONFIG", "SET", "hash-max-ziplist-entries", "4"}) == "+OK");
  CHECK(Do(c, {"CONFIG", "GET", "hash-max-listpack-entries"}) == "[hash-max-listpack-entries, 4]");
  CHECK(Do(c, {"HSET", "h", "1", "a", "2", "b", "3", "c", "4", "d"}) == ":4");
  CHECK(Do(c, {"OBJECT", "ENCODING", "h"}) == "listpack");
  CHECK(Do(c, {"HSET", "h", "5", "e"}) == ":1");
  CHECK(Do(c, {"OBJECT", "ENCODING", "h"}) == "hashtable");
  CHECK(Sorted(c, {"HKEYS", "h"}) == std::vector<std::string>{"1", "2", "3", "4", "5"});
  CHECK(Do(c, {"HGET", "h", "3"}) == "c");
  CHECK(Do(c, {"CONFIG", "SET", "hash-max-ziplist-value", "2"}) == "+OK");
  CHECK(Do(c, {"CONFIG", "GET", "hash-max-listpack-value"}) == "[hash-max-listpack-value, 2]");
  CHECK(Do(c, {"HSET", "v", "a", "abc"}) == ":1");
  CHECK(Do(c, {"OBJECT", "ENCODING", "v"}) == "hashtable");
  CHECK(Do(c, {"CONFIG", "SET", "hash-max-listpack-entries", "-1"}).rfind("-ERR", 0) == 0);
}

TEST_CASE_FIXTURE(ServerFixture, "HGETALL answers a RESP3 map") {
  CHECK(Do(c, {"HSET", "h", "a", "1", "b", "2"}) == ":2");
  RawConnection raw(server.port());
  REQUIRE(raw.Send("HELLO 3\r\n"));
  raw.ReadReply();
  REQUIRE(raw.Send("HGETALL h\r\nHGETALL nokey\r\nHRANDFIELD h -1 WITHVALUES\r\n"));
  CHECK(raw.ReadReply() == "{a: 1, b: 2}");
  CHECK(raw.ReadReply() == "{}");
  const std::string pair = raw.ReadReply();
  CHECK((pair == "[[a, 1]]" || pair == "[[b, 2]]"));
}

TEST_CASE_FIXTURE(ServerFixture,
                  "hash commands on other types and string commands on hashes fail") {
  CHECK(Do(c, {"SET", "s", "v"}) == "+OK");
  for (const std::vector<std::string>& cmd :
       std::vector<std::vector<std::string>>{{"HSET", "s", "a", "1"},
                                             {"HSETNX", "s", "a", "1"},
                                             {"HGET", "s", "a"},
                                             {"HMGET", "s", "a"},
                                             {"HGETALL", "s"},
                                             {"HKEYS", "s"},
                                             {"HLEN", "s"},
                                             {"HEXISTS", "s", "a"},
                                             {"HDEL", "s", "a"},
                                             {"HINCRBY", "s", "a", "1"},
                                             {"HINCRBYFLOAT", "s", "a", "1"},
                                             {"HSTRLEN", "s", "a"},
                                             {"HRANDFIELD", "s"},
                                             {"HSCAN", "s", "0"}}) {
    CAPTURE(cmd[0]);
    CHECK(Do(c, cmd) == kWrongType);
  }
  CHECK(Do(c, {"HSET", "h", "a", "1"}) == ":1");
  for (const std::vector<std::string>& cmd :
       std::vector<std::vector<std::string>>{{"GET", "h"},
                                             {"GETSET", "h", "x"},
                                             {"GETDEL", "h"},
                                             {"GETEX", "h"},
                                             {"APPEND", "h", "x"},
                                             {"STRLEN", "h"},
                                             {"GETRANGE", "h", "0", "1"},
                                             {"SETRANGE", "h", "0", "x"},
                                             {"INCR", "h"},
                                             {"DECRBY", "h", "2"},
                                             {"INCRBYFLOAT", "h", "1"},
                                             {"SET", "h", "x", "GET"}}) {
    CAPTURE(cmd[0]);
    CHECK(Do(c, cmd) == kWrongType);
  }
  CHECK(Do(c, {"MGET", "h", "s"}) == "[(nil), v]");  // MGET reads other types as nil
  CHECK(Do(c, {"SETNX", "h", "x"}) == ":0");
  CHECK(Do(c, {"HGET", "h", "a"}) == "1");
  CHECK(Do(c, {"SET", "h", "x"}) == "+OK");  // a plain SET replaces any type
  CHECK(Do(c, {"TYPE", "h"}) == "+string");
}

}  // namespace flightcache::integration
