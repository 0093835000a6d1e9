// sqlite_origin.h — an Origin that answers a key with one SQL query on a SQLite file.
//
// URL: sqlite:///absolute/path/to/file.db. Every connection is opened read-only
// (SQLITE_OPEN_READONLY) and prepares the route's query once; the open, the prepare and each
// query run on libuv's thread pool (uv_queue_work), never on the loop, one query at a time per
// connection. Pool, FIFO queue, deadlines and backoff come from PooledOrigin (pool.h).
// Parameters: `?N` (or a bare `?`) binds the N-th capture of the route's pattern; `:name`,
// `@name`, `$name` bind the capture called name; `?1` and `:key` bind the whole key when the
// pattern has no capture (and `:key` when no capture is called key). Values are bound as
// text, never spliced into the query. Result mapping (MapSqliteRow): zero rows or a NULL →
// not found; one row, one column → that value (text as is, blob as raw bytes, numbers as
// text); one row, several columns → a JSON object column → value (blob as base64); more rows
// → an error naming the count. Every value also carries the row as fields (FetchResult::fields:
// column name → that column's value as the one-column mapping gives it, NULL columns left
// out), which a hash read (HGETALL, HGET, HMGET) fills as a hash. A writer's lock is waited on
// (busy handler) until the fetch's deadline; a timed-out query is interrupted, and its connection
// is reused once it returns.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "origin/pool.h"

struct sqlite3;
struct sqlite3_stmt;

namespace flightcache::origin {

struct SqliteTarget {
  std::string path;                        // the database file
  std::string query;                       // one SELECT
  std::vector<std::string> capture_names;  // of the route's pattern, in order
};

// The file path of a sqlite:///path URL; nullopt with *error when the URL is not one.
std::optional<std::string> ParseSqliteUrl(std::string_view url, std::string* error);

// Opens target read-only and prepares its query once, as a connection would, then closes.
// False with *error ("cannot open ...", "query does not prepare: ...", "parameter ?2 has no
// capture ...") when a connection could not work. Blocking: for start-up only.
bool CheckSqliteTarget(const SqliteTarget& target, std::string* error);

class SqliteOrigin final : public PooledOrigin {
 public:
  struct Conn;  // one connection's state (sqlite_origin.cc)

  SqliteOrigin(uv_loop_s* loop, SqliteTarget target, int max_connections, int timeout_ms);
  ~SqliteOrigin() override;  // calls Close()

  std::string Describe() const override { return "sqlite://" + target_.path; }

 private:
  static void RunJob(Conn* conn);  // on a thread-pool thread

  void OpenConnection(ConnRef ref) override;
  void SendRequest(ConnRef ref, const Request& request) override;
  void CancelRequest(ConnRef ref) override;
  void CloseConnection(ConnRef ref) override;
  Conn& ConnAt(ConnRef ref);
  void Queue(Conn& conn);

  SqliteTarget target_;
  std::vector<std::shared_ptr<Conn>> conns_;  // by ConnRef::index; kept until destruction
};

}  // namespace flightcache::origin
