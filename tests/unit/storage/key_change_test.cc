// key_change_test.cc — what a watching shard says happened to a key (storage::KeyChange): the
// kinds keyspace notifications and client tracking name their events after.
#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "storage/keyspace.h"

using namespace flightcache::storage;

namespace {

struct KindWatcher : KeyWatcher {
  std::vector<std::string> seen;  // "key kind[+expiry]"
  void OnKeyChanged(std::string_view key) override { seen.push_back(std::string(key) + " ?"); }
  void OnKeyChange(std::string_view key, KeyChange change) override {
    static const char* kNames[] = {"created", "written",       "expire-set", "persisted",
                                   "deleted", "absent-delete", "expired",    "evicted"};
    seen.push_back(std::string(key) + " " + kNames[static_cast<int>(change.kind)] +
                   (change.with_expiry ? "+expiry" : ""));
  }
  void OnFlush() override { seen.push_back("flush"); }
};

}  // namespace

TEST_CASE("a watching shard tells what happened to each key") {
  Keyspace ks;
  KindWatcher watcher;
  KeyLocation at = ks.db(0).Locate("k");
  at.shard->set_watcher(&watcher);
  at.shard->AddWatch();
  Entry* e = at.shard->Set("k", at.hash, "1", 0);
  e = at.shard->Set("k", at.hash, "2", 500);
  e = at.shard->ReplaceValue(e, at.hash, "33");
  e = at.shard->SetExpire(e, at.hash, 0);
  e = at.shard->SetExpire(e, at.hash, 50);
  CHECK(at.shard->Find("k", at.hash, 100) == nullptr);
  CHECK_FALSE(at.shard->Delete("k", at.hash));
  at.shard->Set("k", at.hash, "4", 0);
  CHECK(at.shard->Evict("k", at.hash));
  at.shard->Set("k", at.hash, "5", 0);
  CHECK(at.shard->Delete("k", at.hash));
  at.shard->Flush();
  CHECK(watcher.seen == std::vector<std::string>{"k created", "k written+expiry", "k written",
                                                 "k persisted", "k expire-set", "k expired",
                                                 "k absent-delete", "k created", "k evicted",
                                                 "k created", "k deleted", "flush"});
  at.shard->RemoveWatch();
  at.shard->set_watcher(nullptr);
}

TEST_CASE("an active expiry pass reports expired keys") {
  Keyspace ks;
  KindWatcher watcher;
  KeyLocation at = ks.db(0).Locate("gone");
  at.shard->set_watcher(&watcher);
  at.shard->AddWatch();
  at.shard->Set("gone", at.hash, "v", 10);
  size_t expired = 0;
  while (at.shard->volatile_count() > 0) at.shard->ActiveExpireStep(20, 64, &expired);
  CHECK(expired == 1);
  CHECK(watcher.seen == std::vector<std::string>{"gone created+expiry", "gone expired"});
  at.shard->RemoveWatch();
  at.shard->set_watcher(nullptr);
}
