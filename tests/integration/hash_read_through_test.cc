// hash_read_through_test.cc — HGETALL, HGET and HMGET reading a missing key through a SQL
// route as a hash of its row's columns, against real SQLite files and a real PostgreSQL: the
// row -> hash mapping (NULL columns left out, blobs as raw bytes), TYPE and OBJECT ENCODING of
// the fill (listpack, hashtable past hash-max-listpack-entries / -value), missing rows and the
// negative TTL, origin errors, one fetch for many concurrent readers, a GET and an HGETALL on
// one flight (WRONGTYPE for the second kind), the Forget rule, RESP3 maps, MULTI and non-SQL
// routes (plain misses), and WATCH, keyspace notifications and tracking seeing the fill.
// No test depends on the machine's speed: a fetch is held behind a lock the test holds itself
// (a SQLite writer's EXCLUSIVE lock, a PostgreSQL table lock) while the test waits on the
// server's own counters (INFO origin_parked_clients), then released.
#include <doctest/doctest.h>
#include <libpq-fe.h>
#include <sqlite3.h>

#include <memory>
#include <string>
#include <vector>

#include "tests/integration/postgres_harness.h"
#include "tests/integration/server_process.h"

namespace flightcache::integration {
namespace {

// A SQLite file in a fresh temp dir, written through its own connection (which may hold a
// writer's lock to keep the server's fetches waiting).
class TestDb {
 public:
  TestDb() : path_(dir_.path() + "/app.db") {
    REQUIRE(sqlite3_open(path_.c_str(), &db_) == SQLITE_OK);
  }
  ~TestDb() { sqlite3_close(db_); }
  TestDb(const TestDb&) = delete;
  TestDb& operator=(const TestDb&) = delete;
  std::string url() const { return "sqlite://" + path_; }
  void Exec(const std::string& sql) {
    char* error = nullptr;
    int rc = sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, &error);
    INFO(sql, " -> ", error ? error : "");
    sqlite3_free(error);
    REQUIRE(rc == SQLITE_OK);
  }

