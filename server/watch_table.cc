// watch_table.cc — WATCH's key table (see watch_table.h).
#include "server/watch_table.h"

#include <algorithm>

namespace flightcache::server {

void WatchTable::Install(storage::KeyWatcher* next) {
  next_ = next;
  for (size_t i = 0; i < storage::Keyspace::kShardCount; ++i) keyspace_->shard(i).set_watcher(this);
}

void WatchTable::Watch(std::string_view key, int64_t expire_at_ms,
                       const std::shared_ptr<ClientWatch>& watch) {
  for (const ClientWatch::Key& k : watch->keys) {
    if (k.key == key) return;
  }
  watch->keys.push_back({std::string(key), expire_at_ms});
  {
    std::lock_guard<std::mutex> hold(mutex_);
    auto it = watchers_.find(key);
    if (it == watchers_.end()) it = watchers_.emplace(std::string(key), 0).first;
    it->second.push_back(watch);
  }
  watched_keys_.fetch_add(1, std::memory_order_relaxed);
  keyspace_->Locate(key).shard->AddWatch();  // the shard now reports changes of its keys
}

void WatchTable::UnwatchAll(ClientWatch& watch) {
  if (watch.keys.empty()) return;
  {
    std::lock_guard<std::mutex> hold(mutex_);
    for (const ClientWatch::Key& k : watch.keys) {
      auto it = watchers_.find(k.key);
      if (it == watchers_.end()) continue;
      auto& list = it->second;
      list.erase(
          std::remove_if(list.begin(), list.end(),
                         [&](const std::shared_ptr<ClientWatch>& w) { return w.get() == &watch; }),
          list.end());
      if (list.empty()) watchers_.erase(it);
    }
  }
  for (const ClientWatch::Key& k : watch.keys) keyspace_->Locate(k.key).shard->RemoveWatch();
  watched_keys_.fetch_sub(watch.keys.size(), std::memory_order_relaxed);
  watch.keys.clear();
  watch.dirty.store(false, std::memory_order_relaxed);
}

void WatchTable::OnKeyChanged(std::string_view key) {
  if (watched_keys_.load(std::memory_order_relaxed) > 0) {
    std::lock_guard<std::mutex> hold(mutex_);
    auto it = watchers_.find(key);
    if (it != watchers_.end()) {
      for (const auto& w : it->second) w->dirty.store(true, std::memory_order_relaxed);
    }
  }
  if (next_) next_->OnKeyChanged(key);
}

void WatchTable::OnFlush() {
  if (watched_keys_.load(std::memory_order_relaxed) > 0) {
    std::lock_guard<std::mutex> hold(mutex_);
    for (auto& [key, list] : watchers_) {
      for (const auto& w : list) w->dirty.store(true, std::memory_order_relaxed);
    }
  }
  if (next_) next_->OnFlush();
}

}  // namespace flightcache::server
