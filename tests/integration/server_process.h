// server_process.h — the integration-test harness: child processes on free ports, hiredis
// connections to them, and raw sockets for bytes no client library would send.
//
// ChildProcess spawns any binary (flightcache, test_origin, redis-server) with its output in a
// log file, waits until it accepts connections, and on destruction stops it with SIGTERM
// (SIGKILL after a bounded wait). ServerProcess is a ChildProcess of $FLIGHTCACHE_BIN bound to
// a free 127.0.0.1 port. Every wait here has a deadline, so a hung server fails a test rather
// than hanging the suite. Start-up failures throw std::runtime_error carrying the child's log.
#pragma once

#include <hiredis/hiredis.h>

#include <chrono>
#include <functional>
#include <initializer_list>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace flightcache::integration {

using std::chrono::milliseconds;

// Asks the kernel for a free TCP port on 127.0.0.1 (bind port 0, read it, close). Another
// process could take it before the caller binds, so callers that can retry should.
int FreeTcpPort();

// Reads an environment variable; throws when it is unset or empty.
std::string RequiredEnv(const char* name);

struct SpawnOptions {
  std::string binary;
  std::vector<std::string> args;  // not including argv[0]
  std::vector<std::string> env;   // "NAME=value" entries added to (or replacing in) environ
  // What "ready" means: a TCP port on 127.0.0.1 and/or a unix socket path that accepts a
  // connection. With neither, the child is ready as soon as it is spawned.
  int wait_port = 0;
  std::string wait_unix_socket;
  milliseconds start_timeout{5000};
  std::string log_path;  // stdout and stderr go here; empty: a file in a fresh temp dir
};

// One child process. Not copyable; the destructor stops it (SIGTERM, then SIGKILL).
class ChildProcess {
 public:
  // Spawns and waits until ready. Throws std::runtime_error (with the log) when the binary
  // cannot be spawned, exits early, or is not ready in time.
  explicit ChildProcess(SpawnOptions options);
  ~ChildProcess();
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;

  pid_t pid() const { return pid_; }
  const std::string& log_path() const { return log_path_; }
  // The child's stdout and stderr so far.
  std::string Log() const;
  // True while the child has not exited (reaps it if it has).
  bool Running();
  // Sends signum, then waits up to timeout for exit. Returns the raw wait status, or nullopt
  // when the child is still running after timeout.
  std::optional<int> Signal(int signum, milliseconds timeout);
  // Waits up to timeout for the child to exit on its own; raw wait status or nullopt.
  std::optional<int> WaitExit(milliseconds timeout);
  // SIGTERM with a bounded wait, SIGKILL fallback. Returns the raw wait status. Idempotent.
  int Stop(milliseconds term_timeout = milliseconds(5000));
  // The raw wait status once the child has been reaped.
  std::optional<int> status() const { return status_; }

 private:
  pid_t pid_ = -1;
  std::string log_path_;
  std::string temp_dir_;  // removed on destruction when we created it
  std::optional<int> status_;
};

// Exit code of a raw wait status: the code for a normal exit, 128+signal for a signal.
int ExitCodeOf(int wait_status);

// Runs a binary to completion (bounded). Returns its exit code (see ExitCodeOf) and output;
// kills it and throws if it runs past timeout.
struct RunResult {
  int exit_code;
  std::string output;
};
RunResult RunToExit(const std::string& binary, const std::vector<std::string>& args,
                    milliseconds timeout = milliseconds(5000));

// A fresh temp directory that is removed (recursively) on destruction.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }
  // Writes text to path()/name and returns the full path.
  std::string WriteFile(const std::string& name, std::string_view text) const;

 private:
  std::string path_;
};

// flightcache from $FLIGHTCACHE_BIN on a free port of 127.0.0.1, plus extra_args (appended,
// so they override --port/--bind if they repeat them). Retries on a lost port race.
// When $FLIGHTCACHE_TEST_THREADS is set and not empty, "--threads <value>" is added unless
// extra_args has its own --threads: the whole suite runs with that many workers.
class ServerProcess {
 public:
  explicit ServerProcess(std::vector<std::string> extra_args = {},
                         std::vector<std::string> env = {});
  // With a unix socket at dir()/flightcache.sock as well as the TCP port.
  static std::unique_ptr<ServerProcess> WithUnixSocket(std::vector<std::string> extra_args = {});

  int port() const { return port_; }
  const std::string& unix_socket() const { return unix_socket_; }
  const std::string& dir() const { return dir_.path(); }
  ChildProcess& process() { return *process_; }
  std::string Log() const { return process_->Log(); }

 private:
  struct UnixTag {};
  ServerProcess(UnixTag, std::vector<std::string> extra_args);
  void Start(std::vector<std::string> extra_args, std::vector<std::string> env);

  TempDir dir_;
  int port_ = 0;
  std::string unix_socket_;
  std::unique_ptr<ChildProcess> process_;
};

// ---- hiredis helpers ----

struct ReplyDeleter {
  void operator()(redisReply* r) const { freeReplyObject(r); }
};
struct ContextDeleter {
  void operator()(redisContext* c) const { redisFree(c); }
};
using ReplyPtr = std::unique_ptr<redisReply, ReplyDeleter>;
using ContextPtr = std::unique_ptr<redisContext, ContextDeleter>;

