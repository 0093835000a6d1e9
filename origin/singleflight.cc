// singleflight.cc — flights, waiters, the Forget rule and the store fill (see singleflight.h).
#include "origin/singleflight.h"

#include <algorithm>
#include <chrono>
#include <optional>

#include "storage/types/hash_object.h"

namespace flightcache::origin {
namespace {

constexpr size_t kLatencyWindow = 1024;
// Lapsed negative entries looked at per insert: more than one, so the queue shrinks while
// misses keep coming even with no cron.
constexpr size_t kNegativeSweepPerInsert = 8;

// The hash a row fills: its fields in column order, encoded within limits as HSET would.
std::unique_ptr<storage::HashObject> RowHash(const std::vector<RowField>& fields,
                                             const storage::TypeLimits& limits) {
  auto hash = std::make_unique<storage::HashObject>();
  for (const auto& [field, value] : fields) hash->Set(field, value, limits);
  return hash;
}

int64_t MonotonicMicros() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

}  // namespace

Singleflight::Singleflight(Origin* origin, storage::Keyspace* keyspace, DeliverFn deliver,
                           ClockFn clock)
    : origin_(origin),
      keyspace_(keyspace),
      deliver_(std::move(deliver)),
      clock_(std::move(clock)),
      alive_(std::make_shared<bool>(true)) {
  SetShardWatchers(0, this);
}

Singleflight::~Singleflight() {
  for (size_t db : watched_dbs_) SetShardWatchers(db, nullptr);
}

void Singleflight::SetShardWatchers(size_t db, storage::KeyWatcher* watcher) {
  for (size_t i = 0; i < storage::Keyspace::kShardCount; ++i) {
    keyspace_->db(db).shard(i).set_watcher(watcher);
  }
}

void Singleflight::SetDatabaseOf(std::function<size_t(std::string_view)> db_of,
                                 std::vector<size_t> dbs) {
  for (size_t db : watched_dbs_) SetShardWatchers(db, nullptr);
  db_of_ = std::move(db_of);
  db_filters_.clear();
  watched_dbs_ = std::move(dbs);
  for (size_t db : watched_dbs_) {
    db_filters_.push_back(std::make_unique<DbFilter>(this, db));
    SetShardWatchers(db, db_filters_.back().get());
  }
}

storage::KeyWatcher* Singleflight::WatcherFor(size_t db) {
  if (!db_of_) return db == 0 ? this : nullptr;
  for (size_t i = 0; i < watched_dbs_.size(); ++i) {
    if (watched_dbs_[i] == db) return db_filters_[i].get();
  }
  return nullptr;
}

void Singleflight::DbFilter::OnKeyChanged(std::string_view key) {
  // The cheap filter first: most writes are to keys with no flight and no remembered miss.
  const uint64_t hash = storage::HashKey(key);
  if (table_->watch_filter_[hash & (kWatchFilterSize - 1)].load(std::memory_order_relaxed) == 0) {
    return;
  }
  if (table_->DatabaseOf(key) == db_) table_->OnKeyChanged(key);
}

void Singleflight::Watch(std::string_view key, bool on) {
  storage::KeyLocation at = keyspace_->db(DatabaseOf(key)).Locate(key);
  std::atomic<uint32_t>& count = watch_filter_[at.hash & (kWatchFilterSize - 1)];
  if (on) {
    count.fetch_add(1, std::memory_order_relaxed);
    at.shard->AddWatch();
  } else {
    at.shard->RemoveWatch();
    count.fetch_sub(1, std::memory_order_relaxed);
  }
}

void Singleflight::set_policy(const FillPolicy& policy) {
  std::lock_guard<std::mutex> hold(mutex_);
  policy_ = policy;
}

size_t Singleflight::negative_entries() const {
  std::lock_guard<std::mutex> hold(mutex_);
  return negative_.size();
}

size_t Singleflight::SweepNegative(size_t max_entries) {
  const int64_t now_ms = clock_();
  std::lock_guard<std::mutex> hold(mutex_);
  return PopNegative(now_ms, max_entries, false);
}

size_t Singleflight::PopNegative(int64_t now_ms, size_t max_entries, bool make_room) {
  size_t looked = 0;
  while (!negative_queue_.empty()) {
    auto& [expiry, key] = negative_queue_.front();
    const bool over_cap = make_room && negative_queue_.size() >= kMaxNegativeEntries;
    if (!over_cap && (looked >= max_entries || expiry > now_ms)) break;
    ++looked;
    auto it = negative_.find(key);
    if (it != negative_.end() && it->second == expiry) {
      negative_.erase(it);
      Watch(key, false);
    }
    negative_queue_.pop_front();
  }
  return looked;
}

void Singleflight::RememberMissing(const std::string& key, int64_t expire_at_ms, int64_t now_ms) {
  // The queue, not the map, is what is capped: it holds one entry per remembered miss (plus
  // stale ones), so bounding it bounds both.
  PopNegative(now_ms, kNegativeSweepPerInsert, true);
  auto [it, inserted] = negative_.insert_or_assign(key, expire_at_ms);
  if (inserted) Watch(key, true);
  negative_queue_.emplace_back(expire_at_ms, key);
}

size_t Singleflight::in_flight() const {
  std::lock_guard<std::mutex> hold(mutex_);
  return flights_.size() + forgotten_.size();
}

size_t Singleflight::parked_waiters() const {
  std::lock_guard<std::mutex> hold(mutex_);
  return parked_waiters_;
}

SingleflightStats Singleflight::stats() const {
  std::lock_guard<std::mutex> hold(mutex_);
  return stats_;
}

bool Singleflight::KnownMissing(std::string_view key, int64_t now_ms) {
  std::lock_guard<std::mutex> hold(mutex_);
  if (negative_.empty()) return false;
  auto it = negative_.find(key);
  if (it == negative_.end()) return false;
  if (it->second <= now_ms) {
    Watch(key, false);
    negative_.erase(it);
    return false;
  }
  ++stats_.negative_hits;
  return true;
}

uint64_t Singleflight::AddFlight(std::string_view key, const Waiter* first_waiter, bool background,
                                 ReadKind kind) {
  auto flight = std::make_unique<Flight>();
  if (first_waiter) flight->waiters.push_back(*first_waiter);
  flight->key.assign(key);
  flight->id = next_flight_id_++;
  flight->background = background;
  flight->kind = kind;
  flight->started_us = MonotonicMicros();
  const uint64_t id = flight->id;
  flights_.emplace(flight->key, std::move(flight));
  Watch(key, true);
  ++stats_.fetches_started;
  return id;
}

void Singleflight::Fetch(const std::string& key, uint64_t id, ReadKind kind) {
  std::weak_ptr<bool> alive = alive_;
  origin_->Fetch(key, [this, alive, key, id, kind](FetchResult result) {
    if (alive.expired()) return;  // the table is gone (shutdown)
    Complete(key, id, kind, std::move(result));
  });
}

void Singleflight::Join(std::string_view key, const Waiter& waiter) {
  uint64_t id;
  {
    std::lock_guard<std::mutex> hold(mutex_);
    ++parked_waiters_;
    auto it = flights_.find(key);
    if (it != flights_.end()) {
      it->second->waiters.push_back(waiter);
      ++stats_.fetches_shared;
      origin_->CountShared(key);  // per route, for INFO
      return;
    }
    id = AddFlight(key, &waiter, false, waiter.kind);
  }
  Fetch(std::string(key), id, waiter.kind);
}

bool Singleflight::Refresh(std::string_view key, RefreshReason reason, ReadKind kind) {
  uint64_t id;
  {
    std::lock_guard<std::mutex> hold(mutex_);
    if (reason == RefreshReason::kStale) ++stats_.stale_hits;
    if (flights_.find(key) != flights_.end()) return false;  // one is in flight: it refreshes
    id = AddFlight(key, nullptr, true, kind);
    ++stats_.refreshes_started;
    if (reason == RefreshReason::kEarly) ++stats_.early_refreshes;
  }
  Fetch(std::string(key), id, kind);
  return true;
}

void Singleflight::Detach(FlightMap::iterator it) {
  Flight& flight = *it->second;
  flight.forgotten = true;
  Watch(flight.key, false);  // forgotten already: no later change can matter to it
  forgotten_.emplace(flight.id, std::move(it->second));
  flights_.erase(it);
}

bool Singleflight::Forget(std::string_view key) {
  std::lock_guard<std::mutex> hold(mutex_);
  auto it = flights_.find(key);
  if (it == flights_.end()) return false;
  Detach(it);
  return true;
}

std::vector<FlightInfo> Singleflight::Flights() const {
  const int64_t now_us = MonotonicMicros();
  std::vector<FlightInfo> out;
  std::lock_guard<std::mutex> hold(mutex_);
  auto add = [&](const Flight& f) {
    out.push_back(FlightInfo{f.key, f.waiters.size(), (now_us - f.started_us) / 1000, f.forgotten,
                             f.background});
  };
  for (const auto& [key, flight] : flights_) add(*flight);
  for (const auto& [id, flight] : forgotten_) add(*flight);
  return out;
}

void Singleflight::Cancel(std::string_view key, uint64_t conn_id, uint64_t slot_seq) {
  std::lock_guard<std::mutex> hold(mutex_);
  auto drop = [&](Flight& flight) {
    auto& waiters = flight.waiters;
    size_t before = waiters.size();
    waiters.erase(std::remove_if(waiters.begin(), waiters.end(),
                                 [&](const Waiter& w) {
                                   return w.conn_id == conn_id && w.slot_seq == slot_seq;
                                 }),
                  waiters.end());
    parked_waiters_ -= before - waiters.size();
    return before != waiters.size();
  };
  auto it = flights_.find(key);
  if (it != flights_.end() && drop(*it->second)) return;
  for (auto& [id, flight] : forgotten_) {
    if (flight->key == key && drop(*flight)) return;
  }
}

std::unique_ptr<Singleflight::Flight> Singleflight::TakeFlight(const std::string& key,
                                                               uint64_t id) {
  std::unique_ptr<Flight> flight;
  auto it = flights_.find(key);
  if (it != flights_.end() && it->second->id == id) {
    flight = std::move(it->second);
    flights_.erase(it);
    Watch(key, false);
    return flight;
  }
  auto gone = forgotten_.find(id);
  if (gone == forgotten_.end()) return nullptr;
  flight = std::move(gone->second);
  forgotten_.erase(gone);
  return flight;
}

void Singleflight::Complete(const std::string& key, uint64_t id, ReadKind kind,
                            FetchResult fetched) {
  // A row whose every column is NULL has no field for a hash: as Redis keeps no empty hash,
  // the key is missing (and remembered with the negative TTL, as any "not found").
  if (kind == ReadKind::kHash && fetched.status == FetchStatus::kValue && fetched.fields.empty()) {
    fetched.status = FetchStatus::kNotFound;
    fetched.value.clear();
  }
  auto result = std::make_shared<const FetchResult>(std::move(fetched));
  std::shared_ptr<const FetchResult> answer = result;  // what the waiters get
  // Eviction locks shards itself, so room is made before this takes the key's shard lock.
  const bool value = result->status == FetchStatus::kValue;
  const bool room = !value || keyspace_->MakeRoom();
  const int64_t now_ms = clock_();
  std::unique_ptr<Flight> flight;
  {
    auto locks = keyspace_->LockShards(keyspace_->ShardMaskOf(key));
    storage::KeyLocation at = keyspace_->db(DatabaseOf(key)).Locate(key);
    // Without a value, what is cached now matters: a stale value may answer an error
    // (stale-if-error), and "not found" drops it. Looked up before mutex_ is taken: the
    // lookup may reclaim an expired entry, which tells OnKeyChanged (which takes mutex_).
    storage::Entry* cached = nullptr;
    bool cached_expired = false;
    if (!value) cached = at.shard->FindReadThrough(key, at.hash, now_ms, &cached_expired, false);
    bool fill = false;
    bool drop_cached = false;
    int64_t expire_at = 0;
    int64_t negative_until = 0;
    std::optional<storage::Freshness> freshness;
    storage::TypeLimits limits;  // of a hash fill
    {
      std::lock_guard<std::mutex> hold(mutex_);
      flight = TakeFlight(key, id);
      if (!flight) return;
      const int64_t fetch_us = MonotonicMicros() - flight->started_us;
      RecordLatency(fetch_us);
      if (flight->background) {
        if (result->status == FetchStatus::kError) {
          ++stats_.refreshes_failed;
        } else {
          ++stats_.refreshes_succeeded;
        }
      }
      switch (result->status) {
        case FetchStatus::kValue:
          if (flight->forgotten) {
            ++stats_.forgotten;
          } else if (!room) {
            ++stats_.fills_skipped;  // over maxmemory and nothing may be evicted (noeviction)
          } else if (result->no_store) {
            ++stats_.not_stored;  // the origin said so (HTTP Cache-Control: no-store)
          } else {
            expire_at = FillExpiry(*flight, result->cache_ttl_ms, now_ms);
            // A GETEX EXAT/PXAT in the past deletes the key it read, as in Redis: no fill.
            fill = expire_at == 0 || expire_at > now_ms;
            stats_.fills += fill;
            if (fill && kind == ReadKind::kString) {
              freshness = FillFreshness(*result, policy_.freshness, fetch_us);
            }
            limits = policy_.type_limits;
          }
          break;
        case FetchStatus::kNotFound:
          ++stats_.not_found;
          if (!flight->forgotten) {
            drop_cached = cached != nullptr;  // the origin has no such key any more
            // A route's own negative-ttl= comes with the result; -1: the global policy.
            const int64_t negative_ttl_ms =
                result->negative_ttl_ms >= 0 ? result->negative_ttl_ms : policy_.negative_ttl_ms;
            if (negative_ttl_ms > 0) negative_until = now_ms + negative_ttl_ms;
          }
          break;
        case FetchStatus::kError:
          ++stats_.errors;
          if (result->error_kind == FetchErrorKind::kTimeout) ++stats_.timeouts;
          // Only a string may answer for a string (a hash fill has no freshness).
          if (kind == ReadKind::kString && !flight->forgotten && !flight->waiters.empty() &&
              cached_expired && StaleIfErrorAllows(cached, now_ms)) {
            answer = std::make_shared<const FetchResult>(
                FetchResult::Value(std::string(storage::EntryValue(cached))));
            stats_.stale_if_error_serves += flight->waiters.size();
          }
          break;
      }
      parked_waiters_ -= flight->waiters.size();
      // Remembered now unless the cached value must go first (its delete would forget it).
      if (negative_until != 0 && !drop_cached) RememberMissing(key, negative_until, now_ms);
    }
    if (fill && kind == ReadKind::kHash) {
      // Reported to the KeyWatcher chain as any created key: WATCH, notifications ("fill")
      // and tracking see it as they see a string fill.
      at.shard->SetObject(key, at.hash, RowHash(result->fields, limits), expire_at);
    } else if (fill && freshness) {
      at.shard->SetFilled(key, at.hash, result->value, expire_at, *freshness);
    } else if (fill) {
      at.shard->Set(key, at.hash, result->value, expire_at);
    }
    if (drop_cached) {
      at.shard->Delete(key, at.hash);
      if (negative_until != 0) {
        std::lock_guard<std::mutex> hold(mutex_);
        RememberMissing(key, negative_until, now_ms);
      }
    }
  }
  // A reader of the other kind finds the key holding the wrong type once a value is there.
  std::shared_ptr<const FetchResult> wrong_type;
  for (const Waiter& w : flight->waiters) {
    if (w.kind == kind || answer->status != FetchStatus::kValue) {
      deliver_(w, answer);
      continue;
    }
    if (!wrong_type) {
      wrong_type = std::make_shared<const FetchResult>(
          FetchResult::Error(FetchErrorKind::kWrongType, kWrongTypeError));
    }
    deliver_(w, wrong_type);
  }
  // Values filled from the origin evict like any other; after delivery, so that the replies
  // now holding the value (on this loop) are counted too.
  if (value) keyspace_->MakeRoom();
}

int64_t Singleflight::FillExpiry(const Flight& flight, int64_t route_ttl_ms, int64_t now_ms) const {
  const int64_t ttl_ms = route_ttl_ms >= 0 ? route_ttl_ms : policy_.cache_ttl_ms;
  int64_t expire_at = ttl_ms > 0 ? now_ms + ttl_ms : 0;
  for (const Waiter& w : flight.waiters) {
    if (w.kind == flight.kind && w.expire_at_ms != kKeepFillExpiry) expire_at = w.expire_at_ms;
  }
  return expire_at;
}

void Singleflight::OnKeyChanged(std::string_view key) {
  // The shard is watched, but maybe for other keys: most writes stop here, without the lock.
  const uint64_t hash = storage::HashKey(key);
  if (watch_filter_[hash & (kWatchFilterSize - 1)].load(std::memory_order_relaxed) == 0) return;
  std::lock_guard<std::mutex> hold(mutex_);
  ++stats_.key_changes_locked;
  auto it = flights_.find(key);
  if (it != flights_.end()) Detach(it);
  auto neg = negative_.find(key);
  if (neg != negative_.end()) {
    negative_.erase(neg);
    Watch(key, false);
  }
}

void Singleflight::OnFlush() {
  std::lock_guard<std::mutex> hold(mutex_);
  while (!flights_.empty()) Detach(flights_.begin());
  for (auto& [key, expiry] : negative_) Watch(key, false);
  negative_.clear();
  negative_queue_.clear();
}

void Singleflight::RecordLatency(int64_t micros) {
  if (latencies_us_.size() < kLatencyWindow) {
    latencies_us_.push_back(micros);
  } else {
    latencies_us_[latency_next_] = micros;
    latency_next_ = (latency_next_ + 1) % kLatencyWindow;
  }
}

double Singleflight::LatencyPercentileMs(double percentile) const {
  std::lock_guard<std::mutex> hold(mutex_);
  if (latencies_us_.empty()) return 0;
  std::vector<int64_t> sorted = latencies_us_;
  std::sort(sorted.begin(), sorted.end());
  size_t index = static_cast<size_t>(percentile / 100.0 * static_cast<double>(sorted.size() - 1));
  return static_cast<double>(sorted[index]) / 1000.0;
}

void Singleflight::ResetStats() {
  std::lock_guard<std::mutex> hold(mutex_);
  stats_ = SingleflightStats{};
  latencies_us_.clear();
  latency_next_ = 0;
}

}  // namespace flightcache::origin
