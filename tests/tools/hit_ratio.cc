// hit_ratio.cc — replays a cache trace for the hit-ratio case of scripts/bench.
//
// The trace is deterministic for a given --seed: reads drawn from Zipf(--zipf, default 0.99)
// over a universe of --universe keys "hr:key:%08d" (rank 0 the most popular), with a
// one-hit-wonder scan mixed in: a --scan-fraction of the requests are keys "hr:scn:%08d" that
// never repeat, in runs of --scan-burst. Requests go out pipelined, --batch GETs per round trip.
//
// Modes:
//   readthrough  GET from the target (flightcache reading through the test origin); hits and
//                misses are the deltas of the target's INFO keyspace_hits / keyspace_misses.
//   cacheaside   GET from the target (redis-server); for each nil of a batch, GET the key from
//                the origin and SET it into the target, as an application would. A hit is a
//                non-nil GET.
//   fill         SET the first --keys keys of the universe into the target, with the value the
//                test origin gives them ("value:<key>"); used to size maxmemory.
// Prints one line `requests=.. hits=.. misses=.. hit_ratio=..` followed by wrong=, errors= and
// seconds=. Exits 1 when a reply was an error or a value was wrong, 2 on bad usage or no server.
#include <hiredis/hiredis.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

namespace {

struct Options {
  std::string mode = "readthrough";
  int target_port = 0;
  int origin_port = 0;
  long long requests = 2000000;
  long long universe = 200000;
  double zipf_s = 0.99;
  double scan_fraction = 0.1;
  long long scan_burst = 1;
  long long warmup = 0;  // requests replayed first and not counted
  long long fill_keys = 0;
  int batch = 64;
  uint64_t seed = 1;
};

// SplitMix64: a small PRNG whose output is the same on every platform and standard library.
class Rng {
 public:
  explicit Rng(uint64_t seed) : state_(seed) {}
  uint64_t Next() {
    uint64_t z = (state_ += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
  }
  // A uniform double in [0, 1).
  double NextUnit() { return static_cast<double>(Next() >> 11) * 0x1.0p-53; }

 private:
  uint64_t state_;
};

std::string UniverseKey(long long rank) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "hr:key:%08lld", rank);
  return buf;
}

std::string ScanKey(long long n) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "hr:scn:%08lld", n);
  return buf;
}

std::string OriginValue(const std::string& key) { return "value:" + key; }

// The request sequence: Next() returns the key of request 0, 1, 2, ... Zipf ranks come from a
// precomputed CDF and a binary search; scans fill the last scan_burst slots of every block of
// scan_burst / scan_fraction requests, so their share is exact and evenly spread.
class Trace {
 public:
  explicit Trace(const Options& opt) : opt_(opt), rng_(opt.seed) {
    cdf_.resize(static_cast<size_t>(opt.universe));
    double sum = 0;
    for (long long i = 0; i < opt.universe; ++i) {
      sum += 1.0 / std::pow(static_cast<double>(i + 1), opt.zipf_s);
      cdf_[static_cast<size_t>(i)] = sum;
    }
    for (double& c : cdf_) c /= sum;
    if (opt.scan_fraction > 0) {
      block_ = std::max<long long>(
          opt.scan_burst + 1,
          std::llround(static_cast<double>(opt.scan_burst) / opt.scan_fraction));
    }
  }

  std::string Next() {
    const long long i = index_++;
    if (block_ > 0 && i % block_ >= block_ - opt_.scan_burst) return ScanKey(scans_++);
    const double u = rng_.NextUnit();
    auto it = std::upper_bound(cdf_.begin(), cdf_.end(), u);
    long long rank = std::min<long long>(it - cdf_.begin(), opt_.universe - 1);
    return UniverseKey(rank);
  }

 private:
  const Options& opt_;
  Rng rng_;
  std::vector<double> cdf_;
  long long block_ = 0;  // 0: no scans
  long long index_ = 0;
  long long scans_ = 0;
};

struct Counts {
  long long requests = 0;
  long long hits = 0;
  long long misses = 0;
  long long wrong = 0;
  long long errors = 0;
};

redisContext* Connect(int port) {
  const timeval timeout{30, 0};
  redisContext* c = redisConnectWithTimeout("127.0.0.1", port, timeout);
  if (!c || c->err) {
    std::fprintf(stderr, "hit_ratio: cannot connect to 127.0.0.1:%d: %s\n", port,
                 c ? c->errstr : "out of memory");
    std::exit(2);
  }
  redisSetTimeout(c, timeout);  // a stuck server ends the run instead of hanging it
  return c;
}

