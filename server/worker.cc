// worker.cc — a worker's loop: listening, adopting sockets, dispatch with shard locks, the
// write pass, its cron, its inbox of tasks from other threads, and shutdown.
#include "server/worker.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <chrono>
#include <cstring>
#include <random>

#include "origin/origin.h"
#include "origin/singleflight.h"
#include "server/clock.h"
#include "server/command_util.h"
#include "server/connection.h"
#include "server/info.h"
#include "server/scripting/scripting.h"
#include "server/server.h"

namespace flightcache::server {
namespace {

thread_local Worker* current_worker = nullptr;

// At most this many connections are accepted per readable event, so one worker's acceptor
// cannot starve its own clients during a connection storm.
constexpr int kAcceptsPerEvent = 64;

std::string FormatAddress(const struct sockaddr_storage& addr) {
  char host[INET6_ADDRSTRLEN] = {0};
  if (addr.ss_family == AF_INET) {
    auto* in = reinterpret_cast<const struct sockaddr_in*>(&addr);
    uv_ip4_name(in, host, sizeof(host));
    return std::string(host) + ":" + std::to_string(ntohs(in->sin_port));
  }
  if (addr.ss_family == AF_INET6) {
    auto* in6 = reinterpret_cast<const struct sockaddr_in6*>(&addr);
    uv_ip6_name(in6, host, sizeof(host));
    return std::string(host) + ":" + std::to_string(ntohs(in6->sin6_port));
  }
  return "?:0";
}

void CloseAndDelete(uv_handle_t* handle) { delete static_cast<Connection*>(handle->data); }

}  // namespace

Worker::Worker(Server* server, size_t index, const Config& config)
    : server_(server),
      index_(index),
      config_(config),
      command_stats_(server->commands().all().size()),
      read_buffer_(new char[kReadBufferSize]) {
  uv_loop_init(&loop_);
  std::random_device rd;
  rng_state_ = (static_cast<uint64_t>(rd()) << 32) ^ rd() ^ (index + 1) * 0x9E3779B97F4A7C15ULL;
  RefreshClock();
  uv_async_init(&loop_, &async_, &Worker::OnAsync);
  async_.data = this;
  uv_prepare_init(&loop_, &flush_prepare_);
  flush_prepare_.data = this;
  uv_prepare_start(&flush_prepare_, &Worker::OnFlushTurn);
  uv_check_init(&loop_, &flush_check_);
  flush_check_.data = this;
  uv_check_start(&flush_check_, &Worker::OnFlushTurnCheck);
  uv_timer_init(&loop_, &cron_timer_);
  cron_timer_.data = this;
  uint64_t period = static_cast<uint64_t>(1000 / config_.hz);
  uv_timer_start(&cron_timer_, &Worker::OnCron, period, period);
  UpdateNoteThreshold();
}

Worker::~Worker() {
  if (listen_fd_ >= 0) close(listen_fd_);
}

Worker* Worker::Current() { return current_worker; }

void Worker::RefreshClock() {
  now_ms_ = WallClockMs();
  server_->keyspace().SetClock(now_ms_);
}

uint64_t Worker::RandomU64() {
  // xorshift64*: fast and good enough for RANDOMKEY and ids.
  rng_state_ ^= rng_state_ >> 12;
  rng_state_ ^= rng_state_ << 25;
  rng_state_ ^= rng_state_ >> 27;
  return rng_state_ * 0x2545F4914F6CDD1DULL;
}

void Worker::ResetCommandStats() {
  for (CommandStats& s : command_stats_) {
    s.calls.set(0);
    s.usec.set(0);
    s.rejected_calls.set(0);
    s.failed_calls.set(0);
  }
}

// ---- listening ----

bool Worker::OpenTcpListener(bool reuseport) {
  struct sockaddr_storage addr;
  std::memset(&addr, 0, sizeof(addr));
  int rc;
  const bool v6 = config_.bind.find(':') != std::string::npos;
  if (v6) {
    rc = uv_ip6_addr(config_.bind.c_str(), config_.port,
                     reinterpret_cast<struct sockaddr_in6*>(&addr));
  } else {
    rc = uv_ip4_addr(config_.bind.c_str(), config_.port,
                     reinterpret_cast<struct sockaddr_in*>(&addr));
  }
  const char* failure = nullptr;
  int fd = -1;
  if (rc != 0) {
    failure = uv_strerror(rc);
  } else {
    fd = socket(v6 ? AF_INET6 : AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    int one = 1;
    if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) != 0 ||
        (reuseport && setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)) != 0) ||
        bind(fd, reinterpret_cast<struct sockaddr*>(&addr),
             v6 ? sizeof(struct sockaddr_in6) : sizeof(struct sockaddr_in)) != 0 ||
        listen(fd, 511) != 0) {
      failure = std::strerror(errno);
    }
  }
  if (failure) {
    if (fd >= 0) close(fd);
    server_->Log(LogLevel::kWarning, "Failed listening on port " + std::to_string(config_.port) +
                                         " (tcp), aborting: " + failure);
    return false;
  }
  listen_fd_ = fd;
  struct sockaddr_storage bound;
  socklen_t len = sizeof(bound);
  getsockname(fd, reinterpret_cast<struct sockaddr*>(&bound), &len);
  server_->set_tcp_port(bound.ss_family == AF_INET6
                            ? ntohs(reinterpret_cast<struct sockaddr_in6*>(&bound)->sin6_port)
                            : ntohs(reinterpret_cast<struct sockaddr_in*>(&bound)->sin_port));
  uv_poll_init_socket(&loop_, &listen_poll_, fd);
  listen_poll_.data = this;
  polling_ = true;
  uv_poll_start(&listen_poll_, UV_READABLE, &Worker::OnListenerReadable);
  return true;
}

