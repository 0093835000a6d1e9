// pubsub_test.cc — SUBSCRIBE, PSUBSCRIBE, their UNSUBSCRIBEs, PUBLISH and PUBSUB against the real
// binary, with Redis 7.0's replies: subscriber mode in RESP2, pushes in RESP3, delivery across
// two workers, the pubsub output limit cutting off a subscriber that never reads, and cleanup
// on close. Every wait polls PUBSUB / INFO figures up to a deadline; nothing sleeps.
#include <doctest/doctest.h>

#include <string>

#include "tests/integration/server_process.h"

namespace flightcache::integration {
namespace {

std::string Next(const ContextPtr& c) {
  ReplyPtr r = NextReply(c.get());
  return Show(r.get(), c.get());
}

// Sends a command whose replies are several (SUBSCRIBE a b) and returns them all, joined by " ".
std::string DoMany(const ContextPtr& c, const std::vector<std::string>& args, int replies) {
  Append(c.get(), args);
  std::string out;
  for (int i = 0; i < replies; ++i) out += (i ? " " : "") + Next(c);
  return out;
}

bool NumSubIs(const ContextPtr& c, const std::string& channel, int n) {
  return Do(c, {"PUBSUB", "NUMSUB", channel}) == "[" + channel + ", :" + std::to_string(n) + "]";
}

}  // namespace

TEST_CASE_FIXTURE(ServerFixture, "SUBSCRIBE and UNSUBSCRIBE answer each channel with the count") {
  CHECK(DoMany(c, {"SUBSCRIBE", "a", "b"}, 2) == "[subscribe, a, :1] [subscribe, b, :2]");
  CHECK(Do(c, {"SUBSCRIBE", "a"}) == "[subscribe, a, :2]");  // already subscribed
  CHECK(Do(c, {"PSUBSCRIBE", "n*"}) == "[psubscribe, n*, :3]");
  CHECK(Do(c, {"UNSUBSCRIBE", "a", "zzz"}).rfind("[unsubscribe, a, :2]", 0) == 0);
  CHECK(Next(c) == "[unsubscribe, zzz, :2]");
  CHECK(Do(c, {"UNSUBSCRIBE"}) == "[unsubscribe, b, :1]");
  CHECK(Do(c, {"UNSUBSCRIBE"}) == "[unsubscribe, (nil), :1]");
  CHECK(Do(c, {"PUNSUBSCRIBE"}) == "[punsubscribe, n*, :0]");
  CHECK(Do(c, {"PUNSUBSCRIBE"}) == "[punsubscribe, (nil), :0]");
  // Out of subscriber mode, every command runs again.
  CHECK(Do(c, {"SET", "k", "v"}) == "+OK");
  CHECK(Do(c, {"PING"}) == "+PONG");
}

TEST_CASE_FIXTURE(ServerFixture,
                  "PUBLISH reaches channel and pattern subscribers and counts them") {
  ContextPtr sub = Connect(server.port());
  ContextPtr psub = Connect(server.port());
  CHECK(Do(c, {"PUBLISH", "news", "nobody"}) == ":0");
  CHECK(Do(sub, {"SUBSCRIBE", "news"}) == "[subscribe, news, :1]");
  CHECK(DoMany(psub, {"PSUBSCRIBE", "n*", "ne?s", "x*"}, 3) ==
        "[psubscribe, n*, :1] [psubscribe, ne?s, :2] [psubscribe, x*, :3]");
  CHECK(Do(c, {"PUBLISH", "news", "hello"}) == ":3");
  CHECK(Next(sub) == "[message, news, hello]");
  // Patterns come in no particular order (a hash table in Redis too).
  const std::string first = Next(psub);
  const std::string second = Next(psub);
  CHECK((first < second ? first + " " + second : second + " " + first) ==
        "[pmessage, n*, news, hello] [pmessage, ne?s, news, hello]");
  CHECK(Do(c, {"PUBLISH", "nothing", "x"}) == ":1");
  CHECK(Next(psub) == "[pmessage, n*, nothing, x]");
  CHECK(Do(c, {"PUBLISH", "other", "x"}) == ":0");
  // Binary-safe channel and message.
  const std::string bin("\0\r\n\xff", 4);
  CHECK(Do(sub, {"SUBSCRIBE", bin}) == "[subscribe, " + bin + ", :2]");
  CHECK(Do(c, {"PUBLISH", bin, bin}) == ":1");
  CHECK(Next(sub) == "[message, " + bin + ", " + bin + "]");
}

TEST_CASE_FIXTURE(ServerFixture, "a RESP2 subscriber may only run the subscriber-mode commands") {
  CHECK(Do(c, {"SUBSCRIBE", "ch"}) == "[subscribe, ch, :1]");
  CHECK(Do(c, {"GET", "k"}) ==
        "-ERR Can't execute 'get': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET "
        "are allowed in this context");
  CHECK(Do(c, {"PUBSUB", "NUMPAT"}).rfind("-ERR Can't execute 'pubsub': only", 0) == 0);
  CHECK(Do(c, {"PING"}) == "[pong, ]");
  CHECK(Do(c, {"PING", "hi"}) == "[pong, hi]");
  CHECK(Do(c, {"PSUBSCRIBE", "p*"}) == "[psubscribe, p*, :2]");
  ContextPtr other = Connect(server.port());
  const std::string clients = Do(other, {"CLIENT", "LIST"});
  CHECK(clients.find("flags=P db=0 sub=1 psub=1 ssub=0 ") != std::string::npos);
  CHECK(Do(other, {"CLIENT", "LIST", "TYPE", "pubsub"}).find("sub=1 psub=1") != std::string::npos);
  CHECK(Do(other, {"CLIENT", "LIST", "TYPE", "normal"}).find("flags=P") == std::string::npos);
  CHECK(Do(other, {"INFO", "stats"}).find("pubsub_channels:1\r\npubsub_patterns:1\r\n") !=
        std::string::npos);
  ContextPtr third = Connect(server.port());
  const std::string third_id = Do(third, {"CLIENT", "ID"}).substr(1);
  CHECK(Do(third, {"PSUBSCRIBE", "q*"}) == "[psubscribe, q*, :1]");
  CHECK(Do(other, {"CLIENT", "KILL", "TYPE", "normal", "ID", third_id}) == ":0");
  CHECK(Do(other, {"CLIENT", "KILL", "TYPE", "pubsub", "ID", third_id}) == ":1");
  CHECK(Do(c, {"RESET"}) == "+RESET");
  CHECK(Do(c, {"GET", "k"}) == "(nil)");
  CHECK(Do(other, {"PUBSUB", "NUMSUB", "ch"}) == "[ch, :0]");
  CHECK(Do(other, {"PUBSUB", "NUMPAT"}) == ":0");
  CHECK(Do(c, {"SUBSCRIBE", "ch"}) == "[subscribe, ch, :1]");
  CHECK(Do(c, {"QUIT"}) == "+OK");
  CHECK(WaitUntil([&] { return NumSubIs(other, "ch", 0); }));
}

TEST_CASE_FIXTURE(ServerFixture, "a RESP3 subscriber gets pushes and may run any command") {
  RawConnection raw(server.port());
  raw.Send("HELLO 3\r\n");
  CHECK(raw.ReadReply().rfind("{server: redis", 0) == 0);
  raw.Send("SUBSCRIBE ch\r\nPSUBSCRIBE c*\r\nSET k v\r\nGET k\r\nPING\r\n");
  CHECK(raw.ReadReply() == ">[subscribe, ch, :1]");
  CHECK(raw.ReadReply() == ">[psubscribe, c*, :2]");
  CHECK(raw.ReadReply() == "+OK");
  CHECK(raw.ReadReply() == "v");
  CHECK(raw.ReadReply() == "+PONG");
  CHECK(Do(c, {"PUBLISH", "ch", "m"}) == ":2");
  CHECK(raw.ReadReply() == ">[message, ch, m]");
  CHECK(raw.ReadReply() == ">[pmessage, c*, ch, m]");
  // Publishing to itself: the push comes before PUBLISH's own answer, as in Redis.
  raw.Send("PUBLISH ch self\r\n");
  CHECK(raw.ReadReply() == ">[message, ch, self]");
  CHECK(raw.ReadReply() == ">[pmessage, c*, ch, self]");
  CHECK(raw.ReadReply() == ":2");
  raw.Send("UNSUBSCRIBE\r\nUNSUBSCRIBE\r\n");
  CHECK(raw.ReadReply() == ">[unsubscribe, ch, :1]");
  CHECK(raw.ReadReply() == ">[unsubscribe, _, :1]");
}

TEST_CASE("PUBLISH delivers to subscribers on another worker") {
  // The acceptor hands consecutive connections to different workers.
  ServerProcess server({"--threads", "2", "--accept-mode", "acceptor"});
  ContextPtr a = Connect(server.port());
  ContextPtr b = Connect(server.port());
  ContextPtr pa = Connect(server.port());
  ContextPtr pb = Connect(server.port());
  CHECK(Do(a, {"SUBSCRIBE", "x"}) == "[subscribe, x, :1]");
  CHECK(Do(b, {"SUBSCRIBE", "x"}) == "[subscribe, x, :1]");
  CHECK(Do(b, {"PSUBSCRIBE", "*"}) == "[psubscribe, *, :2]");
  for (const ContextPtr* publisher : {&pa, &pb}) {
    for (int i = 0; i < 50; ++i) {
      const std::string msg = "m" + std::to_string(i);
      CHECK(Do(*publisher, {"PUBLISH", "x", msg}) == ":3");
    }
    for (int i = 0; i < 50; ++i) {
      const std::string msg = "m" + std::to_string(i);
      CHECK(Next(a) == "[message, x, " + msg + "]");  // in order from one publisher
      CHECK(Next(b) == "[message, x, " + msg + "]");
      CHECK(Next(b) == "[pmessage, *, x, " + msg + "]");
    }
  }
  CHECK(Do(pa, {"PUBSUB", "NUMSUB", "x", "y"}) == "[x, :2, y, :0]");
  CHECK(Do(pb, {"PUBSUB", "NUMPAT"}) == ":1");
}

TEST_CASE_FIXTURE(ServerFixture, "PUBSUB CHANNELS NUMSUB NUMPAT and HELP answer as Redis") {
  ContextPtr s1 = Connect(server.port());
  ContextPtr s2 = Connect(server.port());
  CHECK(Do(c, {"PUBSUB", "CHANNELS"}) == "[]");
  CHECK(Do(c, {"PUBSUB", "NUMSUB"}) == "[]");
  CHECK(Do(c, {"PUBSUB", "NUMPAT"}) == ":0");
  CHECK(DoMany(s1, {"SUBSCRIBE", "news.tech", "news.art"}, 2).size() > 0);
  CHECK(DoMany(s2, {"SUBSCRIBE", "news.tech", "sport"}, 2).size() > 0);
  CHECK(DoMany(s2, {"PSUBSCRIBE", "a*", "b*"}, 2).size() > 0);
  CHECK(Do(s1, {"PSUBSCRIBE", "a*"}) == "[psubscribe, a*, :3]");
  const std::string all = Do(c, {"PUBSUB", "CHANNELS"});
  CHECK(all.size() == std::string("[news.tech, news.art, sport]").size());
  CHECK(all.find("sport") != std::string::npos);
  CHECK(Do(c, {"PUBSUB", "CHANNELS", "sp*"}) == "[sport]");
  CHECK(Do(c, {"PUBSUB", "CHANNELS", "nomatch*"}) == "[]");
  CHECK(Do(c, {"PUBSUB", "NUMSUB", "news.tech", "news.art", "none"}) ==
        "[news.tech, :2, news.art, :1, none, :0]");
  CHECK(Do(c, {"PUBSUB", "NUMPAT"}) == ":2");  // distinct patterns, as Redis counts
  CHECK(Do(c, {"INFO", "stats"}).find("pubsub_channels:3\r\npubsub_patterns:2\r\n") !=
        std::string::npos);
  CHECK(Do(c, {"PUBSUB", "HELP"}).rfind("[+PUBSUB <subcommand> [<arg> [value] [opt] ...]", 0) == 0);
  CHECK(Do(c, {"PUBSUB", "NUMPAT", "x"}) ==
        "-ERR wrong number of arguments for 'pubsub|numpat' command");
  CHECK(Do(c, {"PUBSUB", "CHANNELS", "a", "b"}) ==
        "-ERR wrong number of arguments for 'pubsub|channels' command");
  CHECK(Do(c, {"PUBSUB", "NOPE"}) == "-ERR unknown subcommand 'NOPE'. Try PUBSUB HELP.");
  CHECK(Do(c, {"PUBSUB"}) == "-ERR wrong number of arguments for 'pubsub' command");
  CHECK(Do(c, {"SUBSCRIBE"}) == "-ERR wrong number of arguments for 'subscribe' command");
  CHECK(Do(c, {"PUBLISH", "x"}) == "-ERR wrong number of arguments for 'publish' command");
}

TEST_CASE_FIXTURE(ServerFixture, "closing a subscriber takes it off every channel and pattern") {
  {
    ContextPtr sub = Connect(server.port());
    CHECK(DoMany(sub, {"SUBSCRIBE", "gone", "also"}, 2).size() > 0);
    CHECK(Do(sub, {"PSUBSCRIBE", "g*"}) == "[psubscribe, g*, :3]");
    CHECK(NumSubIs(c, "gone", 1));
  }
  CHECK(WaitUntil([&] { return NumSubIs(c, "gone", 0); }));
  CHECK(WaitUntil([&] { return Do(c, {"PUBSUB", "NUMPAT"}) == ":0"; }));
  CHECK(NumSubIs(c, "also", 0));
  CHECK(Do(c, {"PUBLISH", "gone", "x"}) == ":0");
  CHECK(InfoNumber(c, "pubsub_channels") == 0);
}

TEST_CASE("a subscriber that never reads is cut off at the pubsub output limit") {
  ServerFixture f;
  CHECK(Do(f.c, {"CONFIG", "SET", "client-output-buffer-limit", "pubsub 1mb 0 0"}) == "+OK");
  RawConnection slow(f.server.port());
  slow.Send("SUBSCRIBE flood\r\n");
  CHECK(slow.ReadReply() == "[subscribe, flood, :1]");
  ContextPtr reader = Connect(f.server.port());
  CHECK(Do(reader, {"SUBSCRIBE", "flood"}) == "[subscribe, flood, :1]");
  // A normal client is not held to the pubsub class: it may have more than 1mb unsent.
  const std::string chunk(256 * 1024, 'x');
  int published = 0;
  // The kernel's socket buffers take some megabytes before the server has to hold any.
  while (published < 400 && NumSubIs(f.c, "flood", 2)) {
    REQUIRE(Do(f.c, {"PUBLISH", "flood", chunk}).rfind(":", 0) == 0);
    ++published;
    REQUIRE(Next(reader) == "[message, flood, " + chunk + "]");
  }
  CHECK(WaitUntil([&] { return NumSubIs(f.c, "flood", 1); }));
  CHECK(f.server.Log().find("scheduled to be closed ASAP for overcoming of output buffer limits") !=
        std::string::npos);
  // The one that reads keeps receiving.
  CHECK(Do(f.c, {"PUBLISH", "flood", "after"}) == ":1");
  CHECK(Next(reader) == "[message, flood, after]");
}

}  // namespace flightcache::integration
