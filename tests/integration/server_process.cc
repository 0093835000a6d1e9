// server_process.cc — child processes, hiredis helpers and raw sockets for the integration
// tests (see server_process.h). Blocking on purpose; every wait is bounded by a deadline.
#include "tests/integration/server_process.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>

extern char** environ;

namespace flightcache::integration {
namespace {

using Clock = std::chrono::steady_clock;

std::string MakeTempDir() {
  std::string tmpl = (std::filesystem::temp_directory_path() / "flightcache-it-XXXXXX").string();
  if (!mkdtemp(tmpl.data()))
    throw std::runtime_error("mkdtemp failed: " + std::string(strerror(errno)));
  return tmpl;
}

std::string ReadWholeFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// True when a TCP connect to 127.0.0.1:port succeeds right now.
bool TcpAccepts(int port) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return false;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bool ok = connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0;
  close(fd);
  return ok;
}

bool FillUnixAddress(const std::string& path, sockaddr_un* addr) {
  *addr = {};
  addr->sun_family = AF_UNIX;
  if (path.size() >= sizeof(addr->sun_path)) return false;
  std::memcpy(addr->sun_path, path.c_str(), path.size() + 1);
  return true;
}

bool UnixAccepts(const std::string& path) {
  sockaddr_un addr;
  if (!FillUnixAddress(path, &addr)) return false;
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return false;
  bool ok = connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0;
  close(fd);
  return ok;
}

// environ with the "NAME=value" overrides applied.
std::vector<std::string> MergedEnvironment(const std::vector<std::string>& overrides) {
  std::vector<std::string> env;
  for (char** e = environ; *e; ++e) {
    std::string_view entry(*e);
    std::string_view name = entry.substr(0, entry.find('='));
    bool overridden = false;
    for (const auto& o : overrides) {
      if (o.substr(0, o.find('=')) == name) overridden = true;
    }
    if (!overridden) env.emplace_back(entry);
  }
  env.insert(env.end(), overrides.begin(), overrides.end());
  return env;
}

std::vector<char*> CStrings(std::vector<std::string>& strings) {
  std::vector<char*> out;
  for (auto& s : strings) out.push_back(s.data());
  out.push_back(nullptr);
  return out;
}

// Spawns binary with args and env, stdout+stderr appended to log_path. Returns the pid.
pid_t SpawnWithLog(const std::string& binary, const std::vector<std::string>& args,
                   const std::vector<std::string>& env_overrides, const std::string& log_path) {
  std::vector<std::string> argv_strings{binary};
  argv_strings.insert(argv_strings.end(), args.begin(), args.end());
  std::vector<std::string> env_strings = MergedEnvironment(env_overrides);
  std::vector<char*> argv = CStrings(argv_strings);
  std::vector<char*> envp = CStrings(env_strings);

  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, log_path.c_str(),
                                   O_WRONLY | O_CREAT | O_APPEND, 0644);
  posix_spawn_file_actions_adddup2(&actions, STDOUT_FILENO, STDERR_FILENO);
  posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
  // The child must not inherit a blocked SIGTERM/SIGPIPE disposition from the test runner.
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  sigset_t no_signals, default_signals;
  sigemptyset(&no_signals);
  sigemptyset(&default_signals);
  sigaddset(&default_signals, SIGPIPE);
  sigaddset(&default_signals, SIGTERM);
  sigaddset(&default_signals, SIGINT);
  posix_spawnattr_setsigmask(&attr, &no_signals);
  posix_spawnattr_setsigdefault(&attr, &default_signals);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);

  pid_t pid = -1;
  int rc = posix_spawn(&pid, binary.c_str(), &actions, &attr, argv.data(), envp.data());
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attr);
  if (rc != 0) {
    throw std::runtime_error("posix_spawn " + binary + ": " + std::string(strerror(rc)));
  }
  return pid;
}

