// rehash_latency.cc — the "rehash" load for scripts/bench: the worst GET latency while a server
// fills up with keys (every table resize happens during the load).
//
// One connection loads `--keys` keys (key:%010d, short values) with pipelined SETs in batches;
// a second connection meanwhile sends one GET at a time for a key set beforehand and times each
// round trip. Stops when the load is done, or at --deadline-s. Prints one line: keys loaded, load
// seconds, probes, p50 / p99 / p99.9 / max GET latency in microseconds, and how many keys had
// been loaded when the slowest GET was sent. Exits non-zero on a connection error, a wrong
// reply, or the deadline.
#include <hiredis/hiredis.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

namespace {

int64_t NowMicros() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

struct Options {
  int port = 0;
  long keys = 10'000'000;
  int batch = 1000;
  int deadline_s = 300;
};

bool ParseArgs(int argc, char** argv, Options* o) {
  for (int i = 1; i + 1 < argc; i += 2) {
    const char* name = argv[i];
    const char* value = argv[i + 1];
    if (std::strcmp(name, "--port") == 0) {
      o->port = std::atoi(value);
    } else if (std::strcmp(name, "--keys") == 0) {
      o->keys = std::atol(value);
    } else if (std::strcmp(name, "--batch") == 0) {
      o->batch = std::atoi(value);
    } else if (std::strcmp(name, "--deadline-s") == 0) {
      o->deadline_s = std::atoi(value);
    } else {
      return false;
    }
  }
  return o->port > 0 && o->keys > 0 && o->batch > 0 && o->deadline_s > 0;
}

redisContext* Connect(int port) {
  timeval timeout{10, 0};
  redisContext* c = redisConnectWithTimeout("127.0.0.1", port, timeout);
  if (!c || c->err) {
    std::fprintf(stderr, "rehash_latency: connect: %s\n", c ? c->errstr : "out of memory");
    return nullptr;
  }
  redisSetTimeout(c, timeout);
  return c;
}

// Loads keys [0, keys) in pipelined batches; *loaded tracks progress. False on any error.
bool Load(redisContext* c, const Options& o, const std::atomic<bool>& stop,
          std::atomic<long>* loaded) {
  char key[32];
  for (long i = 0; i < o.keys && !stop.load(std::memory_order_relaxed);) {
    const long end = std::min(o.keys, i + o.batch);
    for (long k = i; k < end; ++k) {
      std::snprintf(key, sizeof key, "key:%010ld", k);
      redisAppendCommand(c, "SET %s %s", key, "v");
    }
    for (long k = i; k < end; ++k) {
      void* reply = nullptr;
      if (redisGetReply(c, &reply) != REDIS_OK) {
        std::fprintf(stderr, "rehash_latency: load: %s\n", c->errstr);
        return false;
      }
      const auto* r = static_cast<redisReply*>(reply);
      const bool ok = r->type == REDIS_REPLY_STATUS;
      freeReplyObject(reply);
      if (!ok) {
        std::fprintf(stderr, "rehash_latency: load: SET did not answer OK\n");
        return false;
      }
    }
    i = end;
    loaded->store(i, std::memory_order_relaxed);
  }
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  if (!ParseArgs(argc, argv, &o)) {
    std::fprintf(stderr,
                 "usage: rehash_latency --port P [--keys N] [--batch B] [--deadline-s S]\n");
    return 2;
  }
  redisContext* loader = Connect(o.port);
  redisContext* prober = Connect(o.port);
  if (!loader || !prober) return 1;
  auto* set = static_cast<redisReply*>(redisCommand(prober, "SET probe:key probe-value"));
  if (!set || set->type != REDIS_REPLY_STATUS) return 1;
  freeReplyObject(set);

  std::atomic<bool> done{false}, stop{false}, load_ok{false};
  std::atomic<long> loaded{0};
  const int64_t start = NowMicros();
  std::thread load_thread([&] {
    load_ok = Load(loader, o, stop, &loaded);
    done = true;
  });

  std::vector<int64_t> latencies;
  int64_t worst = -1;
  long worst_at = 0;
  bool probe_ok = true;
  while (!done.load()) {
    if (NowMicros() - start > int64_t{o.deadline_s} * 1'000'000) {
      std::fprintf(stderr, "rehash_latency: deadline reached\n");
      stop = true;
      probe_ok = false;
      break;
    }
    const long at = loaded.load(std::memory_order_relaxed);
    const int64_t t0 = NowMicros();
    auto* r = static_cast<redisReply*>(redisCommand(prober, "GET probe:key"));
    const int64_t us = NowMicros() - t0;
    if (!r || r->type != REDIS_REPLY_STRING || std::strcmp(r->str, "probe-value") != 0) {
      std::fprintf(stderr, "rehash_latency: GET probe:key: wrong reply\n");
      if (r) freeReplyObject(r);
      stop = true;
      probe_ok = false;
      break;
    }
    freeReplyObject(r);
    latencies.push_back(us);
    if (us > worst) {
      worst = us;
      worst_at = at;
    }
  }
  load_thread.join();
  const double seconds = static_cast<double>(NowMicros() - start) / 1e6;
  std::sort(latencies.begin(), latencies.end());
  auto pct = [&](double p) -> int64_t {
    if (latencies.empty()) return -1;
    size_t i = static_cast<size_t>(p * static_cast<double>(latencies.size() - 1));
    return latencies[i];
  };
  std::printf(
      "keys=%ld load_s=%.2f probes=%zu p50_us=%lld p99_us=%lld p999_us=%lld max_us=%lld "
      "max_at_keys=%ld\n",
      loaded.load(), seconds, latencies.size(), static_cast<long long>(pct(0.5)),
      static_cast<long long>(pct(0.99)), static_cast<long long>(pct(0.999)),
      static_cast<long long>(worst), worst_at);
  redisFree(loader);
  redisFree(prober);
  return load_ok && probe_ok ? 0 : 1;
}
