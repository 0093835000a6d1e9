// sqlite_origin_test.cc — the real binary reading through sqlite:// routes on real files that
// the test writes with SQLite itself: the result mapping (value, not found, NULL, JSON, several
// rows), keys that look like SQL or hold unicode and binary bytes, a missing file, a file a
// writer holds locked, and a burst of cold keys against a slow query with a pool of 16.
// No test depends on the machine's speed: the lock test holds the lock itself and waits on the
// server's counters; the burst checks only that every answer is right, with a generous timeout.
#include <doctest/doctest.h>
#include <sqlite3.h>
#include <sys/resource.h>

#include <chrono>
#include <cstdio>

#include "tests/integration/server_process.h"

namespace flightcache::integration {
namespace {

using Clock = std::chrono::steady_clock;

// A SQLite file in a fresh temp dir, written through the C API (values bound, never spliced).
class TestDb {
 public:
  explicit TestDb(const std::string& name = "app.db") : path_(dir_.path() + "/" + name) {
    REQUIRE(sqlite3_open(path_.c_str(), &db_) == SQLITE_OK);
  }
  ~TestDb() { sqlite3_close(db_); }
  const std::string& path() const { return path_; }
  std::string url() const { return "sqlite://" + path_; }
  void Exec(const std::string& sql) {
    char* error = nullptr;
    int rc = sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, &error);
    INFO(sql, " -> ", error ? error : "");
    sqlite3_free(error);
    REQUIRE(rc == SQLITE_OK);
  }
  // INSERT INTO table VALUES (?1, ?2) with both bound as text, or the second as a blob.
  void Put(const std::string& table, const std::string& key, const std::string& value,
           bool blob = false) {
    sqlite3_stmt* stmt = nullptr;
    std::string sql = "INSERT INTO " + table + " VALUES (?1, ?2)";
    REQUIRE(sqlite3_prepare_v2(db_, sql.c_str(), -1, &stmt, nullptr) == SQLITE_OK);
    sqlite3_bind_text(stmt, 1, key.data(), static_cast<int>(key.size()), SQLITE_TRANSIENT);
    if (blob) {
      sqlite3_bind_blob(stmt, 2, value.data(), static_cast<int>(value.size()), SQLITE_TRANSIENT);
    } else {
      sqlite3_bind_text(stmt, 2, value.data(), static_cast<int>(value.size()), SQLITE_TRANSIENT);
    }
    CHECK(sqlite3_step(stmt) == SQLITE_DONE);
    sqlite3_finalize(stmt);
  }

