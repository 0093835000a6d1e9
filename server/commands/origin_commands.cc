// origin_commands.cc — ORIGIN: the singleflight table and the routes, for operators.
//
// Go's singleflight gives programs Forget; this gives it to people (origin/singleflight.h):
//   ORIGIN FLIGHTS [pattern]  the keys in flight: route, waiters, age, forgotten, background;
//   ORIGIN FORGET key         forget key's flight (its waiters are answered, nothing is filled,
//                             later readers start a new fetch);
//   ORIGIN REFRESH key        start a background refresh of key now;
//   ORIGIN ROUTES             the routes with their settings and counters, no passwords;
//   ORIGIN HELP.
// Replies are maps (RESP3) or flat name/value arrays (RESP2), as Redis's XINFO answers.
// The key of FORGET and REFRESH is args[2]: the worker holds its shard lock, as for GET.
#include <algorithm>
#include <string>
#include <vector>

#include "origin/origin.h"
#include "origin/route.h"
#include "origin/singleflight.h"
#include "server/command_table.h"
#include "server/command_util.h"
#include "server/server.h"
#include "server/worker.h"
#include "storage/glob.h"

namespace flightcache::server {
namespace {

void OriginHelp(CommandContext& ctx) {
  static const char* kHelp[] = {
      "ORIGIN <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
      "FLIGHTS [<pattern>]",
      "    Return the keys whose origin fetch is in flight (matching the glob-style pattern),",
      "    each with its route, waiters, age in ms, and whether it is forgotten or a",
      "    background refresh.",
      "FORGET <key>",
      "    Forget the fetch in flight for <key>: its waiters are still answered, but it fills",
      "    nothing, and later readers start a new fetch. Return 1, or 0 when none was in flight.",
      "REFRESH <key>",
      "    Start a background refresh of <key> now. Return 1, or 0 when a fetch of it is in",
      "    flight already.",
      "ROUTES",
      "    Return the routes with their settings and counters (without passwords).",
      "HELP",
      "    Print this help.",
  };
  ReplyHelp(ctx.reply, kHelp);
}

void OriginFlights(CommandContext& ctx) {
  origin::Singleflight* flights = ctx.server.singleflight();
  std::vector<origin::FlightInfo> list;
  if (flights) list = flights->Flights();
  if (ctx.args.size() == 3) {
    const std::string_view pattern = ctx.args[2];
    std::erase_if(list,
                  [&](const origin::FlightInfo& f) { return !storage::GlobMatch(pattern, f.key); });
  }
  std::sort(list.begin(), list.end(), [](const origin::FlightInfo& a, const origin::FlightInfo& b) {
    return a.key < b.key || (a.key == b.key && a.age_ms > b.age_ms);
  });
  ctx.reply.ArrayHeader(list.size());
  for (const origin::FlightInfo& f : list) {
    ctx.reply.MapHeader(6);
    ctx.reply.Bulk("key");
    ctx.reply.Bulk(f.key);
    ctx.reply.Bulk("route");
    ctx.reply.Bulk(ctx.server.origin()->RouteOf(f.key));
    ctx.reply.Bulk("waiters");
    ctx.reply.Integer(static_cast<int64_t>(f.waiters));
    ctx.reply.Bulk("age-ms");
    ctx.reply.Integer(f.age_ms);
    ctx.reply.Bulk("forgotten");
    ctx.reply.Integer(f.forgotten ? 1 : 0);
    ctx.reply.Bulk("background");
    ctx.reply.Integer(f.background ? 1 : 0);
  }
}

void OriginForget(CommandContext& ctx) {
  origin::Singleflight* flights = ctx.server.singleflight();
  ctx.reply.Integer(flights && flights->Forget(ctx.args[2]) ? 1 : 0);
}

void OriginRefresh(CommandContext& ctx) {
  origin::Singleflight* flights = ctx.server.singleflight();
  const std::string_view key = ctx.args[2];
  if (!flights) {
    ctx.reply.Error("ERR no origin is configured");
    return;
  }
  if (!ctx.server.origin()->Serves(key)) {
    ctx.reply.Error("ERR no route serves this key");
    return;
  }
  // A hash filled from a SQL row is refreshed as a hash (read-through serves database 0).
  storage::KeyLocation at = ctx.server.keyspace().db(0).Locate(key);
  storage::Entry* cached = at.shard->Find(key, at.hash, ctx.now_ms, false);
  const bool hash = cached && storage::EntryType(cached) == storage::ValueType::kHash &&
                    ctx.server.origin()->ServesRows(key);
  ctx.reply.Integer(flights->Refresh(key, origin::RefreshReason::kManual,
                                     hash ? origin::ReadKind::kHash : origin::ReadKind::kString)
                        ? 1
                        : 0);
}

void OriginRoutes(CommandContext& ctx) {
  const std::vector<origin::RouteSpec>& routes = ctx.server.routes();
  std::vector<origin::Origin::RouteCounters> counters;
  if (ctx.server.origin()) counters = ctx.server.origin()->RouteCounterList();
  const Config& c = ctx.worker.config();
  ctx.reply.ArrayHeader(routes.size());
  for (size_t i = 0; i < routes.size(); ++i) {
    const origin::RouteSpec& spec = routes[i];
    const origin::RouteOptions& o = spec.options;
    // Each setting as it applies to this route: its own, else the global option's value now.
    std::vector<std::pair<std::string, std::string>> fields = {
        {"pattern", spec.pattern.text()},
        {"url", origin::RedactUrlText(spec.url)},
        {"query", spec.query},
        {"ttl", std::to_string(o.cache_ttl_s.value_or(c.cache_ttl_s))},
        {"negative-ttl", std::to_string(o.negative_ttl_s.value_or(c.negative_ttl_s))},
        {"timeout", std::to_string(o.timeout_ms.value_or(static_cast<int>(c.origin_timeout_ms)))},
        {"pool", o.pool ? std::to_string(*o.pool) : std::string("default")},
        {"stale-while-revalidate",
         std::to_string(o.stale_while_revalidate_s.value_or(c.stale_while_revalidate_s))},
        {"stale-if-error", std::to_string(o.stale_if_error_s.value_or(c.stale_if_error_s))},
        {"refresh-ahead-beta",
         origin::FormatBeta(o.refresh_ahead_beta.value_or(c.refresh_ahead_beta))},
    };
    if (i < counters.size()) fields.insert(fields.end(), counters[i].begin(), counters[i].end());
    ctx.reply.MapHeader(fields.size());
    for (const auto& [name, value] : fields) {
      ctx.reply.Bulk(name);
      ctx.reply.Bulk(value);
    }
  }
}

void OriginCommand(CommandContext& ctx) {
  const std::string_view sub = ctx.args[1];
  const size_t argc = ctx.args.size();
  if (EqualsIgnoreCase(sub, "help") && argc == 2) {
    OriginHelp(ctx);
  } else if (EqualsIgnoreCase(sub, "flights") && argc <= 3) {
    OriginFlights(ctx);
  } else if (EqualsIgnoreCase(sub, "forget") && argc == 3) {
    OriginForget(ctx);
  } else if (EqualsIgnoreCase(sub, "refresh") && argc == 3) {
    OriginRefresh(ctx);
  } else if (EqualsIgnoreCase(sub, "routes") && argc == 2) {
    OriginRoutes(ctx);
  } else {
    ReplySubcommandError(ctx);
  }
}

}  // namespace

void RegisterOriginCommands(CommandTable& t) {
  CommandSpec origin{"origin",
                     -2,
                     kAdmin,
                     2,
                     2,
                     1,
                     OriginCommand,
                     "server",
                     "A container for the origin's singleflight table and routes.",
                     "7.0.0"};
  origin.subcommands = {
      {"origin|flights", -2, "Lists the origin fetches in flight."},
      {"origin|forget", 3, "Forgets the origin fetch in flight for a key."},
      {"origin|refresh", 3, "Starts a background refresh of a key from the origin."},
      {"origin|routes", 2, "Lists the routes with their settings and counters."},
      {"origin|help", 2, "Returns helpful text about the different subcommands."}};
  t.Add(std::move(origin));
}

}  // namespace flightcache::server