bool Worker::Listen(bool reuseport, bool acceptor) {
  if (stopping_) return false;  // a stop came first (a signal during start-up)
  acceptor_ = acceptor && server_->worker_count() > 1;
  if (config_.port != 0 && !OpenTcpListener(reuseport)) return false;
  if (index_ == 0 && !config_.unixsocket.empty()) {
    unlink(config_.unixsocket.c_str());
    uv_pipe_init(&loop_, &unix_listener_, 0);
    unix_listener_.data = this;
    unix_listening_ = true;
    int rc = uv_pipe_bind(&unix_listener_, config_.unixsocket.c_str());
    if (rc == 0 && config_.unixsocketperm != 0) {
      chmod(config_.unixsocket.c_str(), static_cast<mode_t>(config_.unixsocketperm));
    }
    if (rc == 0) {
      rc = uv_listen(reinterpret_cast<uv_stream_t*>(&unix_listener_), 511,
                     &Worker::OnUnixConnection);
    }
    if (rc != 0) {
      server_->Log(LogLevel::kWarning,
                   "Failed opening Unix socket " + config_.unixsocket + ": " + uv_strerror(rc));
      return false;
    }
  }
  if (index_ == 0 && config_.port == 0 && config_.unixsocket.empty()) {
    server_->Log(LogLevel::kWarning, "Configured to not listen anywhere, exiting.");
    return false;
  }
  return true;
}

void Worker::OnListenerReadable(uv_poll_t* handle, int status, int) {
  if (status < 0) return;
  static_cast<Worker*>(handle->data)->AcceptReady();
}

void Worker::AcceptReady() {
  for (int i = 0; i < kAcceptsPerEvent; ++i) {
    int fd = accept4(listen_fd_, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) return;  // EAGAIN, or an error that the next event will show again
    Worker* target = this;
    if (acceptor_) {
      target = &server_->worker(next_worker_ % server_->worker_count());
      ++next_worker_;
    }
    if (target == this) {
      Adopt(fd);
    } else {
      target->Post([target, fd]() { target->Adopt(fd); });
    }
  }
}

void Worker::Adopt(int fd) {
  if (stopping_) {
    close(fd);
    return;
  }
  RefreshClock();
  if (server_->client_count().load() >= server_->max_clients()) {
    // Counted before the client can see the close: a test (or a person) that then reads INFO
    // on another worker finds it counted.
    ++stats_.rejected_connections;
    static const char kFull[] = "-ERR max number of clients reached\r\n";
    ssize_t ignored = write(fd, kFull, sizeof(kFull) - 1);
    (void)ignored;
    close(fd);
    return;
  }
  auto* conn = new Connection(this, server_->NextClientId(), false);
  uv_tcp_init(&loop_, conn->tcp());
  conn->stream()->data = conn;
  if (uv_tcp_open(conn->tcp(), fd) != 0) {
    close(fd);
    uv_close(reinterpret_cast<uv_handle_t*>(conn->stream()), CloseAndDelete);
    return;
  }
  uv_tcp_nodelay(conn->tcp(), 1);
  if (config_.tcp_keepalive > 0) {
    uv_tcp_keepalive(conn->tcp(), 1, static_cast<unsigned>(config_.tcp_keepalive));
  }
  struct sockaddr_storage addr;
  int len = sizeof(addr);
  if (uv_tcp_getpeername(conn->tcp(), reinterpret_cast<struct sockaddr*>(&addr), &len) == 0) {
    conn->peer_addr = FormatAddress(addr);
  }
  len = sizeof(addr);
  if (uv_tcp_getsockname(conn->tcp(), reinterpret_cast<struct sockaddr*>(&addr), &len) == 0) {
    conn->local_addr = FormatAddress(addr);
  }
  ++stats_.total_connections_received;
  ++stats_.connected_clients;
  server_->client_count().fetch_add(1);
  connections_[conn->id()] = conn;
  conn->Start();
}

