// databases_test.cc — numbered databases (SELECT, MOVE, SWAPDB, COPY ... DB, FLUSHDB,
// FLUSHALL, DBSIZE/KEYS/SCAN/RANDOMKEY, INFO keyspace, CLIENT LIST db=, RESET) against the real
// binary, with Redis 7.0's replies and errors; WATCH per database; read-through on database 0
// only, against the shipped test origin.
#include <doctest/doctest.h>

#include <memory>
#include <string>

#include "tests/integration/server_process.h"
#include "tests/integration/test_origin_process.h"

namespace flightcache::integration {
namespace {

// A connection that has selected database db.
ContextPtr ConnectDb(int port, int db) {
  ContextPtr c = Connect(port);
  REQUIRE(Do(c, {"SELECT", std::to_string(db)}) == "+OK");
  return c;
}

// The test origin (tests/tools/test_origin) on a free port: GET k answers "value:k".
using Origin = TestOriginProcess;

}  // namespace

TEST_CASE_FIXTURE(ServerFixture, "the same key in two databases holds two values") {
  ContextPtr one = ConnectDb(server.port(), 1);
  CHECK(Do(c, {"SET", "foo", "zero"}) == "+OK");
  CHECK(Do(one, {"SET", "foo", "one"}) == "+OK");
  CHECK(Do(c, {"GET", "foo"}) == "zero");
  CHECK(Do(one, {"GET", "foo"}) == "one");
  CHECK(Do(one, {"DEL", "foo"}) == ":1");
  CHECK(Do(c, {"GET", "foo"}) == "zero");
  CHECK(Do(one, {"GET", "foo"}) == "(nil)");
  CHECK(Do(one, {"HSET", "h", "f", "v"}) == ":1");
  CHECK(Do(c, {"TYPE", "h"}) == "+none");
  CHECK(Do(c, {"SELECT", "1"}) == "+OK");
  CHECK(Do(c, {"HGET", "h", "f"}) == "v");
}

TEST_CASE_FIXTURE(ServerFixture, "SELECT reports Redis's errors and RESET goes back to db 0") {
  CHECK(Do(c, {"SELECT", "16"}) == "-ERR DB index is out of range");
  CHECK(Do(c, {"SELECT", "-1"}) == "-ERR DB index is out of range");
  CHECK(Do(c, {"SELECT", "x"}) == "-ERR value is not an integer or out of range");
  CHECK(Do(c, {"SELECT", "99999999999"}) ==
        "-ERR value is out of range, value must between -2147483648 and 2147483647");
  CHECK(Do(c, {"SELECT", "7"}) == "+OK");
  CHECK(Do(c, {"SET", "k", "7"}) == "+OK");
  CHECK(Do(c, {"CLIENT", "INFO"}).find(" db=7 ") != std::string::npos);
  CHECK(Do(c, {"RESET"}) == "+RESET");
  CHECK(Do(c, {"CLIENT", "INFO"}).find(" db=0 ") != std::string::npos);
  CHECK(Do(c, {"GET", "k"}) == "(nil)");
}

TEST_CASE("databases sets how many databases there are, and CONFIG SET cannot change it") {
  ServerProcess server({"--databases", "2"});
  ContextPtr c = Connect(server.port());
  CHECK(Do(c, {"CONFIG", "GET", "databases"}) == "[databases, 2]");
  CHECK(Do(c, {"SELECT", "1"}) == "+OK");
  CHECK(Do(c, {"SELECT", "2"}) == "-ERR DB index is out of range");
  CHECK(Do(c, {"CONFIG", "SET", "databases", "4"}) ==
        "-ERR CONFIG SET failed (possibly related to argument 'databases') - can't set immutable "
        "config");
  ContextPtr d = Connect(server.port());
  CHECK(Do(d, {"CONFIG", "GET", "databases"}) == "[databases, 2]");
}

TEST_CASE("the default is 16 databases") {
  ServerProcess server;
  ContextPtr c = Connect(server.port());
  CHECK(Do(c, {"CONFIG", "GET", "databases"}) == "[databases, 16]");
}

TEST_CASE_FIXTURE(ServerFixture, "MOVE moves a key with its TTL, and reports Redis's errors") {
  ContextPtr two = ConnectDb(server.port(), 2);
  CHECK(Do(c, {"SET", "m", "v", "EX", "100"}) == "+OK");
  CHECK(Do(c, {"RPUSH", "l", "a", "b"}) == ":2");
  CHECK(Do(c, {"MOVE", "m", "2"}) == ":1");
  CHECK(Do(c, {"EXISTS", "m"}) == ":0");
  CHECK(Do(two, {"GET", "m"}) == "v");
  CHECK(Do(two, {"TTL", "m"}) == ":100");
  CHECK(Do(c, {"MOVE", "l", "2"}) == ":1");
  CHECK(Do(two, {"LRANGE", "l", "0", "-1"}) == "[a, b]");
  CHECK(Do(c, {"MOVE", "m", "2"}) == ":0");  // missing here
  CHECK(Do(c, {"SET", "m", "again"}) == "+OK");
  CHECK(Do(c, {"MOVE", "m", "2"}) == ":0");  // exists there: nothing moves
  CHECK(Do(c, {"GET", "m"}) == "again");
  CHECK(Do(two, {"GET", "m"}) == "v");
  CHECK(Do(c, {"MOVE", "m", "0"}) == "-ERR source and destination objects are the same");
  CHECK(Do(c, {"MOVE", "m", "16"}) == "-ERR DB index is out of range");
  CHECK(Do(c, {"MOVE", "m", "x"}) == "-ERR value is not an integer or out of range");
  CHECK(Do(c, {"MOVE", "m"}) == "-ERR wrong number of arguments for 'move' command");
}

TEST_CASE_FIXTURE(ServerFixture, "SWAPDB exchanges two databases for every client") {
  ContextPtr one = ConnectDb(server.port(), 1);
  CHECK(Do(c, {"SET", "a", "zero"}) == "+OK");
  CHECK(Do(c, {"SET", "t", "x", "EX", "100"}) == "+OK");
  CHECK(Do(one, {"SET", "b", "one"}) == "+OK");
  CHECK(Do(one, {"SWAPDB", "0", "1"}) == "+OK");
  CHECK(Do(c, {"GET", "a"}) == "(nil)");
  CHECK(Do(c, {"GET", "b"}) == "one");
  CHECK(Do(one, {"GET", "a"}) == "zero");
  CHECK(Do(one, {"TTL", "t"}) == ":100");
  CHECK(Do(c, {"DBSIZE"}) == ":1");
  CHECK(Do(one, {"DBSIZE"}) == ":2");
  CHECK(Do(c, {"SWAPDB", "3", "3"}) == "+OK");
  CHECK(Do(c, {"SWAPDB", "x", "1"}) == "-ERR invalid first DB index");
  CHECK(Do(c, {"SWAPDB", "1", "x"}) == "-ERR invalid second DB index");
  CHECK(Do(c, {"SWAPDB", "1", "16"}) == "-ERR DB index is out of range");
  CHECK(Do(c, {"SWAPDB", "-1", "1"}) == "-ERR DB index is out of range");
}

TEST_CASE_FIXTURE(ServerFixture, "COPY ... DB copies into another database") {
  ContextPtr five = ConnectDb(server.port(), 5);
  CHECK(Do(c, {"SADD", "s", "x", "y"}) == ":2");
  CHECK(Do(c, {"COPY", "s", "s", "DB", "5"}) == ":1");
  CHECK(Do(five, {"SCARD", "s"}) == ":2");
  CHECK(Do(c, {"COPY", "s", "s", "DB", "5"}) == ":0");
  CHECK(Do(c, {"COPY", "s", "s", "DB", "5", "REPLACE"}) == ":1");
  CHECK(Do(c, {"COPY", "s", "s", "DB", "0"}) == "-ERR source and destination objects are the same");
  CHECK(Do(c, {"SREM", "s", "x"}) == ":1");
  CHECK(Do(five, {"SCARD", "s"}) == ":2");  // a copy, not a share
}

TEST_CASE_FIXTURE(ServerFixture, "FLUSHDB empties one database, FLUSHALL every one") {
  ContextPtr one = ConnectDb(server.port(), 1);
  ContextPtr two = ConnectDb(server.port(), 2);
  CHECK(Do(c, {"SET", "k", "0"}) == "+OK");
  CHECK(Do(one, {"SET", "k", "1"}) == "+OK");
  CHECK(Do(two, {"SET", "k", "2"}) == "+OK");
  CHECK(Do(one, {"FLUSHDB"}) == "+OK");
  CHECK(Do(one, {"DBSIZE"}) == ":0");
  CHECK(Do(c, {"GET", "k"}) == "0");
  CHECK(Do(two, {"GET", "k"}) == "2");
  CHECK(Do(c, {"FLUSHALL"}) == "+OK");
  CHECK(Do(c, {"DBSIZE"}) == ":0");
  CHECK(Do(two, {"DBSIZE"}) == ":0");
}

TEST_CASE_FIXTURE(ServerFixture, "DBSIZE KEYS SCAN and RANDOMKEY see their own database only") {
  ContextPtr three = ConnectDb(server.port(), 3);
  for (int i = 0; i < 50; ++i) CHECK(Do(c, {"SET", "zero:" + std::to_string(i), "v"}) == "+OK");
  CHECK(Do(three, {"SET", "three", "v"}) == "+OK");
  CHECK(Do(three, {"DBSIZE"}) == ":1");
  CHECK(Do(c, {"DBSIZE"}) == ":50");
  CHECK(Do(three, {"KEYS", "*"}) == "[three]");
  CHECK(Do(three, {"RANDOMKEY"}) == "three");
  std::string cursor = "0";
  std::string seen;
  do {
    ReplyPtr r = Command(three.get(), {"SCAN", cursor, "COUNT", "100"});
    REQUIRE(r);
    REQUIRE(r->type == REDIS_REPLY_ARRAY);
    cursor.assign(r->element[0]->str, r->element[0]->len);
    for (size_t i = 0; i < r->element[1]->elements; ++i) seen += r->element[1]->element[i]->str;
  } while (cursor != "0");
  CHECK(seen == "three");
  ContextPtr nine = ConnectDb(server.port(), 9);
  CHECK(Do(nine, {"RANDOMKEY"}) == "(nil)");
  CHECK(Do(nine, {"KEYS", "*"}) == "[]");
}

TEST_CASE_FIXTURE(ServerFixture, "INFO keyspace has a line per database that holds keys") {
  ContextPtr four = ConnectDb(server.port(), 4);
  CHECK(Do(c, {"SET", "a", "1"}) == "+OK");
  CHECK(Do(four, {"SET", "b", "1", "EX", "1000"}) == "+OK");
  CHECK(Do(four, {"SET", "c", "1"}) == "+OK");
  CHECK(InfoValue(c.get(), "db0") == "keys=1,expires=0,avg_ttl=0");
  CHECK(InfoValue(c.get(), "db4").rfind("keys=2,expires=1,avg_ttl=", 0) == 0);
  CHECK(InfoValue(c.get(), "db1") == "(absent)");
  // The expiry cycle samples the TTLs: avg_ttl becomes an estimate of the 1000 s left.
  CHECK(WaitUntil([&] { return InfoValue(c.get(), "db4") != "keys=2,expires=1,avg_ttl=0"; }));
  const std::string line = InfoValue(c.get(), "db4");
  const long long avg = std::stoll(line.substr(line.rfind('=') + 1));
  CHECK(avg > 900000);
  CHECK(avg <= 1000000);
  CHECK(Do(four, {"FLUSHDB"}) == "+OK");
  CHECK(InfoValue(c.get(), "db4") == "(absent)");
}

TEST_CASE_FIXTURE(ServerFixture, "WATCH in one database is not broken by the same key in another") {
  ContextPtr zero = Connect(server.port());
  CHECK(Do(c, {"SELECT", "1"}) == "+OK");
  CHECK(Do(c, {"SET", "w", "1"}) == "+OK");
  CHECK(Do(c, {"WATCH", "w"}) == "+OK");
  CHECK(Do(zero, {"SET", "w", "other"}) == "+OK");
  CHECK(Do(c, {"MULTI"}) == "+OK");
  CHECK(Do(c, {"INCR", "w"}) == "+QUEUED");
  CHECK(Do(c, {"EXEC"}) == "[:2]");
  // The same key in the watched database breaks it.
  ContextPtr one = ConnectDb(server.port(), 1);
  CHECK(Do(c, {"WATCH", "w"}) == "+OK");
  CHECK(Do(one, {"SET", "w", "5"}) == "+OK");
  CHECK(Do(c, {"MULTI"}) == "+OK");
  CHECK(Do(c, {"INCR", "w"}) == "+QUEUED");
  CHECK(Do(c, {"EXEC"}) == "(nil)");
  // FLUSHDB of another database leaves the watch alone; of the watched one breaks it.
  CHECK(Do(c, {"WATCH", "w"}) == "+OK");
  CHECK(Do(zero, {"FLUSHDB"}) == "+OK");
  CHECK(Do(c, {"MULTI"}) == "+OK");
  CHECK(Do(c, {"INCR", "w"}) == "+QUEUED");
  CHECK(Do(c, {"EXEC"}) == "[:6]");
  CHECK(Do(c, {"WATCH", "w"}) == "+OK");
  CHECK(Do(one, {"FLUSHDB"}) == "+OK");
  CHECK(Do(c, {"MULTI"}) == "+OK");
  CHECK(Do(c, {"INCR", "w"}) == "+QUEUED");
  CHECK(Do(c, {"EXEC"}) == "(nil)");
  // SWAPDB breaks a watch on a key that exists in either database.
  CHECK(Do(zero, {"SET", "s", "0"}) == "+OK");
  CHECK(Do(c, {"WATCH", "s"}) == "+OK");
  CHECK(Do(zero, {"SWAPDB", "0", "1"}) == "+OK");
  CHECK(Do(c, {"MULTI"}) == "+OK");
  CHECK(Do(c, {"GET", "s"}) == "+QUEUED");
  CHECK(Do(c, {"EXEC"}) == "(nil)");
}

TEST_CASE_FIXTURE(ServerFixture, "SELECT inside MULTI switches the database for later commands") {
  CHECK(Do(c, {"MULTI"}) == "+OK");
  CHECK(Do(c, {"SET", "k", "zero"}) == "+QUEUED");
  CHECK(Do(c, {"SELECT", "6"}) == "+QUEUED");
  CHECK(Do(c, {"SET", "k", "six"}) == "+QUEUED");
  CHECK(Do(c, {"EXEC"}) == "[+OK, +OK, +OK]");
  CHECK(Do(c, {"GET", "k"}) == "six");
  CHECK(Do(c, {"SELECT", "0"}) == "+OK");
  CHECK(Do(c, {"GET", "k"}) == "zero");
}

TEST_CASE("read-through fills database 0 only; a miss in another database is a plain miss") {
  Origin origin;
  ServerProcess server({"--origin", "redis://127.0.0.1:" + std::to_string(origin.port)});
  ContextPtr zero = Connect(server.port());
  ContextPtr one = ConnectDb(server.port(), 1);
  CHECK(Do(one, {"GET", "user:1"}) == "(nil)");
  CHECK(origin.Count("user:1") == 0);
  CHECK(Do(one, {"MGET", "user:1", "user:2"}) == "[(nil), (nil)]");
  CHECK(Do(zero, {"GET", "user:1"}) == "value:user:1");
  CHECK(origin.Count("user:1") == 1);
  CHECK(Do(one, {"EXISTS", "user:1"}) == ":0");
  CHECK(Do(zero, {"EXISTS", "user:1"}) == ":1");
  CHECK(origin.Count("user:2") == 0);
}

}  // namespace flightcache::integration
