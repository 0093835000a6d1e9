// server.cc — start-up, worker threads, the origin's home loop, config changes and logging.
#include "server/server.h"

#include <pthread.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/time.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <future>
#include <optional>
#include <random>
#include <thread>

#include "origin/redis_origin.h"
#include "origin/singleflight.h"
#include "server/clock.h"
#include "server/connection.h"
#include "server/info.h"
#include "server/worker.h"

namespace flightcache::server {
namespace {

// Redis keeps this many descriptors for itself beyond maxclients.
constexpr int kReservedFds = 32;

// The origin lives on worker 0's loop (hiredis is single-threaded). A fetch started on another
// worker is handed to worker 0; its callback then runs there, where the singleflight table
// completes flights.
class HomeLoopOrigin : public origin::Origin {
 public:
  HomeLoopOrigin(Worker* home, std::unique_ptr<origin::Origin> inner)
      : home_(home), inner_(std::move(inner)) {}
  void Fetch(std::string_view key, origin::FetchCallback cb) override {
    // Each completion refreshes the figures other threads read, before anyone is answered.
    origin::FetchCallback done = [this, cb = std::move(cb)](origin::FetchResult result) {
      Refresh();
      cb(std::move(result));
    };
    if (Worker::Current() == home_) {
      inner_->Fetch(key, std::move(done));
      return;
    }
    home_->Post([this, owned = std::string(key), done = std::move(done)]() mutable {
      inner_->Fetch(owned, std::move(done));
    });
  }
  // Other threads read the figure worker 0 last took (the inner origin is single-threaded).
  int ConnectedCount() const override {
    if (Worker::Current() == home_) Refresh();
    return connected_.load();
  }
  origin::OriginConnectionStats ConnectionStats() const override {
    if (Worker::Current() == home_) Refresh();
    return origin::OriginConnectionStats{connects_.load(), disconnects_.load(),
                                         timeout_drops_.load()};
  }
  // The inner origin's deadlines live on the home loop: applied there, in order with the
  // fetches this thread posts after it.
  void SetTimeoutMs(int timeout_ms) override {
    if (Worker::Current() == home_) {
      inner_->SetTimeoutMs(timeout_ms);
      return;
    }
    home_->Post([this, timeout_ms]() { inner_->SetTimeoutMs(timeout_ms); });
  }
  // On the home loop: refreshes what other threads read.
  void Refresh() const {
    connected_.store(inner_->ConnectedCount());
    origin::OriginConnectionStats stats = inner_->ConnectionStats();
    connects_.store(stats.connects);
    disconnects_.store(stats.disconnects);
    timeout_drops_.store(stats.timeout_drops);
  }
  std::string Describe() const override { return inner_->Describe(); }
  void Close() override { inner_->Close(); }