 private:
  TempDir dir_;
  std::string path_;
  sqlite3* db_ = nullptr;
};

// users(id, name, age, score, note, pic): Ada has every column but note; Bob only a name; Nil
// has NULL in every column the route reads.
void MakeUsers(TestDb& db) {
  db.Exec("CREATE TABLE users (id TEXT PRIMARY KEY, name TEXT, age INT, score REAL, note, pic)");
  db.Exec("INSERT INTO users VALUES ('1', 'Ada', 36, 0.5, NULL, x'00ff10')");
  db.Exec("INSERT INTO users VALUES ('2', 'Bob', NULL, NULL, NULL, NULL)");
  db.Exec("INSERT INTO users VALUES ('nil', NULL, NULL, NULL, NULL, NULL)");
  db.Exec("INSERT INTO users VALUES ('3', 'Cy', 7, NULL, NULL, NULL)");
  db.Exec("INSERT INTO users VALUES ('4', 'Di', 8, NULL, NULL, NULL)");
}

std::string UsersRoute(const TestDb& db, const std::string& options = "") {
  return "user:{id} " + db.url() +
         " \"SELECT name, age, score, note, pic FROM users WHERE id = ?1\"" + options;
}

const std::string kPic("\x00\xff\x10", 3);

// Sends args on c without waiting for the reply.
void Send(const ContextPtr& c, const std::vector<std::string>& args) {
  Append(c.get(), args);
  int done = 0;
  while (done == 0) REQUIRE(redisBufferWrite(c.get(), &done) == 0);
}

std::string Next(const ContextPtr& c) {
  ReplyPtr r = NextReply(c.get());
  return Show(r.get(), c.get());
}

// Waits until n readers are parked on origin fetches.
void WaitParked(const ContextPtr& c, long long n) {
  REQUIRE(WaitUntil([&] { return InfoNumber(c, "origin_parked_clients") == n; }));
}

TEST_CASE("HGETALL, HGET and HMGET of a missing key fill it from its SQLite row as a hash") {
  TestDb db;
  MakeUsers(db);
  ServerFixture f({"--route", UsersRoute(db)});
  // NULL columns are no fields; a blob is its raw bytes, numbers their text.
  CHECK(Do(f.c, {"HGETALL", "user:1"}) == "[name, Ada, age, 36, score, 0.5, pic, " + kPic + "]");
  CHECK(InfoNumber(f.c, "origin_fetches_started") == 1);
  CHECK(InfoNumber(f.c, "origin_fills") == 1);
  CHECK(Do(f.c, {"TYPE", "user:1"}) == "+hash");
  CHECK(Do(f.c, {"OBJECT", "ENCODING", "user:1"}) == "listpack");
  CHECK(Do(f.c, {"HLEN", "user:1"}) == ":4");
  CHECK(Do(f.c, {"HEXISTS", "user:1", "note"}) == ":0");
  CHECK(Do(f.c, {"HGET", "user:1", "pic"}) == kPic);
  CHECK(Do(f.c, {"HGETALL", "user:1"}) == "[name, Ada, age, 36, score, 0.5, pic, " + kPic + "]");
  CHECK(InfoNumber(f.c, "origin_fetches_started") == 1);  // hits from now on
  // HGET and HMGET fill the whole row too, and answer the fields they asked for.
  CHECK(Do(f.c, {"HGET", "user:2", "name"}) == "Bob");
  CHECK(Do(f.c, {"HGETALL", "user:2"}) == "[name, Bob]");
  CHECK(Do(f.c, {"HGET", "user:3", "age"}) == "7");
  CHECK(Do(f.c, {"HMGET", "user:4", "age", "nope", "name"}) == "[8, (nil), Di]");
  CHECK(Do(f.c, {"HGETALL", "user:4"}) == "[name, Di, age, 8]");
  CHECK(InfoNumber(f.c, "origin_fetches_started") == 4);
  CHECK(Do(f.c, {"TYPE", "user:4"}) == "+hash");
}

TEST_CASE("GET on the same route still fills the row as a string; a hash read of it is WRONGTYPE") {
  TestDb db;
  MakeUsers(db);
  db.Exec("CREATE TABLE kv (k TEXT PRIMARY KEY, v TEXT)");
  db.Exec("INSERT INTO kv VALUES ('a', 'value a')");
  ServerFixture f({"--route", UsersRoute(db), "--route",
                   "kv:{k} " + db.url() + " \"SELECT v FROM kv WHERE k = ?1\""});
  CHECK(Do(f.c, {"GET", "user:2"}) ==
        "{\"name\":\"Bob\",\"age\":null,\"score\":null,\"note\":null,\"pic\":null}");
  CHECK(Do(f.c, {"TYPE", "user:2"}) == "+string");
  CHECK(Do(f.c, {"HGETALL", "user:2"}) ==
        "-WRONGTYPE Operation against a key holding the wrong kind of value");
  // A one-column row: GET gets the value, a hash read the column as its one field.
  CHECK(Do(f.c, {"GET", "kv:a"}) == "value a");
  CHECK(Do(f.c, {"HGETALL", "kv:b"}) == "[]");
  CHECK(Do(f.c, {"DEL", "kv:a"}) == ":1");
  CHECK(Do(f.c, {"HGETALL", "kv:a"}) == "[v, value a]");
  CHECK(Do(f.c, {"GET", "kv:a"}) ==
        "-WRONGTYPE Operation against a key holding the wrong kind of value");
}

TEST_CASE("a missing row or a row of NULLs is nil / empty, remembered with the negative TTL") {
  TestDb db;
  MakeUsers(db);
  ServerFixture f({"--route", UsersRoute(db, " ttl=100 negative-ttl=100")});
  CHECK(Do(f.c, {"HGETALL", "user:absent"}) == "[]");
  CHECK(Do(f.c, {"HGETALL", "user:nil"}) == "[]");  // no field: no hash, as Redis keeps none
  CHECK(Do(f.c, {"EXISTS", "user:absent", "user:nil"}) == ":0");
  CHECK(InfoNumber(f.c, "origin_not_found") == 2);
  // Remembered: no fetch for either until the negative TTL lapses.
  CHECK(Do(f.c, {"HGET", "user:absent", "name"}) == "(nil)");
  CHECK(Do(f.c, {"HMGET", "user:nil", "name", "age"}) == "[(nil), (nil)]");
  CHECK(InfoNumber(f.c, "origin_negative_hits") == 2);
  CHECK(InfoNumber(f.c, "origin_fetches_started") == 2);
  // A value gets the route's TTL.
  CHECK(Do(f.c, {"HGET", "user:1", "name"}) == "Ada");
  const long long pttl = std::stoll(Do(f.c, {"PTTL", "user:1"}).substr(1));
  CHECK(pttl > 0);
  CHECK(pttl <= 100000);
}

TEST_CASE("a row past hash-max-listpack-entries, or with a long value, fills a hashtable") {
  TestDb db;
  std::string columns;
  std::string values;
  for (int i = 0; i < 600; ++i) {
    columns += ", c" + std::to_string(i) + " TEXT";
    values += ", 'v" + std::to_string(i) + "'";
  }
  db.Exec("CREATE TABLE wide (id TEXT PRIMARY KEY" + columns + ")");
  db.Exec("INSERT INTO wide VALUES ('1'" + values + ")");
  db.Exec("INSERT INTO wide (id, c0, c1) VALUES ('2', 'short', '" + std::string(20, 'x') + "')");
  ServerFixture f({"--route", "wide:{id} " + db.url() + " \"SELECT * FROM wide WHERE id = ?1\""});
  CHECK(Do(f.c, {"HGET", "wide:1", "c599"}) == "v599");
  CHECK(Do(f.c, {"HLEN", "wide:1"}) == ":601");  // id and 600 columns: past 512
  CHECK(Do(f.c, {"OBJECT", "ENCODING", "wide:1"}) == "hashtable");
  CHECK(Do(f.c, {"HMGET", "wide:1", "id", "c0", "c300"}) == "[1, v0, v300]");
  // The fill follows CONFIG SET hash-max-listpack-value (through its old ziplist name too).
  CHECK(Do(f.c, {"CONFIG", "SET", "hash-max-ziplist-value", "8"}) == "+OK");
  CHECK(Do(f.c, {"HGETALL", "wide:2"}) == "[id, 2, c0, short, c1, " + std::string(20, 'x') + "]");
  CHECK(Do(f.c, {"OBJECT", "ENCODING", "wide:2"}) == "hashtable");
  CHECK(Do(f.c, {"CONFIG", "SET", "hash-max-listpack-value", "64"}) == "+OK");
  CHECK(Do(f.c, {"DEL", "wide:2"}) == ":1");
  CHECK(Do(f.c, {"HLEN", "wide:2"}) == ":0");  // HLEN answers from the cache only
  CHECK(Do(f.c, {"HGET", "wide:2", "c0"}) == "short");
  CHECK(Do(f.c, {"OBJECT", "ENCODING", "wide:2"}) == "listpack");
}

TEST_CASE("an origin error answers every hash reader with its -ERR and stores nothing") {
  TestDb db;
  db.Exec("CREATE TABLE kv (k TEXT, v TEXT)");
  db.Exec("INSERT INTO kv VALUES ('a', '1'), ('a', '2')");
  ServerFixture f({"--route", "kv:{k} " + db.url() + " \"SELECT k, v FROM kv WHERE k = ?1\""});
  const std::string error =
      "-ERR origin error: the query returned 2 rows for one key (expected 0 or 1)";
  CHECK(Do(f.c, {"HGETALL", "kv:a"}) == error);
  CHECK(Do(f.c, {"EXISTS", "kv:a"}) == ":0");
  CHECK(Do(f.c, {"HGET", "kv:a", "v"}) == error);  // never stored: asked again
  CHECK(Do(f.c, {"HMGET", "kv:a", "v", "k"}) == error);
  CHECK(InfoNumber(f.c, "origin_fetches_started") == 3);
  CHECK(InfoNumber(f.c, "origin_errors") == 3);
  CHECK(Do(f.c, {"EXISTS", "kv:a"}) == ":0");
}

TEST_CASE("concurrent HGETALL, HGET and HMGET of one cold key share one SQLite fetch") {
  constexpr size_t kReaders = 9;
  TestDb db;
  MakeUsers(db);
  ServerFixture f({"--route", UsersRoute(db, " timeout=30000")});
  std::vector<ContextPtr> readers;
  for (size_t i = 0; i < kReaders; ++i) readers.push_back(Connect(f.server.port()));
  // The test's writer holds the file: the one fetch waits on its lock until COMMIT.
  db.Exec("BEGIN EXCLUSIVE");
  db.Exec("UPDATE users SET name = 'Ada Lovelace' WHERE id = '1'");
  for (size_t i = 0; i < kReaders; ++i) {
    if (i % 3 == 0) Send(readers[i], {"HGETALL", "user:1"});
    if (i % 3 == 1) Send(readers[i], {"HGET", "user:1", "name"});
    if (i % 3 == 2) Send(readers[i], {"HMGET", "user:1", "age", "note"});
  }
  WaitParked(f.c, static_cast<long long>(kReaders));
  CHECK(InfoNumber(f.c, "origin_fetches_started") == 1);
  CHECK(InfoNumber(f.c, "origin_fetches_shared") == static_cast<long long>(kReaders) - 1);
  db.Exec("COMMIT");
  for (size_t i = 0; i < kReaders; ++i) {
    if (i % 3 == 0) {
      CHECK(Next(readers[i]) == "[name, Ada Lovelace, age, 36, score, 0.5, pic, " + kPic + "]");
    }
    if (i % 3 == 1) CHECK(Next(readers[i]) == "Ada Lovelace");
    if (i % 3 == 2) CHECK(Next(readers[i]) == "[36, (nil)]");
  }
  CHECK(InfoNumber(f.c, "origin_fetches_started") == 1);
  CHECK(InfoNumber(f.c, "origin_fills") == 1);
  CHECK(InfoNumber(f.c, "origin_parked_clients") == 0);
  CHECK(Do(f.c, {"OBJECT", "ENCODING", "user:1"}) == "listpack");
}

TEST_CASE(
    "a GET and a hash read on one flight: the first reader's kind fills, the other sees "
    "WRONGTYPE") {
  TestDb db;
  MakeUsers(db);
  ServerFixture f({"--route", UsersRoute(db, " timeout=30000")});
  ContextPtr first = Connect(f.server.port());
  ContextPtr second = Connect(f.server.port());
  ContextPtr third = Connect(f.server.port());
  const std::string wrong = "-WRONGTYPE Operation against a key holding the wrong kind of value";
  SUBCASE("a GET first: the key becomes a string") {
    db.Exec("BEGIN EXCLUSIVE");
    Send(first, {"GET", "user:2"});
    WaitParked(f.c, 1);
    Send(second, {"HGETALL", "user:2"});
    Send(third, {"HGET", "user:2", "name"});
    WaitParked(f.c, 3);
    CHECK(InfoNumber(f.c, "origin_fetches_started") == 1);
    db.Exec("COMMIT");
    CHECK(Next(first) ==
          "{\"name\":\"Bob\",\"age\":null,\"score\":null,\"note\":null,\"pic\":null}");
    CHECK(Next(second) == wrong);
    CHECK(Next(third) == wrong);
    CHECK(Do(f.c, {"TYPE", "user:2"}) == "+string");
  }
  SUBCASE("a hash read first: the key becomes a hash; GETEX sets no expiry, MGET reads nil") {
    db.Exec("BEGIN EXCLUSIVE");
    Send(first, {"HMGET", "user:2", "name"});
    WaitParked(f.c, 1);
    Send(second, {"GETEX", "user:2", "EX", "100"});
    Send(third, {"MGET", "user:2", "user:x"});
    WaitParked(f.c, 4);  // MGET waits on two keys
    CHECK(InfoNumber(f.c, "origin_fetches_started") == 2);
    db.Exec("COMMIT");
    CHECK(Next(first) == "[Bob]");
    CHECK(Next(second) == wrong);
    CHECK(Next(third) == "[(nil), (nil)]");
    CHECK(Do(f.c, {"TYPE", "user:2"}) == "+hash");
    CHECK(Do(f.c, {"TTL", "user:2"}) == ":-1");
    CHECK(Do(f.c, {"GET", "user:2"}) == wrong);
  }
  SUBCASE("nothing found: every reader gets its own kind of nil") {
    db.Exec("BEGIN EXCLUSIVE");
    Send(first, {"HGETALL", "user:none"});
    WaitParked(f.c, 1);
    Send(second, {"GET", "user:none"});
    WaitParked(f.c, 2);
    db.Exec("COMMIT");
    CHECK(Next(first) == "[]");
    CHECK(Next(second) == "(nil)");
  }
}

TEST_CASE("a write while a hash fetch is out: readers get the row, the write stays") {
  TestDb db;
  MakeUsers(db);
  ServerFixture f({"--route", UsersRoute(db, " timeout=30000")});
  ContextPtr reader = Connect(f.server.port());
  db.Exec("BEGIN EXCLUSIVE");
  Send(reader, {"HGETALL", "user:3"});
  WaitParked(f.c, 1);
  CHECK(Do(f.c, {"HSET", "user:3", "mine", "1"}) == ":1");  // forgets the flight
  db.Exec("COMMIT");
  CHECK(Next(reader) == "[name, Cy, age, 7]");
  CHECK(Do(f.c, {"HGETALL", "user:3"}) == "[mine, 1]");
  CHECK(InfoNumber(f.c, "origin_forgotten") == 1);
}

TEST_CASE("ORIGIN REFRESH of a hash filled from a row refreshes it as a hash") {
  TestDb db;
  MakeUsers(db);
  ServerFixture f({"--route", UsersRoute(db)});
  CHECK(Do(f.c, {"HGETALL", "user:3"}) == "[name, Cy, age, 7]");
  db.Exec("UPDATE users SET age = 8 WHERE id = '3'");
  CHECK(Do(f.c, {"ORIGIN", "REFRESH", "user:3"}) == ":1");
  REQUIRE(WaitUntil([&] { return InfoNumber(f.c, "origin_refreshes_succeeded") == 1; }));
  CHECK(Do(f.c, {"TYPE", "user:3"}) == "+hash");
  CHECK(Do(f.c, {"HGETALL", "user:3"}) == "[name, Cy, age, 8]");
}

TEST_CASE("RESP3: a hash read through answers a map; nil as RESP3's null") {
  TestDb db;
  MakeUsers(db);
  ServerFixture f({"--route", UsersRoute(db)});
  auto raw = ConnectResp3(f.server.port());
  CHECK(RawDo(*raw, "HGETALL user:3") == "{name: Cy, age: 7}");
  CHECK(RawDo(*raw, "HGETALL user:3") == "{name: Cy, age: 7}");  // the hit, the same
  CHECK(RawDo(*raw, "HGETALL user:absent") == "{}");
  CHECK(RawDo(*raw, "HGET user:4 note") == "_");
  CHECK(RawDo(*raw, "HMGET user:2 name age") == "[Bob, _]");
  CHECK(InfoNumber(f.c, "origin_fetches_started") == 4);
}

TEST_CASE("inside MULTI, outside database 0 and on non-SQL routes a hash read is a plain miss") {
  TestDb db;
  MakeUsers(db);
  const int origin_port = FreeTcpPort();
  ChildProcess origin(SpawnOptions{
      RequiredEnv("TEST_ORIGIN_BIN"), {"--port", std::to_string(origin_port)}, {}, origin_port});
  ServerFixture f({"--route", UsersRoute(db), "--route",
                   "r:* redis://127.0.0.1:" + std::to_string(origin_port)});
  CHECK(Do(f.c, {"MULTI"}) == "+OK");
  CHECK(Do(f.c, {"HGETALL", "user:1"}) == "+QUEUED");
  CHECK(Do(f.c, {"HGET", "user:1", "name"}) == "+QUEUED");
  CHECK(Do(f.c, {"EXEC"}) == "[[], (nil)]");
  CHECK(Do(f.c, {"EVAL", "return redis.call('HGET', KEYS[1], 'name')", "1", "user:1"}) == "(nil)");
  CHECK(Do(f.c, {"SELECT", "1"}) == "+OK");
  CHECK(Do(f.c, {"HGETALL", "user:1"}) == "[]");
  CHECK(Do(f.c, {"SELECT", "0"}) == "+OK");
  CHECK(Do(f.c, {"HGET", "r:k", "f"}) == "(nil)");    // a Redis-protocol route: no read-through
  CHECK(Do(f.c, {"HGET", "other", "f"}) == "(nil)");  // no route at all
  CHECK(InfoNumber(f.c, "origin_fetches_started") == 0);
  CHECK(Do(f.c, {"GET", "r:k"}) == "value:r:k");  // while GET there reads through
  CHECK(Do(f.c, {"HGET", "user:1", "name"}) == "Ada");
}

TEST_CASE("a hash fill breaks a WATCH, sends a fill event and invalidates a tracked read") {
  TestDb db;
  MakeUsers(db);
  ServerFixture f({"--route", UsersRoute(db), "--notify-keyspace-events", "KEAo"});
  ContextPtr other = Connect(f.server.port());
  ContextPtr events = Connect(f.server.port());
  REQUIRE(Do(events, {"PSUBSCRIBE", "__keyevent@0__:*"}) == "[psubscribe, __keyevent@0__:*, :1]");
  CHECK(Do(f.c, {"WATCH", "user:1"}) == "+OK");
  CHECK(Do(other, {"HGET", "user:1", "name"}) == "Ada");
  CHECK(Do(f.c, {"MULTI"}) == "+OK");
  CHECK(Do(f.c, {"HGET", "user:1", "name"}) == "+QUEUED");
  CHECK(Do(f.c, {"EXEC"}) == "(nil)");  // the fill changed the watched key
  CHECK(Next(events) == "[pmessage, __keyevent@0__:*, __keyevent@0__:fill, user:1]");
  auto tracked = ConnectResp3(f.server.port());
  CHECK(RawDo(*tracked, "CLIENT TRACKING ON") == "+OK");
  CHECK(RawDo(*tracked, "HGETALL user:3") == "{name: Cy, age: 7}");
  CHECK(tracked->ReadReply() == ">[invalidate, [user:3]]");
  CHECK(Next(events) == "[pmessage, __keyevent@0__:*, __keyevent@0__:fill, user:3]");
}

// ---- PostgreSQL ----

// One libpq session of the test's own, to hold a table lock while the server's query waits.
class PgSession {
 public:
  explicit PgSession(const std::string& url) : pg_(PQconnectdb(url.c_str())) {
    REQUIRE(PQstatus(pg_) == CONNECTION_OK);
  }
  ~PgSession() { PQfinish(pg_); }
  PgSession(const PgSession&) = delete;
  PgSession& operator=(const PgSession&) = delete;
  void Exec(const std::string& sql) {
    PGresult* res = PQexec(pg_, sql.c_str());
    const ExecStatusType status = PQresultStatus(res);
    INFO(sql, " -> ", PQresultErrorMessage(res));
    PQclear(res);
    REQUIRE((status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK));
  }