// Reads one reply; a lost connection ends the program (exit 2), since counts would be wrong.
redisReply* GetReply(redisContext* c) {
  void* r = nullptr;
  if (redisGetReply(c, &r) != REDIS_OK || !r) {
    std::fprintf(stderr, "hit_ratio: connection failed: %s\n", c->errstr);
    std::exit(2);
  }
  return static_cast<redisReply*>(r);
}

void AppendCommand(redisContext* c, std::initializer_list<const std::string*> args) {
  std::vector<const char*> argv;
  std::vector<size_t> lens;
  for (const std::string* a : args) {
    argv.push_back(a->data());
    lens.push_back(a->size());
  }
  redisAppendCommandArgv(c, static_cast<int>(argv.size()), argv.data(), lens.data());
}

// Reads the integer field NAME from INFO stats, or -1 when absent.
long long InfoStat(redisContext* c, const std::string& name) {
  auto* reply = static_cast<redisReply*>(redisCommand(c, "INFO stats"));
  long long value = -1;
  if (reply && reply->type == REDIS_REPLY_STRING) {
    const std::string text(reply->str, reply->len);
    const std::string needle = name + ":";
    size_t at = text.find(needle);
    if (at != std::string::npos) value = std::atoll(text.c_str() + at + needle.size());
  }
  if (reply) freeReplyObject(reply);
  return value;
}

// Checks one GET reply against the key's origin value. Returns true for a non-nil value.
bool CheckValue(redisReply* reply, const std::string& key, Counts* counts) {
  if (reply->type == REDIS_REPLY_ERROR) {
    if (counts->errors++ < 5)
      std::fprintf(stderr, "hit_ratio: GET %s: %s\n", key.c_str(), reply->str);
    return false;
  }
  if (reply->type != REDIS_REPLY_STRING) return false;
  if (std::string(reply->str, reply->len) != OriginValue(key)) ++counts->wrong;
  return true;
}

// Replays COUNT requests of the trace in batches. COUNTED says whether they enter the counts
// (the warm-up does not).
void Replay(const Options& opt, Trace* trace, redisContext* target, redisContext* origin,
            long long count, bool counted, Counts* counts) {
  Counts scratch;
  Counts* into = counted ? counts : &scratch;
  const bool cache_aside = opt.mode == "cacheaside";
  std::vector<std::string> keys;
  std::vector<std::string> missed;
  static const std::string kGet = "GET", kSet = "SET";
  for (long long done = 0; done < count;) {
    const long long n = std::min<long long>(opt.batch, count - done);
    keys.clear();
    for (long long i = 0; i < n; ++i) keys.push_back(trace->Next());
    for (const std::string& k : keys) AppendCommand(target, {&kGet, &k});
    missed.clear();
    for (const std::string& k : keys) {
      redisReply* reply = GetReply(target);
      const bool found = CheckValue(reply, k, into);
      if (reply->type == REDIS_REPLY_NIL) {
        if (cache_aside)
          missed.push_back(k);
        else
          ++into->wrong;  // the test origin has every key: read-through never answers nil
      }
      if (cache_aside) ++(found ? into->hits : into->misses);
      freeReplyObject(reply);
    }
    if (!missed.empty()) {
      for (const std::string& k : missed) AppendCommand(origin, {&kGet, &k});
      std::vector<std::string> values;
      for (const std::string& k : missed) {
        redisReply* reply = GetReply(origin);
        if (reply->type == REDIS_REPLY_STRING) {
          values.emplace_back(reply->str, reply->len);
          if (values.back() != OriginValue(k)) ++into->wrong;
        } else {
          values.emplace_back();
          ++into->errors;
        }
        freeReplyObject(reply);
      }
      for (size_t i = 0; i < missed.size(); ++i)
        AppendCommand(target, {&kSet, &missed[i], &values[i]});
      for (const std::string& k : missed) {
        redisReply* reply = GetReply(target);
        if (reply->type == REDIS_REPLY_ERROR && into->errors++ < 5)
          std::fprintf(stderr, "hit_ratio: SET %s: %s\n", k.c_str(), reply->str);
        freeReplyObject(reply);
      }
    }
    into->requests += n;
    done += n;
  }
}

// SETs the first KEYS keys of the universe, pipelined.
void Fill(const Options& opt, redisContext* target, Counts* counts) {
  static const std::string kSet = "SET";
  for (long long done = 0; done < opt.fill_keys;) {
    const long long n = std::min<long long>(1000, opt.fill_keys - done);
    for (long long i = 0; i < n; ++i) {
      const std::string key = UniverseKey(done + i), value = OriginValue(key);
      AppendCommand(target, {&kSet, &key, &value});
    }
    for (long long i = 0; i < n; ++i) {
      redisReply* reply = GetReply(target);
      if (reply->type == REDIS_REPLY_ERROR) ++counts->errors;
      freeReplyObject(reply);
    }
    done += n;
    counts->requests += n;
  }
}

