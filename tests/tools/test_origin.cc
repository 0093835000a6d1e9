// test_origin.cc — a tiny RESP server on libuv that tests use as a scriptable origin.
//
// GET key answers by prefix: "missing:" -> nil, "error:" -> -ERR, "garbage:" -> bytes that are
// not RESP; anything else -> "value:<key>" (padded with '.' to --value-size bytes when that is
// larger) or the value stored by SET. Every GET reply is
// delayed by --delay-ms (changeable with DELAY ms) using one uv timer over a queue of
// (ready time, connection id); replies on a connection always leave in request order.
// Other commands: SET, DEL, PING, AUTH, SELECT (accept anything), COUNT key, COUNTS,
// RESETCOUNTS, DELAY ms, HANG / UNHANG (stop / resume answering everything; UNHANG must come
// on a connection with nothing queued before it), QUIT.
// The gate, for tests that must not depend on the machine's speed: after GATE, every GET is
// counted and answered into its connection's queue but held there (with every reply queued
// behind it) until RELEASE; HELD answers how many GET replies are held now. A test closes the
// gate, sends its requests, waits until HELD (or the server's own counters) shows they all
// arrived, then releases. --port 0 picks a free port; the port
// is printed as "PORT <n>" on stdout. Exits cleanly on SIGINT/SIGTERM.
#include <uv.h>

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <map>
#include <memory>
#include <queue>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace {

struct Reply {
  uint64_t ready_at;  // uv_now() time from which it may be written
  std::string bytes;
  bool held = false;  // a GET answered while the gate was closed: waits for RELEASE
};

struct Conn {
  uint64_t id = 0;
  uv_tcp_t tcp{};
  std::string in;
  std::deque<Reply> out;
  bool closing = false;
  bool quit = false;  // QUIT seen: read nothing more, shut down once out is written
};

struct WriteReq {
  uv_write_t req;
  std::string data;
};

enum class ParseStatus { kNeedMore, kOk, kError };

struct Server {
  uv_loop_t* loop = nullptr;
  uv_tcp_t listener{};
  uv_timer_t timer{};
  uv_signal_t sigint{};
  uv_signal_t sigterm{};
  uint64_t next_conn_id = 1;
  std::unordered_map<uint64_t, std::unique_ptr<Conn>> conns;
  // (ready time, connection id): when a connection's first queued reply becomes writable.
  std::priority_queue<std::pair<uint64_t, uint64_t>, std::vector<std::pair<uint64_t, uint64_t>>,
                      std::greater<>>
      wakeups;
  std::unordered_map<std::string, long long> counts;
  long long total_gets = 0;
  std::unordered_map<std::string, std::string> values;
  uint64_t delay_ms = 0;
  size_t value_size = 0;  // --value-size: default values are padded to this many bytes
  bool gated = false;     // GATE .. RELEASE: GET replies are held
  bool hung = false;
  bool stopping = false;
};

Server g_server;

// Replies are built with append(): GCC 12 -O3 gives a false -Wrestrict on "x" + std::string&&.
std::string Bulk(std::string_view s) {
  std::string out("$");
  out.append(std::to_string(s.size())).append("\r\n").append(s).append("\r\n");
  return out;
}
std::string Integer(long long n) {
  std::string out(":");
  out.append(std::to_string(n)).append("\r\n");
  return out;
}

std::string Upper(std::string s) {
  for (char& c : s) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return s;
}

// Parses one command (multibulk, or an inline line for humans with nc) from the front of in.
ParseStatus ParseCommand(std::string_view in, std::vector<std::string>* args, size_t* consumed) {
  args->clear();
  size_t eol = in.find("\r\n");
  if (eol == std::string_view::npos)
    return in.size() > 65536 ? ParseStatus::kError : ParseStatus::kNeedMore;
  if (in[0] != '*') {
    std::string_view line = in.substr(0, eol);
    size_t pos = 0;
    while (pos < line.size()) {
      while (pos < line.size() && line[pos] == ' ') ++pos;
      size_t end = line.find(' ', pos);
      if (end == std::string_view::npos) end = line.size();
      if (end > pos) args->emplace_back(line.substr(pos, end - pos));
      pos = end;
    }
    *consumed = eol + 2;
    return ParseStatus::kOk;
  }
  long count = std::strtol(std::string(in.substr(1, eol - 1)).c_str(), nullptr, 10);
  if (count < 0 || count > 1024) return ParseStatus::kError;
  size_t pos = eol + 2;
  for (long i = 0; i < count; ++i) {
    size_t line_end = in.find("\r\n", pos);
    if (line_end == std::string_view::npos) return ParseStatus::kNeedMore;
    if (in[pos] != '$') return ParseStatus::kError;
    long len =
        std::strtol(std::string(in.substr(pos + 1, line_end - pos - 1)).c_str(), nullptr, 10);
    if (len < 0 || len > (64 << 20)) return ParseStatus::kError;
    size_t data = line_end + 2;
    if (in.size() < data + static_cast<size_t>(len) + 2) return ParseStatus::kNeedMore;
    args->emplace_back(in.substr(data, static_cast<size_t>(len)));
    pos = data + static_cast<size_t>(len) + 2;
  }
  *consumed = pos;
  return ParseStatus::kOk;
}

