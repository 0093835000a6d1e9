// worker.h — one worker: a libuv loop on its own thread and the connections it owns.
//
// A worker accepts connections (from its own SO_REUSEPORT listener, or handed over by worker
// 0's acceptor), reads and parses them, runs their commands against the shared keyspace, and
// writes replies once per loop turn (uv_prepare/uv_check). It keeps its own copy of the config
// (CONFIG SET on any worker reaches the others through their inboxes), its own counters and
// its own command stats, so the hot path never touches another thread's memory.
// Other threads talk to a worker only through Post(): a mutex-guarded task queue and a
// uv_async_t. Tasks run on the worker's thread, where they may use its connections freely.
#pragma once

#include <uv.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "server/command_table.h"
#include "server/config.h"
#include "server/stats.h"

namespace flightcache::server {

class Connection;
class Server;

class Worker {
 public:
  Worker(Server* server, size_t index, const Config& config);
  ~Worker();
  Worker(const Worker&) = delete;
  Worker& operator=(const Worker&) = delete;

  // Opens this worker's listeners (a TCP socket with SO_REUSEPORT in reuseport mode, or, on
  // worker 0, the single acceptor socket and the unix socket). False on failure (logged).
  bool Listen(bool reuseport, bool acceptor);
  // Runs the loop until Stop() has closed every handle. Call on the worker's own thread.
  void Run();
  // Closes listeners, connections and handles; the loop then ends. On the worker's thread.
  void Stop();

  // Thread-safe: runs task on this worker's thread, soon; dropped once the worker stopped.
  void Post(std::function<void()> task);
  // The worker whose thread is calling, or nullptr on any other thread.
  static Worker* Current();

  size_t index() const { return index_; }
  Server& server() { return *server_; }
  uv_loop_t* loop() { return &loop_; }
  Config& config() { return config_; }
  // After a command ran for micros: SLOWLOG and the latency monitor, past their thresholds.
  void NoteCommandTime(const CommandSpec& cmd, const Connection& conn,
                       const std::vector<std::string_view>& args, int64_t micros);
  // After a command ran: its MONITOR line, to every monitoring client on its own worker.
  void FeedMonitors(const CommandSpec& cmd, const Connection& conn,
                    const std::vector<std::string_view>& args);
  // The shard locks a command with these arguments takes: its keys' shards, or every shard
  // for a whole-keyspace command.
  uint64_t ShardMaskFor(const CommandSpec& cmd, const std::vector<std::string_view>& args) const;
  // Runs one command queued by MULTI, from EXEC, which holds the shard locks: counted like any
  // command, reads through nothing. Its reply goes to conn's reply writer.
  void RunQueued(Connection& conn, const CommandSpec& cmd,
                 const std::vector<std::string_view>& args);
  // Runs one command for a script (redis.call), under the script's shard locks: counted like
  // any command, reads through nothing (as in MULTI), its reply written to out.
  void RunForScript(Connection& conn, const CommandSpec& cmd,
                    const std::vector<std::string_view>& args, protocol::ReplyWriter& out);
  // While a busy script holds this worker's loop (from its count hook): accepts new TCP
  // clients, reads the input of every client but the script's own straight from its socket,
  // runs it (dispatch answers BUSY, or runs SCRIPT KILL) and writes the replies.
  void ServeWhileScriptBusy(uint64_t script_client_id);
  // After the running command: apply the master config's eviction settings (CONFIG SET).
  void ReconfigureEvictionAfterCommand() { reconfigure_eviction_after_command_ = true; }
  // On this worker's thread: takes config as its copy when version is newer than the copy it
  // has (copies posted by concurrent CONFIG SETs may arrive out of order), then applies the
  // named options' effects (ApplyConfig) either way.
  void InstallConfig(const Config& config, uint64_t version, const std::vector<std::string>& names);
  WorkerStats& stats() { return stats_; }
  const std::vector<CommandStats>& command_stats() const { return command_stats_; }
  void ResetCommandStats();

  // Wall-clock unix time in ms, refreshed once per batch of input.
  int64_t now_ms() const { return now_ms_; }
  void RefreshClock();
  uint64_t RandomU64();

