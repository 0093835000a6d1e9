// hot_key.cc — the hot-key-under-expiry load for `scripts/bench freshness`.
//
// N clients (hiredis async on one libuv loop) each GET one key in a closed loop (the next GET
// goes out when the reply arrives) for D seconds, against flightcache reading through the test
// origin. Prints one line: requests, errors, latency p50/p99/max in ms over every request, and
// the origin's GET count during the run (the test origin's COUNTS before and after).
#include <hiredis/adapters/libuv.h>
#include <hiredis/async.h>
#include <hiredis/hiredis.h>
#include <uv.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
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
  std::string key = "hot";
  int64_t end_us = 0;
  long long errors = 0;
  int running = 0;
  std::vector<int32_t> latencies_us;
};

struct Client {
  Run* run;
  redisAsyncContext* ctx = nullptr;
  int64_t sent_us = 0;
};

void Send(Client* c);

void OnReply(redisAsyncContext*, void* r, void* priv) {
  auto* c = static_cast<Client*>(priv);
  auto* reply = static_cast<redisReply*>(r);
  const int64_t now = NowMicros();
  if (!reply) return;  // disconnected
  c->run->latencies_us.push_back(static_cast<int32_t>(now - c->sent_us));
  if (reply->type != REDIS_REPLY_STRING) ++c->run->errors;
  if (now >= c->run->end_us) {
    redisAsyncDisconnect(c->ctx);
    --c->run->running;
    return;
  }
  Send(c);
}

void Send(Client* c) {
  c->sent_us = NowMicros();
  const char* argv[] = {"GET", c->run->key.c_str()};
  size_t lens[] = {3, c->run->key.size()};
  redisAsyncCommandArgv(c->ctx, OnReply, c, 2, argv, lens);
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

double Percentile(std::vector<int32_t>& v, double p) {
  if (v.empty()) return 0;
  const size_t i = std::min(v.size() - 1, static_cast<size_t>(p / 100.0 * (v.size() - 1) + 0.5));
  std::nth_element(v.begin(), v.begin() + static_cast<long>(i), v.end());
  return v[i] / 1000.0;
}

}  // namespace

int main(int argc, char** argv) {
  int target = 0, origin = 0, clients = 200;
  double seconds = 10;
  Run run;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string a = argv[i];
    if (a == "--target-port") {
      target = std::atoi(argv[i + 1]);
    } else if (a == "--origin-port") {
      origin = std::atoi(argv[i + 1]);
    } else if (a == "--clients") {
      clients = std::atoi(argv[i + 1]);
    } else if (a == "--seconds") {
      seconds = std::atof(argv[i + 1]);
    } else if (a == "--key") {
      run.key = argv[i + 1];
    } else {
      std::fprintf(stderr,
                   "usage: hot_key --target-port P --origin-port O [--clients N] [--seconds S] "
                   "[--key K]\n");
      return 2;
    }
  }
  if (target <= 0 || origin <= 0 || clients <= 0 || seconds <= 0) return 2;
  const long long before = OriginCount(origin);
  uv_loop_t* loop = uv_default_loop();
  std::vector<std::unique_ptr<Client>> all;
  run.end_us = NowMicros() + static_cast<int64_t>(seconds * 1e6);
  for (int i = 0; i < clients; ++i) {
    auto c = std::make_unique<Client>();
    c->run = &run;
    c->ctx = redisAsyncConnect("127.0.0.1", target);
    if (!c->ctx || c->ctx->err) return 2;
    redisLibuvAttach(c->ctx, loop);
    ++run.running;
    Send(c.get());
    all.push_back(std::move(c));
  }
  uv_run(loop, UV_RUN_DEFAULT);
  const long long after = OriginCount(origin);
  const size_t requests = run.latencies_us.size();
  const double p50 = Percentile(run.latencies_us, 50), p99 = Percentile(run.latencies_us, 99),
               max = Percentile(run.latencies_us, 100);
  std::printf("requests=%zu errors=%lld p50_ms=%.3f p99_ms=%.3f max_ms=%.3f origin_fetches=%lld\n",
              requests, run.errors, p50, p99, max, after - before);
  return run.errors == 0 ? 0 : 1;
}
