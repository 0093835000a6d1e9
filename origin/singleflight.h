// singleflight.h — at most one origin fetch per key; every waiter gets the shared result.
//
// Go's singleflight mapped onto an event loop (see shared/DESIGN.md):
//   Join()    ~ Do/DoChan: the first waiter starts the fetch, later ones join it;
//   result    ~ Result{Val, Err, Shared}: value, not found or error, sent to every waiter;
//   Forget    ~ any change to the key while the fetch is out (SET, DEL, EXPIRE, RENAME,
//               FLUSH, eviction, ORIGIN FORGET) marks the flight forgotten: it still answers
//               its waiters but does not fill the store, and it leaves the table at once, so a
//               reader that arrives after the change starts a new flight instead of joining it
//               (and getting the value from before the change). Shards report changes through
//               storage::KeyWatcher.
//   Refresh   a flight with no waiters (a background refresh: stale-while-revalidate, XFetch,
//             ORIGIN REFRESH); readers may still join it. See origin/read_through.h. On an
//             error, waiters of a key whose expired value is within its stale-if-error window
//             get that value instead.
// Waiters are (connection id, reply slot, part) handles, never pointers: a connection may
// close while parked; Cancel() takes it off the flight. Errors are never stored.
// Kinds: a flight fills a string (GET, MGET, GETEX, background refreshes) or a hash (HGETALL,
// HGET, HMGET on a SQL route: the row's fields), as its first waiter asked. One flight per key,
// whatever the kind: a reader of the other kind joins it and is answered as if its command ran
// just after the fill, as in Redis: WRONGTYPE when the fetch found a value (kWrongType; an MGET
// part reads nil), nil / empty when it did not, and the error when it failed. Hash fills carry
// no freshness block (no stale-while-revalidate, stale-if-error or refresh-ahead for hashes).
// The negative cache (negative-ttl) is bounded: an insertion-ordered queue of expiries is swept
// a few entries per insert and by SweepNegative() from the server's cron, and past
// kMaxNegativeEntries the oldest remembered miss is forgotten to make room.
// Databases: a key reads through in one database, its route's (db=N; 0 without it): flights
// fill that database, and its shards report changes here. Without any db=N (the usual case) that
// is database 0 for every key and the table is itself database 0's watcher; with one, a small
// filter per named database passes on only the changes to keys that read through there (a
// flush of such a database forgets every flight, as a flush of database 0 does).
// Thread-safe: workers join from their threads (holding the key's shard lock, as commands do);
// fetches complete on the origin's home loop, which locks the shard to fill the store.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "origin/origin.h"
#include "origin/read_through.h"
#include "storage/keyspace.h"

namespace flightcache::origin {

// Waiter::expire_at_ms when the waiter leaves the filled value's expiry as the fill policy sets it.
inline constexpr int64_t kKeepFillExpiry = -1;

// What a reader (and so the flight it starts) fills the key with.
enum class ReadKind : uint8_t {
  kString,  // the value (GET, MGET, GETEX)
  kHash,    // the row's fields as a hash (HGETALL, HGET, HMGET)
};

// The error text a reader of the other kind than its flight's gets (Redis's WRONGTYPE).
inline constexpr const char* kWrongTypeError =
    "WRONGTYPE Operation against a key holding the wrong kind of value";

struct Waiter {
  uint64_t conn_id;
  uint64_t slot_seq;
  uint32_t part;        // index in an MGET reply; 0 for GET
  uint32_t worker = 0;  // the worker (loop) that owns the connection
  // GETEX's EX/PX/EXAT/PXAT (unix ms) or PERSIST (0) for the filled value; kKeepFillExpiry for
  // GET, MGET and a plain GETEX. Applied with the fill, under the same lock, in join order.
  int64_t expire_at_ms = kKeepFillExpiry;
  ReadKind kind = ReadKind::kString;  // what this reader's command reads
};

struct SingleflightStats {
  uint64_t fetches_started = 0;
  uint64_t fetches_shared = 0;  // waiters that joined a flight already in progress
  uint64_t not_found = 0;
  uint64_t errors = 0;
  uint64_t timeouts = 0;
  uint64_t fills = 0;               // values written to the store
  uint64_t fills_skipped = 0;       // values not stored: over maxmemory under noeviction
  uint64_t forgotten = 0;           // results not stored because the key changed meanwhile
  uint64_t not_stored = 0;          // values answered but not stored: the origin said no-store
  uint64_t negative_hits = 0;       // misses answered from the negative cache
  uint64_t key_changes_locked = 0;  // OnKeyChanged calls that got past the watch filter
  // Freshness (origin/read_through.h).
  uint64_t stale_hits = 0;             // expired values served within stale-while-revalidate
  uint64_t refreshes_started = 0;      // background refreshes (flights started with no waiter)
  uint64_t refreshes_succeeded = 0;    // of those, answered with a value or "not found"
  uint64_t refreshes_failed = 0;       // of those, answered with an error
  uint64_t early_refreshes = 0;        // background refreshes XFetch started before expiry
  uint64_t stale_if_error_serves = 0;  // waiters answered with a stale value on an origin error
};

struct FillPolicy {
  int64_t cache_ttl_ms = 0;         // expiry of filled values; 0 = none
  int64_t negative_ttl_ms = 0;      // how long "not found" is remembered; 0 = not at all
  FreshnessDefaults freshness;      // windows and β of filled values without their own
  storage::TypeLimits type_limits;  // hash fills: hash-max-listpack-entries / -value
};

// Why a background refresh starts.
enum class RefreshReason : uint8_t {
  kStale,   // a read served an expired value (stale-while-revalidate); counted as a stale hit
  kEarly,   // XFetch chose to refresh a live value before it expires
  kManual,  // ORIGIN REFRESH
};

// One flight, for ORIGIN FLIGHTS.
struct FlightInfo {
  std::string key;
  size_t waiters = 0;
  int64_t age_ms = 0;
  bool forgotten = false;   // it answers its waiters but fills nothing; new readers do not join
  bool background = false;  // started as a background refresh (with no waiter)
};

class Singleflight : public storage::KeyWatcher {
 public:
  // Called once per waiter, on the thread where the fetch completed; the result is shared
  // by every waiter of the flight and may be handed to other threads.
  using DeliverFn = std::function<void(const Waiter&, std::shared_ptr<const FetchResult>)>;
  using ClockFn = std::function<int64_t()>;  // wall-clock unix ms

