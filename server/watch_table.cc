// watch_table.cc — WATCH's key table (see watch_table.h).
#include "server/watch_table.h"

#include <algorithm>

namespace flightcache::server {

WatchTable::WatchTable(storage::Keyspace* keyspace)
    : keyspace_(keyspace), watchers_(keyspace->database_count()) {
  for (size_t d = 0; d < keyspace->database_count(); ++d) {
    db_watchers_.push_back(std::make_unique<DbWatcher>(this, d));
  }
}

void WatchTable::Install(const std::function<storage::KeyWatcher*(size_t db)>& next_for_db) {
  for (size_t d = 0; d < keyspace_->database_count(); ++d) {
    db_watchers_[d]->next = next_for_db(d);
    for (size_t i = 0; i < storage::Keyspace::kShardCount; ++i) {
      keyspace_->db(d).shard(i).set_watcher(db_watchers_[d].get());
    }
  }
}

void WatchTable::Watch(size_t db, std::string_view key, int64_t expire_at_ms,
                       const std::shared_ptr<ClientWatch>& watch) {
  for (const ClientWatch::Key& k : watch->keys) {
    if (k.db == db && k.key == key) return;
  }
  watch->keys.push_back({db, std::string(key), expire_at_ms});
  {
    std::lock_guard<std::mutex> hold(mutex_);
    KeyMap& map = watchers_[db];
    auto it = map.find(key);
    if (it == map.end()) it = map.emplace(std::string(key), 0).first;
    it->second.push_back(watch);
  }
  watched_keys_.fetch_add(1, std::memory_order_relaxed);
  keyspace_->db(db).Locate(key).shard->AddWatch();  // the shard now reports changes of its keys
}

void WatchTable::UnwatchAll(ClientWatch& watch) {
  if (watch.keys.empty()) return;
  {
    std::lock_guard<std::mutex> hold(mutex_);
    for (const ClientWatch::Key& k : watch.keys) {
      KeyMap& map = watchers_[k.db];
      auto it = map.find(k.key);
      if (it == map.end()) continue;
      auto& list = it->second;
      list.erase(
          std::remove_if(list.begin(), list.end(),
                         [&](const std::shared_ptr<ClientWatch>& w) { return w.get() == &watch; }),
          list.end());
      if (list.empty()) map.erase(it);
    }
  }
  for (const ClientWatch::Key& k : watch.keys) {
    keyspace_->db(k.db).Locate(k.key).shard->RemoveWatch();
  }
  watched_keys_.fetch_sub(watch.keys.size(), std::memory_order_relaxed);
  watch.keys.clear();
  watch.dirty.store(false, std::memory_order_relaxed);
}

void WatchTable::KeyChanged(size_t db, std::string_view key) {
  if (watched_keys_.load(std::memory_order_relaxed) == 0) return;
  std::lock_guard<std::mutex> hold(mutex_);
  const KeyMap& map = watchers_[db];
  auto it = map.find(key);
  if (it != map.end()) {
    for (const auto& w : it->second) w->dirty.store(true, std::memory_order_relaxed);
  }
}

void WatchTable::TouchAllInDb(size_t emptied, size_t replaced_with, bool swapping, int64_t now_ms) {
  if (watched_keys_.load(std::memory_order_relaxed) == 0) return;
  // The keys are copied out first: looking a key up may expire it, and the expiry's
  // notification takes this table's mutex.
  std::vector<std::pair<std::string, std::vector<std::shared_ptr<ClientWatch>>>> watched;
  {
    std::lock_guard<std::mutex> hold(mutex_);
    for (const auto& [key, list] : watchers_[emptied]) watched.emplace_back(key, list);
  }
  for (const auto& [key, list] : watched) {
    const bool exists = keyspace_->db(emptied).Find(key, now_ms, false) != nullptr ||
                        (swapping && keyspace_->db(replaced_with).Find(key, now_ms, false));
    if (!exists) continue;
    for (const auto& w : list) w->dirty.store(true, std::memory_order_relaxed);
  }
}

void WatchTable::DbWatcher::OnKeyChanged(std::string_view key) {
  table_->KeyChanged(db_, key);
  if (next) next->OnKeyChanged(key);
}

// Flushes and swaps touch the watching clients from the command (TouchAllInDb), which knows
// which keys existed; here the flush only goes on to the singleflight table (the Forget rule).
void WatchTable::DbWatcher::OnFlush() {
  if (next) next->OnFlush();
}

}  // namespace flightcache::server
