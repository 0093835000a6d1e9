// pubsub_commands.cc — SUBSCRIBE, UNSUBSCRIBE, PSUBSCRIBE, PUNSUBSCRIBE, PUBLISH and PUBSUB
// (CHANNELS, NUMSUB, NUMPAT, HELP), as Redis 7.0 has them.
//
// A client's subscriptions live in its Connection (touched only by its own worker) and in the
// server's PubsubRegistry (shared, by worker index and connection id). PUBLISH collects the
// receivers from the registry, writes the message to those on its own worker at once, and
// posts it to every other worker that has receivers; that worker looks each connection up by
// id (it may have closed or unsubscribed meanwhile) and writes it there. Subscription replies
// and messages are RESP3 pushes for HELLO 3 clients, plain arrays in RESP2. Worker::Execute
// keeps a RESP2 subscriber to the subscriber-mode commands.
#include "server/commands/pubsub_commands.h"

#include <memory>
#include <string>
#include <vector>

#include "server/command_table.h"
#include "server/command_util.h"
#include "server/connection.h"
#include "server/pubsub_registry.h"
#include "server/server.h"
#include "server/worker.h"

namespace flightcache::server {
namespace {

Subscriber Me(CommandContext& ctx) {
  return Subscriber{static_cast<uint32_t>(ctx.worker.index()), ctx.conn.id()};
}

// One (un)subscription confirmation: [kind, name (nil when none), subscriptions left].
void ReplySubscription(CommandContext& ctx, std::string_view kind, const std::string* name) {
  ctx.reply.PushHeader(3);
  ctx.reply.Bulk(kind);
  if (name) {
    ctx.reply.Bulk(*name);
  } else {
    ctx.reply.Null();
  }
  ctx.reply.Integer(static_cast<int64_t>(ctx.conn.subscription_count()));
}

void SubscribeCommand(CommandContext& ctx) {
  for (size_t i = 1; i < ctx.args.size(); ++i) {
    std::string channel(ctx.args[i]);
    if (ctx.conn.pubsub_channels.insert(channel).second) {
      ctx.server.pubsub().Subscribe(channel, Me(ctx));
    }
    ReplySubscription(ctx, "subscribe", &channel);
  }
  ctx.conn.UpdateLimits();  // the pubsub output class applies from now on
}

void PSubscribeCommand(CommandContext& ctx) {
  for (size_t i = 1; i < ctx.args.size(); ++i) {
    std::string pattern(ctx.args[i]);
    if (ctx.conn.pubsub_patterns.insert(pattern).second) {
      ctx.server.pubsub().PSubscribe(pattern, Me(ctx));
    }
    ReplySubscription(ctx, "psubscribe", &pattern);
  }
  ctx.conn.UpdateLimits();
}

// UNSUBSCRIBE and PUNSUBSCRIBE: the named channels (or patterns), or every one the client has
// when none is named; with none to drop, one reply with a nil name, as Redis does.
void UnsubscribeFrom(CommandContext& ctx, bool patterns) {
  std::unordered_set<std::string>& mine =
      patterns ? ctx.conn.pubsub_patterns : ctx.conn.pubsub_channels;
  const std::string_view kind = patterns ? "punsubscribe" : "unsubscribe";
  std::vector<std::string> names;
  if (ctx.args.size() > 1) {
    names.assign(ctx.args.begin() + 1, ctx.args.end());
  } else {
    names.assign(mine.begin(), mine.end());
    if (names.empty()) ReplySubscription(ctx, kind, nullptr);
  }
  PubsubRegistry& registry = ctx.server.pubsub();
  for (const std::string& name : names) {
    if (mine.erase(name) > 0) {
      if (patterns) {
        registry.PUnsubscribe(name, Me(ctx));
      } else {
        registry.Unsubscribe(name, Me(ctx));
      }
    }
    ReplySubscription(ctx, kind, &name);
  }
  ctx.conn.UpdateLimits();  // back to the normal output class once nothing is left
}

void UnsubscribeCommand(CommandContext& ctx) { UnsubscribeFrom(ctx, false); }
void PUnsubscribeCommand(CommandContext& ctx) { UnsubscribeFrom(ctx, true); }

// Writes one worker's share of a PUBLISH to its connections; runs on that worker's thread.
// A receiver that closed or unsubscribed since the message was published is skipped.
void DeliverBatch(Worker& worker, const std::string& channel, const std::string& message,
                  const PublishBatch& batch) {
  for (uint64_t id : batch.channel_subscribers) {
    Connection* conn = worker.FindConnection(id);
    if (conn && conn->pubsub_channels.count(channel) > 0)
      conn->DeliverMessage({}, channel, message);
  }
  for (const auto& [id, pattern] : batch.pattern_subscribers) {
    Connection* conn = worker.FindConnection(id);
    if (conn && conn->pubsub_patterns.count(pattern) > 0) {
      conn->DeliverMessage(pattern, channel, message);
    }
  }
}

// PUBLISH channel message: answers how many subscriptions received it.
void PublishCommand(CommandContext& ctx) {
  ctx.reply.Integer(PublishMessage(ctx.server, ctx.worker, ctx.args[1], ctx.args[2]));
}

void PubsubCommand(CommandContext& ctx) {
  const std::string_view sub = ctx.args[1];
  PubsubRegistry& registry = ctx.server.pubsub();
  if (EqualsIgnoreCase(sub, "channels") && ctx.args.size() <= 3) {
    const bool all = ctx.args.size() == 2;
    std::vector<std::string> channels = registry.Channels(all ? "" : ctx.args[2], all);
    ctx.reply.ArrayHeader(channels.size());
    for (const std::string& channel : channels) ctx.reply.Bulk(channel);
  } else if (EqualsIgnoreCase(sub, "numsub")) {
    ctx.reply.ArrayHeader((ctx.args.size() - 2) * 2);
    for (size_t i = 2; i < ctx.args.size(); ++i) {
      ctx.reply.Bulk(ctx.args[i]);
      ctx.reply.Integer(registry.NumSub(ctx.args[i]));
    }
  } else if (EqualsIgnoreCase(sub, "numpat") && ctx.args.size() == 2) {
    ctx.reply.Integer(registry.NumPat());
  } else if (EqualsIgnoreCase(sub, "help") && ctx.args.size() == 2) {
    static const char* kHelp[] = {
        "PUBSUB <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
        "CHANNELS [<pattern>]",
        "    Return the currently active channels matching a <pattern> (default: '*').",
        "NUMPAT",
        "    Return number of subscriptions to patterns.",
        "NUMSUB [<channel> ...]",
        "    Return the number of subscribers for the specified channels, excluding",
        "    pattern subscriptions(default: no channels).",
        "HELP",
        "    Print this help."};
    ReplyHelp(ctx.reply, kHelp);
  } else {
    ReplySubcommandError(ctx);
  }
}

}  // namespace

// Messages to one worker travel in that worker's FIFO inbox, so one publisher's messages arrive
// in order.
int64_t PublishMessage(Server& server, Worker& from, std::string_view channel_name,
                       std::string_view message_text) {
  std::vector<PublishBatch> batches;
  const int64_t receivers =
      server.pubsub().CollectReceivers(channel_name, server.worker_count(), &batches);
  if (receivers == 0) return 0;
  auto channel = std::make_shared<const std::string>(channel_name);
  auto message = std::make_shared<const std::string>(message_text);
  for (size_t i = 0; i < batches.size(); ++i) {
    if (batches[i].empty()) continue;
    if (i == from.index()) {
      DeliverBatch(from, *channel, *message, batches[i]);
      continue;
    }
    Worker* target = &server.worker(i);
    auto batch = std::make_shared<const PublishBatch>(std::move(batches[i]));
    target->Post(
        [target, channel, message, batch]() { DeliverBatch(*target, *channel, *message, *batch); });
  }
  return receivers;
}

void RegisterPubsubCommands(CommandTable& t) {
  const uint32_t kSub = kPubsub | kNoScript | kLoading | kStale | kSubscriberMode;
  t.Add({"subscribe", -2, kSub, 0, 0, 0, SubscribeCommand, "pubsub",
         "Listens for messages published to channels.", "2.0.0"});
  t.Add({"unsubscribe", -1, kSub, 0, 0, 0, UnsubscribeCommand, "pubsub",
         "Stops listening to messages posted to channels.", "2.0.0"});
  t.Add({"psubscribe", -2, kSub, 0, 0, 0, PSubscribeCommand, "pubsub",
         "Listens for messages published to channels that match one or more patterns.", "2.0.0"});
  t.Add({"punsubscribe", -1, kSub, 0, 0, 0, PUnsubscribeCommand, "pubsub",
         "Stops listening to messages published to channels that match one or more patterns.",
         "2.0.0"});
  t.Add({"publish", 3, kPubsub | kLoading | kStale | kFast, 0, 0, 0, PublishCommand, "pubsub",
         "Posts a message to a channel.", "2.0.0"});
  CommandSpec pubsub{
      "pubsub", -2, 0, 0, 0, 0, PubsubCommand, "pubsub", "A container for Pub/Sub commands.",
      "2.8.0"};
  pubsub.subcommands = {
      {"pubsub|channels", -2, "Returns the active channels."},
      {"pubsub|numpat", 2, "Returns a count of unique pattern subscriptions."},
      {"pubsub|numsub", -2, "Returns a count of subscribers to channels."},
      {"pubsub|help", 2, "Returns helpful text about the different subcommands."}};
  t.Add(std::move(pubsub));
}

}  // namespace flightcache::server
