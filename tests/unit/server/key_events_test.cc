// key_events_test.cc — the pure parts of keyspace notifications (class letters, canonical form,
// channel names) and the client tracking table (remember, invalidate once, NOLOOP, BCAST
// prefixes, redirects, the key limit, flush).
#include <doctest/doctest.h>

#include <algorithm>
#include <string>
#include <vector>

#include "server/keyspace_notifications.h"
#include "server/tracking_table.h"

using namespace flightcache::server;

namespace {

// "conn:key" for each invalidation (conn: the id it goes to; key "*" for a flush, "!" for a
// broken redirect), so a test compares one vector.
std::vector<std::string> Render(const std::vector<Invalidation>& out) {
  std::vector<std::string> rendered;
  for (const Invalidation& m : out) {
    std::string what = m.kind == Invalidation::Kind::kFlush            ? "*"
                       : m.kind == Invalidation::Kind::kBrokenRedirect ? "!"
                                                                       : m.key;
    rendered.push_back(std::to_string(m.conn_id) + ":" + what);
  }
  return rendered;
}

}  // namespace

TEST_CASE("notify-keyspace-events letters parse and print as Redis 7.0's") {
  uint32_t flags = 0;
  REQUIRE(ParseNotifyClasses("KEA", &flags));
  CHECK(FormatNotifyClasses(flags) == "AKE");
  REQUIRE(ParseNotifyClasses("E$lgs", &flags));
  CHECK(FormatNotifyClasses(flags) == "g$lsE");
  REQUIRE(ParseNotifyClasses("An", &flags));
  CHECK(FormatNotifyClasses(flags) == "A");  // Redis 7.0 prints n only without A
  REQUIRE(ParseNotifyClasses("mKo", &flags));
  CHECK(FormatNotifyClasses(flags) == "Kmo");
  REQUIRE(ParseNotifyClasses("", &flags));
  CHECK(flags == 0);
  CHECK_FALSE(ParseNotifyClasses("Kq", &flags));
  CHECK((kNotifyAll & kNotifyOrigin) == 0);
  CHECK(KeyspaceChannel(0, "k") == "__keyspace@0__:k");
  CHECK(KeyeventChannel(3, "set") == "__keyevent@3__:set");
}

TEST_CASE("a remembered key is invalidated once for each client that read it") {
  TrackingTable t;
  t.ClientConnected(1, 0);
  t.ClientConnected(2, 1);
  t.Enable(1, 0, {});
  t.Enable(2, 1, {});
  CHECK(t.active());
  std::vector<Invalidation> out;
  t.Remember("k", 1, &out);
  t.Remember("k", 2, &out);
  t.Remember("k", 2, &out);
  CHECK(t.total_keys() == 1);
  CHECK(t.total_items() == 2);
  t.KeyChanged("k", 0, &out);
  CHECK(Render(out) == std::vector<std::string>{"1:k", "2:k"});
  CHECK(out[1].worker == 1);
  out.clear();
  t.KeyChanged("k", 0, &out);  // forgotten
  CHECK(out.empty());
  CHECK(t.total_items() == 0);
}

TEST_CASE("NOLOOP, BCAST prefixes, redirects and closed clients") {
  TrackingTable t;
  for (uint64_t id = 1; id <= 4; ++id) t.ClientConnected(id, 0);
  TrackingSettings noloop;
  noloop.noloop = true;
  t.Enable(1, 0, noloop);
  TrackingSettings bcast;
  bcast.bcast = true;
  bcast.prefixes = {"user:", "cart:"};
  t.Enable(2, 0, bcast);
  TrackingSettings redirect;
  redirect.redirect = 4;
  t.Enable(3, 0, redirect);
  std::vector<Invalidation> out;
  t.Remember("user:1", 1, &out);
  t.Remember("user:1", 3, &out);
  t.KeyChanged("user:1", 1, &out);  // client 1's own write
  CHECK(Render(out) == std::vector<std::string>{"2:user:1", "4:user:1"});
  CHECK(out[1].via_redirect);
  out.clear();
  t.KeyChanged("other", 0, &out);
  CHECK(out.empty());
  t.ClientClosed(4);  // the redirect target goes away
  t.Remember("cart:9", 3, &out);
  t.KeyChanged("cart:9", 0, &out);
  CHECK(Render(out) == std::vector<std::string>{"2:cart:9", "3:!"});
  bool broken = false;
  CHECK(t.SettingsOf(3, &broken));
  CHECK(broken);
  CHECK(t.SettingsOf(2, nullptr)->prefixes == std::vector<std::string>{"cart:", "user:"});
  CHECK(t.total_prefixes() == 2);
  t.ClientClosed(2);
  CHECK(t.total_prefixes() == 0);
  CHECK(t.tracking_clients() == 2);
  out.clear();
  t.Flushed(&out);
  std::vector<std::string> flushed = Render(out);
  std::sort(flushed.begin(), flushed.end());  // clients come in no particular order
  CHECK(flushed == std::vector<std::string>{"1:*", "3:!"});
}

TEST_CASE("past max keys the table drops keys and invalidates them") {
  TrackingTable t;
  t.ClientConnected(1, 0);
  t.Enable(1, 0, {});
  t.set_max_keys(2);
  std::vector<Invalidation> out;
  t.Remember("a", 1, &out);
  t.Remember("b", 1, &out);
  CHECK(out.empty());
  t.Remember("c", 1, &out);
  REQUIRE(out.size() == 1);
  CHECK((out[0].key == "a" || out[0].key == "b"));
  CHECK(t.total_keys() == 2);
  t.Disable(1);
  CHECK_FALSE(t.active());
}
