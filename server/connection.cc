// connection.cc — reading, parsing, reply slots and batched writes of one client.
//
// Input is parsed as it arrives and each complete command runs at once. Output goes to
// reply slots; Flush() (once per loop turn, from the server) sends every ready slot at the
// head of the queue in one write: uv_try_write first, uv_write for what is left.
#include "server/connection.h"

#include <algorithm>
#include <cstdlib>

#include "origin/singleflight.h"
#include "server/commands/hash_read_through.h"
#include "server/server.h"
#include "server/worker.h"
#include "server/write_pieces.h"

namespace flightcache::server {
namespace {

// Past these, a client stops being read until its replies drain: a client that pipelines
// without reading its replies cannot make the server buffer without bound.
constexpr size_t kMaxParkedSlots = 4096;
constexpr size_t kMaxPendingOutput = 64 * 1024 * 1024;
// Reply and input buffers up to this capacity are kept for reuse; bigger ones are released
// once written (replies) or once the client is idle (input), as Redis's clientsCron does.
constexpr size_t kKeptBuffer = 32 * 1024;
// A client that sent nothing for this long gets its input buffers shrunk.
constexpr int64_t kIdleShrinkMs = 2000;
// A written reply buffer up to this capacity goes back to the open tail slot, so the next
// turn's replies fill it without regrowing it (for pipelined LRANGEs, regrowing a few hundred
// KB every turn costs copies and page faults); the cron gives it back (ShrinkIdleBuffers).
constexpr size_t kReusedReplyBuffer = 1024 * 1024;

// Empties s and, when its buffer is big, gives the buffer back.
void ReleaseBig(std::string& s) {
  if (s.capacity() > kKeptBuffer) {
    std::string().swap(s);
  } else {
    s.clear();
  }
}

}  // namespace

Connection::Connection(Worker* worker, uint64_t id, bool is_unix)
    : worker_(worker),
      id_(id),
      is_unix_(is_unix),
      database_(&worker->server().keyspace().db(0)),
      parser_(&limits_) {
  slots_.emplace_back();
  writer_.set_output(&slots_.back().bytes);
  writer_.set_size_check(&Connection::OnReplyGrowth, this);
  UpdateLimits();
  created_ms = worker->now_ms();
  last_interaction_ms = created_ms;
}

void Connection::SelectDatabase(size_t index) {
  db_index_ = index;
  database_ = &worker_->server().keyspace().db(index);
}

void Connection::UpdateLimits() {
  const Config& cfg = worker_->config();
  limits_.max_bulk_len = cfg.proto_max_bulk_len;
  limits_.unauthenticated = !cfg.requirepass.empty() && !authenticated;
  ArmOutputCheck();
}

void Connection::Start() {
  worker_->server().key_events().ClientOpened(id_, static_cast<uint32_t>(worker_->index()));
  uv_read_start(
      stream(),
      [](uv_handle_t* handle, size_t, uv_buf_t* buf) {
        auto* conn = static_cast<Connection*>(handle->data);
        *buf = conn->worker_->ReadBuffer();
      },
      [](uv_stream_t* s, ssize_t nread, const uv_buf_t* buf) {
        auto* conn = static_cast<Connection*>(s->data);
        if (nread > 0) {
          conn->OnBytes(buf->base, static_cast<size_t>(nread));
        } else if (nread == UV_EOF) {
          conn->OnEndOfInput();
        } else if (nread < 0) {
          conn->Close();  // a socket error closes this client only
        }
      });
}

void Connection::OnBytes(const char* data, size_t len) {
  worker_->RefreshClock();
  last_interaction_ms = worker_->now_ms();
  worker_->stats().total_net_input_bytes += len;
  if (state_ == ConnectionState::kPaused || block_) {
    backlog_.append(data, len);
    return;
  }
  ProcessInput(data, len);
}

void Connection::OnEndOfInput() {
  // The client half-closed (shutdown(SHUT_WR), `nc -N`): like Redis for non-blocking commands,
  // answer what it sent, parked commands included, then close. A command cut off by the end
  // of file is dropped with the connection. A blocked client is closed at once, as Redis
  // frees a blocked client whose peer has gone.
  if (block_) {
    Close();
    return;
  }
  uv_read_stop(stream());
  input_ended_ = true;
  worker_->QueueWrite(this);  // closes from AfterWrite once nothing is left to send
}

void Connection::ProcessInput(const char* data, size_t len) {
  size_t pos = 0;
  while (pos < len && state_ == ConnectionState::kReading && !close_after_reply_ && !block_) {
    protocol::ParseResult r = parser_.Parse(std::string_view(data + pos, len - pos));
    pos += r.consumed;
    switch (r.status) {
      case protocol::ParseStatus::kNeedMore:
        if (parser_.PendingBytes() >
            static_cast<size_t>(worker_->config().client_query_buffer_limit)) {
          worker_->server().Log(LogLevel::kWarning,
                                "Closing client that reached max query buffer length (id=" +
                                    std::to_string(id_) + ")");
          Close();
          return;
        }
        break;
      case protocol::ParseStatus::kEmpty:
        break;
      case protocol::ParseStatus::kCommandReady: {
        query_peak_ = std::max(query_peak_, parser_.PendingBytes());
        worker_->Execute(*this, parser_.args());
        parser_.Reset();
        if (block_) {  // a blocking pop waits: later commands run only once it is answered
          backlog_.append(data + pos, len - pos);
          pos = len;
        }
        const size_t pending = PendingOutputBytes();
        CountOutput(pending);
        if (output_limit_hit_ || (OutputLimitsSet() && OutputLimitReachedAt(pending))) {
          CloseForOutputLimit();
          return;
        }
        if (state_ == ConnectionState::kReading &&
            (parked_slots_ >= kMaxParkedSlots || pending > kMaxPendingOutput)) {
          backlog_.append(data + pos, len - pos);
          Pause();
          pos = len;
        }
        break;
      }
      default:
        // A protocol error: reply, then close once the reply is out, as Redis does.
        writer_.Error(parser_.ErrorText(r.status));
        close_after_reply_ = true;
        break;
    }
  }
  if (state_ != ConnectionState::kClosing) worker_->QueueWrite(this);
}

void Connection::Pause() {
  if (state_ != ConnectionState::kReading) return;
  state_ = ConnectionState::kPaused;
  uv_read_stop(stream());
}

void Connection::ResumeIfDrained() {
  if (block_) return;
  if (state_ == ConnectionState::kReading && !backlog_.empty()) {  // held back by a block
    std::string input;
    input.swap(backlog_);
    ProcessInput(input.data(), input.size());
    return;
  }
  if (state_ != ConnectionState::kPaused) return;
  if (parked_slots_ >= kMaxParkedSlots / 2 || PendingOutputBytes() > kMaxPendingOutput / 2) return;
  state_ = ConnectionState::kReading;
  std::string input;
  input.swap(backlog_);
  ProcessInput(input.data(), input.size());
  if (state_ == ConnectionState::kReading && !input_ended_) Start();
}

void Connection::Close() {
  if (state_ == ConnectionState::kClosing) return;
  state_ = ConnectionState::kClosing;
  if (parked_slots_ > 0) {
    worker_->stats().blocked_clients.set(worker_->stats().blocked_clients.get() - 1);
  }
  // Take this client off every flight it is parked on; other waiters keep theirs.
  if (parked_slots_ > 0 && worker_->server().singleflight()) {
    for (const ReplySlot& slot : slots_) {
      for (const std::string& key : slot.keys)
        worker_->server().singleflight()->Cancel(key, id_, slot.seq);
    }
  }
  if (block_) {
    worker_->server().blocking().Remove(block_->token);
    CloseBlockTimer();
    block_.reset();
  }
  EndTransaction();
  UnsubscribeAll();
  StopMonitoring();
  CountOutput(0);  // what it had queued is no longer sent, and is freed with it
  uv_close(reinterpret_cast<uv_handle_t*>(stream()), OnClosedCallback);
}

void Connection::OnClosedCallback(uv_handle_t* handle) {
  auto* conn = static_cast<Connection*>(handle->data);
  conn->worker_->ForgetConnection(conn);
  delete conn;
}

uint64_t Connection::ParkSlot(std::vector<std::string> keys, std::unique_ptr<PendingArray> array) {
  slots_.emplace_back();
  ReplySlot& parked = slots_.back();
  parked.seq = next_seq_++;
  parked.waiting = static_cast<uint32_t>(keys.size());
  parked.keys = std::move(keys);
  parked.array = std::move(array);
  if (parked_slots_++ == 0) ++worker_->stats().blocked_clients;
  slots_.emplace_back();
  writer_.set_output(&slots_.back().bytes);
  ArmOutputCheck();
  return parked.seq;
}

uint64_t Connection::ParkHashRead(std::string key, std::unique_ptr<PendingHashRead> read) {
  std::vector<std::string> keys;
  keys.push_back(std::move(key));
  const uint64_t seq = ParkSlot(std::move(keys), nullptr);
  FindSlot(seq)->hash_read = std::move(read);
  return seq;
}

ReplySlot* Connection::FindSlot(uint64_t seq) {
  for (ReplySlot& slot : slots_) {
    if (slot.seq == seq && slot.waiting > 0) return &slot;
  }
  return nullptr;
}

namespace {

void WriteFetchResult(protocol::ReplyWriter& w, const origin::FetchResult& result) {
  switch (result.status) {
    case origin::FetchStatus::kValue:
      w.Bulk(result.value);
      break;
    case origin::FetchStatus::kNotFound:
      w.Null();
      break;
    case origin::FetchStatus::kError:
      // WRONGTYPE (a GET on a key its flight fills as a hash) is Redis's own text.
      if (result.error_kind == origin::FetchErrorKind::kWrongType) {
        w.Error(result.error);
      } else {
        w.Error("ERR " + result.error);
      }
      break;
  }
}

}  // namespace

void Connection::ResolveSlot(uint64_t seq, uint32_t part, const origin::FetchResult& result) {
  ReplySlot* slot = FindSlot(seq);
  if (!slot) return;
  protocol::ReplyWriter w;
  w.set_resp3(resp == 3);
  if (slot->array) {
    if (part < slot->array->elements.size()) {
      w.set_output(&slot->array->elements[part]);
      if (result.error_kind == origin::FetchErrorKind::kWrongType) {
        w.Null();  // MGET reads a key of another type as nil, as in Redis
      } else {
        WriteFetchResult(w, result);
      }
    }
  } else if (slot->hash_read) {
    w.set_output(&slot->bytes);
    WriteHashReadReply(w, *slot->hash_read, result);
  } else {
    w.set_output(&slot->bytes);
    WriteFetchResult(w, result);
  }
  worker_->stats().total_error_replies += w.error_count();
  if (--slot->waiting > 0) return;
  FinishSlot(slot);
}

uint64_t Connection::ParkGather(std::unique_ptr<PendingArray> parts) {
  const size_t n = parts->elements.size();
  uint64_t seq = ParkSlot({}, std::move(parts));
  slots_[slots_.size() - 2].waiting = static_cast<uint32_t>(n);  // behind it: the new tail
  return seq;
}

void Connection::ResolveSlotText(uint64_t seq, uint32_t part, std::string text) {
  ReplySlot* slot = FindSlot(seq);
  if (!slot || !slot->array || part >= slot->array->elements.size()) return;
  slot->array->elements[part] = std::move(text);
  if (--slot->waiting > 0) return;
  FinishSlot(slot);
}

namespace {

uint64_t ClientIdOfLine(const std::string& line) {
  return std::strtoull(line.c_str() + (line.rfind("id=", 0) == 0 ? 3 : 0), nullptr, 10);
}

}  // namespace

void Connection::FinishSlot(ReplySlot* slot) {
  if (--parked_slots_ == 0) {
    worker_->stats().blocked_clients.set(worker_->stats().blocked_clients.get() - 1);
  }
  slot->keys.clear();
  slot->hash_read.reset();
  if (slot->array) {
    protocol::ReplyWriter w(&slot->bytes);
    w.set_resp3(resp == 3);
    const auto& parts = slot->array->elements;
    switch (slot->array->combine) {
      case PendingArray::Combine::kArray:
        w.ArrayHeader(parts.size());
        for (const std::string& element : parts) slot->bytes.append(element);
        break;
      case PendingArray::Combine::kVerbatimText: {
        std::vector<std::string> lines;
        for (const std::string& part : parts) {
          size_t start = 0;
          for (size_t nl; (nl = part.find('\n', start)) != std::string::npos; start = nl + 1) {
            lines.push_back(part.substr(start, nl - start + 1));
          }
        }
        std::sort(lines.begin(), lines.end(), [](const std::string& a, const std::string& b) {
          return ClientIdOfLine(a) < ClientIdOfLine(b);
        });
        std::string text;
        for (const std::string& line : lines) text += line;
        w.Verbatim(text);
        break;
      }
      case PendingArray::Combine::kIntegerSum:
      case PendingArray::Combine::kKillByAddr: {
        int64_t sum = 0;
        for (const std::string& part : parts) sum += std::strtoll(part.c_str(), nullptr, 10);
        if (slot->array->combine == PendingArray::Combine::kIntegerSum) {
          w.Integer(sum);
        } else if (sum > 0) {
          w.Ok();
        } else {
          w.Error("ERR No such client");
        }
        break;
      }
    }
    worker_->stats().total_error_replies += w.error_count();
    slot->array.reset();
  }
  const size_t pending = PendingOutputBytes();
  CountOutput(pending);  // an origin value is in the reply now: eviction must see it
  if (OutputLimitsSet() && OutputLimitReachedAt(pending)) {
    output_limit_hit_ = true;  // closed from Flush, outside the origin's callback
  }
  ArmOutputCheck();
  worker_->QueueWrite(this);
}

bool Connection::HasOutput() const {
  if (slots_.empty()) return false;
  return slots_.front().waiting == 0 && (slots_.size() > 1 || !slots_.front().bytes.empty());
}

void Connection::EndTransaction() {
  transaction.reset();
  if (watch) worker_->server().watch_table().UnwatchAll(*watch);
}

void Connection::DeliverMessage(std::string_view pattern, std::string_view channel,
                                std::string_view message) {
  if (state_ == ConnectionState::kClosing || output_limit_hit_) return;
  protocol::ReplyWriter& w = writer_;
  w.PushHeader(pattern.empty() ? 3 : 4);
  if (pattern.empty()) {
    w.Bulk("message");
  } else {
    w.Bulk("pmessage");
    w.Bulk(pattern);
  }
  w.Bulk(channel);
  w.Bulk(message);
  const size_t pending = PendingOutputBytes();
  CountOutput(pending);
  if (OutputLimitsSet() && OutputLimitReachedAt(pending)) output_limit_hit_ = true;
  worker_->QueueWrite(this);  // Flush writes it, or closes the client past its limit
}

void Connection::DeliverMonitorLine(std::string_view line) {
  if (state_ == ConnectionState::kClosing || output_limit_hit_ || !monitoring) return;
  writer_.Simple(line);
  const size_t pending = PendingOutputBytes();
  CountOutput(pending);
  if (OutputLimitsSet() && OutputLimitReachedAt(pending)) output_limit_hit_ = true;
  worker_->QueueWrite(this);
}

void Connection::StopMonitoring() {
  if (!monitoring) return;
  monitoring = false;
  worker_->server().monitors().Remove({static_cast<uint32_t>(worker_->index()), id_});
}

void Connection::UnsubscribeAll() {
  PubsubRegistry& registry = worker_->server().pubsub();
  const Subscriber me{static_cast<uint32_t>(worker_->index()), id_};
  for (const std::string& channel : pubsub_channels) registry.Unsubscribe(channel, me);
  for (const std::string& pattern : pubsub_patterns) registry.PUnsubscribe(pattern, me);
  pubsub_channels.clear();
  pubsub_patterns.clear();
}

void Connection::CountOutput(size_t pending) {
  // Unsigned arithmetic: the worker's sum stays right whether this share grows or shrinks.
  Counter& total = worker_->stats().client_output_bytes;
  total.set(total.get() + pending - counted_output_);
  counted_output_ = pending;
}

size_t Connection::PendingOutputBytes() const {
  size_t n = writing_.size();
  for (const ReplySlot& slot : slots_) n += slot.bytes.size();
  return n;
}

void Connection::Flush() {
  if (state_ == ConnectionState::kClosing) return;
  if (output_limit_hit_) {
    CloseForOutputLimit();
    return;
  }
  if (write_in_flight_) return;
  writing_.clear();
  while (!slots_.empty()) {
    ReplySlot& head = slots_.front();
    if (head.waiting > 0) break;
    if (slots_.size() == 1) {  // the open tail slot stays; take its bytes
      if (writing_.empty()) {
        writing_.swap(head.bytes);
      } else {
        writing_.append(head.bytes);
        ReleaseBig(head.bytes);
      }
      break;
    }
    writing_.append(head.bytes);
    slots_.pop_front();
  }
  ArmOutputCheck();  // bytes moved out of the tail slot
  if (writing_.empty()) {
    AfterWrite();
    return;
  }
  worker_->stats().total_net_output_bytes += writing_.size();
  SplitIntoWritePieces(writing_.data(), writing_.size(), kMaxWritePiece, &pieces_);
  // One writev takes at most about 2 GiB on Linux, so the count fits an int.
  const int n = uv_try_write(stream(), pieces_.data(), static_cast<unsigned>(pieces_.size()));
  if (n >= 0 && static_cast<size_t>(n) == writing_.size()) {
    RecycleWritten();
    CountOutput(PendingOutputBytes());
    AfterWrite();
    return;
  }
  if (n < 0 && n != UV_EAGAIN) {
    Close();
    return;
  }
  const size_t written = n > 0 ? static_cast<size_t>(n) : 0;
  SplitIntoWritePieces(writing_.data() + written, writing_.size() - written, kMaxWritePiece,
                       &pieces_);
  write_in_flight_ = true;
  write_req_.data = this;
  // uv_write copies the buffer array; the bytes stay in writing_ until OnWrite.
  if (uv_write(&write_req_, stream(), pieces_.data(), static_cast<unsigned>(pieces_.size()),
               OnWrite) != 0) {
    write_in_flight_ = false;
    Close();
  }
}

void Connection::OnWrite(uv_write_t* req, int status) {
  static_cast<Connection*>(req->data)->OnWriteDone(status);
}

void Connection::OnWriteDone(int status) {
  write_in_flight_ = false;
  RecycleWritten();
  if (state_ != ConnectionState::kClosing) CountOutput(PendingOutputBytes());
  if (status < 0) {
    Close();
    return;
  }
  if (HasOutput()) {
    worker_->QueueWrite(this);
    return;
  }
  AfterWrite();
}

void Connection::RecycleWritten() {
  std::string& tail = slots_.back().bytes;
  if (tail.empty() && tail.capacity() < writing_.capacity() &&
      writing_.capacity() <= kReusedReplyBuffer) {
    writing_.clear();
    writing_.swap(tail);
  }
  ReleaseBig(writing_);
}

void Connection::AfterWrite() {
  if (state_ == ConnectionState::kClosing) return;
  // After a half-close, input still in backlog_ runs (on resume) before the close.
  const bool input_done = input_ended_ && state_ == ConnectionState::kReading;
  if ((close_after_reply_ || input_done) && parked_slots_ == 0 && !HasOutput() &&
      !write_in_flight_) {
    Close();
    return;
  }
  if (state_ == ConnectionState::kPaused) worker_->QueueResume(id_);
}

void Connection::ShrinkIdleBuffers(int64_t now_ms) {
  const bool idle = now_ms - last_interaction_ms >= kIdleShrinkMs;
  const size_t held = parser_.BufferBytes();
  if (held > kKeptBuffer && (idle || held > 2 * query_peak_ + kKeptBuffer)) {
    parser_.ShrinkBuffers();
  }
  query_peak_ = parser_.PendingBytes();  // the peak is over one cron period, as in Redis
  if (backlog_.empty()) ReleaseBig(backlog_);
  if (!write_in_flight_) ReleaseBig(writing_);
  if (slots_.back().bytes.empty()) ReleaseBig(slots_.back().bytes);
}

const OutputBufferLimit& Connection::output_limit() const {
  const ClientClass cls = subscription_count() > 0 ? ClientClass::kPubsub : ClientClass::kNormal;
  return worker_->config().client_output_buffer_limit[static_cast<size_t>(cls)];
}

bool Connection::OutputLimitsSet() const {
  return output_limit().hard_bytes > 0 || output_limit().soft_bytes > 0;
}

bool Connection::OutputLimitReachedAt(size_t used) {
  const OutputBufferLimit& limit = output_limit();
  return OutputLimitReached(limit, used, worker_->now_ms(), &soft_limit_since_ms_);
}

void Connection::ArmOutputCheck() {
  const OutputBufferLimit& limit = output_limit();
  if (!OutputLimitsSet()) {
    writer_.set_check_above(SIZE_MAX);
    return;
  }
  size_t lowest = SIZE_MAX;
  for (int64_t bytes : {limit.hard_bytes, limit.soft_bytes}) {
    if (bytes > 0) lowest = std::min(lowest, static_cast<size_t>(bytes));
  }
  const size_t tail = slots_.back().bytes.size();
  const size_t others = PendingOutputBytes() - tail;
  // Past the lower limit already (soft, counting its seconds): ask again every 64 KB.
  writer_.set_check_above(lowest > others + tail ? lowest - others : tail + 64 * 1024);
}

bool Connection::OnReplyGrowth(void* self, size_t tail_size) {
  auto* conn = static_cast<Connection*>(self);
  const size_t used = conn->PendingOutputBytes() - conn->slots_.back().bytes.size() + tail_size;
  if (conn->OutputLimitReachedAt(used)) {
    // Not closed here: the command writing this reply is still running. ProcessInput closes
    // the client once it returns; the writer drops the rest of its output meanwhile.
    conn->output_limit_hit_ = true;
    return false;
  }
  conn->ArmOutputCheck();
  if (conn->writer_.check_above() < tail_size) conn->writer_.set_check_above(tail_size + 64 * 1024);
  return true;
}

void Connection::CloseForOutputLimit() {
  worker_->server().Log(LogLevel::kWarning,
                        "Client id=" + std::to_string(id_) + " addr=" + peer_addr +
                            " scheduled to be closed ASAP for overcoming of output buffer limits.");
  Close();
}

void Connection::CheckOutputLimitFromCron() {
  if (state_ == ConnectionState::kClosing || !OutputLimitsSet()) return;
  if (output_limit_hit_ || OutputLimitReachedAt(PendingOutputBytes())) CloseForOutputLimit();
}

namespace {

// A block's timer and what its callback needs to find the client again.
struct BlockTimer {
  uv_timer_t handle;
  Worker* worker;
  uint64_t conn_id;
  uint64_t token;
};

}  // namespace

uint64_t Connection::block_token() const { return block_ ? block_->token : 0; }

void Connection::BlockOn(uint64_t token, int64_t timeout_ms, std::string timeout_reply) {
  const uint64_t seq = ParkSlot({}, nullptr);
  slots_[slots_.size() - 2].waiting = 1;  // the parked slot, behind it the new tail
  block_ = std::make_unique<BlockState>();
  block_->token = token;
  block_->seq = seq;
  block_->timeout_reply = std::move(timeout_reply);
  if (timeout_ms <= 0) return;
  auto* timer = new BlockTimer{{}, worker_, id_, token};
  uv_timer_init(worker_->loop(), &timer->handle);
  timer->handle.data = timer;
  uv_timer_start(&timer->handle, &Connection::OnBlockTimeout, static_cast<uint64_t>(timeout_ms), 0);
  block_->timer = &timer->handle;
}

void Connection::OnBlockTimeout(uv_timer_t* handle) {
  auto* timer = static_cast<BlockTimer*>(handle->data);
  Connection* conn = timer->worker->FindConnection(timer->conn_id);
  if (!conn || conn->block_token() != timer->token) return;
  // A push on another worker may have taken the client just now: then its reply is on the way.
  if (!timer->worker->server().blocking().Remove(timer->token)) return;
  conn->FinishBlock(timer->token, conn->block_->timeout_reply);
}

void Connection::CloseBlockTimer() {
  if (!block_ || !block_->timer) return;
  uv_timer_stop(block_->timer);
  uv_close(reinterpret_cast<uv_handle_t*>(block_->timer),
           [](uv_handle_t* h) { delete static_cast<BlockTimer*>(h->data); });
  block_->timer = nullptr;
}

void Connection::FinishBlock(uint64_t token, std::string reply) {
  if (!block_ || block_->token != token || state_ == ConnectionState::kClosing) return;
  const uint64_t seq = block_->seq;
  if (reply.empty()) reply = block_->timeout_reply;  // CLIENT UNBLOCK ... TIMEOUT
  CloseBlockTimer();
  block_.reset();
  if (ReplySlot* slot = FindSlot(seq)) {
    slot->bytes = std::move(reply);
    slot->waiting = 0;
    FinishSlot(slot);
  }
  if (!backlog_.empty()) worker_->QueueResume(id_);
}

}  // namespace flightcache::server
