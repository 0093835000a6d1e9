// server.h — the server: one libuv loop, its listeners, connections, keyspace and stats.
//
// Owns everything a command can touch. Connections are registered by id; async work
// (origin fetches) holds ids and looks them up. Replies are flushed once per loop turn from
// uv_prepare/uv_check handles, so a connection gets at most one write per turn. A cron timer
// (hz) runs active expiry and idle-client timeouts. SIGINT/SIGTERM stop the loop cleanly.
#pragma once

#include <uv.h>

#include <cstdint>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "server/command_table.h"
#include "server/config.h"
#include "storage/keyspace.h"

namespace flightcache::origin {
class Origin;
class Singleflight;
}  // namespace flightcache::origin

namespace flightcache::server {

class Connection;

struct ServerStats {
  uint64_t total_connections_received = 0;
  uint64_t total_commands_processed = 0;
  uint64_t rejected_connections = 0;
  uint64_t keyspace_hits = 0;
  uint64_t keyspace_misses = 0;
  uint64_t total_net_input_bytes = 0;
  uint64_t total_net_output_bytes = 0;
  uint64_t total_error_replies = 0;
  uint64_t expired_keys_base = 0;  // subtracted after CONFIG RESETSTAT
  uint64_t evicted_keys_base = 0;
};

class Server {
 public:
  explicit Server(Config config);
  ~Server();

  // Opens the listeners and runs the loop until Stop(). Returns the process exit code.
  int Run();
  // Stops accepting, closes every connection and handle; Run() then returns.
  void Stop();

  Config& config() { return config_; }
  storage::Keyspace& keyspace() { return keyspace_; }
  uv_loop_t* loop() { return &loop_; }
  const CommandTable& commands() const { return commands_; }
  ServerStats& stats() { return stats_; }
  origin::Singleflight* singleflight() { return singleflight_.get(); }
  origin::Origin* origin() { return origin_.get(); }

  // Wall-clock unix time in ms, refreshed once per batch of input.
  int64_t now_ms() const { return now_ms_; }
  void RefreshClock();
  int64_t start_time_ms() const { return start_time_ms_; }
  uint64_t run_id_seed() const { return run_id_seed_; }
  const std::string& run_id() const { return run_id_; }
  int tcp_port() const { return bound_port_; }

  Connection* FindConnection(uint64_t id);
  const std::unordered_map<uint64_t, Connection*>& connections() const { return connections_; }
  size_t connected_clients() const { return connections_.size(); }
  // Queues conn for this loop turn's write pass.
  void QueueWrite(Connection* conn);
  // Queues a paused connection to be resumed from the next write pass (never from inside
  // an origin callback, so commands never run re-entrantly).
  void QueueResume(uint64_t id) { resume_queue_.push_back(id); }
  // The loop's shared read buffer: libuv reads into it and the parser copies out at once.
  uv_buf_t ReadBuffer() { return uv_buf_init(read_buffer_.get(), kReadBufferSize); }
  // Runs one parsed command (arity, auth and dispatch). Called by Connection.
  void Execute(Connection& conn, const std::vector<std::string_view>& args);
  // Called from the connection's close callback just before it is freed.
  void ForgetConnection(Connection* conn);
  // Applies a changed runtime option (CONFIG SET) to live state.
  void ApplyConfig(const std::string& name);
  uint64_t RandomU64();

  void Log(LogLevel level, const std::string& message);

 private:
  bool Listen();
  static void OnTcpConnection(uv_stream_t* listener, int status);
  static void OnUnixConnection(uv_stream_t* listener, int status);
  void Accept(uv_stream_t* listener, bool is_unix);
  static void OnFlushTurn(uv_prepare_t* handle);
  static void OnFlushTurnCheck(uv_check_t* handle);
  void FlushPendingWrites();
  static void OnCron(uv_timer_t* handle);
  void Cron();
  static void OnSignal(uv_signal_t* handle, int signum);
  void RaiseFileLimit();
  void StartOrigin();

  Config config_;
  uv_loop_t loop_;
  storage::Keyspace keyspace_;
  CommandTable commands_;
  ServerStats stats_;
  uv_tcp_t tcp_listener_;
  uv_pipe_t unix_listener_;
  bool tcp_listening_ = false;
  bool unix_listening_ = false;
  uv_prepare_t flush_prepare_;
  uv_check_t flush_check_;
  uv_timer_t cron_timer_;
  uv_signal_t sigint_;
  uv_signal_t sigterm_;
  std::unordered_map<uint64_t, Connection*> connections_;
  std::vector<uint64_t> write_queue_;
  std::vector<uint64_t> resume_queue_;
  static constexpr unsigned kReadBufferSize = 64 * 1024;
  std::unique_ptr<char[]> read_buffer_;
  uint64_t next_client_id_ = 1;
  int64_t now_ms_ = 0;
  int64_t start_time_ms_ = 0;
  uint64_t run_id_seed_ = 0;
  uint64_t rng_state_ = 0;
  std::string run_id_;
  int bound_port_ = 0;
  int max_clients_effective_ = 10000;
  bool stopping_ = false;
  FILE* log_file_ = nullptr;
  std::unique_ptr<origin::Origin> origin_;
  std::unique_ptr<origin::Singleflight> singleflight_;
};

}  // namespace flightcache::server
