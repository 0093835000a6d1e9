// tracking_test.cc — client tracking (server-assisted client-side caching) against the real
// binary: CLIENT TRACKING's modes (default, BCAST with PREFIX, OPTIN/OPTOUT with CLIENT
// CACHING, NOLOOP, REDIRECT to a RESP2 subscriber of __redis__:invalidate), RESP3 invalidate
// pushes read with the harness's raw RESP3 reader, the null invalidation of FLUSHALL, expiry,
// tracking-table-max-keys, reads filled from the origin, delivery across two workers, and
// Redis 7.0's errors. A push the test expects is read with a deadline; a push that must not come
// is checked by the order of replies on the connection (a PING answered first), never by waiting.
#include <doctest/doctest.h>

#include <memory>
#include <string>

#include "tests/integration/server_process.h"
#include "tests/integration/test_origin_process.h"

namespace flightcache::integration {
namespace {

std::string Next(const ContextPtr& c) {
  ReplyPtr r = NextReply(c.get());
  return Show(r.get(), c.get());
}

// The test origin on a free port (tests/tools/test_origin).
using TestOrigin = TestOriginProcess;

}  // namespace

TEST_CASE_FIXTURE(
    ServerFixture,
    "a key a tracking client read is invalidated once when another client writes it") {
  auto t = ConnectResp3(server.port());
  CHECK(RawDo(*t, "CLIENT TRACKING ON") == "+OK");
  CHECK(InfoNumber(c, "tracking_clients") == 1);
  CHECK(RawDo(*t, "GET k") == "_");  // a missing key is remembered too
  CHECK(InfoNumber(c, "tracking_total_keys") == 1);
  CHECK(Do(c, {"SET", "k", "v"}) == "+OK");
  CHECK(t->ReadReply() == ">[invalidate, [k]]");
  CHECK(InfoNumber(c, "tracking_total_keys") == 0);
  // Forgotten after one invalidation: the next write sends nothing until k is read again.
  CHECK(Do(c, {"SET", "k", "v2"}) == "+OK");
  CHECK(RawDo(*t, "PING") == "+PONG");
  CHECK(RawDo(*t, "MGET k other") == "[v2, _]");
  CHECK(Do(c, {"DEL", "other"}) == ":0");  // no change: nothing sent
  CHECK(Do(c, {"APPEND", "k", "x"}) == ":3");
  CHECK(t->ReadReply() == ">[invalidate, [k]]");
  CHECK(Do(c, {"SET", "other", "1"}) == "+OK");
  CHECK(t->ReadReply() == ">[invalidate, [other]]");
  // Writes of every type count, and so does a write by the tracking client itself, whose
  // invalidation comes after its own reply.
  CHECK(RawDo(*t, "LRANGE list 0 -1") == "[]");
  CHECK(RawDo(*t, "RPUSH list a") == ":1");
  CHECK(t->ReadReply() == ">[invalidate, [list]]");
  CHECK(RawDo(*t, "CLIENT TRACKING OFF") == "+OK");
  CHECK(InfoNumber(c, "tracking_clients") == 0);
  CHECK(RawDo(*t, "GET k") == "v2x");
  CHECK(Do(c, {"DEL", "k"}) == ":1");
  CHECK(RawDo(*t, "PING") == "+PONG");
}

TEST_CASE_FIXTURE(ServerFixture, "NOLOOP leaves out the client's own writes") {
  auto t = ConnectResp3(server.port());
  CHECK(RawDo(*t, "CLIENT TRACKING ON NOLOOP") == "+OK");
  CHECK(RawDo(*t, "CLIENT TRACKINGINFO") == "{flags: ~[on, noloop], redirect: :0, prefixes: []}");
  CHECK(RawDo(*t, "GET k") == "_");
  CHECK(RawDo(*t, "SET k mine") == "+OK");
  CHECK(RawDo(*t, "PING") == "+PONG");  // no invalidation of its own write
  CHECK(RawDo(*t, "GET k") == "mine");
  CHECK(Do(c, {"SET", "k", "theirs"}) == "+OK");
  CHECK(t->ReadReply() == ">[invalidate, [k]]");
}

TEST_CASE_FIXTURE(ServerFixture,
                  "a RESP2 client gets invalidations through REDIRECT to a __redis__:invalidate "
                  "subscriber") {
  ContextPtr r = Connect(server.port());
  const std::string rid = Do(r, {"CLIENT", "ID"}).substr(1);
  CHECK(Do(r, {"SUBSCRIBE", "__redis__:invalidate"}) == "[subscribe, __redis__:invalidate, :1]");
  ContextPtr t = Connect(server.port());
  CHECK(Do(t, {"CLIENT", "GETREDIR"}) == ":-1");
  CHECK(Do(t, {"CLIENT", "TRACKING", "ON", "REDIRECT", rid}) == "+OK");
  CHECK(Do(t, {"CLIENT", "GETREDIR"}) == ":" + rid);
  CHECK(Do(t, {"CLIENT", "TRACKINGINFO"}) == "[flags, [on], redirect, :" + rid + ", prefixes, []]");
  CHECK(Do(t, {"GET", "k"}) == "(nil)");
  CHECK(Do(c, {"SET", "k", "v"}) == "+OK");
  CHECK(Next(r) == "[message, __redis__:invalidate, [k]]");
  CHECK(Do(c, {"FLUSHALL"}) == "+OK");
  CHECK(Next(r) == "[message, __redis__:invalidate, (nil)]");
  // Once the target is gone, the redirect is broken (a RESP2 client hears nothing of it).
  r.reset();
  CHECK(WaitUntil([&] { return InfoNumber(c, "connected_clients") == 2; }));
  CHECK(Do(t, {"GET", "k"}) == "(nil)");
  CHECK(Do(c, {"SET", "k", "v"}) == "+OK");
  CHECK(Do(t, {"CLIENT", "TRACKINGINFO"}) ==
        "[flags, [on, broken_redirect], redirect, :" + rid + ", prefixes, []]");
}

TEST_CASE_FIXTURE(ServerFixture, "a RESP3 client whose redirect target closed is told so") {
  ContextPtr r = Connect(server.port());
  const std::string rid = Do(r, {"CLIENT", "ID"}).substr(1);
  auto t = ConnectResp3(server.port());
  CHECK(RawDo(*t, "CLIENT TRACKING ON REDIRECT " + rid) == "+OK");
  CHECK(RawDo(*t, "GET k") == "_");
  r.reset();
  CHECK(WaitUntil([&] { return InfoNumber(c, "connected_clients") == 2; }));
  CHECK(Do(c, {"SET", "k", "v"}) == "+OK");
  CHECK(t->ReadReply() == ">[tracking-redir-broken, :" + rid + "]");
}

TEST_CASE_FIXTURE(ServerFixture, "BCAST sends every change under the client's prefixes") {
  auto t = ConnectResp3(server.port());
  CHECK(RawDo(*t, "CLIENT TRACKING ON BCAST PREFIX user: PREFIX cart:") == "+OK");
  CHECK(RawDo(*t, "CLIENT TRACKINGINFO") ==
        "{flags: ~[on, bcast], redirect: :0, prefixes: [cart:, user:]}");
  CHECK(InfoNumber(c, "tracking_total_prefixes") == 2);
  CHECK(Do(c, {"SET", "user:1", "a"}) == "+OK");  // never read: BCAST needs no read
  CHECK(t->ReadReply() == ">[invalidate, [user:1]]");
  CHECK(Do(c, {"SET", "other", "x"}) == "+OK");
  CHECK(Do(c, {"HSET", "cart:9", "f", "v"}) == ":1");
  CHECK(t->ReadReply() == ">[invalidate, [cart:9]]");  // nothing for "other" before it
  CHECK(RawDo(*t, "CLIENT TRACKING ON BCAST PREFIX use") ==
        "-ERR Prefix 'use' overlaps with an existing prefix 'user:'. Prefixes for a single "
        "client must not overlap.");
  CHECK(RawDo(*t, "CLIENT TRACKING ON") ==
        "-ERR You can't switch BCAST mode on/off before disabling tracking for this client, and "
        "then re-enabling it with a different mode.");
  CHECK(RawDo(*t, "CLIENT TRACKING ON BCAST PREFIX order:") == "+OK");  // adds a prefix
  CHECK(Do(c, {"SET", "order:1", "x"}) == "+OK");
  CHECK(t->ReadReply() == ">[invalidate, [order:1]]");
  CHECK(RawDo(*t, "CLIENT TRACKING OFF") == "+OK");
  CHECK(InfoNumber(c, "tracking_total_prefixes") == 0);
  // BCAST without a prefix hears of every key.
  CHECK(RawDo(*t, "CLIENT TRACKING ON BCAST") == "+OK");
  CHECK(Do(c, {"SET", "anything", "x"}) == "+OK");
  CHECK(t->ReadReply() == ">[invalidate, [anything]]");
}

TEST_CASE_FIXTURE(ServerFixture,
                  "OPTIN tracks only after CLIENT CACHING YES, OPTOUT all but after CACHING NO") {
  auto t = ConnectResp3(server.port());
  CHECK(RawDo(*t, "CLIENT TRACKING ON OPTIN") == "+OK");
  CHECK(RawDo(*t, "GET a") == "_");
  CHECK(RawDo(*t, "CLIENT CACHING YES") == "+OK");
  CHECK(RawDo(*t, "CLIENT TRACKINGINFO") ==
        "{flags: ~[on, optin, caching-yes], redirect: :0, prefixes: []}");
  CHECK(RawDo(*t, "GET b") == "_");
  CHECK(RawDo(*t, "GET c") == "_");
  CHECK(Do(c, {"MSET", "a", "1", "b", "1", "c", "1"}) == "+OK");
  CHECK(t->ReadReply() == ">[invalidate, [b]]");
  CHECK(RawDo(*t, "PING") == "+PONG");
  CHECK(RawDo(*t, "CLIENT CACHING NO") ==
        "-ERR CLIENT CACHING NO is only valid when tracking is enabled in OPTOUT mode.");
  CHECK(RawDo(*t, "CLIENT TRACKING ON OPTOUT") ==
        "-ERR You can't switch OPTIN/OPTOUT mode before disabling tracking for this client, and "
        "then re-enabling it with a different mode.");
  CHECK(RawDo(*t, "CLIENT TRACKING OFF") == "+OK");
  CHECK(RawDo(*t, "CLIENT TRACKING ON OPTOUT") == "+OK");
  CHECK(RawDo(*t, "CLIENT CACHING NO") == "+OK");
  CHECK(RawDo(*t, "GET a") == "1");
  CHECK(RawDo(*t, "GET b") == "1");
  CHECK(Do(c, {"MSET", "a", "2", "b", "2"}) == "+OK");
  CHECK(t->ReadReply() == ">[invalidate, [b]]");
  CHECK(RawDo(*t, "PING") == "+PONG");
}

TEST_CASE_FIXTURE(ServerFixture, "FLUSHALL sends every tracking client a null invalidation") {
  auto t = ConnectResp3(server.port());
  auto bcast = ConnectResp3(server.port());
  CHECK(RawDo(*t, "CLIENT TRACKING ON") == "+OK");
  CHECK(RawDo(*bcast, "CLIENT TRACKING ON BCAST PREFIX p") == "+OK");
  CHECK(RawDo(*t, "GET k") == "_");
  CHECK(Do(c, {"FLUSHALL"}) == "+OK");
  CHECK(t->ReadReply() == ">[invalidate, _]");
  CHECK(bcast->ReadReply() == ">[invalidate, _]");
  CHECK(InfoNumber(c, "tracking_total_keys") == 0);
}

TEST_CASE_FIXTURE(ServerFixture, "a tracked key that expires is invalidated") {
  auto t = ConnectResp3(server.port());
  CHECK(RawDo(*t, "CLIENT TRACKING ON") == "+OK");
  CHECK(Do(c, {"SET", "k", "v", "PX", "50"}) == "+OK");
  CHECK(RawDo(*t, "GET k") == "v");
  // The active expiry cycle removes it without anyone asking: the push comes by itself.
  CHECK(t->ReadReply(std::chrono::seconds(30)) == ">[invalidate, [k]]");
}

TEST_CASE_FIXTURE(ServerFixture, "past tracking-table-max-keys a key is dropped and invalidated") {
  CHECK(Do(c, {"CONFIG", "SET", "tracking-table-max-keys", "2"}) == "+OK");
  CHECK(Do(c, {"CONFIG", "GET", "tracking-table-max-keys"}) == "[tracking-table-max-keys, 2]");
  auto t = ConnectResp3(server.port());
  CHECK(RawDo(*t, "CLIENT TRACKING ON") == "+OK");
  CHECK(RawDo(*t, "GET a") == "_");
  CHECK(RawDo(*t, "GET b") == "_");
  CHECK(InfoNumber(c, "tracking_total_keys") == 2);
  CHECK(RawDo(*t, "GET c") == "_");
  const std::string dropped = t->ReadReply();
  CHECK((dropped == ">[invalidate, [a]]" || dropped == ">[invalidate, [b]]"));
  CHECK(InfoNumber(c, "tracking_total_keys") == 2);
}

TEST_CASE_FIXTURE(ServerFixture, "CLIENT TRACKING, CACHING, GETREDIR and TRACKINGINFO errors") {
  CHECK(Do(c, {"CLIENT", "TRACKING", "ON", "REDIRECT", "999999"}) ==
        "-ERR The client ID you want redirect to does not exist");
  CHECK(Do(c, {"CLIENT", "TRACKING", "ON", "REDIRECT", "0"}) ==
        "-ERR The client ID you want redirect to does not exist");
  CHECK(Do(c, {"CLIENT", "TRACKING", "ON", "REDIRECT", "abc"}) ==
        "-ERR value is not an integer or out of range");
  CHECK(Do(c, {"CLIENT", "TRACKING", "ON", "PREFIX", "x"}) ==
        "-ERR PREFIX option requires BCAST mode to be enabled");
  CHECK(Do(c, {"CLIENT", "TRACKING", "ON", "BCAST", "OPTIN"}) ==
        "-ERR OPTIN and OPTOUT are not compatible with BCAST");
  CHECK(Do(c, {"CLIENT", "TRACKING", "ON", "OPTIN", "OPTOUT"}) ==
        "-ERR You can't specify both OPTIN mode and OPTOUT mode");
  CHECK(Do(c, {"CLIENT", "TRACKING", "ON", "BCAST", "PREFIX", "foo", "PREFIX", "foobar"}) ==
        "-ERR Prefix 'foo' overlaps with another provided prefix 'foobar'. Prefixes for a single "
        "client must not overlap.");
  CHECK(Do(c, {"CLIENT", "TRACKING", "MAYBE"}) == "-ERR syntax error");
  CHECK(Do(c, {"CLIENT", "TRACKING", "ON", "BOGUS"}) == "-ERR syntax error");
  CHECK(Do(c, {"CLIENT", "CACHING", "YES"}) ==
        "-ERR CLIENT CACHING can be called only when the client is in tracking mode with OPTIN "
        "or OPTOUT mode enabled");
  CHECK(Do(c, {"CLIENT", "GETREDIR"}) == ":-1");
  CHECK(Do(c, {"CLIENT", "TRACKINGINFO"}) == "[flags, [off], redirect, :-1, prefixes, []]");
  CHECK(Do(c, {"CLIENT", "TRACKING", "ON"}) == "+OK");
  CHECK(Do(c, {"CLIENT", "CACHING", "YES"}) ==
        "-ERR CLIENT CACHING YES is only valid when tracking is enabled in OPTIN mode.");
  CHECK(Do(c, {"CLIENT", "CACHING", "MAYBE"}) == "-ERR syntax error");
  CHECK(Do(c, {"RESET"}) == "+RESET");  // RESET turns tracking off
  CHECK(Do(c, {"CLIENT", "GETREDIR"}) == ":-1");
  CHECK(InfoNumber(c, "tracking_clients") == 0);
  CHECK(Do(c, {"PING"}) == "+PONG");
}

TEST_CASE("a read that waits on the origin is invalidated by its fill, a hit by a later change") {
  TestOrigin origin;
  ServerProcess server({"--origin", "redis://127.0.0.1:" + std::to_string(origin.port)});
  ContextPtr c = Connect(server.port());
  auto t = ConnectResp3(server.port());
  CHECK(RawDo(*t, "CLIENT TRACKING ON") == "+OK");
  // The read is remembered when it starts; the fill that answers it is a change, so the
  // invalidation follows the value (the client's cache then drops it: safe, never stale).
  CHECK(RawDo(*t, "GET k") == "value:k");
  CHECK(t->ReadReply() == ">[invalidate, [k]]");
  CHECK(RawDo(*t, "GET k") == "value:k");  // a hit, remembered again
  CHECK(Do(c, {"DEL", "k"}) == ":1");
  CHECK(t->ReadReply() == ">[invalidate, [k]]");
}

TEST_CASE("invalidations reach tracking clients on another worker") {
  // The acceptor hands consecutive connections to the two workers in turn.
  ServerProcess server({"--threads", "2", "--accept-mode", "acceptor"});
  auto t0 = ConnectResp3(server.port());
  auto t1 = ConnectResp3(server.port());
  ContextPtr w0 = Connect(server.port());
  ContextPtr w1 = Connect(server.port());
  ContextPtr r = Connect(server.port());  // worker 0
  const std::string rid = Do(r, {"CLIENT", "ID"}).substr(1);
  CHECK(Do(r, {"SUBSCRIBE", "__redis__:invalidate"}) == "[subscribe, __redis__:invalidate, :1]");
  ContextPtr redirected = Connect(server.port());  // worker 1
  CHECK(Do(redirected, {"CLIENT", "TRACKING", "ON", "REDIRECT", rid}) == "+OK");
  CHECK(RawDo(*t0, "CLIENT TRACKING ON") == "+OK");
  CHECK(RawDo(*t1, "CLIENT TRACKING ON BCAST PREFIX k") == "+OK");
  for (int i = 0; i < 20; ++i) {
    const std::string key = "k" + std::to_string(i);
    CHECK(RawDo(*t0, "GET " + key) == "_");
    CHECK(Do(redirected, {"GET", key}) == "(nil)");
    CHECK(Do(i % 2 ? w1 : w0, {"SET", key, "v"}) == "+OK");
    CHECK(t0->ReadReply() == ">[invalidate, [" + key + "]]");
    CHECK(t1->ReadReply() == ">[invalidate, [" + key + "]]");
    CHECK(Next(r) == "[message, __redis__:invalidate, [" + key + "]]");
  }
}

}  // namespace flightcache::integration
