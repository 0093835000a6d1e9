// pubsub_registry.h — the process-wide table of pub/sub subscriptions: channel → subscribers
// and pattern → subscribers, shared by every worker behind one mutex.
//
// A subscriber is (worker index, connection id), never a pointer: a connection may close on
// its own worker while another worker publishes. Each connection also keeps its own set of
// channels and patterns (Connection::pubsub_channels / pubsub_patterns), which only its worker
// touches; the registry mirrors them so that PUBLISH and PUBSUB can see every worker's
// subscribers. PUBLISH takes the lock only to collect the receivers; the messages are written
// by each receiver's own worker (server/commands/pubsub_commands.cc).
#pragma once

#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <vector>

namespace flightcache::server {

struct Subscriber {
  uint32_t worker;
  uint64_t conn_id;
  bool operator==(const Subscriber& o) const { return worker == o.worker && conn_id == o.conn_id; }
};

struct SubscriberHash {
  size_t operator()(const Subscriber& s) const {
    return std::hash<uint64_t>()(s.conn_id * 31 + s.worker);
  }
};

// The receivers of one PUBLISH on one worker.
struct PublishBatch {
  std::vector<uint64_t> channel_subscribers;  // connection ids subscribed to the channel
  // (connection id, pattern) for each pattern subscription that matches the channel
  std::vector<std::pair<uint64_t, std::string>> pattern_subscribers;
  bool empty() const { return channel_subscribers.empty() && pattern_subscribers.empty(); }
};

class PubsubRegistry {
 public:
  // Adds sub to channel (or pattern); false when it was already there.
  bool Subscribe(std::string_view channel, Subscriber sub);
  bool PSubscribe(std::string_view pattern, Subscriber sub);
  // Removes sub from channel (or pattern); false when it was not there. A channel or pattern
  // left without subscribers is forgotten (PUBSUB CHANNELS and NUMPAT stop counting it).
  bool Unsubscribe(std::string_view channel, Subscriber sub);
  bool PUnsubscribe(std::string_view pattern, Subscriber sub);

  // Collects the receivers of a message on channel, one batch per worker (batches has
  // worker_count entries on return), and returns how many receivers there are: one per
  // channel subscriber plus one per matching pattern subscription, as Redis counts.
  int64_t CollectReceivers(std::string_view channel, size_t worker_count,
                           std::vector<PublishBatch>* batches);

  // PUBSUB CHANNELS: the channels with at least one subscriber that match pattern (every
  // channel when pattern is empty).
  std::vector<std::string> Channels(std::string_view pattern, bool all);
  // PUBSUB NUMSUB: subscribers of channel (pattern subscriptions not counted).
  int64_t NumSub(std::string_view channel);
  // PUBSUB NUMPAT and INFO pubsub_patterns: distinct patterns with a subscriber.
  int64_t NumPat();
  // INFO pubsub_channels: channels with a subscriber.
  int64_t NumChannels();

 private:
  using Subscribers = std::unordered_set<Subscriber, SubscriberHash>;
  std::mutex mutex_;
  std::unordered_map<std::string, Subscribers> channels_;
  std::unordered_map<std::string, Subscribers> patterns_;
};

}  // namespace flightcache::server
