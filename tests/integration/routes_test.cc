// routes_test.cc — the real binary with several routes: the longest literal prefix wins, a key
// no route serves is a plain miss, two routes read two files, per-route ttl=, routes from a
// config file, start-up errors that name the route, CONFIG GET / INFO without passwords, and
// --origin as the one-route shorthand.
#include <doctest/doctest.h>
#include <sqlite3.h>

#include "tests/integration/server_process.h"

namespace flightcache::integration {
namespace {

// A SQLite file holding kv(k, v) with the given rows.
class KvFile {
 public:
  using Rows = std::vector<std::pair<std::string, std::string>>;
  explicit KvFile(const Rows& rows) {
    path_ = dir_.path() + "/kv.db";
    sqlite3* db = nullptr;
    REQUIRE(sqlite3_open(path_.c_str(), &db) == SQLITE_OK);
    REQUIRE(sqlite3_exec(db, "CREATE TABLE kv (k TEXT PRIMARY KEY, v TEXT)", nullptr, nullptr,
                         nullptr) == SQLITE_OK);
    for (const auto& [k, v] : rows) {
      sqlite3_stmt* stmt = nullptr;
      REQUIRE(sqlite3_prepare_v2(db, "INSERT INTO kv VALUES (?1, ?2)", -1, &stmt, nullptr) ==
              SQLITE_OK);
      sqlite3_bind_text(stmt, 1, k.data(), static_cast<int>(k.size()), SQLITE_TRANSIENT);
      sqlite3_bind_text(stmt, 2, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT);
      CHECK(sqlite3_step(stmt) == SQLITE_DONE);
      sqlite3_finalize(stmt);
    }
    sqlite3_close(db);
  }
  std::string Route(const std::string& pattern, const std::string& extra = "") const {
    return pattern + " sqlite://" + path_ + " \"SELECT v FROM kv WHERE k = ?1\"" + extra;
  }
  const std::string& path() const { return path_; }

