// postgres_listener.cc — PostgresListener and the NOTIFY payload format (postgres_listener.h).
//
// The poll's memory is released in its close callback; it is closed (which stops it at once)
// before PQfinish closes the socket under it.
#include "origin/postgres_listener.h"

#include <libpq-fe.h>
#include <uv.h>

#include <algorithm>

namespace flightcache::origin {
namespace {

constexpr int kBackoffMinMs = 50;
constexpr int kBackoffMaxMs = 2000;
constexpr int kMinConnectDeadlineMs = 1000;

std::string PqError(const PGconn* conn) {
  std::string text = conn ? PQerrorMessage(conn) : "out of memory";
  while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.pop_back();
  return text.empty() ? "connection lost" : text;
}

void AppendUtf8(uint32_t cp, std::string* out) {
  if (cp < 0x80) {
    out->push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out->push_back(static_cast<char>(0xC0 | (cp >> 6)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    out->push_back(static_cast<char>(0xE0 | (cp >> 12)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else {
    out->push_back(static_cast<char>(0xF0 | (cp >> 18)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }
}

// Four hex digits at text[at..]; false when they are not.
bool Hex4(std::string_view text, size_t at, uint32_t* out) {
  if (at + 4 > text.size()) return false;
  uint32_t v = 0;
  for (size_t i = at; i < at + 4; ++i) {
    const char c = text[i];
    v <<= 4;
    if (c >= '0' && c <= '9') {
      v |= static_cast<uint32_t>(c - '0');
    } else if (c >= 'a' && c <= 'f') {
      v |= static_cast<uint32_t>(c - 'a' + 10);
    } else if (c >= 'A' && c <= 'F') {
      v |= static_cast<uint32_t>(c - 'A' + 10);
    } else {
      return false;
    }
  }
  *out = v;
  return true;
}

// Parses a JSON array of strings; false (and *keys unspecified) when text is not one.
bool ParseJsonStringArray(std::string_view text, std::vector<std::string>* keys) {
  size_t i = 0;
  auto skip = [&] {
    while (i < text.size() &&
           (text[i] == ' ' || text[i] == '\t' || text[i] == '\n' || text[i] == '\r')) {
      ++i;
    }
  };
  skip();
  if (i == text.size() || text[i++] != '[') return false;
  skip();
  if (i < text.size() && text[i] == ']') {
    ++i;
    skip();
    return i == text.size();
  }
  while (true) {
    skip();
    if (i == text.size() || text[i++] != '"') return false;
    std::string key;
    while (true) {
      if (i == text.size()) return false;
      const char c = text[i++];
      if (c == '"') break;
      if (c != '\\') {
        key.push_back(c);
        continue;
      }
      if (i == text.size()) return false;
      const char e = text[i++];
      switch (e) {
        case '"':
        case '\\':
        case '/':
          key.push_back(e);
          break;
        case 'b':
          key.push_back('\b');
          break;
        case 'f':
          key.push_back('\f');
          break;
        case 'n':
          key.push_back('\n');
          break;
        case 'r':
          key.push_back('\r');
          break;
        case 't':
          key.push_back('\t');
          break;
        case 'u': {
          uint32_t cp = 0;
          if (!Hex4(text, i, &cp)) return false;
          i += 4;
          if (cp >= 0xD800 && cp < 0xDC00) {  // a surrogate pair
            uint32_t low = 0;
            if (i + 1 >= text.size() || text[i] != '\\' || text[i + 1] != 'u' ||
                !Hex4(text, i + 2, &low) || low < 0xDC00 || low >= 0xE000) {
              return false;
            }
            i += 6;
            cp = 0x10000 + ((cp - 0xD800) << 10) + (low - 0xDC00);
          }
          AppendUtf8(cp, &key);
          break;
        }
        default:
          return false;
      }
    }
    keys->push_back(std::move(key));
    skip();
    if (i == text.size()) return false;
    const char c = text[i++];
    if (c == ']') break;
    if (c != ',') return false;
  }
  skip();
  return i == text.size();
}

}  // namespace

std::vector<std::string> NotifyPayloadKeys(std::string_view payload) {
  std::vector<std::string> keys;
  if (payload.empty()) return keys;
  if (ParseJsonStringArray(payload, &keys)) return keys;
  keys.assign(1, std::string(payload));
  return keys;
}

PostgresListener::PostgresListener(uv_loop_t* loop, std::string conninfo, std::string channel,
                                   InvalidationHandler handler, int keepalive_ms)
    : loop_(loop),
      conninfo_(std::move(conninfo)),
      channel_(std::move(channel)),
      handler_(std::move(handler)),
      keepalive_ms_(std::max(keepalive_ms, 0)) {
  timer_ = new uv_timer_t;
  uv_timer_init(loop_, timer_);
  timer_->data = this;
  stats_.state.store(state_);
}

PostgresListener::~PostgresListener() { Close(); }

void PostgresListener::Start() {
  if (!closed_ && conn_ == nullptr) Connect();
}

void PostgresListener::Close() {
  if (closed_) return;
  closed_ = true;
  Detach();
  uv_close(reinterpret_cast<uv_handle_t*>(timer_),
           [](uv_handle_t* handle) { delete reinterpret_cast<uv_timer_t*>(handle); });
  timer_ = nullptr;
}

void PostgresListener::SetState(FeedState state) {
  state_ = state;
  stats_.state.store(state, std::memory_order_relaxed);
}

void PostgresListener::Detach() {
  if (poll_ != nullptr) {
    uv_close(reinterpret_cast<uv_handle_t*>(poll_),
             [](uv_handle_t* handle) { delete reinterpret_cast<uv_poll_t*>(handle); });
    poll_ = nullptr;
  }
  if (conn_ != nullptr) {
    PQfinish(conn_);
    conn_ = nullptr;
  }
  phase_ = Phase::kNone;
}

void PostgresListener::Connect() {
  SetState(FeedState::kConnecting);
  // The URL is expanded in place of dbname; its own application_name, if any, wins.
  const std::string name = ("flightcache-listen:" + channel_).substr(0, 63);
  const char* keywords[] = {"fallback_application_name", "dbname", nullptr};
  const char* values[] = {name.c_str(), conninfo_.c_str(), nullptr};
  conn_ = PQconnectStartParams(keywords, values, 1);
  if (conn_ == nullptr || PQstatus(conn_) == CONNECTION_BAD || PQsocket(conn_) < 0) {
    Lost(PqError(conn_));
    return;
  }
  PQsetnonblocking(conn_, 1);
  poll_ = new uv_poll_t;
  if (uv_poll_init(loop_, poll_, PQsocket(conn_)) != 0) {
    delete poll_;
    poll_ = nullptr;
    Lost("cannot watch the PostgreSQL socket");
    return;
  }
  poll_->data = this;
  phase_ = Phase::kConnecting;
  if (keepalive_ms_ > 0) {
    const int deadline = std::max(2 * keepalive_ms_, kMinConnectDeadlineMs);
    uv_timer_start(timer_, OnTimer, static_cast<uint64_t>(deadline), 0);
  }
  // A connection to one host keeps its socket through PQconnectPoll (our URLs name one).
  Watch(UV_WRITABLE);
}

void PostgresListener::Watch(int events) {
  if (poll_ != nullptr) uv_poll_start(poll_, events, OnPoll);
}

void PostgresListener::Lost(const std::string& reason) {
  const bool was_up = state_ == FeedState::kUp;
  last_error_ = reason;
  Detach();
  if (closed_) return;
  ++failures_;
  int delay = kBackoffMinMs;
  for (int i = 1; i < failures_ && delay < kBackoffMaxMs; ++i) delay *= 2;
  uv_timer_start(timer_, OnTimer, static_cast<uint64_t>(std::min(delay, kBackoffMaxMs)), 0);
  SetState(FeedState::kDown);
  if (was_up) {
    was_lost_ = true;
    stats_.losses.fetch_add(1, std::memory_order_relaxed);
    // Notifications sent while nobody listens are lost: everything from this route goes.
    if (handler_.all) handler_.all();
  }
}

void PostgresListener::Drive() {
  if (phase_ == Phase::kConnecting) {
    switch (PQconnectPoll(conn_)) {
      case PGRES_POLLING_READING:
        Watch(UV_READABLE);
        return;
      case PGRES_POLLING_WRITING:
        Watch(UV_WRITABLE);
        return;
      case PGRES_POLLING_FAILED:
        Lost(PqError(conn_));
        return;
      default:
        break;  // PGRES_POLLING_OK
    }
    char* quoted = PQescapeIdentifier(conn_, channel_.data(), channel_.size());
    if (quoted == nullptr) {
      Lost(PqError(conn_));
      return;
    }
    const std::string listen = std::string("LISTEN ") + quoted;
    PQfreemem(quoted);
    command_error_.clear();
    if (PQsendQuery(conn_, listen.c_str()) == 0) {
      Lost(PqError(conn_));
      return;
    }
    phase_ = Phase::kListenSent;
  }
  if (PQflush(conn_) == 1) {
    Watch(UV_READABLE | UV_WRITABLE);
  } else {
    Watch(UV_READABLE);
  }
  if (PQconsumeInput(conn_) == 0) {
    Lost(PqError(conn_));
    return;
  }
  if (phase_ == Phase::kListenSent) {
    std::string why;
    const Answer answer = ReadAnswer(&why);
    if (answer == Answer::kPending) return;
    if (answer == Answer::kFailed) {
      Lost("LISTEN failed: " + why);
      return;
    }
    phase_ = Phase::kListening;
    ArmKeepalive();
    failures_ = 0;
    ++epoch_;
    stats_.connects.fetch_add(1, std::memory_order_relaxed);
    SetState(FeedState::kUp);
    // Back after a loss: what changed before this LISTEN was missed; drop it all once more.
    if (was_lost_ && handler_.all) handler_.all();
  } else if (phase_ == Phase::kPinging) {
    std::string why;
    const Answer answer = ReadAnswer(&why);
    if (answer == Answer::kFailed) {
      Lost("keepalive failed: " + why);
      return;
    }
    if (answer == Answer::kOk) {
      phase_ = Phase::kListening;
      ArmKeepalive();
    }
  }
  while (PGnotify* notify = PQnotifies(conn_)) {
    Deliver(notify->extra != nullptr ? notify->extra : "");
    PQfreemem(notify);
    if (conn_ == nullptr) return;
  }
  if (PQstatus(conn_) == CONNECTION_BAD) Lost(PqError(conn_));
}

PostgresListener::Answer PostgresListener::ReadAnswer(std::string* why) {
  // PQgetResult would block while libpq still waits for input: ask PQisBusy before each.
  while (PQisBusy(conn_) == 0) {
    PGresult* result = PQgetResult(conn_);
    if (result == nullptr) {
      *why = command_error_;
      return command_error_.empty() ? Answer::kOk : Answer::kFailed;
    }
    const ExecStatusType status = PQresultStatus(result);
    if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK) {
      command_error_ = PQresultErrorMessage(result);
      while (!command_error_.empty() &&
             (command_error_.back() == '\n' || command_error_.back() == ' ')) {
        command_error_.pop_back();
      }
      if (command_error_.empty()) command_error_ = "error";
    }
    PQclear(result);
  }
  return Answer::kPending;  // the rest of the answer is still on its way
}

void PostgresListener::ArmKeepalive() {
  if (keepalive_ms_ > 0) {
    uv_timer_start(timer_, OnTimer, static_cast<uint64_t>(keepalive_ms_), 0);
  } else {
    uv_timer_stop(timer_);
  }
}

void PostgresListener::SendKeepalive() {
  command_error_.clear();
  if (PQsendQuery(conn_, "SELECT 1") == 0) {
    Lost(PqError(conn_));
    return;
  }
  phase_ = Phase::kPinging;
  uv_timer_start(timer_, OnTimer, static_cast<uint64_t>(keepalive_ms_), 0);
  Drive();  // flushes the query and watches for its answer
}

void PostgresListener::Deliver(std::string_view payload) {
  std::vector<std::string> keys = NotifyPayloadKeys(payload);
  if (keys.empty()) {
    stats_.flushes.fetch_add(1, std::memory_order_relaxed);
    if (handler_.all) handler_.all();
    return;
  }
  for (const std::string& key : keys) {
    stats_.keys.fetch_add(1, std::memory_order_relaxed);
    if (handler_.key) handler_.key(key);
  }
}

void PostgresListener::OnPoll(uv_poll_t* poll, int /*status*/, int /*events*/) {
  auto* self = static_cast<PostgresListener*>(poll->data);
  // On a poll error libpq's next read or write sees the socket's error itself.
  if (self->conn_ != nullptr) self->Drive();
}

void PostgresListener::OnTimer(uv_timer_t* timer) {
  auto* self = static_cast<PostgresListener*>(timer->data);
  if (self->closed_) return;
  switch (self->phase_) {
    case Phase::kNone:
      if (self->state_ == FeedState::kDown) self->Connect();
      break;
    case Phase::kConnecting:
    case Phase::kListenSent:
      self->Lost("no connection within " +
                 std::to_string(std::max(2 * self->keepalive_ms_, kMinConnectDeadlineMs)) + " ms");
      break;
    case Phase::kListening:
      self->SendKeepalive();
      break;
    case Phase::kPinging:
      self->Lost("no answer to the keepalive within " + std::to_string(self->keepalive_ms_) +
                 " ms");
      break;
  }
}

}  // namespace flightcache::origin