// waitpid with a deadline, polling WNOHANG. Returns the status, or nullopt on timeout.
std::optional<int> WaitPidFor(pid_t pid, milliseconds timeout) {
  const auto deadline = Clock::now() + timeout;
  while (true) {
    int status = 0;
    pid_t r = waitpid(pid, &status, WNOHANG);
    if (r == pid) return status;
    if (r < 0 && errno != EINTR) return std::nullopt;
    if (Clock::now() >= deadline) return std::nullopt;
    std::this_thread::sleep_for(milliseconds(5));
  }
}

}  // namespace

int FreeTcpPort() {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) throw std::runtime_error("socket failed");
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = 0;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof(addr);
  if (bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 ||
      getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    close(fd);
    throw std::runtime_error("could not find a free port");
  }
  close(fd);
  return ntohs(addr.sin_port);
}

std::string RequiredEnv(const char* name) {
  const char* value = std::getenv(name);
  if (!value || !*value) throw std::runtime_error(std::string(name) + " is not set");
  return value;
}

int ExitCodeOf(int wait_status) {
  if (WIFEXITED(wait_status)) return WEXITSTATUS(wait_status);
  if (WIFSIGNALED(wait_status)) return 128 + WTERMSIG(wait_status);
  return -1;
}

// ---- ChildProcess ----

ChildProcess::ChildProcess(SpawnOptions options) {
  if (options.log_path.empty()) {
    temp_dir_ = MakeTempDir();
    log_path_ = temp_dir_ + "/output.log";
  } else {
    log_path_ = options.log_path;
  }
  pid_ = SpawnWithLog(options.binary, options.args, options.env, log_path_);
  const auto deadline = Clock::now() + options.start_timeout;
  while (true) {
    bool ready = (options.wait_port == 0 || TcpAccepts(options.wait_port)) &&
                 (options.wait_unix_socket.empty() || UnixAccepts(options.wait_unix_socket));
    if (ready) return;
    if (!Running()) {
      std::string log = Log();
      int code = ExitCodeOf(*status_);
      if (!temp_dir_.empty()) std::filesystem::remove_all(temp_dir_);
      throw std::runtime_error(options.binary + " exited with code " + std::to_string(code) +
                               " before it was ready:\n" + log);
    }
    if (Clock::now() >= deadline) {
      Stop(milliseconds(1000));
      std::string log = Log();
      if (!temp_dir_.empty()) std::filesystem::remove_all(temp_dir_);
      throw std::runtime_error(options.binary + " was not ready in time:\n" + log);
    }
    std::this_thread::sleep_for(milliseconds(5));
  }
}

ChildProcess::~ChildProcess() {
  Stop();
  if (!temp_dir_.empty()) {
    std::error_code ignored;
    std::filesystem::remove_all(temp_dir_, ignored);
  }
}

std::string ChildProcess::Log() const { return ReadWholeFile(log_path_); }

bool ChildProcess::Running() {
  if (status_) return false;
  int status = 0;
  if (waitpid(pid_, &status, WNOHANG) == pid_) {
    status_ = status;
    return false;
  }
  return true;
}

std::optional<int> ChildProcess::Signal(int signum, milliseconds timeout) {
  if (status_) return status_;
  kill(pid_, signum);
  return WaitExit(timeout);
}

std::optional<int> ChildProcess::WaitExit(milliseconds timeout) {
  if (status_) return status_;
  if (auto s = WaitPidFor(pid_, timeout)) status_ = s;
  return status_;
}

int ChildProcess::Stop(milliseconds term_timeout) {
  if (status_) return *status_;
  if (auto s = Signal(SIGTERM, term_timeout)) return *s;
  kill(pid_, SIGKILL);
  int status = 0;
  waitpid(pid_, &status, 0);  // SIGKILL cannot be ignored: this returns promptly
  status_ = status;
  return status;
}

