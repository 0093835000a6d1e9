// lazyfree_test.cc — lazy freeing against the real binary (storage/lazyfree.h): UNLINK frees a
// big value on the background thread while other clients are answered; DEL, overwrites, expiry,
// eviction and FLUSHALL/FLUSHDB follow Redis 7.0's lazyfree-lazy-* options; small values and
// flat encodings are freed at once. Every check reads the server's own INFO figures
// (lazyfreed_objects, lazyfree_pending_objects, used_memory) and waits on them with WaitUntil:
// nothing here depends on how fast the free runs.
#include <doctest/doctest.h>

#include <csignal>
#include <string>
#include <vector>

#include "tests/integration/server_process.h"

namespace flightcache::integration {
namespace {

// Adds `count` members (or fields, for HSET) to key, `per_command` at a time, pipelined.
void Fill(const ContextPtr& c, const std::string& command, const std::string& key, int count,
          int per_command = 1000) {
  int commands = 0;
  for (int start = 0; start < count; start += per_command) {
    std::vector<std::string> args = {command, key};
    for (int i = start; i < count && i < start + per_command; ++i) {
      if (command == "ZADD") args.push_back(std::to_string(i));
      args.push_back("member:" + std::to_string(i));
      if (command == "HSET") args.push_back("v");
    }
    Append(c.get(), args);
    ++commands;
  }
  for (int i = 0; i < commands; ++i) {
    ReplyPtr r = NextReply(c.get());
    REQUIRE(r);
    REQUIRE(r->type == REDIS_REPLY_INTEGER);
  }
}

long long Lazyfreed(const ContextPtr& c) { return InfoNumber(c, "lazyfreed_objects"); }

// Waits until the lazy-free thread has nothing left; true when it got there.
bool WaitIdle(const ContextPtr& c) {
  return WaitUntil([&] { return InfoNumber(c, "lazyfree_pending_objects") == 0; });
}

}  // namespace

TEST_CASE_FIXTURE(ServerFixture, "the lazyfree options are CONFIG GET/SET-able, default no") {
  for (const char* name :
       {"lazyfree-lazy-eviction", "lazyfree-lazy-expire", "lazyfree-lazy-server-del",
        "lazyfree-lazy-user-del", "lazyfree-lazy-user-flush"}) {
    CAPTURE(name);
    CHECK(Do(c, {"CONFIG", "GET", name}) == std::string("[") + name + ", no]");
    CHECK(Do(c, {"CONFIG", "SET", name, "yes"}) == "+OK");
    CHECK(Do(c, {"CONFIG", "GET", name}) == std::string("[") + name + ", yes]");
    CHECK(Do(c, {"CONFIG", "SET", name, "maybe"}) ==
          std::string("-ERR CONFIG SET failed (possibly related to argument '") + name +
              "') - argument must be 'yes' or 'no'");
  }
  CHECK(InfoValue(c.get(), "lazyfree_pending_objects") == "0");
  CHECK(InfoValue(c.get(), "lazyfreed_objects") == "0");
}

TEST_CASE("UNLINK of a 1M-member set and a 1M-field hash frees them off the loop") {
  ServerFixture f;
  ContextPtr other = Connect(f.server.port());
  const long long empty = InfoNumber(f.c, "used_memory");
  for (const char* command : {"SADD", "HSET"}) {
    CAPTURE(command);
    Fill(f.c, command, "big", 1000000);
    CHECK(Do(f.c, {"OBJECT", "ENCODING", "big"}) == "hashtable");
    const long long full = InfoNumber(f.c, "used_memory");
    REQUIRE(full > empty + 10 * 1024 * 1024);
    const long long before = Lazyfreed(f.c);
    CHECK(Do(f.c, {"UNLINK", "big"}) == ":1");
    // The key is gone at once, and the server answers while its memory is being freed.
    CHECK(Do(other, {"PING"}) == "+PONG");
    CHECK(Do(other, {"EXISTS", "big"}) == ":0");
    CHECK(Do(other, {"DBSIZE"}) == ":0");
    CHECK(WaitIdle(f.c));
    CHECK(Lazyfreed(f.c) == before + 1);
    // Most of what the value held is back: the thread freed it.
    const long long after = InfoNumber(f.c, "used_memory");
    CHECK(after < empty + (full - empty) / 4);
  }
}

TEST_CASE_FIXTURE(ServerFixture,
                  "values of at most 64 elements and flat encodings are freed at once") {
  // Hashtable encodings from the first element, so that only the element count decides.
  CHECK(Do(c, {"CONFIG", "SET", "hash-max-listpack-entries", "0"}) == "+OK");
  CHECK(Do(c, {"CONFIG", "SET", "set-max-intset-entries", "0"}) == "+OK");
  CHECK(Do(c, {"CONFIG", "SET", "set-max-listpack-entries", "0"}) == "+OK");
  CHECK(Do(c, {"CONFIG", "SET", "zset-max-listpack-entries", "0"}) == "+OK");
  for (const char* command : {"HSET", "SADD", "ZADD"}) {
    CAPTURE(command);
    Fill(c, command, "at-threshold", 64);
    CHECK(Do(c, {"OBJECT", "ENCODING", "at-threshold"}) ==
          (std::string(command) == "ZADD" ? "skiplist" : "hashtable"));
    CHECK(Do(c, {"UNLINK", "at-threshold"}) == ":1");
    CHECK(Lazyfreed(c) == 0);
    CHECK(InfoNumber(c, "lazyfree_pending_objects") == 0);
  }
  // One more element passes Redis's LAZYFREE_THRESHOLD.
  Fill(c, "HSET", "past-threshold", 65);
  CHECK(Do(c, {"UNLINK", "past-threshold"}) == ":1");
  CHECK(WaitIdle(c));
  CHECK(Lazyfreed(c) == 1);
  // Flat encodings are one allocation whatever they hold: a 500-field listpack hash, a
  // 400-member intset, a one-node list, a 1 MB string.
  CHECK(Do(c, {"CONFIG", "SET", "hash-max-listpack-entries", "512"}) == "+OK");
  CHECK(Do(c, {"CONFIG", "SET", "set-max-intset-entries", "512"}) == "+OK");
  Fill(c, "HSET", "flat-hash", 500);
  CHECK(Do(c, {"OBJECT", "ENCODING", "flat-hash"}) == "listpack");
  std::vector<std::string> sadd = {"SADD", "flat-set"};
  for (int i = 0; i < 400; ++i) sadd.push_back(std::to_string(i));
  CHECK(Do(c, sadd) == ":400");
  CHECK(Do(c, {"OBJECT", "ENCODING", "flat-set"}) == "intset");
  CHECK(Do(c, {"RPUSH", "short-list", "a", "b", "c"}) == ":3");
  CHECK(Do(c, {"SET", "string", std::string(1024 * 1024, 's')}) == "+OK");
  CHECK(Do(c, {"UNLINK", "flat-hash", "flat-set", "short-list", "string"}) == ":4");
  CHECK(Lazyfreed(c) == 1);
  // A long list counts its nodes: 100k elements make far more than 64 of them.
  Fill(c, "RPUSH", "long-list", 100000);
  CHECK(Do(c, {"OBJECT", "ENCODING", "long-list"}) == "quicklist");
  CHECK(Do(c, {"UNLINK", "long-list"}) == ":1");
  CHECK(WaitIdle(c));
  CHECK(Lazyfreed(c) == 2);
  // CONFIG RESETSTAT starts the count again.
  CHECK(Do(c, {"CONFIG", "RESETSTAT"}) == "+OK");
  CHECK(Lazyfreed(c) == 0);
}

TEST_CASE_FIXTURE(ServerFixture, "DEL is lazy only under lazyfree-lazy-user-del") {
  Fill(c, "SADD", "big", 10000);
  CHECK(Do(c, {"DEL", "big"}) == ":1");
  CHECK(Lazyfreed(c) == 0);
  CHECK(Do(c, {"CONFIG", "SET", "lazyfree-lazy-user-del", "yes"}) == "+OK");
  Fill(c, "SADD", "big", 10000);
  CHECK(Do(c, {"DEL", "big"}) == ":1");
  CHECK(Do(c, {"EXISTS", "big"}) == ":0");
  CHECK(WaitIdle(c));
  CHECK(Lazyfreed(c) == 1);
}

TEST_CASE_FIXTURE(ServerFixture,
                  "FLUSHALL and FLUSHDB free lazily with ASYNC or lazyfree-lazy-user-flush") {
  auto populate = [&](int db) {
    CHECK(Do(c, {"SELECT", std::to_string(db)}) == "+OK");
    for (int i = 0; i < 100; ++i) {
      CHECK(Do(c, {"SET", "k" + std::to_string(i), "v"}) == "+OK");
    }
    Fill(c, "HSET", "big", 5000);
    CHECK(Do(c, {"SELECT", "0"}) == "+OK");
  };
  // SYNC, and no argument under the default, free here.
  populate(0);
  CHECK(Do(c, {"FLUSHALL", "SYNC"}) == "+OK");
  populate(0);
  CHECK(Do(c, {"FLUSHALL"}) == "+OK");
  CHECK(Lazyfreed(c) == 0);
  CHECK(Do(c, {"FLUSHALL", "NOW"}) == "-ERR syntax error");
  CHECK(Do(c, {"FLUSHALL", "ASYNC", "SYNC"}) == "-ERR syntax error");
  // ASYNC: the keys are gone at once; every key counts as one lazyfreed object, as in Redis.
  populate(0);
  populate(3);
  const long long full = InfoNumber(c, "used_memory");
  CHECK(Do(c, {"FLUSHALL", "ASYNC"}) == "+OK");
  CHECK(Do(c, {"DBSIZE"}) == ":0");
  CHECK(WaitIdle(c));
  CHECK(Lazyfreed(c) == 2 * 101);
  CHECK(InfoNumber(c, "used_memory") < full);
  // FLUSHDB ASYNC frees only the selected database.
  populate(0);
  populate(1);
  CHECK(Do(c, {"FLUSHDB", "ASYNC"}) == "+OK");
  CHECK(WaitIdle(c));
  CHECK(Lazyfreed(c) == 3 * 101);
  CHECK(Do(c, {"SELECT", "1"}) == "+OK");
  CHECK(Do(c, {"DBSIZE"}) == ":101");
  // lazyfree-lazy-user-flush makes a plain FLUSHDB / FLUSHALL lazy; SYNC still is not.
  CHECK(Do(c, {"CONFIG", "SET", "lazyfree-lazy-user-flush", "yes"}) == "+OK");
  CHECK(Do(c, {"FLUSHDB"}) == "+OK");
  CHECK(WaitIdle(c));
  CHECK(Lazyfreed(c) == 4 * 101);
  populate(0);
  CHECK(Do(c, {"FLUSHALL", "SYNC"}) == "+OK");
  CHECK(Lazyfreed(c) == 4 * 101);
  populate(0);
  CHECK(Do(c, {"FLUSHALL"}) == "+OK");
  CHECK(WaitIdle(c));
  CHECK(Lazyfreed(c) == 5 * 101);
}

TEST_CASE_FIXTURE(ServerFixture,
                  "an overwritten big value is freed lazily under lazyfree-lazy-server-del") {
  Fill(c, "HSET", "big", 10000);
  CHECK(Do(c, {"SET", "big", "now a string"}) == "+OK");
  Fill(c, "ZADD", "zbig", 10000);
  CHECK(Do(c, {"SET", "src", "v"}) == "+OK");
  CHECK(Do(c, {"RENAME", "src", "zbig"}) == "+OK");
  CHECK(Lazyfreed(c) == 0);
  CHECK(Do(c, {"CONFIG", "SET", "lazyfree-lazy-server-del", "yes"}) == "+OK");
  CHECK(Do(c, {"DEL", "big"}) == ":1");
  Fill(c, "HSET", "big", 10000);
  CHECK(Do(c, {"SET", "big", "now a string"}) == "+OK");
  CHECK(Do(c, {"GET", "big"}) == "now a string");
  CHECK(WaitIdle(c));
  CHECK(Lazyfreed(c) == 1);
  // RENAME over a big destination deletes it as the server's own deletion.
  Fill(c, "ZADD", "zbig2", 10000);
  CHECK(Do(c, {"RENAME", "zbig", "zbig2"}) == "+OK");
  CHECK(WaitIdle(c));
  CHECK(Lazyfreed(c) == 2);
  // DEL is a user deletion, not a server one: still freed at once.
  Fill(c, "SADD", "s", 10000);
  CHECK(Do(c, {"DEL", "s"}) == ":1");
  CHECK(Lazyfreed(c) == 2);
}

TEST_CASE_FIXTURE(ServerFixture,
                  "an expired big value is freed lazily under lazyfree-lazy-expire") {
  // no: expiry frees it at once.
  Fill(c, "SADD", "big", 10000);
  CHECK(Do(c, {"PEXPIRE", "big", "1"}) == ":1");
  CHECK(WaitUntil([&] { return Do(c, {"EXISTS", "big"}) == ":0"; }));
  CHECK(Lazyfreed(c) == 0);
  CHECK(Do(c, {"CONFIG", "SET", "lazyfree-lazy-expire", "yes"}) == "+OK");
  // Expired by time (the lookup or the active cycle, whichever comes first).
  Fill(c, "SADD", "big", 10000);
  CHECK(Do(c, {"PEXPIRE", "big", "1"}) == ":1");
  CHECK(WaitUntil([&] { return Do(c, {"EXISTS", "big"}) == ":0"; }));
  CHECK(WaitIdle(c));
  CHECK(Lazyfreed(c) == 1);
  CHECK(InfoNumber(c, "expired_keys") == 2);
  // An expiry in the past deletes as expiry does.
  Fill(c, "HSET", "big", 10000);
  CHECK(Do(c, {"EXPIRE", "big", "-1"}) == ":1");
  CHECK(Do(c, {"EXISTS", "big"}) == ":0");
  CHECK(WaitIdle(c));
  CHECK(Lazyfreed(c) == 2);
}

TEST_CASE("an evicted big value is freed lazily under lazyfree-lazy-eviction") {
  for (const char* lazy : {"no", "yes"}) {
    CAPTURE(lazy);
    ServerFixture f({"--lazyfree-lazy-eviction", lazy});
    Fill(f.c, "HSET", "big", 20000);
    // A limit nothing fits under: every key is evicted when it is set.
    CHECK(Do(f.c, {"CONFIG", "SET", "maxmemory", "1"}) == "+OK");
    CHECK(Do(f.c, {"EXISTS", "big"}) == ":0");
    CHECK(InfoNumber(f.c, "evicted_keys") == 1);
    CHECK(Do(f.c, {"CONFIG", "SET", "maxmemory", "0"}) == "+OK");
    CHECK(WaitIdle(f.c));
    CHECK(Lazyfreed(f.c) == (std::string(lazy) == "yes" ? 1 : 0));
  }
}

TEST_CASE("a server stopped while the lazy-free thread has work exits cleanly") {
  ServerFixture f;
  for (int i = 0; i < 4; ++i) Fill(f.c, "SADD", "big" + std::to_string(i), 100000);
  CHECK(Do(f.c, {"UNLINK", "big0", "big1", "big2", "big3"}) == ":4");
  // SIGTERM at once: the thread frees what is queued and is joined before the process exits
  // (under ASan, a leaked object would make the exit code non-zero).
  const int status = f.server.process().Stop();
  CHECK(ExitCodeOf(status) == 0);
}

}  // namespace flightcache::integration
