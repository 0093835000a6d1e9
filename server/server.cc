// server.cc — start-up, worker threads, the origin's home loop, config changes and logging.
#include "server/server.h"

#include <pthread.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <future>
#include <optional>
#include <random>
#include <thread>

#include "origin/circuit_breaker.h"
#include "origin/http_origin.h"
#include "origin/postgres_listener.h"
#include "origin/postgres_origin.h"
#include "origin/redis_origin.h"
#include "origin/route.h"
#include "origin/router.h"
#include "origin/singleflight.h"
#include "origin/sqlite_origin.h"
#include "server/clock.h"
#include "server/connection.h"
#include "server/info.h"
#include "server/origin_invalidation.h"
#include "server/scripting/scripting.h"
#include "server/worker.h"

namespace flightcache::server {
namespace {

// Redis keeps this many descriptors for itself beyond maxclients.
constexpr int kReservedFds = 32;

// With SO_REUSEPORT the kernel lets any process of the same user bind the same port, so a
// second flightcache would silently share it and clients would land on two keyspaces. Before
// its workers bind with SO_REUSEPORT, the server claims the address with an abstract unix
// socket named after it (per network namespace, like the port, and released by the kernel when
// the process exits, however it exits). Returns the claim's descriptor, or -1 with errno set
// (EADDRINUSE: another flightcache holds the address).
int ClaimReuseportAddress(const std::string& address, int port) {
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  const std::string name = "flightcache-reuseport " + address + " " + std::to_string(port);
  const size_t length = std::min(name.size(), sizeof(addr.sun_path) - 1);
  std::memcpy(addr.sun_path + 1, name.data(), length);  // sun_path[0] == 0: abstract
  const auto size = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + 1 + length);
  if (bind(fd, reinterpret_cast<sockaddr*>(&addr), size) != 0) {
    const int saved = errno;
    close(fd);
    errno = saved;
    return -1;
  }
  return fd;
}

// The answer of a Listen task posted to another worker. If the task is dropped without running
// (a stop reached that worker first), its destructor answers false, so start-up never waits
// for an answer that cannot come.
struct ListenAnswer {
  std::promise<bool> promise;
  bool answered = false;
  void Answer(bool ok) {
    answered = true;
    promise.set_value(ok);
  }
  ~ListenAnswer() {
    if (!answered) promise.set_value(false);
  }
};

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
  // Limits and breakers live on the home loop too: applied there, like the timeout.
  void SetLimits(int max_inflight, int max_queue) override {
    if (Worker::Current() == home_) {
      inner_->SetLimits(max_inflight, max_queue);
      return;
    }
    home_->Post([this, max_inflight, max_queue]() { inner_->SetLimits(max_inflight, max_queue); });
  }
  void SetBreaker(int failures, int cooldown_ms) override {
    if (Worker::Current() == home_) {
      inner_->SetBreaker(failures, cooldown_ms);
      return;
    }
    home_->Post([this, failures, cooldown_ms]() { inner_->SetBreaker(failures, cooldown_ms); });
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
  // The router answers these from any thread (router.h).
  bool Serves(std::string_view key) const override { return inner_->Serves(key); }
  bool ServesRows(std::string_view key) const override { return inner_->ServesRows(key); }
  void CountShared(std::string_view key) override { inner_->CountShared(key); }
  std::string RoutesInfo() const override { return inner_->RoutesInfo(); }
  std::string RouteOf(std::string_view key) const override { return inner_->RouteOf(key); }
  std::vector<RouteCounters> RouteCounterList() const override {
    return inner_->RouteCounterList();
  }
  // Live: the router and every kind publish their load for other threads (pool.h).
  origin::OriginLoad Load() const override { return inner_->Load(); }

 private:
  Worker* home_;
  std::unique_ptr<origin::Origin> inner_;
  mutable std::atomic<int> connected_{0};
  mutable std::atomic<uint64_t> connects_{0};
  mutable std::atomic<uint64_t> disconnects_{0};
  mutable std::atomic<uint64_t> timeout_drops_{0};
};

// Default pool size of a route without pool=: a database's (SQLite, PostgreSQL; also the most
// HTTP connections at once); a Redis-protocol origin pipelines, so it keeps
// --origin-connections.
constexpr int kDefaultSqlPool = 16;

std::unique_ptr<origin::Origin> BuildRouteKind(uv_loop_t* loop, const origin::RouteSpec& spec,
                                               const Config& config, std::string* error);

// Builds the origin of one route (the route-th) on loop, behind its circuit breaker and with
// its limits and invalidation feed, which reports to server; nullptr with *error naming the
// route when its URL is bad, its file cannot be opened or its query does not prepare.
std::unique_ptr<origin::Origin> BuildRouteOrigin(uv_loop_t* loop, const origin::RouteSpec& spec,
                                                 const Config& config, size_t route, Server* server,
                                                 std::string* error) {
  std::unique_ptr<origin::Origin> kind = BuildRouteKind(loop, spec, config, error);
  if (!kind) return nullptr;
  const origin::RouteOptions& own = spec.options;
  kind->SetLimits(own.max_inflight.value_or(config.origin_max_inflight),
                  own.max_queue.value_or(config.origin_max_queue));
  origin::InvalidationHandler handler{
      [server, route](std::string_view key) { server->InvalidateFromOrigin(route, key); },
      [server, route]() { server->InvalidateAllFromOrigin(route); }};
  const std::string scheme = origin::UrlScheme(spec.url);
  if ((scheme == "redis" || scheme == "unix") && own.tracking.value_or(config.origin_tracking)) {
    // A route with a literal prefix hears about every key under it (BCAST PREFIX); `*` about
    // the keys it read.
    const std::string prefix = spec.pattern.text().substr(0, spec.pattern.literal_prefix_length());
    static_cast<origin::RedisOrigin*>(kind.get())->EnableTracking(prefix, std::move(handler));
  }
  std::unique_ptr<origin::PostgresListener> listener;
  if ((scheme == "postgres" || scheme == "postgresql") && !own.listen.empty()) {
    listener = std::make_unique<origin::PostgresListener>(
        loop, spec.url, own.listen, std::move(handler),
        own.listen_keepalive_ms.value_or(origin::kDefaultListenKeepaliveMs));
    listener->Start();
  }
  return std::make_unique<origin::GuardedOrigin>(
      loop, std::move(kind),
      origin::BreakerSettings{
          own.breaker_failures.value_or(config.origin_breaker_failures),
          own.breaker_cooldown_ms.value_or(static_cast<int>(config.origin_breaker_cooldown_ms))},
      std::move(listener));
}

// The origin kind of one route on loop (see BuildRouteOrigin).
std::unique_ptr<origin::Origin> BuildRouteKind(uv_loop_t* loop, const origin::RouteSpec& spec,
                                               const Config& config, std::string* error) {
  const int timeout_ms =
      spec.options.timeout_ms.value_or(static_cast<int>(config.origin_timeout_ms));
  std::string why;
  const std::string scheme = origin::UrlScheme(spec.url);
  if (scheme == "postgres" || scheme == "postgresql") {
    origin::PostgresTarget target{spec.url, spec.query, spec.pattern.capture_names(), 0};
    // The query is prepared once now, so a bad one stops start-up; the server must be up.
    constexpr int kCheckConnectTimeoutS = 5;
    if (origin::ParsePostgresUrl(spec.url, &why) &&
        origin::CheckPostgresTarget(&target, kCheckConnectTimeoutS, &why)) {
      return std::make_unique<origin::PostgresOrigin>(
          loop, std::move(target), origin::RedactedPostgresUrl(spec.url),
          spec.options.pool.value_or(kDefaultSqlPool), timeout_ms);
    }
  } else if (scheme == "http" || scheme == "https") {
    origin::HttpUrlTemplate url;
    if (origin::ParseHttpUrl(spec.url, spec.pattern.capture_names(), &url, &why)) {
      return std::make_unique<origin::HttpOrigin>(
          loop, std::move(url), origin::RedactUrlText(spec.url),
          spec.options.pool.value_or(kDefaultSqlPool), timeout_ms);
    }
  } else if (scheme == "sqlite") {
    std::optional<std::string> path = origin::ParseSqliteUrl(spec.url, &why);
    origin::SqliteTarget target{path.value_or(""), spec.query, spec.pattern.capture_names()};
    if (path && origin::CheckSqliteTarget(target, &why)) {
      return std::make_unique<origin::SqliteOrigin>(
          loop, std::move(target), spec.options.pool.value_or(kDefaultSqlPool), timeout_ms);
    }
  } else if (std::optional<origin::OriginUrl> url = origin::ParseOriginUrl(spec.url, &why)) {
    return std::make_unique<origin::RedisOrigin>(
        loop, *url, spec.options.pool.value_or(config.origin_connections), timeout_ms);
  }
  *error = "route '" + spec.Redacted() + "': " + why;
  return nullptr;
}

// Lets libuv's thread pool (SQLite queries) run as many queries at once as the SQLite pools
// hold, unless UV_THREADPOOL_SIZE is set. Must run before anything uses the thread pool.
void SizeThreadPool(const std::vector<origin::RouteSpec>& specs) {
  int threads = 4;  // libuv's default, for its own file-system work
  for (const origin::RouteSpec& spec : specs) {
    if (origin::UrlScheme(spec.url) == "sqlite") {
      threads += spec.options.pool.value_or(kDefaultSqlPool);
    }
  }
  if (threads == 4 || getenv("UV_THREADPOOL_SIZE") != nullptr) return;
  setenv("UV_THREADPOOL_SIZE", std::to_string(std::min(threads, 1024)).c_str(), 0);
}

// The keyspace's lazy-free settings from config (lazyfree-lazy-user-flush is read by FLUSHALL).
storage::LazyFreeConfig LazyFreeConfigOf(const Config& config) {
  storage::LazyFreeConfig lazy;
  lazy.lazy_eviction = config.lazyfree_lazy_eviction;
  lazy.lazy_expire = config.lazyfree_lazy_expire;
  lazy.lazy_server_del = config.lazyfree_lazy_server_del;
  lazy.lazy_user_del = config.lazyfree_lazy_user_del;
  return lazy;
}

}  // namespace