  Singleflight(Origin* origin, storage::Keyspace* keyspace, DeliverFn deliver, ClockFn clock);
  ~Singleflight() override;

  void set_policy(const FillPolicy& policy);

  // Which database key reads through in: db_of(key), one of dbs. Before the server's threads
  // start; without it every key reads through in database 0.
  void SetDatabaseOf(std::function<size_t(std::string_view)> db_of, std::vector<size_t> dbs);
  // The database key reads through in (its fills land there).
  size_t DatabaseOf(std::string_view key) const { return db_of_ ? db_of_(key) : 0; }
  // The watcher to chain behind database db's shards; nullptr when no key reads through there.
  storage::KeyWatcher* WatcherFor(size_t db);

  // Most "not found" answers remembered at once; the oldest goes first past it.
  static constexpr size_t kMaxNegativeEntries = 100000;
  // Forgets remembered misses whose negative ttl has lapsed, oldest first, at most max_entries
  // queue entries per call (so one call's cost is bounded). Returns how many it looked at.
  size_t SweepNegative(size_t max_entries = 1024);
  // Misses remembered now (lapsed ones not yet swept included).
  size_t negative_entries() const;

  // True when a recent "not found" for key is still remembered (negative-ttl).
  bool KnownMissing(std::string_view key, int64_t now_ms);
  // Parks waiter on key's flight, starting the fetch if none is in flight (a flight of
  // waiter.kind; a flight of either kind in flight is joined: see Kinds at the top).
  void Join(std::string_view key, const Waiter& waiter);
  // Takes one waiter off key's flight (its connection closed). The fetch goes on.
  void Cancel(std::string_view key, uint64_t conn_id, uint64_t slot_seq);
  // Starts a background refresh of key: a flight with no waiters that fills kind (ORIGIN
  // REFRESH of a hash filled from a SQL row refreshes it as a hash), unless one is in flight
  // already (then nothing starts). Call with key's shard lock held, as Join. Returns true when
  // it started one. A kStale call counts a stale hit either way.
  bool Refresh(std::string_view key, RefreshReason reason, ReadKind kind = ReadKind::kString);
  // Forgets key's flight by hand (ORIGIN FORGET), as a write to the key would: its waiters are
  // still answered, it fills nothing, and later readers start a new fetch. False when no flight
  // (that is not already forgotten) is in flight for key.
  bool Forget(std::string_view key);
  // Every flight in flight now, forgotten ones included, in no particular order.
  std::vector<FlightInfo> Flights() const;
  // The refresh-ahead β of each route, read by the policy on hits.
  RefreshAheadBetas& refresh_ahead() { return refresh_ahead_; }
  const RefreshAheadBetas& refresh_ahead() const { return refresh_ahead_; }

  size_t in_flight() const;
  size_t parked_waiters() const;
  SingleflightStats stats() const;
  void ResetStats();
  // Fetch latency percentile (0..100) over recent fetches, in ms.
  double LatencyPercentileMs(double percentile) const;

  // storage::KeyWatcher
  void OnKeyChanged(std::string_view key) override;
  void OnFlush() override;

