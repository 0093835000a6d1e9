// sqlite_origin.cc — SqliteOrigin: read-only SQLite connections driven from libuv's thread pool.
//
// A Conn is touched by one thread at a time: the loop while no job is out, one thread-pool
// thread while its job runs (uv_queue_work hands it over and back through libuv's queue
// lock). The only cross-thread signals are `cancel` (atomic) and sqlite3_interrupt(), both
// safe while the job runs. A Conn holds itself alive (`hold`) while a job is out, so a job
// that finishes after the origin is gone closes its database and frees itself.
#include "origin/sqlite_origin.h"

#include <sqlite3.h>
#include <unistd.h>
#include <uv.h>

#include <atomic>
#include <cmath>
#include <cstdio>

#include "origin/sql_result.h"

namespace flightcache::origin {
namespace {

// Rows counted past the first before the answer gives up counting ("more than N rows").
constexpr int kMaxRowsCounted = 1000;

// What a query parameter binds: the capture at index, or the whole key (kWholeKey).
constexpr int kWholeKey = -1;

// Column's bytes; type: its sqlite3_column_type(), read before any conversion (reading a number
// as text may change what sqlite3_column_type() says afterwards).
std::string_view ColumnBytes(sqlite3_stmt* stmt, int column, int type) {
  if (type == SQLITE_BLOB) {
    const void* blob = sqlite3_column_blob(stmt, column);
    int size = sqlite3_column_bytes(stmt, column);
    return blob ? std::string_view(static_cast<const char*>(blob), static_cast<size_t>(size))
                : std::string_view();
  }
  const unsigned char* text = sqlite3_column_text(stmt, column);
  int size = sqlite3_column_bytes(stmt, column);
  return text ? std::string_view(reinterpret_cast<const char*>(text), static_cast<size_t>(size))
              : std::string_view();
}

void AppendJsonValue(std::string* out, sqlite3_stmt* stmt, int column, int type) {
  switch (type) {
    case SQLITE_NULL:
      *out += "null";
      break;
    case SQLITE_INTEGER:
      *out += std::to_string(sqlite3_column_int64(stmt, column));
      break;
    case SQLITE_FLOAT: {
      double v = sqlite3_column_double(stmt, column);
      if (!std::isfinite(v)) {
        *out += "null";  // JSON has no Inf or NaN
        break;
      }
      char text[32];
      std::snprintf(text, sizeof(text), "%.17g", v);
      *out += text;
      break;
    }
    case SQLITE_BLOB:
      AppendJsonString(out, Base64(ColumnBytes(stmt, column, type)));
      break;
    default:
      AppendJsonString(out, ColumnBytes(stmt, column, type));
  }
}

// The row stmt is on as a hash's fields: column name -> the column's value as the one-column
// mapping gives it, NULL columns left out. types: each column's type (see ColumnBytes).
std::vector<RowField> SqliteRowFields(sqlite3_stmt* stmt, const std::vector<int>& types) {
  std::vector<RowField> fields;
  fields.reserve(types.size());
  for (size_t c = 0; c < types.size(); ++c) {
    if (types[c] == SQLITE_NULL) continue;
    const int column = static_cast<int>(c);
    const char* name = sqlite3_column_name(stmt, column);
    fields.emplace_back(name ? name : "", std::string(ColumnBytes(stmt, column, types[c])));
  }
  MergeDuplicateColumns(&fields);
  return fields;
}

// The answer of the row stmt is on (see the mapping at the top of sqlite_origin.h).
FetchResult MapSqliteRow(sqlite3_stmt* stmt) {
  const int columns = sqlite3_column_count(stmt);
  std::vector<int> types(static_cast<size_t>(columns));
  for (int c = 0; c < columns; ++c) types[static_cast<size_t>(c)] = sqlite3_column_type(stmt, c);
  if (columns == 1) {
    if (types[0] == SQLITE_NULL) return FetchResult::NotFound();
    FetchResult result = FetchResult::Value(std::string(ColumnBytes(stmt, 0, types[0])));
    result.fields = SqliteRowFields(stmt, types);
    return result;
  }
  std::string json = "{";
  for (int c = 0; c < columns; ++c) {
    if (c > 0) json.push_back(',');
    const char* name = sqlite3_column_name(stmt, c);
    AppendJsonString(&json, name ? name : "");
    json.push_back(':');
    AppendJsonValue(&json, stmt, c, types[static_cast<size_t>(c)]);
  }
  json.push_back('}');
  FetchResult result = FetchResult::Value(std::move(json));
  result.fields = SqliteRowFields(stmt, types);
  return result;
}

// For each parameter of stmt (1-based, index 0 unused), what it binds; false with *error when
// one names no capture. names: the pattern's captures.
bool MapParameters(sqlite3_stmt* stmt, const std::vector<std::string>& names, std::vector<int>* map,
                   std::string* error) {
  const int count = sqlite3_bind_parameter_count(stmt);
  map->assign(static_cast<size_t>(count) + 1, kWholeKey);
  for (int j = 1; j <= count; ++j) {
    const char* raw = sqlite3_bind_parameter_name(stmt, j);
    std::string name = raw ? raw : "?";
    int bound = -2;
    if (name[0] == '?') {
      // ?NNN (or a bare ?) is parameter j itself.
      if (static_cast<size_t>(j) <= names.size()) bound = j - 1;
      if (names.empty() && j == 1) bound = kWholeKey;
    } else {
      std::string wanted = name.substr(1);
      for (size_t i = 0; i < names.size(); ++i) {
        if (names[i] == wanted) bound = static_cast<int>(i);
      }
      if (bound == -2 && wanted == "key") bound = kWholeKey;
    }
    if (bound == -2) {
      *error = "query parameter " + name + " has no capture in the route's pattern";
      return false;
    }
    (*map)[static_cast<size_t>(j)] = bound;
  }
  return true;
}

// Opens path read-only; false with *error. On success *db is set (the caller closes it).
bool OpenReadOnly(const std::string& path, sqlite3** db, std::string* error) {
  *db = nullptr;
  int rc = sqlite3_open_v2(path.c_str(), db, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX, nullptr);
  if (rc == SQLITE_OK) return true;
  *error = "cannot open " + path + ": " + (*db ? sqlite3_errmsg(*db) : sqlite3_errstr(rc));
  sqlite3_close_v2(*db);
  *db = nullptr;
  return false;
}

// Prepares target's query on db and maps its parameters; false with *error (then *stmt is
// null). Reads the schema, so it waits on a writer's lock like a query.
bool Prepare(sqlite3* db, const SqliteTarget& target, sqlite3_stmt** stmt, std::vector<int>* params,
             std::string* error) {
  *stmt = nullptr;
  int rc = sqlite3_prepare_v3(db, target.query.c_str(), static_cast<int>(target.query.size()),
                              SQLITE_PREPARE_PERSISTENT, stmt, nullptr);
  if (rc != SQLITE_OK || *stmt == nullptr) {
    *error = rc == SQLITE_OK ? std::string("the query is empty")
                             : "query does not prepare: " + std::string(sqlite3_errmsg(db));
  } else if (MapParameters(*stmt, target.capture_names, params, error)) {
    if (sqlite3_column_count(*stmt) > 0) return true;
    *error = "the query returns no columns";
  }
  sqlite3_finalize(*stmt);
  *stmt = nullptr;
  return false;
}

}  // namespace

struct SqliteOrigin::Conn {
  enum class Job : uint8_t { kOpen, kQuery };
  SqliteOrigin* owner = nullptr;  // nulled when the origin is destroyed
  const SqliteTarget* target = nullptr;
  ConnRef ref;
  uv_work_t work{};
  std::shared_ptr<Conn> hold;  // set while a job is out
  sqlite3* db = nullptr;
  sqlite3_stmt* stmt = nullptr;
  std::vector<int> params;  // see MapParameters
  // The job and its answer.
  Job job = Job::kOpen;
  std::string key;
  std::vector<std::string> captures;
  // Read by the busy handler while a writer holds the lock: it waits until cancel (the fetch
  // timed out) or for busy_wait_ms, the fetch's timeout.
  std::atomic<bool> cancel{false};
  int busy_wait_ms = 0;
  bool ok = false;
  std::string error;
  FetchResult result;