RunResult RunToExit(const std::string& binary, const std::vector<std::string>& args,
                    milliseconds timeout) {
  TempDir dir;
  std::string log = dir.path() + "/output.log";
  pid_t pid = SpawnWithLog(binary, args, {}, log);
  std::optional<int> status = WaitPidFor(pid, timeout);
  if (!status) {
    kill(pid, SIGKILL);
    waitpid(pid, nullptr, 0);
    throw std::runtime_error(binary + " did not exit in time:\n" + ReadWholeFile(log));
  }
  return {ExitCodeOf(*status), ReadWholeFile(log)};
}

// ---- TempDir ----

TempDir::TempDir() : path_(MakeTempDir()) {}

TempDir::~TempDir() {
  std::error_code ignored;
  std::filesystem::remove_all(path_, ignored);
}

std::string TempDir::WriteFile(const std::string& name, std::string_view text) const {
  std::string full = path_ + "/" + name;
  std::ofstream out(full, std::ios::binary);
  out.write(text.data(), static_cast<std::streamsize>(text.size()));
  return full;
}

// ---- ServerProcess ----

ServerProcess::ServerProcess(std::vector<std::string> extra_args, std::vector<std::string> env) {
  Start(std::move(extra_args), std::move(env));
}

ServerProcess::ServerProcess(UnixTag, std::vector<std::string> extra_args) {
  unix_socket_ = dir_.path() + "/flightcache.sock";
  Start(std::move(extra_args), {});
}

std::unique_ptr<ServerProcess> ServerProcess::WithUnixSocket(std::vector<std::string> extra_args) {
  return std::unique_ptr<ServerProcess>(new ServerProcess(UnixTag{}, std::move(extra_args)));
}

void ServerProcess::Start(std::vector<std::string> extra_args, std::vector<std::string> env) {
  const std::string binary = RequiredEnv("FLIGHTCACHE_BIN");
  constexpr int kAttempts = 3;  // another process may grab the free port before we bind it
  for (int attempt = 1;; ++attempt) {
    port_ = FreeTcpPort();
    SpawnOptions options;
    options.binary = binary;
    options.args = {"--port", std::to_string(port_), "--bind", "127.0.0.1"};
    if (!unix_socket_.empty()) {
      options.args.insert(options.args.end(), {"--unixsocket", unix_socket_});
      options.wait_unix_socket = unix_socket_;
    }
    // $FLIGHTCACHE_TEST_THREADS runs every server of the suite with that many workers, except
    // one whose test passes its own --threads (the flag may be given only once).
    const bool own_threads =
        std::find(extra_args.begin(), extra_args.end(), "--threads") != extra_args.end();
    if (const char* threads = std::getenv("FLIGHTCACHE_TEST_THREADS");
        threads && *threads && !own_threads) {
      options.args.insert(options.args.end(), {"--threads", threads});
    }
    options.args.insert(options.args.end(), extra_args.begin(), extra_args.end());
    options.env = env;
    options.wait_port = port_;
    options.log_path = dir_.path() + "/server-" + std::to_string(attempt) + ".log";
    try {
      process_ = std::make_unique<ChildProcess>(std::move(options));
      return;
    } catch (const std::runtime_error&) {
      if (attempt == kAttempts) throw;
    }
  }
}

// ---- hiredis helpers ----

