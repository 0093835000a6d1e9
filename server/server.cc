// server.cc — the loop, listeners, accept, dispatch, write pass, cron and shutdown.
#include "server/server.h"

#include <sys/resource.h>
#include <sys/time.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <optional>
#include <random>

#include "origin/redis_origin.h"
#include "origin/singleflight.h"
#include "server/connection.h"
#include "server/info.h"

namespace flightcache::server {
namespace {

// Redis keeps this many descriptors for itself beyond maxclients.
constexpr int kReservedFds = 32;

int64_t WallClockMs() {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1000 + ts.tv_nsec / 1000000;
}

int64_t MonotonicMicros() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

std::string FormatPeer(const struct sockaddr_storage& addr) {
  char host[INET6_ADDRSTRLEN] = {0};
  int port = 0;
  if (addr.ss_family == AF_INET) {
    auto* in = reinterpret_cast<const struct sockaddr_in*>(&addr);
    uv_ip4_name(in, host, sizeof(host));
    port = ntohs(in->sin_port);
    return std::string(host) + ":" + std::to_string(port);
  }
  if (addr.ss_family == AF_INET6) {
    auto* in6 = reinterpret_cast<const struct sockaddr_in6*>(&addr);
    uv_ip6_name(in6, host, sizeof(host));
    port = ntohs(in6->sin6_port);
    return std::string(host) + ":" + std::to_string(port);
  }
  return "?:0";
}

void CloseAndDelete(uv_handle_t* handle) { delete static_cast<Connection*>(handle->data); }

}  // namespace

Server::Server(Config config)
    : config_(std::move(config)),
      commands_(BuildCommandTable()),
      read_buffer_(new char[kReadBufferSize]) {
  uv_loop_init(&loop_);
  std::random_device rd;
  rng_state_ = (static_cast<uint64_t>(rd()) << 32) ^ rd() ^ static_cast<uint64_t>(getpid());
  static const char kHex[] = "0123456789abcdef";
  for (int i = 0; i < 40; ++i) run_id_.push_back(kHex[RandomU64() & 15]);
  RefreshClock();
  start_time_ms_ = now_ms_;
  max_clients_effective_ = config_.maxclients;
}

Server::~Server() {
  singleflight_.reset();
  origin_.reset();
  if (log_file_) std::fclose(log_file_);
}

uint64_t Server::RandomU64() {
  // xorshift64*: fast and good enough for RANDOMKEY, eviction sampling and ids.
  rng_state_ ^= rng_state_ >> 12;
  rng_state_ ^= rng_state_ << 25;
  rng_state_ ^= rng_state_ >> 27;
  return rng_state_ * 0x2545F4914F6CDD1DULL;
}

void Server::RefreshClock() {
  now_ms_ = WallClockMs();
  keyspace_.SetClock(now_ms_);
}

void Server::Log(LogLevel level, const std::string& message) {
  if (level < config_.loglevel || config_.loglevel == LogLevel::kNothing) return;
  struct timeval tv;
  gettimeofday(&tv, nullptr);
  struct tm tm_now;
  localtime_r(&tv.tv_sec, &tm_now);
  char stamp[64];
  size_t n = std::strftime(stamp, sizeof(stamp), "%d %b %Y %H:%M:%S", &tm_now);
  std::snprintf(stamp + n, sizeof(stamp) - n, ".%03d", static_cast<int>(tv.tv_usec / 1000));
  static const char kMarks[] = ".-*#";
  FILE* out = log_file_ ? log_file_ : stderr;
  std::fprintf(out, "%d:M %s %c %s\n", static_cast<int>(getpid()), stamp,
               kMarks[static_cast<int>(level) < 4 ? static_cast<int>(level) : 3], message.c_str());
  std::fflush(out);
}

void Server::RaiseFileLimit() {
  struct rlimit limit;
  if (getrlimit(RLIMIT_NOFILE, &limit) != 0) return;
  rlim_t wanted = static_cast<rlim_t>(config_.maxclients) + kReservedFds;
  if (limit.rlim_cur < wanted) {
    rlim_t target = wanted;
    if (limit.rlim_max != RLIM_INFINITY && target > limit.rlim_max) target = limit.rlim_max;
    struct rlimit raised = limit;
    raised.rlim_cur = target;
    if (setrlimit(RLIMIT_NOFILE, &raised) == 0) limit = raised;
  }
  max_clients_effective_ = config_.maxclients;
  if (limit.rlim_cur != RLIM_INFINITY && limit.rlim_cur < wanted) {
    int capped = static_cast<int>(limit.rlim_cur) - kReservedFds;
    if (capped < 1) capped = 1;
    max_clients_effective_ = capped;
    config_.maxclients = capped;
    Log(LogLevel::kWarning, "You requested maxclients of " + std::to_string(wanted - kReservedFds) +
                                " requiring at least " + std::to_string(wanted) +
                                " max file descriptors. Server can't set maximum open files to " +
                                std::to_string(wanted) + "; maxclients is now " +
                                std::to_string(capped) + ".");
  }
}

void Server::StartOrigin() {
  if (config_.origin.empty()) return;
  std::string error;
  std::optional<origin::OriginUrl> url = origin::ParseOriginUrl(config_.origin, &error);
  if (!url) return;  // validated at start-up
  origin_ = std::make_unique<origin::RedisOrigin>(&loop_, *url, config_.origin_connections,
                                                  static_cast<int>(config_.origin_timeout_ms));
  singleflight_ = std::make_unique<origin::Singleflight>(
      origin_.get(), &keyspace_,
      [this](const origin::Waiter& w, const origin::FetchResult& result) {
        Connection* conn = FindConnection(w.conn_id);
        if (conn) conn->ResolveSlot(w.slot_seq, w.part, result);
      },
      []() { return WallClockMs(); });
  ApplyConfig("cache-ttl");
}

bool Server::Listen() {
  int rc = 0;
  if (config_.port != 0) {
    uv_tcp_init(&loop_, &tcp_listener_);
    tcp_listener_.data = this;
    struct sockaddr_storage addr;
    if (config_.bind.find(':') != std::string::npos) {
      rc = uv_ip6_addr(config_.bind.c_str(), config_.port,
                       reinterpret_cast<struct sockaddr_in6*>(&addr));
    } else {
      rc = uv_ip4_addr(config_.bind.c_str(), config_.port,
                       reinterpret_cast<struct sockaddr_in*>(&addr));
    }
    if (rc == 0) rc = uv_tcp_bind(&tcp_listener_, reinterpret_cast<struct sockaddr*>(&addr), 0);
    if (rc == 0)
      rc = uv_listen(reinterpret_cast<uv_stream_t*>(&tcp_listener_), 511, &Server::OnTcpConnection);
    tcp_listening_ = true;  // the handle is initialised either way and must be closed
    if (rc != 0) {
      Log(LogLevel::kWarning, "Failed listening on port " + std::to_string(config_.port) +
                                  " (tcp), aborting: " + uv_strerror(rc));
      return false;
    }
    struct sockaddr_storage bound;
    int len = sizeof(bound);
    uv_tcp_getsockname(&tcp_listener_, reinterpret_cast<struct sockaddr*>(&bound), &len);
    bound_port_ = bound.ss_family == AF_INET6
                      ? ntohs(reinterpret_cast<struct sockaddr_in6*>(&bound)->sin6_port)
                      : ntohs(reinterpret_cast<struct sockaddr_in*>(&bound)->sin_port);
  }
  if (!config_.unixsocket.empty()) {
    unlink(config_.unixsocket.c_str());
    uv_pipe_init(&loop_, &unix_listener_, 0);
    unix_listener_.data = this;
    unix_listening_ = true;
    rc = uv_pipe_bind(&unix_listener_, config_.unixsocket.c_str());
    if (rc == 0 && config_.unixsocketperm != 0) {
      chmod(config_.unixsocket.c_str(), static_cast<mode_t>(config_.unixsocketperm));
    }
    if (rc == 0)
      rc = uv_listen(reinterpret_cast<uv_stream_t*>(&unix_listener_), 511,
                     &Server::OnUnixConnection);
    if (rc != 0) {
      Log(LogLevel::kWarning,
          "Failed opening Unix socket " + config_.unixsocket + ": " + uv_strerror(rc));
      return false;
    }
  }
  if (config_.port == 0 && config_.unixsocket.empty()) {
    Log(LogLevel::kWarning, "Configured to not listen anywhere, exiting.");
    return false;
  }
  return true;
}

int Server::Run() {
  if (!config_.logfile.empty()) {
    log_file_ = std::fopen(config_.logfile.c_str(), "a");
    if (!log_file_) {
      std::fprintf(stderr, "Can't open the log file: %s\n", std::strerror(errno));
      return 1;
    }
  }
  RaiseFileLimit();
  ApplyConfig("maxmemory-policy");
  StartOrigin();
  uv_prepare_init(&loop_, &flush_prepare_);
  flush_prepare_.data = this;
  uv_prepare_start(&flush_prepare_, &Server::OnFlushTurn);
  uv_check_init(&loop_, &flush_check_);
  flush_check_.data = this;
  uv_check_start(&flush_check_, &Server::OnFlushTurnCheck);
  uv_timer_init(&loop_, &cron_timer_);
  cron_timer_.data = this;
  uint64_t period = static_cast<uint64_t>(1000 / config_.hz);
  uv_timer_start(&cron_timer_, &Server::OnCron, period, period);
  uv_signal_init(&loop_, &sigint_);
  sigint_.data = this;
  uv_signal_start(&sigint_, &Server::OnSignal, SIGINT);
  uv_signal_init(&loop_, &sigterm_);
  sigterm_.data = this;
  uv_signal_start(&sigterm_, &Server::OnSignal, SIGTERM);

  int exit_code = 0;
  if (!Listen()) {
    exit_code = 1;
    Stop();
  } else {
    Log(LogLevel::kNotice, "flightcache ready to accept connections tcp " + config_.bind + ":" +
                               std::to_string(bound_port_));
  }
  uv_run(&loop_, UV_RUN_DEFAULT);
  // Anything still open (there should be nothing) is closed so the loop can be closed.
  uv_walk(
      &loop_,
      [](uv_handle_t* h, void*) {
        if (!uv_is_closing(h)) uv_close(h, nullptr);
      },
      nullptr);
  uv_run(&loop_, UV_RUN_DEFAULT);
  if (uv_loop_close(&loop_) != 0) Log(LogLevel::kWarning, "loop closed with handles open");
  if (exit_code == 0) Log(LogLevel::kNotice, "flightcache is now ready to exit, bye bye...");
  return exit_code;
}

void Server::Stop() {
  if (stopping_) return;
  stopping_ = true;
  if (tcp_listening_) uv_close(reinterpret_cast<uv_handle_t*>(&tcp_listener_), nullptr);
  if (unix_listening_) {
    uv_close(reinterpret_cast<uv_handle_t*>(&unix_listener_), nullptr);
    unlink(config_.unixsocket.c_str());
  }
  std::vector<Connection*> open;
  for (auto& [id, conn] : connections_) open.push_back(conn);
  for (Connection* conn : open) conn->Close();
  if (origin_) origin_->Close();
  uv_close(reinterpret_cast<uv_handle_t*>(&flush_prepare_), nullptr);
  uv_close(reinterpret_cast<uv_handle_t*>(&flush_check_), nullptr);
  uv_close(reinterpret_cast<uv_handle_t*>(&cron_timer_), nullptr);
  uv_close(reinterpret_cast<uv_handle_t*>(&sigint_), nullptr);
  uv_close(reinterpret_cast<uv_handle_t*>(&sigterm_), nullptr);
}

void Server::OnSignal(uv_signal_t* handle, int signum) {
  auto* server = static_cast<Server*>(handle->data);
  server->Log(LogLevel::kWarning, std::string("Received ") +
                                      (signum == SIGINT ? "SIGINT" : "SIGTERM") +
                                      " scheduling shutdown...");
  server->Stop();
}

void Server::OnTcpConnection(uv_stream_t* listener, int status) {
  if (status < 0) return;
  static_cast<Server*>(listener->data)->Accept(listener, false);
}

void Server::OnUnixConnection(uv_stream_t* listener, int status) {
  if (status < 0) return;
  static_cast<Server*>(listener->data)->Accept(listener, true);
}

void Server::Accept(uv_stream_t* listener, bool is_unix) {
  RefreshClock();
  auto* conn = new Connection(this, next_client_id_++, is_unix);
  if (is_unix) {
    uv_pipe_init(&loop_, conn->pipe(), 0);
  } else {
    uv_tcp_init(&loop_, conn->tcp());
  }
  conn->stream()->data = conn;
  if (uv_accept(listener, conn->stream()) != 0) {
    uv_close(reinterpret_cast<uv_handle_t*>(conn->stream()), CloseAndDelete);
    return;
  }
  if (static_cast<int>(connections_.size()) >= config_.maxclients) {
    static const char kFull[] = "-ERR max number of clients reached\r\n";
    uv_buf_t buf = uv_buf_init(const_cast<char*>(kFull), sizeof(kFull) - 1);
    uv_try_write(conn->stream(), &buf, 1);
    ++stats_.rejected_connections;
    uv_close(reinterpret_cast<uv_handle_t*>(conn->stream()), CloseAndDelete);
    return;
  }
  if (!is_unix) {
    uv_tcp_nodelay(conn->tcp(), 1);
    if (config_.tcp_keepalive > 0) {
      uv_tcp_keepalive(conn->tcp(), 1, static_cast<unsigned>(config_.tcp_keepalive));
    }
    struct sockaddr_storage addr;
    int len = sizeof(addr);
    if (uv_tcp_getpeername(conn->tcp(), reinterpret_cast<struct sockaddr*>(&addr), &len) == 0) {
      conn->peer_addr = FormatPeer(addr);
    }
    len = sizeof(addr);
    if (uv_tcp_getsockname(conn->tcp(), reinterpret_cast<struct sockaddr*>(&addr), &len) == 0) {
      conn->local_addr = FormatPeer(addr);
    }
  } else {
    conn->peer_addr = "/unixsocket:0";
    conn->local_addr = config_.unixsocket + ":0";
  }
  ++stats_.total_connections_received;
  connections_[conn->id()] = conn;
  conn->Start();
}

Connection* Server::FindConnection(uint64_t id) {
  auto it = connections_.find(id);
  if (it == connections_.end()) return nullptr;
  if (it->second->state() == ConnectionState::kClosing) return nullptr;
  return it->second;
}

void Server::ForgetConnection(Connection* conn) { connections_.erase(conn->id()); }

void Server::QueueWrite(Connection* conn) {
  if (conn->in_write_queue) return;
  conn->in_write_queue = true;
  write_queue_.push_back(conn->id());
}

void Server::OnFlushTurn(uv_prepare_t* handle) {
  static_cast<Server*>(handle->data)->FlushPendingWrites();
}

void Server::OnFlushTurnCheck(uv_check_t* handle) {
  static_cast<Server*>(handle->data)->FlushPendingWrites();
}

void Server::FlushPendingWrites() {
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

void Server::Execute(Connection& conn, const std::vector<std::string_view>& args) {
  protocol::ReplyWriter& reply = conn.reply();
  const CommandSpec* cmd = commands_.Find(args[0]);
  const uint64_t errors_before = reply.error_count();
  if (!cmd) {
    std::string text = "ERR unknown command '" + std::string(args[0].substr(0, 128)) +
                       "', with args beginning with: ";
    std::string shown;
    for (size_t i = 1; i < args.size() && shown.size() < 128; ++i) {
      shown += "'" + std::string(args[i].substr(0, 128 - shown.size())) + "' ";
    }
    reply.Error(text + shown);
    ++stats_.total_error_replies;
    return;
  }
  const int argc = static_cast<int>(args.size());
  if ((cmd->arity > 0 && argc != cmd->arity) || argc < -cmd->arity) {
    reply.Error("ERR wrong number of arguments for '" + cmd->name + "' command");
    ++cmd->stats.rejected_calls;
    ++stats_.total_error_replies;
    return;
  }
  if (!conn.authenticated && !config_.requirepass.empty() && !(cmd->flags & kNoAuth)) {
    reply.Error("NOAUTH Authentication required.");
    ++cmd->stats.rejected_calls;
    ++stats_.total_error_replies;
    return;
  }
  if ((cmd->flags & kDenyOom) && keyspace_.maxmemory() > 0 && !keyspace_.MakeRoom()) {
    reply.Error("OOM command not allowed when used memory > 'maxmemory'.");
    ++cmd->stats.rejected_calls;
    ++stats_.total_error_replies;
    return;
  }
  conn.last_command = cmd->name.c_str();
  CommandContext ctx{*this, conn, args, reply, now_ms_};
  const int64_t start = MonotonicMicros();
  cmd->handler(ctx);
  cmd->stats.usec += static_cast<uint64_t>(MonotonicMicros() - start);
  ++cmd->stats.calls;
  ++stats_.total_commands_processed;
  const uint64_t errors = reply.error_count() - errors_before;
  if (errors > 0) {
    ++cmd->stats.failed_calls;
    stats_.total_error_replies += errors;
  }
}

void Server::OnCron(uv_timer_t* handle) { static_cast<Server*>(handle->data)->Cron(); }

void Server::Cron() {
  RefreshClock();
  // Active expiry, as Redis's slow cycle: passes over the buckets while at least 10% of the
  // volatile keys seen had expired, for at most 25% of the cron period. That bounds both the
  // CPU taken per loop turn and the memory that expired keys can hold.
  const int64_t budget_us = 250000 / config_.hz;
  const int64_t start = MonotonicMicros();
  bool more = keyspace_.volatile_count() > 0;
  while (more && MonotonicMicros() - start < budget_us) {
    keyspace_.ActiveExpirePass(now_ms_, 16, &more);
  }
  keyspace_.ShrinkTables();
  // Re-measure what the process holds outside the keyspace, so that the estimate eviction
  // works with between two crons (keyspace bytes + this) tracks the allocator's figure.
  keyspace_.set_memory_baseline(static_cast<int64_t>(UsedMemoryBytes()) -
                                static_cast<int64_t>(keyspace_.memory_bytes()));
  keyspace_.MakeRoom();
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

void Server::ApplyConfig(const std::string& name) {
  if (name == "requirepass" || name == "proto-max-bulk-len") {
    for (auto& [id, conn] : connections_) conn->UpdateLimits();
  }
  if (name == "hz") {
    uint64_t period = static_cast<uint64_t>(1000 / config_.hz);
    uv_timer_start(&cron_timer_, &Server::OnCron, period, period);
  }
  if (name == "maxclients") RaiseFileLimit();
  if (name == "maxmemory" || name == "maxmemory-policy") {
    storage::EvictionPolicy policy = storage::EvictionPolicy::kNoEviction;
    storage::ParseEvictionPolicy(config_.maxmemory_policy, &policy);
    keyspace_.ConfigureEviction(policy, config_.maxmemory);
    keyspace_.set_memory_baseline(static_cast<int64_t>(UsedMemoryBytes()) -
                                  static_cast<int64_t>(keyspace_.memory_bytes()));
    // A lower limit takes effect now, as in Redis, not over the next cron runs.
    while (!keyspace_.MakeRoom()) {
      const uint64_t before = keyspace_.evicted_keys();
      if (keyspace_.MakeRoom() || keyspace_.evicted_keys() == before) break;  // done, or stuck
    }
  }
  if (singleflight_ && (name == "cache-ttl" || name == "negative-ttl")) {
    singleflight_->set_policy(
        origin::FillPolicy{config_.cache_ttl_s * 1000, config_.negative_ttl_s * 1000});
  }
}

}  // namespace flightcache::server