 private:
  Worker* home_;
  std::unique_ptr<origin::Origin> inner_;
  mutable std::atomic<int> connected_{0};
  mutable std::atomic<uint64_t> connects_{0};
  mutable std::atomic<uint64_t> disconnects_{0};
  mutable std::atomic<uint64_t> timeout_drops_{0};
};

}  // namespace

Server::Server(Config config) : config_(std::move(config)), commands_(BuildCommandTable()) {
  std::random_device rd;
  std::mt19937_64 rng((static_cast<uint64_t>(rd()) << 32) ^ rd() ^ getpid());
  static const char kHex[] = "0123456789abcdef";
  for (int i = 0; i < 40; ++i) run_id_.push_back(kHex[rng() & 15]);
  start_time_ms_ = WallClockMs();
  log_level_ = config_.loglevel;
  max_clients_ = config_.maxclients;
  const int threads = config_.threads < 1 ? 1 : config_.threads;
  keyspace_.SetThreadSafe(threads > 1);
  keyspace_.SetClock(start_time_ms_);
  for (int i = 0; i < threads; ++i) {
    workers_.push_back(std::make_unique<Worker>(this, static_cast<size_t>(i), config_));
  }
}

Server::~Server() {
  singleflight_.reset();
  origin_.reset();
  workers_.clear();
  if (log_file_) std::fclose(log_file_);
}

void Server::Log(LogLevel level, const std::string& message) {
  const LogLevel threshold = log_level_.load();
  if (level < threshold || threshold == LogLevel::kNothing) return;
  struct timeval tv;
  gettimeofday(&tv, nullptr);
  struct tm tm_now;
  localtime_r(&tv.tv_sec, &tm_now);
  char stamp[64];
  size_t n = std::strftime(stamp, sizeof(stamp), "%d %b %Y %H:%M:%S", &tm_now);
  std::snprintf(stamp + n, sizeof(stamp) - n, ".%03d", static_cast<int>(tv.tv_usec / 1000));
  static const char kMarks[] = ".-*#";
  std::lock_guard<std::mutex> hold(log_mutex_);
  FILE* out = log_file_ ? log_file_ : stderr;
  std::fprintf(out, "%d:M %s %c %s\n", static_cast<int>(getpid()), stamp,
               kMarks[static_cast<int>(level) < 4 ? static_cast<int>(level) : 3], message.c_str());
  std::fflush(out);
}

void Server::RaiseFileLimit(int wanted_clients) {
  struct rlimit limit;
  if (getrlimit(RLIMIT_NOFILE, &limit) != 0) return;
  rlim_t wanted = static_cast<rlim_t>(wanted_clients) + kReservedFds;
  if (limit.rlim_cur < wanted) {
    rlim_t target = wanted;
    if (limit.rlim_max != RLIM_INFINITY && target > limit.rlim_max) target = limit.rlim_max;
    struct rlimit raised = limit;
    raised.rlim_cur = target;
    if (setrlimit(RLIMIT_NOFILE, &raised) == 0) limit = raised;
  }
  int effective = wanted_clients;
  if (limit.rlim_cur != RLIM_INFINITY && limit.rlim_cur < wanted) {
    effective = static_cast<int>(limit.rlim_cur) - kReservedFds;
    if (effective < 1) effective = 1;
    Log(LogLevel::kWarning, "You requested maxclients of " + std::to_string(wanted_clients) +
                                " requiring at least " + std::to_string(wanted) +
                                " max file descriptors. Server can't set maximum open files to " +
                                std::to_string(wanted) + "; maxclients is now " +
                                std::to_string(effective) + ".");
  }
  max_clients_ = effective;
}

void Server::StartOrigin() {
  if (config_.origin.empty()) return;
  std::string error;
  std::optional<origin::OriginUrl> url = origin::ParseOriginUrl(config_.origin, &error);
  if (!url) return;  // validated at start-up
  Worker* home = workers_[0].get();
  auto origin = std::make_unique<HomeLoopOrigin>(
      home, std::make_unique<origin::RedisOrigin>(home->loop(), *url, config_.origin_connections,
                                                  static_cast<int>(config_.origin_timeout_ms)));
  home_origin_ = origin.get();
  origin_ = std::move(origin);
  singleflight_ = std::make_unique<origin::Singleflight>(
      origin_.get(), &keyspace_,
      [this](const origin::Waiter& w, std::shared_ptr<const origin::FetchResult> result) {
        // Results arrive on worker 0; each waiter's own worker writes its reply.
        Worker& target = *workers_[w.worker < workers_.size() ? w.worker : 0];
        auto resolve = [&target, w, result]() {
          if (Connection* conn = target.FindConnection(w.conn_id)) {
            conn->ResolveSlot(w.slot_seq, w.part, *result);
          }
        };
        if (Worker::Current() == &target) {
          resolve();
        } else {
          target.Post(resolve);
        }
      },
      []() { return WallClockMs(); });
  singleflight_->set_policy(
      origin::FillPolicy{config_.cache_ttl_s * 1000, config_.negative_ttl_s * 1000});
}

void Server::RefreshOriginStatus() {
  if (home_origin_) static_cast<HomeLoopOrigin*>(home_origin_)->Refresh();
}

void Server::ConfigureEviction(const Config& config) {
  storage::EvictionPolicy policy = storage::EvictionPolicy::kNoEviction;
  storage::ParseEvictionPolicy(config.maxmemory_policy, &policy);
  keyspace_.ConfigureEviction(policy, config.maxmemory);
  keyspace_.set_memory_baseline(static_cast<int64_t>(UsedMemoryBytes()) -
                                static_cast<int64_t>(keyspace_.memory_bytes()));
}

void Server::MakeRoomNow() {
  // A lower limit takes effect now, as in Redis, not over the next cron runs.
  // MakeRoom() evicts a bounded batch per call: go on while it makes progress.
  uint64_t before;
  do {
    before = keyspace_.evicted_keys();
    if (keyspace_.MakeRoom()) return;
  } while (keyspace_.evicted_keys() != before);
}

Config Server::config_snapshot() {
  std::lock_guard<std::mutex> hold(config_mutex_);
  return config_;
}

void Server::UpdateConfig(Worker& from, const Config& updated,
                          const std::vector<std::string>& names) {
  {
    std::lock_guard<std::mutex> hold(config_mutex_);
    config_ = updated;
  }
  log_level_.store(updated.loglevel);
  for (const std::string& name : names) {
    if (name == "maxclients") RaiseFileLimit(updated.maxclients);
    if (name == "maxmemory" || name == "maxmemory-policy") ConfigureEviction(updated);
    if (origin_ && name == "origin-timeout") {
      origin_->SetTimeoutMs(static_cast<int>(updated.origin_timeout_ms));
    }
    if (singleflight_ && (name == "cache-ttl" || name == "negative-ttl")) {
      singleflight_->set_policy(
          origin::FillPolicy{updated.cache_ttl_s * 1000, updated.negative_ttl_s * 1000});
    }
  }
  from.config() = updated;
  from.ApplyConfig(names);
  for (auto& w : workers_) {
    if (w.get() == &from) continue;
    Worker* target = w.get();
    target->Post([target, updated, names]() {
      target->config() = updated;
      target->ApplyConfig(names);
    });
  }
}

void Server::RequestStop() {
  for (auto& w : workers_) {
    Worker* target = w.get();
    target->Post([target]() { target->Stop(); });
  }
}

int Server::Run() {
  // Once the workers run, CONFIG SET may rewrite config_ (under config_mutex_): this thread
  // reads the start-up copy instead.
  const Config startup = config_snapshot();
  if (!startup.logfile.empty()) {
    log_file_ = std::fopen(startup.logfile.c_str(), "a");
    if (!log_file_) {
      std::fprintf(stderr, "Can't open the log file: %s\n", std::strerror(errno));
      return 1;
    }
  }
  RaiseFileLimit(startup.maxclients);
  ConfigureEviction(startup);
  StartOrigin();
  // SIGINT and SIGTERM are blocked in every thread (worker threads inherit the mask) and taken
  // by one thread with sigwait(): a signal that arrives at any moment, even before a loop runs,
  // stays pending until that thread asks every worker to stop.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  // A shell may start us with SIGINT ignored (background jobs); an ignored signal would be
  // dropped even while blocked, so the default disposition comes back first.
  signal(SIGINT, SIG_DFL);
  signal(SIGTERM, SIG_DFL);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);
  std::atomic<bool> exiting{false};
  std::thread signal_thread([this, &stop_signals, &exiting]() {
    while (true) {
      int signum = 0;
      if (sigwait(&stop_signals, &signum) != 0) continue;
      if (exiting.load()) return;
      Log(LogLevel::kWarning, std::string("Received ") + (signum == SIGINT ? "SIGINT" : "SIGTERM") +
                                  " scheduling shutdown...");
      RequestStop();
    }
  });
  auto stop_signal_thread = [&]() {
    exiting.store(true);
    pthread_kill(signal_thread.native_handle(), SIGTERM);
    signal_thread.join();
  };
  // Every worker's loop runs before any socket listens, so a connection is never left waiting
  // in the backlog of a worker that has not started. A worker opens its own listener on its
  // own thread (the other workers' through their inbox); worker 0 last, just before its loop.
  const bool reuseport = workers_.size() > 1 && startup.accept_mode == "reuseport";
  std::vector<std::thread> threads;
  for (size_t i = 1; i < workers_.size(); ++i) {
    Worker* w = workers_[i].get();
    threads.emplace_back([w]() { w->Run(); });
  }
  bool listening = true;
  for (size_t i = 1; i < workers_.size() && reuseport; ++i) {
    Worker* w = workers_[i].get();
    std::promise<bool> opened;
    std::future<bool> result = opened.get_future();
    w->Post([w, &opened]() { opened.set_value(w->Listen(true, false)); });
    if (!result.get()) listening = false;
  }
  if (listening) listening = workers_[0]->Listen(reuseport, !reuseport);
  if (!listening) {
    RequestStop();
    workers_[0]->Run();
    for (std::thread& t : threads) t.join();
    stop_signal_thread();
    return 1;
  }
  Log(LogLevel::kNotice, "flightcache ready to accept connections tcp " + startup.bind + ":" +
                             std::to_string(tcp_port()) + " with " +
                             std::to_string(workers_.size()) + " worker thread(s)");
  workers_[0]->Run();
  for (std::thread& t : threads) t.join();
  stop_signal_thread();
  Log(LogLevel::kNotice, "flightcache is now ready to exit, bye bye...");
  return 0;
}

}  // namespace flightcache::server