void ArmTimer();
void CloseConn(Conn* conn);

void OnWritten(uv_write_t* req, int /*status*/) { delete reinterpret_cast<WriteReq*>(req); }

void OnShutdown(uv_shutdown_t* req, int /*status*/) {
  auto* conn = static_cast<Conn*>(req->data);
  delete req;
  CloseConn(conn);
}

void Write(Conn* conn, std::string data) {
  auto* write = new WriteReq;
  write->data = std::move(data);
  uv_buf_t buf = uv_buf_init(write->data.data(), static_cast<unsigned>(write->data.size()));
  if (uv_write(&write->req, reinterpret_cast<uv_stream_t*>(&conn->tcp), &buf, 1, OnWritten) != 0) {
    delete write;
    CloseConn(conn);
  }
}

// Writes every reply at the front of conn's queue whose time has come, in one write.
void FlushReady(Conn* conn) {
  if (conn->closing || g_server.hung) return;
  uint64_t now = uv_now(g_server.loop);
  std::string batch;
  while (!conn->out.empty() && !conn->out.front().held && conn->out.front().ready_at <= now) {
    batch += conn->out.front().bytes;
    conn->out.pop_front();
  }
  if (!batch.empty()) Write(conn, std::move(batch));
  if (!conn->out.empty() && !conn->out.front().held) {
    g_server.wakeups.emplace(conn->out.front().ready_at, conn->id);
    ArmTimer();
  } else if (conn->out.empty() && conn->quit && !conn->closing) {
    auto* req = new uv_shutdown_t;
    req->data = conn;
    if (uv_shutdown(req, reinterpret_cast<uv_stream_t*>(&conn->tcp), OnShutdown) != 0) {
      delete req;
      CloseConn(conn);
    }
  }
}

void OnTimer(uv_timer_t* /*timer*/) {
  uint64_t now = uv_now(g_server.loop);
  std::vector<uint64_t> due;
  while (!g_server.wakeups.empty() && g_server.wakeups.top().first <= now) {
    due.push_back(g_server.wakeups.top().second);
    g_server.wakeups.pop();
  }
  for (uint64_t id : due) {
    auto it = g_server.conns.find(id);  // the client may have gone while its reply waited
    if (it != g_server.conns.end()) FlushReady(it->second.get());
  }
  ArmTimer();
}

void ArmTimer() {
  if (g_server.stopping || g_server.wakeups.empty()) return;
  uint64_t now = uv_now(g_server.loop);
  uint64_t at = g_server.wakeups.top().first;
  uv_timer_start(&g_server.timer, OnTimer, at > now ? at - now : 0, 0);
}

std::string GetReply(const std::string& key) {
  ++g_server.counts[key];
  ++g_server.total_gets;
  auto it = g_server.values.find(key);
  if (it != g_server.values.end()) return Bulk(it->second);
  if (key.rfind("missing:", 0) == 0) return "$-1\r\n";
  if (key.rfind("error:", 0) == 0) return "-ERR test origin error\r\n";
  if (key.rfind("garbage:", 0) == 0) return "?garbage\r\n";
  std::string value = "value:" + key;
  if (value.size() < g_server.value_size) value.resize(g_server.value_size, '.');
  return Bulk(value);
}

void ProcessAll();

// RELEASE: opens the gate and lets every held reply go (each at its own ready time).
void ReleaseGate() {
  g_server.gated = false;
  std::vector<uint64_t> ids;
  for (auto& [id, conn] : g_server.conns) {
    for (Reply& reply : conn->out) reply.held = false;
    ids.push_back(id);
  }
  for (uint64_t id : ids) {
    auto it = g_server.conns.find(id);
    if (it != g_server.conns.end()) FlushReady(it->second.get());
  }
}

// HELD: how many GET replies wait behind the gate now.
long long HeldReplies() {
  long long held = 0;
  for (auto& [id, conn] : g_server.conns) {
    for (const Reply& reply : conn->out) held += reply.held;
  }
  return held;
}