void Worker::OnUnixConnection(uv_stream_t* listener, int status) {
  if (status < 0) return;
  static_cast<Worker*>(listener->data)->AcceptUnix();
}

void Worker::AcceptUnix() {
  RefreshClock();
  auto* conn = new Connection(this, server_->NextClientId(), true);
  uv_pipe_init(&loop_, conn->pipe(), 0);
  conn->stream()->data = conn;
  if (uv_accept(reinterpret_cast<uv_stream_t*>(&unix_listener_), conn->stream()) != 0) {
    uv_close(reinterpret_cast<uv_handle_t*>(conn->stream()), CloseAndDelete);
    return;
  }
  if (server_->client_count().load() >= server_->max_clients()) {
    static const char kFull[] = "-ERR max number of clients reached\r\n";
    ++stats_.rejected_connections;  // before the client can see the reply (as above)
    uv_buf_t buf = uv_buf_init(const_cast<char*>(kFull), sizeof(kFull) - 1);
    uv_try_write(conn->stream(), &buf, 1);
    uv_close(reinterpret_cast<uv_handle_t*>(conn->stream()), CloseAndDelete);
    return;
  }
  conn->peer_addr = "/unixsocket:0";
  conn->local_addr = config_.unixsocket + ":0";
  ++stats_.total_connections_received;
  ++stats_.connected_clients;
  server_->client_count().fetch_add(1);
  connections_[conn->id()] = conn;
  conn->Start();
}

// ---- the loop ----

void Worker::Run() {
  current_worker = this;
  uv_run(&loop_, UV_RUN_DEFAULT);
  // Anything still open (there should be nothing) is closed so the loop can be closed.
  uv_walk(
      &loop_,
      [](uv_handle_t* h, void*) {
        if (!uv_is_closing(h)) uv_close(h, nullptr);
      },
      nullptr);
  uv_run(&loop_, UV_RUN_DEFAULT);
  if (uv_loop_close(&loop_) != 0) server_->Log(LogLevel::kWarning, "loop closed with handles open");
  current_worker = nullptr;
}

void Worker::Stop() {
  if (stopping_) return;
  stopping_ = true;
  if (polling_) {
    uv_poll_stop(&listen_poll_);
    uv_close(reinterpret_cast<uv_handle_t*>(&listen_poll_), nullptr);
    polling_ = false;
  }
  if (unix_listening_) {
    uv_close(reinterpret_cast<uv_handle_t*>(&unix_listener_), nullptr);
    unlink(config_.unixsocket.c_str());
    unix_listening_ = false;
  }
  std::vector<Connection*> open;
  for (auto& [id, conn] : connections_) open.push_back(conn);
  for (Connection* conn : open) conn->Close();
  if (index_ == 0 && server_->origin()) server_->origin()->Close();
  uv_close(reinterpret_cast<uv_handle_t*>(&flush_prepare_), nullptr);
  uv_close(reinterpret_cast<uv_handle_t*>(&flush_check_), nullptr);
  uv_close(reinterpret_cast<uv_handle_t*>(&cron_timer_), nullptr);
  {
    std::lock_guard<std::mutex> hold(tasks_mutex_);
    inbox_closed_ = true;
  }
  RunTasks();  // what was posted before the inbox closed still runs
  uv_close(reinterpret_cast<uv_handle_t*>(&async_), nullptr);
}

void Worker::Post(std::function<void()> task) {
  // The send happens under the lock, and Stop() marks the inbox closed under it before it
  // closes the async handle: a task posted to a stopped worker is dropped, never sent to a
  // closed handle.
  std::lock_guard<std::mutex> hold(tasks_mutex_);
  if (inbox_closed_) return;
  tasks_.push_back(std::move(task));
  uv_async_send(&async_);
}

