// redis_invalidation.cc — RedisInvalidationListener (see redis_invalidation.h).
//
// Lifetimes follow redis_origin.cc: a context we stop using is detached first (ac->data and
// its connect/disconnect callbacks cleared), and every callback starts by checking ac->data,
// so the NULL-reply callbacks hiredis runs while freeing a context do nothing. In hiredis
// 0.14, a reply to a command queued before SUBSCRIBE (AUTH, CLIENT ID) still reaches that
// command's callback; every pub/sub frame afterwards reaches OnMessage.
#include "origin/redis_invalidation.h"

#include <hiredis/async.h>
#include <hiredis/hiredis.h>
#include <uv.h>

#include <algorithm>
#include <string_view>

#include "origin/hiredis_uv.h"

namespace flightcache::origin {
namespace {

constexpr int kBackoffMinMs = 50;
constexpr int kBackoffMaxMs = 2000;
constexpr char kChannel[] = "__redis__:invalidate";

std::string ErrorText(const redisAsyncContext* ac) {
  if (ac->c.err != 0 && ac->c.errstr[0] != '\0') return ac->c.errstr;
  return "connection closed";
}

bool IsText(const redisReply* r, std::string_view text) {
  return r != nullptr && (r->type == REDIS_REPLY_STRING || r->type == REDIS_REPLY_STATUS) &&
         std::string_view(r->str, r->len) == text;
}

}  // namespace

RedisInvalidationListener::RedisInvalidationListener(uv_loop_t* loop, OriginUrl url,
                                                     int connect_timeout_ms,
                                                     std::string bcast_prefix,
                                                     InvalidationHandler handler,
                                                     std::function<void()> on_state)
    : loop_(loop),
      url_(std::move(url)),
      connect_timeout_ms_(std::max(connect_timeout_ms, 1)),
      bcast_prefix_(std::move(bcast_prefix)),
      handler_(std::move(handler)),
      on_state_(std::move(on_state)) {
  timer_ = new uv_timer_t;
  uv_timer_init(loop_, timer_);
  timer_->data = this;
  stats_.state.store(state_);
}

RedisInvalidationListener::~RedisInvalidationListener() { Close(); }

void RedisInvalidationListener::Start() {
  if (!closed_ && ac_ == nullptr) Connect();
}

void RedisInvalidationListener::Nudge() {
  if (closed_ || state_ != FeedState::kDown) return;
  uv_timer_stop(timer_);
  Connect();
}

void RedisInvalidationListener::GiveUp(const std::string& why) {
  if (closed_ || state_ == FeedState::kUnsupported) return;
  last_error_ = why;
  Detach(true);
  uv_timer_stop(timer_);
  SetState(FeedState::kUnsupported);
}

void RedisInvalidationListener::Close() {
  if (closed_) return;
  closed_ = true;
  Detach(true);
  uv_close(reinterpret_cast<uv_handle_t*>(timer_),
           [](uv_handle_t* handle) { delete reinterpret_cast<uv_timer_t*>(handle); });
  timer_ = nullptr;
}

void RedisInvalidationListener::SetState(FeedState state) {
  state_ = state;
  stats_.state.store(state, std::memory_order_relaxed);
  if (on_state_) on_state_();
}

void RedisInvalidationListener::Connect() {
  redisAsyncContext* ac = url_.is_unix ? redisAsyncConnectUnix(url_.unix_path.c_str())
                                       : redisAsyncConnect(url_.host.c_str(), url_.port);
  std::string failure;
  if (ac == nullptr) {
    failure = "out of memory";
  } else if (ac->err != 0) {
    failure = ac->errstr;
    redisAsyncFree(ac);
  } else if (!AttachToLoop(ac, loop_)) {
    failure = "cannot watch the origin socket";
    redisAsyncFree(ac);
  }
  state_ = FeedState::kConnecting;
  stats_.state.store(state_, std::memory_order_relaxed);
  if (!failure.empty()) {
    Lost(failure, false);
    return;
  }
  ac->data = this;
  ac_ = ac;
  client_id_ = -1;
  redisAsyncSetConnectCallback(ac, OnConnect);
  redisAsyncSetDisconnectCallback(ac, OnDisconnect);
  if (!url_.password.empty()) {
    const char* argv[3] = {"AUTH", url_.user.c_str(), url_.password.c_str()};
    size_t lens[3] = {4, url_.user.size(), url_.password.size()};
    if (url_.user.empty()) {
      argv[1] = argv[2];
      lens[1] = lens[2];
    }
    redisAsyncCommandArgv(ac, OnAuthReply, nullptr, url_.user.empty() ? 2 : 3, argv, lens);
  }
  {
    const char* argv[2] = {"CLIENT", "ID"};
    size_t lens[2] = {6, 2};
    redisAsyncCommandArgv(ac, OnClientIdReply, nullptr, 2, argv, lens);
  }
  uv_timer_start(timer_, OnTimer, static_cast<uint64_t>(connect_timeout_ms_), 0);
}

void RedisInvalidationListener::Subscribe() {
  if (!bcast_prefix_.empty()) {
    // Redirected to itself: once subscribed below, Redis delivers the broadcasts here as
    // __redis__:invalidate messages. Changes between this and SUBSCRIBE are not delivered, but
    // the feed is not up yet then, so nothing read meanwhile fills the store.
    const std::string id = std::to_string(client_id_);
    const char* argv[8] = {"CLIENT",   "TRACKING", "ON",     "REDIRECT",
                           id.c_str(), "BCAST",    "PREFIX", bcast_prefix_.c_str()};
    size_t lens[8] = {6, 8, 2, 8, id.size(), 5, 6, bcast_prefix_.size()};
    redisAsyncCommandArgv(ac_, OnBcastReply, nullptr, 8, argv, lens);
  }
  const char* argv[2] = {"SUBSCRIBE", kChannel};
  size_t lens[2] = {9, sizeof(kChannel) - 1};
  redisAsyncCommandArgv(ac_, OnMessage, nullptr, 2, argv, lens);
}

void RedisInvalidationListener::Detach(bool free_context) {
  redisAsyncContext* ac = ac_;
  if (ac == nullptr) return;
  ac->data = nullptr;
  ac->onConnect = nullptr;
  ac->onDisconnect = nullptr;
  ac_ = nullptr;
  // Deferred by hiredis when called inside one of this context's callbacks.
  if (free_context) redisAsyncFree(ac);
}

void RedisInvalidationListener::Up() {
  uv_timer_stop(timer_);
  failures_ = 0;
  ++epoch_;
  stats_.connects.fetch_add(1, std::memory_order_relaxed);
  SetState(FeedState::kUp);
}

void RedisInvalidationListener::Lost(const std::string& reason, bool free_context) {
  const bool was_up = state_ == FeedState::kUp;
  last_error_ = reason;
  Detach(free_context);
  if (closed_) return;
  ++failures_;
  int delay = kBackoffMinMs;
  for (int i = 1; i < failures_ && delay < kBackoffMaxMs; ++i) delay *= 2;
  uv_timer_start(timer_, OnTimer, static_cast<uint64_t>(std::min(delay, kBackoffMaxMs)), 0);
  if (was_up) stats_.losses.fetch_add(1, std::memory_order_relaxed);
  SetState(FeedState::kDown);
  // Changes made while nobody listened were never heard: everything from this origin goes.
  if (was_up && handler_.all) handler_.all();
}

void RedisInvalidationListener::HandlePayload(const void* payload_ptr) {
  const auto* payload = static_cast<const redisReply*>(payload_ptr);
  if (payload == nullptr || payload->type == REDIS_REPLY_NIL) {
    stats_.flushes.fetch_add(1, std::memory_order_relaxed);
    if (handler_.all) handler_.all();
    return;
  }
  auto one = [this](const redisReply* key) {
    if (key->type != REDIS_REPLY_STRING && key->type != REDIS_REPLY_STATUS) return;
    stats_.keys.fetch_add(1, std::memory_order_relaxed);
    if (handler_.key) handler_.key(std::string_view(key->str, key->len));
  };
  if (payload->type == REDIS_REPLY_ARRAY) {
    for (size_t i = 0; i < payload->elements; ++i) one(payload->element[i]);
  } else {
    one(payload);
  }
}

// ---- hiredis and uv callbacks ------------------------------------------------------------

void RedisInvalidationListener::OnConnect(const redisAsyncContext* ac, int status) {
  auto* self = static_cast<RedisInvalidationListener*>(ac->data);
  if (self == nullptr) return;
  if (status != REDIS_OK) {
    self->Lost(ErrorText(ac), false);  // hiredis frees the context after this returns
    return;
  }
  redisEnableKeepAlive(&const_cast<redisAsyncContext*>(ac)->c);
}

void RedisInvalidationListener::OnDisconnect(const redisAsyncContext* ac, int status) {
  auto* self = static_cast<RedisInvalidationListener*>(ac->data);
  if (self == nullptr) return;
  self->Lost(status == REDIS_OK ? "connection closed" : ErrorText(ac), false);
}

void RedisInvalidationListener::OnAuthReply(redisAsyncContext* ac, void* reply_ptr, void*) {
  auto* self = static_cast<RedisInvalidationListener*>(ac->data);
  auto* reply = static_cast<redisReply*>(reply_ptr);
  if (self == nullptr || reply == nullptr) return;  // a NULL reply: the disconnect follows
  if (reply->type == REDIS_REPLY_ERROR) {
    self->Lost("AUTH failed: " + std::string(reply->str, reply->len), true);
  }
}

void RedisInvalidationListener::OnClientIdReply(redisAsyncContext* ac, void* reply_ptr, void*) {
  auto* self = static_cast<RedisInvalidationListener*>(ac->data);
  auto* reply = static_cast<redisReply*>(reply_ptr);
  if (self == nullptr || reply == nullptr) return;
  if (reply->type == REDIS_REPLY_INTEGER) {
    self->client_id_ = reply->integer;
    self->Subscribe();
    return;
  }
  self->GiveUp("CLIENT ID: " + (reply->type == REDIS_REPLY_ERROR
                                    ? std::string(reply->str, reply->len)
                                    : std::string("not an integer")));
}

void RedisInvalidationListener::OnBcastReply(redisAsyncContext* ac, void* reply_ptr, void*) {
  auto* self = static_cast<RedisInvalidationListener*>(ac->data);
  auto* reply = static_cast<redisReply*>(reply_ptr);
  if (self == nullptr || reply == nullptr || reply->type != REDIS_REPLY_ERROR) return;
  // The origin cannot track (an older Redis): values fill on TTLs alone from now on.
  self->GiveUp("CLIENT TRACKING: " + std::string(reply->str, reply->len));
}

void RedisInvalidationListener::OnMessage(redisAsyncContext* ac, void* reply_ptr, void*) {
  auto* self = static_cast<RedisInvalidationListener*>(ac->data);
  auto* reply = static_cast<redisReply*>(reply_ptr);
  if (self == nullptr || reply == nullptr) return;
  if (reply->type != REDIS_REPLY_ARRAY || reply->elements < 3) {
    if (reply->type == REDIS_REPLY_ERROR) {
      self->GiveUp("SUBSCRIBE: " + std::string(reply->str, reply->len));
    }
    return;
  }
  const redisReply* kind = reply->element[0];
  if (IsText(kind, "subscribe")) {
    if (self->client_id_ >= 0 && self->state_ != FeedState::kUp) self->Up();
  } else if (IsText(kind, "message") && IsText(reply->element[1], kChannel)) {
    self->HandlePayload(reply->element[2]);
  }
}

void RedisInvalidationListener::OnTimer(uv_timer_t* timer) {
  auto* self = static_cast<RedisInvalidationListener*>(timer->data);
  if (self->state_ == FeedState::kConnecting && self->ac_ != nullptr) {
    self->Lost("connect timeout after " + std::to_string(self->connect_timeout_ms_) + " ms", true);
  } else if (self->state_ == FeedState::kDown) {
    self->Connect();
  }
}

}  // namespace flightcache::origin
