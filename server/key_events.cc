// key_events.cc — keyspace notifications and tracking invalidations from the KeyWatcher chain
// (see key_events.h).
#include "server/key_events.h"

#include <algorithm>
#include <memory>
#include <utility>

#include "server/command_table.h"
#include "server/commands/pubsub_commands.h"
#include "server/connection.h"
#include "server/keyspace_notifications.h"
#include "server/server.h"
#include "server/worker.h"

namespace flightcache::server {
namespace {

// What one thread heard since it last delivered.
struct PendingKeyEvents {
  struct Change {
    size_t db;
    std::string key;
    storage::KeyChange change;
  };
  struct Event {
    size_t db;
    std::string key;
    const char* name;
  };
  std::vector<Change> changes;  // heard, not yet named (notifications on)
  std::vector<Event> events;    // named, to publish
  std::vector<Invalidation> invalidations;
  // The key whose invalidations were collected last: a command's several changes to one key
  // (create, then change in place) invalidate it once. Cleared when a command's reads are
  // remembered, since a key read since must be invalidated again.
  std::string last_invalidated;
  bool has_last_invalidated = false;
  uint64_t writer_id = 0;  // the connection whose command runs on this thread now
  bool flushed = false;    // this flush's null invalidations are queued already (one per shard)
};

thread_local PendingKeyEvents pending;

// Appends ev for key when its class is enabled (and K or E is). first: the index of the first
// event of the command being named.
void Keep(uint32_t classes, NotifyEvent ev, size_t db, std::string_view key, size_t first) {
  if (ev.klass == 0 || (classes & ev.klass) == 0) return;
  if ((classes & (kNotifyKeyspace | kNotifyKeyevent)) == 0) return;
  auto& events = pending.events;
  // One command's several writes to one key (create, then change in place) are one event.
  if (events.size() > first && events.back().db == db && events.back().key == key &&
      events.back().name == ev.name) {
    return;
  }
  events.push_back({db, std::string(key), ev.name});
}

// LMOVE and RPOPLPUSH between two lists: Redis sends the destination's event first.
bool PushesBeforePop(const CommandSpec& cmd, const std::vector<std::string_view>& args) {
  return (cmd.name == "lmove" || cmd.name == "rpoplpush") && args.size() >= 3 && args[1] != args[2];
}

// A command of a data type whose emptied key gets its own event before "del" (not the *STORE
// commands, whose empty result is only a "del" of the destination).
bool EmptiesWithOwnEvent(const CommandSpec& cmd) {
  const bool typed =
      cmd.group == "list" || cmd.group == "set" || cmd.group == "hash" || cmd.group == "zset";
  return typed && !cmd.name.ends_with("store");
}

// Names the queued changes: after cmd (with args), or as background changes when cmd is null.
void NameChanges(uint32_t classes, const CommandSpec* cmd,
                 const std::vector<std::string_view>* args) {
  size_t writes = 0;
  bool wrote_last = false;  // the change before this one was a write (of the same command)
  const size_t first = pending.events.size();
  if (cmd && PushesBeforePop(*cmd, *args)) {
    // Redis tells of LMOVE's push to the destination before the pop from the source.
    std::stable_partition(pending.changes.begin(), pending.changes.end(),
                          [&](const PendingKeyEvents::Change& c) { return c.key == (*args)[2]; });
  }
  for (const PendingKeyEvents::Change& c : pending.changes) {
    const storage::KeyChangeKind kind = c.change.kind;
    const bool write =
        kind == storage::KeyChangeKind::kCreated || kind == storage::KeyChangeKind::kWritten;
    if (kind == storage::KeyChangeKind::kCreated)
      Keep(classes, {kNotifyNew, "new"}, c.db, c.key, first);
    if (cmd) {
      if (kind == storage::KeyChangeKind::kDeleted && !wrote_last && EmptiesWithOwnEvent(*cmd)) {
        // LTRIM or LREM that removes every element deletes the key at once: Redis still tells
        // of the command's own event before the "del".
        Keep(classes,
             CommandEvent(*cmd, *args, c.key, {storage::KeyChangeKind::kWritten, false}, writes),
             c.db, c.key, first);
      }
      Keep(classes, CommandEvent(*cmd, *args, c.key, c.change, writes), c.db, c.key, first);
      if (write && c.change.with_expiry && WriteWithExpiryIsExpireEvent(*cmd)) {
        Keep(classes, {kNotifyGeneric, "expire"}, c.db, c.key, first);
      }
    } else {
      Keep(classes, BackgroundEvent(c.change), c.db, c.key, first);
    }
    if (write) ++writes;
    wrote_last = write;
  }
  pending.changes.clear();
}

// Writes one invalidation to its connection on this worker (which may have closed since).
void Send(Worker& worker, const Invalidation& msg) {
  Connection* conn = worker.FindConnection(msg.conn_id);
  if (!conn) return;
  protocol::ReplyWriter& w = conn->reply();
  if (msg.kind == Invalidation::Kind::kBrokenRedirect) {
    if (!w.resp3()) return;
    w.PushHeader(2);
    w.Bulk("tracking-redir-broken");
    w.Integer(static_cast<int64_t>(msg.redirect_id));
  } else {
    if (w.resp3()) {
      w.PushHeader(2);
      w.Bulk("invalidate");
    } else if (msg.via_redirect && conn->subscription_count() > 0) {
      // A RESP2 redirect target hears of it as a message on __redis__:invalidate.
      w.PushHeader(3);
      w.Bulk("message");
      w.Bulk("__redis__:invalidate");
    } else {
      return;  // RESP2 has no pushes on the tracking connection itself
    }
    if (msg.kind == Invalidation::Kind::kFlush) {
      w.Null();
    } else {
      w.ArrayHeader(1);
      w.Bulk(msg.key);
    }
  }
  conn->CountOutput(conn->PendingOutputBytes());
  worker.QueueWrite(conn);
}

}  // namespace

KeyEvents::~KeyEvents() = default;

void KeyEvents::Install(const std::vector<storage::KeyWatcher*>& next_by_db) {
  db_watchers_.clear();
  for (size_t d = 0; d < keyspace_->database_count(); ++d) {
    storage::KeyWatcher* next = d < next_by_db.size() ? next_by_db[d] : nullptr;
    db_watchers_.push_back(std::make_unique<DbWatcher>(this, d, next));
    for (size_t i = 0; i < storage::Keyspace::kShardCount; ++i) {
      keyspace_->db(d).shard(i).set_watcher(db_watchers_.back().get());
    }
  }
}

void KeyEvents::SetNotifyClasses(uint32_t classes) {
  notify_classes_.store(classes, std::memory_order_relaxed);
  UpdateWatching();
}

void KeyEvents::UpdateWatching() {
  std::lock_guard<std::mutex> hold(watching_mutex_);
  const bool wanted = notify_classes_.load(std::memory_order_relaxed) != 0 || tracking_.active();
  if (wanted == watching_all_) return;
  watching_all_ = wanted;
  for (size_t d = 0; d < keyspace_->database_count(); ++d) {
    for (size_t i = 0; i < storage::Keyspace::kShardCount; ++i) {
      if (wanted) {
        keyspace_->db(d).shard(i).AddWatch();
      } else {
        keyspace_->db(d).shard(i).RemoveWatch();
      }
    }
  }
}

void KeyEvents::ClientClosed(uint64_t id) {
  const bool was_tracking = tracking_.active();
  tracking_.ClientClosed(id);
  if (was_tracking) UpdateWatching();
}

void KeyEvents::EnableTracking(Connection& conn, uint32_t worker,
                               const TrackingSettings& settings) {
  // Watch first: the client's next read is remembered under its key's shard lock, after this.
  tracking_.Enable(conn.id(), worker, settings);
  UpdateWatching();
  conn.tracking.on = true;
  conn.tracking.bcast = settings.bcast;
  conn.tracking.optin = settings.optin;
  conn.tracking.optout = settings.optout;
  conn.tracking.caching = false;
}

void KeyEvents::DisableTracking(Connection& conn) {
  if (!conn.tracking.on) return;
  conn.tracking = Connection::Tracking();
  tracking_.Disable(conn.id());
  UpdateWatching();
}

void KeyEvents::BeforeCommand(uint64_t conn_id) {
  if (!pending.changes.empty()) {
    NameChanges(notify_classes_.load(std::memory_order_relaxed), nullptr, nullptr);
  }
  pending.writer_id = conn_id;
}

void KeyEvents::AfterCommand(Connection& conn, const CommandSpec& cmd,
                             const std::vector<std::string_view>& args) {
  if (!pending.changes.empty()) {
    NameChanges(notify_classes_.load(std::memory_order_relaxed), &cmd, &args);
  }
  pending.has_last_invalidated = false;
  const Connection::Tracking& t = conn.tracking;
  if (!t.on || t.bcast || !(cmd.flags & kReadOnly) || cmd.first_key <= 0) return;
  // OPTIN tracks only after CLIENT CACHING YES; OPTOUT tracks unless CLIENT CACHING NO.
  if ((t.optin && !t.caching) || (t.optout && t.caching)) return;
  const int argc = static_cast<int>(args.size());
  const int last = cmd.last_key < 0 ? argc + cmd.last_key : cmd.last_key;
  for (int i = cmd.first_key; i <= last && i < argc; i += cmd.key_step) {
    tracking_.Remember(args[static_cast<size_t>(i)], conn.id(), &pending.invalidations);
  }
}

void KeyEvents::Deliver(Worker& worker) {
  pending.writer_id = 0;
  pending.flushed = false;
  pending.has_last_invalidated = false;
  if (!pending.changes.empty()) {
    NameChanges(notify_classes_.load(std::memory_order_relaxed), nullptr, nullptr);
  }
  if (!pending.events.empty()) {
    std::vector<PendingKeyEvents::Event> events;
    events.swap(pending.events);
    const uint32_t classes = notify_classes_.load(std::memory_order_relaxed);
    for (const PendingKeyEvents::Event& e : events) {
      if (classes & kNotifyKeyspace) {
        PublishMessage(worker.server(), worker, KeyspaceChannel(static_cast<int>(e.db), e.key),
                       e.name);
      }
      if (classes & kNotifyKeyevent) {
        PublishMessage(worker.server(), worker, KeyeventChannel(static_cast<int>(e.db), e.name),
                       e.key);
      }
    }
  }
  if (pending.invalidations.empty()) return;
  std::vector<Invalidation> all;
  all.swap(pending.invalidations);
  Server& server = worker.server();
  // Other workers get theirs in one task each, in order.
  std::vector<std::vector<Invalidation>> remote(server.worker_count());
  for (Invalidation& msg : all) {
    if (msg.worker == worker.index()) {
      Send(worker, msg);
    } else if (msg.worker < remote.size()) {
      remote[msg.worker].push_back(std::move(msg));
    }
  }
  for (size_t i = 0; i < remote.size(); ++i) {
    if (remote[i].empty()) continue;
    Worker* target = &server.worker(i);
    auto batch = std::make_shared<const std::vector<Invalidation>>(std::move(remote[i]));
    target->Post([target, batch]() {
      for (const Invalidation& msg : *batch) Send(*target, msg);
    });
  }
}

void KeyEvents::DbWatcher::OnKeyChanged(std::string_view key) {
  OnKeyChange(key, storage::KeyChange{storage::KeyChangeKind::kWritten, false});
}

void KeyEvents::DbWatcher::OnKeyChange(std::string_view key, storage::KeyChange change) {
  events_->KeyChanged(db_, key, change);
  if (next_) next_->OnKeyChange(key, change);
}

void KeyEvents::DbWatcher::OnFlush() {
  events_->ShardFlushed();
  if (next_) next_->OnFlush();
}

void KeyEvents::KeyChanged(size_t db, std::string_view key, storage::KeyChange change) {
  if (change.kind != storage::KeyChangeKind::kAbsentDelete) {
    if (notify_classes_.load(std::memory_order_relaxed) != 0) {
      pending.changes.push_back({db, std::string(key), change});
    }
    if (tracking_.active() && !(pending.has_last_invalidated && pending.last_invalidated == key)) {
      tracking_.KeyChanged(key, pending.writer_id, &pending.invalidations);
      pending.last_invalidated.assign(key);
      pending.has_last_invalidated = true;
    }
  }
}

void KeyEvents::ShardFlushed() {
  // Called once per shard: the tracking clients get one null invalidation for the flush.
  if (tracking_.active() && !pending.flushed) {
    pending.flushed = true;
    tracking_.Flushed(&pending.invalidations);
  }
}

}  // namespace flightcache::server
