// commands_types_test.cc — the key commands on hashes, lists and sets against the real binary:
// TYPE, SCAN ... TYPE, RENAME/RENAMENX, COPY, DEL/UNLINK, the EXPIRE family and expiry, FLUSHALL,
// OBJECT ENCODING and MEMORY USAGE; and maxmemory eviction under a flood of HSET, SADD and RPUSH.
#include <doctest/doctest.h>

#include <algorithm>
#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include "tests/integration/memory_flood.h"
#include "tests/integration/server_process.h"

namespace flightcache::integration {
namespace {

std::vector<std::string> ScanAll(const ContextPtr& c, const std::vector<std::string>& options) {
  std::vector<std::string> seen;
  std::string cursor = "0";
  do {
    std::vector<std::string> args{"SCAN", cursor};
    args.insert(args.end(), options.begin(), options.end());
    ReplyPtr r = Command(c.get(), args);
    REQUIRE(r);
    REQUIRE(r->elements == 2);
    cursor = Show(r->element[0]);
    for (size_t i = 0; i < r->element[1]->elements; ++i)
      seen.push_back(Show(r->element[1]->element[i]));
  } while (cursor != "0");
  std::sort(seen.begin(), seen.end());
  return seen;
}

constexpr long long kMb = 1024 * 1024;

}  // namespace

TEST_CASE_FIXTURE(ServerFixture, "TYPE and SCAN TYPE know every type") {
  CHECK(Do(c, {"SET", "s", "v"}) == "+OK");
  CHECK(Do(c, {"HSET", "h", "f", "v"}) == ":1");
  CHECK(Do(c, {"RPUSH", "l", "a"}) == ":1");
  CHECK(Do(c, {"SADD", "t", "m"}) == ":1");
  CHECK(Do(c, {"TYPE", "s"}) == "+string");
  CHECK(Do(c, {"TYPE", "h"}) == "+hash");
  CHECK(Do(c, {"TYPE", "l"}) == "+list");
  CHECK(Do(c, {"TYPE", "t"}) == "+set");
  CHECK(Do(c, {"TYPE", "nokey"}) == "+none");
  CHECK(ScanAll(c, {"TYPE", "hash"}) == std::vector<std::string>{"h"});
  CHECK(ScanAll(c, {"TYPE", "LIST"}) == std::vector<std::string>{"l"});
  CHECK(ScanAll(c, {"TYPE", "set"}) == std::vector<std::string>{"t"});
  CHECK(ScanAll(c, {"TYPE", "string"}) == std::vector<std::string>{"s"});
  CHECK(ScanAll(c, {"TYPE", "zset"}).empty());
  CHECK(ScanAll(c, {}) == std::vector<std::string>{"h", "l", "s", "t"});
}

TEST_CASE_FIXTURE(ServerFixture, "RENAME and COPY move and copy typed values with their TTL") {
  CHECK(Do(c, {"HSET", "h", "a", "1", "b", "2"}) == ":2");
  CHECK(Do(c, {"EXPIRE", "h", "100"}) == ":1");
  CHECK(Do(c, {"RENAME", "h", "h2"}) == "+OK");
  CHECK(Do(c, {"EXISTS", "h"}) == ":0");
  CHECK(Do(c, {"HGETALL", "h2"}) == "[a, 1, b, 2]");
  CHECK(Do(c, {"TTL", "h2"}) == ":100");
  CHECK(Do(c, {"SET", "s", "v"}) == "+OK");
  CHECK(Do(c, {"RENAMENX", "h2", "s"}) == ":0");
  CHECK(Do(c, {"RENAME", "h2", "s"}) == "+OK");  // over a string
  CHECK(Do(c, {"TYPE", "s"}) == "+hash");
  CHECK(Do(c, {"COPY", "s", "c"}) == ":1");
  CHECK(Do(c, {"HSET", "s", "a", "changed"}) == ":0");
  CHECK(Do(c, {"HGET", "c", "a"}) == "1");  // a deep copy
  CHECK(Do(c, {"TTL", "c"}) == ":100");
  CHECK(Do(c, {"RPUSH", "l", "x", "y"}) == ":2");
  CHECK(Do(c, {"COPY", "l", "c"}) == ":0");
  CHECK(Do(c, {"COPY", "l", "c", "REPLACE"}) == ":1");
  CHECK(Do(c, {"LRANGE", "c", "0", "-1"}) == "[x, y]");
  CHECK(Do(c, {"SADD", "t", "1", "2"}) == ":2");
  CHECK(Do(c, {"COPY", "t", "t2"}) == ":1");
  CHECK(Do(c, {"SREM", "t", "1"}) == ":1");
  CHECK(Do(c, {"SCARD", "t2"}) == ":2");
  CHECK(Do(c, {"OBJECT", "ENCODING", "t2"}) == "intset");
}

TEST_CASE_FIXTURE(ServerFixture, "DEL UNLINK EXPIRE PERSIST and FLUSHALL act on typed values") {
  CHECK(Do(c, {"HSET", "h", "a", "1"}) == ":1");
  CHECK(Do(c, {"RPUSH", "l", "a"}) == ":1");
  CHECK(Do(c, {"SADD", "t", "a"}) == ":1");
  CHECK(Do(c, {"DEL", "h", "nokey"}) == ":1");
  CHECK(Do(c, {"UNLINK", "l"}) == ":1");
  CHECK(Do(c, {"PEXPIRE", "t", "100000"}) == ":1");
  CHECK(Do(c, {"PERSIST", "t"}) == ":1");
  CHECK(Do(c, {"TTL", "t"}) == ":-1");
  CHECK(Do(c, {"PEXPIRE", "t", "20"}) == ":1");
  CHECK(Do(c, {"SADD", "t", "b"}) == ":1");  // a write keeps the TTL
  CHECK(WaitUntil([&] { return Do(c, {"EXISTS", "t"}) == ":0"; }));
  CHECK(Do(c, {"HSET", "gone", "a", "1"}) == ":1");
  CHECK(Do(c, {"PEXPIRE", "gone", "20"}) == ":1");
  // Active expiry removes it without any lookup.
  CHECK(WaitUntil([&] { return Do(c, {"DBSIZE"}) == ":0"; }));
  CHECK(Do(c, {"HSET", "h", "a", "1"}) == ":1");
  CHECK(Do(c, {"SADD", "t", "a"}) == ":1");
  CHECK(Do(c, {"FLUSHALL"}) == "+OK");
  CHECK(Do(c, {"DBSIZE"}) == ":0");
}

TEST_CASE_FIXTURE(ServerFixture, "MEMORY USAGE counts a typed value's whole size") {
  CHECK(Do(c, {"HSET", "small", "a", "1"}) == ":1");
  ReplyPtr small = Command(c.get(), {"MEMORY", "USAGE", "small"});
  REQUIRE(small);
  REQUIRE(small->type == REDIS_REPLY_INTEGER);
  for (int i = 0; i < 2000; ++i) {
    Append(c.get(), {"HSET", "big", "field:" + std::to_string(i), std::string(30, 'v')});
  }
  for (int i = 0; i < 2000; ++i) REQUIRE(NextReply(c.get()));
  ReplyPtr big = Command(c.get(), {"MEMORY", "USAGE", "big", "SAMPLES", "5"});
  REQUIRE(big);
  REQUIRE(big->type == REDIS_REPLY_INTEGER);
  CHECK(big->integer > 2000 * 40);
  CHECK(big->integer < 2000 * 120);
  CHECK(small->integer < 200);
}

TEST_CASE("used_memory stays within 5% of maxmemory under a flood of HSET, SADD and RPUSH") {
  ServerFixture f({"--maxmemory", "8mb"});
  // At least 10 rounds (about 13 MB in all: past the bound). Many small objects, then a few
  // that keep growing: both kinds must be evictable.
  FloodWithinMaxmemory(f.c, 8 * kMb, 10, [](int round, int index) -> std::vector<std::string> {
    const std::string n = std::to_string(round) + ":" + std::to_string(index);
    switch (index % 500 % 3) {
      case 0:
        return {"HSET", "h:" + n, "field", std::string(40, 'v'), "f2", "x"};
      case 1:
        return {"SADD", "s:" + n, "member-" + n, "other"};
      default:
        return {"RPUSH", "l:" + std::to_string(index % 500 % 50), std::string(60, 'e')};
    }
  });
  CHECK(InfoNumber(f.c, "evicted_keys") > 1000);
}

TEST_CASE("the default benchmark families run under redis-benchmark") {
  ServerFixture f;
  const std::string port = std::to_string(f.server.port());
  RunResult run = RunToExit(
      "/usr/bin/redis-benchmark",
      {"-p", port, "-q", "-n", "2000", "-t", "lpush,rpush,lpop,rpop,sadd,hset,spop,lrange_100"},
      milliseconds(60000));
  CHECK(run.exit_code == 0);
  CHECK(run.output.find("ERR") == std::string::npos);
  CHECK(run.output.find("LRANGE_100") != std::string::npos);
}

}  // namespace flightcache::integration
