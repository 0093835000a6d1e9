// singleflight_test.cc — the singleflight table against a fake origin whose fetches the test
// completes by hand: one fetch per key, callback order, errors, Forget and cancelled waiters.
#include "origin/singleflight.h"

#include <doctest/doctest.h>

#include <map>
#include <string>
#include <vector>

using namespace flightcache::origin;
using flightcache::storage::EntryExpireAt;
using flightcache::storage::EntryValue;
using flightcache::storage::KeyLocation;
using flightcache::storage::Keyspace;

namespace {

// An origin that only records fetches; the test decides when and how each one completes.
class FakeOrigin : public Origin {
 public:
  void Fetch(std::string_view key, FetchCallback cb) override {
    pending[std::string(key)].push_back(std::move(cb));
    ++fetches[std::string(key)];
  }
  int ConnectedCount() const override { return 1; }
  std::string Describe() const override { return "fake://"; }
  void Close() override {}
  void Finish(const std::string& key, FetchResult result) {
    auto callbacks = std::move(pending[key]);
    pending.erase(key);
    for (auto& cb : callbacks) cb(result);
  }
  std::map<std::string, std::vector<FetchCallback>> pending;
  std::map<std::string, int> fetches;
};

struct Delivery {
  uint64_t conn;
  uint64_t seq;
  uint32_t part;
  FetchStatus status;
  std::string value;
  std::string error;
};

struct Fixture {
  Keyspace keyspace;
  FakeOrigin origin;
  std::vector<Delivery> delivered;
  int64_t now = 1000;
  Singleflight flights{
      &origin, &keyspace,
      [this](const Waiter& w, std::shared_ptr<const FetchResult> r) {
        delivered.push_back({w.conn_id, w.slot_seq, w.part, r->status, r->value, r->error});
      },
      [this] { return now; }};
};

}  // namespace

TEST_CASE("many waiters on one key share one fetch and are answered in join order") {
  Fixture f;
  for (uint64_t c = 1; c <= 100; ++c) f.flights.Join("hot", Waiter{c, 7, 0});
  CHECK(f.origin.fetches["hot"] == 1);
  CHECK(f.flights.in_flight() == 1);
  CHECK(f.flights.parked_waiters() == 100);
  CHECK(f.flights.stats().fetches_shared == 99);
  f.origin.Finish("hot", FetchResult::Value("v"));
  REQUIRE(f.delivered.size() == 100);
  for (uint64_t c = 1; c <= 100; ++c) {
    CHECK(f.delivered[c - 1].conn == c);
    CHECK(f.delivered[c - 1].value == "v");
  }
  CHECK(f.flights.in_flight() == 0);
  CHECK(f.flights.parked_waiters() == 0);
  REQUIRE(f.keyspace.db(0).Find("hot", f.now));
  CHECK(EntryValue(f.keyspace.db(0).Find("hot", f.now)) == "v");
}

TEST_CASE("a filled value gets cache-ttl as its expiry") {
  Fixture f;
  f.flights.set_policy(FillPolicy{5000, 0});
  f.flights.Join("k", Waiter{1, 1, 0});
  f.origin.Finish("k", FetchResult::Value("v"));
  REQUIRE(f.keyspace.db(0).Find("k", f.now));
  CHECK(EntryExpireAt(f.keyspace.db(0).Find("k", f.now)) == f.now + 5000);
}

TEST_CASE("a value the origin marks no-store reaches every waiter but is not stored") {
  Fixture f;
  f.flights.Join("k", Waiter{1, 1, 0});
  f.flights.Join("k", Waiter{2, 1, 0});
  FetchResult result = FetchResult::Value("v");
  result.no_store = true;
  f.origin.Finish("k", std::move(result));
  REQUIRE(f.delivered.size() == 2);
  CHECK(f.delivered[1].value == "v");
  CHECK(f.keyspace.size() == 0);
  CHECK(f.flights.stats().not_stored == 1);
  CHECK(f.flights.stats().fills == 0);
}

TEST_CASE("a result's own ttl (an HTTP max-age) is the fill's expiry") {
  Fixture f;
  f.flights.set_policy(FillPolicy{5000, 0});
  f.flights.Join("k", Waiter{1, 1, 0});
  FetchResult result = FetchResult::Value("v");
  result.cache_ttl_ms = 60000;
  f.origin.Finish("k", std::move(result));
  REQUIRE(f.keyspace.db(0).Find("k", f.now));
  CHECK(EntryExpireAt(f.keyspace.db(0).Find("k", f.now)) == f.now + 60000);
}