 private:
  struct Flight {
    std::vector<Waiter> waiters;
    std::string key;
    uint64_t id = 0;  // the fetch callback finds its flight by it (forgotten ones leave flights_)
    bool forgotten = false;
    bool background = false;
    ReadKind kind = ReadKind::kString;  // what it fills: its first waiter's kind
    int64_t started_us = 0;
  };
  struct StringHash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };
  using FlightMap =
      std::unordered_map<std::string, std::unique_ptr<Flight>, StringHash, std::equal_to<>>;

  // Adds a flight for key (none is in flights_) that fills kind and returns its id; the caller
  // then calls Fetch(key, id, kind) without the lock. Lock held.
  uint64_t AddFlight(std::string_view key, const Waiter* first_waiter, bool background,
                     ReadKind kind);
  void Fetch(const std::string& key, uint64_t id, ReadKind kind);
  // Moves a flight out of flights_ into forgotten_ (the Forget rule). Lock held.
  void Detach(FlightMap::iterator it);
  // Takes flight id of key out of the table (flights_ or forgotten_); nullptr when gone.
  // Lock held.
  std::unique_ptr<Flight> TakeFlight(const std::string& key, uint64_t id);
  void Complete(const std::string& key, uint64_t id, ReadKind kind, FetchResult result);
  // The expiry (unix ms, 0 = none) of the value that fills flight's key: the route's TTL
  // (route_ttl_ms, -1 for none) or else the fill policy's cache TTL, overridden by each GETEX
  // waiter in the order they joined (as if each ran after the fill, one after another; a
  // GETEX on a hash flight gets WRONGTYPE and sets nothing).
  // Called with mutex_ held.
  int64_t FillExpiry(const Flight& flight, int64_t route_ttl_ms, int64_t now_ms) const;
  // Remembers key as missing until expire_at_ms. Lock held.
  void RememberMissing(const std::string& key, int64_t expire_at_ms, int64_t now_ms);
  // Pops up to max_entries queue entries that lapsed by now_ms (or all of them while over the
  // cap when make_room), forgetting the misses they still stand for. Lock held.
  size_t PopNegative(int64_t now_ms, size_t max_entries, bool make_room);
  void Watch(std::string_view key, bool on);
  void RecordLatency(int64_t micros);

  // Passes on the changes of one database's shards for the keys that read through there.
  class DbFilter : public storage::KeyWatcher {
   public:
    DbFilter(Singleflight* table, size_t db) : table_(table), db_(db) {}
    void OnKeyChanged(std::string_view key) override;
    void OnFlush() override { table_->OnFlush(); }

   private:
    Singleflight* table_;
    size_t db_;
  };
  void SetShardWatchers(size_t db, storage::KeyWatcher* watcher);

  Origin* origin_;
  storage::Keyspace* keyspace_;
  std::function<size_t(std::string_view)> db_of_;      // SetDatabaseOf; empty: database 0
  std::vector<std::unique_ptr<DbFilter>> db_filters_;  // SetDatabaseOf: one per database
  std::vector<size_t> watched_dbs_ = {0};              // databases whose shards report here
  DeliverFn deliver_;
  ClockFn clock_;
  FillPolicy policy_;
  FlightMap flights_;  // the flights new readers join: at most one per key, never forgotten
  // Forgotten flights still in flight, by id: they answer their waiters, and nothing joins them.
  std::unordered_map<uint64_t, std::unique_ptr<Flight>> forgotten_;
  uint64_t next_flight_id_ = 1;
  RefreshAheadBetas refresh_ahead_;
  std::unordered_map<std::string, int64_t, StringHash, std::equal_to<>> negative_;
  // (expiry ms, key) in insertion order, one per RememberMissing; an entry whose key is gone
  // from negative_ or was remembered again with another expiry is stale and just dropped. Its
  // bytes, like negative_'s, are in used_memory and the maxmemory estimate already: both are
  // measured from the allocator (mallinfo2), re-measured by the cron.
  std::deque<std::pair<int64_t, std::string>> negative_queue_;
  size_t parked_waiters_ = 0;
  SingleflightStats stats_;
  std::vector<int64_t> latencies_us_;  // ring of recent fetch latencies
  size_t latency_next_ = 0;
  std::shared_ptr<bool> alive_;  // fetch callbacks check it: the table may be gone
  // Guards everything above. Lock order: the key's shard lock (held by the command or by
  // Complete) first, then this; never the reverse.
  mutable std::mutex mutex_;
  // A counting filter of watched key hashes (flights and negative entries, one count each),
  // read lock-free by OnKeyChanged so that a write to a key with neither skips mutex_. Sound
  // for the same reason as the shards' watch counts: a count is raised while the key's shard
  // lock is held, and every write to that key reads the filter under the same lock, so it sees
  // the raise; a count lowered early only costs a needless lock. Relaxed atomics suffice.
  static constexpr size_t kWatchFilterSize = 8192;  // a power of two
  std::array<std::atomic<uint32_t>, kWatchFilterSize> watch_filter_{};
};

}  // namespace flightcache::origin