void Worker::OnAsync(uv_async_t* handle) { static_cast<Worker*>(handle->data)->RunTasks(); }

void Worker::RunTasks() {
  std::vector<std::function<void()>> tasks;
  {
    std::lock_guard<std::mutex> hold(tasks_mutex_);
    tasks.swap(tasks_);
  }
  for (auto& task : tasks) task();
}

Connection* Worker::FindConnection(uint64_t id) {
  auto it = connections_.find(id);
  if (it == connections_.end()) return nullptr;
  if (it->second->state() == ConnectionState::kClosing) return nullptr;
  return it->second;
}

void Worker::ForgetConnection(Connection* conn) {
  if (connections_.erase(conn->id()) > 0) {
    server_->key_events().ClientClosed(conn->id());
    server_->client_count().fetch_sub(1);
    stats_.connected_clients.set(stats_.connected_clients.get() - 1);
  }
}

void Worker::QueueWrite(Connection* conn) {
  if (conn->in_write_queue) return;
  conn->in_write_queue = true;
  write_queue_.push_back(conn->id());
}

void Worker::OnFlushTurn(uv_prepare_t* handle) {
  static_cast<Worker*>(handle->data)->FlushPendingWrites();
}

void Worker::OnFlushTurnCheck(uv_check_t* handle) {
  static_cast<Worker*>(handle->data)->FlushPendingWrites();
}

void Worker::FlushPendingWrites() {
  // Changes no command made (expiry, eviction, origin fills) are published and invalidated here,
  // before the write pass, so that this pass writes them.
  server_->key_events().Deliver(*this);
  // Resumes first: a resumed client's backlog may produce replies for this same pass.
  while (!resume_queue_.empty()) {
    std::vector<uint64_t> resumes;
    resumes.swap(resume_queue_);
    for (uint64_t id : resumes) {
      if (Connection* conn = FindConnection(id)) conn->ResumeIfDrained();
    }
  }
  if (write_queue_.empty()) return;
  std::vector<uint64_t> queue;
  queue.swap(write_queue_);
  for (uint64_t id : queue) {
    auto it = connections_.find(id);
    if (it == connections_.end()) continue;
    Connection* conn = it->second;
    conn->in_write_queue = false;
    conn->Flush();
  }
}

// ---- commands ----

