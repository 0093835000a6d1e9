// eviction_test.cc — each eviction policy evicts what it should, the memory bound holds, and
// the LRU/LFU access arithmetic behaves as Redis's.
#include <doctest/doctest.h>

#include <string>

#include "storage/keyspace.h"

using namespace flightcache::storage;

namespace {

void Put(Keyspace& ks, const std::string& key, int64_t expire_at = 0,
         const std::string& value = std::string(32, 'v')) {
  KeyLocation at = ks.db(0).Locate(key);
  at.shard->Set(key, at.hash, value, expire_at);
}

bool Has(Keyspace& ks, const std::string& key) { return ks.db(0).Find(key, 0, false) != nullptr; }

// A keyspace limited to its current footprint plus `room` bytes.
void LimitTo(Keyspace& ks, EvictionPolicy policy, int64_t bytes) {
  ks.set_memory_baseline(0);
  ks.ConfigureEviction(policy, bytes);
}

}  // namespace

TEST_CASE("noeviction refuses to make room") {
  Keyspace ks;
  for (int i = 0; i < 1000; ++i) Put(ks, "k" + std::to_string(i));
  LimitTo(ks, EvictionPolicy::kNoEviction, static_cast<int64_t>(ks.memory_bytes() / 2));
  CHECK(ks.OverMemoryLimit());
  CHECK_FALSE(ks.MakeRoom());
  CHECK(ks.size() == 1000);
  CHECK(ks.evicted_keys() == 0);
}

TEST_CASE("every evicting policy brings memory under the limit") {
  for (EvictionPolicy policy : {EvictionPolicy::kAllKeysLru, EvictionPolicy::kAllKeysLfu,
                                EvictionPolicy::kAllKeysRandom, EvictionPolicy::kAllKeysS3Fifo}) {
    CAPTURE(EvictionPolicyName(policy));
    Keyspace ks;
    LimitTo(ks, policy, 200 * 1024);
    for (int i = 0; i < 20000; ++i) {
      Put(ks, "key:" + std::to_string(i));
      REQUIRE(ks.MakeRoom());
      REQUIRE(ks.UsedMemoryEstimate() <= 200 * 1024);
    }
    CHECK(ks.evicted_keys() > 10000);
    CHECK(ks.size() + ks.evicted_keys() == 20000);
  }
}

TEST_CASE("volatile policies evict only keys with an expiry, and stop when none is left") {
  for (EvictionPolicy policy : {EvictionPolicy::kVolatileLru, EvictionPolicy::kVolatileLfu,
                                EvictionPolicy::kVolatileRandom, EvictionPolicy::kVolatileTtl}) {
    CAPTURE(EvictionPolicyName(policy));
    Keyspace ks;
    for (int i = 0; i < 500; ++i) Put(ks, "keep:" + std::to_string(i));
    for (int i = 0; i < 500; ++i) Put(ks, "ttl:" + std::to_string(i), 1'000'000'000'000LL + i);
    LimitTo(ks, policy, static_cast<int64_t>(ks.memory_bytes() * 3 / 4));
    CHECK(ks.MakeRoom());
    for (int i = 0; i < 500; ++i) REQUIRE(Has(ks, "keep:" + std::to_string(i)));
    CHECK(ks.size() < 1000);
    // With only persistent keys left to go, nothing more may be evicted.
    LimitTo(ks, policy, 1);
    CHECK_FALSE(ks.MakeRoom());
    CHECK(ks.volatile_count() == 0);
    for (int i = 0; i < 500; ++i) REQUIRE(Has(ks, "keep:" + std::to_string(i)));
  }
}

TEST_CASE("volatile-ttl evicts the keys closest to expiring first") {
  Keyspace ks;
  for (int i = 0; i < 200; ++i) Put(ks, "t:" + std::to_string(i), 1'000'000'000'000LL + i * 1000);
  LimitTo(ks, EvictionPolicy::kVolatileTtl, static_cast<int64_t>(ks.memory_bytes() / 2));
  CHECK(ks.MakeRoom());
  int soon = 0, late = 0;
  for (int i = 0; i < 50; ++i) soon += Has(ks, "t:" + std::to_string(i));
  for (int i = 150; i < 200; ++i) late += Has(ks, "t:" + std::to_string(i));
  CHECK(late > soon);
}

TEST_CASE("allkeys-lru keeps the keys read recently") {
  Keyspace ks;
  ks.SetClock(1'000'000);
  for (int i = 0; i < 1000; ++i) Put(ks, "k" + std::to_string(i));
  ks.SetClock(2'000'000);
  for (int i = 0; i < 100; ++i) ks.db(0).Find("k" + std::to_string(i), 2'000'000);  // read recently
  LimitTo(ks, EvictionPolicy::kAllKeysLru, static_cast<int64_t>(ks.memory_bytes() / 2));
  CHECK(ks.MakeRoom());
  int kept = 0;
  for (int i = 0; i < 100; ++i) kept += Has(ks, "k" + std::to_string(i));
  CHECK(kept >= 95);
}

