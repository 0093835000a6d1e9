// tracking_table.cc — the client tracking table (see tracking_table.h).
#include "server/tracking_table.h"

#include <algorithm>

namespace flightcache::server {

void TrackingTable::ClientConnected(uint64_t id, uint32_t worker) {
  std::lock_guard<std::mutex> hold(mutex_);
  clients_[id].worker = worker;
}

void TrackingTable::ClientClosed(uint64_t id) {
  Disable(id);
  std::lock_guard<std::mutex> hold(mutex_);
  clients_.erase(id);
}

std::optional<uint32_t> TrackingTable::WorkerOf(uint64_t id) {
  std::lock_guard<std::mutex> hold(mutex_);
  auto it = clients_.find(id);
  if (it == clients_.end()) return std::nullopt;
  return it->second.worker;
}

void TrackingTable::Enable(uint64_t id, uint32_t worker, const TrackingSettings& settings) {
  std::lock_guard<std::mutex> hold(mutex_);
  Client& c = clients_[id];
  c.worker = worker;
  if (!c.tracking) tracking_clients_.fetch_add(1, std::memory_order_relaxed);
  c.tracking = true;
  c.broken_redirect = false;
  std::vector<std::string> prefixes = std::move(c.settings.prefixes);
  c.settings = settings;
  c.settings.prefixes = std::move(prefixes);
  if (!settings.bcast) return;
  std::vector<std::string> wanted = settings.prefixes;
  if (wanted.empty()) wanted.emplace_back();
  for (const std::string& prefix : wanted) {
    if (std::find(c.settings.prefixes.begin(), c.settings.prefixes.end(), prefix) !=
        c.settings.prefixes.end()) {
      continue;
    }
    c.settings.prefixes.push_back(prefix);
    prefixes_[prefix].push_back(id);
  }
}

void TrackingTable::DropFromPrefixes(uint64_t id, const TrackingSettings& settings) {
  for (const std::string& prefix : settings.prefixes) {
    auto it = prefixes_.find(prefix);
    if (it == prefixes_.end()) continue;
    auto& ids = it->second;
    ids.erase(std::remove(ids.begin(), ids.end(), id), ids.end());
    if (ids.empty()) prefixes_.erase(it);
  }
}

void TrackingTable::Disable(uint64_t id) {
  std::lock_guard<std::mutex> hold(mutex_);
  auto it = clients_.find(id);
  if (it == clients_.end() || !it->second.tracking) return;
  Client& c = it->second;
  DropFromPrefixes(id, c.settings);
  c.tracking = false;
  c.broken_redirect = false;
  c.settings = TrackingSettings();
  tracking_clients_.fetch_sub(1, std::memory_order_relaxed);
}

std::optional<TrackingSettings> TrackingTable::SettingsOf(uint64_t id, bool* broken_redirect) {
  std::lock_guard<std::mutex> hold(mutex_);
  auto it = clients_.find(id);
  if (it == clients_.end() || !it->second.tracking) return std::nullopt;
  if (broken_redirect) *broken_redirect = it->second.broken_redirect;
  TrackingSettings copy = it->second.settings;
  std::sort(copy.prefixes.begin(), copy.prefixes.end());  // in Redis's (radix tree) order
  return copy;
}

void TrackingTable::Route(uint64_t id, Client& c, Invalidation::Kind kind, std::string_view key,
                          std::vector<Invalidation>* out) {
  Invalidation msg;
  msg.kind = kind;
  msg.key = std::string(key);
  if (c.settings.redirect == 0) {
    msg.worker = c.worker;
    msg.conn_id = id;
  } else if (auto target = clients_.find(c.settings.redirect); target != clients_.end()) {
    msg.worker = target->second.worker;
    msg.conn_id = c.settings.redirect;
    msg.via_redirect = true;
  } else {
    // The redirect target is gone: the client itself is told (RESP3 only), as Redis does.
    c.broken_redirect = true;
    msg.worker = c.worker;
    msg.conn_id = id;
    msg.kind = Invalidation::Kind::kBrokenRedirect;
    msg.redirect_id = c.settings.redirect;
    msg.key.clear();
  }
  out->push_back(std::move(msg));
}

void TrackingTable::InvalidateEntry(KeyTable::iterator it, uint64_t writer_id,
                                    std::vector<Invalidation>* out) {
  for (uint64_t id : it->second) {
    auto c = clients_.find(id);
    // Lazily skipped: clients gone, no longer tracking, or switched to BCAST since.
    if (c == clients_.end() || !c->second.tracking || c->second.settings.bcast) continue;
    if (c->second.settings.noloop && id == writer_id) continue;
    Route(id, c->second, Invalidation::Kind::kKey, it->first, out);
  }
  items_ -= it->second.size();
  keys_.erase(it);
}

void TrackingTable::Remember(std::string_view key, uint64_t id, std::vector<Invalidation>* out) {
  std::lock_guard<std::mutex> hold(mutex_);
  auto it = keys_.find(key);
  if (it == keys_.end()) it = keys_.emplace(std::string(key), std::vector<uint64_t>()).first;
  auto& ids = it->second;
  if (std::find(ids.begin(), ids.end(), id) == ids.end()) {
    ids.push_back(id);
    ++items_;
  }
  // Over the limit: drop keys (other than the one just read) and invalidate them, as if they had
  // changed. Each read adds at most one key, so this drops about one per read.
  const uint64_t max_keys = max_keys_.load(std::memory_order_relaxed);
  if (max_keys == 0) return;
  while (keys_.size() > max_keys) {
    auto victim = keys_.begin();
    if (victim->first == key) {
      if (keys_.size() == 1) break;
      ++victim;
    }
    InvalidateEntry(victim, 0, out);
  }
}

void TrackingTable::KeyChanged(std::string_view key, uint64_t writer_id,
                               std::vector<Invalidation>* out) {
  std::lock_guard<std::mutex> hold(mutex_);
  for (auto& [prefix, ids] : prefixes_) {
    if (key.substr(0, prefix.size()) != prefix) continue;
    for (uint64_t id : ids) {
      auto c = clients_.find(id);
      if (c == clients_.end() || !c->second.tracking) continue;
      if (c->second.settings.noloop && id == writer_id) continue;
      Route(id, c->second, Invalidation::Kind::kKey, key, out);
    }
  }
  auto it = keys_.find(key);
  if (it != keys_.end()) InvalidateEntry(it, writer_id, out);
}

void TrackingTable::Flushed(std::vector<Invalidation>* out) {
  std::lock_guard<std::mutex> hold(mutex_);
  for (auto& [id, c] : clients_) {
    if (c.tracking) Route(id, c, Invalidation::Kind::kFlush, {}, out);
  }
  keys_.clear();
  items_ = 0;
}

uint64_t TrackingTable::total_keys() {
  std::lock_guard<std::mutex> hold(mutex_);
  return keys_.size();
}

uint64_t TrackingTable::total_items() {
  std::lock_guard<std::mutex> hold(mutex_);
  return items_;
}

uint64_t TrackingTable::total_prefixes() {
  std::lock_guard<std::mutex> hold(mutex_);
  return prefixes_.size();
}

}  // namespace flightcache::server
