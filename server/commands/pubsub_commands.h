// pubsub_commands.h — publishing from server code (keyspace notifications) the way PUBLISH does.
#pragma once

#include <cstdint>
#include <string_view>

namespace flightcache::server {

class Server;
class Worker;

// Publishes message on channel from the worker `from` (the calling thread's): writes it to
// the receivers on `from` at once and posts it to every other worker that has receivers.
// Returns how many subscriptions receive it (PUBLISH's answer). Call holding no shard lock.
int64_t PublishMessage(Server& server, Worker& from, std::string_view channel,
                       std::string_view message);

}  // namespace flightcache::server
