// watch_table.h — WATCH: which clients watch which keys, and marking them dirty on a change.
//
// The table installs one storage::KeyWatcher per database on that database's shards (in front
// of the singleflight table's watcher of the databases keys read through in, to which it passes
// every notification on): a write,
// delete, expiry, eviction or origin fill of a watched key marks every client watching that key
// in that database dirty, and that client's EXEC then fails. FLUSHDB, FLUSHALL and SWAPDB mark
// the clients watching a key that exists in the emptied (or swapped-in) database, as Redis's
// touchAllWatchedKeysInDb does. A client's ClientWatch is shared with the table; its dirty flag is
// atomic because a key may change on any worker's thread. Lock order: the key's shard lock, then
// this table's mutex (never the reverse); notifications are passed on after the mutex is released.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
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
    size_t db;  // the database the key was watched in
    std::string key;
    int64_t expire_at_ms;  // the key's expiry when it was watched; 0: none, or no such key
  };
  std::atomic<bool> dirty{false};
  std::vector<Key> keys;
};

class WatchTable {
 public:
  explicit WatchTable(storage::Keyspace* keyspace);

  // Installs the table as every shard's watcher, passing database d's notifications on to
  // next_for_db(d) (the singleflight table's watcher there, or nullptr). Before the server's
  // threads start.
  void Install(const std::function<storage::KeyWatcher*(size_t db)>& next_for_db);
  // The watcher installed on database db's shards (KeyEvents chains its own in front of it).
  storage::KeyWatcher* watcher(size_t db) { return db_watchers_[db].get(); }
  // Adds key of database db to watch (skipped when watch has it already). Call holding key's
  // shard lock, so that no change to the key can slip between the caller's look and the watch.
  void Watch(size_t db, std::string_view key, int64_t expire_at_ms,
             const std::shared_ptr<ClientWatch>& watch);
  // Forgets every key of watch and clears it (UNWATCH, EXEC, DISCARD, RESET, close).
  void UnwatchAll(ClientWatch& watch);
  // Redis's touchAllWatchedKeysInDb, before database emptied is flushed or swapped: marks
  // dirty every client watching a key of emptied that exists there, or in replaced_with (the
  // database SWAPDB brings in; nullptr for a flush). Call holding every shard lock.
  void TouchAllInDb(size_t emptied, size_t replaced_with, bool swapping, int64_t now_ms);

 private:
  struct StringHash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };
  using KeyMap = std::unordered_map<std::string, std::vector<std::shared_ptr<ClientWatch>>,
                                    StringHash, std::equal_to<>>;
  // The watcher of one database's shards.
  class DbWatcher : public storage::KeyWatcher {
   public:
    DbWatcher(WatchTable* table, size_t db) : table_(table), db_(db) {}
    void OnKeyChanged(std::string_view key) override;
    void OnFlush() override;
    storage::KeyWatcher* next = nullptr;

   private:
    WatchTable* table_;
    size_t db_;
  };
  void KeyChanged(size_t db, std::string_view key);

  storage::Keyspace* keyspace_;
  std::vector<std::unique_ptr<DbWatcher>> db_watchers_;
  std::atomic<size_t> watched_keys_{0};  // lock-free check: nothing watched, nothing to do
  std::mutex mutex_;                     // guards watchers_
  std::vector<KeyMap> watchers_;         // by database
};

}  // namespace flightcache::server
