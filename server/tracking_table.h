// tracking_table.h — client tracking (Redis's server-assisted client-side caching): which
// clients may hold which keys, and who is told when one changes.
//
// Shared by every worker behind one mutex. Clients are (worker index, connection id), never
// pointers: a client may close on its own worker while another worker changes a key it read.
// - Default mode: a key read by a tracking client is remembered with its id (Remember, called
//   holding the key's shard lock). The next change of the key (KeyChanged, from the KeyWatcher
//   chain, under the same lock) invalidates it for every id remembered, once, and forgets it.
// - BCAST mode: the client names prefixes and hears of every change to a key under one of
//   them; nothing is remembered per key.
// - REDIRECT: invalidations go to another connection (RESP3: pushes; RESP2: messages on
//   __redis__:invalidate). The table also keeps every connected client's worker, so that a
//   redirect target can be checked and found.
// The table only collects Invalidation records; server/key_events.cc delivers them on the
// target's worker after the command (or loop turn) that caused them.
// Lock order: a shard lock, then this table's mutex; nothing is called out while holding it.
#pragma once

#include <atomic>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace flightcache::server {

// One message to send: to the connection conn_id on worker.
struct Invalidation {
  enum class Kind : uint8_t {
    kKey,             // ["invalidate", [key]]
    kFlush,           // ["invalidate", null]: every key
    kBrokenRedirect,  // ["tracking-redir-broken", redirect id] to the tracking client itself
  };
  uint32_t worker = 0;
  uint64_t conn_id = 0;
  Kind kind = Kind::kKey;
  bool via_redirect = false;  // sent to a REDIRECT target (RESP2: as a pub/sub message)
  uint64_t redirect_id = 0;   // kBrokenRedirect: the id that is gone
  std::string key;
};

// A tracking client's settings (CLIENT TRACKING ON's options).
struct TrackingSettings {
  uint64_t redirect = 0;  // 0: none
  bool bcast = false;
  bool optin = false;
  bool optout = false;
  bool noloop = false;
  std::vector<std::string> prefixes;  // BCAST only; empty means the prefix ""
};

class TrackingTable {
 public:
  // Every connection, tracking or not: its worker (REDIRECT's targets are any client).
  void ClientConnected(uint64_t id, uint32_t worker);
  // The client closed: forgets it (and its tracking). Its ids left in the key table are
  // skipped lazily, as Redis does.
  void ClientClosed(uint64_t id);
  // The worker of a connected client, or nullopt.
  std::optional<uint32_t> WorkerOf(uint64_t id);

  // CLIENT TRACKING ON: turns tracking on for id with settings (replacing earlier settings; BCAST
  // prefixes add to those the client has). Validation is the caller's (CLIENT TRACKING).
  void Enable(uint64_t id, uint32_t worker, const TrackingSettings& settings);
  // CLIENT TRACKING OFF, RESET, close.
  void Disable(uint64_t id);
  // A copy of id's settings (CLIENT TRACKINGINFO, GETREDIR; prefixes sorted), or nullopt when
  // it does not track;
  // *broken_redirect says whether an invalidation found its redirect target gone.
  std::optional<TrackingSettings> SettingsOf(uint64_t id, bool* broken_redirect);

  // Lock-free: whether any client tracks (the KeyWatcher chain skips the table when none).
  bool active() const { return tracking_clients_.load(std::memory_order_relaxed) > 0; }

  // Remembers that client id read key. Past tracking-table-max-keys, keys are dropped from the
  // table as Redis does, each sending its invalidations (to *out) as if it had changed.
  // Call holding key's shard lock.
  void Remember(std::string_view key, uint64_t id, std::vector<Invalidation>* out);
  // key changed (written, deleted, expired, evicted, filled from the origin): appends the
  // invalidations for it to *out and forgets it. writer_id: the client whose command made the
  // change (0: none), which NOLOOP clients are not told about. Call holding key's shard lock.
  void KeyChanged(std::string_view key, uint64_t writer_id, std::vector<Invalidation>* out);
  // Every key was removed (FLUSHALL): every tracking client gets a null invalidation, and the
  // key table is emptied.
  void Flushed(std::vector<Invalidation>* out);

  // tracking-table-max-keys (0: no limit).
  void set_max_keys(uint64_t max_keys) { max_keys_.store(max_keys, std::memory_order_relaxed); }

  // INFO figures.
  uint64_t tracking_clients() const { return tracking_clients_.load(std::memory_order_relaxed); }
  uint64_t total_keys();
  uint64_t total_items();
  uint64_t total_prefixes();

 private:
  struct Client {
    uint32_t worker = 0;
    bool tracking = false;
    bool broken_redirect = false;
    TrackingSettings settings;
  };
  struct StringHash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };
  using KeyTable =
      std::unordered_map<std::string, std::vector<uint64_t>, StringHash, std::equal_to<>>;

  // Appends the message for one key (or a flush) to the tracking client c (id), following its
  // redirect. mutex_ held.
  void Route(uint64_t id, Client& c, Invalidation::Kind kind, std::string_view key,
             std::vector<Invalidation>* out);
  // Invalidates the key at it for every id remembered and erases it. mutex_ held.
  void InvalidateEntry(KeyTable::iterator it, uint64_t writer_id, std::vector<Invalidation>* out);
  void DropFromPrefixes(uint64_t id, const TrackingSettings& settings);

  std::mutex mutex_;
  std::unordered_map<uint64_t, Client> clients_;  // every connected client
  KeyTable keys_;                                 // key -> ids that read it
  uint64_t items_ = 0;                            // ids over all keys
  // prefix -> BCAST clients registered for it
  std::unordered_map<std::string, std::vector<uint64_t>> prefixes_;
  std::atomic<uint64_t> tracking_clients_{0};
  std::atomic<uint64_t> max_keys_{0};
};

}  // namespace flightcache::server
