// redis_origin.cc — RedisOrigin: a pool of hiredis async connections driven by libuv.
//
// Lifetimes (hiredis 0.14 semantics): a context is freed by hiredis itself after a connect
// failure or an I/O / protocol error, running every pending reply callback with a NULL reply
// first; redisAsyncFree() called inside a reply callback is deferred until it returns. So every
// context we stop using is first "detached": ac->data, onConnect and onDisconnect are cleared,
// and every callback starts with `if (ac->data == nullptr) return;`. Fetches are failed from
// our own tables (slot.inflight, pending_), never by waiting for hiredis' NULL callbacks, so
// the NULL callbacks that redisAsyncFree() runs for a dropped context never answer twice.
// hiredis is attached to libuv with our own adapter (hiredis_uv.h).
// User callbacks run last in each handler (RunCompletions), so one may call Fetch, Close or
// even destroy the origin without the handler touching freed state afterwards.
#include "origin/redis_origin.h"

#include <hiredis/async.h>
#include <hiredis/hiredis.h>
#include <uv.h>

#include <algorithm>
#include <cassert>
#include <cstdint>

#include "origin/hiredis_uv.h"
#include "origin/pool.h"
#include "origin/redis_invalidation.h"

namespace flightcache::origin {
namespace {

constexpr int kBackoffMinMs = 50;
constexpr int kBackoffMaxMs = 2000;
// A handshake that takes longer than this is treated as a failed attempt. Not shorter than
// the fetch timeout: a slow origin is not a dead one.
constexpr int kMinConnectTimeoutMs = 1000;

// privdata tags for the handshake commands.
void* const kAuthTag = reinterpret_cast<void*>(uintptr_t{1});
void* const kSelectTag = reinterpret_cast<void*>(uintptr_t{2});
// privdata tags for CLIENT TRACKING.
void* const kTrackingOffTag = reinterpret_cast<void*>(uintptr_t{3});
void* const kTrackingOnTag = reinterpret_cast<void*>(uintptr_t{4});

uv_timer_t* NewTimer(uv_loop_t* loop, void* data) {
  auto* timer = new uv_timer_t;
  uv_timer_init(loop, timer);
  timer->data = data;
  return timer;
}

// Timer memory is released only in the close callback, after the loop is done with it.
void CloseTimer(uv_timer_t* timer) {
  if (timer == nullptr) return;
  uv_close(reinterpret_cast<uv_handle_t*>(timer),
           [](uv_handle_t* handle) { delete reinterpret_cast<uv_timer_t*>(handle); });
}

std::string ErrorText(const redisAsyncContext* ac) {
  // onConnect runs before hiredis copies c.err into ac->err, so read the inner context.
  if (ac->c.err != 0 && ac->c.errstr[0] != '\0') return ac->c.errstr;
  return "connection closed";
}

FetchResult MapReply(const redisReply& reply) {
  switch (reply.type) {
    case REDIS_REPLY_NIL:
      return FetchResult::NotFound();
    case REDIS_REPLY_STRING:
#ifdef REDIS_REPLY_VERB
    case REDIS_REPLY_VERB:
#endif
      return FetchResult::Value(std::string(reply.str, reply.len));
    case REDIS_REPLY_ERROR:
      return FetchResult::Error(FetchErrorKind::kErrorReply,
                                "origin error: " + std::string(reply.str, reply.len));
    default:
      return FetchResult::Error(
          FetchErrorKind::kProtocol,
          "origin protocol error: GET answered with reply type " + std::to_string(reply.type));
  }
}

}  // namespace

RedisOrigin::RedisOrigin(uv_loop_t* loop, OriginUrl url, int connections, int timeout_ms)
    : loop_(loop),
      url_(std::move(url)),
      timeout_ms_(std::max(timeout_ms, 1)),
      connect_timeout_ms_(std::max(timeout_ms_, kMinConnectTimeoutMs)) {
  deadline_timer_ = NewTimer(loop_, this);
  deliver_timer_ = NewTimer(loop_, this);
  int count = std::max(connections, 1);
  for (int i = 0; i < count; ++i) {
    auto slot = std::make_unique<Slot>();
    slot->owner = this;
    slot->index = i;
    slot->timer = NewTimer(loop_, slot.get());
    slots_.push_back(std::move(slot));
  }
  Completions done;  // stays empty: nothing can be pending before the constructor returns
  for (auto& slot : slots_) StartConnect(*slot, &done);
}

RedisOrigin::~RedisOrigin() { Close(); }

void RedisOrigin::RunCompletions(Completions done) {
  for (auto& [cb, result] : done) cb(std::move(result));
}

void RedisOrigin::Fetch(std::string_view key, FetchCallback cb) {
  if (closed_) {
    PostResultLater(
        loop_, std::move(cb),
        FetchResult::Error(FetchErrorKind::kUnreachable, "origin unreachable: origin closed"));
    return;
  }
  ++stats_.fetches;
  uint64_t id = next_id_++;
  Slot* slot = PickReadySlot();
  if (slot == nullptr) {
    if (Hopeless()) {
      DeliverSoon(std::move(cb), FetchResult::Error(FetchErrorKind::kUnreachable,
                                                    "origin unreachable: " + last_error_));
      return;
    }
    if (max_queue_ > 0 && pending_.size() >= InflightCount() + static_cast<size_t>(max_queue_)) {
      // max_queue fetches already wait: refuse this one at once; it is never stored.
      ++stats_.busy;
      DeliverSoon(std::move(cb), FetchResult::Error(FetchErrorKind::kBusy, "origin busy"));
      return;
    }
    // Some connection is still coming up, or the in-flight limit is reached: wait, bounded by
    // this fetch's deadline.
    pending_.emplace(id, Pending{std::move(cb), std::string(key), timeout_ms_, -1});
    queued_.push_back(id);
    AddDeadline(id);
    return;
  }
  if (!SendGet(*slot, id, key)) {
    DeliverSoon(std::move(cb), FetchResult::Error(FetchErrorKind::kUnreachable,
                                                  "origin unreachable: cannot queue command"));
    return;
  }
  pending_.emplace(
      id, Pending{std::move(cb), std::string(key), timeout_ms_, slot->index, SendEpoch(*slot)});
  AddDeadline(id);
}

void RedisOrigin::SetLimits(int max_inflight, int max_queue) {
  max_inflight_ = std::max(max_inflight, 0);
  max_queue_ = std::max(max_queue, 0);
  SendQueued();  // a higher limit lets waiting fetches go now
}

size_t RedisOrigin::InflightCount() const {
  size_t count = 0;
  for (const auto& slot : slots_) count += slot->inflight.size();
  return count;
}

void RedisOrigin::EnableTracking(std::string bcast_prefix, InvalidationHandler handler) {
  if (tracking_ || closed_) return;
  bcast_prefix_ = std::move(bcast_prefix);
  tracking_ = std::make_unique<RedisInvalidationListener>(loop_, url_, connect_timeout_ms_,
                                                          bcast_prefix_, std::move(handler),
                                                          [this]() { OnTrackingState(); });
  tracking_->Start();
}

std::string RedisOrigin::ProtectionInfo() const {
  return tracking_ ? tracking_->stats().InfoFields("tracking") : std::string();
}

void RedisOrigin::OnTrackingState() {
  if (closed_) return;
  if (tracking_->state() == FeedState::kUp) {
    for (auto& slot : slots_) EnsureTracked(*slot);
  }
  SendQueued();  // fetches that waited for the feed's attempt go now
}

uint64_t RedisOrigin::SendEpoch(const Slot& slot) const {
  if (!tracking_ || bcast_prefix_.empty()) return slot.tracked_epoch;
  // BCAST lives on the feed connection: a GET sent while it is up reaches the origin after the
  // registration, so any later change to its key is broadcast in this epoch.
  return tracking_->epoch();
}

void RedisOrigin::EnsureTracked(Slot& slot) {
  // A prefix-scoped route registers BCAST PREFIX on the feed connection alone (once per
  // change, not once per fetch connection); the fetch connections track nothing.
  if (!tracking_ || !bcast_prefix_.empty() || tracking_->state() != FeedState::kUp ||
      slot.state != SlotState::kReady) {
    return;
  }
  const uint64_t epoch = tracking_->epoch();
  if (slot.tracked_epoch == epoch) return;
  if (slot.tracked_epoch != 0) {
    // Tracking is still on with a stale REDIRECT: off first, then on again with the new
    // subscriber's id.
    const char* argv[3] = {"CLIENT", "TRACKING", "OFF"};
    size_t lens[3] = {6, 8, 3};
    redisAsyncCommandArgv(slot.ac, OnTrackingReply, kTrackingOffTag, 3, argv, lens);
  }
  const std::string id = std::to_string(tracking_->client_id());
  const char* argv[5] = {"CLIENT", "TRACKING", "ON", "REDIRECT", id.c_str()};
  size_t lens[5] = {6, 8, 2, 8, id.size()};
  // Every GET sent after this on the connection is tracked: the origin runs them in order.
  if (redisAsyncCommandArgv(slot.ac, OnTrackingReply, kTrackingOnTag, 5, argv, lens) == REDIS_OK) {
    slot.tracked_epoch = epoch;
  }
}

void RedisOrigin::SetTimeoutMs(int timeout_ms) {
  timeout_ms_ = std::max(timeout_ms, 1);
  // Connections already up keep going; the next attempt uses the new handshake limit.
  connect_timeout_ms_ = std::max(timeout_ms_, kMinConnectTimeoutMs);
}

OriginConnectionStats RedisOrigin::ConnectionStats() const {
  return OriginConnectionStats{stats_.connects, stats_.disconnects, stats_.timeout_drops};
}

int RedisOrigin::ConnectedCount() const {
  int count = 0;
  for (const auto& slot : slots_) count += slot->state == SlotState::kReady ? 1 : 0;
  return count;
}

std::string RedisOrigin::Describe() const { return RedactedUrl(url_); }

void RedisOrigin::Close() {
  if (closed_) return;
  closed_ = true;
  if (tracking_) tracking_->Close();
  for (auto& slot : slots_) {
    if (redisAsyncContext* ac = slot->ac; ac != nullptr) {
      ac->data = nullptr;
      ac->onConnect = nullptr;
      ac->onDisconnect = nullptr;
      slot->ac = nullptr;
      // Deferred by hiredis when we are inside one of this context's reply callbacks; its
      // remaining callbacks then see ac->data == nullptr and do nothing.
      redisAsyncFree(ac);
    }
    slot->state = SlotState::kIdle;
    slot->inflight.clear();
    CloseTimer(slot->timer);
    slot->timer = nullptr;
  }
  // Answers already decided go first, then every pending fetch in the order it was made.
  Completions done = std::move(deferred_);
  deferred_.clear();
  std::vector<std::pair<uint64_t, FetchCallback>> left;
  left.reserve(pending_.size());
  for (auto& [id, pending] : pending_) left.emplace_back(id, std::move(pending.cb));
  std::sort(left.begin(), left.end(),
            [](const auto& a, const auto& b) { return a.first < b.first; });
  pending_.clear();
  deadlines_ = {};
  queued_.clear();
  for (auto& [id, cb] : left) {
    Finish(std::move(cb),
           FetchResult::Error(FetchErrorKind::kUnreachable, "origin unreachable: origin closed"),
           &done);
  }
  CloseTimer(deadline_timer_);
  CloseTimer(deliver_timer_);
  deadline_timer_ = nullptr;
  deliver_timer_ = nullptr;
  RunCompletions(std::move(done));
}

void RedisOrigin::StartConnect(Slot& slot, Completions* done) {
  redisAsyncContext* ac = url_.is_unix ? redisAsyncConnectUnix(url_.unix_path.c_str())
                                       : redisAsyncConnect(url_.host.c_str(), url_.port);
  std::string failure;
  if (ac == nullptr) {
    failure = "out of memory";
  } else if (ac->err != 0) {
    failure = ac->errstr;
    redisAsyncFree(ac);  // no callbacks registered and no event hooks yet: frees at once
  } else if (!AttachToLoop(ac, loop_)) {
    failure = "cannot watch the origin socket";
    redisAsyncFree(ac);
  }
  if (!failure.empty()) {
    DropSlot(slot, FetchErrorKind::kUnreachable, failure, false, done);
    return;
  }
  ac->data = &slot;
  slot.ac = ac;
  slot.state = SlotState::kConnecting;
  slot.handshake_pending = 0;
  slot.inflight.clear();
  // Attach first: setting the connect callback arms the write watch that detects the connect.
  redisAsyncSetConnectCallback(ac, OnConnect);
  redisAsyncSetDisconnectCallback(ac, OnDisconnect);
  // The handshake is queued now and written as soon as the socket connects.
  if (!url_.password.empty()) {
    const char* argv[3] = {"AUTH", url_.user.c_str(), url_.password.c_str()};
    size_t lens[3] = {4, url_.user.size(), url_.password.size()};
    if (url_.user.empty()) {
      argv[1] = argv[2];
      lens[1] = lens[2];
    }
    int argc = url_.user.empty() ? 2 : 3;
    if (redisAsyncCommandArgv(ac, OnHandshakeReply, kAuthTag, argc, argv, lens) == REDIS_OK) {
      ++slot.handshake_pending;
    }
  }
  if (url_.db != 0) {
    std::string db = std::to_string(url_.db);
    const char* argv[2] = {"SELECT", db.c_str()};
    size_t lens[2] = {6, db.size()};
    if (redisAsyncCommandArgv(ac, OnHandshakeReply, kSelectTag, 2, argv, lens) == REDIS_OK) {
      ++slot.handshake_pending;
    }
  }
  uv_timer_start(slot.timer, OnSlotTimer, static_cast<uint64_t>(connect_timeout_ms_), 0);
}

void RedisOrigin::MarkReady(Slot& slot) {
  uv_timer_stop(slot.timer);
  slot.state = SlotState::kReady;
  slot.failures = 0;
  slot.tracked_epoch = 0;
  ++stats_.connects;
  if (tracking_) {
    EnsureTracked(slot);
    tracking_->Nudge();  // the origin is back: a lost feed need not wait for its backoff
  }
  SendQueued();  // fetches that waited for a connection go out now
}

void RedisOrigin::SendQueued() {
  while (!queued_.empty()) {
    uint64_t id = queued_.front();
    auto it = pending_.find(id);
    if (it == pending_.end()) {  // timed out while waiting
      queued_.pop_front();
      continue;
    }
    Slot* target = PickReadySlot();
    if (target == nullptr) return;  // the rest wait for the next connection
    queued_.pop_front();
    if (SendGet(*target, id, it->second.key)) {
      it->second.slot = target->index;
      it->second.sent_epoch = SendEpoch(*target);
      continue;
    }
    FetchCallback cb = std::move(it->second.cb);
    pending_.erase(it);
    DeliverSoon(std::move(cb), FetchResult::Error(FetchErrorKind::kUnreachable,
                                                  "origin unreachable: cannot queue command"));
  }
}

void RedisOrigin::DropAfterTimeout(Slot& slot, Completions* done) {
  // The fetches behind the one that timed out would be answered after it, if ever: send them
  // again on another (or the next) connection, ahead of the queue, with their own deadlines.
  // GET is idempotent, so a second send is harmless.
  std::vector<uint64_t> again;
  for (uint64_t id : slot.inflight) {
    auto it = pending_.find(id);
    if (it == pending_.end()) continue;  // timed out as well, or already answered
    it->second.slot = -1;
    again.push_back(id);
  }
  slot.inflight.clear();
  queued_.insert(queued_.begin(), again.begin(), again.end());
  ++stats_.timeout_drops;
  // Frees the context now (we are in a uv timer, not a hiredis callback): hiredis runs each
  // request's callback with a NULL reply, which sees ac->data == nullptr and does nothing.
  DropSlot(slot, FetchErrorKind::kUnreachable,
           "no reply within " + std::to_string(timeout_ms_) + " ms", true, done);
  SendQueued();
}

void RedisOrigin::DropSlot(Slot& slot, FetchErrorKind kind, const std::string& reason,
                           bool free_context, Completions* done) {
  redisAsyncContext* ac = slot.ac;
  bool was_ready = slot.state == SlotState::kReady;
  if (ac != nullptr) {
    ac->data = nullptr;
    ac->onConnect = nullptr;
    ac->onDisconnect = nullptr;
    slot.ac = nullptr;
  }
  slot.state = SlotState::kIdle;
  slot.handshake_pending = 0;
  uv_timer_stop(slot.timer);
  std::string message =
      (kind == FetchErrorKind::kProtocol ? "origin protocol error: " : "origin unreachable: ") +
      reason;
  for (uint64_t id : slot.inflight) {
    auto it = pending_.find(id);
    if (it == pending_.end()) continue;  // already timed out
    FetchCallback cb = std::move(it->second.cb);
    pending_.erase(it);
    Finish(std::move(cb), FetchResult::Error(kind, message), done);
  }
  slot.inflight.clear();
  if (was_ready) {
    ++stats_.disconnects;
  } else {
    ++slot.failures;
    ++stats_.connect_failures;
  }
  last_error_ = reason;
  if (free_context && ac != nullptr) redisAsyncFree(ac);
  if (closed_) return;
  ScheduleReconnect(slot);
  FailQueuedIfHopeless(done);
}

void RedisOrigin::ScheduleReconnect(Slot& slot) {
  int delay = kBackoffMinMs;
  for (int i = 1; i < slot.failures && delay < kBackoffMaxMs; ++i) delay *= 2;
  delay = std::min(delay, kBackoffMaxMs);
  uv_timer_start(slot.timer, OnSlotTimer, static_cast<uint64_t>(delay), 0);
}

bool RedisOrigin::Hopeless() const {
  for (const auto& slot : slots_) {
    if (slot->state == SlotState::kReady || slot->failures == 0) return false;
  }
  return true;
}

void RedisOrigin::FailQueuedIfHopeless(Completions* done) {
  if (!Hopeless()) return;
  while (!queued_.empty()) {
    uint64_t id = queued_.front();
    queued_.pop_front();
    auto it = pending_.find(id);
    if (it == pending_.end()) continue;
    FetchCallback cb = std::move(it->second.cb);
    pending_.erase(it);
    Finish(std::move(cb),
           FetchResult::Error(FetchErrorKind::kUnreachable, "origin unreachable: " + last_error_),
           done);
  }
}

RedisOrigin::Slot* RedisOrigin::PickReadySlot() {
  if (tracking_ && tracking_->state() == FeedState::kConnecting) return nullptr;
  if (max_inflight_ > 0 && InflightCount() >= static_cast<size_t>(max_inflight_)) return nullptr;
  Slot* best = nullptr;
  size_t count = slots_.size();
  for (size_t k = 0; k < count; ++k) {
    Slot& slot = *slots_[(next_slot_ + k) % count];
    if (slot.state != SlotState::kReady) continue;
    if (best == nullptr || slot.inflight.size() < best->inflight.size()) best = &slot;
  }
  if (best != nullptr) next_slot_ = (static_cast<size_t>(best->index) + 1) % count;
  return best;
}

bool RedisOrigin::SendGet(Slot& slot, uint64_t id, std::string_view key) {
  const char* argv[2] = {"GET", key.empty() ? "" : key.data()};
  size_t lens[2] = {3, key.size()};
  void* privdata = reinterpret_cast<void*>(static_cast<uintptr_t>(id));
  if (redisAsyncCommandArgv(slot.ac, OnGetReply, privdata, 2, argv, lens) != REDIS_OK) {
    return false;
  }
  slot.inflight.push_back(id);
  return true;
}

void RedisOrigin::AddDeadline(uint64_t id) {
  uint64_t deadline = uv_now(loop_) + static_cast<uint64_t>(timeout_ms_);
  bool earliest = deadlines_.empty() || deadline < deadlines_.top().first;
  deadlines_.emplace(deadline, id);
  // Re-armed when this deadline is now the first (after SetTimeoutMs shortened the timeout).
  if (earliest || uv_is_active(reinterpret_cast<uv_handle_t*>(deadline_timer_)) == 0) {
    uv_timer_start(deadline_timer_, OnDeadlineTimer, static_cast<uint64_t>(timeout_ms_), 0);
  }
}

void RedisOrigin::CountResult(const FetchResult& result) {
  switch (result.status) {
    case FetchStatus::kValue:
      ++stats_.values;
      break;
    case FetchStatus::kNotFound:
      ++stats_.not_found;
      break;
    case FetchStatus::kError:
      ++stats_.errors;
      if (result.error_kind == FetchErrorKind::kTimeout) ++stats_.timeouts;
      break;
  }
}

void RedisOrigin::Finish(FetchCallback cb, FetchResult result, Completions* done) {
  CountResult(result);
  done->emplace_back(std::move(cb), std::move(result));
}

void RedisOrigin::DeliverSoon(FetchCallback cb, FetchResult result) {
  CountResult(result);
  if (closed_) {
    PostResultLater(loop_, std::move(cb), std::move(result));
    return;
  }
  deferred_.emplace_back(std::move(cb), std::move(result));
  if (uv_is_active(reinterpret_cast<uv_handle_t*>(deliver_timer_)) == 0) {
    uv_timer_start(deliver_timer_, OnDeliverTimer, 0, 0);
  }
}

// ---- hiredis callbacks --------------------------------------------------------------------

void RedisOrigin::OnConnect(const redisAsyncContext* ac, int status) {
  auto* slot = static_cast<Slot*>(ac->data);
  if (slot == nullptr) return;
  RedisOrigin* self = slot->owner;
  if (status != REDIS_OK) {
    Completions done;
    // hiredis frees the context right after this returns.
    self->DropSlot(*slot, FetchErrorKind::kUnreachable, ErrorText(ac), false, &done);
    RunCompletions(std::move(done));
    return;
  }
  // Dead peers behind a silent network are found by TCP keepalive, not only by timeouts.
  redisEnableKeepAlive(&const_cast<redisAsyncContext*>(ac)->c);
  if (slot->handshake_pending == 0) self->MarkReady(*slot);
}

void RedisOrigin::OnDisconnect(const redisAsyncContext* ac, int status) {
  auto* slot = static_cast<Slot*>(ac->data);
  if (slot == nullptr) return;
  Completions done;
  slot->owner->DropSlot(*slot, FetchErrorKind::kUnreachable,
                        status == REDIS_OK ? "connection closed" : ErrorText(ac), false, &done);
  RunCompletions(std::move(done));
}

void RedisOrigin::OnHandshakeReply(redisAsyncContext* ac, void* reply_ptr, void* privdata) {
  auto* slot = static_cast<Slot*>(ac->data);
  if (slot == nullptr) return;
  RedisOrigin* self = slot->owner;
  auto* reply = static_cast<redisReply*>(reply_ptr);
  Completions done;
  if (reply == nullptr) {
    // hiredis is freeing the context after an I/O error.
    self->DropSlot(*slot, FetchErrorKind::kUnreachable, ErrorText(ac), false, &done);
  } else if (reply->type == REDIS_REPLY_ERROR) {
    std::string what = privdata == kAuthTag ? "AUTH failed: " : "SELECT failed: ";
    self->DropSlot(*slot, FetchErrorKind::kUnreachable, what + std::string(reply->str, reply->len),
                   true, &done);
  } else if (--slot->handshake_pending == 0 && slot->state == SlotState::kConnecting &&
             (ac->c.flags & REDIS_CONNECTED) != 0) {
    self->MarkReady(*slot);
  }
  RunCompletions(std::move(done));
}

void RedisOrigin::OnGetReply(redisAsyncContext* ac, void* reply_ptr, void* privdata) {
  auto* slot = static_cast<Slot*>(ac->data);
  if (slot == nullptr) return;
  RedisOrigin* self = slot->owner;
  auto* reply = static_cast<redisReply*>(reply_ptr);
  if (reply == nullptr) {
    // hiredis is freeing the context: an I/O error, EOF, or a reply it could not parse.
    FetchErrorKind kind =
        ac->c.err == REDIS_ERR_PROTOCOL ? FetchErrorKind::kProtocol : FetchErrorKind::kUnreachable;
    Completions done;
    self->DropSlot(*slot, kind, ErrorText(ac), false, &done);
    RunCompletions(std::move(done));
    return;
  }
  auto id = static_cast<uint64_t>(reinterpret_cast<uintptr_t>(privdata));
  assert(!slot->inflight.empty() && slot->inflight.front() == id);
  if (!slot->inflight.empty()) slot->inflight.pop_front();
  auto it = self->pending_.find(id);
  if (it == self->pending_.end()) {
    ++self->stats_.late_replies;  // its fetch already timed out and was answered
    return;
  }
  FetchCallback cb = std::move(it->second.cb);
  const uint64_t sent_epoch = it->second.sent_epoch;
  self->pending_.erase(it);
  FetchResult result = MapReply(*reply);
  if (self->tracking_ && result.status != FetchStatus::kError &&
      !FillAllowed(self->tracking_->state(), sent_epoch, self->tracking_->epoch())) {
    // Read while no invalidation could reach us: answer it, but keep it (and its "not
    // found") out of the store.
    result.no_store = true;
    result.negative_ttl_ms = 0;
    self->tracking_->stats().untracked.fetch_add(1, std::memory_order_relaxed);
  }
  self->CountResult(result);
  if (!self->queued_.empty()) self->SendQueued();  // a place under the in-flight limit freed
  cb(std::move(result));  // last: the callback may Close() or destroy the origin
}

void RedisOrigin::OnTrackingReply(redisAsyncContext* ac, void* reply_ptr, void* /*privdata*/) {
  auto* slot = static_cast<Slot*>(ac->data);
  auto* reply = static_cast<redisReply*>(reply_ptr);
  if (slot == nullptr || reply == nullptr || reply->type != REDIS_REPLY_ERROR) return;
  RedisOrigin* self = slot->owner;
  // The origin cannot track (an older Redis): values fill on TTLs alone from now on, as with
  // --origin-tracking no.
  slot->tracked_epoch = 0;
  if (self->tracking_) {
    self->tracking_->GiveUp("CLIENT TRACKING: " + std::string(reply->str, reply->len));
  }
}

// ---- uv timer callbacks -------------------------------------------------------------------

void RedisOrigin::OnSlotTimer(uv_timer_t* timer) {
  auto* slot = static_cast<Slot*>(timer->data);
  RedisOrigin* self = slot->owner;
  Completions done;
  if (slot->state == SlotState::kConnecting) {
    self->DropSlot(*slot, FetchErrorKind::kUnreachable,
                   "connect timeout after " + std::to_string(self->connect_timeout_ms_) + " ms",
                   true, &done);
  } else if (slot->state == SlotState::kIdle) {
    self->StartConnect(*slot, &done);
  }
  RunCompletions(std::move(done));
}

void RedisOrigin::OnDeadlineTimer(uv_timer_t* timer) {
  auto* self = static_cast<RedisOrigin*>(timer->data);
  uint64_t now = uv_now(self->loop_);
  Completions done;
  std::vector<int> timed_out_slots;
  while (!self->deadlines_.empty()) {
    auto [deadline, id] = self->deadlines_.top();
    auto it = self->pending_.find(id);
    if (it != self->pending_.end() && deadline > now) break;
    self->deadlines_.pop();
    if (it == self->pending_.end()) continue;  // answered before its deadline
    Pending& pending = it->second;
    if (pending.slot >= 0) timed_out_slots.push_back(pending.slot);
    FetchCallback cb = std::move(pending.cb);
    std::string reason = "origin timeout after " + std::to_string(pending.timeout_ms) + " ms";
    self->pending_.erase(it);
    self->Finish(std::move(cb), FetchResult::Error(FetchErrorKind::kTimeout, std::move(reason)),
                 &done);
  }
  while (!self->queued_.empty() && self->pending_.count(self->queued_.front()) == 0) {
    self->queued_.pop_front();
  }
  // Each connection that let a fetch time out is dropped once, after every expired fetch has
  // been taken off the tables (so only live ones are requeued).
  for (int index : timed_out_slots) {
    Slot& slot = *self->slots_[static_cast<size_t>(index)];
    if (slot.state == SlotState::kReady) self->DropAfterTimeout(slot, &done);
  }
  if (!self->deadlines_.empty()) {
    uint64_t next = self->deadlines_.top().first;
    uv_timer_start(timer, OnDeadlineTimer, next > now ? next - now : 0, 0);
  }
  RunCompletions(std::move(done));
}

void RedisOrigin::OnDeliverTimer(uv_timer_t* timer) {
  auto* self = static_cast<RedisOrigin*>(timer->data);
  Completions done = std::move(self->deferred_);
  self->deferred_.clear();
  RunCompletions(std::move(done));
}

}  // namespace flightcache::origin
