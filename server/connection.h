// connection.h — one client connection: its socket, parser, reply slots and client info.
//
// States (memcached-style, one line each):
//   kReading  — reading and running commands;
//   kPaused   — too many parked replies or too much unsent output: reading stopped until the
//               slots drain (unparsed input waits in backlog_);
//   kClosing  — uv_close() was called; the memory is freed only in the close callback.
// Replies leave in request order through a queue of reply slots: synchronous replies append
// to the open tail slot; a command waiting on the origin holds a parked slot that later
// replies queue behind. Async work refers to a connection by its id, never by pointer.
#pragma once

#include <uv.h>

#include <cstdint>
#include <deque>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_set>
#include <vector>

#include "origin/origin.h"
#include "protocol/reply_writer.h"
#include "protocol/request_parser.h"
#include "server/output_buffer_limit.h"

namespace flightcache::storage {
class Database;
}  // namespace flightcache::storage

namespace flightcache::server {

class Worker;
struct ClientWatch;
struct CommandSpec;

// One command queued by MULTI, with its arguments copied.
struct QueuedCommand {
  const CommandSpec* spec;
  std::vector<std::string> args;
};

// A client's MULTI: what EXEC will run, and whether a command failed to queue.
struct Transaction {
  std::vector<QueuedCommand> commands;
  bool failed = false;  // EXEC answers EXECABORT
};

enum class ConnectionState : uint8_t { kReading, kPaused, kClosing };

// A reply assembled from parts that arrive later: MGET elements being fetched, or the
// answers of every worker to CLIENT LIST / CLIENT KILL. Sent once every part is in.
struct PendingArray {
  enum class Combine : uint8_t {
    kArray,         // an array of the parts (each an encoded reply): MGET
    kVerbatimText,  // the parts' text joined, lines ordered by client id: CLIENT LIST
    kIntegerSum,    // the parts are decimal counts; reply their sum: CLIENT KILL filters
    kKillByAddr,    // like kIntegerSum, but +OK when non-zero, else "No such client"
  };
  Combine combine = Combine::kArray;
  std::vector<std::string> elements;
};

// A hash read (HGETALL, HGET, HMGET) parked on its key's fetch: what to answer from the row
// (server/commands/hash_read_through.h).
struct PendingHashRead {
  enum class Reply : uint8_t {
    kAll,   // HGETALL: every field and value
    kOne,   // HGET: fields[0]'s value
    kMany,  // HMGET: each of fields' values
  };
  Reply reply = Reply::kAll;
  std::vector<std::string> fields;
};

struct ReplySlot {
  uint64_t seq = 0;
  uint32_t waiting = 0;  // fetches this slot still waits for; 0 = ready to send
  std::string bytes;
  std::unique_ptr<PendingArray> array;         // set for a parked MGET
  std::vector<std::string> keys;               // keys whose fetches this slot waits on
  std::unique_ptr<PendingHashRead> hash_read;  // set for a parked hash read
};

class Connection {
 public:
  Connection(Worker* worker, uint64_t id, bool is_unix);
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  uint64_t id() const { return id_; }
  uv_stream_t* stream() { return reinterpret_cast<uv_stream_t*>(&handle_); }
  uv_tcp_t* tcp() { return &handle_.tcp; }
  uv_pipe_t* pipe() { return &handle_.pipe; }
  bool is_unix() const { return is_unix_; }

  ConnectionState state() const { return state_; }
  protocol::ReplyWriter& reply() { return writer_; }
  protocol::RequestParser& parser() { return parser_; }

  // Feeds bytes read from the socket: parses and runs every complete command.
  void OnBytes(const char* data, size_t len);
  // Starts reading (after accept).
  void Start();
  // Asks for the connection to close once every queued reply has been written.
  void CloseAfterReply() { close_after_reply_ = true; }
  // Closes at once, dropping unsent replies.
  void Close();
  // True once the connection will close when its replies are out: after QUIT, a protocol
  // error, or the client's end of file (CLIENT LIST flag 'c').
  bool closes_after_reply() const { return close_after_reply_ || input_ended_; }
  // Re-reads the auth state into the parser limits (after AUTH, HELLO, CONFIG SET).
  void UpdateLimits();

