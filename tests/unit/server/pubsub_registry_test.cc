// pubsub_registry_test.cc — the shared subscription table: subscribe and unsubscribe are
// idempotent, empty channels and patterns are forgotten, and PUBLISH's receivers are grouped
// by worker and counted as Redis counts them.
#include "server/pubsub_registry.h"

#include <doctest/doctest.h>

#include <algorithm>

namespace flightcache::server {
namespace {

TEST_CASE("subscribing twice adds one subscriber and an emptied channel is forgotten") {
  PubsubRegistry r;
  const Subscriber a{0, 7};
  CHECK(r.Subscribe("ch", a));
  CHECK_FALSE(r.Subscribe("ch", a));
  CHECK(r.NumSub("ch") == 1);
  CHECK(r.NumChannels() == 1);
  CHECK(r.Unsubscribe("ch", a));
  CHECK_FALSE(r.Unsubscribe("ch", a));
  CHECK(r.NumSub("ch") == 0);
  CHECK(r.NumChannels() == 0);
  CHECK(r.Channels("", true).empty());
}

TEST_CASE("receivers are grouped by worker, one per channel and per matching pattern") {
  PubsubRegistry r;
  r.Subscribe("news", {0, 1});
  r.Subscribe("news", {1, 2});
  r.PSubscribe("n*", {1, 2});
  r.PSubscribe("n*", {0, 3});
  r.PSubscribe("x*", {0, 1});
  std::vector<PublishBatch> batches;
  CHECK(r.CollectReceivers("news", 2, &batches) == 4);
  REQUIRE(batches.size() == 2);
  CHECK(batches[0].channel_subscribers == std::vector<uint64_t>{1});
  CHECK(batches[1].channel_subscribers == std::vector<uint64_t>{2});
  REQUIRE(batches[0].pattern_subscribers.size() == 1);
  CHECK(batches[0].pattern_subscribers[0] == std::make_pair(uint64_t{3}, std::string("n*")));
  CHECK(batches[1].pattern_subscribers.size() == 1);
  CHECK(r.CollectReceivers("other", 2, &batches) == 0);
  CHECK((batches[0].empty() && batches[1].empty()));
  CHECK(r.NumPat() == 2);
  std::vector<std::string> channels = r.Channels("n?ws", false);
  CHECK(channels == std::vector<std::string>{"news"});
  CHECK(r.Channels("x*", false).empty());
}

}  // namespace
}  // namespace flightcache::server