// Connects with a connect timeout and a read/write timeout. Throws when it cannot connect.
// The defaults only bound a test whose server stopped answering; they are generous so that a
// loaded machine never trips them.
ContextPtr Connect(int port, milliseconds timeout = milliseconds(10000));
ContextPtr ConnectUnix(const std::string& path, milliseconds timeout = milliseconds(10000));

// Sends one command (binary-safe, via redisCommandArgv) and returns its reply; nullptr when
// the connection failed (closed, timed out: see ctx->err / ctx->errstr).
ReplyPtr Command(redisContext* ctx, const std::vector<std::string>& args);
// Appends a command to the output buffer without waiting (for pipelines).
void Append(redisContext* ctx, const std::vector<std::string>& args);
// Reads the next reply of a pipeline; nullptr on a connection error.
ReplyPtr NextReply(redisContext* ctx);

// A reply as compact text, so tests compare one string:
//   status "+OK", error "-ERR ...", integer ":5", nil "(nil)", bulk/verbatim the bytes,
//   double ",1.5", bool "#t"/"#f", array "[a, b]", set "~[a, b]", map "{k: v, ...}",
//   nullptr (connection error) "(connection error: <errstr>)".
std::string Show(const redisReply* reply, const redisContext* ctx = nullptr);
// Command + Show.
std::string Do(redisContext* ctx, const std::vector<std::string>& args);
inline std::string Do(const ContextPtr& ctx, const std::vector<std::string>& args) {
  return Do(ctx.get(), args);
}

// One field of `INFO everything` from ctx's server, or "(absent)" when INFO has no such field.
std::string InfoValue(redisContext* ctx, const std::string& field);

// InfoValue as a number; -1 when INFO has no such field (or it is not a number).
long long InfoNumber(redisContext* ctx, const std::string& field);
inline long long InfoNumber(const ContextPtr& ctx, const std::string& field) {
  return InfoNumber(ctx.get(), field);
}

// Polls cond every few milliseconds until it holds (true) or timeout passes (false). Tests wait
// this way on a server's own counters instead of sleeping: the deadline only bounds a test
// whose condition never comes, it is not how long the test expects to wait.
bool WaitUntil(const std::function<bool()>& cond, milliseconds timeout = milliseconds(30000));

// The usual test set-up: a fresh server with extra_args and one connected client `c`.
struct ServerFixture {
  explicit ServerFixture(std::vector<std::string> extra_args = {})
      : server(std::move(extra_args)), c(Connect(server.port())) {}
  ServerProcess server;
  ContextPtr c;
};

// Parses one RESP2/RESP3 reply from the front of buf (hiredis 0.14 cannot read RESP3).
// Renders it as Show does, plus RESP3's own: null "_", double ",1.5", bool "#t", big number
// "(123", verbatim string as its bytes after the "txt:" header (kept), set "~[...]", push
// ">[...]", map "{k: v}", attribute "|{...}". nullopt when buf holds only part of a reply.
std::optional<std::string> ParseResp(std::string_view buf, size_t* consumed);

// ---- raw sockets ----

// A plain blocking TCP (or unix) socket, for protocol errors, inline commands and fragments.
class RawConnection {
 public:
  explicit RawConnection(int port);
  explicit RawConnection(const std::string& unix_path);
  ~RawConnection();
  RawConnection(const RawConnection&) = delete;
  RawConnection& operator=(const RawConnection&) = delete;

  // Writes every byte (false when the peer has gone).
  bool Send(std::string_view bytes);
  // Half-closes: shutdown(SHUT_WR), so the peer reads end of file; reading still works.
  bool ShutdownWrite();
  // Reads until `bytes` bytes have arrived, the peer closes, or timeout; returns what arrived.
  std::string ReadAtLeast(size_t bytes, milliseconds timeout = milliseconds(10000));
  // Reads until text ends with suffix, the peer closes, or timeout.
  std::string ReadUntil(std::string_view suffix, milliseconds timeout = milliseconds(10000));
  // Reads everything until the peer closes (true) or timeout (false); data goes to *out.
  bool WaitClosed(milliseconds timeout = milliseconds(10000), std::string* out = nullptr);
  // Reads whatever arrives within window.
  std::string ReadFor(milliseconds window);
  // Reads one whole RESP2/RESP3 reply and renders it as ParseResp does; on timeout or close
  // returns "(no reply: <bytes so far>)". Bytes after the reply stay for the next call.
  std::string ReadReply(milliseconds timeout = milliseconds(10000));
  // True once a read has seen end of stream or a reset.
  bool closed() const { return closed_; }

 private:
  // One poll+recv; returns false on timeout, true when it read data or saw the close.
  bool ReadSome(milliseconds timeout, std::string* out);
  int fd_ = -1;
  bool closed_ = false;
  std::string pending_;  // read by ReadReply but not yet returned
};

// A raw connection on port switched to RESP3 (HELLO 3). Throws std::runtime_error when the
// server does not answer HELLO with its map.
std::unique_ptr<RawConnection> ConnectResp3(int port);
// Sends one inline command on raw and returns its reply, rendered as ParseResp does.
std::string RawDo(RawConnection& raw, const std::string& command);

// Connect, send bytes, read the reply text until the peer closes or `wait` passes.
struct RawExchangeResult {
  std::string reply;
  bool closed;
};
RawExchangeResult RawExchange(int port, std::string_view bytes,
                              milliseconds wait = milliseconds(10000));

}  // namespace flightcache::integration