  // Parks the current command: opens a slot that waits for one result per key and returns
  // its sequence number. Replies of later commands queue behind it.
  uint64_t ParkSlot(std::vector<std::string> keys, std::unique_ptr<PendingArray> array);
  // Parks the current hash read on key's fetch, as ParkSlot({key}, nullptr) does; read says
  // how the row answers it.
  uint64_t ParkHashRead(std::string key, std::unique_ptr<PendingHashRead> read);
  // Parks the current command on `parts` answers from other workers (ResolveSlotText).
  uint64_t ParkGather(std::unique_ptr<PendingArray> parts);
  // Delivers one worker's answer to a gathering slot.
  void ResolveSlotText(uint64_t seq, uint32_t part, std::string text);
  // Delivers one fetch result to a parked slot; part is the MGET index (0 for GET).
  void ResolveSlot(uint64_t seq, uint32_t part, const origin::FetchResult& result);
  size_t parked_slots() const { return parked_slots_; }

  // From the cron: releases big buffers nothing uses now (reply buffers written out, spare
  // input buffers), and shrinks the input buffers of a client idle for 2 s or holding far more
  // than its peak request since the last call. Never drops unsent or unparsed bytes.
  void ShrinkIdleBuffers(int64_t now_ms);

  // From the cron: closes the client when its unsent replies have passed
  // client-output-buffer-limit (the soft limit is a matter of time, so it is checked here too).
  void CheckOutputLimitFromCron();

  // Writes every ready slot with one write; called once per loop turn by the server.
  void Flush();
  bool HasOutput() const;
  size_t PendingOutputBytes() const;
  // Brings this connection's share of the worker's client_output_bytes to pending (its
  // PendingOutputBytes() now); called wherever output grows or drains outside the per-command
  // path, and with 0 when the connection closes.
  void CountOutput(size_t pending);

  // Ends MULTI (if any) and forgets every watched key: after EXEC, DISCARD, RESET and close.
  void EndTransaction();
  std::unique_ptr<Transaction> transaction;  // set between MULTI and EXEC/DISCARD
  std::shared_ptr<ClientWatch> watch;        // set once the client has WATCHed

  // Pub/sub: what this client is subscribed to (its worker's copy; the server's
  // PubsubRegistry mirrors it). While it has any, client-output-buffer-limit's pubsub class
  // applies to it, and a RESP2 client may only run the subscriber-mode commands.
  std::unordered_set<std::string> pubsub_channels;
  std::unordered_set<std::string> pubsub_patterns;
  size_t subscription_count() const { return pubsub_channels.size() + pubsub_patterns.size(); }
  // Writes a published message (pattern empty: a channel subscription's "message", else a
  // "pmessage") as a RESP2 array or a RESP3 push, queues the write, and marks the client to be
  // closed from the write pass when its unsent output has passed its limit. Never closes it here.
  void DeliverMessage(std::string_view pattern, std::string_view channel, std::string_view message);
  // Takes every subscription of this client out of the registry (close, RESET); no replies.
  void UnsubscribeAll();

  // CLIENT TRACKING: this client's mode, as its worker reads it after every command (the
  // server's TrackingTable holds the rest: redirect, prefixes). caching: CLIENT CACHING YES/NO
  // was given for the next command (or transaction).
  struct Tracking {
    bool on = false;
    bool bcast = false;
    bool optin = false;
    bool optout = false;
    bool caching = false;
  };
  Tracking tracking;
  // Blocking pops (server/blocking_table.h). Parks the running command as blocked: a slot
  // that waits for one answer, later input held back (still read, so that a disconnect is
  // seen) until it is answered, and when timeout_ms > 0 a timer on this worker that answers
  // timeout_reply once the table still holds the block. Call after BlockingTable::Block.
  void BlockOn(uint64_t token, int64_t timeout_ms, std::string timeout_reply);
  // Answers the block with this token (served by a push, timed out, CLIENT UNBLOCK) and
  // runs the input held back; an empty reply answers the block's own null (its timeout reply).
  // Ignored when the client no longer blocks with this token.
  void FinishBlock(uint64_t token, std::string reply);
  bool blocked() const { return block_ != nullptr; }
  // The token of the current block, 0 when not blocked.
  uint64_t block_token() const;

