// postgres_invalidation_test.cc — a postgres:// route with listen=CHANNEL against a real
// PostgreSQL (postgres_harness.h): an UPDATE whose trigger sends NOTIFY reaches the cache, the
// payload formats (one key, a JSON array, empty = everything), a terminated LISTEN connection
// (entries dropped, LISTEN re-established), and an invalidation that lands while that key's
// fetch is in flight (the fetch is held on an advisory lock the test owns: its waiter gets the
// value it read, and the store is not filled), and a hung server (postmaster and LISTEN
// backend stopped with SIGSTOP) found by the listen-keepalive. Waits are on INFO counters and
// pg_locks only.
#include <doctest/doctest.h>
#include <libpq-fe.h>
#include <signal.h>

#include <string>
#include <vector>

#include "tests/integration/postgres_harness.h"
#include "tests/integration/server_process.h"

namespace flightcache::integration {
namespace {

std::string RouteField(redisContext* c, const std::string& name) {
  const std::string line = InfoValue(c, "origin_route0");
  const size_t at = line.find("," + name + "=");
  if (at == std::string::npos) return "";
  const size_t start = at + name.size() + 2;
  return line.substr(start, line.find(',', start) - start);
}

void WaitRouteField(redisContext* c, const std::string& name, const std::string& value) {
  std::string seen;
  const bool reached = WaitUntil([&] { return (seen = RouteField(c, name)) == value; });
  CAPTURE(name);
  CAPTURE(seen);
  REQUIRE(reached);
}

std::string FreshName() {
  static int next = 0;
  return "inv" + std::to_string(getpid()) + "_" + std::to_string(next++);
}

// A table name(id int, v text) with rows (1,'a') and (2,'b'), and a trigger that sends
// 'item:<id>' on channel name for every change.
void CreateNotifyingTable(PostgresServer& pg, const std::string& name) {
  pg.Sql("CREATE TABLE " + name + " (id int PRIMARY KEY, v text)");
  pg.Sql("INSERT INTO " + name + " VALUES (1, 'a'), (2, 'b')");
  pg.Sql("CREATE FUNCTION " + name +
         "_notify() RETURNS trigger AS $$ BEGIN "
         "PERFORM pg_notify('" +
         name +
         "', 'item:' || COALESCE(NEW.id, OLD.id)); "
         "RETURN NULL; END $$ LANGUAGE plpgsql");
  pg.Sql("CREATE TRIGGER " + name + "_cache AFTER INSERT OR UPDATE OR DELETE ON " + name +
         " FOR EACH ROW EXECUTE FUNCTION " + name + "_notify()");
}

std::string Route(PostgresServer& pg, const std::string& name, const std::string& where = "") {
  return "item:{id} " + pg.Url() + " \"SELECT v FROM " + name + " WHERE id = $1::int" + where +
         "\" listen=" + name;
}

// Stops processes with SIGSTOP and lets them go on (SIGCONT) when told or when it ends, so
// that a failed check never leaves PostgreSQL stopped for the tests after it.
class Stopped {
 public:
  explicit Stopped(std::vector<pid_t> pids) : pids_(std::move(pids)) {
    for (pid_t pid : pids_) REQUIRE(kill(pid, SIGSTOP) == 0);
  }
  ~Stopped() { Continue(); }
  void Continue() {
    for (pid_t pid : pids_) kill(pid, SIGCONT);
    pids_.clear();
  }