  Connection* FindConnection(uint64_t id);
  const std::unordered_map<uint64_t, Connection*>& connections() const { return connections_; }
  // Queues conn for this loop turn's write pass.
  void QueueWrite(Connection* conn);
  // Queues a paused connection to be resumed from the next write pass (never from inside
  // an origin callback, so commands never run re-entrantly).
  void QueueResume(uint64_t id) { resume_queue_.push_back(id); }
  // The loop's shared read buffer: libuv reads into it and the parser copies out at once.
  uv_buf_t ReadBuffer() { return uv_buf_init(read_buffer_.get(), kReadBufferSize); }
  // Runs one parsed command (arity, auth, memory, locks and dispatch). Called by Connection.
  void Execute(Connection& conn, const std::vector<std::string_view>& args);
  // Called from the connection's close callback just before it is freed.
  void ForgetConnection(Connection* conn);
  // Takes over an accepted TCP socket: a new connection on this loop.
  void Adopt(int fd);
  // Applies changed options to this worker's live state (limits of its connections, cron).
  void ApplyConfig(const std::vector<std::string>& names);
  // After a write (or each write EXEC runs): remembers those of the command's keys that
  // blocked clients wait on in database db, to be served once the command has released its
  // locks. Cheap when no client is blocked anywhere.
  void NoteWrittenKeys(size_t db, const CommandSpec& cmd,
                       const std::vector<std::string_view>& args);

 private:
  static void OnAsync(uv_async_t* handle);
  static void OnListenerReadable(uv_poll_t* handle, int status, int events);
  static void OnUnixConnection(uv_stream_t* listener, int status);
  static void OnFlushTurn(uv_prepare_t* handle);
  static void OnFlushTurnCheck(uv_check_t* handle);
  static void OnCron(uv_timer_t* handle);
  void AcceptReady();
  void AcceptUnix();
  void FlushPendingWrites();
  void Cron();
  void RunTasks();
  // Serves the blocked clients of every noted key, oldest first, each under the shard locks of
  // its own command; conn is the client whose command made the keys ready. A client that
  // finds the key empty again stays blocked, and so does every later one on that key.
  void ServeReadyKeys(Connection& conn);
  void ServeKey(Connection& conn, size_t db, const std::string& key);
  bool OpenTcpListener(bool reuseport);

  Server* server_;
  size_t index_;
  Config config_;
  uint64_t config_version_ = 0;  // of config_: Server's master version it was copied from
  uv_loop_t loop_;
  WorkerStats stats_;
  std::vector<CommandStats> command_stats_;
  // Listening: a raw TCP socket watched by uv_poll (accept4 here, then Adopt locally or hand
  // the fd to a worker), and on worker 0 the unix socket through uv_pipe.
  int listen_fd_ = -1;
  bool acceptor_ = false;  // hands accepted sockets to all workers in turn
  size_t next_worker_ = 0;
  uv_poll_t listen_poll_;
  bool polling_ = false;
  uv_pipe_t unix_listener_;
  bool unix_listening_ = false;
  uv_prepare_t flush_prepare_;
  uv_check_t flush_check_;
  uv_timer_t cron_timer_;
  uv_async_t async_;
  bool make_room_after_command_ = false;  // CONFIG SET lowered maxmemory: evict after unlock
  // The shortest command time (µs) that SLOWLOG or the latency monitor records: one compare per
  // command. Kept in step with the config by UpdateNoteThreshold().
  int64_t note_after_us_ = INT64_MAX;
  void UpdateNoteThreshold();
  bool reconfigure_eviction_after_command_ = false;  // CONFIG SET changed maxmemory(-policy)
  std::mutex tasks_mutex_;
  std::vector<std::function<void()>> tasks_;
  bool inbox_closed_ = false;  // guarded by tasks_mutex_
  bool stopping_ = false;
  std::unordered_map<uint64_t, Connection*> connections_;
  std::vector<uint64_t> write_queue_;
  std::vector<uint64_t> resume_queue_;
  // Written (database, key)s with blocked clients (NoteWrittenKeys).
  std::vector<std::pair<size_t, std::string>> ready_keys_;
  static constexpr unsigned kReadBufferSize = 64 * 1024;
  std::unique_ptr<char[]> read_buffer_;
  int64_t now_ms_ = 0;
  uint64_t rng_state_ = 0;
};

}  // namespace flightcache::server
