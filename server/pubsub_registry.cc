// pubsub_registry.cc — the shared channel and pattern tables (see pubsub_registry.h).
#include "server/pubsub_registry.h"

#include "storage/glob.h"

namespace flightcache::server {
namespace {

using Table = std::unordered_map<std::string, std::unordered_set<Subscriber, SubscriberHash>>;

bool Add(Table& table, std::string_view name, Subscriber sub) {
  auto it = table.find(std::string(name));
  if (it == table.end()) it = table.emplace(std::string(name), Table::mapped_type()).first;
  return it->second.insert(sub).second;
}

bool Remove(Table& table, std::string_view name, Subscriber sub) {
  auto it = table.find(std::string(name));
  if (it == table.end() || it->second.erase(sub) == 0) return false;
  if (it->second.empty()) table.erase(it);
  return true;
}

}  // namespace

bool PubsubRegistry::Subscribe(std::string_view channel, Subscriber sub) {
  std::lock_guard<std::mutex> hold(mutex_);
  return Add(channels_, channel, sub);
}

bool PubsubRegistry::PSubscribe(std::string_view pattern, Subscriber sub) {
  std::lock_guard<std::mutex> hold(mutex_);
  return Add(patterns_, pattern, sub);
}

bool PubsubRegistry::Unsubscribe(std::string_view channel, Subscriber sub) {
  std::lock_guard<std::mutex> hold(mutex_);
  return Remove(channels_, channel, sub);
}

bool PubsubRegistry::PUnsubscribe(std::string_view pattern, Subscriber sub) {
  std::lock_guard<std::mutex> hold(mutex_);
  return Remove(patterns_, pattern, sub);
}

int64_t PubsubRegistry::CollectReceivers(std::string_view channel, size_t worker_count,
                                         std::vector<PublishBatch>* batches) {
  batches->assign(worker_count, PublishBatch());
  int64_t receivers = 0;
  std::lock_guard<std::mutex> hold(mutex_);
  if (auto it = channels_.find(std::string(channel)); it != channels_.end()) {
    for (const Subscriber& sub : it->second) {
      if (sub.worker >= worker_count) continue;
      (*batches)[sub.worker].channel_subscribers.push_back(sub.conn_id);
      ++receivers;
    }
  }
  // Every pattern is matched against the channel, as Redis does: O(patterns) per PUBLISH.
  for (const auto& [pattern, subs] : patterns_) {
    if (!storage::GlobMatch(pattern, channel)) continue;
    for (const Subscriber& sub : subs) {
      if (sub.worker >= worker_count) continue;
      (*batches)[sub.worker].pattern_subscribers.emplace_back(sub.conn_id, pattern);
      ++receivers;
    }
  }
  return receivers;
}

std::vector<std::string> PubsubRegistry::Channels(std::string_view pattern, bool all) {
  std::vector<std::string> out;
  std::lock_guard<std::mutex> hold(mutex_);
  for (const auto& [channel, subs] : channels_) {
    if (all || storage::GlobMatch(pattern, channel)) out.push_back(channel);
  }
  return out;
}

int64_t PubsubRegistry::NumSub(std::string_view channel) {
  std::lock_guard<std::mutex> hold(mutex_);
  auto it = channels_.find(std::string(channel));
  return it == channels_.end() ? 0 : static_cast<int64_t>(it->second.size());
}

int64_t PubsubRegistry::NumPat() {
  std::lock_guard<std::mutex> hold(mutex_);
  return static_cast<int64_t>(patterns_.size());
}

int64_t PubsubRegistry::NumChannels() {
  std::lock_guard<std::mutex> hold(mutex_);
  return static_cast<int64_t>(channels_.size());
}

}  // namespace flightcache::server
