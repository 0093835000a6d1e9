// concurrency_test.cc — the keyspace under threads, as --threads N uses it: workers write and
// read through LockShards while a background thread evicts, expires and shrinks, and readers
// poll the lock-free counters. Meant to run under ThreadSanitizer as well as plainly; at the
// end the counters must agree with a full SCAN and the memory bound must hold.
#include <doctest/doctest.h>

#include <atomic>
#include <cstdint>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "storage/keyspace.h"

using namespace flightcache::storage;

namespace {

constexpr int kWorkers = 4;
constexpr int kOpsPerWorker = 20000;
constexpr int kKeySpace = 4000;

uint64_t Next(uint64_t& state) {
  state ^= state << 13;
  state ^= state >> 7;
  state ^= state << 17;
  return state;
}

// A watcher with its own lock, as the singleflight table has: called under a shard lock.
struct CountingWatcher : KeyWatcher {
  std::mutex mutex;
  uint64_t changes = 0;
  uint64_t flushes = 0;
  void OnKeyChanged(std::string_view) override {
    std::lock_guard<std::mutex> lock(mutex);
    ++changes;
  }
  void OnFlush() override {
    std::lock_guard<std::mutex> lock(mutex);
    ++flushes;
  }
};

std::string KeyName(uint64_t r) { return "key:" + std::to_string(r % kKeySpace); }

// One worker: random single- and multi-key commands, each under the locks of its keys, and
// MakeRoom() with no lock held after every write, as the server's dispatch does.
void RunWorker(Keyspace& ks, std::atomic<int64_t>& clock, uint64_t seed) {
  uint64_t rng = seed;
  for (int op = 0; op < kOpsPerWorker; ++op) {
    const uint64_t r = Next(rng);
    const int64_t now = clock.fetch_add(1, std::memory_order_relaxed);
    ks.SetClock(now);
    const std::string key = KeyName(r >> 8);
    const unsigned kind = r % 100;
    bool wrote = false;
    if (kind < 35) {  // SET, sometimes with a short TTL
      ShardLocks locks = ks.LockShards(Keyspace::ShardMaskOf(key));
      KeyLocation at = ks.db(0).Locate(key);
      const std::string value((r >> 20) % 200, 'v');
      at.shard->Set(key, at.hash, value, (r >> 40) % 3 == 0 ? now + 1 + (r >> 50) % 500 : 0);
      wrote = true;
    } else if (kind < 70) {  // GET
      ShardLocks locks = ks.LockShards(Keyspace::ShardMaskOf(key));
      KeyLocation at = ks.db(0).Locate(key);
      if (Entry* e = at.shard->Find(key, at.hash, now)) {
        REQUIRE(EntryKey(e) == key);
      }
    } else if (kind < 80) {  // DEL
      ShardLocks locks = ks.LockShards(Keyspace::ShardMaskOf(key));
      ks.db(0).Delete(key);
    } else if (kind < 87) {  // EXPIRE / PERSIST
      ShardLocks locks = ks.LockShards(Keyspace::ShardMaskOf(key));
      KeyLocation at = ks.db(0).Locate(key);
      if (Entry* e = at.shard->Find(key, at.hash, now)) {
        at.shard->SetExpire(e, at.hash, (r >> 30) % 2 ? now + 1 + (r >> 40) % 300 : 0);
      }
    } else if (kind < 93) {  // MSET of three keys: several shards, locked in ascending order
      const std::string keys[3] = {key, KeyName(Next(rng)), KeyName(Next(rng))};
      uint64_t mask = 0;
      for (const std::string& k : keys) mask |= Keyspace::ShardMaskOf(k);
      ShardLocks locks = ks.LockShards(mask);
      for (const std::string& k : keys) {
        KeyLocation at = ks.db(0).Locate(k);
        at.shard->Set(k, at.hash, "multi", 0);
      }
      wrote = true;
    } else if (kind < 96) {  // APPEND-like rewrite of an existing value
      ShardLocks locks = ks.LockShards(Keyspace::ShardMaskOf(key));
      KeyLocation at = ks.db(0).Locate(key);
      if (Entry* e = at.shard->Find(key, at.hash, now)) {
        std::string value(EntryValue(e));
        value += "+";
        at.shard->ReplaceValue(e, at.hash, value);
        wrote = true;
      }
    } else if (kind < 98) {  // SCAN step and RANDOMKEY: whole-keyspace commands
      ShardLocks locks = ks.LockAllShards();
      uint64_t cursor = (r >> 8) & ((uint64_t{1} << 12) - 1);
      ks.db(0).Scan(cursor, 10, now, [](const Entry* e) { REQUIRE(!EntryKey(e).empty()); });
      ks.db(0).RandomEntry(now, r);
    } else {  // a flight's watch: added under the shard lock, heard by a write, removed without
      KeyLocation at = ks.db(0).Locate(key);
      {
        ShardLocks locks = ks.LockShards(Keyspace::ShardMaskOf(key));
        at.shard->AddWatch();
        at.shard->Set(key, at.hash, "watched", 0);
      }
      at.shard->RemoveWatch();
      wrote = true;
    }
    if (wrote) ks.MakeRoom();
  }
}

// What a full SCAN finds, compared with the lock-free counters. Holds every shard lock.
void CheckCountersAgreeWithScan(Keyspace& ks) {
  ShardLocks locks = ks.LockAllShards();
  size_t keys = 0, volatile_keys = 0, entry_bytes = 0;
  uint64_t cursor = 0;
  int calls = 0;
  do {
    // now_ms 0: nothing counts as expired, so every stored entry is visited.
    cursor = ks.db(0).Scan(cursor, 64, 0, [&](const Entry* e) {
      ++keys;
      if (e->flags & kHasExpire) ++volatile_keys;
      entry_bytes += EntryAllocatedSize(e);
    });
  } while (cursor != 0 && ++calls < 10'000'000);
  CHECK(cursor == 0);
  CHECK(keys == ks.size());
  CHECK(volatile_keys == ks.volatile_count());
  size_t shard_entry_bytes = 0, shard_keys = 0;
  for (size_t i = 0; i < Keyspace::kShardCount; ++i) {
    const Shard& s = ks.db(0).shard(i);
    shard_entry_bytes += s.memory_bytes() - s.bucket_count() * sizeof(Entry*) - s.queue_bytes();
    shard_keys += s.size();
  }
  CHECK(shard_keys == keys);
  CHECK(shard_entry_bytes == entry_bytes);
}

// Runs the workers, a background thread (eviction, active expiry, table shrinking and, when
// switch_policy, policy switches) and a reader of the lock-free counters, then checks the end.
void RunMixedLoad(EvictionPolicy policy, int64_t limit, bool switch_policy) {
  Keyspace ks;
  ks.SetThreadSafe(true);
  CountingWatcher watcher;
  for (size_t i = 0; i < Keyspace::kShardCount; ++i) ks.db(0).shard(i).set_watcher(&watcher);
  ks.set_memory_baseline(0);
  ks.ConfigureEviction(policy, limit);
  std::atomic<int64_t> clock{1'000'000};
  std::atomic<bool> done{false};

  std::thread background([&] {
    uint64_t rounds = 0;
    while (!done.load(std::memory_order_acquire)) {
      ks.MakeRoom();
      bool more = false;
      ks.ActiveExpirePass(clock.load(std::memory_order_relaxed), 16, &more);
      ks.ShrinkTables();
      if (switch_policy && ++rounds % 50 == 0) {
        const EvictionPolicy next = (rounds / 50) % 2 ? EvictionPolicy::kAllKeysLru : policy;
        ks.ConfigureEviction(next, limit);
      }
      std::this_thread::yield();
    }
  });
  // The reader reads at least once (a do-while: on a loaded machine the workers may finish
  // before it is first scheduled); the sum only keeps the reads from being optimised away.
  std::thread reader([&] {
    uint64_t sink = 0;
    uint64_t reads = 0;
    do {
      ++reads;
      sink += ks.size() + ks.volatile_count() + ks.memory_bytes() + ks.expired_keys() +
              ks.evicted_keys() + static_cast<uint64_t>(ks.UsedMemoryEstimate()) +
              ks.OverMemoryLimit() + static_cast<uint64_t>(ks.policy()) +
              static_cast<uint64_t>(ks.maxmemory());
      for (size_t i = 0; i < Keyspace::kShardCount; ++i) {
        const Shard& s = ks.db(0).shard(i);
        sink += s.size() + s.volatile_count() + s.memory_bytes() + s.stats().expired_keys +
                s.stats().evicted_keys;
      }
      std::this_thread::yield();
    } while (!done.load(std::memory_order_acquire));
    volatile uint64_t keep = sink;
    (void)keep;
    CHECK(reads > 0);
  });
  std::vector<std::thread> workers;
  for (int w = 0; w < kWorkers; ++w) {
    workers.emplace_back(RunWorker, std::ref(ks), std::ref(clock), 0x9E3779B97F4A7C15ULL * (w + 1));
  }
  for (std::thread& t : workers) t.join();
  done.store(true, std::memory_order_release);
  background.join();
  reader.join();

  if (limit > 0) {
    // A volatile policy may run out of keys it may evict; otherwise the bound holds again.
    if (ks.MakeRoom()) {
      CHECK(ks.UsedMemoryEstimate() <= limit);
    } else {
      CHECK(PolicyIsVolatileOnly(ks.policy()));
      CHECK(ks.volatile_count() == 0);
    }
    CHECK(ks.evicted_keys() > 0);
  }
  CheckCountersAgreeWithScan(ks);
  {
    std::lock_guard<std::mutex> lock(watcher.mutex);
    CHECK(watcher.changes > 0);
  }
  // Everything expires eventually: the active cycle finds every volatile key.
  bool more = true;
  for (int pass = 0; pass < 100000 && ks.volatile_count() > 0; ++pass) {
    ks.ActiveExpirePass(INT64_MAX, 16, &more);
  }
  CHECK(ks.volatile_count() == 0);
  CheckCountersAgreeWithScan(ks);
  {
    ShardLocks locks = ks.LockAllShards();
    ks.FlushAll();
  }
  CHECK(ks.size() == 0);
  CheckCountersAgreeWithScan(ks);
  for (size_t i = 0; i < Keyspace::kShardCount; ++i) ks.db(0).shard(i).set_watcher(nullptr);
}

}  // namespace