namespace {

ContextPtr CheckedContext(redisContext* c, const std::string& where, milliseconds timeout) {
  if (!c) throw std::runtime_error("hiredis could not allocate a context for " + where);
  ContextPtr ctx(c);
  if (ctx->err) throw std::runtime_error("connect " + where + ": " + ctx->errstr);
  timeval tv{static_cast<time_t>(timeout.count() / 1000),
             static_cast<suseconds_t>((timeout.count() % 1000) * 1000)};
  redisSetTimeout(ctx.get(), tv);
  return ctx;
}

void ArgvOf(const std::vector<std::string>& args, std::vector<const char*>* argv,
            std::vector<size_t>* lens) {
  for (const auto& a : args) {
    argv->push_back(a.data());
    lens->push_back(a.size());
  }
}

void ShowInto(const redisReply* r, std::string* out) {
  auto elements = [&](const char* open, const char* close) {
    out->append(open);
    for (size_t i = 0; i < r->elements; ++i) {
      if (i) out->append(", ");
      ShowInto(r->element[i], out);
    }
    out->append(close);
  };
  switch (r->type) {
    case REDIS_REPLY_STATUS:
      out->append("+").append(r->str, r->len);
      break;
    case REDIS_REPLY_ERROR:
      out->append("-").append(r->str, r->len);
      break;
    case REDIS_REPLY_INTEGER:
      out->append(":").append(std::to_string(r->integer));
      break;
    case REDIS_REPLY_NIL:
      out->append("(nil)");
      break;
    case REDIS_REPLY_STRING:
      out->append(r->str, r->len);
      break;
    case REDIS_REPLY_ARRAY:
      elements("[", "]");
      break;
#ifdef REDIS_REPLY_MAP  // hiredis >= 1.0 parses RESP3; Debian 12 ships 0.14, which does not
    case REDIS_REPLY_VERB:
      out->append(r->str, r->len);
      break;
    case REDIS_REPLY_DOUBLE:
      out->append(",").append(r->str, r->len);
      break;
    case REDIS_REPLY_BOOL:
      out->append(r->integer ? "#t" : "#f");
      break;
    case REDIS_REPLY_BIGNUM:
      out->append("(").append(r->str, r->len);
      break;
    case REDIS_REPLY_SET:
      elements("~[", "]");
      break;
    case REDIS_REPLY_PUSH:
      elements(">[", "]");
      break;
    case REDIS_REPLY_MAP:
      out->append("{");
      for (size_t i = 0; i + 1 < r->elements; i += 2) {
        if (i) out->append(", ");
        ShowInto(r->element[i], out);
        out->append(": ");
        ShowInto(r->element[i + 1], out);
      }
      out->append("}");
      break;
#endif
    default:
      out->append("(unknown reply type ").append(std::to_string(r->type)).append(")");
  }
}

}  // namespace

ContextPtr Connect(int port, milliseconds timeout) {
  timeval tv{static_cast<time_t>(timeout.count() / 1000),
             static_cast<suseconds_t>((timeout.count() % 1000) * 1000)};
  return CheckedContext(redisConnectWithTimeout("127.0.0.1", port, tv),
                        "127.0.0.1:" + std::to_string(port), timeout);
}

ContextPtr ConnectUnix(const std::string& path, milliseconds timeout) {
  timeval tv{static_cast<time_t>(timeout.count() / 1000),
             static_cast<suseconds_t>((timeout.count() % 1000) * 1000)};
  return CheckedContext(redisConnectUnixWithTimeout(path.c_str(), tv), path, timeout);
}

ReplyPtr Command(redisContext* ctx, const std::vector<std::string>& args) {
  std::vector<const char*> argv;
  std::vector<size_t> lens;
  ArgvOf(args, &argv, &lens);
  return ReplyPtr(static_cast<redisReply*>(
      redisCommandArgv(ctx, static_cast<int>(args.size()), argv.data(), lens.data())));
}

void Append(redisContext* ctx, const std::vector<std::string>& args) {
  std::vector<const char*> argv;
  std::vector<size_t> lens;
  ArgvOf(args, &argv, &lens);
  redisAppendCommandArgv(ctx, static_cast<int>(args.size()), argv.data(), lens.data());
}

ReplyPtr NextReply(redisContext* ctx) {
  void* reply = nullptr;
  if (redisGetReply(ctx, &reply) != REDIS_OK) return nullptr;
  return ReplyPtr(static_cast<redisReply*>(reply));
}

std::string Show(const redisReply* reply, const redisContext* ctx) {
  if (!reply) {
    return std::string("(connection error: ") + (ctx ? ctx->errstr : "?") + ")";
  }
  std::string out;
  ShowInto(reply, &out);
  return out;
}

std::string Do(redisContext* ctx, const std::vector<std::string>& args) {
  ReplyPtr reply = Command(ctx, args);
  return Show(reply.get(), ctx);
}