// Runs one command; returns its reply and when it may be written.
Reply Execute(Conn* conn, const std::vector<std::string>& args) {
  uint64_t now = uv_now(g_server.loop);
  if (args.empty()) return {now, "-ERR empty command\r\n"};
  std::string cmd = Upper(args[0]);
  auto arity = [&](size_t n) { return args.size() == n; };
  if (cmd == "GET" && arity(2)) {
    return {now + g_server.delay_ms, GetReply(args[1]), g_server.gated};
  }
  if (cmd == "GATE" && arity(1)) {
    g_server.gated = true;
    return {now, "+OK\r\n"};
  }
  if (cmd == "RELEASE" && arity(1)) {
    ReleaseGate();
    return {now, "+OK\r\n"};
  }
  if (cmd == "HELD" && arity(1)) return {now, Integer(HeldReplies())};
  if (cmd == "SET" && arity(3)) {
    g_server.values[args[1]] = args[2];
    return {now, "+OK\r\n"};
  }
  if (cmd == "DEL" && arity(2))
    return {now, Integer(static_cast<long long>(g_server.values.erase(args[1])))};
  if (cmd == "PING") return {now, arity(2) ? Bulk(args[1]) : "+PONG\r\n"};
  if (cmd == "AUTH" || cmd == "SELECT") return {now, "+OK\r\n"};
  if (cmd == "COUNT" && arity(2)) {
    auto it = g_server.counts.find(args[1]);
    return {now, Integer(it == g_server.counts.end() ? 0 : it->second)};
  }
  if (cmd == "COUNTS" && arity(1)) return {now, Integer(g_server.total_gets)};
  if (cmd == "RESETCOUNTS" && arity(1)) {
    g_server.counts.clear();
    g_server.total_gets = 0;
    return {now, "+OK\r\n"};
  }
  if (cmd == "DELAY" && arity(2)) {
    g_server.delay_ms = std::strtoull(args[1].c_str(), nullptr, 10);
    return {now, "+OK\r\n"};
  }
  if (cmd == "HANG" && arity(1)) {
    // Answered before hanging, so the test that sent it knows it took effect.
    Write(conn, "+OK\r\n");
    g_server.hung = true;
    return {0, ""};
  }
  if (cmd == "UNHANG" && arity(1)) {
    g_server.hung = false;
    return {now, "+OK\r\n"};
  }
  if (cmd == "QUIT") {
    conn->quit = true;
    return {now, "+OK\r\n"};
  }
  return {now, "-ERR unknown command or wrong number of arguments for '" + args[0] + "'\r\n"};
}

void ProcessInput(Conn* conn) {
  std::vector<std::string> args;
  size_t offset = 0;
  bool was_hung = g_server.hung;
  while (!conn->closing && !conn->quit && offset < conn->in.size()) {
    size_t consumed = 0;
    ParseStatus status = ParseCommand(std::string_view(conn->in).substr(offset), &args, &consumed);
    if (status == ParseStatus::kNeedMore) break;
    if (status == ParseStatus::kError) {
      Write(conn, "-ERR Protocol error\r\n");
      CloseConn(conn);
      return;
    }
    if (g_server.hung && !(args.size() == 1 && Upper(args[0]) == "UNHANG")) break;
    offset += consumed;
    Reply reply = Execute(conn, args);
    if (!reply.bytes.empty()) conn->out.push_back(std::move(reply));
  }
  conn->in.erase(0, offset);
  FlushReady(conn);
  if (was_hung && !g_server.hung) ProcessAll();
}

// After UNHANG: every connection resumes its held input and queued replies.
void ProcessAll() {
  std::vector<uint64_t> ids;
  for (auto& [id, conn] : g_server.conns) ids.push_back(id);
  for (uint64_t id : ids) {
    auto it = g_server.conns.find(id);
    if (it != g_server.conns.end()) ProcessInput(it->second.get());
  }
}

void OnConnClosed(uv_handle_t* handle) {
  auto* conn = static_cast<Conn*>(handle->data);
  g_server.conns.erase(conn->id);  // frees conn
}

void CloseConn(Conn* conn) {
  if (conn->closing) return;
  conn->closing = true;
  uv_close(reinterpret_cast<uv_handle_t*>(&conn->tcp), OnConnClosed);
}

void OnAlloc(uv_handle_t* /*handle*/, size_t /*suggested*/, uv_buf_t* buf) {
  static char buffer[64 * 1024];
  *buf = uv_buf_init(buffer, sizeof(buffer));
}

void OnRead(uv_stream_t* stream, ssize_t nread, const uv_buf_t* buf) {
  auto* conn = static_cast<Conn*>(stream->data);
  if (nread < 0) {
    CloseConn(conn);
    return;
  }
  if (conn->closing || conn->quit) return;
  conn->in.append(buf->base, static_cast<size_t>(nread));
  ProcessInput(conn);
}

