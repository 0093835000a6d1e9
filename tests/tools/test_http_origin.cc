// test_http_origin.cc — a small HTTP/1.1 server on libuv that tests use as an http:// origin.
//
// Every GET is answered by the last segment of its path, as sent (still percent-encoded):
//   missing...    → 404          gone...      → 410        status-NNN... → NNN
//   maxage-N-...  → 200 with "Cache-Control: public, max-age=N"
//   nostore...    → 200 with "Cache-Control: no-store"
//   swr-N-M-...   → 200 with "Cache-Control: max-age=N, stale-while-revalidate=M"
//   anything else → 200
// and the body of a 200 is "value:" followed by the request target exactly as it arrived, so a
// test sees what path reached the server. Connections are kept alive (HTTP/1.1; closed after
// a reply only when the request says "Connection: close"); requests on one connection are
// answered in order.
// Control requests, under /_control/, are never held and answer a number or "OK":
//   gate      hold every origin reply (and the replies behind it on its connection)
//   release   let the held replies go
//   held      how many origin replies are held now
//   requests  origin requests received; count/<target> those for one target (e.g.
//             count/items/a%20b for /items/a%20b)
//   connections  connections that carried at least one origin request
// Tests close the gate, start fetches, wait until `held` (or the cache's INFO) shows they
// arrived, and release: nothing depends on the machine's speed. --port 0 picks a free port,
// printed as "PORT <n>". Exits cleanly on SIGINT/SIGTERM.
#include <uv.h>

#include <cctype>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace {

struct Reply {
  std::string bytes;
  bool held = false;
  bool close_after = false;
};

struct Conn {
  uint64_t id = 0;
  uv_tcp_t tcp{};
  std::string in;
  std::deque<Reply> out;
  bool counted = false;  // carried an origin request
  bool closing = false;
  bool done = false;  // a reply with close_after was written: read nothing more
};

struct WriteReq {
  uv_write_t req;
  std::string data;
};

struct Server {
  uv_loop_t* loop = nullptr;
  uv_tcp_t listener{};
  uv_signal_t sigint{};
  uv_signal_t sigterm{};
  uint64_t next_conn_id = 1;
  std::unordered_map<uint64_t, std::unique_ptr<Conn>> conns;
  std::unordered_map<std::string, long long> counts;  // by request target
  long long requests = 0;
  long long connections = 0;
  bool gated = false;
};

Server g_server;

void CloseConn(Conn* conn);

std::string Response(int status, std::string_view body, std::string_view extra_headers,
                     bool close) {
  std::string out("HTTP/1.1 ");
  out.append(std::to_string(status)).append(status == 200 ? " OK" : " Status").append("\r\n");
  out.append("Content-Length: ").append(std::to_string(body.size())).append("\r\n");
  out.append(extra_headers);
  if (close) out.append("Connection: close\r\n");
  out.append("\r\n").append(body);
  return out;
}

void OnWritten(uv_write_t* req, int /*status*/) { delete reinterpret_cast<WriteReq*>(req); }

// Writes the replies at the front of conn's queue that are not held.
void Flush(Conn* conn) {
  while (!conn->out.empty() && !conn->out.front().held && !conn->closing) {
    Reply reply = std::move(conn->out.front());
    conn->out.pop_front();
    auto* write = new WriteReq{{}, std::move(reply.bytes)};
    uv_buf_t buf = uv_buf_init(write->data.data(), static_cast<unsigned>(write->data.size()));
    if (uv_write(&write->req, reinterpret_cast<uv_stream_t*>(&conn->tcp), &buf, 1, OnWritten) !=
        0) {
      delete write;
      CloseConn(conn);
      return;
    }
    if (reply.close_after) {
      conn->done = true;
      CloseConn(conn);  // shuts down after the write, then closes
      return;
    }
  }
}

