// miss_storm.cc — the miss-storm load for scripts/bench: N clients GET K cold keys at once.
//
// Modes:
//   readthrough  each client sends GET to the target (flightcache with --origin) and is done
//                when the reply arrives;
//   cacheaside   each client GETs from the target (redis-server); on nil it GETs the key from
//                the origin itself and SETs it into the target, as an application would.
// Every client opens its connection first; then all requests go out in the same loop turn.
// Prints one line: clients, keys, errors, wrong values, latency p50/p99/max in ms, and the
// origin's GET count (read from the test origin's COUNTS before and after).
#include <hiredis/adapters/libuv.h>
#include <hiredis/async.h>
#include <hiredis/hiredis.h>
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

struct Options {
  int target_port = 0;
  int origin_port = 0;
  int clients = 1000;
  int keys = 10;
  bool cache_aside = false;
  std::string prefix = "storm:";
};

struct Client;

struct Run {
  Options opt;
  uv_loop_t* loop;
  std::vector<std::unique_ptr<Client>> clients;
  int connected = 0;
  int finished = 0;
  int errors = 0;
  int wrong = 0;
  std::vector<double> latencies_ms;
  uv_timer_t deadline;
};

struct Client {
  Run* run;
  int index;
  std::string key;
  redisAsyncContext* target = nullptr;
  redisAsyncContext* origin = nullptr;  // cache-aside only
  int64_t started_us = 0;
  bool done = false;
};

void Finish(Client* c, bool ok, bool correct) {
  if (c->done) return;
  c->done = true;
  Run* run = c->run;
  run->latencies_ms.push_back(static_cast<double>(NowMicros() - c->started_us) / 1000.0);
  if (!ok) ++run->errors;
  if (ok && !correct) ++run->wrong;
  ++run->finished;
  if (run->finished == static_cast<int>(run->clients.size())) {
    for (auto& cl : run->clients) {
      if (cl->target) redisAsyncDisconnect(cl->target);
      if (cl->origin) redisAsyncDisconnect(cl->origin);
      cl->target = cl->origin = nullptr;
    }
    uv_timer_stop(&run->deadline);
    uv_close(reinterpret_cast<uv_handle_t*>(&run->deadline), nullptr);
  }
}

std::string Expected(const Client* c) { return "value:" + c->key; }

void OnSet(redisAsyncContext*, void*, void*) {}

void OnOriginGet(redisAsyncContext*, void* r, void* priv) {
  auto* c = static_cast<Client*>(priv);
  auto* reply = static_cast<redisReply*>(r);
  if (!reply || reply->type != REDIS_REPLY_STRING) {
    Finish(c, false, false);
    return;
  }
  std::string value(reply->str, reply->len);
  // The application has its value now; the SET back into the cache follows.
  const char* argv[] = {"SET", c->key.c_str(), value.c_str()};
  size_t lens[] = {3, c->key.size(), value.size()};
  redisAsyncCommandArgv(c->target, OnSet, nullptr, 3, argv, lens);
  Finish(c, true, value == Expected(c));
}

void OnTargetGet(redisAsyncContext*, void* r, void* priv) {
  auto* c = static_cast<Client*>(priv);
  auto* reply = static_cast<redisReply*>(r);
  if (!reply || reply->type == REDIS_REPLY_ERROR) {
    Finish(c, false, false);
    return;
  }
  if (reply->type == REDIS_REPLY_NIL && c->run->opt.cache_aside) {
    const char* argv[] = {"GET", c->key.c_str()};
    size_t lens[] = {3, c->key.size()};
    redisAsyncCommandArgv(c->origin, OnOriginGet, c, 2, argv, lens);
    return;
  }
  bool correct =
      reply->type == REDIS_REPLY_STRING && std::string(reply->str, reply->len) == Expected(c);
  Finish(c, true, correct);
}

void StartAll(Run* run) {
  const int64_t now = NowMicros();
  for (auto& c : run->clients) {
    c->started_us = now;
    const char* argv[] = {"GET", c->key.c_str()};
    size_t lens[] = {3, c->key.size()};
    redisAsyncCommandArgv(c->target, OnTargetGet, c.get(), 2, argv, lens);
  }
}

