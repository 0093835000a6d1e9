// commands_keyspace_test.cc — key commands against the real binary: DEL/UNLINK/EXISTS/TOUCH,
// TYPE, KEYS, SCAN, RANDOMKEY, RENAME/RENAMENX, COPY, the EXPIRE family, TTL queries, PERSIST,
// DBSIZE, FLUSHDB/FLUSHALL, and active expiry. Replies are redis-server 7.0's.
#include <doctest/doctest.h>

#include <algorithm>
#include <chrono>
#include <set>
#include <thread>

#include "tests/integration/server_process.h"

namespace flightcache::integration {
namespace {

// KEYS pattern, sorted.
std::vector<std::string> SortedKeys(const ContextPtr& c, const std::string& pattern) {
  ReplyPtr r = Command(c.get(), {"KEYS", pattern});
  REQUIRE(r);
  REQUIRE(r->type == REDIS_REPLY_ARRAY);
  std::vector<std::string> keys;
  for (size_t i = 0; i < r->elements; ++i)
    keys.emplace_back(r->element[i]->str, r->element[i]->len);
  std::sort(keys.begin(), keys.end());
  return keys;
}

// Runs SCAN to completion with extra options; returns every key seen (with repeats) and
// fails the test if the cursor does not come back to 0 within max_calls.
std::vector<std::string> FullScan(const ContextPtr& c, const std::vector<std::string>& options,
                                  int max_calls = 100000) {
  std::vector<std::string> seen;
  std::string cursor = "0";
  for (int calls = 0; calls < max_calls; ++calls) {
    std::vector<std::string> args{"SCAN", cursor};
    args.insert(args.end(), options.begin(), options.end());
    ReplyPtr r = Command(c.get(), args);
    REQUIRE(r);
    REQUIRE(r->type == REDIS_REPLY_ARRAY);
    REQUIRE(r->elements == 2);
    cursor.assign(r->element[0]->str, r->element[0]->len);
    const redisReply* keys = r->element[1];
    for (size_t i = 0; i < keys->elements; ++i) {
      seen.emplace_back(keys->element[i]->str, keys->element[i]->len);
    }
    if (cursor == "0") return seen;
  }
  FAIL("SCAN did not finish within " << max_calls << " calls");
  return seen;
}

TEST_CASE_FIXTURE(ServerFixture, "DEL UNLINK EXISTS and TOUCH count each named key") {
  CHECK(Do(c, {"MSET", "a", "1", "b", "2", "c", "3"}) == "+OK");
  CHECK(Do(c, {"EXISTS", "c", "c", "c", "nosuch"}) == ":3");  // repeats count
  CHECK(Do(c, {"TOUCH", "c", "c", "nosuch"}) == ":2");
  CHECK(Do(c, {"DEL", "a", "a", "b", "nosuch"}) == ":2");  // a key is deleted once
  CHECK(Do(c, {"UNLINK", "c", "c"}) == ":1");
  CHECK(Do(c, {"DBSIZE"}) == ":0");
  CHECK(Do(c, {"DEL"}) == "-ERR wrong number of arguments for 'del' command");
  CHECK(Do(c, {"EXISTS"}) == "-ERR wrong number of arguments for 'exists' command");
  CHECK(Do(c, {"UNLINK"}) == "-ERR wrong number of arguments for 'unlink' command");
  CHECK(Do(c, {"TOUCH"}) == "-ERR wrong number of arguments for 'touch' command");
}

TEST_CASE_FIXTURE(ServerFixture, "TYPE says string or none and DBSIZE counts keys") {
  CHECK(Do(c, {"TYPE", "nosuch"}) == "+none");
  CHECK(Do(c, {"SET", "s", "v"}) == "+OK");
  CHECK(Do(c, {"TYPE", "s"}) == "+string");
  CHECK(Do(c, {"TYPE"}) == "-ERR wrong number of arguments for 'type' command");
  CHECK(Do(c, {"DBSIZE"}) == ":1");
  CHECK(Do(c, {"DBSIZE", "x"}) == "-ERR wrong number of arguments for 'dbsize' command");
}

TEST_CASE_FIXTURE(ServerFixture, "EXPIRE NX XX GT and LT set the TTL only under their condition") {
  CHECK(Do(c, {"SET", "p", "v"}) == "+OK");
  // No TTL yet: XX and GT refuse (no TTL counts as infinite), LT and NX accept.
  CHECK(Do(c, {"EXPIRE", "p", "10", "XX"}) == ":0");
  CHECK(Do(c, {"EXPIRE", "p", "10", "GT"}) == ":0");
  CHECK(Do(c, {"EXPIRE", "p", "10", "LT"}) == ":1");
  CHECK(Do(c, {"EXPIRE", "p", "10", "NX"}) == ":0");
  CHECK(Do(c, {"SET", "s", "v"}) == "+OK");
  CHECK(Do(c, {"EXPIRE", "s", "100", "NX"}) == ":1");
  CHECK(Do(c, {"EXPIRE", "s", "100", "XX"}) == ":1");
  CHECK(Do(c, {"EXPIRE", "s", "200", "GT"}) == ":1");
  CHECK(Do(c, {"TTL", "s"}) == ":200");
  CHECK(Do(c, {"EXPIRE", "s", "50", "GT"}) == ":0");
  CHECK(Do(c, {"EXPIRE", "s", "50", "LT"}) == ":1");
  CHECK(Do(c, {"EXPIRE", "s", "500", "LT"}) == ":0");
  CHECK(Do(c, {"TTL", "s"}) == ":50");
  CHECK(Do(c, {"EXPIRE", "s", "100", "XX", "GT"}) == ":1");
  CHECK(Do(c, {"PEXPIRE", "s", "300000", "gt"}) == ":1");
  CHECK(Do(c, {"TTL", "s"}) == ":300");
  CHECK(Do(c, {"EXPIRE", "nosuch", "10"}) == ":0");
}

TEST_CASE_FIXTURE(ServerFixture, "EXPIRE rejects incompatible options and bad times") {
  CHECK(Do(c, {"SET", "s", "v"}) == "+OK");
  const std::string nx_and = "-ERR NX and XX, GT or LT options at the same time are not compatible";
  CHECK(Do(c, {"EXPIRE", "s", "100", "NX", "XX"}) == nx_and);
  CHECK(Do(c, {"EXPIRE", "s", "100", "NX", "GT"}) == nx_and);
  CHECK(Do(c, {"EXPIRE", "s", "100", "GT", "LT"}) ==
        "-ERR GT and LT options at the same time are not compatible");
  CHECK(Do(c, {"EXPIRE", "s", "100", "FOO"}) == "-ERR Unsupported option FOO");
  CHECK(Do(c, {"EXPIRE", "s", "abc"}) == "-ERR value is not an integer or out of range");
  CHECK(Do(c, {"EXPIRE", "s", "9223372036854775807"}) ==
        "-ERR invalid expire time in 'expire' command");
  CHECK(Do(c, {"EXPIRE", "s", "9223372036854775"}) ==
        "-ERR invalid expire time in 'expire' command");
  CHECK(Do(c, {"PEXPIRE", "s", "9223372036854775807"}) ==
        "-ERR invalid expire time in 'pexpire' command");
  CHECK(Do(c, {"EXPIREAT", "s", "9223372036854775807"}) ==
        "-ERR invalid expire time in 'expireat' command");
  CHECK(Do(c, {"EXPIRE", "s"}) == "-ERR wrong number of arguments for 'expire' command");
  CHECK(Do(c, {"TTL", "s"}) == ":-1");
}

TEST_CASE_FIXTURE(ServerFixture, "EXPIRE with a past time deletes the key at once") {
  for (const std::vector<std::string>& expire : {std::vector<std::string>{"EXPIRE", "p", "-1"},
                                                 {"EXPIRE", "p", "0"},
                                                 {"PEXPIRE", "p", "0"},
                                                 {"EXPIREAT", "p", "1"},
                                                 {"PEXPIREAT", "p", "1"}}) {
    CAPTURE(expire[0]);
    CHECK(Do(c, {"SET", "p", "v"}) == "+OK");
    CHECK(Do(c, expire) == ":1");
    CHECK(Do(c, {"EXISTS", "p"}) == ":0");
  }
}

TEST_CASE_FIXTURE(ServerFixture, "TTL PTTL EXPIRETIME and PEXPIRETIME report -2 -1 or the time") {
  CHECK(Do(c, {"TTL", "nosuch"}) == ":-2");
  CHECK(Do(c, {"PTTL", "nosuch"}) == ":-2");
  CHECK(Do(c, {"EXPIRETIME", "nosuch"}) == ":-2");
  CHECK(Do(c, {"PEXPIRETIME", "nosuch"}) == ":-2");
  CHECK(Do(c, {"SET", "p", "v"}) == "+OK");
  CHECK(Do(c, {"TTL", "p"}) == ":-1");
  CHECK(Do(c, {"PTTL", "p"}) == ":-1");
  CHECK(Do(c, {"EXPIRETIME", "p"}) == ":-1");
  CHECK(Do(c, {"PEXPIRETIME", "p"}) == ":-1");
  CHECK(Do(c, {"EXPIREAT", "p", "4000000000"}) == ":1");
  CHECK(Do(c, {"EXPIRETIME", "p"}) == ":4000000000");
  CHECK(Do(c, {"PEXPIREAT", "p", "4000000000123"}) == ":1");
  CHECK(Do(c, {"PEXPIRETIME", "p"}) == ":4000000000123");
  CHECK(Do(c, {"EXPIRETIME", "p"}) == ":4000000000");
  CHECK(Do(c, {"PEXPIRE", "p", "100000"}) == ":1");
  ReplyPtr pttl = Command(c.get(), {"PTTL", "p"});
  REQUIRE(pttl);
  CHECK(pttl->integer > 99000);
  CHECK(pttl->integer <= 100000);
  CHECK(Do(c, {"TTL", "p"}) == ":100");
}

TEST_CASE_FIXTURE(ServerFixture, "PERSIST removes a TTL and says whether it did") {
  CHECK(Do(c, {"SET", "p", "v", "EX", "100"}) == "+OK");
  CHECK(Do(c, {"PERSIST", "p"}) == ":1");
  CHECK(Do(c, {"PERSIST", "p"}) == ":0");
  CHECK(Do(c, {"TTL", "p"}) == ":-1");
  CHECK(Do(c, {"PERSIST", "nosuch"}) == ":0");
}

TEST_CASE_FIXTURE(ServerFixture, "KEYS matches glob patterns with ? * classes and escapes") {
  CHECK(Do(c, {"MSET",  "k1", "a",    "k2", "b",        "k3", "c",      "hello", "1",  "hallo", "2",
               "hxllo", "3",  "hllo", "4",  "heeeello", "5",  "h[ello", "6",     "h*", "7"}) ==
        "+OK");
  using V = std::vector<std::string>;
  CHECK(SortedKeys(c, "h?llo") == V{"hallo", "hello", "hxllo"});
  CHECK(SortedKeys(c, "h*llo") == V{"h[ello", "hallo", "heeeello", "hello", "hllo", "hxllo"});
  CHECK(SortedKeys(c, "h[ae]llo") == V{"hallo", "hello"});
  CHECK(SortedKeys(c, "h[^e]llo") == V{"hallo", "hxllo"});
  CHECK(SortedKeys(c, "h[a-b]llo") == V{"hallo"});
  CHECK(SortedKeys(c, "h\\[ello") == V{"h[ello"});
  CHECK(SortedKeys(c, "h\\*") == V{"h*"});
  CHECK(SortedKeys(c, "k[1-2]") == V{"k1", "k2"});
  CHECK(SortedKeys(c, "nomatch*").empty());
  CHECK(SortedKeys(c, "*").size() == 10);
  CHECK(Do(c, {"KEYS"}) == "-ERR wrong number of arguments for 'keys' command");
}

TEST_CASE_FIXTURE(ServerFixture, "SCAN visits every key at least once with MATCH COUNT and TYPE") {
  constexpr int kKeys = 2000;
  std::vector<std::string> mset{"MSET"};
  for (int i = 0; i < kKeys; ++i) {
    mset.push_back((i % 2 ? "odd:" : "even:") + std::to_string(i));
    mset.push_back("v");
  }
  CHECK(Do(c, mset) == "+OK");
  std::vector<std::string> all = FullScan(c, {});
  std::set<std::string> distinct(all.begin(), all.end());
  CHECK(distinct.size() == kKeys);
  std::vector<std::string> odd = FullScan(c, {"MATCH", "odd:*", "COUNT", "7"});
  std::set<std::string> odd_distinct(odd.begin(), odd.end());
  CHECK(odd_distinct.size() == kKeys / 2);
  CHECK(std::all_of(odd.begin(), odd.end(), [](const std::string& k) { return k[0] == 'o'; }));
  std::vector<std::string> strings = FullScan(c, {"COUNT", "1000", "TYPE", "string"});
  CHECK(std::set<std::string>(strings.begin(), strings.end()).size() == kKeys);
  CHECK(FullScan(c, {"TYPE", "list", "COUNT", "500"}).empty());
  CHECK(FullScan(c, {"MATCH", "even:10", "TYPE", "string"}) == std::vector<std::string>{"even:10"});
}

TEST_CASE_FIXTURE(ServerFixture, "SCAN rejects bad cursors and options") {
  CHECK(Do(c, {"SCAN", "abc"}) == "-ERR invalid cursor");
  CHECK(Do(c, {"SCAN", "18446744073709551616"}) == "-ERR invalid cursor");
  CHECK(Do(c, {"SCAN", "0", "COUNT", "0"}) == "-ERR syntax error");
  CHECK(Do(c, {"SCAN", "0", "COUNT", "-1"}) == "-ERR syntax error");
  CHECK(Do(c, {"SCAN", "0", "COUNT", "abc"}) == "-ERR value is not an integer or out of range");
  CHECK(Do(c, {"SCAN", "0", "FOO", "bar"}) == "-ERR syntax error");
  CHECK(Do(c, {"SCAN", "0", "MATCH"}) == "-ERR syntax error");
  CHECK(Do(c, {"SCAN", "0"}) == "[0, []]");
}

TEST_CASE_FIXTURE(ServerFixture, "RANDOMKEY returns an existing key or nil") {
  CHECK(Do(c, {"RANDOMKEY"}) == "(nil)");
  CHECK(Do(c, {"MSET", "a", "1", "b", "2", "c", "3"}) == "+OK");
  std::set<std::string> seen;
  for (int i = 0; i < 200; ++i) {
    std::string k = Do(c, {"RANDOMKEY"});
    REQUIRE((k == "a" || k == "b" || k == "c"));
    seen.insert(k);
  }
  CHECK(seen.size() == 3);
}

TEST_CASE_FIXTURE(ServerFixture, "RENAME and RENAMENX move a value and keep its TTL") {
  CHECK(Do(c, {"SET", "a", "1", "EX", "100"}) == "+OK");
  CHECK(Do(c, {"RENAME", "a", "b"}) == "+OK");
  CHECK(Do(c, {"EXISTS", "a"}) == ":0");
  CHECK(Do(c, {"GET", "b"}) == "1");
  CHECK(Do(c, {"TTL", "b"}) == ":100");
  CHECK(Do(c, {"RENAME", "b", "b"}) == "+OK");
  CHECK(Do(c, {"GET", "b"}) == "1");
  CHECK(Do(c, {"SET", "c", "3"}) == "+OK");
  CHECK(Do(c, {"RENAME", "c", "b"}) == "+OK");  // overwrites, and the new value has no TTL
  CHECK(Do(c, {"TTL", "b"}) == ":-1");
  CHECK(Do(c, {"RENAME", "nosuch", "x"}) == "-ERR no such key");
  CHECK(Do(c, {"SET", "d", "4", "PX", "50000"}) == "+OK");
  CHECK(Do(c, {"RENAMENX", "d", "b"}) == ":0");
  CHECK(Do(c, {"RENAMENX", "d", "e"}) == ":1");
  CHECK(Do(c, {"TTL", "e"}) == ":50");
  CHECK(Do(c, {"RENAMENX", "e", "e"}) == ":0");
  CHECK(Do(c, {"RENAMENX", "nosuch", "x"}) == "-ERR no such key");
}

TEST_CASE_FIXTURE(ServerFixture,
                  "COPY copies value and TTL, REPLACE overwrites, DB n names another database") {
  CHECK(Do(c, {"SET", "src", "v", "EX", "100"}) == "+OK");
  CHECK(Do(c, {"COPY", "src", "dst"}) == ":1");
  CHECK(Do(c, {"GET", "dst"}) == "v");
  CHECK(Do(c, {"TTL", "dst"}) == ":100");
  CHECK(Do(c, {"SET", "src", "w"}) == "+OK");
  CHECK(Do(c, {"COPY", "src", "dst"}) == ":0");
  CHECK(Do(c, {"GET", "dst"}) == "v");
  CHECK(Do(c, {"COPY", "src", "dst", "REPLACE"}) == ":1");
  CHECK(Do(c, {"GET", "dst"}) == "w");
  CHECK(Do(c, {"TTL", "dst"}) == ":-1");
  CHECK(Do(c, {"COPY", "src", "dst", "DB", "0"}) == ":0");
  CHECK(Do(c, {"COPY", "src", "dst", "DB", "0", "REPLACE"}) == ":1");
  CHECK(Do(c, {"COPY", "src", "dst", "DB", "16"}) == "-ERR DB index is out of range");
  CHECK(Do(c, {"COPY", "src", "dst", "DB", "-1"}) == "-ERR DB index is out of range");
  CHECK(Do(c, {"COPY", "src", "dst", "DB", "abc"}) ==
        "-ERR value is not an integer or out of range");
  CHECK(Do(c, {"COPY", "src", "dst", "FOO"}) == "-ERR syntax error");
  CHECK(Do(c, {"COPY", "nosuch", "x"}) == ":0");
  CHECK(Do(c, {"COPY", "src", "src"}) == "-ERR source and destination objects are the same");
}

TEST_CASE_FIXTURE(ServerFixture, "FLUSHDB and FLUSHALL empty the keyspace, SYNC or ASYNC") {
  for (const std::vector<std::string>& flush : {std::vector<std::string>{"FLUSHDB"},
                                                {"FLUSHDB", "ASYNC"},
                                                {"FLUSHDB", "sync"},
                                                {"FLUSHALL"},
                                                {"FLUSHALL", "ASYNC"},
                                                {"FLUSHALL", "SYNC"}}) {
    CAPTURE(flush.size() > 1 ? flush[1] : flush[0]);
    CHECK(Do(c, {"MSET", "a", "1", "b", "2"}) == "+OK");
    CHECK(Do(c, {"SET", "t", "1", "EX", "100"}) == "+OK");
    CHECK(Do(c, flush) == "+OK");
    CHECK(Do(c, {"DBSIZE"}) == ":0");
    CHECK(Do(c, {"GET", "a"}) == "(nil)");
  }
  CHECK(Do(c, {"SET", "a", "1"}) == "+OK");
  CHECK(Do(c, {"FLUSHDB", "FOO"}) == "-ERR syntax error");
  CHECK(Do(c, {"FLUSHALL", "FOO"}) == "-ERR syntax error");
  CHECK(Do(c, {"FLUSHDB", "SYNC", "ASYNC"}) == "-ERR syntax error");
  CHECK(Do(c, {"DBSIZE"}) == ":1");
}

TEST_CASE("the active expiry cycle removes expired keys nobody touches") {
  ServerFixture f({"--hz", "50"});
  auto& c = f.c;
  constexpr int kKeys = 500;
  for (int i = 0; i < kKeys; ++i)
    Append(c.get(), {"SET", "t:" + std::to_string(i), "v", "PX", "30"});
  for (int i = 0; i < kKeys; ++i) REQUIRE(Show(NextReply(c.get()).get(), c.get()) == "+OK");
  CHECK(Do(c, {"SET", "keep", "v"}) == "+OK");
  // DBSIZE counts keys without looking them up, so only the active cycle can lower it.
  std::string dbsize;
  CHECK(WaitUntil([&] { return (dbsize = Do(c, {"DBSIZE"})) == ":1"; }));
  CAPTURE(dbsize);
  ReplyPtr info = Command(c.get(), {"INFO", "stats"});
  REQUIRE(info);
  CHECK(std::string(info->str, info->len).find("expired_keys:500\r\n") != std::string::npos);
}

}  // namespace
}  // namespace flightcache::integration