TEST_CASE("an error reaches every waiter, is not stored, and the next join fetches again") {
  Fixture f;
  f.flights.Join("k", Waiter{1, 1, 0});
  f.flights.Join("k", Waiter{2, 1, 0});
  f.origin.Finish("k", FetchResult::Error(FetchErrorKind::kTimeout, "origin timeout after 5 ms"));
  REQUIRE(f.delivered.size() == 2);
  CHECK(f.delivered[1].status == FetchStatus::kError);
  CHECK(f.delivered[1].error == "origin timeout after 5 ms");
  CHECK(f.keyspace.size() == 0);
  CHECK(f.flights.stats().errors == 1);
  CHECK(f.flights.stats().timeouts == 1);
  f.flights.Join("k", Waiter{3, 1, 0});
  CHECK(f.origin.fetches["k"] == 2);
}

TEST_CASE("not found answers nil and stores nothing unless negative-ttl is set") {
  Fixture f;
  f.flights.Join("m", Waiter{1, 1, 0});
  f.origin.Finish("m", FetchResult::NotFound());
  CHECK(f.delivered.at(0).status == FetchStatus::kNotFound);
  CHECK(f.keyspace.size() == 0);
  CHECK_FALSE(f.flights.KnownMissing("m", f.now));

  f.flights.set_policy(FillPolicy{0, 2000});
  f.flights.Join("m", Waiter{1, 2, 0});
  f.origin.Finish("m", FetchResult::NotFound());
  CHECK(f.flights.KnownMissing("m", f.now + 1999));
  CHECK_FALSE(f.flights.KnownMissing("m", f.now + 2000));
}

TEST_CASE("a write during the fetch (Forget) answers the waiters but keeps the newer value") {
  Fixture f;
  f.flights.Join("k", Waiter{1, 1, 0});
  KeyLocation at = f.keyspace.db(0).Locate("k");
  at.shard->Set("k", at.hash, "newer", 0);
  f.origin.Finish("k", FetchResult::Value("older"));
  CHECK(f.delivered.at(0).value == "older");
  CHECK(EntryValue(f.keyspace.db(0).Find("k", f.now)) == "newer");
  CHECK(f.flights.stats().forgotten == 1);
}

TEST_CASE("a delete during the fetch keeps the stale value out of the store") {
  Fixture f;
  KeyLocation at = f.keyspace.db(0).Locate("k");
  f.flights.Join("k", Waiter{1, 1, 0});
  at.shard->Set("k", at.hash, "x", 0);
  at.shard->Delete("k", at.hash);
  f.origin.Finish("k", FetchResult::Value("stale"));
  CHECK(f.keyspace.db(0).Find("k", f.now) == nullptr);
  f.flights.Join("k", Waiter{1, 2, 0});
  CHECK(f.origin.fetches["k"] == 2);  // the next GET asks the origin again
}

TEST_CASE("a delete of a key that is not cached still forgets its flight") {
  Fixture f;
  KeyLocation at = f.keyspace.db(0).Locate("k");
  f.flights.Join("k", Waiter{1, 1, 0});
  CHECK_FALSE(at.shard->Delete("k", at.hash));
  f.origin.Finish("k", FetchResult::Value("stale"));
  CHECK(f.keyspace.db(0).Find("k", f.now) == nullptr);
  CHECK(f.flights.stats().forgotten == 1);
}

TEST_CASE("a flush during the fetch forgets every flight") {
  Fixture f;
  f.flights.Join("a", Waiter{1, 1, 0});
  f.flights.Join("b", Waiter{1, 2, 0});
  f.keyspace.FlushAll();
  f.origin.Finish("a", FetchResult::Value("1"));
  f.origin.Finish("b", FetchResult::Value("2"));
  CHECK(f.keyspace.size() == 0);
  CHECK(f.delivered.size() == 2);
}

TEST_CASE("a cancelled waiter gets nothing while the others are answered") {
  Fixture f;
  f.flights.Join("k", Waiter{1, 1, 0});
  f.flights.Join("k", Waiter{2, 5, 0});
  f.flights.Join("k", Waiter{3, 1, 0});
  f.flights.Cancel("k", 2, 5);
  CHECK(f.flights.parked_waiters() == 2);
  f.origin.Finish("k", FetchResult::Value("v"));
  REQUIRE(f.delivered.size() == 2);
  CHECK(f.delivered[0].conn == 1);
  CHECK(f.delivered[1].conn == 3);
  CHECK(f.keyspace.db(0).Find("k", f.now) != nullptr);  // the fetch still fills the store
}

