// postgres_origin.h — an Origin that answers a key with one prepared query on PostgreSQL.
//
// URL: postgres://user:password@host:port/db (also postgresql://, and ?host=/socket/dir), as
// libpq reads it. Each connection is libpq in non-blocking mode on the loop: PQconnectStart /
// PQconnectPoll, then PQsendPrepare of the route's query once, then one PQsendQueryPrepared at
// a time, all driven by a uv_poll on the connection's socket; nothing blocks the loop. Pool,
// FIFO queue, deadlines and backoff come from PooledOrigin (pool.h). A query past its deadline
// is cancelled at the server (PQcancel, sent from a short-lived thread so the loop never waits
// on it) and its connection dropped (PQfinish; DropOnTimeout), so no late reply can answer
// another key; the pool opens a fresh connection on demand, with backoff after failures. On
// PostgreSQL 14+ connections set client_connection_check_interval=1s, so the server also ends
// within a second a query whose connection is gone (a cancel that came before it started).
// Parameters: $N binds the N-th capture of the route's pattern ($1 is the whole key when the
// pattern has none), as text. A capture that PostgreSQL text cannot hold (a NUL byte, invalid
// UTF-8) matches no row: it is answered "not found" without a query; so is one the database
// cannot convert to its parameter's type (SQLSTATE 22P02, 22003, 22007, 22008, 22021: user:abc
// against an integer id). Result mapping as for
// SQLite (sqlite_origin.h); bytea is unescaped to raw bytes, and in a JSON object numbers and
// booleans are JSON numbers and booleans, json/jsonb columns are embedded as they are. The
// row's fields for a hash read hold each column as PostgreSQL's text (bytea as raw bytes).
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "origin/pool.h"

struct uv_poll_s;

namespace flightcache::origin {

struct PostgresTarget {
  std::string conninfo;                    // the URL, for libpq
  std::string query;                       // one SELECT with $1..$N
  std::vector<std::string> capture_names;  // of the route's pattern, in order
  int params = 0;                          // $N the query takes (found by the start-up check)
  // Set by the start-up check when the server has client_connection_check_interval (14+) and
  // the URL sets no options of its own: connections then ask the server to end a query whose
  // client has gone (a dropped connection whose cancel came before the query started).
  bool check_client_connection = false;
};

// True when url is a postgres:// or postgresql:// URL that libpq accepts; else *error.
bool ParsePostgresUrl(std::string_view url, std::string* error);

// Connects (blocking, bounded by connect_timeout_s), prepares and describes target's query,
// and sets target->params; false with *error ("cannot connect: ...", "query does not
// prepare: ...", "$2 has no capture ..."). For start-up only.
bool CheckPostgresTarget(PostgresTarget* target, int connect_timeout_s, std::string* error);

// The URL without its password, for INFO and logs.
std::string RedactedPostgresUrl(std::string_view url);

class PostgresOrigin final : public PooledOrigin {
 public:
  PostgresOrigin(uv_loop_s* loop, PostgresTarget target, std::string description,
                 int max_connections, int timeout_ms);
  ~PostgresOrigin() override;  // calls Close()

  std::string Describe() const override { return description_; }
  // As PooledOrigin::Close, and drops the connections whose query is still out.
  void Close() override;
  // Cancel requests sent for queries that passed their deadline.
  uint64_t cancels_sent() const { return cancels_sent_; }

  struct Conn;  // one connection's state (postgres_origin.cc)

 private:
  void OpenConnection(ConnRef ref) override;
  void SendRequest(ConnRef ref, const Request& request) override;
  void CloseConnection(ConnRef ref) override;
  bool DropOnTimeout() const override { return true; }

  static void OnPoll(uv_poll_s* poll, int status, int events);
  static void OnReportTimer(uv_timer_s* timer);
  void Drive(Conn& conn);  // advances conn by what its socket allows
  void Watch(Conn& conn, int events);
  void Fail(Conn& conn, const std::string& reason);
  // Runs report from the report timer: a kind never reports inside the base's calls.
  void ReportLater(std::function<void()> report);
  Conn& ConnAt(ConnRef ref);

  PostgresTarget target_;
  std::string description_;
  std::vector<std::unique_ptr<Conn>> conns_;  // by ConnRef::index
  std::vector<std::function<void()>> later_;  // run from report_timer_
  uv_timer_s* report_timer_ = nullptr;
  uint64_t cancels_sent_ = 0;
};

}  // namespace flightcache::origin