 private:
  PGconn* pg_;
};

// hrt_users with every kind of column, created once for the PostgreSQL tests.
PostgresServer& PgWithUsers() {
  PostgresServer& pg = PostgresServer::Get();
  static bool created = false;
  if (!created) {
    pg.Sql(
        "CREATE TABLE hrt_users (id text PRIMARY KEY, name text, age int, score numeric, "
        "active bool, pic bytea, doc jsonb, note text)");
    pg.Sql(
        "INSERT INTO hrt_users VALUES ('1', 'Ada', 36, 2.50, true, '\\x00ff10', '{\"a\": 1}', "
        "NULL), ('2', 'Bob', NULL, NULL, NULL, NULL, NULL, NULL), ('3', 'Cy', 7, NULL, false, "
        "NULL, NULL, NULL), ('nil', NULL, NULL, NULL, NULL, NULL, NULL, NULL)");
    created = true;
  }
  return pg;
}

std::string PgUsersRoute(const PostgresServer& pg, const std::string& options = "") {
  return "pu:{id} " + pg.Url() +
         " \"SELECT name, age, score, active, pic, doc, note FROM hrt_users WHERE id = $1\"" +
         options;
}

TEST_CASE(
    "a PostgreSQL row fills a hash: text as PostgreSQL prints it, bytea raw, NULLs left out") {
  PostgresServer& pg = PgWithUsers();
  ServerFixture f({"--route", PgUsersRoute(pg)});
  CHECK(Do(f.c, {"HGETALL", "pu:1"}) ==
        "[name, Ada, age, 36, score, 2.50, active, t, pic, " + kPic + ", doc, {\"a\": 1}]");
  CHECK(Do(f.c, {"TYPE", "pu:1"}) == "+hash");
  CHECK(Do(f.c, {"OBJECT", "ENCODING", "pu:1"}) == "listpack");
  CHECK(Do(f.c, {"HMGET", "pu:3", "active", "pic", "name"}) == "[f, (nil), Cy]");
  CHECK(Do(f.c, {"HGETALL", "pu:nil"}) == "[]");
  CHECK(Do(f.c, {"HGET", "pu:absent", "name"}) == "(nil)");
  CHECK(Do(f.c, {"EXISTS", "pu:nil", "pu:absent"}) == ":0");
  // Strings as today: GET of the same route is the row's JSON object.
  CHECK(Do(f.c, {"GET", "pu:2"}) ==
        "{\"name\":\"Bob\",\"age\":null,\"score\":null,\"active\":null,\"pic\":null,\"doc\":null,"
        "\"note\":null}");
  CHECK(Do(f.c, {"HGET", "pu:2", "name"}) ==
        "-WRONGTYPE Operation against a key holding the wrong kind of value");
  CHECK(InfoNumber(f.c, "origin_fetches_started") == 5);
}

TEST_CASE("concurrent hash reads of one cold key share one PostgreSQL query held by a lock") {
  constexpr size_t kReaders = 8;
  PostgresServer& pg = PgWithUsers();
  ServerFixture f({"--route", PgUsersRoute(pg, " timeout=30000")});
  std::vector<ContextPtr> readers;
  for (size_t i = 0; i < kReaders; ++i) readers.push_back(Connect(f.server.port()));
  PgSession holder(pg.Url());
  holder.Exec("BEGIN");
  holder.Exec("LOCK TABLE hrt_users IN ACCESS EXCLUSIVE MODE");
  for (size_t i = 0; i < kReaders; ++i) {
    if (i % 2 == 0) Send(readers[i], {"HGETALL", "pu:3"});
    if (i % 2 == 1) Send(readers[i], {"HMGET", "pu:3", "name", "age"});
  }
  WaitParked(f.c, static_cast<long long>(kReaders));
  CHECK(InfoNumber(f.c, "origin_fetches_started") == 1);
  CHECK(InfoNumber(f.c, "origin_fetches_shared") == static_cast<long long>(kReaders) - 1);
  holder.Exec("COMMIT");
  for (size_t i = 0; i < kReaders; ++i) {
    if (i % 2 == 0) CHECK(Next(readers[i]) == "[name, Cy, age, 7, active, f]");
    if (i % 2 == 1) CHECK(Next(readers[i]) == "[Cy, 7]");
  }
  CHECK(InfoNumber(f.c, "origin_fetches_started") == 1);
  CHECK(InfoNumber(f.c, "origin_fills") == 1);
  CHECK(Do(f.c, {"HLEN", "pu:3"}) == ":3");
}

TEST_CASE("a PostgreSQL error answers the hash readers with -ERR origin error and stores nothing") {
  PostgresServer& pg = PgWithUsers();
  ServerFixture f({"--route", "pd:{id} " + pg.Url() +
                                  " \"SELECT name, 1 / (age - 36) AS x FROM hrt_users WHERE id = "
                                  "$1\""});
  CHECK(Do(f.c, {"HGETALL", "pd:1"}) == "-ERR origin error: ERROR:  division by zero");
  CHECK(Do(f.c, {"EXISTS", "pd:1"}) == ":0");
  CHECK(Do(f.c, {"HGET", "pd:3", "x"}) == "0");  // 1 / (7 - 36) in integers
  CHECK(InfoNumber(f.c, "origin_errors") == 1);
}

}  // namespace
}  // namespace flightcache::integration