Server::Server(Config config)
    : config_(std::move(config)),
      keyspace_(static_cast<size_t>(std::max(config_.databases, 1))),
      commands_(BuildCommandTable()) {
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
  keyspace_.set_transient_bytes_source(&Server::TransientBytes, this);
  keyspace_.lazy_free().Configure(LazyFreeConfigOf(config_));
  scripting_ = std::make_unique<Scripting>(this, workers_.size());
}

Server::~Server() {
  singleflight_.reset();
  origin_.reset();
  workers_.clear();
  scripting_.reset();
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

namespace {

// The singleflight table's fill policy from config (TTLs, freshness windows and β).
origin::FillPolicy FillPolicyOf(const Config& config) {
  origin::FillPolicy policy{config.cache_ttl_s * 1000, config.negative_ttl_s * 1000, {}};
  policy.freshness = origin::FreshnessDefaults{config.stale_while_revalidate_s,
                                               config.stale_if_error_s, config.refresh_ahead_beta};
  policy.type_limits.hash_max_listpack_entries = config.hash_max_listpack_entries;
  policy.type_limits.hash_max_listpack_value = config.hash_max_listpack_value;
  return policy;
}

}  // namespace

bool Server::StartOrigin(std::string* error) {
  if (config_.origin.empty() && config_.routes.empty()) return true;
  // --origin URL is the one-route shorthand `route * URL`.
  std::vector<origin::RouteSpec> specs;
  if (!config_.origin.empty()) {
    origin::RouteSpec star;
    origin::KeyPattern::Parse("*", &star.pattern, error);
    star.url = config_.origin;
    specs.push_back(std::move(star));
  }
  for (const std::string& text : config_.routes) {
    origin::RouteSpec spec;
    if (!origin::ParseRouteSpec(text, &spec, error)) return false;  // checked when added
    if (spec.options.db && *spec.options.db >= config_.databases) {
      *error = "route '" + spec.Redacted() + "': db " + std::to_string(*spec.options.db) +
               " is out of range (databases is " + std::to_string(config_.databases) + ")";
      return false;
    }
    for (const origin::RouteSpec& earlier : specs) {
      if (earlier.pattern.text() == spec.pattern.text()) {
        *error = "route '" + spec.Redacted() + "': another route (or --origin, for *) has the " +
                 "same pattern";
        return false;
      }
    }
    specs.push_back(std::move(spec));
  }
  SizeThreadPool(specs);
  router_specs_ = specs;
  Worker* home = workers_[0].get();
  std::vector<origin::Route> routes;
  invalidation_ = std::make_unique<OriginInvalidation>(&keyspace_, home, specs);
  for (origin::RouteSpec& spec : specs) {
    std::unique_ptr<origin::Origin> built =
        BuildRouteOrigin(home->loop(), spec, config_, routes.size(), this, error);
    if (!built) {
      for (origin::Route& route : routes) route.origin->Close();
      return false;
    }
    routes.push_back(origin::Route{std::move(spec), std::move(built)});
  }
  auto origin = std::make_unique<HomeLoopOrigin>(
      home, std::make_unique<origin::RouterOrigin>(home->loop(), std::move(routes)));
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
          resolve();  // the singleflight table makes room after delivering on this loop
        } else {
          // The reply holding the value is counted when it lands on the waiter's loop: room
          // for it is made there (lock-free when within maxmemory).
          storage::Keyspace* keyspace = &keyspace_;
          target.Post([resolve, keyspace]() {
            resolve();
            keyspace->MakeRoom();
          });
        }
      },
      []() { return WallClockMs(); });
  singleflight_->set_policy(FillPolicyOf(config_));
  std::vector<double> route_betas;  // each route's own refresh-ahead-beta=, -1: the global one
  for (const origin::RouteSpec& spec : router_specs_) {
    route_betas.push_back(spec.options.refresh_ahead_beta.value_or(-1));
  }
  singleflight_->refresh_ahead().SetRouteBetas(std::move(route_betas));
  singleflight_->refresh_ahead().SetGlobal(config_.refresh_ahead_beta);
  // Routes with db=N: a key reads through in its route's database (none named: all in 0).
  std::vector<size_t> dbs = {0};
  for (const origin::RouteSpec& spec : router_specs_) {
    const size_t db = static_cast<size_t>(spec.options.db.value_or(0));
    if (std::find(dbs.begin(), dbs.end(), db) == dbs.end()) dbs.push_back(db);
  }
  if (dbs.size() > 1) {
    singleflight_->SetDatabaseOf(
        [specs = router_specs_](std::string_view key) -> size_t {
          const int route = origin::PickRoute(specs, key, nullptr);
          return route < 0 ? 0 : static_cast<size_t>(specs[route].options.db.value_or(0));
        },
        std::move(dbs));
  }
  return true;
}