void Worker::Execute(Connection& conn, const std::vector<std::string_view>& args) {
  protocol::ReplyWriter& reply = conn.reply();
  const CommandSpec* cmd = server_->commands().Find(args[0]);
  const uint64_t errors_before = reply.error_count();
  KeyEvents& key_events = server_->key_events();
  key_events.BeforeCommand(conn.id());
  if (!cmd) {
    std::string text = "ERR unknown command '" + std::string(args[0].substr(0, 128)) +
                       "', with args beginning with: ";
    std::string shown;
    for (size_t i = 1; i < args.size() && shown.size() < 128; ++i) {
      shown += "'" + std::string(args[i].substr(0, 128 - shown.size())) + "' ";
    }
    reply.Error(text + shown);
    ++stats_.total_error_replies;
    if (conn.transaction) conn.transaction->failed = true;  // EXEC will answer EXECABORT
    return;
  }
  CommandStats& cmd_stats = command_stats_[cmd->index];
  const int argc = static_cast<int>(args.size());
  // A command rejected here fails the client's MULTI, if it is in one, as in Redis.
  auto reject = [&](std::string_view error) {
    reply.Error(error);
    ++cmd_stats.rejected_calls;
    ++stats_.total_error_replies;
    if (conn.transaction) conn.transaction->failed = true;
  };
  if ((cmd->arity > 0 && argc != cmd->arity) || argc < -cmd->arity) {
    reject("ERR wrong number of arguments for '" + cmd->name + "' command");
    return;
  }
  if (!conn.authenticated && !config_.requirepass.empty() && !(cmd->flags & kNoAuth)) {
    reject("NOAUTH Authentication required.");
    return;
  }
  // A script past busy-reply-threshold holds its shard locks: answer BUSY before taking any.
  if (server_->scripting().busy() && !Scripting::AllowedWhileBusy(*cmd, args)) {
    reject(server_->scripting().BusyError());
    return;
  }
  storage::Keyspace& keyspace = server_->keyspace();
  // Eviction locks shards one at a time, so it runs before this command takes its own locks.
  if ((cmd->flags & kDenyOom) && keyspace.maxmemory() > 0 && !keyspace.MakeRoom()) {
    reject("OOM command not allowed when used memory > 'maxmemory'.");
    return;
  }
  // A RESP2 subscriber reads only pushes; Redis 7.0 allows it this short list of commands.
  if (conn.resp == 2 && conn.subscription_count() > 0 && !(cmd->flags & kSubscriberMode)) {
    reject("ERR Can't execute '" + cmd->name +
           "': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET are allowed in this "
           "context");
    return;
  }
  if (conn.transaction && (cmd->flags & kNoMulti)) {
    reject("ERR Command not allowed inside a transaction");
    return;
  }
  if (conn.transaction && !(cmd->flags & kTransactionControl)) {
    conn.transaction->commands.push_back({cmd, std::vector<std::string>(args.begin(), args.end())});
    reply.Simple("QUEUED");
    return;
  }
  conn.last_command = cmd->name.c_str();
  CommandContext ctx{*server_, *this, conn, args, reply, now_ms_};
  const int64_t start = MonotonicMicros();
  if (server_->threaded()) {
    // With several workers, a command holds the locks of every shard it touches, taken in
    // shard order: multi-key commands stay atomic and no two commands can deadlock.
    auto locks = keyspace.LockShards(ShardMaskFor(*cmd, args));
    cmd->handler(ctx);
    key_events.AfterCommand(conn, *cmd, args);
  } else {
    cmd->handler(ctx);
    key_events.AfterCommand(conn, *cmd, args);
  }
  // CLIENT CACHING applies to the one command after it (or to the whole MULTI ... EXEC).
  if (conn.tracking.caching && !conn.transaction && cmd->name != "client") {
    conn.tracking.caching = false;
  }
  if ((cmd->flags & kWrite) && server_->blocking().blocked() > 0) {
    NoteWrittenKeys(conn.db_index(), *cmd, args);
  }
  if (!ready_keys_.empty()) ServeReadyKeys(conn);
  key_events.Deliver(*this);
  if (reconfigure_eviction_after_command_) {
    reconfigure_eviction_after_command_ = false;
    server_->ApplyEvictionConfig();
  }
  if (make_room_after_command_) {
    make_room_after_command_ = false;
    server_->MakeRoomNow();
  }
  const int64_t elapsed = MonotonicMicros() - start;
  cmd_stats.usec += static_cast<uint64_t>(elapsed);
  ++cmd_stats.calls;
  ++stats_.total_commands_processed;
  const uint64_t errors = reply.error_count() - errors_before;
  if (errors > 0) {
    ++cmd_stats.failed_calls;
    stats_.total_error_replies += errors;
  }
  if (elapsed >= note_after_us_) [[unlikely]]
    NoteCommandTime(*cmd, conn, args, elapsed);
  if (server_->monitors().active()) [[unlikely]]
    FeedMonitors(*cmd, conn, args);
}

void Worker::FeedMonitors(const CommandSpec& cmd, const Connection& conn,
                          const std::vector<std::string_view>& args) {
  // As Redis 7.0: administrative commands are not shown.
  if (cmd.flags & kAdmin) return;
  const std::string addr = conn.is_unix() ? "unix:" + config_.unixsocket : conn.peer_addr;
  auto line = std::make_shared<const std::string>(
      MonitorFeed::FormatLine(WallClockMicros(), conn.db_index(), addr, args));
  for (const MonitorClient& m : server_->monitors().Clients()) {
    if (m.worker == index_) {
      if (Connection* target = FindConnection(m.conn_id)) target->DeliverMonitorLine(*line);
      continue;
    }
    if (m.worker >= server_->worker_count()) continue;
    Worker* other = &server_->worker(m.worker);
    other->Post([other, m, line]() {
      if (Connection* target = other->FindConnection(m.conn_id)) target->DeliverMonitorLine(*line);
    });
  }
}

void Worker::UpdateNoteThreshold() {
  note_after_us_ = INT64_MAX;
  if (config_.slowlog_log_slower_than >= 0) note_after_us_ = config_.slowlog_log_slower_than;
  if (config_.latency_monitor_threshold > 0 &&
      config_.latency_monitor_threshold < INT64_MAX / 1000) {
    note_after_us_ = std::min(note_after_us_, config_.latency_monitor_threshold * 1000);
  }
}