std::string InfoValue(redisContext* ctx, const std::string& field) {
  ReplyPtr reply = Command(ctx, {"INFO", "everything"});
  if (!reply || reply->type != REDIS_REPLY_STRING) return "(absent)";
  std::string text = "\r\n" + std::string(reply->str, reply->len);
  size_t at = text.find("\r\n" + field + ":");
  if (at == std::string::npos) return "(absent)";
  size_t start = at + field.size() + 3;
  return text.substr(start, text.find("\r\n", start) - start);
}

long long InfoNumber(redisContext* ctx, const std::string& field) {
  const std::string text = InfoValue(ctx, field);
  char* end = nullptr;
  const long long n = std::strtoll(text.c_str(), &end, 10);
  return end != text.c_str() && *end == '\0' ? n : -1;
}

bool WaitUntil(const std::function<bool()>& cond, milliseconds timeout) {
  const auto deadline = Clock::now() + timeout;
  while (!cond()) {
    if (Clock::now() >= deadline) return false;
    std::this_thread::sleep_for(milliseconds(2));
  }
  return true;
}

// ---- RESP2/RESP3 reader ----

namespace {

// Parses one value at buf[*pos]; false when buf holds only part of it.
bool ParseRespValue(std::string_view buf, size_t* pos, std::string* out) {
  size_t eol = buf.find("\r\n", *pos);
  if (eol == std::string_view::npos) return false;
  const char type = buf[*pos];
  std::string_view line = buf.substr(*pos + 1, eol - *pos - 1);
  size_t next = eol + 2;
  auto aggregate = [&](const char* open, const char* close, int per_item) {
    long long n = std::stoll(std::string(line));
    out->append(open);
    for (long long i = 0; i < n * per_item; ++i) {
      if (i) out->append(per_item == 2 && i % 2 ? ": " : ", ");
      if (!ParseRespValue(buf, &next, out)) return false;
    }
    out->append(close);
    *pos = next;
    return true;
  };
  switch (type) {
    case '+':
      out->append("+").append(line);
      break;
    case '-':
      out->append("-").append(line);
      break;
    case ':':
      out->append(":").append(line);
      break;
    case ',':
      out->append(",").append(line);
      break;
    case '(':
      out->append("(").append(line);
      break;
    case '#':
      out->append("#").append(line);
      break;
    case '_':
      out->append("_");
      break;
    case '$':
    case '=':
    case '!': {
      long long len = std::stoll(std::string(line));
      if (len < 0) {
        out->append("(nil)");
        break;
      }
      if (buf.size() < next + static_cast<size_t>(len) + 2) return false;
      if (type == '!') out->append("-");
      out->append(buf.substr(next, static_cast<size_t>(len)));
      next += static_cast<size_t>(len) + 2;
      break;
    }
    case '*':
      if (line == "-1") {
        out->append("(nil array)");
        break;
      }
      return aggregate("[", "]", 1);
    case '~':
      return aggregate("~[", "]", 1);
    case '>':
      return aggregate(">[", "]", 1);
    case '%':
      return aggregate("{", "}", 2);
    case '|':
      return aggregate("|{", "}", 2);
    default:
      throw std::runtime_error("not RESP: " + std::string(buf.substr(*pos, 40)));
  }
  *pos = next;
  return true;
}

}  // namespace

std::optional<std::string> ParseResp(std::string_view buf, size_t* consumed) {
  size_t pos = 0;
  std::string out;
  if (buf.empty() || !ParseRespValue(buf, &pos, &out)) return std::nullopt;
  *consumed = pos;
  return out;
}

// ---- RawConnection ----

RawConnection::RawConnection(int port) {
  fd_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (fd_ < 0 || connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    if (fd_ >= 0) close(fd_);
    throw std::runtime_error("raw connect to port " + std::to_string(port) + " failed");
  }
}

RawConnection::RawConnection(const std::string& unix_path) {
  sockaddr_un addr;
  fd_ = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd_ < 0 || !FillUnixAddress(unix_path, &addr) ||
      connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    if (fd_ >= 0) close(fd_);
    throw std::runtime_error("raw connect to " + unix_path + " failed");
  }
}

