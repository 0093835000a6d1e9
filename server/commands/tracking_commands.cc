// tracking_commands.cc — CLIENT TRACKING, CLIENT CACHING, CLIENT GETREDIR and CLIENT
// TRACKINGINFO, as Redis 7.0 has them (options, their checks and their error texts).
//
// The settings go to the server's TrackingTable (server/tracking_table.h) through KeyEvents,
// which keeps the shards watched while any client tracks; the connection keeps its mode flags
// for the worker's after-command step (server/key_events.cc), which remembers what it read.
// Called from CLIENT's dispatch (server/connection_commands.cc).
#include "server/commands/tracking_commands.h"

#include <string>
#include <vector>

#include "server/command_table.h"
#include "server/command_util.h"
#include "server/connection.h"
#include "server/key_events.h"
#include "server/server.h"
#include "server/worker.h"

namespace flightcache::server {
namespace {

bool PrefixesOverlap(std::string_view a, std::string_view b) {
  const size_t n = std::min(a.size(), b.size());
  return a.substr(0, n) == b.substr(0, n);
}

// Checks the new prefixes against the client's own and one another; false after replying
// Redis's error.
bool CheckPrefixes(CommandContext& ctx, const std::vector<std::string>& existing,
                   const std::vector<std::string>& given) {
  for (size_t i = 0; i < given.size(); ++i) {
    for (const std::string& old : existing) {
      if (PrefixesOverlap(old, given[i])) {
        ctx.reply.Error("ERR Prefix '" + given[i] + "' overlaps with an existing prefix '" + old +
                        "'. Prefixes for a single client must not overlap.");
        return false;
      }
    }
    for (size_t j = i + 1; j < given.size(); ++j) {
      if (PrefixesOverlap(given[i], given[j])) {
        ctx.reply.Error("ERR Prefix '" + given[i] + "' overlaps with another provided prefix '" +
                        given[j] + "'. Prefixes for a single client must not overlap.");
        return false;
      }
    }
  }
  return true;
}

// CLIENT TRACKING ON|OFF [REDIRECT id] [PREFIX p ...] [BCAST] [OPTIN] [OPTOUT] [NOLOOP]
void ClientTracking(CommandContext& ctx) {
  KeyEvents& events = ctx.server.key_events();
  TrackingSettings settings;
  bool redirect_given = false;
  for (size_t j = 3; j < ctx.args.size(); ++j) {
    const std::string_view opt = ctx.args[j];
    const bool more = j + 1 < ctx.args.size();
    if (EqualsIgnoreCase(opt, "redirect") && more) {
      ++j;
      if (redirect_given) {
        ctx.reply.Error("ERR A client can only redirect to a single other client");
        return;
      }
      int64_t id;
      if (!ParseInt64(ctx.args[j], &id)) {
        ctx.reply.Error(kErrNotInteger);
        return;
      }
      if (id <= 0 || !events.tracking().WorkerOf(static_cast<uint64_t>(id))) {
        ctx.reply.Error("ERR The client ID you want redirect to does not exist");
        return;
      }
      redirect_given = true;
      settings.redirect = static_cast<uint64_t>(id);
    } else if (EqualsIgnoreCase(opt, "bcast")) {
      settings.bcast = true;
    } else if (EqualsIgnoreCase(opt, "optin")) {
      settings.optin = true;
    } else if (EqualsIgnoreCase(opt, "optout")) {
      settings.optout = true;
    } else if (EqualsIgnoreCase(opt, "noloop")) {
      settings.noloop = true;
    } else if (EqualsIgnoreCase(opt, "prefix") && more) {
      settings.prefixes.emplace_back(ctx.args[++j]);
    } else {
      ctx.reply.Error(kErrSyntax);
      return;
    }
  }
  const std::string_view onoff = ctx.args[2];
  Connection::Tracking& mine = ctx.conn.tracking;
  if (EqualsIgnoreCase(onoff, "on")) {
    if (!settings.bcast && !settings.prefixes.empty()) {
      ctx.reply.Error("ERR PREFIX option requires BCAST mode to be enabled");
      return;
    }
    if (mine.on && mine.bcast != settings.bcast) {
      ctx.reply.Error(
          "ERR You can't switch BCAST mode on/off before disabling tracking for this client, "
          "and then re-enabling it with a different mode.");
      return;
    }
    if (settings.bcast && (settings.optin || settings.optout)) {
      ctx.reply.Error("ERR OPTIN and OPTOUT are not compatible with BCAST");
      return;
    }
    if (settings.optin && settings.optout) {
      ctx.reply.Error("ERR You can't specify both OPTIN mode and OPTOUT mode");
      return;
    }
    if ((settings.optin && mine.optout) || (settings.optout && mine.optin)) {
      ctx.reply.Error(
          "ERR You can't switch OPTIN/OPTOUT mode before disabling tracking for this client, "
          "and then re-enabling it with a different mode.");
      return;
    }
    if (settings.bcast) {
      std::vector<std::string> existing;
      if (auto current = events.tracking().SettingsOf(ctx.conn.id(), nullptr)) {
        existing = current->prefixes;
      }
      if (!CheckPrefixes(ctx, existing, settings.prefixes)) return;
    }
    events.EnableTracking(ctx.conn, static_cast<uint32_t>(ctx.worker.index()), settings);
  } else if (EqualsIgnoreCase(onoff, "off")) {
    events.DisableTracking(ctx.conn);
  } else {
    ctx.reply.Error(kErrSyntax);
    return;
  }
  ctx.reply.Ok();
}

// CLIENT CACHING YES|NO
void ClientCaching(CommandContext& ctx) {
  Connection::Tracking& mine = ctx.conn.tracking;
  if (!mine.on) {
    ctx.reply.Error(
        "ERR CLIENT CACHING can be called only when the client is in tracking mode with OPTIN "
        "or OPTOUT mode enabled");
    return;
  }
  const std::string_view opt = ctx.args[2];
  if (EqualsIgnoreCase(opt, "yes")) {
    if (!mine.optin) {
      ctx.reply.Error(
          "ERR CLIENT CACHING YES is only valid when tracking is enabled in OPTIN mode.");
      return;
    }
  } else if (EqualsIgnoreCase(opt, "no")) {
    if (!mine.optout) {
      ctx.reply.Error(
          "ERR CLIENT CACHING NO is only valid when tracking is enabled in OPTOUT mode.");
      return;
    }
  } else {
    ctx.reply.Error(kErrSyntax);
    return;
  }
  mine.caching = true;
  ctx.reply.Ok();
}

// CLIENT TRACKINGINFO: {flags: set, redirect: id (-1 when off), prefixes: [...]}
void ClientTrackingInfo(CommandContext& ctx) {
  bool broken = false;
  std::optional<TrackingSettings> settings =
      ctx.server.key_events().tracking().SettingsOf(ctx.conn.id(), &broken);
  const Connection::Tracking& mine = ctx.conn.tracking;
  std::vector<const char*> flags;
  flags.push_back(settings ? "on" : "off");
  if (settings) {
    if (settings->bcast) flags.push_back("bcast");
    if (settings->optin) {
      flags.push_back("optin");
      if (mine.caching) flags.push_back("caching-yes");
    }
    if (settings->optout) {
      flags.push_back("optout");
      if (mine.caching) flags.push_back("caching-no");
    }
    if (settings->noloop) flags.push_back("noloop");
    if (broken) flags.push_back("broken_redirect");
  }
  ctx.reply.MapHeader(3);
  ctx.reply.Bulk("flags");
  ctx.reply.SetHeader(flags.size());
  for (const char* f : flags) ctx.reply.Bulk(f);
  ctx.reply.Bulk("redirect");
  ctx.reply.Integer(settings ? static_cast<int64_t>(settings->redirect) : -1);
  ctx.reply.Bulk("prefixes");
  const size_t prefixes = settings ? settings->prefixes.size() : 0;
  ctx.reply.ArrayHeader(prefixes);
  for (size_t i = 0; i < prefixes; ++i) ctx.reply.Bulk(settings->prefixes[i]);
}

}  // namespace

bool ClientTrackingSubcommand(CommandContext& ctx) {
  const std::string_view sub = ctx.args[1];
  const size_t argc = ctx.args.size();
  if (EqualsIgnoreCase(sub, "tracking") && argc >= 3) {
    ClientTracking(ctx);
  } else if (EqualsIgnoreCase(sub, "caching") && argc >= 3) {
    ClientCaching(ctx);
  } else if (EqualsIgnoreCase(sub, "getredir") && argc == 2) {
    auto settings = ctx.server.key_events().tracking().SettingsOf(ctx.conn.id(), nullptr);
    ctx.reply.Integer(settings ? static_cast<int64_t>(settings->redirect) : -1);
  } else if (EqualsIgnoreCase(sub, "trackinginfo") && argc == 2) {
    ClientTrackingInfo(ctx);
  } else {
    return false;
  }
  return true;
}

}  // namespace flightcache::server