void Worker::NoteCommandTime(const CommandSpec& cmd, const Connection& conn,
                             const std::vector<std::string_view>& args, int64_t micros) {
  const int64_t slower_than = config_.slowlog_log_slower_than;
  if (slower_than >= 0 && micros >= slower_than) {
    server_->slowlog().Add(args, micros, now_ms_ / 1000, conn.peer_addr, conn.name,
                           config_.slowlog_max_len);
  }
  const int64_t threshold_ms = config_.latency_monitor_threshold;
  if (threshold_ms > 0 && micros / 1000 >= threshold_ms) {
    server_->latency_monitor().Add((cmd.flags & kFast) ? "fast-command" : "command", micros / 1000,
                                   now_ms_ / 1000);
  }
}

uint64_t Worker::ShardMaskFor(const CommandSpec& cmd,
                              const std::vector<std::string_view>& args) const {
  if (cmd.flags & kAllShards) return storage::Keyspace::kAllShards;
  uint64_t mask = 0;
  if (cmd.first_key > 0) {
    const int argc = static_cast<int>(args.size());
    const int last = cmd.last_key < 0 ? argc + cmd.last_key : cmd.last_key;
    for (int i = cmd.first_key; i <= last && i < argc; i += cmd.key_step) {
      mask |= server_->keyspace().ShardMaskOf(args[static_cast<size_t>(i)]);
    }
  }
  return mask;
}

void Worker::RunQueued(Connection& conn, const CommandSpec& cmd,
                       const std::vector<std::string_view>& args) {
  RunForScript(conn, cmd, args, conn.reply());
}

void Worker::RunForScript(Connection& conn, const CommandSpec& cmd,
                          const std::vector<std::string_view>& args, protocol::ReplyWriter& reply) {
  const uint64_t errors_before = reply.error_count();
  CommandStats& cmd_stats = command_stats_[cmd.index];
  CommandContext ctx{*server_, *this, conn, args, reply, now_ms_, true};
  const int64_t start = MonotonicMicros();
  cmd.handler(ctx);
  server_->key_events().AfterCommand(conn, cmd, args);  // delivered after EXEC
  if ((cmd.flags & kWrite) && server_->blocking().blocked() > 0) {
    NoteWrittenKeys(conn.db_index(), cmd, args);
  }
  const int64_t elapsed = MonotonicMicros() - start;
  cmd_stats.usec += static_cast<uint64_t>(elapsed);
  ++cmd_stats.calls;
  ++stats_.total_commands_processed;
  const uint64_t errors = reply.error_count() - errors_before;
  if (errors > 0) {
    ++cmd_stats.failed_calls;
    stats_.total_error_replies += errors;
  }
  if (elapsed >= note_after_us_) [[unlikely]]
    NoteCommandTime(cmd, conn, args, elapsed);
  if (server_->monitors().active()) [[unlikely]]
    FeedMonitors(cmd, conn, args);
}

void Worker::ServeWhileScriptBusy(uint64_t script_client_id) {
  RefreshClock();
  if (polling_) AcceptReady();
  std::vector<uint64_t> ids;
  for (const auto& [id, conn] : connections_) {
    if (id != script_client_id) ids.push_back(id);
  }
  char buf[16 * 1024];
  for (uint64_t id : ids) {
    Connection* conn = FindConnection(id);
    if (!conn || conn->state() != ConnectionState::kReading || conn->closes_after_reply()) continue;
    uv_os_fd_t fd;
    if (uv_fileno(reinterpret_cast<uv_handle_t*>(conn->stream()), &fd) != 0) continue;
    const ssize_t n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
    if (n <= 0) continue;  // nothing yet, or end of file / an error: the loop sees it later
    conn->OnBytes(buf, static_cast<size_t>(n));
  }
  // Replies of this turn too: a client answered just before the script began waits for them.
  for (uint64_t id : ids) {
    if (Connection* conn = FindConnection(id); conn && conn->HasOutput()) conn->Flush();
  }
}

void Worker::InstallConfig(const Config& config, uint64_t version,
                           const std::vector<std::string>& names) {
  if (version > config_version_) {
    config_ = config;
    config_version_ = version;
  }
  ApplyConfig(names);
}

void Worker::ApplyConfig(const std::vector<std::string>& names) {
  UpdateNoteThreshold();
  for (const std::string& name : names) {
    if (name == "requirepass" || name == "proto-max-bulk-len" ||
        name == "client-output-buffer-limit") {
      for (auto& [id, conn] : connections_) conn->UpdateLimits();
    }
    if (name == "hz") {
      uint64_t period = static_cast<uint64_t>(1000 / config_.hz);
      uv_timer_start(&cron_timer_, &Worker::OnCron, period, period);
    }
    if (name == "maxmemory" || name == "maxmemory-policy") make_room_after_command_ = true;
  }
}