 private:
  std::vector<pid_t> pids_;
};

}  // namespace

TEST_CASE("a PostgreSQL UPDATE with a NOTIFY trigger reaches the cache") {
  PostgresServer& pg = PostgresServer::Get();
  const std::string name = FreshName();
  CreateNotifyingTable(pg, name);
  ServerProcess server({"--route", Route(pg, name)});
  ContextPtr c = Connect(server.port());
  WaitRouteField(c.get(), "listen", "up");
  CHECK(Do(c, {"GET", "item:1"}) == "a");
  CHECK(Do(c, {"GET", "item:2"}) == "b");
  CHECK(Do(c, {"TTL", "item:1"}) == ":-1");
  pg.Sql("UPDATE " + name + " SET v = 'a2' WHERE id = 1");
  REQUIRE(WaitUntil([&] { return Do(c, {"GET", "item:1"}) == "a2"; }));
  CHECK(Do(c, {"EXISTS", "item:2"}) == ":1");  // untouched
  // A JSON array names several keys; any other payload is one key as it is.
  CHECK(Do(c, {"GET", "item:1"}) == "a2");
  pg.Sql("NOTIFY " + name + ", '[\"item:1\", \"item:2\"]'");
  REQUIRE(WaitUntil([&] { return Do(c, {"EXISTS", "item:1", "item:2"}) == ":0"; }));
  CHECK(Do(c, {"GET", "item:1"}) == "a2");
  CHECK(Do(c, {"GET", "item:2"}) == "b");
  CHECK(Do(c, {"SET", "elsewhere", "local"}) == "+OK");
  // An empty payload drops every entry of the route, and only those.
  pg.Sql("NOTIFY " + name + ", ''");
  REQUIRE(WaitUntil([&] { return Do(c, {"EXISTS", "item:1", "item:2"}) == ":0"; }));
  CHECK(Do(c, {"GET", "elsewhere"}) == "local");
  CHECK(RouteField(c.get(), "invalidation_flushes") == "1");
}

TEST_CASE("a terminated LISTEN connection drops the route's entries and LISTEN comes back") {
  PostgresServer& pg = PostgresServer::Get();
  const std::string name = FreshName();
  CreateNotifyingTable(pg, name);
  ServerProcess server({"--route", Route(pg, name)});
  ContextPtr c = Connect(server.port());
  WaitRouteField(c.get(), "listen", "up");
  CHECK(Do(c, {"GET", "item:1"}) == "a");
  CHECK(Do(c, {"EXISTS", "item:1"}) == ":1");
  CHECK(pg.Value("SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE query = "
                 "'LISTEN \"" +
                 name + "\"'") == "1");
  REQUIRE(WaitUntil([&] { return Do(c, {"EXISTS", "item:1"}) == ":0"; }));
  WaitRouteField(c.get(), "listen_connects", "2");
  CHECK(RouteField(c.get(), "listen_losses") == "1");
  CHECK(Do(c, {"GET", "item:1"}) == "a");
  pg.Sql("UPDATE " + name + " SET v = 'a3' WHERE id = 1");
  REQUIRE(WaitUntil([&] { return Do(c, {"GET", "item:1"}) == "a3"; }));
}

TEST_CASE("an invalidation during a fetch answers its waiter but does not fill the store") {
  PostgresServer& pg = PostgresServer::Get();
  const std::string name = FreshName();
  CreateNotifyingTable(pg, name);
  // The fetch waits inside its query for a shared advisory lock the test holds exclusively.
  pg.Sql("CREATE FUNCTION " + name +
         "_gate() RETURNS int AS $$ BEGIN PERFORM pg_advisory_xact_lock_shared(4242); RETURN 1; "
         "END $$ LANGUAGE plpgsql VOLATILE");
  ServerProcess server(
      {"--route", Route(pg, name, " AND " + name + "_gate() = 1"), "--origin-timeout", "60000"});
  ContextPtr c = Connect(server.port());
  WaitRouteField(c.get(), "listen", "up");
  PGconn* holder = PQconnectdb(
      ("host=127.0.0.1 port=" + std::to_string(pg.port()) + " user=app dbname=postgres").c_str());
  REQUIRE(PQstatus(holder) == CONNECTION_OK);
  PQclear(PQexec(holder, "SELECT pg_advisory_lock(4242)"));
  ContextPtr waiter = Connect(server.port(), milliseconds(60000));
  Append(waiter.get(), {"GET", "item:1"});
  int done = 0;
  while (!done) REQUIRE(redisBufferWrite(waiter.get(), &done) == REDIS_OK);
  // The fetch's query is running (its snapshot taken, 'a' visible) and waits on the lock.
  REQUIRE(WaitUntil([&] {
    return pg.Value(
               "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT "
               "granted") == "1";
  }));
  pg.Sql("UPDATE " + name + " SET v = 'changed' WHERE id = 1");
  WaitRouteField(c.get(), "invalidations", "1");
  PQclear(PQexec(holder, "SELECT pg_advisory_unlock(4242)"));
  // The waiter joined before the change: it gets what the fetch read. The store stays empty.
  CHECK(Show(NextReply(waiter.get()).get()) == "a");
  REQUIRE(WaitUntil([&] { return InfoNumber(c, "origin_fetches_in_flight") == 0; }));
  CHECK(InfoNumber(c, "origin_forgotten") == 1);
  CHECK(Do(c, {"EXISTS", "item:1"}) == ":0");
  CHECK(Do(c, {"GET", "item:1"}) == "changed");
  PQfinish(holder);
}

TEST_CASE("a hung PostgreSQL server takes LISTEN down by its keepalive, and LISTEN comes back") {
  PostgresServer& pg = PostgresServer::Get();
  const std::string name = FreshName();
  CreateNotifyingTable(pg, name);
  ServerProcess server({"--route", Route(pg, name) + " listen-keepalive=300"});
  ContextPtr c = Connect(server.port());
  WaitRouteField(c.get(), "listen", "up");
  CHECK(Do(c, {"GET", "item:1"}) == "a");
  CHECK(Do(c, {"EXISTS", "item:1"}) == ":1");
  const std::string backend = pg.Value(
      "SELECT pid FROM pg_stat_activity WHERE application_name = 'flightcache-listen:" + name +
      "'");
  INFO("LISTEN backend: ", backend);
  REQUIRE(!backend.empty());
  REQUIRE(backend.find_first_not_of("0123456789") == std::string::npos);
  const long long losses = std::stoll(RouteField(c.get(), "listen_losses"));
  {
    // The socket stays open and silent: only the keepalive can tell. The postmaster is stopped
    // too, so that no new LISTEN connection can come up meanwhile (its attempts time out).
    Stopped hung({pg.ServerPid(), static_cast<pid_t>(std::stol(backend))});
    REQUIRE(WaitUntil([&] {
      return std::stoll(RouteField(c.get(), "listen_losses")) > losses &&
             Do(c, {"EXISTS", "item:1"}) == ":0";
    }));
    WaitRouteField(c.get(), "listen", "down");
    CHECK(RouteField(c.get(), "listen_connects") == "1");
    // The fetch connections still answer (their backends run), but nothing is stored while no
    // notification can be heard.
    CHECK(Do(c, {"GET", "item:1"}) == "a");
    CHECK(Do(c, {"EXISTS", "item:1"}) == ":0");
    hung.Continue();
  }
  WaitRouteField(c.get(), "listen", "up");
  CHECK(Do(c, {"GET", "item:1"}) == "a");
  CHECK(Do(c, {"EXISTS", "item:1"}) == ":1");
  pg.Sql("UPDATE " + name + " SET v = 'a4' WHERE id = 1");
  REQUIRE(WaitUntil([&] { return Do(c, {"GET", "item:1"}) == "a4"; }));
}

}  // namespace flightcache::integration
