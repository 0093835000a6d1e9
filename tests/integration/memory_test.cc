// memory_test.cc — maxmemory and eviction against the real binary: the bound holds under a
// write flood and under origin fills, each policy evicts what it should, noeviction answers
// OOM, CONFIG SET switches at run time, and OBJECT / MEMORY / redis-cli --bigkeys & co. work.
#include <doctest/doctest.h>

#include <chrono>
#include <thread>

#include "tests/integration/memory_flood.h"
#include "tests/integration/server_process.h"

namespace flightcache::integration {
namespace {

// Writes n keys prefix:i (value of value_size bytes, optional EX) in pipelined batches.
// Returns how many replies were errors, and the first error text in *first_error.
int Flood(const ContextPtr& c, const std::string& prefix, int n, size_t value_size,
          int ex_seconds = 0, std::string* first_error = nullptr) {
  const std::string value(value_size, 'x');
  int errors = 0;
  for (int start = 0; start < n; start += 500) {
    const int end = std::min(n, start + 500);
    for (int i = start; i < end; ++i) {
      std::vector<std::string> args = {"SET", prefix + std::to_string(i), value};
      if (ex_seconds) {
        args.push_back("EX");
        args.push_back(std::to_string(ex_seconds));
      }
      Append(c.get(), args);
    }
    for (int i = start; i < end; ++i) {
      ReplyPtr r = NextReply(c.get());
      REQUIRE(r);
      if (r->type == REDIS_REPLY_ERROR) {
        if (errors++ == 0 && first_error) *first_error = std::string(r->str, r->len);
      }
    }
  }
  return errors;
}

constexpr long long kMb = 1024 * 1024;

}  // namespace

TEST_CASE("used_memory stays within 5% of maxmemory under a write flood, for every policy") {
  for (const char* policy : {"allkeys-s3fifo", "allkeys-lru", "allkeys-lfu", "allkeys-random"}) {
    CAPTURE(policy);
    ServerFixture f({"--maxmemory", "8mb", "--maxmemory-policy", policy});
    for (int round = 0; round < 4; ++round) {
      CHECK(Flood(f.c, "r" + std::to_string(round) + ":", 25000, 100) == 0);
      const long long used = InfoNumber(f.c, "used_memory");
      CHECK(used <= 8 * kMb * 105 / 100);
    }
    CHECK(InfoNumber(f.c, "evicted_keys") > 20000);
    ReplyPtr size = Command(f.c.get(), {"DBSIZE"});
    REQUIRE(size);
    CHECK(size->integer < 100000);
    CHECK(size->integer > 10000);  // most of the budget holds keys, not overhead
  }
}

TEST_CASE("the default policy is allkeys-s3fifo") {
  ServerFixture f;
  CHECK(Do(f.c, {"CONFIG", "GET", "maxmemory-policy"}) == "[maxmemory-policy, allkeys-s3fifo]");
}

TEST_CASE("under noeviction writes get OOM while reads and deletes still work") {
  ServerFixture f({"--maxmemory", "3mb", "--maxmemory-policy", "noeviction"});
  CHECK(Do(f.c, {"SET", "first", "kept"}) == "+OK");
  std::string error;
  CHECK(Flood(f.c, "k:", 60000, 100, 0, &error) > 0);
  CHECK(error == "OOM command not allowed when used memory > 'maxmemory'.");
  CHECK(Do(f.c, {"GET", "first"}) == "kept");
  CHECK(Do(f.c, {"SET", "another", "x"}).rfind("-OOM", 0) == 0);
  CHECK(Do(f.c, {"DEL", "first"}) == ":1");
  CHECK(InfoNumber(f.c, "evicted_keys") == 0);
  CHECK(InfoNumber(f.c, "used_memory") <= 3 * kMb * 105 / 100);
}

TEST_CASE("volatile-lru evicts only keys with a TTL, then answers OOM") {
  ServerFixture f({"--maxmemory", "4mb", "--maxmemory-policy", "volatile-lru"});
  CHECK(Flood(f.c, "keep:", 2000, 50) == 0);
  CHECK(Flood(f.c, "ttl:", 60000, 100, 1000) == 0);
  CHECK(InfoNumber(f.c, "evicted_keys") > 0);
  std::vector<std::string> exists = {"EXISTS"};
  for (int i = 0; i < 2000; ++i) exists.push_back("keep:" + std::to_string(i));
  CHECK(Do(f.c, exists) == ":2000");
  // Persistent keys may not be evicted: once the volatile ones are gone, writes fail.
  std::string error;
  CHECK(Flood(f.c, "more:", 60000, 100, 0, &error) > 0);
  CHECK(error.rfind("OOM", 0) == 0);
  CHECK(Do(f.c, exists) == ":2000");
}

TEST_CASE("CONFIG SET changes maxmemory and the policy at run time") {
  ServerFixture f;
  CHECK(Flood(f.c, "k:", 30000, 100) == 0);
  CHECK(InfoNumber(f.c, "used_memory") > 3 * kMb);
  CHECK(Do(f.c, {"CONFIG", "SET", "maxmemory", "2mb"}) == "+OK");
  CHECK(InfoNumber(f.c, "used_memory") <= 2 * kMb * 105 / 100);
  CHECK(InfoNumber(f.c, "evicted_keys") > 0);
  CHECK(Do(f.c, {"CONFIG", "SET", "maxmemory-policy", "noeviction"}) == "+OK");
  CHECK(Do(f.c, {"CONFIG", "GET", "maxmemory-policy"}) == "[maxmemory-policy, noeviction]");
  std::string error;
  CHECK(Flood(f.c, "n:", 20000, 100, 0, &error) > 0);
  CHECK(error.rfind("OOM", 0) == 0);
  CHECK(Do(f.c, {"CONFIG", "SET", "maxmemory-policy", "allkeys-lru"}) == "+OK");
  CHECK(Flood(f.c, "l:", 20000, 100) == 0);
  CHECK(Do(f.c, {"CONFIG", "SET", "maxmemory-policy", "sometimes"})
            .rfind("-ERR CONFIG SET failed (possibly related to argument 'maxmemory-policy')", 0) ==
        0);
  CHECK(Do(f.c, {"CONFIG", "SET", "maxmemory", "0"}) == "+OK");
  CHECK(Flood(f.c, "free:", 20000, 100) == 0);
  CHECK(Do(f.c, {"INFO", "memory"}).find("maxmemory:0\r\n") != std::string::npos);
}

TEST_CASE("values filled from the origin are bounded and evicted like any other") {
  const int origin_port = FreeTcpPort();
  ChildProcess origin(SpawnOptions{
      RequiredEnv("TEST_ORIGIN_BIN"), {"--port", std::to_string(origin_port)}, {}, origin_port});
  ServerFixture f(
      {"--origin", "redis://127.0.0.1:" + std::to_string(origin_port), "--maxmemory", "3mb"});
  for (int start = 0; start < 40000; start += 500) {
    for (int i = start; i < start + 500; ++i) {
      Append(f.c.get(), {"GET", "origin-key-with-a-longish-name:" + std::to_string(i)});
    }
    for (int i = start; i < start + 500; ++i) {
      ReplyPtr r = NextReply(f.c.get());
      REQUIRE(r);
      REQUIRE(r->type == REDIS_REPLY_STRING);
    }
  }
  // What grew outside the keyspace during the load (tables of flights, buffers) is seen at the
  // allocator's next re-measure (the hz cron), which evicts for it: used_memory settles within
  // the bound.
  long long used = 0;
  CHECK(WaitUntil([&] { return (used = InfoNumber(f.c, "used_memory")) <= 3 * kMb * 105 / 100; },
                  milliseconds(10000)));
  CAPTURE(used);
  CHECK(InfoNumber(f.c, "evicted_keys") > 0);
  CHECK(InfoNumber(f.c, "origin_fills") == 40000);
}

TEST_CASE("origin values held in unread replies are counted: keys make room for them") {
  // One client pipelines 2000 misses of 10 KB values and reads nothing: far more than the
  // kernel's socket buffers take stays queued in the server. Eviction must count those replies
  // at once, not at the allocator's next re-measure (--hz 1: once a second). One worker, so
  // that the INFO below runs after every delivery (they happen on the same loop).
  const int origin_port = FreeTcpPort();
  ChildProcess origin(SpawnOptions{RequiredEnv("TEST_ORIGIN_BIN"),
                                   {"--port", std::to_string(origin_port), "--value-size", "10000"},
                                   {},
                                   origin_port});
  ServerFixture f({"--origin", "redis://127.0.0.1:" + std::to_string(origin_port), "--maxmemory",
                   "32mb", "--hz", "1", "--origin-timeout", "60000", "--threads", "1"});
  const std::string value(10000, 'v');
  for (int start = 0; start < 3000; start += 500) {
    for (int i = start; i < start + 500; ++i) {
      Append(f.c.get(), {"SET", "stored:" + std::to_string(i), value});
    }
    for (int i = start; i < start + 500; ++i) REQUIRE(Show(NextReply(f.c.get()).get()) == "+OK");
  }
  ContextPtr reader = Connect(f.server.port(), milliseconds(60000));
  for (int i = 0; i < 2000; ++i) Append(reader.get(), {"GET", "burst:" + std::to_string(i)});
  int done = 0;
  while (!done) REQUIRE(redisBufferWrite(reader.get(), &done) == REDIS_OK);
  CHECK(WaitUntil([&] { return InfoNumber(f.c, "origin_fills") == 2000; }));
  const long long held = InfoNumber(f.c, "mem_clients_normal");
  CAPTURE(held);
  CHECK(held > 4 * kMb);  // most of the 20 MB is still queued here, not in the kernel
  CHECK(InfoNumber(f.c, "used_memory") <= 32 * kMb * 105 / 100);
  CHECK(InfoNumber(f.c, "evicted_keys") > 0);
  for (int i = 0; i < 2000; ++i) {
    ReplyPtr r = NextReply(reader.get());
    REQUIRE(r);
    CHECK(r->len == 10000);
  }
  CHECK(WaitUntil([&] { return InfoNumber(f.c, "mem_clients_normal") < 100000; }));
}

TEST_CASE("INFO counts hits, misses, expired and evicted keys") {
  ServerFixture f;
  CHECK(Do(f.c, {"SET", "a", "1"}) == "+OK");
  CHECK(Do(f.c, {"GET", "a"}) == "1");
  CHECK(Do(f.c, {"GET", "a"}) == "1");
  CHECK(Do(f.c, {"GET", "nope"}) == "(nil)");
  CHECK(Do(f.c, {"MGET", "a", "nope", "nada"}) == "[1, (nil), (nil)]");
  CHECK(InfoNumber(f.c, "keyspace_hits") == 3);
  CHECK(InfoNumber(f.c, "keyspace_misses") == 3);
  CHECK(Do(f.c, {"SET", "short", "x", "PX", "20"}) == "+OK");
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  CHECK(Do(f.c, {"GET", "short"}) == "(nil)");
  CHECK(InfoNumber(f.c, "expired_keys") == 1);
  CHECK(InfoNumber(f.c, "evicted_keys") == 0);
  CHECK(Do(f.c, {"CONFIG", "RESETSTAT"}) == "+OK");
  CHECK(InfoNumber(f.c, "keyspace_hits") == 0);
  CHECK(InfoNumber(f.c, "expired_keys") == 0);
}

TEST_CASE("OBJECT ENCODING, FREQ, IDLETIME and MEMORY USAGE answer as Redis does") {
  ServerFixture f;
  CHECK(Do(f.c, {"SET", "n", "12345"}) == "+OK");
  CHECK(Do(f.c, {"SET", "s", "short string"}) == "+OK");
  CHECK(Do(f.c, {"SET", "l", std::string(100, 'x')}) == "+OK");
  CHECK(Do(f.c, {"OBJECT", "ENCODING", "n"}) == "int");
  CHECK(Do(f.c, {"OBJECT", "ENCODING", "s"}) == "embstr");
  CHECK(Do(f.c, {"OBJECT", "ENCODING", "l"}) == "raw");
  CHECK(Do(f.c, {"OBJECT", "ENCODING", "missing"}) == "(nil)");
  CHECK(Do(f.c, {"OBJECT", "FREQ", "s"}) == ":5");  // S3-FIFO tracks LFU counters
  CHECK(Do(f.c, {"OBJECT", "IDLETIME", "s"})
            .rfind("-ERR The S3-FIFO maxmemory policy is selected, idle time not tracked", 0) == 0);
  CHECK(Do(f.c, {"CONFIG", "SET", "maxmemory-policy", "allkeys-lfu"}) == "+OK");
  CHECK(Do(f.c, {"OBJECT", "IDLETIME", "s"}).rfind("-ERR An LFU maxmemory policy is selected", 0) ==
        0);
  CHECK(Do(f.c, {"CONFIG", "SET", "maxmemory-policy", "allkeys-lru"}) == "+OK");
  CHECK(Do(f.c, {"OBJECT", "IDLETIME", "s"}) == ":0");
  CHECK(Do(f.c, {"OBJECT", "FREQ", "s"}).rfind("-ERR An LFU maxmemory policy is not selected", 0) ==
        0);
  ReplyPtr usage = Command(f.c.get(), {"MEMORY", "USAGE", "l"});
  REQUIRE(usage);
  REQUIRE(usage->type == REDIS_REPLY_INTEGER);
  CHECK(usage->integer > 100);
  CHECK(usage->integer < 200);
  CHECK(Do(f.c, {"MEMORY", "USAGE", "missing"}) == "(nil)");
  CHECK(Do(f.c, {"OBJECT", "NOPE", "s"}) == "-ERR unknown subcommand 'NOPE'. Try OBJECT HELP.");
}

TEST_CASE("redis-cli --bigkeys, --memkeys and --hotkeys run against the server") {
  ServerFixture f;
  CHECK(Flood(f.c, "k:", 500, 20) == 0);
  CHECK(Do(f.c, {"SET", "the-big-one", std::string(5000, 'b')}) == "+OK");
  for (int i = 0; i < 20; ++i) CHECK(Do(f.c, {"GET", "k:7"}) == std::string(20, 'x'));
  const std::string port = std::to_string(f.server.port());
  RunResult big = RunToExit("/usr/bin/redis-cli", {"-p", port, "--bigkeys"}, milliseconds(20000));
  CHECK(big.exit_code == 0);
  CHECK(big.output.find("Biggest string found '\"the-big-one\"' has 5000 bytes") !=
        std::string::npos);
  RunResult mem = RunToExit("/usr/bin/redis-cli", {"-p", port, "--memkeys"}, milliseconds(20000));
  CHECK(mem.exit_code == 0);
  CHECK(mem.output.find("the-big-one") != std::string::npos);
  RunResult hot = RunToExit("/usr/bin/redis-cli", {"-p", port, "--hotkeys"}, milliseconds(20000));
  CHECK(hot.exit_code == 0);
  CHECK(hot.output.find("hot key found") != std::string::npos);
}

namespace {

// The command that writes a value of `elements` elements under key, as one command: a hash of
// fields, a set or zset of members, or a list.
std::vector<std::string> BigValueCommand(const std::string& type, const std::string& key,
                                         int elements) {
  std::vector<std::string> args;
  if (type == "hash") args = {"HSET", key};
  if (type == "set") args = {"SADD", key};
  if (type == "zset") args = {"ZADD", key};
  if (type == "list") args = {"RPUSH", key};
  for (int i = 0; i < elements; ++i) {
    if (type == "zset") args.push_back(std::to_string(i));
    args.push_back("element:" + std::to_string(i) + ":" + std::string(20, 'e'));
    if (type == "hash") args.push_back("value");
  }
  return args;
}

}  // namespace

TEST_CASE("used_memory stays within 5% of maxmemory under a flood of big HSET/SADD/ZADD/RPUSH") {
  // Each value is past its compact encoding's bounds (hashtable, hashtable, skiplist,
  // quicklist), so the whole structure must be counted for the bound to hold.
  struct Flood {
    const char* type;
    int elements;
    const char* encoding;
  };
  for (const Flood& flood : {Flood{"hash", 600, "hashtable"}, Flood{"set", 600, "hashtable"},
                             Flood{"zset", 300, "skiplist"}, Flood{"list", 1200, "quicklist"}}) {
    const std::string type = flood.type;
    CAPTURE(type);
    ServerFixture f({"--maxmemory", "8mb"});
    CHECK(Do(f.c, BigValueCommand(flood.type, "probe", flood.elements)) ==
          ":" + std::to_string(flood.elements));
    CHECK(Do(f.c, {"OBJECT", "ENCODING", "probe"}) == flood.encoding);
    for (int batch = 0; batch < 20; ++batch) {
      for (int i = 0; i < 50; ++i) {
        const std::string key = std::string(flood.type) + ":" + std::to_string(batch * 50 + i);
        Append(f.c.get(), BigValueCommand(flood.type, key, flood.elements));
      }
      for (int i = 0; i < 50; ++i) {
        ReplyPtr r = NextReply(f.c.get());
        REQUIRE(r);
        REQUIRE(r->type == REDIS_REPLY_INTEGER);
      }
      const long long used = InfoNumber(f.c, "used_memory");
      CAPTURE(batch);
      CHECK(used <= 8 * kMb * 105 / 100);
    }
    // 1000 values of 30 KB or more: most had to go.
    CHECK(InfoNumber(f.c, "evicted_keys") > 500);
    ReplyPtr size = Command(f.c.get(), {"DBSIZE"});
    REQUIRE(size);
    CHECK(size->integer > 50);  // the budget holds values, not overhead
  }
}

TEST_CASE(
    "used_memory stays within 5% of maxmemory under a flood of ZADD past the listpack bound") {
  ServerFixture f({"--maxmemory", "8mb"});
  // Many small zsets (listpack), and a few that grow past zset-max-listpack-entries (128) into
  // skiplists: both kinds must be counted and evictable.
  FloodWithinMaxmemory(f.c, 8 * kMb, 6, [](int round, int index) -> std::vector<std::string> {
    const int i = index % 500, batch = index / 500;
    const std::string n = std::to_string(round) + ":" + std::to_string(index);
    if (i % 2 == 0) return {"ZADD", "z:" + n, "1", "member-" + n, "2", "other"};
    return {"ZADD", "zbig:" + std::to_string(i % 20), std::to_string(batch),
            "member-" + n + std::string(30, 'm')};
  });
  CHECK(InfoNumber(f.c, "evicted_keys") > 1000);
}

TEST_CASE("redis-cli --bigkeys and --memkeys report the biggest key of every type") {
  ServerFixture f;
  CHECK(Do(f.c, BigValueCommand("hash", "bighash", 700)) == ":700");
  CHECK(Do(f.c, BigValueCommand("set", "bigset", 600)) == ":600");
  CHECK(Do(f.c, BigValueCommand("zset", "bigzset", 300)) == ":300");
  CHECK(Do(f.c, BigValueCommand("list", "biglist", 1000)) == ":1000");
  CHECK(Do(f.c, {"SET", "bigstring", std::string(5000, 's')}) == "+OK");
  for (int i = 0; i < 20; ++i) {
    const std::string n = std::to_string(i);
    CHECK(Do(f.c, {"HSET", "h" + n, "f", "v"}) == ":1");
    CHECK(Do(f.c, {"SADD", "s" + n, "m"}) == ":1");
    CHECK(Do(f.c, {"ZADD", "z" + n, "1", "m"}) == ":1");
    CHECK(Do(f.c, {"RPUSH", "l" + n, "e"}) == ":1");
    CHECK(Do(f.c, {"SET", "k" + n, "v"}) == "+OK");
  }
  const std::string port = std::to_string(f.server.port());
  RunResult big = RunToExit("/usr/bin/redis-cli", {"-p", port, "--bigkeys"}, milliseconds(20000));
  CAPTURE(big.output);
  CHECK(big.exit_code == 0);
  for (const char* line :
       {"Biggest   hash found '\"bighash\"' has 700 fields",
        "Biggest    set found '\"bigset\"' has 600 members",
        "Biggest   zset found '\"bigzset\"' has 300 members",
        "Biggest   list found '\"biglist\"' has 1000 items",
        "Biggest string found '\"bigstring\"' has 5000 bytes", "21 hashs with 720 fields",
        "21 sets with 620 members", "21 zsets with 320 members", "21 lists with 1020 items"}) {
    CHECK(big.output.find(line) != std::string::npos);
  }
  RunResult mem = RunToExit("/usr/bin/redis-cli", {"-p", port, "--memkeys"}, milliseconds(20000));
  CAPTURE(mem.output);
  CHECK(mem.exit_code == 0);
  for (const char* key : {"hash found '\"bighash\"' has", "set found '\"bigset\"' has",
                          "zset found '\"bigzset\"' has", "list found '\"biglist\"' has",
                          "string found '\"bigstring\"' has"}) {
    CHECK(mem.output.find(key) != std::string::npos);
  }
  CHECK(mem.output.find("ERR") == std::string::npos);
  CHECK(big.output.find("ERR") == std::string::npos);
}

}  // namespace flightcache::integration