// ---- cron ----

void Worker::OnCron(uv_timer_t* handle) { static_cast<Worker*>(handle->data)->Cron(); }

void Worker::Cron() {
  RefreshClock();
  // While a script runs it holds shard locks: the keyspace upkeep waits for the next cron
  // rather than block worker 0 (and its clients' BUSY replies) behind them.
  if (index_ == 0 && !server_->scripting().running()) {
    // Keyspace upkeep, once for all workers. Active expiry as Redis's slow cycle: passes
    // over the buckets while at least 10% of the volatile keys seen had expired, for at most
    // 25% of the cron period. That bounds both the CPU taken per loop turn and the memory that
    // expired keys can hold.
    storage::Keyspace& keyspace = server_->keyspace();
    const int64_t budget_us = 250000 / config_.hz;
    const int64_t start = MonotonicMicros();
    bool more = keyspace.volatile_count() > 0;
    while (more && MonotonicMicros() - start < budget_us) {
      keyspace.ActiveExpirePass(now_ms_, 16, &more);
    }
    if (const int64_t threshold_ms = config_.latency_monitor_threshold; threshold_ms > 0) {
      const int64_t took_ms = (MonotonicMicros() - start) / 1000;
      if (took_ms >= threshold_ms)
        server_->latency_monitor().Add("expire-cycle", took_ms, now_ms_ / 1000);
    }
    keyspace.ShrinkTables();
    // Incremental rehashing, as Redis's databasesCron: up to 1 ms of 100-bucket steps, each
    // under one shard lock, on top of the bucket every lookup and write moves.
    const int64_t rehash_start = MonotonicMicros();
    while (keyspace.RehashPass(100) && MonotonicMicros() - rehash_start < 1000) {
    }
    // Re-measure what the process holds outside the keyspace, so that the estimate eviction
    // works with between two crons tracks the allocator's figure.
    server_->RemeasureMemoryBaseline();
    keyspace.MakeRoom();
    server_->RefreshOriginStatus();
    // Lapsed negative-ttl entries go even when no new miss comes to sweep them (each one keeps
    // its shard watched, which costs every write to that shard the singleflight lock).
    if (origin::Singleflight* flights = server_->singleflight()) flights->SweepNegative();
  }
  // Close() only starts uv_close; connections leave the map in their close callbacks.
  for (auto& [id, conn] : connections_) {
    conn->ShrinkIdleBuffers(now_ms_);
    conn->CheckOutputLimitFromCron();
  }
  if (config_.timeout_s > 0) {
    std::vector<Connection*> idle;
    for (auto& [id, conn] : connections_) {
      if (conn->parked_slots() == 0 &&
          now_ms_ - conn->last_interaction_ms > config_.timeout_s * 1000) {
        idle.push_back(conn);
      }
    }
    for (Connection* conn : idle) conn->Close();
  }
}

// ---- blocking pops ----

namespace {

// MOVE key db and COPY src dst DB n write a key of another database: sets *db and *key to it
// and returns true (whether or not the command succeeded; serving then finds what is there).
bool CrossDatabaseWrite(const CommandSpec& cmd, const std::vector<std::string_view>& args,
                        size_t* db, std::string_view* key) {
  std::string_view number;
  if (cmd.name == "move" && args.size() == 3) {
    *key = args[1];
    number = args[2];
  } else if (cmd.name == "copy" && args.size() >= 5) {
    *key = args[2];
    for (size_t i = 3; i + 1 < args.size(); ++i) {
      if (EqualsIgnoreCase(args[i], "db")) number = args[i + 1];
    }
  }
  if (number.empty()) return false;
  const auto [end, ec] = std::from_chars(number.data(), number.data() + number.size(), *db);
  return ec == std::errc() && end == number.data() + number.size();
}

// SWAPDB a b: sets *a and *b to its two database numbers and returns true (whether or not the
// command succeeded; serving then finds what is there).
bool SwappedDatabases(const CommandSpec& cmd, const std::vector<std::string_view>& args, size_t* a,
                      size_t* b) {
  if (cmd.name != "swapdb" || args.size() != 3) return false;
  auto parse = [](std::string_view number, size_t* out) {
    const auto [end, ec] = std::from_chars(number.data(), number.data() + number.size(), *out);
    return ec == std::errc() && end == number.data() + number.size();
  };
  return parse(args[1], a) && parse(args[2], b);
}

}  // namespace

