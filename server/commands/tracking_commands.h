// tracking_commands.h — CLIENT's client-tracking subcommands
// (server/commands/tracking_commands.cc).
#pragma once

namespace flightcache::server {

struct CommandContext;

// Answers CLIENT TRACKING, CACHING, GETREDIR and TRACKINGINFO; false (nothing replied) when
// ctx is another CLIENT subcommand or has the wrong number of arguments for one of these.
bool ClientTrackingSubcommand(CommandContext& ctx);

}  // namespace flightcache::server
