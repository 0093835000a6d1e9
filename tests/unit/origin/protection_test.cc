// protection_test.cc — the circuit breaker's state machine (origin/circuit_breaker.h), the
// NOTIFY payload format (origin/postgres_listener.h), the feed fill rule (invalidation.h) and
// the protection route options (route.h).
#include <doctest/doctest.h>

#include "origin/circuit_breaker.h"
#include "origin/invalidation.h"
#include "origin/postgres_listener.h"
#include "origin/route.h"

namespace flightcache::origin {
namespace {

bool Admit(CircuitBreaker& b, uint64_t now, bool* probe) { return b.Admit(now, probe); }

TEST_CASE("the breaker opens after N consecutive failures and a success resets the count") {
  CircuitBreaker b(BreakerSettings{3, 100});
  bool probe = false;
  for (int i = 0; i < 2; ++i) {
    REQUIRE(Admit(b, 0, &probe));
    b.Record(FetchErrorKind::kTimeout, true, probe, 0);
  }
  REQUIRE(Admit(b, 0, &probe));
  b.Record(FetchErrorKind::kNone, false, probe, 0);  // an answer: the count starts again
  for (int i = 0; i < 2; ++i) b.Record(FetchErrorKind::kUnreachable, true, false, 0);
  CHECK(b.state() == BreakerState::kClosed);
  b.Record(FetchErrorKind::kUnreachable, true, false, 0);
  CHECK(b.state() == BreakerState::kOpen);
  CHECK(b.trips() == 1);
  CHECK_FALSE(Admit(b, 99, &probe));
}

TEST_CASE("after the cool-down one probe decides: failure re-opens, success closes") {
  CircuitBreaker b(BreakerSettings{1, 100});
  bool probe = false;
  b.Record(FetchErrorKind::kTimeout, true, false, 0);
  REQUIRE(b.state() == BreakerState::kOpen);
  REQUIRE(Admit(b, 100, &probe));
  CHECK(probe);
  CHECK(b.state() == BreakerState::kHalfOpen);
  bool second = false;
  CHECK_FALSE(Admit(b, 100, &second));  // one probe at a time
  b.Record(FetchErrorKind::kTimeout, true, true, 100);
  CHECK(b.state() == BreakerState::kOpen);
  CHECK(b.trips() == 2);
  CHECK_FALSE(Admit(b, 150, &probe));
  REQUIRE(Admit(b, 200, &probe));
  REQUIRE(probe);
  b.Record(FetchErrorKind::kErrorReply, false, true, 200);  // the origin answered: it is up
  CHECK(b.state() == BreakerState::kClosed);
  CHECK(Admit(b, 200, &probe));
  CHECK_FALSE(probe);
}

TEST_CASE("refusals made here move the breaker neither way; 0 failures is no breaker") {
  CircuitBreaker b(BreakerSettings{1, 10});
  bool probe = false;
  b.Record(FetchErrorKind::kBusy, false, false, 0);
  CHECK(b.state() == BreakerState::kClosed);
  b.Record(FetchErrorKind::kTimeout, true, false, 0);
  REQUIRE(Admit(b, 10, &probe));
  b.Record(FetchErrorKind::kBusy, false, true, 10);  // the probe was refused: another may go
  CHECK(b.state() == BreakerState::kHalfOpen);
  CHECK(Admit(b, 10, &probe));
  CHECK(probe);
  b.Configure(BreakerSettings{0, 10});
  CHECK(b.state() == BreakerState::kClosed);
  for (int i = 0; i < 10; ++i) b.Record(FetchErrorKind::kTimeout, true, false, 0);
  CHECK(b.state() == BreakerState::kClosed);
}

TEST_CASE("a NOTIFY payload is a JSON array of keys, else one key as it is; empty is all") {
  using Keys = std::vector<std::string>;
  CHECK(NotifyPayloadKeys("user:1") == Keys{"user:1"});
  CHECK(NotifyPayloadKeys("a b,c") == Keys{"a b,c"});
  CHECK(NotifyPayloadKeys(R"(["user:1", "user:2"])") == Keys{"user:1", "user:2"});
  CHECK(NotifyPayloadKeys(R"( [ "q\"uote", "back\\slash", "\u00e9\ud83d\ude00" ] )") ==
        Keys{"q\"uote", "back\\slash", "\xc3\xa9\xf0\x9f\x98\x80"});
  CHECK(NotifyPayloadKeys("[]").empty());
  CHECK(NotifyPayloadKeys("").empty());
  // Not a JSON array of strings: the whole payload is the key.
  CHECK(NotifyPayloadKeys("[1, 2]") == Keys{"[1, 2]"});
  CHECK(NotifyPayloadKeys(R"(["open)") == Keys{R"(["open)"});
}

TEST_CASE("a value fills only when the feed was up in one epoch from start to answer") {
  CHECK(FillAllowed(FeedState::kOff, 0, 0));
  CHECK(FillAllowed(FeedState::kUnsupported, 0, 0));
  CHECK(FillAllowed(FeedState::kUp, 3, 3));
  CHECK_FALSE(FillAllowed(FeedState::kUp, 2, 3));  // lost and back meanwhile
  CHECK_FALSE(FillAllowed(FeedState::kUp, 0, 3));  // started while it was down
  CHECK_FALSE(FillAllowed(FeedState::kDown, 3, 0));
  CHECK_FALSE(FillAllowed(FeedState::kConnecting, 0, 0));
}

TEST_CASE("route lines take the protection and invalidation options") {
  RouteSpec spec;
  std::string error;
  REQUIRE_MESSAGE(ParseRouteSpec("user:{id} redis://h max-inflight=4 max-queue=100 "
                                 "breaker-failures=2 breaker-cooldown=250 tracking=no",
                                 &spec, &error),
                  error);
  CHECK(*spec.options.max_inflight == 4);
  CHECK(*spec.options.max_queue == 100);
  CHECK(*spec.options.breaker_failures == 2);
  CHECK(*spec.options.breaker_cooldown_ms == 250);
  CHECK(*spec.options.tracking == false);
  CHECK(spec.Redacted() ==
        "user:{id} redis://h max-inflight=4 max-queue=100 breaker-failures=2 "
        "breaker-cooldown=250 tracking=no");
  REQUIRE_MESSAGE(ParseRouteSpec("item:{id} postgres://h/db \"SELECT v FROM t WHERE id = $1\" "
                                 "listen=items",
                                 &spec, &error),
                  error);
  CHECK(spec.options.listen == "items");
  CHECK_FALSE(ParseRouteSpec("k:* redis://h listen=x", &spec, &error));
  CHECK(error.find("listen= is for postgres:// routes") != std::string::npos);
  CHECK_FALSE(ParseRouteSpec("k:* redis://h tracking=maybe", &spec, &error));
  CHECK(error.find("yes or no") != std::string::npos);
  CHECK_FALSE(ParseRouteSpec("k:* redis://h max-queue=-1", &spec, &error));
}

}  // namespace
}  // namespace flightcache::origin