void Server::RefreshOriginStatus() {
  if (home_origin_) static_cast<HomeLoopOrigin*>(home_origin_)->Refresh();
}

void Server::ApplyEvictionConfig() {
  Config config;
  uint64_t version;
  {
    std::lock_guard<std::mutex> hold(config_mutex_);
    config = config_;
    version = config_version_;
  }
  // Two workers may get here for two CONFIG SETs in either order: the newer config wins.
  std::lock_guard<std::mutex> hold(eviction_config_mutex_);
  if (version <= eviction_config_version_) return;
  eviction_config_version_ = version;
  ConfigureEviction(config);
}

void Server::ConfigureEviction(const Config& config) {
  storage::EvictionPolicy policy = storage::EvictionPolicy::kNoEviction;
  storage::ParseEvictionPolicy(config.maxmemory_policy, &policy);
  keyspace_.ConfigureEviction(policy, config.maxmemory);
  RemeasureMemoryBaseline();
}

void Server::RemeasureMemoryBaseline() {
  keyspace_.set_memory_baseline(static_cast<int64_t>(UsedMemoryBytes()) -
                                static_cast<int64_t>(keyspace_.memory_bytes()) -
                                keyspace_.lazy_free().pending_bytes() - keyspace_.TransientBytes());
}

int64_t Server::TransientBytes(void* server) {
  uint64_t total = 0;
  for (const auto& w : static_cast<Server*>(server)->workers_) {
    total += w->stats().client_output_bytes.get();
  }
  return static_cast<int64_t>(total);
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

std::string Server::SetConfig(Worker& from, const std::vector<ConfigChange>& changes) {
  std::lock_guard<std::mutex> hold(config_mutex_);
  Config updated = config_;
  std::vector<std::string> names;
  for (const ConfigChange& change : changes) {
    const ConfigOption& opt = *change.option;
    const std::string failed =
        "ERR CONFIG SET failed (possibly related to argument '" + opt.name + "') - ";
    std::string error;
    if (!opt.mutable_at_runtime) {
      // Setting an immutable option to the value it has is accepted, as a no-op.
      Config probe = updated;
      if (!opt.set(probe, change.value, &error) || opt.get(probe) != opt.get(updated)) {
        return failed + "can't set immutable config";
      }
      continue;
    }
    if (!opt.set(updated, change.value, &error)) return failed + error;
    names.push_back(opt.name);
  }
  log_level_.store(updated.loglevel);
  for (const std::string& name : names) {
    if (name == "maxclients") {
      // As in Redis, maxclients reads back as the limit in force after the descriptor cap.
      RaiseFileLimit(updated.maxclients);
      updated.maxclients = max_clients_.load();
    }
    // The keyspace takes every shard lock to change policy: that happens after the command
    // (the caller may be EXEC, holding shard locks), in ApplyEvictionConfig.
    if (name == "maxmemory" || name == "maxmemory-policy") from.ReconfigureEvictionAfterCommand();
    if (origin_ && name == "origin-timeout") {
      origin_->SetTimeoutMs(static_cast<int>(updated.origin_timeout_ms));
    }
    if (origin_ && (name == "origin-max-inflight" || name == "origin-max-queue")) {
      origin_->SetLimits(updated.origin_max_inflight, updated.origin_max_queue);
    }
    if (origin_ && (name == "origin-breaker-failures" || name == "origin-breaker-cooldown")) {
      origin_->SetBreaker(updated.origin_breaker_failures,
                          static_cast<int>(updated.origin_breaker_cooldown_ms));
    }
    if (name == "notify-keyspace-events") {
      key_events_.SetNotifyClasses(updated.notify_keyspace_events);
    }
    if (name.starts_with("lazyfree-lazy-")) {
      keyspace_.lazy_free().Configure(LazyFreeConfigOf(updated));
    }
    if (name == "tracking-table-max-keys") {
      key_events_.tracking().set_max_keys(static_cast<uint64_t>(updated.tracking_table_max_keys));
    }
    if (singleflight_ &&
        (name == "cache-ttl" || name == "negative-ttl" || name == "stale-while-revalidate" ||
         name == "stale-if-error" || name == "refresh-ahead-beta" ||
         name.starts_with("hash-max-"))) {  // hash fills' encoding (and the ziplist aliases)
      singleflight_->set_policy(FillPolicyOf(updated));
      singleflight_->refresh_ahead().SetGlobal(updated.refresh_ahead_beta);
    }
  }
  config_ = updated;
  const uint64_t version = ++config_version_;
  // Posted under the lock, so every worker's inbox gets the copies in version order; the
  // version check in InstallConfig covers `from`, which installs its copy at once.
  from.InstallConfig(updated, version, names);
  for (auto& w : workers_) {
    if (w.get() == &from) continue;
    Worker* target = w.get();
    target->Post(
        [target, updated, version, names]() { target->InstallConfig(updated, version, names); });
  }
  return "";
}

void Server::RunDryUnstarted() {
  // No worker thread runs yet: each loop is stopped and run dry on this thread, so every
  // handle (the origins' included) is closed and its memory freed before exit.
  for (auto& w : workers_) {
    Worker* target = w.get();
    target->Post([target]() { target->Stop(); });
    target->Run();
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
  if (max_clients_.load() != startup.maxclients) {
    // CONFIG GET and INFO report the limit in force, as Redis does. No worker runs yet.
    std::lock_guard<std::mutex> hold(config_mutex_);
    config_.maxclients = max_clients_.load();
    for (auto& w : workers_) w->config().maxclients = config_.maxclients;
  }
  ConfigureEviction(startup);
  if (std::string error; !StartOrigin(&error)) {
    std::fprintf(stderr, "*** FATAL CONFIG ERROR ***\n%s\n", error.c_str());
    RunDryUnstarted();
    return 1;
  }
  watch_table_.Install([this](size_t db) -> storage::KeyWatcher* {
    return singleflight_ ? singleflight_->WatcherFor(db) : nullptr;
  });
  std::vector<storage::KeyWatcher*> watchers;
  for (size_t d = 0; d < keyspace_.database_count(); ++d)
    watchers.push_back(watch_table_.watcher(d));
  key_events_.Install(watchers);
  key_events_.SetNotifyClasses(config_.notify_keyspace_events);
  key_events_.tracking().set_max_keys(static_cast<uint64_t>(config_.tracking_table_max_keys));
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
  std::atomic<bool> signalled{false};  // a stop signal came: exit 0, even during start-up
  std::thread signal_thread([this, &stop_signals, &exiting, &signalled]() {
    while (true) {
      int signum = 0;
      if (sigwait(&stop_signals, &signum) != 0) continue;
      if (exiting.load()) return;
      signalled.store(true);
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
  bool listening = true;
  int claim_fd = -1;
  if (reuseport && startup.port != 0) {
    claim_fd = ClaimReuseportAddress(startup.bind, startup.port);
    if (claim_fd < 0) {
      Log(LogLevel::kWarning, "Failed listening on port " + std::to_string(startup.port) +
                                  " (tcp), aborting: " + std::strerror(errno));
      listening = false;  // the workers still run, to stop and close their loops
    }
  }
  std::vector<std::thread> threads;
  for (size_t i = 1; i < workers_.size(); ++i) {
    Worker* w = workers_[i].get();
    threads.emplace_back([w]() { w->Run(); });
  }
  for (size_t i = 1; i < workers_.size() && reuseport && listening; ++i) {
    Worker* w = workers_[i].get();
    auto answer = std::make_shared<ListenAnswer>();
    std::future<bool> result = answer->promise.get_future();
    w->Post([w, answer]() { answer->Answer(w->Listen(true, false)); });
    answer.reset();  // the task owns it now: dropped unrun, it answers false
    if (!result.get()) {
      listening = false;
      break;
    }
  }
  if (listening) listening = workers_[0]->Listen(reuseport, !reuseport);
  if (!listening) {
    RequestStop();
    workers_[0]->Run();
    for (std::thread& t : threads) t.join();
    stop_signal_thread();
    if (claim_fd >= 0) close(claim_fd);
    return signalled.load() ? 0 : 1;
  }
  Log(LogLevel::kNotice, "flightcache ready to accept connections tcp " + startup.bind + ":" +
                             std::to_string(tcp_port()) + " with " +
                             std::to_string(workers_.size()) + " worker thread(s)");
  workers_[0]->Run();
  for (std::thread& t : threads) t.join();
  stop_signal_thread();
  if (claim_fd >= 0) close(claim_fd);
  Log(LogLevel::kNotice, "flightcache is now ready to exit, bye bye...");
  return 0;
}

}  // namespace flightcache::server