RawConnection::~RawConnection() {
  if (fd_ >= 0) close(fd_);
}

bool RawConnection::Send(std::string_view bytes) {
  while (!bytes.empty()) {
    ssize_t n = send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    bytes.remove_prefix(static_cast<size_t>(n));
  }
  return true;
}

bool RawConnection::ShutdownWrite() { return shutdown(fd_, SHUT_WR) == 0; }

bool RawConnection::ReadSome(milliseconds timeout, std::string* out) {
  if (closed_) return true;
  pollfd p{fd_, POLLIN, 0};
  int ready = poll(&p, 1, static_cast<int>(std::max<int64_t>(timeout.count(), 0)));
  if (ready <= 0) return false;
  char buf[65536];
  ssize_t n = recv(fd_, buf, sizeof(buf), 0);
  if (n > 0) {
    out->append(buf, static_cast<size_t>(n));
  } else if (n == 0 || (errno != EINTR && errno != EAGAIN)) {
    closed_ = true;
  }
  return true;
}

std::string RawConnection::ReadAtLeast(size_t bytes, milliseconds timeout) {
  const auto deadline = Clock::now() + timeout;
  std::string out;
  while (out.size() < bytes && !closed_) {
    auto left = std::chrono::duration_cast<milliseconds>(deadline - Clock::now());
    if (left.count() <= 0 || !ReadSome(left, &out)) break;
  }
  return out;
}

std::string RawConnection::ReadUntil(std::string_view suffix, milliseconds timeout) {
  const auto deadline = Clock::now() + timeout;
  std::string out;
  while (!std::string_view(out).ends_with(suffix) && !closed_) {
    auto left = std::chrono::duration_cast<milliseconds>(deadline - Clock::now());
    if (left.count() <= 0 || !ReadSome(left, &out)) break;
  }
  return out;
}

bool RawConnection::WaitClosed(milliseconds timeout, std::string* out) {
  const auto deadline = Clock::now() + timeout;
  std::string data;
  while (!closed_) {
    auto left = std::chrono::duration_cast<milliseconds>(deadline - Clock::now());
    if (left.count() <= 0 || !ReadSome(left, &data)) break;
  }
  if (out) *out = std::move(data);
  return closed_;
}

std::string RawConnection::ReadFor(milliseconds window) {
  const auto deadline = Clock::now() + window;
  std::string out;
  while (!closed_) {
    auto left = std::chrono::duration_cast<milliseconds>(deadline - Clock::now());
    if (left.count() <= 0 || !ReadSome(left, &out)) break;
  }
  return out;
}

std::string RawConnection::ReadReply(milliseconds timeout) {
  const auto deadline = Clock::now() + timeout;
  while (true) {
    size_t used = 0;
    if (auto reply = ParseResp(pending_, &used)) {
      pending_.erase(0, used);
      return *reply;
    }
    auto left = std::chrono::duration_cast<milliseconds>(deadline - Clock::now());
    if (closed_ || left.count() <= 0) return "(no reply: " + pending_ + ")";
    ReadSome(left, &pending_);
  }
}

std::unique_ptr<RawConnection> ConnectResp3(int port) {
  auto raw = std::make_unique<RawConnection>(port);
  raw->Send("HELLO 3\r\n");
  const std::string hello = raw->ReadReply();
  if (hello.rfind("{server: redis", 0) != 0) {
    throw std::runtime_error("HELLO 3 was answered " + hello);
  }
  return raw;
}

std::string RawDo(RawConnection& raw, const std::string& command) {
  raw.Send(command + "\r\n");
  return raw.ReadReply();
}

RawExchangeResult RawExchange(int port, std::string_view bytes, milliseconds wait) {
  RawConnection conn(port);
  conn.Send(bytes);
  std::string reply;
  bool closed = conn.WaitClosed(wait, &reply);
  return {reply, closed};
}

}  // namespace flightcache::integration
