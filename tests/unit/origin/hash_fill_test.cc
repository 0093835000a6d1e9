// hash_fill_test.cc — the singleflight table's hash flights (ReadKind::kHash) against a fake
// origin the test completes by hand: the row's fields fill a hash within the encoding limits,
// a reader of the other kind gets WRONGTYPE, a row with no field is "not found"; and
// MergeDuplicateColumns (sql_result.h).
#include <doctest/doctest.h>

#include <map>
#include <string>
#include <vector>

#include "origin/singleflight.h"
#include "origin/sql_result.h"
#include "storage/types/hash_object.h"

using namespace flightcache::origin;
using flightcache::storage::Entry;
using flightcache::storage::HashObject;
using flightcache::storage::Keyspace;

namespace {

class RowOrigin : public Origin {
 public:
  void Fetch(std::string_view key, FetchCallback cb) override {
    pending[std::string(key)].push_back(std::move(cb));
    ++fetches[std::string(key)];
  }
  int ConnectedCount() const override { return 1; }
  std::string Describe() const override { return "rows://"; }
  void Close() override {}
  void Finish(const std::string& key, const FetchResult& result) {
    auto callbacks = std::move(pending[key]);
    pending.erase(key);
    for (auto& cb : callbacks) cb(result);
  }
  std::map<std::string, std::vector<FetchCallback>> pending;
  std::map<std::string, int> fetches;
};

struct Answer {
  uint64_t conn;
  FetchStatus status;
  FetchErrorKind error_kind;
  size_t fields;
};

struct HashFixture {
  Keyspace keyspace;
  RowOrigin origin;
  std::vector<Answer> answers;
  int64_t now = 1000;
  Singleflight flights{&origin, &keyspace,
                       [this](const Waiter& w, std::shared_ptr<const FetchResult> r) {
                         answers.push_back({w.conn_id, r->status, r->error_kind, r->fields.size()});
                       },
                       [this] { return now; }};
};

Waiter HashReader(uint64_t conn) {
  Waiter w{conn, 1, 0};
  w.kind = ReadKind::kHash;
  return w;
}

FetchResult Row(std::vector<RowField> fields) {
  FetchResult result = FetchResult::Value("{json}");
  result.fields = std::move(fields);
  return result;
}

HashObject* StoredHash(HashFixture& f, const std::string& key) {
  Entry* e = f.keyspace.db(0).Find(key, f.now);
  if (!e || flightcache::storage::EntryType(e) != flightcache::storage::ValueType::kHash) {
    return nullptr;
  }
  return static_cast<HashObject*>(flightcache::storage::EntryObject(e));
}

}  // namespace

TEST_CASE("a hash flight fills the row's fields as a hash, listpack within the limits") {
  HashFixture f;
  f.flights.Join("u:1", HashReader(1));
  f.flights.Join("u:1", HashReader(2));
  CHECK(f.origin.fetches["u:1"] == 1);
  f.origin.Finish("u:1", Row({{"name", "Ada"}, {"age", "36"}}));
  REQUIRE(f.answers.size() == 2);
  CHECK(f.answers[1].status == FetchStatus::kValue);
  CHECK(f.answers[1].fields == 2);
  HashObject* h = StoredHash(f, "u:1");
  REQUIRE(h != nullptr);
  CHECK(h->is_listpack());
  CHECK(h->Get("name") == "Ada");
  CHECK(h->Get("age") == "36");
  CHECK(f.flights.stats().fills == 1);
}

TEST_CASE("a hash fill past the policy's hash limits is a hashtable") {
  HashFixture f;
  FillPolicy policy;
  policy.type_limits.hash_max_listpack_entries = 2;
  f.flights.set_policy(policy);
  f.flights.Join("u:1", HashReader(1));
  f.origin.Finish("u:1", Row({{"a", "1"}, {"b", "2"}, {"c", "3"}}));
  HashObject* h = StoredHash(f, "u:1");
  REQUIRE(h != nullptr);
  CHECK_FALSE(h->is_listpack());
  CHECK(h->Length() == 3);
}

TEST_CASE("a reader of the other kind joins the flight and gets WRONGTYPE for a value") {
  HashFixture f;
  f.flights.Join("u:1", HashReader(1));
  Waiter getex{2, 1, 0};
  getex.expire_at_ms = 99999;  // GETEX EX: ignored, GETEX answers WRONGTYPE
  f.flights.Join("u:1", getex);
  CHECK(f.origin.fetches["u:1"] == 1);
  f.origin.Finish("u:1", Row({{"name", "Ada"}}));
  REQUIRE(f.answers.size() == 2);
  CHECK(f.answers[0].status == FetchStatus::kValue);
  CHECK(f.answers[1].status == FetchStatus::kError);
  CHECK(f.answers[1].error_kind == FetchErrorKind::kWrongType);
  Entry* e = f.keyspace.db(0).Find("u:1", f.now);
  REQUIRE(e != nullptr);
  CHECK(flightcache::storage::EntryExpireAt(e) == 0);
  // And the other way round: a string flight answers a hash reader WRONGTYPE.
  f.flights.Join("s", Waiter{3, 1, 0});
  f.flights.Join("s", HashReader(4));
  f.origin.Finish("s", Row({{"v", "x"}}));
  REQUIRE(f.answers.size() == 4);
  CHECK(f.answers[2].status == FetchStatus::kValue);
  CHECK(f.answers[3].error_kind == FetchErrorKind::kWrongType);
  CHECK(StoredHash(f, "s") == nullptr);
}

TEST_CASE("a row with no field is not found for a hash flight, and remembered as missing") {
  HashFixture f;
  f.flights.set_policy(FillPolicy{0, 5000});
  f.flights.Join("u:nil", HashReader(1));
  f.flights.Join("u:nil", Waiter{2, 1, 0});
  f.origin.Finish("u:nil", Row({}));
  REQUIRE(f.answers.size() == 2);
  CHECK(f.answers[0].status == FetchStatus::kNotFound);
  CHECK(f.answers[1].status == FetchStatus::kNotFound);
  CHECK(f.keyspace.size() == 0);
  CHECK(f.flights.KnownMissing("u:nil", f.now));
}

TEST_CASE("MergeDuplicateColumns keeps a repeated column's first place and last value") {
  std::vector<RowField> fields = {{"a", "1"}, {"b", "2"}, {"a", "3"}, {"c", "4"}, {"b", "5"}};
  MergeDuplicateColumns(&fields);
  CHECK(fields == std::vector<RowField>{{"a", "3"}, {"b", "5"}, {"c", "4"}});
  std::vector<RowField> unique = {{"z", "1"}, {"y", "2"}};
  MergeDuplicateColumns(&unique);
  CHECK(unique == std::vector<RowField>{{"z", "1"}, {"y", "2"}});
}