TEST_CASE("MGET parts of one connection are each delivered with their index") {
  Fixture f;
  f.flights.Join("a", Waiter{1, 9, 0});
  f.flights.Join("b", Waiter{1, 9, 1});
  f.flights.Join("a", Waiter{1, 9, 2});
  CHECK(f.origin.fetches["a"] == 1);
  f.origin.Finish("b", FetchResult::Value("B"));
  f.origin.Finish("a", FetchResult::Value("A"));
  REQUIRE(f.delivered.size() == 3);
  CHECK(f.delivered[0].part == 1);
  CHECK(f.delivered[1].part == 0);
  CHECK(f.delivered[2].part == 2);
}

TEST_CASE("a fetch completing after the table is gone does nothing") {
  FakeOrigin origin;
  Keyspace keyspace;
  int delivered = 0;
  {
    Singleflight flights(
        &origin, &keyspace, [&](const Waiter&, std::shared_ptr<const FetchResult>) { ++delivered; },
        [] { return int64_t{0}; });
    flights.Join("k", Waiter{1, 1, 0});
  }
  origin.Finish("k", FetchResult::Value("v"));
  CHECK(delivered == 0);
  CHECK(keyspace.size() == 0);
}

TEST_CASE("the negative cache still remembers a new miss after more than 100k lapsed ones") {
  Fixture f;
  f.flights.set_policy(FillPolicy{0, 1000});
  const size_t many = Singleflight::kMaxNegativeEntries + 5000;
  for (size_t i = 0; i < many; ++i) {
    std::string key = "gone:" + std::to_string(i);
    f.flights.Join(key, Waiter{1, i, 0});
    f.origin.Finish(key, FetchResult::NotFound());
  }
  CHECK(f.flights.negative_entries() <= Singleflight::kMaxNegativeEntries);
  f.now += 5000;  // every one of them has lapsed
  f.flights.Join("fresh", Waiter{2, 1, 0});
  f.origin.Finish("fresh", FetchResult::NotFound());
  CHECK(f.flights.KnownMissing("fresh", f.now));
  CHECK(f.origin.fetches["fresh"] == 1);
  // The cron's sweep forgets the lapsed ones, a bounded batch per call.
  while (f.flights.SweepNegative() > 0) {
  }
  CHECK(f.flights.negative_entries() == 1);
  CHECK(f.flights.KnownMissing("fresh", f.now));
  CHECK_FALSE(f.flights.KnownMissing("gone:7", f.now));
}

TEST_CASE("past the cap the oldest remembered miss is forgotten to make room for the newest") {
  Fixture f;
  f.flights.set_policy(FillPolicy{0, 3600 * 1000});
  const size_t many = Singleflight::kMaxNegativeEntries + 10;
  for (size_t i = 0; i < many; ++i) {
    std::string key = "miss:" + std::to_string(i);
    f.flights.Join(key, Waiter{1, i, 0});
    f.origin.Finish(key, FetchResult::NotFound());
  }
  CHECK(f.flights.negative_entries() == Singleflight::kMaxNegativeEntries);
  CHECK_FALSE(f.flights.KnownMissing("miss:0", f.now));
  CHECK(f.flights.KnownMissing("miss:" + std::to_string(many - 1), f.now));
  CHECK(f.flights.SweepNegative() == 0);  // nothing has lapsed
  f.flights.OnFlush();
  CHECK(f.flights.negative_entries() == 0);
}

TEST_CASE(
    "a write to another key of a watched shard skips the table lock; one to the flight's "
    "key still forgets it") {
  Fixture f;
  f.flights.Join("flying", Waiter{1, 1, 0});
  flightcache::storage::Shard* watched = f.keyspace.db(0).Locate("flying").shard;
  int same_shard = 0;
  std::string neighbour;  // a key of the same shard
  for (int i = 0; i < 2000; ++i) {
    std::string key = "other:" + std::to_string(i);
    KeyLocation at = f.keyspace.db(0).Locate(key);
    if (at.shard != watched) continue;
    ++same_shard;
    if (neighbour.empty()) neighbour = key;
    at.shard->Set(key, at.hash, "x", 0);
  }
  REQUIRE(same_shard > 20);
  // Only a key whose hash shares the flight's filter bucket (about 1 in 8192) takes the lock.
  CHECK(f.flights.stats().key_changes_locked <= 1);
  KeyLocation at = f.keyspace.db(0).Locate("flying");
  at.shard->Set("flying", at.hash, "newer", 0);
  CHECK(f.flights.stats().key_changes_locked >= 1);
  f.origin.Finish("flying", FetchResult::Value("older"));
  CHECK(f.flights.stats().forgotten == 1);
  CHECK(EntryValue(f.keyspace.db(0).Find("flying", f.now)) == "newer");
  // Once the flight is done its filter count is back to zero: the same write skips the lock.
  uint64_t locked = f.flights.stats().key_changes_locked;
  f.flights.Join(neighbour, Waiter{1, 2, 0});  // keeps the shard watched
  at.shard->Set("flying", at.hash, "newest", 0);
  CHECK(f.flights.stats().key_changes_locked == locked);
}