  // Client info (CLIENT LIST / INFO / HELLO).
  std::string name;
  std::string lib_name;
  std::string lib_ver;
  std::string peer_addr;
  std::string local_addr;
  const char* last_command = "NULL";
  int64_t created_ms = 0;
  int64_t last_interaction_ms = 0;
  bool authenticated = false;
  bool in_write_queue = false;
  int resp = 2;

  // The selected database (SELECT): its number, and the database itself, which every command
  // on keys works in. Starts at 0; SELECT, and RESET (back to 0), change it.
  size_t db_index() const { return db_index_; }
  storage::Database& database() { return *database_; }
  // Selects database index, which must exist (SELECT checks the range).
  void SelectDatabase(size_t index);

  // MONITOR: whether this client receives every command's line, and delivering one.
  bool monitoring = false;
  void DeliverMonitorLine(std::string_view line);
  // Stops monitoring (RESET, close).
  void StopMonitoring();

 private:
  friend class Worker;
  void ProcessInput(const char* data, size_t len);
  // The client shut down its sending side: stop reading, answer everything, then close.
  void OnEndOfInput();
  void Pause();
  // Resumes a paused connection whose slots and output drained; runs its backlog.
  void ResumeIfDrained();
  static void OnWrite(uv_write_t* req, int status);
  static void OnClosedCallback(uv_handle_t* handle);
  void OnWriteDone(int status);
  // Empties writing_ once written: a buffer up to kReusedReplyBuffer moves to the empty tail
  // slot for the next replies; a bigger one is given back.
  void RecycleWritten();
  void AfterWrite();
  ReplySlot* FindSlot(uint64_t seq);
  // Renders a slot whose every part is in, and queues the write.
  void FinishSlot(ReplySlot* slot);
  void OpenTailSlot();
  // From the config: the pubsub class's while the client has subscriptions, else normal's.
  const OutputBufferLimit& output_limit() const;
  bool OutputLimitsSet() const;
  // client-output-buffer-limit (the client's class) for `used` unsent bytes; true once passed.
  bool OutputLimitReachedAt(size_t used);
  // Sets where the reply writer next asks OnReplyGrowth: the smaller configured limit less
  // what the other slots hold. Called whenever the bytes outside the tail slot change.
  void ArmOutputCheck();
  static bool OnReplyGrowth(void* self, size_t tail_size);
  // Logs, as Redis does, and closes a client past its output limit.
  void CloseForOutputLimit();
  // Stops and closes the block's timer (its memory is freed in the close callback).
  void CloseBlockTimer();
  static void OnBlockTimeout(uv_timer_t* timer);

  Worker* worker_;
  uint64_t id_;
  bool is_unix_;
  size_t db_index_ = 0;
  storage::Database* database_;
  union {
    uv_tcp_t tcp;
    uv_pipe_t pipe;
  } handle_;
  ConnectionState state_ = ConnectionState::kReading;
  protocol::ParserLimits limits_;
  protocol::RequestParser parser_;
  protocol::ReplyWriter writer_;
  std::deque<ReplySlot> slots_;
  uint64_t next_seq_ = 1;
  size_t parked_slots_ = 0;
  std::string backlog_;           // input not yet parsed while paused
  size_t query_peak_ = 0;         // largest request parsed since the last ShrinkIdleBuffers
  std::string writing_;           // bytes handed to uv_write, kept alive until its callback
  std::vector<uv_buf_t> pieces_;  // writing_ as buffers of at most 1 GiB (write_pieces.h)
  uv_write_t write_req_;
  bool write_in_flight_ = false;
  size_t counted_output_ = 0;  // what CountOutput last reported to the worker
  bool close_after_reply_ = false;
  bool input_ended_ = false;         // the client half-closed; close once every reply is out
  bool output_limit_hit_ = false;    // past client-output-buffer-limit: close at the next step
  int64_t soft_limit_since_ms_ = 0;  // when unsent replies first reached the soft limit
  struct BlockState {
    uint64_t token = 0;
    uint64_t seq = 0;  // the parked slot
    std::string timeout_reply;
    uv_timer_t* timer = nullptr;  // heap-allocated; freed in its close callback
  };
  std::unique_ptr<BlockState> block_;  // set while a blocking pop waits
};

}  // namespace flightcache::server
