// lazyfree_test.cc — storage/lazyfree.h: the free-effort rule, which thread frees what, the
// pending and freed counts, the shard's FreeReasons and async flush, the memory figures while a
// free is pending, and the destructor freeing what is still queued. A probe object records the
// thread that destroyed it and can hold its destructor behind a gate, so that the pending state
// is observed without depending on timing.
#include "storage/lazyfree.h"

#include <doctest/doctest.h>

#include <atomic>
#include <future>
#include <memory>
#include <string>
#include <thread>

#include "storage/keyspace.h"
#include "storage/types/hash_object.h"
#include "storage/types/quicklist.h"
#include "storage/types/set_object.h"

using namespace flightcache::storage;

namespace {

// What a probe saw when it was destroyed.
struct ProbeLog {
  std::atomic<int> destroyed{0};
  std::atomic<bool> off_caller_thread{false};
  std::thread::id caller = std::this_thread::get_id();
};

// A hash-like object of `length` elements in a "hashtable" encoding (free effort = length),
// claiming `bytes` bytes. Its destructor waits on gate when one is given.
class Probe final : public Object {
 public:
  Probe(ProbeLog* log, size_t length, size_t bytes = 100,
        std::shared_future<void> gate = std::shared_future<void>())
      : log_(log), length_(length), bytes_(bytes), gate_(std::move(gate)) {}
  ~Probe() override {
    if (gate_.valid()) gate_.wait();
    if (std::this_thread::get_id() != log_->caller) log_->off_caller_thread = true;
    ++log_->destroyed;
  }
  ValueType type() const override { return ValueType::kHash; }
  const char* EncodingName() const override { return "hashtable"; }
  size_t MemoryBytes() const override { return bytes_; }
  size_t Length() const override { return length_; }
  std::unique_ptr<Object> Clone() const override {
    return std::make_unique<Probe>(log_, length_, bytes_);
  }

 private:
  ProbeLog* log_;
  size_t length_;
  size_t bytes_;
  std::shared_future<void> gate_;
};

}  // namespace

TEST_CASE("free effort counts elements of hashtable and skiplist encodings, nodes of lists") {
  TypeLimits flat;
  HashObject small_hash;
  for (int i = 0; i < 100; ++i) small_hash.Set("f" + std::to_string(i), "v", flat);
  CHECK(std::string(small_hash.EncodingName()) == "listpack");
  CHECK(FreeEffort(small_hash) == 1);

  TypeLimits tables;
  tables.hash_max_listpack_entries = 0;
  tables.set_max_intset_entries = 0;
  tables.set_max_listpack_entries = 0;
  HashObject hash;
  SetObject set;
  for (int i = 0; i < 65; ++i) {
    hash.Set("f" + std::to_string(i), "v", tables);
    set.Add("m" + std::to_string(i), tables);
  }
  CHECK(FreeEffort(hash) == 65);
  CHECK(FreeEffort(set) == 65);

  TypeLimits two_per_node;
  two_per_node.list_max_listpack_size = 2;
  ListObject list;
  for (int i = 0; i < 10; ++i) list.PushBack("e", two_per_node);
  CHECK(list.nodes() == 5);
  CHECK(FreeEffort(list) == 5);
}

TEST_CASE("only an allowed removal of an object past the threshold goes to the thread") {
  ProbeLog log;
  LazyFree lazy;
  // DEL under the default config: freed here.
  CHECK_FALSE(lazy.Free(std::make_unique<Probe>(&log, 1000), FreeReason::kUserDel));
  CHECK(log.destroyed == 1);
  // UNLINK of a small value: freed here too.
  CHECK_FALSE(lazy.Free(std::make_unique<Probe>(&log, kLazyfreeThreshold), FreeReason::kUnlink));
  CHECK(log.destroyed == 2);
  CHECK_FALSE(log.off_caller_thread);
  CHECK(lazy.freed_objects() == 0);
  // UNLINK of a big one: the thread frees it.
  CHECK(lazy.Free(std::make_unique<Probe>(&log, kLazyfreeThreshold + 1), FreeReason::kUnlink));
  lazy.Drain();
  CHECK(log.destroyed == 3);
  CHECK(log.off_caller_thread);
  CHECK(lazy.freed_objects() == 1);
  CHECK(lazy.pending_objects() == 0);
  // Each option opens its own reason.
  LazyFreeConfig config;
  config.lazy_user_del = true;
  lazy.Configure(config);
  CHECK(lazy.AllowedFor(FreeReason::kUserDel));
  CHECK_FALSE(lazy.AllowedFor(FreeReason::kServerDel));
  CHECK_FALSE(lazy.AllowedFor(FreeReason::kExpire));
  CHECK_FALSE(lazy.AllowedFor(FreeReason::kEviction));
  CHECK(lazy.Free(std::make_unique<Probe>(&log, 1000), FreeReason::kUserDel));
  lazy.Drain();
  CHECK(lazy.freed_objects() == 2);
  lazy.ResetStats();
  CHECK(lazy.freed_objects() == 0);
}