int Usage() {
  std::fprintf(stderr,
               "usage: hit_ratio --target-port P [--mode readthrough|cacheaside|fill]\n"
               "  [--origin-port O] [--requests N] [--universe U] [--zipf S]\n"
               "  [--scan-fraction F] [--scan-burst B] [--warmup W] [--batch B] [--seed X]\n"
               "  [--keys K (fill)]\n");
  return 2;
}

bool ParseOptions(int argc, char** argv, Options* opt) {
  for (int i = 1; i < argc; i += 2) {
    if (i + 1 >= argc) return false;
    const std::string a = argv[i];
    const char* v = argv[i + 1];
    if (a == "--mode")
      opt->mode = v;
    else if (a == "--target-port")
      opt->target_port = std::atoi(v);
    else if (a == "--origin-port")
      opt->origin_port = std::atoi(v);
    else if (a == "--requests")
      opt->requests = std::atoll(v);
    else if (a == "--universe")
      opt->universe = std::atoll(v);
    else if (a == "--zipf")
      opt->zipf_s = std::atof(v);
    else if (a == "--scan-fraction")
      opt->scan_fraction = std::atof(v);
    else if (a == "--scan-burst")
      opt->scan_burst = std::atoll(v);
    else if (a == "--warmup")
      opt->warmup = std::atoll(v);
    else if (a == "--batch")
      opt->batch = std::atoi(v);
    else if (a == "--seed")
      opt->seed = std::strtoull(v, nullptr, 10);
    else if (a == "--keys")
      opt->fill_keys = std::atoll(v);
    else
      return false;
  }
  const bool mode_ok =
      opt->mode == "readthrough" || opt->mode == "cacheaside" || opt->mode == "fill";
  return mode_ok && opt->target_port > 0 && (opt->mode != "cacheaside" || opt->origin_port > 0) &&
         opt->requests > 0 && opt->universe > 0 && opt->zipf_s >= 0 && opt->scan_fraction >= 0 &&
         opt->scan_fraction < 1 && opt->scan_burst > 0 && opt->warmup >= 0 && opt->batch > 0 &&
         opt->fill_keys >= 0;
}

}  // namespace

int main(int argc, char** argv) {
  Options opt;
  if (!ParseOptions(argc, argv, &opt)) return Usage();
  const auto started = std::chrono::steady_clock::now();
  redisContext* target = Connect(opt.target_port);
  redisContext* origin = opt.mode == "cacheaside" ? Connect(opt.origin_port) : nullptr;
  Counts counts;
  if (opt.mode == "fill") {
    Fill(opt, target, &counts);
  } else {
    Trace trace(opt);
    Replay(opt, &trace, target, origin, opt.warmup, false, &counts);
    const long long hits0 = InfoStat(target, "keyspace_hits");
    const long long misses0 = InfoStat(target, "keyspace_misses");
    Replay(opt, &trace, target, origin, opt.requests, true, &counts);
    if (opt.mode == "readthrough") {
      const long long hits1 = InfoStat(target, "keyspace_hits");
      const long long misses1 = InfoStat(target, "keyspace_misses");
      if (hits0 < 0 || misses0 < 0 || hits1 < 0 || misses1 < 0) {
        std::fprintf(stderr, "hit_ratio: the target's INFO stats lacks keyspace_hits/misses\n");
        return 2;
      }
      counts.hits = hits1 - hits0;
      counts.misses = misses1 - misses0;
      if (counts.hits + counts.misses != counts.requests)
        std::fprintf(stderr, "hit_ratio: warning: INFO counted %lld lookups for %lld requests\n",
                     counts.hits + counts.misses, counts.requests);
    }
  }
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  const long long looked_up = counts.hits + counts.misses;
  std::printf(
      "requests=%lld hits=%lld misses=%lld hit_ratio=%.4f wrong=%lld errors=%lld seconds=%.1f\n",
      counts.requests, counts.hits, counts.misses,
      looked_up > 0 ? static_cast<double>(counts.hits) / static_cast<double>(looked_up) : 0.0,
      counts.wrong, counts.errors, seconds);
  redisFree(target);
  if (origin) redisFree(origin);
  return counts.wrong == 0 && counts.errors == 0 ? 0 : 1;
}
