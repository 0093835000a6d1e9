// postgres_origin.cc — PostgresOrigin: libpq non-blocking connections on uv_poll (see .h).
//
// A Conn walks kConnecting (PQconnectPoll) → kPreparing (PQsendPrepare) → kIdle ⇄ kQuery.
// Every step is driven by its socket's poll events; the base hears of it through ConnectDone,
// ReplyDone or ConnectionLost, always as the last thing a handler does (the base may then send
// the next request on the same Conn, or close it). The poll handle is freed in its close
// callback; PQfinish runs after uv_poll_stop, so libuv never watches a closed descriptor.
#include "origin/postgres_origin.h"

#include <libpq-fe.h>
#include <uv.h>

#include <atomic>
#include <cstring>
#include <thread>

#include "origin/route.h"
#include "origin/sql_result.h"

namespace flightcache::origin {
namespace {

constexpr const char* kStatementName = "flightcache";
// Cancel requests out at once, over every PostgreSQL origin of the process. Past this a
// timed-out query's connection is only dropped (the backend then runs the query to its end).
constexpr int kMaxCancelsInFlight = 8;
std::atomic<int> cancels_in_flight{0};

// Asks the server to cancel the query running on pg (PQcancel), from a detached thread:
// PQcancel opens a new connection to the server and waits for it, which must never block the
// loop, the thread pool the SQLite kind runs on, or shutdown. Returns false (and sends
// nothing) when kMaxCancelsInFlight are already out or no cancel object can be made. The
// thread owns the PGcancel, which does not refer to pg: pg may be finished at once.
bool SendCancel(PGconn* pg) {
  if (cancels_in_flight.fetch_add(1) >= kMaxCancelsInFlight) {
    cancels_in_flight.fetch_sub(1);
    return false;
  }
  PGcancel* cancel = PQgetCancel(pg);
  if (cancel == nullptr) {
    cancels_in_flight.fetch_sub(1);
    return false;
  }
  std::thread([cancel]() {
    char error[256];
    PQcancel(cancel, error, sizeof(error));  // best effort: a failure leaves the drop
    PQfreeCancel(cancel);
    cancels_in_flight.fetch_sub(1);
  }).detach();
  return true;
}
constexpr Oid kBoolOid = 16;
constexpr Oid kByteaOid = 17;
constexpr Oid kJsonOid = 114;
constexpr Oid kJsonbOid = 3802;

bool IsNumberOid(Oid oid) {
  switch (oid) {
    case 20:    // int8
    case 21:    // int2
    case 23:    // int4
    case 26:    // oid
    case 700:   // float4
    case 701:   // float8
    case 1700:  // numeric
      return true;
    default:
      return false;
  }
}

// True when text is UTF-8 without NUL bytes, as a PostgreSQL text parameter must be
// (overlong forms and surrogates are left for the server to refuse).
bool IsPostgresText(std::string_view text) {
  size_t i = 0;
  while (i < text.size()) {
    const auto c = static_cast<unsigned char>(text[i]);
    size_t extra = 0;
    if (c == 0) return false;
    if (c >= 0x80) {
      if ((c >> 5) == 6) {
        extra = 1;
      } else if ((c >> 4) == 14) {
        extra = 2;
      } else if ((c >> 3) == 30) {
        extra = 3;
      } else {
        return false;
      }
    }
    if (i + extra >= text.size() && extra > 0) return false;
    for (size_t k = 1; k <= extra; ++k) {
      if ((static_cast<unsigned char>(text[i + k]) >> 6) != 2) return false;
    }
    i += extra + 1;
  }
  return true;
}

std::string TrimmedError(const char* message) {
  std::string text = message ? message : "";
  while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.pop_back();
  return text.empty() ? "unknown error" : text;
}

std::string Unescaped(const char* text) {
  size_t length = 0;
  unsigned char* bytes = PQunescapeBytea(reinterpret_cast<const unsigned char*>(text), &length);
  if (bytes == nullptr) return {};
  std::string out(reinterpret_cast<char*>(bytes), length);
  PQfreemem(bytes);
  return out;
}

void AppendJsonValue(std::string* out, const PGresult* res, int column) {
  if (PQgetisnull(res, 0, column)) {
    *out += "null";
    return;
  }
  const char* text = PQgetvalue(res, 0, column);
  const Oid type = PQftype(res, column);
  if (IsNumberOid(type)) {
    // JSON has no NaN or infinities.
    bool special = std::strcmp(text, "NaN") == 0 || std::strstr(text, "Infinity") != nullptr;
    *out += special ? "null" : text;
  } else if (type == kBoolOid) {
    *out += text[0] == 't' ? "true" : "false";
  } else if (type == kJsonOid || type == kJsonbOid) {
    *out += text;
  } else if (type == kByteaOid) {
    AppendJsonString(out, Base64(Unescaped(text)));
  } else {
    AppendJsonString(out, std::string_view(text, static_cast<size_t>(PQgetlength(res, 0, column))));
  }
}

// True when the query failed only because a parameter is not a value of its column's type
// (user:abc against an integer id): no row can match it, so it is "not found", not an error.
bool KeyCannotMatch(const PGresult* res) {
  const char* state = PQresultErrorField(res, PG_DIAG_SQLSTATE);
  if (state == nullptr) return false;
  for (const char* code : {"22P02", "22003", "22007", "22008", "22021"}) {
    if (std::strcmp(state, code) == 0) return true;
  }
  return false;
}

// The value of row 0's column as the one-column mapping gives it: bytea unescaped to raw bytes,
// anything else as PostgreSQL's text. The column is not NULL.
std::string ColumnValue(const PGresult* res, int column) {
  const char* text = PQgetvalue(res, 0, column);
  if (PQftype(res, column) == kByteaOid) return Unescaped(text);
  return std::string(text, static_cast<size_t>(PQgetlength(res, 0, column)));
}

// Row 0 as a hash's fields: column name -> ColumnValue, NULL columns left out.
std::vector<RowField> RowFields(const PGresult* res) {
  const int columns = PQnfields(res);
  std::vector<RowField> fields;
  fields.reserve(static_cast<size_t>(columns));
  for (int c = 0; c < columns; ++c) {
    if (PQgetisnull(res, 0, c)) continue;
    fields.emplace_back(PQfname(res, c), ColumnValue(res, c));
  }
  MergeDuplicateColumns(&fields);
  return fields;
}

// The answer of a query's result (see the mapping in sqlite_origin.h).
FetchResult MapResult(const PGresult* res) {
  if (PQresultStatus(res) != PGRES_TUPLES_OK && KeyCannotMatch(res)) return FetchResult::NotFound();
  if (PQresultStatus(res) != PGRES_TUPLES_OK) {
    return FetchResult::Error(FetchErrorKind::kErrorReply,
                              "origin error: " + TrimmedError(PQresultErrorMessage(res)));
  }
  const int rows = PQntuples(res);
  if (rows == 0) return FetchResult::NotFound();
  if (rows > 1) return TooManyRows(std::to_string(rows));
  const int columns = PQnfields(res);
  if (columns == 1) {
    if (PQgetisnull(res, 0, 0)) return FetchResult::NotFound();
    FetchResult result = FetchResult::Value(ColumnValue(res, 0));
    result.fields = RowFields(res);
    return result;
  }
  std::string json = "{";
  for (int c = 0; c < columns; ++c) {
    if (c > 0) json.push_back(',');
    AppendJsonString(&json, PQfname(res, c));
    json.push_back(':');
    AppendJsonValue(&json, res, c);
  }
  json.push_back('}');
  FetchResult result = FetchResult::Value(std::move(json));
  result.fields = RowFields(res);
  return result;
}

}  // namespace

struct PostgresOrigin::Conn {
  enum class Phase : uint8_t { kClosed, kConnecting, kPreparing, kIdle, kQuery };
  PostgresOrigin* owner = nullptr;
  ConnRef ref;
  Phase phase = Phase::kClosed;
  PGconn* pg = nullptr;
  uv_poll_t* poll = nullptr;
  int fd = -1;
  PGresult* first = nullptr;  // the first result of the command out; later ones are dropped