void Worker::NoteWrittenKeys(size_t db, const CommandSpec& cmd,
                             const std::vector<std::string_view>& args) {
  size_t swap_a = 0, swap_b = 0;
  if (SwappedDatabases(cmd, args, &swap_a, &swap_b)) {
    // Each database now holds the other's keys: every key waited on in either may exist now,
    // as Redis 7.0's swapdbCommand scans both (scanDatabaseForReadyKeys).
    for (size_t swapped : {swap_a, swap_b}) {
      if (swapped >= server_->keyspace().database_count()) continue;
      for (std::string& key : server_->blocking().KeysWaitedOn(swapped)) {
        auto same = [&](const std::pair<size_t, std::string>& k) {
          return k.first == swapped && k.second == key;
        };
        if (std::find_if(ready_keys_.begin(), ready_keys_.end(), same) == ready_keys_.end()) {
          ready_keys_.emplace_back(swapped, std::move(key));
        }
      }
    }
    return;
  }
  if (cmd.first_key <= 0) return;
  const int argc = static_cast<int>(args.size());
  const int last = cmd.last_key < 0 ? argc + cmd.last_key : cmd.last_key;
  BlockingTable& table = server_->blocking();
  for (int i = cmd.first_key; i <= last && i < argc; i += cmd.key_step) {
    const std::string_view key = args[static_cast<size_t>(i)];
    if (!table.HasWaiters(db, key)) continue;
    auto same = [&](const std::pair<size_t, std::string>& k) {
      return k.first == db && k.second == key;
    };
    if (std::find_if(ready_keys_.begin(), ready_keys_.end(), same) == ready_keys_.end()) {
      ready_keys_.emplace_back(db, std::string(key));
    }
  }
  // A key moved or copied into another database wakes the clients blocked on it there, as
  // Redis's dbAdd does.
  size_t other_db = 0;
  std::string_view other_key;
  if (CrossDatabaseWrite(cmd, args, &other_db, &other_key) && other_db != db &&
      other_db < server_->keyspace().database_count() && table.HasWaiters(other_db, other_key)) {
    ready_keys_.emplace_back(other_db, std::string(other_key));
  }
}

void Worker::ServeReadyKeys(Connection& conn) {
  // Serving may make more keys ready (BLMOVE pushes to its destination): they join the list.
  while (!ready_keys_.empty()) {
    const std::pair<size_t, std::string> ready = std::move(ready_keys_.front());
    ready_keys_.erase(ready_keys_.begin());
    ServeKey(conn, ready.first, ready.second);
  }
}

void Worker::ServeKey(Connection& conn, size_t db, const std::string& key) {
  BlockingTable& table = server_->blocking();
  // Bounded: each round serves one client or skips one that left; neither can repeat forever.
  for (size_t round = 0; round < 1000000; ++round) {
    std::shared_ptr<BlockedClient> client = table.Front(db, key);
    if (!client) return;
    const std::vector<std::string_view> args(client->args.begin(), client->args.end());
    std::string bytes;
    bool served = false;
    auto serve = [&] {
      protocol::ReplyWriter writer(&bytes);
      writer.set_resp3(client->resp == 3);
      bool popped = false;
      // The pop runs on the blocked client's database: conn (the writer) selects it for the
      // call, and gets its own back after.
      const size_t writer_db = conn.db_index();
      conn.SelectDatabase(client->db);
      CommandContext ctx{*server_, *this, conn, args, writer, now_ms_};
      ctx.served_blocked = &popped;
      client->spec->handler(ctx);
      conn.SelectDatabase(writer_db);
      return popped;
    };
    bool waiting;
    if (server_->threaded()) {
      auto locks = server_->keyspace().LockShards(ShardMaskFor(*client->spec, args));
      waiting = table.ServeIfWaiting(client->token, serve, &served);
    } else {
      waiting = table.ServeIfWaiting(client->token, serve, &served);
    }
    if (!waiting) continue;  // it timed out or left meanwhile: the next one
    if (!served) return;     // the key is empty again (or not of its type): the rest wait
    ++command_stats_[client->spec->index].calls;
    NoteWrittenKeys(client->db, *client->spec, args);
    Worker& target = server_->worker(client->worker);
    if (&target == this) {
      if (Connection* c = FindConnection(client->conn_id)) c->FinishBlock(client->token, bytes);
    } else {
      target.Post([&target, id = client->conn_id, token = client->token,
                   reply = std::move(bytes)]() mutable {
        if (Connection* c = target.FindConnection(id)) c->FinishBlock(token, std::move(reply));
      });
    }
  }
}

}  // namespace flightcache::server