long long Held() {
  long long held = 0;
  for (auto& [id, conn] : g_server.conns) {
    for (const Reply& reply : conn->out) held += reply.held ? 1 : 0;
  }
  return held;
}

std::string Control(std::string_view what) {
  if (what == "gate") {
    g_server.gated = true;
    return "OK";
  }
  if (what == "release") {
    g_server.gated = false;
    std::vector<Conn*> all;
    for (auto& [id, conn] : g_server.conns) all.push_back(conn.get());
    for (Conn* conn : all) {
      for (Reply& reply : conn->out) reply.held = false;
    }
    for (Conn* conn : all) Flush(conn);
    return "OK";
  }
  if (what == "held") return std::to_string(Held());
  if (what == "requests") return std::to_string(g_server.requests);
  if (what == "connections") return std::to_string(g_server.connections);
  if (what.substr(0, 6) == "count/") {
    auto it = g_server.counts.find("/" + std::string(what.substr(6)));
    return std::to_string(it == g_server.counts.end() ? 0 : it->second);
  }
  return "unknown control";
}

// The reply to an origin request for target (see the top of this file).
std::string Answer(const std::string& target, bool close) {
  const size_t slash = target.rfind('/');
  const std::string_view segment =
      std::string_view(target).substr(slash == std::string::npos ? 0 : slash + 1);
  auto starts = [&](std::string_view prefix) { return segment.substr(0, prefix.size()) == prefix; };
  if (starts("missing")) return Response(404, "not found", "", close);
  if (starts("gone")) return Response(410, "gone", "", close);
  if (starts("status-")) {
    const int status = std::atoi(std::string(segment.substr(7, 3)).c_str());
    return Response(status, "status", "", close);
  }
  const std::string body = "value:" + target;
  if (starts("maxage-")) {
    const std::string seconds(segment.substr(7, segment.find('-', 7) - 7));
    return Response(200, body, "Cache-Control: public, max-age=" + seconds + "\r\n", close);
  }
  if (starts("swr-")) {  // swr-N-M-...: max-age=N, stale-while-revalidate=M (RFC 5861)
    const size_t second = segment.find('-', 4);
    const std::string max_age(segment.substr(4, second - 4));
    const std::string window(
        segment.substr(second + 1, segment.find('-', second + 1) - second - 1));
    return Response(
        200, body,
        "Cache-Control: max-age=" + max_age + ", stale-while-revalidate=" + window + "\r\n", close);
  }
  if (starts("nostore")) return Response(200, body, "Cache-Control: no-store\r\n", close);
  return Response(200, body, "", close);
}

// Handles every whole request at the front of conn->in.
void HandleInput(Conn* conn) {
  while (!conn->done && !conn->closing) {
    const size_t end = conn->in.find("\r\n\r\n");
    if (end == std::string::npos) {
      if (conn->in.size() > 65536) CloseConn(conn);
      return;
    }
    const std::string head = conn->in.substr(0, end);
    conn->in.erase(0, end + 4);
    const size_t sp1 = head.find(' ');
    const size_t sp2 = head.find(' ', sp1 + 1);
    if (sp1 == std::string::npos || sp2 == std::string::npos) {
      conn->out.push_back({Response(400, "bad request", "", true), false, true});
      Flush(conn);
      return;
    }
    const std::string target = head.substr(sp1 + 1, sp2 - sp1 - 1);
    std::string lower = head;
    for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    const bool close = lower.find("\r\nconnection: close") != std::string::npos;
    if (target.rfind("/_control/", 0) == 0) {
      conn->out.push_back({Response(200, Control(target.substr(10)), "", close), false, close});
    } else {
      ++g_server.requests;
      ++g_server.counts[target];
      if (!conn->counted) {
        conn->counted = true;
        ++g_server.connections;
      }
      conn->out.push_back({Answer(target, close), g_server.gated, close});
    }
    Flush(conn);
  }
}