 private:
  TempDir dir_;
  std::string path_;
  sqlite3* db_ = nullptr;
};

// A kv(k, v) table with a route `prefix{k}` reading v.
std::string KvRoute(const TestDb& db, const std::string& pattern = "kv:{k}",
                    const std::string& extra = "") {
  return pattern + " " + db.url() + " \"SELECT v FROM kv WHERE k = ?1\"" + extra;
}

long long RouteCounter(redisContext* c, int route, const std::string& name) {
  std::string line = InfoValue(c, "origin_route" + std::to_string(route));
  size_t at = line.find("," + name + "=");
  if (at == std::string::npos) return -1;
  return std::stoll(line.substr(at + name.size() + 2));
}

TEST_CASE("a SQLite route answers a key with its row's value, and the value is cached") {
  TestDb db;
  db.Exec("CREATE TABLE kv (k TEXT PRIMARY KEY, v)");
  db.Put("kv", "42", "{\"name\":\"Ada\"}");
  db.Put("kv", "bin", std::string("\x00\x01\xff raw", 6), true);
  db.Exec("INSERT INTO kv VALUES ('n', 12345), ('f', 1.5)");
  ServerFixture f({"--route", KvRoute(db)});
  CHECK(Do(f.c, {"GET", "kv:42"}) == "{\"name\":\"Ada\"}");
  CHECK(Do(f.c, {"GET", "kv:bin"}) == std::string("\x00\x01\xff raw", 6));  // blob: raw bytes
  CHECK(Do(f.c, {"GET", "kv:n"}) == "12345");
  CHECK(Do(f.c, {"GET", "kv:f"}) == "1.5");
  CHECK(Do(f.c, {"GET", "kv:42"}) == "{\"name\":\"Ada\"}");
  CHECK(InfoValue(f.c.get(), "origin_fetches_started") == "4");  // the second GET was a hit
  CHECK(RouteCounter(f.c.get(), 0, "values") == 4);
}

TEST_CASE("a key with no row and a NULL value are both not found (nil)") {
  TestDb db;
  db.Exec("CREATE TABLE kv (k TEXT PRIMARY KEY, v)");
  db.Exec("INSERT INTO kv VALUES ('null', NULL)");
  ServerFixture f({"--route", KvRoute(db)});
  CHECK(Do(f.c, {"GET", "kv:absent"}) == "(nil)");
  CHECK(Do(f.c, {"GET", "kv:null"}) == "(nil)");
  CHECK(InfoValue(f.c.get(), "origin_not_found") == "2");
  CHECK(RouteCounter(f.c.get(), 0, "not_found") == 2);
  CHECK(Do(f.c, {"EXISTS", "kv:null"}) == ":0");
}

TEST_CASE("several columns come back as one JSON object, escaped") {
  TestDb db;
  db.Exec("CREATE TABLE users (id TEXT PRIMARY KEY, name TEXT, age INT, score REAL, note, pic)");
  db.Exec(
      "INSERT INTO users VALUES ('1', 'Ada \"the\" Countess', 36, 0.5, 'line\none\\tab', "
      "x'00ff10')");
  db.Exec("INSERT INTO users VALUES ('2', 'Bob', NULL, NULL, NULL, NULL)");
  ServerFixture f({"--route", "user:{id} " + db.url() +
                                  " \"SELECT name, age, score, note, pic FROM users WHERE id = "
                                  ":id\""});
  CHECK(Do(f.c, {"GET", "user:1"}) ==
        "{\"name\":\"Ada \\\"the\\\" Countess\",\"age\":36,\"score\":0.5,"
        "\"note\":\"line\\none\\\\tab\",\"pic\":\"AP8Q\"}");
  CHECK(Do(f.c, {"GET", "user:2"}) ==
        "{\"name\":\"Bob\",\"age\":null,\"score\":null,\"note\":null,\"pic\":null}");
}

TEST_CASE("several rows for one key are an error naming the count, and nothing is stored") {
  TestDb db;
  db.Exec("CREATE TABLE kv (k TEXT, v TEXT)");
  db.Exec("INSERT INTO kv VALUES ('a', '1'), ('a', '2'), ('a', '3')");
  ServerFixture f({"--route", KvRoute(db)});
  CHECK(Do(f.c, {"GET", "kv:a"}) ==
        "-ERR origin error: the query returned 3 rows for one key (expected 0 or 1)");
  CHECK(Do(f.c, {"EXISTS", "kv:a"}) == ":0");
  CHECK(RouteCounter(f.c.get(), 0, "errors") == 1);
}

TEST_CASE("keys holding quotes, SQL, unicode or binary bytes get exactly their own row") {
  TestDb db;
  db.Exec("CREATE TABLE kv (k TEXT PRIMARY KEY, v TEXT)");
  const std::vector<std::string> keys = {"o'brien",
                                         "say \"hi\"",
                                         "'; DROP TABLE kv; --",
                                         "1 OR 1=1",
                                         "ünïcødé ✓ 日本",
                                         std::string("bin\x00\xff\x01\x80", 8),
                                         "%s%n\\x00",
                                         "?1"};
  for (size_t i = 0; i < keys.size(); ++i) db.Put("kv", keys[i], "row" + std::to_string(i));
  db.Put("kv", "plain", "plain row");
  ServerFixture f({"--route", KvRoute(db)});
  for (size_t i = 0; i < keys.size(); ++i) {
    CAPTURE(i);
    CHECK(Do(f.c, {"GET", "kv:" + keys[i]}) == "row" + std::to_string(i));
  }
  // Near misses find nothing, and no key ever reads another row.
  for (const std::string& key : {std::string("' OR '1'='1"), std::string("plain' --"),
                                 std::string("bin"), std::string("o''brien"), std::string("%")}) {
    CAPTURE(key);
    CHECK(Do(f.c, {"GET", "kv:" + key}) == "(nil)");
  }
  CHECK(Do(f.c, {"GET", "kv:plain"}) == "plain row");  // the table is still there
  CHECK(InfoValue(f.c.get(), "origin_errors") == "0");
}

TEST_CASE("a missing SQLite file stops start-up with status 1 and a message naming the route") {
  TempDir dir;
  const std::string route =
      "user:{id} sqlite://" + dir.path() + "/missing.db \"SELECT v FROM kv WHERE k = ?1\"";
  RunResult run = RunToExit(RequiredEnv("FLIGHTCACHE_BIN"), {"--port", "0", "--route", route});
  CHECK(run.exit_code == 1);
  CHECK(run.output.find("route 'user:{id} sqlite://" + dir.path() + "/missing.db") !=
        std::string::npos);
  CHECK(run.output.find("cannot open") != std::string::npos);
}

TEST_CASE("a query that does not prepare stops start-up with status 1 naming the route") {
  TestDb db;
  db.Exec("CREATE TABLE kv (k TEXT PRIMARY KEY, v TEXT)");
  RunResult run = RunToExit(
      RequiredEnv("FLIGHTCACHE_BIN"),
      {"--port", "0", "--route", "kv:{k} " + db.url() + " \"SELECT nope FROM kv WHERE k = ?1\""});
  CHECK(run.exit_code == 1);
  CHECK(run.output.find("route 'kv:{k} " + db.url()) != std::string::npos);
  CHECK(run.output.find("no such column: nope") != std::string::npos);
  // A parameter the pattern does not capture is refused as well.
  run = RunToExit(RequiredEnv("FLIGHTCACHE_BIN"),
                  {"--port", "0", "--route",
                   "kv:{k} " + db.url() + " \"SELECT v FROM kv WHERE k = ?1 AND v = ?2\""});
  CHECK(run.exit_code == 1);
  CHECK(run.output.find("?2 has no capture") != std::string::npos);
}

TEST_CASE("SQLite connections are read-only: a route's query cannot write the file") {
  TestDb db;
  db.Exec("CREATE TABLE kv (k TEXT PRIMARY KEY, v TEXT)");
  db.Put("kv", "a", "value a");
  ServerFixture f(
      {"--route", "w:{k} " + db.url() + " \"INSERT INTO kv VALUES (?1, 'written') RETURNING v\""});
  const std::string reply = Do(f.c, {"GET", "w:new"});
  CHECK(reply.rfind("-ERR origin error: ", 0) == 0);
  CHECK(reply.find("readonly") != std::string::npos);
  // Nothing was written.
  ServerFixture reader({"--route", KvRoute(db)});
  CHECK(Do(reader.c, {"GET", "kv:new"}) == "(nil)");
  CHECK(Do(reader.c, {"GET", "kv:a"}) == "value a");
}

TEST_CASE("a file locked by a writer times the fetch out, not hangs; it works once released") {
  TestDb db;
  db.Exec("CREATE TABLE kv (k TEXT PRIMARY KEY, v TEXT)");
  db.Put("kv", "a", "value a");
  ServerFixture f({"--route", KvRoute(db, "kv:{k}", " timeout=300")});
  db.Exec("BEGIN EXCLUSIVE");
  db.Exec("UPDATE kv SET v = 'value b' WHERE k = 'a'");
  CHECK(Do(f.c, {"GET", "kv:a"}) == "-ERR origin timeout after 300 ms");
  CHECK(RouteCounter(f.c.get(), 0, "timeouts") == 1);
  db.Exec("COMMIT");
  // The timed-out connection is reused only after its late answer came back; either way the
  // next fetch reads the committed row.
  CHECK(Do(f.c, {"GET", "kv:a"}) == "value b");
}

// Raises this process's descriptor limit so that it can hold n client connections.
void AllowDescriptors(rlim_t n) {
  struct rlimit limit;
  REQUIRE(getrlimit(RLIMIT_NOFILE, &limit) == 0);
  if (limit.rlim_cur >= n) return;
  limit.rlim_cur = std::min(n, limit.rlim_max);
  setrlimit(RLIMIT_NOFILE, &limit);
}

TEST_CASE("a burst of 100 cold keys with 20 clients each against a slow query: no errors") {
  constexpr int kKeys = 100;
  constexpr int kClientsPerKey = 20;
  TestDb db;
  db.Exec("CREATE TABLE kv (k TEXT PRIMARY KEY, v TEXT)");
  for (int i = 0; i < kKeys; ++i) db.Put("kv", std::to_string(i), "value " + std::to_string(i));
  // Each query counts to 20000 first: slow, one at a time per connection, and pure SQL.
  const std::string slow =
      "SELECT v FROM kv WHERE k = ?1 AND (WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + "
      "1 FROM c WHERE x < 20000) SELECT count(*) FROM c) > 0";
  AllowDescriptors(kKeys * kClientsPerKey + 256);
  ServerFixture f({"--route", "burst:{k} " + db.url() + " \"" + slow + "\" pool=16",
                   "--origin-timeout", "60000"});
  std::vector<ContextPtr> clients;
  for (int i = 0; i < kKeys * kClientsPerKey; ++i) clients.push_back(Connect(f.server.port()));
  const auto start = Clock::now();
  for (int i = 0; i < kKeys * kClientsPerKey; ++i) {
    Append(clients[static_cast<size_t>(i)].get(), {"GET", "burst:" + std::to_string(i % kKeys)});
    int done = 0;
    while (done == 0) REQUIRE(redisBufferWrite(clients[static_cast<size_t>(i)].get(), &done) == 0);
  }
  int errors = 0;
  int wrong = 0;
  for (int i = 0; i < kKeys * kClientsPerKey; ++i) {
    ReplyPtr reply = NextReply(clients[static_cast<size_t>(i)].get());
    std::string shown = Show(reply.get(), clients[static_cast<size_t>(i)].get());
    if (!shown.empty() && shown[0] == '-') ++errors;
    if (shown != "value " + std::to_string(i % kKeys)) ++wrong;
  }
  const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
  MESSAGE("burst: ", kKeys * kClientsPerKey, " clients over ", kKeys, " cold keys in ", seconds,
          " s, ", errors, " errors; route: ", InfoValue(f.c.get(), "origin_route0"));
  CHECK(errors == 0);
  CHECK(wrong == 0);
  CHECK(InfoValue(f.c.get(), "origin_fetches_started") == std::to_string(kKeys));
  CHECK(RouteCounter(f.c.get(), 0, "connections") <= 16);
}

}  // namespace
}  // namespace flightcache::integration
