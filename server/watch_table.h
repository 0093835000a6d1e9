// watch_table.h — WATCH: which clients watch which keys, and marking them dirty on a change.
//
// The table is a storage::KeyWatcher installed on every shard in front of the singleflight
// table (to which it passes every notification on): a write, delete, expiry, eviction, flush or
// origin fill of a watched key marks every client watching it dirty, and that client's EXEC
// then fails. A client's ClientWatch is shared with the table; its dirty flag is atomic because
// a key may change on any worker's thread. Lock order: the key's shard lock, then this table's
// mutex (never the reverse); notifications are passed on after the mutex is released.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "storage/keyspace.h"

namespace flightcache::server {

// What one client watches. keys is touched only on the client's own worker.
struct ClientWatch {
  struct Key {
    std::string key;
    int64_t expire_at_ms;  // the key's expiry when it was watched; 0: none, or no such key
  };
  std::atomic<bool> dirty{false};
  std::vector<Key> keys;
};

class WatchTable : public storage::KeyWatcher {
 public:
  explicit WatchTable(storage::Keyspace* keyspace) : keyspace_(keyspace) {}

  // Installs the table as every shard's watcher, passing notifications on to next (the
  // singleflight table, or nullptr). Before the server's threads start.
  void Install(storage::KeyWatcher* next);
  // Adds key to watch (skipped when watch has it already). Call holding key's shard lock, so
  // that no change to the key can slip between the caller's look and the watch.
  void Watch(std::string_view key, int64_t expire_at_ms, const std::shared_ptr<ClientWatch>& watch);
  // Forgets every key of watch and clears it (UNWATCH, EXEC, DISCARD, RESET, close).
  void UnwatchAll(ClientWatch& watch);

  // storage::KeyWatcher
  void OnKeyChanged(std::string_view key) override;
  void OnFlush() override;

 private:
  struct StringHash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };

  storage::Keyspace* keyspace_;
  storage::KeyWatcher* next_ = nullptr;
  std::atomic<size_t> watched_keys_{0};  // lock-free check: nothing watched, nothing to do
  std::mutex mutex_;                     // guards watchers_
  std::unordered_map<std::string, std::vector<std::shared_ptr<ClientWatch>>, StringHash,
                     std::equal_to<>>
      watchers_;
};

}  // namespace flightcache::server