TEST_CASE("a pending free is counted in objects and bytes until the thread has freed it") {
  ProbeLog log;
  LazyFree lazy;
  std::promise<void> open;
  std::shared_future<void> gate = open.get_future().share();
  CHECK(lazy.Free(std::make_unique<Probe>(&log, 1000, 5000, gate), FreeReason::kUnlink));
  // The thread is held inside the destructor: still pending.
  CHECK(lazy.pending_objects() == 1);
  CHECK(lazy.pending_bytes() == 5000);
  CHECK(lazy.freed_objects() == 0);
  open.set_value();
  lazy.Drain();
  CHECK(lazy.pending_objects() == 0);
  CHECK(lazy.pending_bytes() == 0);
  CHECK(lazy.freed_objects() == 1);
}

TEST_CASE("the destructor frees everything still queued before joining the thread") {
  ProbeLog log;
  std::promise<void> open;
  {
    LazyFree lazy;
    std::shared_future<void> gate = open.get_future().share();
    // The first job holds the thread, so the others are still queued when the destructor runs.
    lazy.Free(std::make_unique<Probe>(&log, 1000, 100, gate), FreeReason::kUnlink);
    for (int i = 0; i < 9; ++i) lazy.Free(std::make_unique<Probe>(&log, 1000), FreeReason::kUnlink);
    open.set_value();
  }
  CHECK(log.destroyed == 10);
}

TEST_CASE("the shard frees by reason, and the memory figures move at detach and at free") {
  ProbeLog log;
  Keyspace ks;
  std::promise<void> open;
  std::shared_future<void> gate = open.get_future().share();
  KeyLocation at = ks.db(0).Locate("big");
  at.shard->SetObject("big", at.hash, std::make_unique<Probe>(&log, 1000, 1 << 20, gate), 0);
  const int64_t estimate = ks.UsedMemoryEstimate();
  const size_t held = ks.memory_bytes();
  CHECK(at.shard->Delete("big", at.hash, FreeReason::kUnlink));
  // Detached: the keyspace no longer counts it, the estimate still does, eviction does not.
  CHECK(ks.memory_bytes() <= held - (1 << 20));
  CHECK(ks.lazy_free().pending_bytes() == 1 << 20);
  CHECK(ks.UsedMemoryEstimate() >= estimate - 1024);
  CHECK(ks.EvictionMemoryEstimate() <= estimate - (1 << 20));
  open.set_value();
  ks.lazy_free().Drain();
  CHECK(ks.UsedMemoryEstimate() <= estimate - (1 << 20));
  CHECK(ks.lazy_free().freed_objects() == 1);

  // A server deletion (the default reason) and an overwrite are freed at once by default...
  at.shard->SetObject("big", at.hash, std::make_unique<Probe>(&log, 1000), 0);
  CHECK(at.shard->Delete("big", at.hash));
  at.shard->SetObject("big", at.hash, std::make_unique<Probe>(&log, 1000), 0);
  at.shard->Set("big", at.hash, "a string now", 0);
  CHECK(ks.lazy_free().freed_objects() == 1);
  // ...and lazily under lazyfree-lazy-server-del.
  LazyFreeConfig config;
  config.lazy_server_del = true;
  ks.lazy_free().Configure(config);
  at.shard->SetObject("big", at.hash, std::make_unique<Probe>(&log, 1000), 0);
  at.shard->Set("big", at.hash, "a string again", 0);
  ks.lazy_free().Drain();
  CHECK(ks.lazy_free().freed_objects() == 2);
  CHECK(log.destroyed == 4);
}

TEST_CASE("an async flush hands every key to the thread and leaves the database empty") {
  ProbeLog log;
  Keyspace ks(2);
  for (int i = 0; i < 100; ++i) {
    const std::string key = "k" + std::to_string(i);
    KeyLocation at = ks.db(0).Locate(key);
    if (i % 10 == 0) {
      at.shard->SetObject(key, at.hash, std::make_unique<Probe>(&log, 3), 0);
    } else {
      at.shard->Set(key, at.hash, "v", 0);
    }
  }
  KeyLocation other = ks.db(1).Locate("kept");
  other.shard->Set("kept", other.hash, "v", 0);
  ks.db(0).Flush(/*async=*/true);
  CHECK(ks.db(0).size() == 0);
  CHECK(ks.db(1).size() == 1);
  ks.lazy_free().Drain();
  CHECK(ks.lazy_free().freed_objects() == 100);
  CHECK(ks.lazy_free().pending_bytes() == 0);
  CHECK(log.destroyed == 10);
  CHECK(log.off_caller_thread);
  // The emptied shards work as before.
  KeyLocation at = ks.db(0).Locate("again");
  at.shard->Set("again", at.hash, "v", 0);
  CHECK(ks.db(0).Find("again", 0) != nullptr);
  // A synchronous flush counts nothing.
  ks.FlushAll();
  CHECK(ks.lazy_free().freed_objects() == 100);
  CHECK(ks.size() == 0);
}