void OnPing(redisAsyncContext*, void* r, void* priv) {
  auto* c = static_cast<Client*>(priv);
  if (!r) {
    std::fprintf(stderr, "miss_storm: client %d could not connect\n", c->index);
    std::exit(2);
  }
  if (++c->run->connected == static_cast<int>(c->run->clients.size())) StartAll(c->run);
}

redisAsyncContext* Connect(uv_loop_t* loop, int port) {
  redisAsyncContext* ac = redisAsyncConnect("127.0.0.1", port);
  if (!ac || ac->err) {
    std::fprintf(stderr, "miss_storm: connect to %d failed\n", port);
    std::exit(2);
  }
  redisLibuvAttach(ac, loop);
  return ac;
}

long long OriginCount(int port) {
  redisContext* c = redisConnect("127.0.0.1", port);
  if (!c || c->err) return -1;
  auto* reply = static_cast<redisReply*>(redisCommand(c, "COUNTS"));
  long long n = reply && reply->type == REDIS_REPLY_INTEGER ? reply->integer : -1;
  if (reply) freeReplyObject(reply);
  redisFree(c);
  return n;
}

double Percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  size_t i = static_cast<size_t>(p / 100.0 * static_cast<double>(v.size() - 1) + 0.5);
  return v[std::min(i, v.size() - 1)];
}

}  // namespace

int main(int argc, char** argv) {
  Options opt;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string a = argv[i];
    if (a == "--target-port")
      opt.target_port = std::atoi(argv[i + 1]);
    else if (a == "--origin-port")
      opt.origin_port = std::atoi(argv[i + 1]);
    else if (a == "--clients")
      opt.clients = std::atoi(argv[i + 1]);
    else if (a == "--keys")
      opt.keys = std::atoi(argv[i + 1]);
    else if (a == "--mode")
      opt.cache_aside = std::string(argv[i + 1]) == "cacheaside";
    else if (a == "--prefix")
      opt.prefix = argv[i + 1];
    else {
      std::fprintf(stderr,
                   "usage: miss_storm --target-port P --origin-port O [--clients N] "
                   "[--keys K] [--mode readthrough|cacheaside] [--prefix P]\n");
      return 2;
    }
  }
  if (opt.target_port <= 0 || opt.origin_port <= 0 || opt.clients <= 0 || opt.keys <= 0) {
    std::fprintf(stderr, "miss_storm: --target-port and --origin-port are required\n");
    return 2;
  }
  const long long before = OriginCount(opt.origin_port);
  Run run;
  run.opt = opt;
  run.loop = uv_default_loop();
  uv_timer_init(run.loop, &run.deadline);
  // Bounded: whatever happens, the run ends after 60 s.
  uv_timer_start(
      &run.deadline, [](uv_timer_t* t) { uv_stop(t->loop); }, 60000, 0);
  for (int i = 0; i < opt.clients; ++i) {
    auto c = std::make_unique<Client>();
    c->run = &run;
    c->index = i;
    c->key = opt.prefix + std::to_string(i % opt.keys);
    c->target = Connect(run.loop, opt.target_port);
    if (opt.cache_aside) c->origin = Connect(run.loop, opt.origin_port);
    redisAsyncCommand(c->target, OnPing, c.get(), "PING");
    run.clients.push_back(std::move(c));
  }
  uv_run(run.loop, UV_RUN_DEFAULT);
  const long long after = OriginCount(opt.origin_port);
  const long long fetches = before >= 0 && after >= 0 ? after - before : -1;
  std::printf(
      "clients=%d keys=%d finished=%d errors=%d wrong=%d p50_ms=%.2f p99_ms=%.2f max_ms=%.2f "
      "origin_fetches=%lld fetches_per_key=%.2f\n",
      opt.clients, opt.keys, run.finished, run.errors, run.wrong, Percentile(run.latencies_ms, 50),
      Percentile(run.latencies_ms, 99), Percentile(run.latencies_ms, 100), fetches,
      static_cast<double>(fetches) / static_cast<double>(opt.keys));
  return run.finished == opt.clients && run.errors == 0 && run.wrong == 0 ? 0 : 1;
}