  void CloseDb() {
    sqlite3_finalize(stmt);
    sqlite3_close_v2(db);
    stmt = nullptr;
    db = nullptr;
  }
};

namespace {

// SQLite calls this while a writer holds the lock: wait in 1 ms steps until the fetch is
// cancelled (it timed out) or its timeout has been waited.
int BusyWait(void* data, int attempts) {
  auto* conn = static_cast<SqliteOrigin::Conn*>(data);
  if (conn->cancel.load(std::memory_order_relaxed) || attempts >= conn->busy_wait_ms) return 0;
  usleep(1000);
  return 1;
}

}  // namespace

std::optional<std::string> ParseSqliteUrl(std::string_view url, std::string* error) {
  constexpr std::string_view kScheme = "sqlite://";
  if (url.substr(0, kScheme.size()) != kScheme || url.size() <= kScheme.size() + 1 ||
      url[kScheme.size()] != '/') {
    if (error) *error = "sqlite url: expected sqlite:///absolute/path/to/file.db";
    return std::nullopt;
  }
  return std::string(url.substr(kScheme.size()));
}

bool CheckSqliteTarget(const SqliteTarget& target, std::string* error) {
  sqlite3* db = nullptr;
  sqlite3_stmt* stmt = nullptr;
  std::vector<int> params;
  if (!OpenReadOnly(target.path, &db, error)) return false;
  sqlite3_busy_timeout(db, 1000);  // a writer's short transaction does not fail start-up
  const bool ok = Prepare(db, target, &stmt, &params, error);
  sqlite3_finalize(stmt);
  sqlite3_close_v2(db);
  return ok;
}

SqliteOrigin::SqliteOrigin(uv_loop_t* loop, SqliteTarget target, int max_connections,
                           int timeout_ms)
    : PooledOrigin(loop, max_connections, timeout_ms), target_(std::move(target)) {}

SqliteOrigin::~SqliteOrigin() {
  Close();
  for (auto& conn : conns_) {
    conn->owner = nullptr;
    if (!conn->hold) conn->CloseDb();  // a job still out closes it when it returns
  }
}

SqliteOrigin::Conn& SqliteOrigin::ConnAt(ConnRef ref) {
  const auto index = static_cast<size_t>(ref.index);
  if (conns_.size() <= index) conns_.resize(index + 1);
  if (!conns_[index]) {
    conns_[index] = std::make_shared<Conn>();
    conns_[index]->owner = this;
    conns_[index]->target = &target_;
  }
  return *conns_[index];
}

void SqliteOrigin::OpenConnection(ConnRef ref) {
  Conn& conn = ConnAt(ref);
  conn.ref = ref;
  conn.job = Conn::Job::kOpen;
  Queue(conn);
}

void SqliteOrigin::SendRequest(ConnRef ref, const Request& request) {
  Conn& conn = ConnAt(ref);
  conn.job = Conn::Job::kQuery;
  conn.key = request.key;
  conn.captures = request.params;
  conn.busy_wait_ms = timeout_ms();
  conn.cancel.store(false);
  Queue(conn);
}

void SqliteOrigin::CancelRequest(ConnRef ref) {
  Conn& conn = ConnAt(ref);
  conn.cancel.store(true);
  if (conn.db != nullptr) sqlite3_interrupt(conn.db);
}

void SqliteOrigin::CloseConnection(ConnRef ref) { ConnAt(ref).CloseDb(); }

void SqliteOrigin::Queue(Conn& conn) {
  conn.hold = conns_[static_cast<size_t>(conn.ref.index)];
  conn.work.data = &conn;
  int rc = uv_queue_work(
      loop(), &conn.work, [](uv_work_t* work) { RunJob(static_cast<Conn*>(work->data)); },
      [](uv_work_t* work, int /*status*/) {
        auto* conn = static_cast<Conn*>(work->data);
        std::shared_ptr<Conn> hold = std::move(conn->hold);
        SqliteOrigin* owner = conn->owner;
        if (owner == nullptr) {
          conn->CloseDb();
          return;  // hold frees the Conn
        }
        if (conn->job == Conn::Job::kOpen) {
          owner->ConnectDone(conn->ref, conn->ok, conn->error);
        } else {
          owner->ReplyDone(conn->ref, std::move(conn->result));
        }
      });
  if (rc != 0) {
    conn.hold.reset();
    conn.ok = false;
    conn.error = std::string("cannot queue work: ") + uv_strerror(rc);
    if (conn.job == Conn::Job::kOpen) {
      conn.CloseDb();
      ConnectDone(conn.ref, false, conn.error);
    } else {
      ConnectionLost(conn.ref, conn.error);
    }
  }
}

void SqliteOrigin::RunJob(Conn* conn) {
  if (conn->job == Conn::Job::kOpen) {
    conn->error.clear();
    conn->ok = OpenReadOnly(conn->target->path, &conn->db, &conn->error);
    if (conn->ok) sqlite3_busy_handler(conn->db, BusyWait, conn);
    return;
  }
  // Prepared once per connection, by its first query (so a writer's lock is waited on, and a
  // timeout answered, like any query's).
  if (conn->stmt == nullptr) {
    std::string error;
    if (!Prepare(conn->db, *conn->target, &conn->stmt, &conn->params, &error)) {
      conn->result = FetchResult::Error(FetchErrorKind::kErrorReply, "origin error: " + error);
      return;
    }
  }
  sqlite3_stmt* stmt = conn->stmt;
  sqlite3_reset(stmt);
  sqlite3_clear_bindings(stmt);
  for (size_t j = 1; j < conn->params.size(); ++j) {
    const int from = conn->params[j];
    const std::string& value =
        from == kWholeKey || static_cast<size_t>(from) >= conn->captures.size()
            ? conn->key
            : conn->captures[static_cast<size_t>(from)];
    sqlite3_bind_text(stmt, static_cast<int>(j), value.data(), static_cast<int>(value.size()),
                      SQLITE_TRANSIENT);
  }
  int rc = sqlite3_step(stmt);
  if (rc == SQLITE_DONE) {
    conn->result = FetchResult::NotFound();
  } else if (rc == SQLITE_ROW) {
    conn->result = MapSqliteRow(stmt);
    int rows = 1;
    while (rows <= kMaxRowsCounted && (rc = sqlite3_step(stmt)) == SQLITE_ROW) ++rows;
    if (rows > 1) {
      conn->result =
          TooManyRows(rows > kMaxRowsCounted ? "more than " + std::to_string(kMaxRowsCounted)
                                             : std::to_string(rows));
      rc = SQLITE_DONE;
    }
  }
  if (rc != SQLITE_DONE) {
    conn->result = FetchResult::Error(FetchErrorKind::kErrorReply,
                                      "origin error: " + std::string(sqlite3_errmsg(conn->db)));
  }
  sqlite3_reset(stmt);
  sqlite3_clear_bindings(stmt);
}

}  // namespace flightcache::origin