TEST_CASE("S3-FIFO evicts one-hit wonders and keeps keys that are read again") {
  Keyspace ks;
  // Room for about 1000 keys.
  for (int i = 0; i < 1000; ++i) Put(ks, "probe:" + std::to_string(i));
  const int64_t limit = static_cast<int64_t>(ks.memory_bytes());
  ks.FlushAll();
  LimitTo(ks, EvictionPolicy::kAllKeysS3Fifo, limit);
  for (int i = 0; i < 500; ++i) Put(ks, "hot:" + std::to_string(i));
  for (int round = 0; round < 3; ++round) {
    for (int i = 0; i < 500; ++i) ks.db(0).Find("hot:" + std::to_string(i), 0);
  }
  // A scan of 5000 keys read once each.
  for (int i = 0; i < 5000; ++i) {
    Put(ks, "scan:" + std::to_string(i));
    REQUIRE(ks.MakeRoom());
    // The hot keys keep being read now and then, as a cache's hot set is.
    if (i % 10 == 0) ks.db(0).Find("hot:" + std::to_string((i / 10) % 500), 0);
  }
  int hot = 0;
  for (int i = 0; i < 500; ++i) hot += Has(ks, "hot:" + std::to_string(i));
  CHECK(hot >= 450);
  CHECK(ks.UsedMemoryEstimate() <= limit);
}

TEST_CASE("S3-FIFO admits a key evicted from the small queue straight into main next time") {
  Keyspace ks;
  for (int i = 0; i < 100; ++i) Put(ks, "probe:" + std::to_string(i));
  const int64_t limit = static_cast<int64_t>(ks.memory_bytes());
  ks.FlushAll();
  LimitTo(ks, EvictionPolicy::kAllKeysS3Fifo, limit);
  Put(ks, "ghost");
  for (int i = 0; i < 300; ++i) {
    Put(ks, "fill:" + std::to_string(i));
    REQUIRE(ks.MakeRoom());
  }
  REQUIRE_FALSE(Has(ks, "ghost"));  // a one-hit wonder, gone
  Put(ks, "ghost");                 // back soon: the ghost queue remembers it
  for (int i = 300; i < 360; ++i) {
    Put(ks, "fill:" + std::to_string(i));
    REQUIRE(ks.MakeRoom());
  }
  CHECK(Has(ks, "ghost"));  // in the main queue, it outlives the newer one-hit wonders
}

TEST_CASE("switching the policy at run time keeps every key and the S3-FIFO queues follow") {
  Keyspace ks;
  for (int i = 0; i < 2000; ++i) Put(ks, "k" + std::to_string(i));
  const size_t plain = ks.memory_bytes();
  ks.ConfigureEviction(EvictionPolicy::kAllKeysS3Fifo, 1 << 30);
  CHECK(ks.memory_bytes() > plain);  // the queues cost memory and are accounted
  ks.ConfigureEviction(EvictionPolicy::kAllKeysLru, 1 << 30);
  CHECK(ks.memory_bytes() == plain);
  CHECK(ks.size() == 2000);
  ks.ConfigureEviction(EvictionPolicy::kAllKeysS3Fifo, 0);  // no limit: no queues
  CHECK(ks.memory_bytes() == plain);
}

TEST_CASE("LFU counters grow logarithmically and decay with idle minutes") {
  uint32_t access = LfuInitial(0);
  CHECK(LfuCounter(access, 0) == 5);
  uint64_t r = 1;
  for (int i = 0; i < 1000; ++i) {
    r = r * 6364136223846793005ULL + 1442695040888963407ULL;
    access = LfuTouch(access, 0, r);
  }
  const uint8_t counter = LfuCounter(access, 0);
  CHECK(counter > 5);
  CHECK(counter < 40);  // log factor 10: a thousand hits stay far below 255
  CHECK(LfuCounter(access, 3 * 60000) == counter - 3);
}

TEST_CASE("policy names round-trip") {
  for (const char* name :
       {"noeviction", "allkeys-lru", "allkeys-lfu", "allkeys-random", "volatile-lru",
        "volatile-lfu", "volatile-random", "volatile-ttl", "allkeys-s3fifo"}) {
    EvictionPolicy p;
    REQUIRE(ParseEvictionPolicy(name, &p));
    CHECK(std::string(EvictionPolicyName(p)) == name);
  }
  EvictionPolicy p;
  CHECK_FALSE(ParseEvictionPolicy("allkeys-sieve", &p));
}
