// admin_commands.cc — server administration as Redis 7.0 has it: SHUTDOWN, WAIT, SLOWLOG,
// LATENCY and MONITOR.
//
// flightcache keeps no dump and has no replicas: SHUTDOWN never saves (SHUTDOWN SAVE fails as
// Redis does when its save fails, unless FORCE), and WAIT answers 0 replicas at once. The slow
// log and the latency monitor are the server's (server/slowlog.h, server/latency_monitor.h);
// Worker::Execute feeds them.
#include <string>
#include <vector>

#include "server/command_table.h"
#include "server/command_util.h"
#include "server/connection.h"
#include "server/server.h"
#include "server/worker.h"

namespace flightcache::server {
namespace {

// SHUTDOWN [NOSAVE|SAVE] [NOW] [FORCE] [ABORT]. Stops the server (exit code 0); the client's
// connection closes without a reply, as in Redis.
void ShutdownCommand(CommandContext& ctx) {
  bool nosave = false, save = false, now = false, force = false, abort = false;
  for (size_t i = 1; i < ctx.args.size(); ++i) {
    std::string_view a = ctx.args[i];
    if (EqualsIgnoreCase(a, "nosave")) {
      nosave = true;
    } else if (EqualsIgnoreCase(a, "save")) {
      save = true;
    } else if (EqualsIgnoreCase(a, "now")) {
      now = true;
    } else if (EqualsIgnoreCase(a, "force")) {
      force = true;
    } else if (EqualsIgnoreCase(a, "abort")) {
      abort = true;
    } else {
      ctx.reply.Error(kErrSyntax);
      return;
    }
  }
  if ((abort && (nosave || save || now || force)) || (nosave && save)) {
    ctx.reply.Error(kErrSyntax);
    return;
  }
  if (abort) {
    // A shutdown here never waits (no replicas to catch up): none is ever in progress.
    ctx.reply.Error("ERR No shutdown in progress.");
    return;
  }
  if (save && !force) {
    // Redis answers this when its save fails; flightcache has nothing to save to.
    ctx.server.Log(LogLevel::kWarning,
                   "Error trying to save the DB, can't exit: flightcache keeps no dump file.");
    ctx.reply.Error("ERR Errors trying to SHUTDOWN. Check logs.");
    return;
  }
  ctx.server.Log(LogLevel::kWarning, "User requested shutdown...");
  ctx.server.RequestStop();
}

// WAIT numreplicas timeout: there are no replicas, so 0 at once.
void WaitCommand(CommandContext& ctx) {
  int64_t replicas, timeout;
  if (!ParseInt64(ctx.args[1], &replicas)) {
    ctx.reply.Error(kErrNotInteger);
    return;
  }
  if (!ParseInt64(ctx.args[2], &timeout)) {
    ctx.reply.Error("ERR timeout is not an integer or out of range");
    return;
  }
  if (timeout < 0) {
    ctx.reply.Error("ERR timeout is negative");
    return;
  }
  ctx.reply.Integer(0);
}

void SlowlogCommand(CommandContext& ctx) {
  std::string_view sub = ctx.args[1];
  Slowlog& log = ctx.server.slowlog();
  if (EqualsIgnoreCase(sub, "get") && ctx.args.size() <= 3) {
    int64_t count = 10;
    if (ctx.args.size() == 3 && (!ParseInt64(ctx.args[2], &count) || count < -1)) {
      ctx.reply.Error("ERR count should be greater than or equal to -1");
      return;
    }
    const std::vector<SlowlogEntry> entries = log.Newest(count);
    ctx.reply.ArrayHeader(entries.size());
    for (const SlowlogEntry& e : entries) {
      ctx.reply.ArrayHeader(6);
      ctx.reply.Integer(static_cast<int64_t>(e.id));
      ctx.reply.Integer(e.unix_seconds);
      ctx.reply.Integer(e.duration_us);
      ctx.reply.ArrayHeader(e.args.size());
      for (const std::string& a : e.args) ctx.reply.Bulk(a);
      ctx.reply.Bulk(e.peer);
      ctx.reply.Bulk(e.client_name);
    }
  } else if (EqualsIgnoreCase(sub, "len") && ctx.args.size() == 2) {
    ctx.reply.Integer(static_cast<int64_t>(log.size()));
  } else if (EqualsIgnoreCase(sub, "reset") && ctx.args.size() == 2) {
    log.Reset();
    ctx.reply.Ok();
  } else if (EqualsIgnoreCase(sub, "help") && ctx.args.size() == 2) {
    static const char* const kHelp[] = {
        "SLOWLOG <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
        "GET [<count>]",
        "    Return top <count> entries from the slowlog (default: 10, -1 mean all).",
        "    Entries are made of:",
        "    id, timestamp, time in microseconds, arguments array, client IP and port,",
        "    client name",
        "LEN",
        "    Return the length of the slowlog.",
        "RESET",
        "    Reset the slowlog.",
        "HELP",
        "    Prints this help.",
    };
    ReplyHelp(ctx.reply, kHelp);
  } else if (EqualsIgnoreCase(sub, "get")) {
    ctx.reply.Error("ERR unknown subcommand or wrong number of arguments for '" + std::string(sub) +
                    "'. Try SLOWLOG HELP.");
  } else {
    ReplySubcommandError(ctx);
  }
}

void LatencyCommand(CommandContext& ctx) {
  std::string_view sub = ctx.args[1];
  LatencyMonitor& monitor = ctx.server.latency_monitor();
  if (EqualsIgnoreCase(sub, "latest") && ctx.args.size() == 2) {
    const std::vector<LatencyEvent> events = monitor.Events();
    ctx.reply.ArrayHeader(events.size());
    for (const LatencyEvent& e : events) {
      ctx.reply.ArrayHeader(4);
      ctx.reply.Bulk(e.name);
      ctx.reply.Integer(e.latest_seconds);
      ctx.reply.Integer(e.latest_ms);
      ctx.reply.Integer(e.max_ms);
    }
  } else if (EqualsIgnoreCase(sub, "history") && ctx.args.size() == 3) {
    for (const LatencyEvent& e : monitor.Events()) {
      if (e.name != ctx.args[2]) continue;
      ctx.reply.ArrayHeader(e.history.size());
      for (const LatencySample& s : e.history) {
        ctx.reply.ArrayHeader(2);
        ctx.reply.Integer(s.unix_seconds);
        ctx.reply.Integer(s.latency_ms);
      }
      return;
    }
    ctx.reply.ArrayHeader(0);
  } else if (EqualsIgnoreCase(sub, "reset")) {
    std::vector<std::string> names(ctx.args.begin() + 2, ctx.args.end());
    ctx.reply.Integer(static_cast<int64_t>(monitor.Reset(names)));
  } else if (EqualsIgnoreCase(sub, "help") && ctx.args.size() == 2) {
    // Redis's text, less DOCTOR, GRAPH and HISTOGRAM, which are not here.
    static const char* const kHelp[] = {
        "LATENCY <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
        "HISTORY <event>",
        "    Return time-latency samples for the <event> class.",
        "LATEST",
        "    Return the latest latency samples for all events.",
        "RESET [<event> ...]",
        "    Reset latency data of one or more <event> classes.",
        "    (default: reset all data for all event classes)",
        "HELP",
        "    Prints this help.",
    };
    ReplyHelp(ctx.reply, kHelp);
  } else {
    ReplySubcommandError(ctx);
  }
}

// MONITOR: from now on the client receives a line for every command any client runs (on any
// worker), until RESET, QUIT or close. server/monitor_feed.h has the feed.
void MonitorCommand(CommandContext& ctx) {
  if (ctx.in_transaction) {
    ctx.reply.Error("ERR MONITOR isn't allowed for DENY BLOCKING client");
    return;
  }
  if (ctx.conn.monitoring) return;  // as Redis: a second MONITOR is ignored, without a reply
  ctx.conn.monitoring = true;
  ctx.server.monitors().Add({static_cast<uint32_t>(ctx.worker.index()), ctx.conn.id()});
  ctx.reply.Ok();
}

}  // namespace

void RegisterAdminCommands(CommandTable& t) {
  t.Add({"monitor", 1, kAdmin | kNoScript | kLoading | kStale, 0, 0, 0, MonitorCommand, "server",
         "Listens for all requests received by the server in real-time.", "1.0.0"});
  t.Add({"shutdown", -1, kAdmin | kNoScript | kLoading | kStale | kNoMulti, 0, 0, 0,
         ShutdownCommand, "server",
         "Synchronously saves the database(s) to disk and shuts down "
         "the Redis server.",
         "1.0.0"});
  t.Add({"wait", 3, kNoScript, 0, 0, 0, WaitCommand, "generic",
         "Blocks until the asynchronous replication of all preceding write commands sent by the "
         "connection is completed.",
         "3.0.0"});
  CommandSpec slowlog{"slowlog",      -2,       kAdmin | kLoading | kStale,           0,       0, 0,
                      SlowlogCommand, "server", "A container for slow log commands.", "2.2.12"};
  slowlog.subcommands = {{"slowlog|get", -2, "Returns the slow log's entries."},
                         {"slowlog|len", 2, "Returns the number of entries in the slow log."},
                         {"slowlog|reset", 2, "Clears all entries from the slow log."},
                         {"slowlog|help", 2, "Show helpful text about the different subcommands"}};
  t.Add(std::move(slowlog));
  CommandSpec latency{"latency",
                      -2,
                      kAdmin | kLoading | kStale,
                      0,
                      0,
                      0,
                      LatencyCommand,
                      "server",
                      "A container for latency diagnostics commands.",
                      "2.8.13"};
  latency.subcommands = {
      {"latency|latest", 2, "Returns the latest latency samples for all events."},
      {"latency|history", 3, "Returns timestamp-latency samples for an event."},
      {"latency|reset", -2, "Resets the latency data for one or more events."},
      {"latency|help", 2, "Returns helpful text about the different subcommands."}};
  t.Add(std::move(latency));
}

}  // namespace flightcache::server