 private:
  TempDir dir_;
  std::string path_;
};

TEST_CASE("the route with the longest literal prefix wins, and each reads its own file") {
  KvFile users(KvFile::Rows{{"5", "user five"}, {"admin:1", "wrong file"}});
  KvFile admins(KvFile::Rows{{"1", "admin one"}});
  ServerFixture f(
      {"--route", users.Route("user:{id}"), "--route", admins.Route("user:admin:{id}")});
  CHECK(Do(f.c, {"GET", "user:admin:1"}) == "admin one");
  CHECK(Do(f.c, {"GET", "user:5"}) == "user five");
  CHECK(Do(f.c, {"GET", "user:6"}) == "(nil)");
  CHECK(InfoValue(f.c.get(), "origin_url") == "2 routes");
}

TEST_CASE("a key that no route serves is a plain miss: nil, and nothing is fetched") {
  KvFile users(KvFile::Rows{{"5", "user five"}});
  ServerFixture f({"--route", users.Route("user:{id}")});
  CHECK(Do(f.c, {"GET", "page:5"}) == "(nil)");
  CHECK(Do(f.c, {"MGET", "page:1", "user:5"}) == "[(nil), user five]");
  CHECK(InfoValue(f.c.get(), "origin_fetches_started") == "1");
}

TEST_CASE("a route's own ttl= sets the expiry of the values it fills") {
  KvFile users(KvFile::Rows{{"5", "user five"}});
  KvFile pages(KvFile::Rows{{"1", "page one"}});
  ServerFixture f({"--route", users.Route("user:{id}", " ttl=60"), "--route",
                   pages.Route("page:{id}"), "--cache-ttl", "0"});
  CHECK(Do(f.c, {"GET", "user:5"}) == "user five");
  CHECK(Do(f.c, {"GET", "page:1"}) == "page one");
  CHECK(Do(f.c, {"TTL", "user:5"}) == ":60");
  CHECK(Do(f.c, {"TTL", "page:1"}) == ":-1");
}

TEST_CASE("a route's own negative-ttl= remembers its misses") {
  KvFile users(KvFile::Rows{{"5", "user five"}});
  ServerFixture f({"--route", users.Route("user:{id}", " negative-ttl=60")});
  CHECK(Do(f.c, {"GET", "user:9"}) == "(nil)");
  CHECK(Do(f.c, {"GET", "user:9"}) == "(nil)");
  CHECK(InfoValue(f.c.get(), "origin_fetches_started") == "1");
  CHECK(InfoValue(f.c.get(), "origin_negative_hits") == "1");
}

TEST_CASE("routes come from config file lines as well as flags") {
  KvFile users(KvFile::Rows{{"5", "user five"}});
  KvFile pages(KvFile::Rows{{"1", "page one"}});
  TempDir dir;
  const std::string conf =
      dir.WriteFile("flightcache.conf", "route " + users.Route("user:{id}") + "\n# a comment\n");
  ServerProcess server({conf, "--route", pages.Route("page:{n}")});
  ContextPtr c = Connect(server.port());
  CHECK(Do(c, {"GET", "user:5"}) == "user five");
  CHECK(Do(c, {"GET", "page:1"}) == "page one");
}

TEST_CASE("bad routes, bad URLs and duplicate patterns stop start-up naming the route") {
  const std::string bin = RequiredEnv("FLIGHTCACHE_BIN");
  RunResult run = RunToExit(bin, {"--port", "0", "--route", "user:{id"});
  CHECK(run.exit_code == 1);
  CHECK(run.output.find("route 'user:{id'") != std::string::npos);
  run = RunToExit(bin, {"--port", "0", "--route", "user:{id} ftp://h/x"});
  CHECK(run.exit_code == 1);
  CHECK(run.output.find("route 'user:{id} ftp://h/x'") != std::string::npos);
  run = RunToExit(bin, {"--port", "0", "--route", "user:{id} redis://u:hunter2@h:99999"});
  CHECK(run.exit_code == 1);
  CHECK(run.output.find("route 'user:{id} redis://u:***@h:99999'") != std::string::npos);
  CHECK(run.output.find("hunter2") == std::string::npos);
  run = RunToExit(bin, {"--port", "0", "--route", "user:{id} sqlite://relative.db \"SELECT 1\""});
  CHECK(run.exit_code == 1);
  CHECK(run.output.find("sqlite:///absolute/path") != std::string::npos);
  run = RunToExit(bin, {"--port", "0", "--route", "x:{k} redis://127.0.0.1:1", "--route",
                        "x:{k} redis://127.0.0.1:2"});
  CHECK(run.exit_code == 1);
  CHECK(run.output.find("route 'x:{k} redis://127.0.0.1:2': another route") != std::string::npos);
  TempDir dir;
  const std::string conf = dir.WriteFile("bad.conf", "route page:{id} sqlite:///x.db pool=3\n");
  run = RunToExit(bin, {conf, "--port", "0"});
  CHECK(run.exit_code == 1);
  CHECK(run.output.find("route 'page:{id} sqlite:///x.db'") != std::string::npos);
}

TEST_CASE("CONFIG GET route and INFO show routes without passwords") {
  KvFile users(KvFile::Rows{{"5", "user five"}});
  // Nothing listens on port 1: the Redis route stays down, which is fine for this test.
  ServerFixture f({"--route", users.Route("user:{id}", " pool=4"), "--route",
                   "cache:{k} redis://alice:s3cret@127.0.0.1:1/2 timeout=100"});
  const std::string routes = Do(f.c, {"CONFIG", "GET", "route"});
  CHECK(routes.find("cache:{k} redis://alice:***@127.0.0.1:1/2 timeout=100") != std::string::npos);
  CHECK(routes.find("user:{id} sqlite://" + users.path()) != std::string::npos);
  CHECK(routes.find("pool=4") != std::string::npos);
  CHECK(routes.find("s3cret") == std::string::npos);
  const std::string info = Do(f.c, {"INFO", "origin"});
  CHECK(info.find("origin_route1:pattern=cache:{k},url=redis://alice:***@127.0.0.1:1/2") !=
        std::string::npos);
  CHECK(info.find("s3cret") == std::string::npos);
  CHECK(Do(f.c, {"GET", "cache:x"}).rfind("-ERR origin ", 0) == 0);
  CHECK(Do(f.c, {"GET", "user:5"}) == "user five");
}

TEST_CASE("--origin is the one-route shorthand and may sit beside other routes") {
  KvFile users(KvFile::Rows{{"5", "user five"}});
  int port = FreeTcpPort();
  ChildProcess origin(
      SpawnOptions{RequiredEnv("TEST_ORIGIN_BIN"), {"--port", std::to_string(port)}, {}, port});
  const std::string url = "redis://127.0.0.1:" + std::to_string(port);
  ServerFixture f({"--origin", url, "--route", users.Route("user:{id}")});
  CHECK(Do(f.c, {"GET", "user:5"}) == "user five");
  CHECK(Do(f.c, {"GET", "other"}) == "value:other");
  CHECK(InfoValue(f.c.get(), "origin_route0").rfind("pattern=*,url=" + url + ",", 0) == 0);
  CHECK(InfoValue(f.c.get(), "origin_route0").find("values=1,") != std::string::npos);
  CHECK(InfoValue(f.c.get(), "origin_route1").find("values=1,") != std::string::npos);
  CHECK(InfoValue(f.c.get(), "origin_fetches_started") == "2");
  // --origin and a route for * at once is a start-up error naming the route.
  RunResult run = RunToExit(RequiredEnv("FLIGHTCACHE_BIN"),
                            {"--port", "0", "--origin", url, "--route", "* " + url});
  CHECK(run.exit_code == 1);
  CHECK(run.output.find("another route (or --origin, for *)") != std::string::npos);
}

}  // namespace
TEST_CASE("a route with db=3 reads through in database 3 only; database 0 keeps its own") {
  KvFile users(KvFile::Rows{{"1", "user one"}});
  KvFile pages(KvFile::Rows{{"1", "page one"}});
  ServerFixture f(
      {"--route", users.Route("user:{id}", " db=3"), "--route", pages.Route("page:{id}")});
  ContextPtr in_db3 = Connect(f.server.port());
  REQUIRE(Do(in_db3, {"SELECT", "3"}) == "+OK");
  // Database 0 (f.c): the db=3 route's key is a plain miss there; the other route reads through.
  CHECK(Do(f.c, {"GET", "user:1"}) == "(nil)");
  CHECK(Do(f.c, {"MGET", "user:1", "page:1"}) == "[(nil), page one]");
  CHECK(InfoValue(f.c.get(), "origin_fetches_started") == "1");
  // Database 3: it reads through and fills there, and nowhere else.
  CHECK(Do(in_db3, {"GET", "user:1"}) == "user one");
  CHECK(Do(in_db3, {"EXISTS", "user:1"}) == ":1");
  CHECK(Do(f.c, {"EXISTS", "user:1"}) == ":0");
  CHECK(Do(f.c, {"GET", "user:1"}) == "(nil)");
  CHECK(InfoValue(f.c.get(), "origin_fetches_started") == "2");
  // The db 0 route does not read through in database 3.
  CHECK(Do(in_db3, {"GET", "page:1"}) == "(nil)");
  CHECK(InfoValue(f.c.get(), "origin_fetches_started") == "2");
  // A key written in database 0 under the db=3 route's pattern is only a local key.
  CHECK(Do(f.c, {"SET", "user:2", "local"}) == "+OK");
  CHECK(Do(f.c, {"GET", "user:2"}) == "local");
  CHECK(Do(in_db3, {"GET", "user:2"}) == "(nil)");  // read through: the file has no row 2
  CHECK(InfoValue(f.c.get(), "origin_fetches_started") == "3");
  CHECK(Do(f.c, {"CONFIG", "GET", "route"}).find("db=3") != std::string::npos);
}

TEST_CASE("a route's db= past the last database stops start-up naming the route") {
  const std::string bin = RequiredEnv("FLIGHTCACHE_BIN");
  RunResult run = RunToExit(bin, {"--port", "0", "--route", "user:{id} redis://127.0.0.1:1 db=16"});
  CHECK(run.exit_code == 1);
  CHECK(run.output.find("route 'user:{id} redis://127.0.0.1:1 db=16': db 16 is out of range") !=
        std::string::npos);
  run = RunToExit(bin, {"--port", "0", "--route", "user:{id} redis://127.0.0.1:1 db=x"});
  CHECK(run.exit_code == 1);
  CHECK(run.output.find("bad value for route option 'db'") != std::string::npos);
}

}  // namespace flightcache::integration
