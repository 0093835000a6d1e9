// origin_test_util.h — helpers for the origin unit tests: child processes (test_origin,
// redis-server), a blocking RESP client to script them, and a uv loop runner with a deadline.
//
// SilentPeer is a TCP server that accepts and reads but never answers (a hung process, or a
// black-holed path that still looks connected).
// Everything here is test-only and blocking on purpose: the loop under test runs only inside
// TestLoop::RunUntil, so the scripted servers are driven between loop runs. TestLoop::Finish
// closes its own handle and returns uv_loop_close(), which each test asserts is 0.
#pragma once

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>
#include <uv.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "origin/origin.h"

namespace flightcache::origin::testing {

inline uint64_t NowMs() { return uv_hrtime() / 1000000; }

// A child process killed (SIGKILL) and reaped on destruction unless Stop() ran first.
class ChildProcess {
 public:
  ChildProcess() = default;
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;
  ~ChildProcess() { Stop(SIGKILL); }

  // Starts argv[0] (searched in PATH). With capture, the child's stdout is readable through
  // ReadLine; otherwise stdout and stderr go to /dev/null.
  bool Start(const std::vector<std::string>& argv, bool capture) {
    int fds[2] = {-1, -1};
    if (capture && pipe(fds) != 0) return false;
    pid_ = fork();
    if (pid_ < 0) return false;
    if (pid_ == 0) {
      int devnull = open("/dev/null", O_RDWR);
      dup2(capture ? fds[1] : devnull, 1);
      dup2(devnull, 2);
      if (capture) {
        close(fds[0]);
        close(fds[1]);
      }
      std::vector<char*> args;
      for (const auto& arg : argv) args.push_back(const_cast<char*>(arg.c_str()));
      args.push_back(nullptr);
      execvp(args[0], args.data());
      _exit(127);
    }
    if (capture) {
      close(fds[1]);
      out_fd_ = fds[0];
    }
    return true;
  }

  // Reads one line of the child's stdout, waiting at most timeout_ms.
  std::optional<std::string> ReadLine(int timeout_ms) {
    std::string line;
    uint64_t deadline = NowMs() + static_cast<uint64_t>(timeout_ms);
    while (NowMs() < deadline) {
      pollfd pfd{out_fd_, POLLIN, 0};
      if (poll(&pfd, 1, 50) <= 0) continue;
      char c;
      if (read(out_fd_, &c, 1) != 1) return std::nullopt;
      if (c == '\n') return line;
      line.push_back(c);
    }
    return std::nullopt;
  }

  // Sends sig and reaps the child; returns its wait status, or -1 if none was running.
  int Stop(int sig) {
    if (out_fd_ >= 0) close(out_fd_);
    out_fd_ = -1;
    if (pid_ <= 0) return -1;
    kill(pid_, sig);
    int status = 0;
    waitpid(pid_, &status, 0);
    pid_ = -1;
    return status;
  }

 private:
  pid_t pid_ = -1;
  int out_fd_ = -1;
};

// A port nothing listens on right now (bound, read, released: racy but fine for tests).
inline int FreePort() {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
  socklen_t len = sizeof(addr);
  getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  close(fd);
  return ntohs(addr.sin_port);
}

inline int ConnectTo(int port) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    close(fd);
    return -1;
  }
  timeval tv{5, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  return fd;
}