  // Stops watching, closes the poll handle (freed in its close callback) and the connection.
  void Release() {
    if (poll != nullptr) {
      uv_poll_stop(poll);
      uv_close(reinterpret_cast<uv_handle_t*>(poll),
               [](uv_handle_t* handle) { delete reinterpret_cast<uv_poll_t*>(handle); });
      poll = nullptr;
    }
    PQclear(first);
    first = nullptr;
    if (pg != nullptr) PQfinish(pg);
    pg = nullptr;
    fd = -1;
    phase = Phase::kClosed;
  }
};

bool ParsePostgresUrl(std::string_view url, std::string* error) {
  const std::string scheme = UrlScheme(url);
  if (scheme != "postgres" && scheme != "postgresql") {
    if (error) *error = "postgres url: expected postgres://user:password@host:port/db";
    return false;
  }
  char* message = nullptr;
  PQconninfoOption* options = PQconninfoParse(std::string(url).c_str(), &message);
  if (options == nullptr) {
    if (error) *error = "postgres url: " + TrimmedError(message);
    PQfreemem(message);
    return false;
  }
  PQconninfoFree(options);
  return true;
}

std::string RedactedPostgresUrl(std::string_view url) {
  std::string out = RedactUrlText(url);
  // A password may also be a query parameter: ?password=... or &password=...
  for (const char* key : {"?password=", "&password="}) {
    size_t at = out.find(key);
    if (at == std::string::npos) continue;
    size_t start = at + std::strlen(key);
    size_t end = out.find('&', start);
    out.replace(start, end == std::string::npos ? std::string::npos : end - start, "***");
  }
  return out;
}

bool CheckPostgresTarget(PostgresTarget* target, int connect_timeout_s, std::string* error) {
  const std::string timeout = std::to_string(connect_timeout_s);
  const char* keywords[] = {"dbname", "connect_timeout", nullptr};
  const char* values[] = {target->conninfo.c_str(), timeout.c_str(), nullptr};
  PGconn* pg = PQconnectdbParams(keywords, values, 1);
  bool ok = false;
  if (PQstatus(pg) != CONNECTION_OK) {
    *error = "cannot connect: " + TrimmedError(PQerrorMessage(pg));
  } else {
    target->check_client_connection =
        PQserverVersion(pg) >= 140000 && target->conninfo.find("options=") == std::string::npos;
    PGresult* res = PQprepare(pg, "", target->query.c_str(), 0, nullptr);
    if (PQresultStatus(res) != PGRES_COMMAND_OK) {
      *error = "query does not prepare: " + TrimmedError(PQresultErrorMessage(res));
    } else {
      PQclear(res);
      res = PQdescribePrepared(pg, "");
      const int params = PQresultStatus(res) == PGRES_COMMAND_OK ? PQnparams(res) : -1;
      const int available =
          target->capture_names.empty() ? 1 : static_cast<int>(target->capture_names.size());
      if (params < 0) {
        *error = "query cannot be described: " + TrimmedError(PQresultErrorMessage(res));
      } else if (PQnfields(res) == 0) {
        *error = "the query returns no columns";
      } else if (params > available) {
        *error =
            "query parameter $" + std::to_string(params) + " has no capture in the route's pattern";
      } else {
        target->params = params;
        ok = true;
      }
    }
    PQclear(res);
  }
  PQfinish(pg);
  return ok;
}

PostgresOrigin::PostgresOrigin(uv_loop_t* loop, PostgresTarget target, std::string description,
                               int max_connections, int timeout_ms)
    : PooledOrigin(loop, max_connections, timeout_ms),
      target_(std::move(target)),
      description_(std::move(description)) {
  report_timer_ = new uv_timer_t;
  uv_timer_init(loop, report_timer_);
  report_timer_->data = this;
}

PostgresOrigin::~PostgresOrigin() { Close(); }

PostgresOrigin::Conn& PostgresOrigin::ConnAt(ConnRef ref) {
  const auto index = static_cast<size_t>(ref.index);
  if (conns_.size() <= index) conns_.resize(index + 1);
  if (!conns_[index]) {
    conns_[index] = std::make_unique<Conn>();
    conns_[index]->owner = this;
  }
  return *conns_[index];
}

void PostgresOrigin::ReportLater(std::function<void()> report) {
  if (report_timer_ == nullptr) return;  // closed: the base answers nothing more
  later_.push_back(std::move(report));
  if (uv_is_active(reinterpret_cast<uv_handle_t*>(report_timer_)) == 0) {
    uv_timer_start(report_timer_, OnReportTimer, 0, 0);
  }
}

void PostgresOrigin::OnReportTimer(uv_timer_t* timer) {
  auto* self = static_cast<PostgresOrigin*>(timer->data);
  auto reports = std::move(self->later_);
  self->later_.clear();
  for (auto& report : reports) report();
}

void PostgresOrigin::OpenConnection(ConnRef ref) {
  Conn& conn = ConnAt(ref);
  conn.Release();
  conn.ref = ref;
  // The server checks every second, while a query runs, that its client is still there.
  const char* keywords[] = {"dbname", "options", nullptr};
  const char* values[] = {target_.conninfo.c_str(), "-c client_connection_check_interval=1000",
                          nullptr};
  if (!target_.check_client_connection) keywords[1] = nullptr;
  conn.pg = PQconnectStartParams(keywords, values, 1);
  std::string failure;
  if (conn.pg == nullptr) {
    failure = "out of memory";
  } else if (PQstatus(conn.pg) == CONNECTION_BAD) {
    failure = TrimmedError(PQerrorMessage(conn.pg));
  } else if (PQsetnonblocking(conn.pg, 1) != 0 || (conn.fd = PQsocket(conn.pg)) < 0) {
    failure = "cannot make the connection non-blocking";
  } else {
    conn.poll = new uv_poll_t;
    if (uv_poll_init_socket(loop(), conn.poll, conn.fd) != 0) {
      delete conn.poll;
      conn.poll = nullptr;
      failure = "cannot watch the connection's socket";
    }
  }
  if (!failure.empty()) {
    conn.Release();
    ReportLater([this, ref, failure]() { ConnectDone(ref, false, failure); });
    return;
  }
  conn.poll->data = &conn;
  conn.phase = Conn::Phase::kConnecting;
  Watch(conn, UV_WRITABLE);  // libpq: after PQconnectStart, poll as if PGRES_POLLING_WRITING
}

void PostgresOrigin::SendRequest(ConnRef ref, const Request& request) {
  Conn& conn = ConnAt(ref);
  std::vector<const char*> values;
  for (int i = 0; i < target_.params; ++i) {
    const auto index = static_cast<size_t>(i);
    const std::string& value = index < request.params.size() ? request.params[index] : request.key;
    if (!IsPostgresText(value)) {
      // No text row can equal it; asking would only get an encoding error.
      ReportLater([this, ref]() { ReplyDone(ref, FetchResult::NotFound()); });
      return;
    }
    values.push_back(value.c_str());
  }
  conn.phase = Conn::Phase::kQuery;
  if (PQsendQueryPrepared(conn.pg, kStatementName, target_.params, values.data(), nullptr, nullptr,
                          0) == 0) {
    const std::string reason = TrimmedError(PQerrorMessage(conn.pg));
    conn.Release();
    ReportLater([this, ref, reason]() { ConnectionLost(ref, reason); });
    return;
  }
  const int flushed = PQflush(conn.pg);
  Watch(conn, UV_READABLE | (flushed == 1 ? UV_WRITABLE : 0));
}

void PostgresOrigin::CloseConnection(ConnRef ref) {
  Conn& conn = ConnAt(ref);
  // A query still out here passed its deadline: the server is asked to stop it, so a slow
  // query does not keep running (and holding a backend) after its connection is gone.
  if (conn.phase == Conn::Phase::kQuery && conn.pg != nullptr && SendCancel(conn.pg)) {
    ++cancels_sent_;
  }
  conn.Release();
}

void PostgresOrigin::Close() {
  PooledOrigin::Close();
  // A query still out would keep its poll handle (and the loop) alive until it ends: drop it.
  // The base ignores anything reported for a closing connection after this.
  for (auto& conn : conns_) {
    if (conn) conn->Release();
  }
  later_.clear();
  if (report_timer_ != nullptr) {
    uv_close(reinterpret_cast<uv_handle_t*>(report_timer_),
             [](uv_handle_t* handle) { delete reinterpret_cast<uv_timer_t*>(handle); });
    report_timer_ = nullptr;
  }
}

void PostgresOrigin::Watch(Conn& conn, int events) {
  // libpq may move to another socket while connecting (another host or address).
  const int fd = PQsocket(conn.pg);
  if (fd != conn.fd && fd >= 0) {
    uv_poll_stop(conn.poll);
    uv_close(reinterpret_cast<uv_handle_t*>(conn.poll),
             [](uv_handle_t* handle) { delete reinterpret_cast<uv_poll_t*>(handle); });
    conn.poll = new uv_poll_t;
    uv_poll_init_socket(loop(), conn.poll, fd);
    conn.poll->data = &conn;
    conn.fd = fd;
  }
  uv_poll_start(conn.poll, events, OnPoll);
}

void PostgresOrigin::OnPoll(uv_poll_t* poll, int /*status*/, int /*events*/) {
  // On a poll error, let libpq try its I/O and see the socket error itself.
  auto* conn = static_cast<Conn*>(poll->data);
  conn->owner->Drive(*conn);
}

void PostgresOrigin::Fail(Conn& conn, const std::string& reason) {
  const bool opening =
      conn.phase == Conn::Phase::kConnecting || conn.phase == Conn::Phase::kPreparing;
  const ConnRef ref = conn.ref;
  conn.Release();
  if (opening) {
    ConnectDone(ref, false, reason);
  } else {
    ConnectionLost(ref, reason);
  }
}

void PostgresOrigin::Drive(Conn& conn) {
  if (conn.phase == Conn::Phase::kConnecting) {
    switch (PQconnectPoll(conn.pg)) {
      case PGRES_POLLING_FAILED:
        Fail(conn, TrimmedError(PQerrorMessage(conn.pg)));
        return;
      case PGRES_POLLING_READING:
        Watch(conn, UV_READABLE);
        return;
      case PGRES_POLLING_WRITING:
        Watch(conn, UV_WRITABLE);
        return;
      default:
        break;  // PGRES_POLLING_OK: connected
    }
    if (PQsendPrepare(conn.pg, kStatementName, target_.query.c_str(), 0, nullptr) == 0) {
      Fail(conn, TrimmedError(PQerrorMessage(conn.pg)));
      return;
    }
    conn.phase = Conn::Phase::kPreparing;
    Watch(conn, UV_READABLE | (PQflush(conn.pg) == 1 ? UV_WRITABLE : 0));
    return;
  }
  // Writes first: a command may still be partly in libpq's buffer.
  const int flushed = PQflush(conn.pg);
  if (flushed < 0 || PQconsumeInput(conn.pg) == 0) {
    Fail(conn, TrimmedError(PQerrorMessage(conn.pg)));
    return;
  }
  if (conn.phase == Conn::Phase::kIdle) {
    // Nothing is expected: this is the server closing the connection, or a notice.
    if (PQstatus(conn.pg) == CONNECTION_BAD) Fail(conn, "connection closed");
    return;
  }
  while (PQisBusy(conn.pg) == 0) {
    PGresult* res = PQgetResult(conn.pg);
    if (res == nullptr) break;  // the command is complete
    if (conn.first == nullptr) {
      conn.first = res;
    } else {
      PQclear(res);
    }
  }
  if (PQisBusy(conn.pg) != 0) {
    Watch(conn, UV_READABLE | (flushed == 1 ? UV_WRITABLE : 0));
    return;
  }
  PGresult* res = conn.first;
  conn.first = nullptr;
  const ConnRef ref = conn.ref;
  if (conn.phase == Conn::Phase::kPreparing) {
    const bool prepared = res != nullptr && PQresultStatus(res) == PGRES_COMMAND_OK;
    std::string reason =
        "query does not prepare: " + TrimmedError(res ? PQresultErrorMessage(res) : nullptr);
    PQclear(res);
    if (!prepared) {
      Fail(conn, reason);
      return;
    }
    conn.phase = Conn::Phase::kIdle;
    Watch(conn, UV_READABLE);
    ConnectDone(ref, true, "");  // last: the base may send a request on conn at once
    return;
  }
  FetchResult result =
      res ? MapResult(res)
          : FetchResult::Error(FetchErrorKind::kProtocol, "origin protocol error: no result");
  PQclear(res);
  conn.phase = Conn::Phase::kIdle;
  Watch(conn, UV_READABLE);
  ReplyDone(ref, std::move(result));  // last: the base may send the next request on conn
}

}  // namespace flightcache::origin