TEST_CASE("a reader after a forget starts a new flight; the forgotten one still answers its own") {
  Fixture f;
  f.flights.Join("k", Waiter{1, 1, 0});
  KeyLocation at = f.keyspace.db(0).Locate("k");
  at.shard->Delete("k", at.hash);  // forgets the flight
  f.flights.Join("k", Waiter{2, 1, 0});
  CHECK(f.origin.fetches["k"] == 2);
  CHECK(f.flights.in_flight() == 2);
  auto callbacks = std::move(f.origin.pending["k"]);
  f.origin.pending.erase("k");
  callbacks[0](FetchResult::Value("old"));  // the forgotten flight
  REQUIRE(f.delivered.size() == 1);
  CHECK(f.delivered[0].conn == 1);
  CHECK(f.delivered[0].value == "old");
  CHECK(f.keyspace.db(0).Find("k", f.now) == nullptr);  // it fills nothing
  callbacks[1](FetchResult::Value("new"));
  REQUIRE(f.delivered.size() == 2);
  CHECK(f.delivered[1].conn == 2);
  CHECK(f.delivered[1].value == "new");
  CHECK(EntryValue(f.keyspace.db(0).Find("k", f.now)) == "new");
  CHECK(f.flights.in_flight() == 0);
  CHECK(f.flights.Forget("k") == false);
}

TEST_CASE("a background refresh is a flight without waiters that readers may join") {
  Fixture f;
  f.flights.set_policy(FillPolicy{1000, 0, FreshnessDefaults{60, 0, 0}});
  CHECK(f.flights.Refresh("k", RefreshReason::kStale));
  CHECK_FALSE(f.flights.Refresh("k", RefreshReason::kStale));  // one is in flight
  CHECK(f.origin.fetches["k"] == 1);
  f.flights.Join("k", Waiter{1, 1, 0});
  std::vector<FlightInfo> list = f.flights.Flights();
  REQUIRE(list.size() == 1);
  CHECK(list[0].background);
  CHECK(list[0].waiters == 1);
  f.origin.Finish("k", FetchResult::Value("v"));
  CHECK(f.delivered.size() == 1);
  SingleflightStats st = f.flights.stats();
  CHECK(st.stale_hits == 2);
  CHECK(st.refreshes_started == 1);
  CHECK(st.refreshes_succeeded == 1);
  flightcache::storage::Entry* e = f.keyspace.db(0).Find("k", f.now);
  REQUIRE(e);
  CHECK(flightcache::storage::EntryFreshness(e).stale_while_revalidate_s == 60);
  CHECK(EntryExpireAt(e) == f.now + 1000);
}

TEST_CASE("an error answers the waiters of a key in its stale-if-error window with the value") {
  Fixture f;
  f.flights.set_policy(FillPolicy{1000, 0, FreshnessDefaults{0, 10, 0}});
  f.flights.Join("k", Waiter{1, 1, 0});
  f.origin.Finish("k", FetchResult::Value("good"));
  f.now += 5000;  // expired 4 s ago, within the 10 s window
  f.flights.Join("k", Waiter{2, 1, 0});
  f.origin.Finish("k", FetchResult::Error(FetchErrorKind::kUnreachable, "origin unreachable"));
  REQUIRE(f.delivered.size() == 2);
  CHECK(f.delivered[1].status == FetchStatus::kValue);
  CHECK(f.delivered[1].value == "good");
  CHECK(f.flights.stats().stale_if_error_serves == 1);
  f.now += 10000;  // past the window
  f.flights.Join("k", Waiter{3, 1, 0});
  f.origin.Finish("k", FetchResult::Error(FetchErrorKind::kUnreachable, "origin unreachable"));
  REQUIRE(f.delivered.size() == 3);
  CHECK(f.delivered[2].status == FetchStatus::kError);
}