inline bool WaitForPort(int port, int timeout_ms) {
  uint64_t deadline = NowMs() + static_cast<uint64_t>(timeout_ms);
  while (NowMs() < deadline) {
    int fd = ConnectTo(port);
    if (fd >= 0) {
      close(fd);
      return true;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return false;
}

// Reads one RESP reply and renders it flat: "+OK", "-ERR ...", ":3", "$value", "nil".
// Arrays are not needed by these tests.
inline std::string ReadReply(int fd) {
  std::string line;
  char c;
  while (read(fd, &c, 1) == 1) {
    line.push_back(c);
    if (line.size() >= 2 && line.compare(line.size() - 2, 2, "\r\n") == 0) break;
  }
  if (line.size() < 3) return "<eof>";
  line.resize(line.size() - 2);
  if (line[0] != '$') return line;
  long len = std::strtol(line.c_str() + 1, nullptr, 10);
  if (len < 0) return "nil";
  std::string data(static_cast<size_t>(len) + 2, '\0');
  size_t got = 0;
  while (got < data.size()) {
    ssize_t n = read(fd, data.data() + got, data.size() - got);
    if (n <= 0) return "<eof>";
    got += static_cast<size_t>(n);
  }
  data.resize(static_cast<size_t>(len));
  return "$" + data;
}

// Sends each command on one new connection and returns each reply (see ReadReply).
inline std::vector<std::string> Commands(int port,
                                         const std::vector<std::vector<std::string>>& commands) {
  std::vector<std::string> replies;
  int fd = ConnectTo(port);
  if (fd < 0) return {"<connect failed>"};
  for (const auto& args : commands) {
    // append() rather than "*" + std::to_string(): GCC 12 -O3 warns falsely (-Wrestrict).
    std::string out("*");
    out.append(std::to_string(args.size())).append("\r\n");
    for (const auto& arg : args) {
      out.append("$").append(std::to_string(arg.size())).append("\r\n").append(arg).append("\r\n");
    }
    if (write(fd, out.data(), out.size()) != static_cast<ssize_t>(out.size())) break;
    replies.push_back(ReadReply(fd));
  }
  close(fd);
  return replies;
}

inline std::string Command(int port, const std::vector<std::string>& args) {
  auto replies = Commands(port, {args});
  return replies.empty() ? "<none>" : replies[0];
}

// The test origin binary, started with --port 0; port() is what it printed. Stopped with
// SIGTERM (a clean exit) when destroyed.
class TestOrigin {
 public:
  TestOrigin() = default;
  TestOrigin(const TestOrigin&) = delete;
  TestOrigin& operator=(const TestOrigin&) = delete;
  ~TestOrigin() { Stop(); }
  // port 0: any free port.
  bool Start(int delay_ms, int port = 0) {
    const char* bin = std::getenv("TEST_ORIGIN_BIN");
    if (bin == nullptr) return false;
    if (!child_.Start({bin, "--port", std::to_string(port), "--delay-ms", std::to_string(delay_ms)},
                      true)) {
      return false;
    }
    auto line = child_.ReadLine(5000);
    if (!line || line->rfind("PORT ", 0) != 0) return false;
    port_ = std::atoi(line->c_str() + 5);
    return port_ > 0;
  }
  int Stop() { return child_.Stop(SIGTERM); }
  int port() const { return port_; }

 private:
  ChildProcess child_;
  int port_ = 0;
};

// Listens on a free loopback port; a thread accepts every connection, reads and discards what
// it sends, and never writes. StopListening() closes only the listening socket: accepted
// connections stay open and silent, and the port is free for another server.
class SilentPeer {
 public:
  SilentPeer() {
    listen_fd_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    int one = 1;
    setsockopt(listen_fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
    listen(listen_fd_, 64);
    socklen_t len = sizeof(addr);
    getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
    thread_ = std::thread([this] { Serve(); });
  }
  SilentPeer(const SilentPeer&) = delete;
  SilentPeer& operator=(const SilentPeer&) = delete;
  ~SilentPeer() {
    stop_ = true;
    thread_.join();
    for (int fd : conns_) close(fd);
    if (listen_fd_ >= 0) close(listen_fd_);
  }

  int port() const { return port_; }
  int accepted() const { return accepted_.load(); }
  // Returns once the listening socket is closed (the serving thread closes it).
  void StopListening() {
    stop_listening_ = true;
    while (!listening_closed_) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }

 private:
  void Serve() {
    char buf[4096];
    while (!stop_) {
      if (stop_listening_ && listen_fd_ >= 0) {
        close(listen_fd_);
        listen_fd_ = -1;
        listening_closed_ = true;
      }
      std::vector<pollfd> fds;
      if (listen_fd_ >= 0) fds.push_back({listen_fd_, POLLIN, 0});
      for (int fd : conns_) fds.push_back({fd, POLLIN, 0});
      if (poll(fds.data(), fds.size(), 10) <= 0) continue;
      for (const pollfd& p : fds) {
        if ((p.revents & (POLLIN | POLLHUP | POLLERR)) == 0) continue;
        if (p.fd == listen_fd_) {
          int fd = accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
          if (fd >= 0) {
            conns_.push_back(fd);
            ++accepted_;
          }
        } else if (read(p.fd, buf, sizeof(buf)) <= 0) {
          // The client left: forget it (a silent peer does not need to close promptly).
          close(p.fd);
          conns_.erase(std::find(conns_.begin(), conns_.end(), p.fd));
        }
      }
    }
  }

  int listen_fd_ = -1;
  int port_ = 0;
  std::vector<int> conns_;  // touched by the serving thread only (and the destructor)
  std::atomic<int> accepted_{0};
  std::atomic<bool> stop_{false};
  std::atomic<bool> stop_listening_{false};
  std::atomic<bool> listening_closed_{false};
  std::thread thread_;
};

inline bool HaveRedisServer() { return access("/usr/bin/redis-server", X_OK) == 0; }

// A throwaway redis-server: no persistence, loopback only.
class RedisServer {
 public:
  bool Start(int port, const std::vector<std::string>& extra = {}) {
    std::vector<std::string> argv = {
        "redis-server", "--port", std::to_string(port), "--save", "",    "--appendonly",
        "no",           "--bind", "127.0.0.1",          "--dir",  "/tmp"};
    argv.insert(argv.end(), extra.begin(), extra.end());
    port_ = port;
    return child_.Start(argv, false) && WaitForPort(port, 5000);
  }
  void Kill() { child_.Stop(SIGKILL); }
  int port() const { return port_; }

 private:
  ChildProcess child_;
  int port_ = 0;
};

// One fetch's observed answers: a correct origin answers exactly once.
struct Outcome {
  int calls = 0;
  FetchResult result;
  uint64_t answered_ms = 0;
};

inline std::shared_ptr<Outcome> StartFetch(Origin& origin, std::string_view key) {
  auto outcome = std::make_shared<Outcome>();
  origin.Fetch(key, [outcome](FetchResult result) {
    ++outcome->calls;
    outcome->result = std::move(result);
    outcome->answered_ms = NowMs();
  });
  return outcome;
}

// A uv loop with a 5 ms ticker so RunUntil can check its condition and deadline.
class TestLoop {
 public:
  TestLoop() {
    uv_loop_init(&loop_);
    uv_timer_init(&loop_, &tick_);
  }
  TestLoop(const TestLoop&) = delete;
  TestLoop& operator=(const TestLoop&) = delete;

  uv_loop_t* get() { return &loop_; }

  // Runs the loop until done() is true (returns true) or timeout_ms passes (returns false).
  bool RunUntil(const std::function<bool()>& done, int timeout_ms) {
    uint64_t deadline = NowMs() + static_cast<uint64_t>(timeout_ms);
    uv_timer_start(
        &tick_, [](uv_timer_t*) {}, 5, 5);
    bool ok = true;
    while (!done()) {
      if (NowMs() >= deadline) {
        ok = false;
        break;
      }
      uv_run(&loop_, UV_RUN_ONCE);
    }
    uv_timer_stop(&tick_);
    return ok;
  }
  void RunFor(int ms) {
    RunUntil([] { return false; }, ms);
  }
  bool Wait(const std::shared_ptr<Outcome>& outcome, int timeout_ms = 5000) {
    return RunUntil([&] { return outcome->calls > 0; }, timeout_ms);
  }

  // Closes the ticker, runs the loop dry, and returns uv_loop_close() (0 when nothing leaked).
  int Finish() {
    uv_close(reinterpret_cast<uv_handle_t*>(&tick_), nullptr);
    uv_run(&loop_, UV_RUN_DEFAULT);
    return uv_loop_close(&loop_);
  }

 private:
  uv_loop_t loop_;
  uv_timer_t tick_;
};

}  // namespace flightcache::origin::testing
