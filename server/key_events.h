// key_events.h — what the server does when a key changes, beyond WATCH and the Forget rule:
// keyspace notifications (notify-keyspace-events) and client-tracking invalidations.
//
// KeyEvents installs one storage::KeyWatcher per database, the first of each of that database's
// shards (then WatchTable's watcher of the database, then, in database 0, the singleflight
// table): each change is heard with its database, which notifications name (`__keyspace@N__`);
// tracking invalidations do not name one (as Redis). Every change reaches it with what happened
// (storage::KeyChange), whichever path made it: a command, the cron's expiry and eviction, or a
// fill, refresh or invalidation from the origin. It is called holding the key's shard lock, so it
// only records:
// - tracking: the TrackingTable turns the change into Invalidation records at once (so that a
//   read remembered later, under the same lock, is not lost);
// - notifications: the change is kept, and named after the command once it is done.
// Both wait in a thread-local queue. Worker::Execute (and RunQueued for EXEC's commands) calls
// AfterCommand when the command is done, still holding its locks, which names the changes
// after the command and remembers the keys a tracking client read; then, with no lock held,
// Deliver publishes the events through the pub/sub registry and sends every invalidation on
// its target's worker (posted by connection id to other workers). Changes no command made are
// delivered from the worker's next write pass. A tracking client's own invalidations thus come
// after its command's reply, as in Redis 7.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "server/tracking_table.h"
#include "storage/keyspace.h"

namespace flightcache::server {

class Connection;
class Worker;
struct CommandSpec;

class KeyEvents {
 public:
  explicit KeyEvents(storage::Keyspace* keyspace) : keyspace_(keyspace) {}
  ~KeyEvents();

  // Installs a watcher of database d in front of every shard of d, passing every change on to
  // next_by_db[d] (may be null). Before the server's threads start.
  void Install(const std::vector<storage::KeyWatcher*>& next_by_db);

  // notify-keyspace-events as class bits (keyspace_notifications.h); 0: off.
  void SetNotifyClasses(uint32_t classes);
  TrackingTable& tracking() { return tracking_; }
  // A connection opened or closed: the tracking table knows every client's worker.
  void ClientOpened(uint64_t id, uint32_t worker) { tracking_.ClientConnected(id, worker); }
  void ClientClosed(uint64_t id);
  // Turns client tracking on (settings) or off for conn, keeping the shards watched while any
  // client tracks.
  void EnableTracking(Connection& conn, uint32_t worker, const TrackingSettings& settings);
  void DisableTracking(Connection& conn);

  // Before a command runs on this thread: delivers nothing, but names the changes still
  // queued (made outside any command) as background events, and notes conn as the writer
  // (NOLOOP).
  void BeforeCommand(uint64_t conn_id);
  // After cmd ran (its shard locks still held): names its changes after it, and remembers the
  // keys it read when conn tracks them. Cheap when neither feature is on.
  void AfterCommand(Connection& conn, const CommandSpec& cmd,
                    const std::vector<std::string_view>& args);
  // With no lock held, on worker's thread: publishes the queued events and sends the queued
  // invalidations. Called after each command and from every write pass.
  void Deliver(Worker& worker);

  // A change of key in database db (the shard watchers call it, holding the key's lock).
  void KeyChanged(size_t db, std::string_view key, storage::KeyChange change);
  // A flush of one shard of some database.
  void ShardFlushed();

 private:
  // The first watcher of one database's shards.
  class DbWatcher : public storage::KeyWatcher {
   public:
    DbWatcher(KeyEvents* events, size_t db, storage::KeyWatcher* next)
        : events_(events), db_(db), next_(next) {}
    void OnKeyChanged(std::string_view key) override;
    void OnKeyChange(std::string_view key, storage::KeyChange change) override;
    void OnFlush() override;

   private:
    KeyEvents* events_;
    size_t db_;
    storage::KeyWatcher* next_;
  };

  // Watches every shard while notifications or tracking need the changes; unwatches when
  // neither does.
  void UpdateWatching();

  storage::Keyspace* keyspace_;
  std::vector<std::unique_ptr<DbWatcher>> db_watchers_;
  std::atomic<uint32_t> notify_classes_{0};
  TrackingTable tracking_;
  std::mutex watching_mutex_;  // guards watching_all_
  bool watching_all_ = false;  // every shard holds one watch count of ours
};

}  // namespace flightcache::server