void OnConnection(uv_stream_t* listener, int status) {
  if (status < 0) return;
  auto conn = std::make_unique<Conn>();
  conn->id = g_server.next_conn_id++;
  uv_tcp_init(g_server.loop, &conn->tcp);
  conn->tcp.data = conn.get();
  Conn* raw = conn.get();
  g_server.conns.emplace(raw->id, std::move(conn));
  if (uv_accept(listener, reinterpret_cast<uv_stream_t*>(&raw->tcp)) != 0 ||
      uv_read_start(reinterpret_cast<uv_stream_t*>(&raw->tcp), OnAlloc, OnRead) != 0) {
    CloseConn(raw);
    return;
  }
  uv_tcp_nodelay(&raw->tcp, 1);
}

void OnSignal(uv_signal_t* /*signal*/, int /*signum*/) {
  g_server.stopping = true;
  uv_close(reinterpret_cast<uv_handle_t*>(&g_server.listener), nullptr);
  uv_close(reinterpret_cast<uv_handle_t*>(&g_server.timer), nullptr);
  uv_close(reinterpret_cast<uv_handle_t*>(&g_server.sigint), nullptr);
  uv_close(reinterpret_cast<uv_handle_t*>(&g_server.sigterm), nullptr);
  std::vector<Conn*> all;
  for (auto& [id, conn] : g_server.conns) all.push_back(conn.get());
  for (Conn* conn : all) CloseConn(conn);
}

int Usage(const char* argv0) {
  std::fprintf(stderr,
               "usage: %s [--port P (0 = any)] [--delay-ms D] [--value-size N] [--bind ADDR]\n",
               argv0);
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  int port = 0;
  std::string bind = "127.0.0.1";
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    std::string value;
    size_t eq = arg.find('=');
    if (eq != std::string::npos) {
      value = arg.substr(eq + 1);
      arg = arg.substr(0, eq);
    } else if (i + 1 < argc) {
      value = argv[++i];
    } else {
      return Usage(argv[0]);
    }
    if (arg == "--port") {
      port = std::atoi(value.c_str());
    } else if (arg == "--delay-ms") {
      g_server.delay_ms = std::strtoull(value.c_str(), nullptr, 10);
    } else if (arg == "--value-size") {
      g_server.value_size = std::strtoull(value.c_str(), nullptr, 10);
    } else if (arg == "--bind") {
      bind = value;
    } else {
      return Usage(argv[0]);
    }
  }
  if (port < 0 || port > 65535) return Usage(argv[0]);

  uv_loop_t loop;
  uv_loop_init(&loop);
  g_server.loop = &loop;
  uv_tcp_init(&loop, &g_server.listener);
  uv_timer_init(&loop, &g_server.timer);
  sockaddr_storage addr{};
  int rc = bind.find(':') != std::string::npos
               ? uv_ip6_addr(bind.c_str(), port, reinterpret_cast<sockaddr_in6*>(&addr))
               : uv_ip4_addr(bind.c_str(), port, reinterpret_cast<sockaddr_in*>(&addr));
  if (rc == 0) rc = uv_tcp_bind(&g_server.listener, reinterpret_cast<sockaddr*>(&addr), 0);
  if (rc == 0) {
    rc = uv_listen(reinterpret_cast<uv_stream_t*>(&g_server.listener), 512, OnConnection);
  }
  if (rc != 0) {
    std::fprintf(stderr, "test_origin: cannot listen on %s:%d: %s\n", bind.c_str(), port,
                 uv_strerror(rc));
    return 1;
  }
  sockaddr_storage bound{};
  int len = sizeof(bound);
  uv_tcp_getsockname(&g_server.listener, reinterpret_cast<sockaddr*>(&bound), &len);
  int bound_port =
      ntohs(bound.ss_family == AF_INET6 ? reinterpret_cast<sockaddr_in6*>(&bound)->sin6_port
                                        : reinterpret_cast<sockaddr_in*>(&bound)->sin_port);
  std::printf("PORT %d\n", bound_port);
  std::fflush(stdout);

  uv_signal_init(&loop, &g_server.sigint);
  uv_signal_init(&loop, &g_server.sigterm);
  uv_signal_start(&g_server.sigint, OnSignal, SIGINT);
  uv_signal_start(&g_server.sigterm, OnSignal, SIGTERM);
  uv_run(&loop, UV_RUN_DEFAULT);
  g_server.conns.clear();
  return uv_loop_close(&loop) == 0 ? 0 : 1;
}
