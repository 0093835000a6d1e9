// postgres_origin_test.cc — the real binary reading through postgres:// routes against a real
// PostgreSQL from Debian (postgres_harness.h: initdb into a temporary folder, postgres on
// 127.0.0.1 and a free port, shared by the run's PostgreSQL tests). Covers the
// result mapping, keys that look like SQL or hold unicode and binary bytes, a query slower
// than its timeout, start-up errors, and the 100-cold-keys burst against a 50 ms query.
// No test depends on the machine's speed: the slow query sleeps far past its timeout, and the
// burst checks only that every answer is right (with a generous timeout).
#include <doctest/doctest.h>
#include <sys/resource.h>
#include <unistd.h>

#include <chrono>
#include <string>

#include "tests/integration/postgres_harness.h"
#include "tests/integration/server_process.h"

namespace flightcache::integration {
namespace {

using Clock = std::chrono::steady_clock;

long long RouteCounter(redisContext* c, int route, const std::string& name) {
  std::string line = InfoValue(c, "origin_route" + std::to_string(route));
  size_t at = line.find("," + name + "=");
  if (at == std::string::npos) return -1;
  return std::stoll(line.substr(at + name.size() + 2));
}

// A fresh table name per test, so tests never see each other's rows.
std::string FreshTable() {
  static int next = 0;
  return "t" + std::to_string(getpid()) + "_" + std::to_string(next++);
}

TEST_CASE("a PostgreSQL route answers values, not found, NULL and bytea as raw bytes") {
  PostgresServer& pg = PostgresServer::Get();
  const std::string t = FreshTable();
  pg.Sql("CREATE TABLE " + t + " (k text PRIMARY KEY, v text, b bytea)");
  pg.Sql("INSERT INTO " + t +
         " VALUES ('42', '{\"name\":\"Ada\"}', NULL), ('null', NULL, NULL), ('bin', NULL, "
         "'\\x00ff10')");
  ServerFixture f({"--route", "kv:{k} " + pg.Url() + " \"SELECT v FROM " + t + " WHERE k = $1\"",
                   "--route", "bin:{k} " + pg.Url() + " \"SELECT b FROM " + t + " WHERE k = $1\""});
  CHECK(Do(f.c, {"GET", "kv:42"}) == "{\"name\":\"Ada\"}");
  CHECK(Do(f.c, {"GET", "kv:absent"}) == "(nil)");
  CHECK(Do(f.c, {"GET", "kv:null"}) == "(nil)");
  CHECK(Do(f.c, {"GET", "bin:bin"}) == std::string("\x00\xff\x10", 3));
  CHECK(RouteCounter(f.c.get(), 0, "values") == 1);
  CHECK(RouteCounter(f.c.get(), 0, "not_found") == 2);
}

TEST_CASE("a PostgreSQL route also takes postgresql:// and a unix socket folder in ?host=") {
  PostgresServer& pg = PostgresServer::Get();
  const std::string t = FreshTable();
  pg.Sql("CREATE TABLE " + t + " (k text PRIMARY KEY, v text)");
  pg.Sql("INSERT INTO " + t + " VALUES ('1', 'over tcp'), ('2', 'over the socket')");
  const std::string socket_url =
      "postgresql://app@/postgres?host=" + pg.SocketDir() + "&port=" + std::to_string(pg.port());
  ServerFixture f({"--route",
                   "a:{k} postgresql://app@127.0.0.1:" + std::to_string(pg.port()) +
                       "/postgres \"SELECT v FROM " + t + " WHERE k = $1\"",
                   "--route", "b:{k} " + socket_url + " \"SELECT v FROM " + t + " WHERE k = $1\""});
  CHECK(Do(f.c, {"GET", "a:1"}) == "over tcp");
  CHECK(Do(f.c, {"GET", "b:2"}) == "over the socket");
  CHECK(InfoValue(f.c.get(), "origin_route1").find("url=" + socket_url + ",") != std::string::npos);
  // The server saw one client on its unix socket (client_addr is NULL there).
  CHECK(pg.Value("SELECT count(*) FROM pg_stat_activity WHERE client_addr IS NULL AND "
                 "backend_type = 'client backend' AND usename = 'app' AND pid <> "
                 "pg_backend_pid() AND query LIKE 'SELECT v FROM " +
                 t + " %'") == "1");
}

TEST_CASE("a PostgreSQL row of several columns is a JSON object; several rows are an error") {
  PostgresServer& pg = PostgresServer::Get();
  const std::string t = FreshTable();
  pg.Sql("CREATE TABLE " + t +
         " (k text, name text, age int, score numeric, ok bool, meta jsonb, pic bytea)");
  pg.Sql("INSERT INTO " + t +
         " VALUES ('1', 'Ada \"the\" Countess', 36, 0.5, true, '{\"a\": [1]}', '\\x00ff10'), "
         "('2', 'Bob', NULL, 'NaN', false, NULL, NULL), ('dup', 'x', 1, 1, true, NULL, NULL), "
         "('dup', 'y', 2, 2, true, NULL, NULL)");
  ServerFixture f({"--route", "row:{k} " + pg.Url() +
                                  " \"SELECT name, age, score, ok, meta, pic FROM " + t +
                                  " WHERE k = $1\""});
  CHECK(Do(f.c, {"GET", "row:1"}) ==
        "{\"name\":\"Ada \\\"the\\\" Countess\",\"age\":36,\"score\":0.5,\"ok\":true,"
        "\"meta\":{\"a\": [1]},\"pic\":\"AP8Q\"}");
  CHECK(Do(f.c, {"GET", "row:2"}) ==
        "{\"name\":\"Bob\",\"age\":null,\"score\":null,\"ok\":false,\"meta\":null,\"pic\":null}");
  CHECK(Do(f.c, {"GET", "row:dup"}) ==
        "-ERR origin error: the query returned 2 rows for one key (expected 0 or 1)");
}

TEST_CASE("PostgreSQL keys holding quotes, SQL, unicode or binary bytes get their own row or nil") {
  PostgresServer& pg = PostgresServer::Get();
  const std::string t = FreshTable();
  pg.Sql("CREATE TABLE " + t + " (k text PRIMARY KEY, v text)");
  pg.Sql("INSERT INTO " + t + " VALUES ('o''brien', 'row0'), ('''; DROP TABLE " + t +
         "; --', 'row1'), ('ünïcødé ✓ 日本', 'row2'), ('$1', 'row3'), ('plain', 'plain row')");
  ServerFixture f({"--route", "kv:{k} " + pg.Url() + " \"SELECT v FROM " + t + " WHERE k = $1\""});
  CHECK(Do(f.c, {"GET", "kv:o'brien"}) == "row0");
  CHECK(Do(f.c, {"GET", "kv:'; DROP TABLE " + t + "; --"}) == "row1");
  CHECK(Do(f.c, {"GET", "kv:ünïcødé ✓ 日本"}) == "row2");
  CHECK(Do(f.c, {"GET", "kv:$1"}) == "row3");
  CHECK(Do(f.c, {"GET", "kv:' OR '1'='1"}) == "(nil)");
  CHECK(Do(f.c, {"GET", "kv:" + std::string("bin\x00\xff", 5)}) == "(nil)");  // not text: no row
  CHECK(Do(f.c, {"GET", "kv:\xc3"}) == "(nil)");                              // cut UTF-8
  CHECK(Do(f.c, {"GET", "kv:plain"}) == "plain row");                         // table intact
  CHECK(InfoValue(f.c.get(), "origin_errors") == "0");
}

TEST_CASE("a key that is not a value of the parameter's type is nil, not an error") {
  PostgresServer& pg = PostgresServer::Get();
  const std::string t = FreshTable();
  pg.Sql("CREATE TABLE " + t + " (id int PRIMARY KEY, v text)");
  pg.Sql("INSERT INTO " + t + " VALUES (42, 'forty-two')");
  ServerFixture f({"--route", "n:{id} " + pg.Url() + " \"SELECT v FROM " + t + " WHERE id = $1\""});
  CHECK(Do(f.c, {"GET", "n:42"}) == "forty-two");
  CHECK(Do(f.c, {"GET", "n:abc"}) == "(nil)");
  CHECK(Do(f.c, {"GET", "n:99999999999999999999"}) == "(nil)");
  CHECK(Do(f.c, {"GET", "n:42 OR 1=1"}) == "(nil)");
  CHECK(InfoValue(f.c.get(), "origin_errors") == "0");
}

TEST_CASE("a PostgreSQL query slower than its timeout times out, and the next fetch works") {
  PostgresServer& pg = PostgresServer::Get();
  const std::string t = FreshTable();
  pg.Sql("CREATE TABLE " + t + " (k text PRIMARY KEY, v text)");
  pg.Sql("INSERT INTO " + t + " VALUES ('slow', 'never seen'), ('a', 'value a')");
  // The key 'slow' sleeps 5 s, far past the route's 200 ms timeout.
  ServerFixture f({"--route", "kv:{k} " + pg.Url() + " \"SELECT v FROM " + t +
                                  ", pg_sleep(CASE WHEN $1 = 'slow' THEN 5 ELSE 0 END) WHERE k = "
                                  "$1\" timeout=200 pool=1"});
  CHECK(Do(f.c, {"GET", "kv:slow"}) == "-ERR origin timeout after 200 ms");
  CHECK(InfoValue(f.c.get(), "origin_timeout_drops") == "1");  // its connection was dropped
  CHECK(Do(f.c, {"GET", "kv:a"}) == "value a");                // on a fresh one
}

TEST_CASE(
    "PostgreSQL killed mid-query: the waiter gets an error, and fetches work once it is back") {
  PostgresServer pg;  // its own server: this test kills it
  pg.Sql("CREATE TABLE kv (k text PRIMARY KEY, v text)");
  pg.Sql("INSERT INTO kv VALUES ('slow', 'never seen'), ('a', 'value a')");
  ServerFixture f({"--route",
                   "kv:{k} " + pg.Url() +
                       " \"SELECT v FROM kv, pg_sleep(CASE WHEN $1 = 'slow' THEN 30 ELSE "
                       "0 END) WHERE k = $1\"",
                   "--origin-timeout", "60000"});
  ContextPtr waiter = Connect(f.server.port());
  Append(waiter.get(), {"GET", "kv:slow"});
  int done = 0;
  while (done == 0) REQUIRE(redisBufferWrite(waiter.get(), &done) == 0);
  // Waits until the query is running at the database (it sleeps 30 s there).
  REQUIRE(WaitUntil([&] {
    return pg.Value(
               "SELECT count(*) FROM pg_stat_activity WHERE state = 'active' AND query LIKE "
               "'SELECT v FROM kv, pg_sleep%'") == "1";
  }));
  pg.Kill();
  ReplyPtr reply = NextReply(waiter.get());
  const std::string shown = Show(reply.get(), waiter.get());
  CHECK(shown.rfind("-ERR origin unreachable: ", 0) == 0);
  pg.Start();
  // Reconnects back off (50 ms doubling): the first fetches may still fail fast.
  CHECK(WaitUntil([&] { return Do(f.c, {"GET", "kv:a"}) == "value a"; }));
}

TEST_CASE("a PostgreSQL query that does not prepare, or a server that is down, stops start-up") {
  PostgresServer& pg = PostgresServer::Get();
  const std::string bin = RequiredEnv("FLIGHTCACHE_BIN");
  RunResult run =
      RunToExit(bin,
                {"--port", "0", "--route",
                 "kv:{k} " + pg.Url("s3cret") + " \"SELECT nope FROM nowhere WHERE k = $1\""},
                milliseconds(30000));
  CAPTURE(run.output);
  CHECK(run.exit_code == 1);
  CHECK(run.output.find("route 'kv:{k} postgres://app:***@127.0.0.1:" +
                        std::to_string(pg.port())) != std::string::npos);
  CHECK(run.output.find("query does not prepare") != std::string::npos);
  CHECK(run.output.find("s3cret") == std::string::npos);
  run = RunToExit(bin,
                  {"--port", "0", "--route",
                   "kv:{k} postgres://app@127.0.0.1:1/postgres \"SELECT 1 WHERE $1 = ''\""},
                  milliseconds(30000));
  CHECK(run.exit_code == 1);
  CHECK(run.output.find("cannot connect") != std::string::npos);
}

TEST_CASE("a burst of 100 cold keys with 20 clients each against a 50 ms PostgreSQL query") {
  constexpr int kKeys = 100;
  constexpr int kClientsPerKey = 20;
  PostgresServer& pg = PostgresServer::Get();
  const std::string t = FreshTable();
  pg.Sql("CREATE TABLE " + t + " (k text PRIMARY KEY, v text)");
  pg.Sql("INSERT INTO " + t + " SELECT i::text, 'value ' || i FROM generate_series(0, 99) i");
  struct rlimit limit;
  getrlimit(RLIMIT_NOFILE, &limit);
  if (limit.rlim_cur < 4096) {
    limit.rlim_cur = std::min<rlim_t>(4096, limit.rlim_max);
    setrlimit(RLIMIT_NOFILE, &limit);
  }
  ServerFixture f({"--route",
                   "burst:{k} " + pg.Url() + " \"SELECT v FROM " + t +
                       ", pg_sleep(0.05) WHERE k = $1\" pool=16",
                   "--origin-timeout", "60000"});
  std::vector<ContextPtr> clients;
  for (int i = 0; i < kKeys * kClientsPerKey; ++i) clients.push_back(Connect(f.server.port()));
  const auto start = Clock::now();
  for (int i = 0; i < kKeys * kClientsPerKey; ++i) {
    redisContext* c = clients[static_cast<size_t>(i)].get();
    Append(c, {"GET", "burst:" + std::to_string(i % kKeys)});
    int done = 0;
    while (done == 0) REQUIRE(redisBufferWrite(c, &done) == 0);
  }
  int errors = 0;
  int wrong = 0;
  for (int i = 0; i < kKeys * kClientsPerKey; ++i) {
    redisContext* c = clients[static_cast<size_t>(i)].get();
    ReplyPtr reply = NextReply(c);
    std::string shown = Show(reply.get(), c);
    if (!shown.empty() && shown[0] == '-') ++errors;
    if (shown != "value " + std::to_string(i % kKeys)) ++wrong;
  }
  const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
  MESSAGE("postgres burst: ", kKeys * kClientsPerKey, " clients over ", kKeys,
          " cold keys (50 ms query, pool 16) in ", seconds, " s, ", errors,
          " errors; route: ", InfoValue(f.c.get(), "origin_route0"));
  CHECK(errors == 0);
  CHECK(wrong == 0);
  CHECK(InfoValue(f.c.get(), "origin_fetches_started") == std::to_string(kKeys));
  CHECK(RouteCounter(f.c.get(), 0, "connections") <= 16);
}

// Backends running a query that starts with `prefix` now (psql's own excluded).
std::string RunningQueries(PostgresServer& pg, const std::string& prefix) {
  return pg.Value(
      "SELECT count(*) FROM pg_stat_activity WHERE pid <> pg_backend_pid() AND state = 'active' "
      "AND query LIKE '" +
      prefix + "%'");
}

TEST_CASE("a PostgreSQL query past its deadline is cancelled at the server, not left running") {
  PostgresServer& pg = PostgresServer::Get();
  const std::string t = FreshTable();
  pg.Sql("CREATE TABLE " + t + " (k text PRIMARY KEY, v text)");
  pg.Sql("INSERT INTO " + t + " VALUES ('slow', 'never seen'), ('a', 'value a')");
  // 'slow' would sleep 300 s at the database; the route gives up after 3 s.
  ServerFixture f({"--route", "kv:{k} " + pg.Url() + " \"SELECT v FROM " + t +
                                  ", pg_sleep(CASE WHEN $1 = 'slow' THEN 300 ELSE 0 END) WHERE k "
                                  "= $1\" timeout=3000 pool=1"});
  REQUIRE(Do(f.c, {"GET", "kv:a"}) == "value a");  // the connection is up and prepared
  ContextPtr waiter = Connect(f.server.port());
  Append(waiter.get(), {"GET", "kv:slow"});
  int done = 0;
  while (done == 0) REQUIRE(redisBufferWrite(waiter.get(), &done) == 0);
  // The query reached the database before its deadline (3 s bounds only a very slow machine).
  REQUIRE(WaitUntil([&] { return RunningQueries(pg, "SELECT v FROM " + t + ",") == "1"; },
                    milliseconds(2500)));
  CHECK(Show(NextReply(waiter.get()).get()) == "-ERR origin timeout after 3000 ms");
  CHECK(InfoNumber(f.c, "origin_timeout_drops") == 1);
  // Cancelled, it ends long before its 300 s; dropping the connection alone would leave it.
  CHECK(WaitUntil([&] { return RunningQueries(pg, "SELECT v FROM " + t + ",") == "0"; }));
  CHECK(Do(f.c, {"GET", "kv:b"}) == "(nil)");
}

TEST_CASE("PostgreSQL connections ask the server to end a query whose client has gone") {
  PostgresServer& pg = PostgresServer::Get();
  // Should a cancel reach the server before its query started, the server still ends the
  // query within a second of the dropped connection (client_connection_check_interval).
  ServerFixture f(
      {"--route", "s:{name} " + pg.Url() + " \"SELECT current_setting($1) WHERE $1 <> ''\""});
  CHECK(Do(f.c, {"GET", "s:client_connection_check_interval"}) == "1s");
}

// Pipelines `count` GETs of distinct keys (prefix + number, from first on) and returns how many
// answers begin with `want`.
int PipelineGets(redisContext* c, const std::string& prefix, int first, int count,
                 const std::string& want) {
  for (int i = 0; i < count; ++i) Append(c, {"GET", prefix + std::to_string(first + i)});
  int matched = 0;
  std::string other;
  for (int i = 0; i < count; ++i) {
    const std::string shown = Show(NextReply(c).get());
    const bool match = shown.rfind(want, 0) == 0;
    matched += match ? 1 : 0;
    if (!match && other.empty()) other = shown;
  }
  if (!other.empty()) MESSAGE("first other reply: ", other);
  return matched;
}

TEST_CASE("40k timeouts against a hung PostgreSQL query leave memory, queue and pool bounded") {
  constexpr int kBatch = 2000;
  constexpr int kBatches = 20;
  PostgresServer& pg = PostgresServer::Get();
  const std::string t = FreshTable();
  pg.Sql("CREATE TABLE " + t + " (k text PRIMARY KEY, v text)");
  pg.Sql("INSERT INTO " + t + " VALUES ('a', 'value a'), ('b', 'value b')");
  // Every key starting with 'h' hangs (60 s at the database, row or not); the route gives up
  // after 20 ms.
  const std::string query = "SELECT v FROM " + t + " RIGHT JOIN pg_sleep";
  ServerFixture f({"--route",
                   "kv:{k} " + pg.Url() + " \"" + query +
                       "(CASE WHEN $1 LIKE 'h%' THEN 60 ELSE 0 END) ON k = $1\" "
                       "pool=4",
                   // No circuit breaker: every fetch must reach the hung query and time out.
                   "--origin-timeout", "20", "--origin-breaker-failures", "0"});
  ContextPtr client = Connect(f.server.port());
  // Every answer is an error: a timeout, or (when a connection takes longer than its 1 s
  // connect limit on a loaded machine) "unreachable"; never a value.
  const std::string error = "-ERR origin ";
  REQUIRE(PipelineGets(client.get(), "kv:hw", 0, kBatch, error) == kBatch);  // warm-up
  REQUIRE(PipelineGets(client.get(), "kv:hw", kBatch, kBatch, error) == kBatch);
  const long long before = InfoNumber(f.c, "used_memory");
  int failed = 0;
  for (int b = 0; b < kBatches; ++b) {
    failed += PipelineGets(client.get(), "kv:h", b * kBatch, kBatch, error);
  }
  const long long after = InfoNumber(f.c, "used_memory");
  MESSAGE("PostgreSQL hung query: ", failed, " errors, used_memory ", before, " -> ", after,
          "; drops ", InfoValue(f.c.get(), "origin_timeout_drops"), "; ",
          InfoValue(f.c.get(), "origin_route0"));
  CHECK(failed == kBatch * kBatches);
  CHECK(RouteCounter(f.c.get(), 0, "timeouts") >= kBatch);
  CHECK(after - before < 1024 * 1024);  // 12 MB per 200k timeouts was the bug
  CHECK(InfoNumber(f.c, "origin_fetches_in_flight") == 0);
  CHECK(InfoNumber(f.c, "origin_queued") == 0);
  CHECK(InfoNumber(f.c, "origin_queue_peak") <= kBatch);
  CHECK(InfoNumber(f.c, "origin_connected") <= 4);
  // Every dropped connection's query was cancelled: none is left sleeping at the database.
  CHECK(WaitUntil([&] { return RunningQueries(pg, query) == "0"; }));
  // The route still answers, each key with its own row (with a deadline a slow machine meets).
  CHECK(Do(f.c, {"CONFIG", "SET", "origin-timeout", "30000"}) == "+OK");
  CHECK(WaitUntil([&] { return Do(f.c, {"GET", "kv:b"}) == "value b"; }));
  CHECK(Do(client, {"GET", "kv:zzz"}) == "(nil)");
}

}  // namespace
}  // namespace flightcache::integration