void OnConnClosed(uv_handle_t* handle) {
  auto* conn = static_cast<Conn*>(handle->data);
  g_server.conns.erase(conn->id);
}

void OnShutdown(uv_shutdown_t* req, int /*status*/) {
  auto* conn = static_cast<Conn*>(req->data);
  delete req;
  if (!conn->closing) {
    conn->closing = true;
    uv_close(reinterpret_cast<uv_handle_t*>(&conn->tcp), OnConnClosed);
  }
}

void CloseConn(Conn* conn) {
  if (conn->closing) return;
  if (conn->done) {
    // After a "Connection: close" reply: shut down once the write has gone, then close.
    uv_read_stop(reinterpret_cast<uv_stream_t*>(&conn->tcp));
    auto* req = new uv_shutdown_t;
    req->data = conn;
    if (uv_shutdown(req, reinterpret_cast<uv_stream_t*>(&conn->tcp), OnShutdown) == 0) return;
    delete req;
  }
  conn->closing = true;
  uv_close(reinterpret_cast<uv_handle_t*>(&conn->tcp), OnConnClosed);
}

void OnAlloc(uv_handle_t* /*handle*/, size_t /*suggested*/, uv_buf_t* buf) {
  static char buffer[65536];
  *buf = uv_buf_init(buffer, sizeof(buffer));
}

void OnRead(uv_stream_t* stream, ssize_t nread, const uv_buf_t* buf) {
  auto* conn = static_cast<Conn*>(stream->data);
  if (nread < 0) {
    conn->done = false;
    CloseConn(conn);
    return;
  }
  conn->in.append(buf->base, static_cast<size_t>(nread));
  HandleInput(conn);
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
  uv_close(reinterpret_cast<uv_handle_t*>(&g_server.listener), nullptr);
  uv_close(reinterpret_cast<uv_handle_t*>(&g_server.sigint), nullptr);
  uv_close(reinterpret_cast<uv_handle_t*>(&g_server.sigterm), nullptr);
  std::vector<Conn*> all;
  for (auto& [id, conn] : g_server.conns) all.push_back(conn.get());
  for (Conn* conn : all) {
    conn->done = false;
    CloseConn(conn);
  }
}

}  // namespace

int main(int argc, char** argv) {
  int port = 0;
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--port") == 0 && i + 1 < argc) {
      port = std::atoi(argv[++i]);
    } else {
      std::fprintf(stderr, "usage: %s [--port P (0 = any)]\n", argv[0]);
      return 2;
    }
  }
  uv_loop_t loop;
  uv_loop_init(&loop);
  g_server.loop = &loop;
  uv_tcp_init(&loop, &g_server.listener);
  sockaddr_in addr{};
  int rc = uv_ip4_addr("127.0.0.1", port, &addr);
  if (rc == 0) rc = uv_tcp_bind(&g_server.listener, reinterpret_cast<sockaddr*>(&addr), 0);
  if (rc == 0) {
    rc = uv_listen(reinterpret_cast<uv_stream_t*>(&g_server.listener), 512, OnConnection);
  }
  if (rc != 0) {
    std::fprintf(stderr, "test_http_origin: cannot listen on port %d: %s\n", port, uv_strerror(rc));
    return 1;
  }
  sockaddr_in bound{};
  int len = sizeof(bound);
  uv_tcp_getsockname(&g_server.listener, reinterpret_cast<sockaddr*>(&bound), &len);
  std::printf("PORT %d\n", ntohs(bound.sin_port));
  std::fflush(stdout);
  uv_signal_init(&loop, &g_server.sigint);
  uv_signal_init(&loop, &g_server.sigterm);
  uv_signal_start(&g_server.sigint, OnSignal, SIGINT);
  uv_signal_start(&g_server.sigterm, OnSignal, SIGTERM);
  uv_run(&loop, UV_RUN_DEFAULT);
  g_server.conns.clear();
  return uv_loop_close(&loop) == 0 ? 0 : 1;
}
