// cache_load.cc — one load client for two protocols, for `scripts/bench nginx`.
//
// The same libuv loop, connections and timing drive either flightcache (RESP: GET <key>) or an
// HTTP cache such as nginx (HTTP/1.1 keep-alive: GET <path>), so that the two are measured by
// equivalent clients. Two loads:
//   --load storm  every client connects, then all send one request at once (a miss storm on a
//                 cold key); latency from that common start to each reply
//   --load loop   every client sends its next request when the reply arrives, for --seconds S
// Prints one line: requests, errors, p50/p99/max latency in ms, and origin_fetches, the test
// HTTP origin's request count (GET /_control/requests) after the run minus before it.
// Bounded: --deadline-s (default 60) stops the loop whatever happens; exit 1 on errors or an
// unfinished run, 2 on bad arguments.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>
#include <uv.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

namespace {

int64_t NowMicros() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

struct Run {
  bool http = false;
  bool storm = false;
  std::string request;  // the bytes of one request
  int64_t end_us = 0;
  int connected = 0;
  int clients = 0;
  int running = 0;
  long long errors = 0;
  std::vector<int32_t> latencies_us;
  uv_timer_t deadline{};
};

struct Client {
  Run* run = nullptr;
  uv_tcp_t tcp{};
  uv_connect_t connect{};
  uv_write_t write{};
  std::string in;
  int64_t sent_us = 0;
  bool done = false;
};

void OnClosed(uv_handle_t*) {}

void Finish(Client* c) {
  if (c->done) return;
  c->done = true;
  --c->run->running;
  uv_close(reinterpret_cast<uv_handle_t*>(&c->tcp), OnClosed);
  if (c->run->running == 0) uv_close(reinterpret_cast<uv_handle_t*>(&c->run->deadline), nullptr);
}

void OnWritten(uv_write_t* req, int status) {
  auto* c = static_cast<Client*>(req->data);
  if (status < 0) {
    ++c->run->errors;
    Finish(c);
  }
}

void Send(Client* c, int64_t sent_us) {
  c->sent_us = sent_us;
  uv_buf_t buf = uv_buf_init(c->run->request.data(), static_cast<unsigned>(c->run->request.size()));
  c->write.data = c;
  if (uv_write(&c->write, reinterpret_cast<uv_stream_t*>(&c->tcp), &buf, 1, OnWritten) != 0) {
    ++c->run->errors;
    Finish(c);
  }
}

// Returns the length of one whole reply at the front of in, 0 when more bytes are needed, or
// -1 for a reply that is not a value (an error, nil, an HTTP status other than 200, no
// Content-Length); *ok tells a value from a bad reply.
long ReplyLength(const std::string& in, bool http, bool* ok) {
  *ok = false;
  if (http) {
    const size_t end = in.find("\r\n\r\n");
    if (end == std::string::npos) return 0;
    std::string head = in.substr(0, end);
    for (char& ch : head) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
    const size_t cl = head.find("\r\ncontent-length:");
    if (cl == std::string::npos) return -1;
    const long body = std::atol(head.c_str() + cl + 17);
    if (in.size() < end + 4 + static_cast<size_t>(body)) return 0;
    *ok = head.rfind("http/1.1 200", 0) == 0;
    return static_cast<long>(end + 4) + body;
  }
  const size_t crlf = in.find("\r\n");
  if (crlf == std::string::npos) return 0;
  if (in[0] != '$') return static_cast<long>(crlf + 2);  // error or other type: not a value
  const long body = std::atol(in.c_str() + 1);
  if (body < 0) return static_cast<long>(crlf + 2);  // nil
  if (in.size() < crlf + 2 + static_cast<size_t>(body) + 2) return 0;
  *ok = true;
  return static_cast<long>(crlf + 2 + body + 2);
}

void OnAlloc(uv_handle_t*, size_t, uv_buf_t* buf) {
  static char buffer[65536];
  *buf = uv_buf_init(buffer, sizeof(buffer));
}

void OnRead(uv_stream_t* stream, ssize_t nread, const uv_buf_t* buf) {
  auto* c = static_cast<Client*>(stream->data);
  if (nread < 0) {
    ++c->run->errors;
    Finish(c);
    return;
  }
  c->in.append(buf->base, static_cast<size_t>(nread));
  bool ok = false;
  const long length = ReplyLength(c->in, c->run->http, &ok);
  if (length == 0) return;
  const int64_t now = NowMicros();
  c->run->latencies_us.push_back(static_cast<int32_t>(now - c->sent_us));
  if (!ok || length < 0) ++c->run->errors;
  c->in.erase(0, length < 0 ? c->in.size() : static_cast<size_t>(length));
  if (c->run->storm || now >= c->run->end_us || length < 0) {
    Finish(c);
    return;
  }
  Send(c, now);
}

void OnConnected(uv_connect_t* req, int status) {
  auto* c = static_cast<Client*>(req->data);
  Run* run = c->run;
  if (status < 0 || uv_read_start(reinterpret_cast<uv_stream_t*>(&c->tcp), OnAlloc, OnRead) != 0) {
    ++run->errors;
    Finish(c);
    return;
  }
  uv_tcp_nodelay(&c->tcp, 1);
  if (!run->storm) {
    Send(c, NowMicros());
    return;
  }
  ++run->connected;
}

void OnDeadline(uv_timer_t* timer) {
  auto* clients = static_cast<std::vector<std::unique_ptr<Client>>*>(timer->data);
  for (auto& c : *clients) {
    if (!c->done) ++c->run->errors;
    Finish(c.get());
  }
}

// Returns the test HTTP origin's request count (GET /_control/requests), or -1 on failure.
long long OriginRequests(int port) {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return -1;
  timeval tv{10, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  long long n = -1;
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0) {
    const char req[] = "GET /_control/requests HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
    if (write(fd, req, sizeof(req) - 1) == static_cast<ssize_t>(sizeof(req) - 1)) {
      std::string in;
      char buf[4096];
      ssize_t got;
      while ((got = read(fd, buf, sizeof(buf))) > 0) in.append(buf, static_cast<size_t>(got));
      const size_t end = in.find("\r\n\r\n");
      if (end != std::string::npos) n = std::atoll(in.c_str() + end + 4);
    }
  }
  close(fd);
  return n;
}

double Percentile(std::vector<int32_t>& v, double p) {
  if (v.empty()) return 0;
  const size_t i = std::min(v.size() - 1, static_cast<size_t>(p / 100.0 * (v.size() - 1) + 0.5));
  std::nth_element(v.begin(), v.begin() + static_cast<long>(i), v.end());
  return v[i] / 1000.0;
}

int Usage() {
  std::fprintf(stderr,
               "usage: cache_load --protocol resp|http --port P --origin-port O --target T\n"
               "  [--load storm|loop] [--clients N] [--seconds S] [--deadline-s D]\n"
               "  (T: the key for resp, the path for http)\n");
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  int port = 0, origin = 0, clients = 200;
  double seconds = 10, deadline_s = 60;
  std::string protocol, target, load = "loop";
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string a = argv[i];
    if (a == "--protocol") {
      protocol = argv[i + 1];
    } else if (a == "--port") {
      port = std::atoi(argv[i + 1]);
    } else if (a == "--origin-port") {
      origin = std::atoi(argv[i + 1]);
    } else if (a == "--target") {
      target = argv[i + 1];
    } else if (a == "--load") {
      load = argv[i + 1];
    } else if (a == "--clients") {
      clients = std::atoi(argv[i + 1]);
    } else if (a == "--seconds") {
      seconds = std::atof(argv[i + 1]);
    } else if (a == "--deadline-s") {
      deadline_s = std::atof(argv[i + 1]);
    } else {
      return Usage();
    }
  }
  if ((protocol != "resp" && protocol != "http") || (load != "storm" && load != "loop") ||
      port <= 0 || origin <= 0 || clients <= 0 || seconds <= 0 || deadline_s <= 0 ||
      target.empty()) {
    return Usage();
  }
  Run run;
  run.http = protocol == "http";
  run.storm = load == "storm";
  run.clients = clients;
  if (run.http) {
    run.request = "GET " + target + " HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";
  } else {
    run.request = "*2\r\n$3\r\nGET\r\n$" + std::to_string(target.size()) + "\r\n" + target + "\r\n";
  }
  const long long before = OriginRequests(origin);
  uv_loop_t* loop = uv_default_loop();
  std::vector<std::unique_ptr<Client>> all;
  sockaddr_in addr{};
  uv_ip4_addr("127.0.0.1", port, &addr);
  const int64_t start_us = NowMicros();
  run.end_us = start_us + static_cast<int64_t>(seconds * 1e6);
  uv_timer_init(loop, &run.deadline);
  run.deadline.data = &all;
  uv_timer_start(&run.deadline, OnDeadline, static_cast<uint64_t>(deadline_s * 1000), 0);
  for (int i = 0; i < clients; ++i) {
    auto c = std::make_unique<Client>();
    c->run = &run;
    uv_tcp_init(loop, &c->tcp);
    c->tcp.data = c.get();
    c->connect.data = c.get();
    ++run.running;
    if (uv_tcp_connect(&c->connect, &c->tcp, reinterpret_cast<sockaddr*>(&addr), OnConnected) !=
        0) {
      ++run.errors;
      Finish(c.get());
    }
    all.push_back(std::move(c));
  }
  if (run.storm) {
    // Connect everyone first, then send all the requests in one turn of the loop.
    while (run.connected + static_cast<int>(run.errors) < clients &&
           NowMicros() < start_us + static_cast<int64_t>(deadline_s * 1e6)) {
      uv_run(loop, UV_RUN_ONCE);
    }
    const int64_t now = NowMicros();
    for (auto& c : all) {
      if (!c->done) Send(c.get(), now);
    }
  }
  uv_run(loop, UV_RUN_DEFAULT);
  const long long after = OriginRequests(origin);
  const size_t requests = run.latencies_us.size();
  const double p50 = Percentile(run.latencies_us, 50), p99 = Percentile(run.latencies_us, 99),
               max = Percentile(run.latencies_us, 100);
  std::printf("requests=%zu errors=%lld p50_ms=%.3f p99_ms=%.3f max_ms=%.3f origin_fetches=%lld\n",
              requests, run.errors, p50, p99, max, before < 0 || after < 0 ? -1 : after - before);
  return run.errors == 0 && before >= 0 && after >= 0 ? 0 : 1;
}