TEST_CASE("a key's shard mask names the shard Locate picks") {
  Keyspace ks;
  for (int i = 0; i < 1000; ++i) {
    const std::string key = "m:" + std::to_string(i);
    const uint64_t mask = Keyspace::ShardMaskOf(key);
    REQUIRE(mask != 0);
    REQUIRE((mask & (mask - 1)) == 0);
    const size_t index = Keyspace::ShardIndex(HashKey(key));
    CHECK(index < Keyspace::kShardCount);
    CHECK(mask == uint64_t{1} << index);
    CHECK(&ks.db(0).shard(index) == ks.db(0).Locate(key).shard);
  }
}

TEST_CASE("shard locks do nothing until the keyspace is thread-safe") {
  Keyspace ks;
  ShardLocks none = ks.LockAllShards();
  CHECK(none.mask() == 0);
  // Nothing is held: every shard's mutex is free.
  for (size_t i = 0; i < Keyspace::kShardCount; ++i) {
    REQUIRE(ks.db(0).shard(i).mutex().try_lock());
    ks.db(0).shard(i).mutex().unlock();
  }
}

TEST_CASE("shard locks hold exactly the shards asked for, move, and release") {
  Keyspace ks;
  ks.SetThreadSafe(true);
  const uint64_t mask =
      (uint64_t{1} << 0) | (uint64_t{1} << 5) | (uint64_t{1} << (Keyspace::kShardCount - 1));
  ShardLocks held = ks.LockShards(mask);
  CHECK(held.mask() == mask);
  std::thread probe([&] {
    for (size_t i = 0; i < Keyspace::kShardCount; ++i) {
      const bool free = ks.db(0).shard(i).mutex().try_lock();
      CHECK(free == !((mask >> i) & 1));
      if (free) ks.db(0).shard(i).mutex().unlock();
    }
  });
  probe.join();
  ShardLocks moved = std::move(held);
  CHECK(held.mask() == 0);  // NOLINT(bugprone-use-after-move): a moved-from guard is empty
  CHECK(moved.mask() == mask);
  moved.Unlock();
  CHECK(moved.mask() == 0);
  ShardLocks all = ks.LockAllShards();
  CHECK(all.mask() == Keyspace::kAllShards);
  all = ks.LockShards(0);  // assignment releases what it held
  CHECK(all.mask() == 0);
  std::thread after([&] {
    for (size_t i = 0; i < Keyspace::kShardCount; ++i) {
      REQUIRE(ks.db(0).shard(i).mutex().try_lock());
      ks.db(0).shard(i).mutex().unlock();
    }
  });
  after.join();
}

TEST_CASE("threads writing through shard locks while S3-FIFO evicts keep the counters exact") {
  RunMixedLoad(EvictionPolicy::kAllKeysS3Fifo, 192 * 1024, false);
}

TEST_CASE("threads writing through shard locks while sampled LRU evicts keep the bound") {
  RunMixedLoad(EvictionPolicy::kAllKeysLru, 192 * 1024, false);
}

TEST_CASE("threads writing while volatile-ttl evicts and keys expire keep the counters exact") {
  RunMixedLoad(EvictionPolicy::kVolatileTtl, 192 * 1024, false);
}

TEST_CASE("threads writing while allkeys-random evicts keep the bound") {
  RunMixedLoad(EvictionPolicy::kAllKeysRandom, 192 * 1024, false);
}

TEST_CASE("switching between S3-FIFO and LRU while threads write keeps every invariant") {
  RunMixedLoad(EvictionPolicy::kAllKeysS3Fifo, 192 * 1024, true);
}

TEST_CASE("threads writing without a memory limit keep the counters exact") {
  RunMixedLoad(EvictionPolicy::kAllKeysS3Fifo, 0, false);
}
