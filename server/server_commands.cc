// server_commands.cc — INFO, CONFIG, COMMAND and TIME.
//
// CONFIG reads and writes the option registry (server/config.h); COMMAND renders the
// command table (server/command_table.h). Nothing here has its own copy of either.
#include <algorithm>
#include <string>
#include <vector>

#include "origin/singleflight.h"
#include "server/command_table.h"
#include "server/command_util.h"
#include "server/connection.h"
#include "server/info.h"
#include "server/server.h"
#include "server/worker.h"
#include "storage/glob.h"

namespace flightcache::server {
namespace {

void InfoCommand(CommandContext& ctx) {
  std::vector<std::string> sections(ctx.args.begin() + 1, ctx.args.end());
  ctx.reply.Verbatim(RenderInfo(ctx.worker, sections));
}

void TimeCommand(CommandContext& ctx) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  ctx.reply.ArrayHeader(2);
  ctx.reply.Bulk(std::to_string(ts.tv_sec));
  ctx.reply.Bulk(std::to_string(ts.tv_nsec / 1000));
}

void ConfigGet(CommandContext& ctx) {
  std::vector<const ConfigOption*> matched;
  for (size_t i = 2; i < ctx.args.size(); ++i) {
    for (const ConfigOption& opt : ConfigOptions()) {
      if (storage::GlobMatch(ctx.args[i], opt.name, true) &&
          std::find(matched.begin(), matched.end(), &opt) == matched.end()) {
        matched.push_back(&opt);
      }
    }
  }
  ctx.reply.MapHeader(matched.size());
  for (const ConfigOption* opt : matched) {
    ctx.reply.Bulk(opt->name);
    ctx.reply.Bulk(opt->get(ctx.worker.config()));
  }
}

void ConfigSet(CommandContext& ctx) {
  if (ctx.args.size() % 2 != 0) {
    ctx.reply.Error(kErrSyntax);  // a name without a value: Redis 7.0 says syntax error
    return;
  }
  std::vector<Server::ConfigChange> changes;
  for (size_t i = 2; i + 1 < ctx.args.size(); i += 2) {
    const ConfigOption* opt = FindConfigOption(ctx.args[i]);
    if (!opt) {
      ctx.reply.Error("ERR Unknown option or number of arguments for CONFIG SET - '" +
                      std::string(ctx.args[i]) + "'");
      return;
    }
    changes.push_back({opt, ctx.args[i + 1]});
  }
  // All or nothing, validated against the master config (see Server::SetConfig).
  const std::string error = ctx.server.SetConfig(ctx.worker, changes);
  if (error.empty()) {
    ctx.reply.Ok();
  } else {
    ctx.reply.Error(error);
  }
}

void ConfigCommand(CommandContext& ctx) {
  std::string_view sub = ctx.args[1];
  if (EqualsIgnoreCase(sub, "get") && ctx.args.size() >= 3) {
    ConfigGet(ctx);
  } else if (EqualsIgnoreCase(sub, "set") && ctx.args.size() >= 4) {
    ConfigSet(ctx);
  } else if (EqualsIgnoreCase(sub, "resetstat") && ctx.args.size() == 2) {
    // Counters are relaxed atomics, so other workers' can be zeroed from here.
    for (size_t i = 0; i < ctx.server.worker_count(); ++i) {
      ctx.server.worker(i).stats().Reset();
      ctx.server.worker(i).ResetCommandStats();
    }
    ctx.server.expired_keys_base = ctx.server.keyspace().expired_keys();
    ctx.server.evicted_keys_base = ctx.server.keyspace().evicted_keys();
    if (ctx.server.singleflight()) ctx.server.singleflight()->ResetStats();
    ctx.server.keyspace().lazy_free().ResetStats();
    ctx.reply.Ok();
  } else if (EqualsIgnoreCase(sub, "help") && ctx.args.size() == 2) {
    static const char* kHelp[] = {
        "CONFIG <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
        "GET <pattern>",
        "    Return parameters matching the glob-like <pattern> and their values.",
        "SET <directive> <value>",
        "    Set the configuration <directive> to <value>.",
        "RESETSTAT",
        "    Reset statistics reported by the INFO command.",
        "HELP",
        "    Print this help."};
    ReplyHelp(ctx.reply, kHelp);
  } else {
    ReplySubcommandError(ctx);
  }
}

void WriteCommandInfo(protocol::ReplyWriter& r, const std::string& name, int arity, uint32_t flags,
                      int first, int last, int step, const std::vector<SubcommandSpec>* subs,
                      const std::string& group) {
  r.ArrayHeader(10);
  r.Bulk(name);
  r.Integer(arity);
  std::vector<std::string> flag_names = CommandFlagNames(flags);
  r.SetHeader(flag_names.size());
  for (const std::string& f : flag_names) r.Simple(f);
  r.Integer(first);
  r.Integer(last);
  r.Integer(step);
  const std::vector<std::string> categories = AclCategoryNames(name, flags, group);
  r.SetHeader(categories.size());
  for (const std::string& c : categories) r.Simple(c);
  r.ArrayHeader(0);  // tips
  r.ArrayHeader(0);  // key specs
  if (!subs) {
    r.ArrayHeader(0);
    return;
  }
  r.ArrayHeader(subs->size());
  for (const SubcommandSpec& sub : *subs) {
    WriteCommandInfo(r, sub.name, sub.arity, flags, 0, 0, 0, nullptr, group);
  }
}

void WriteSpecInfo(protocol::ReplyWriter& r, const CommandSpec& c) {
  const bool movable = c.flags & kMovableKeys;
  WriteCommandInfo(r, c.name, c.arity, c.flags, movable ? 0 : c.first_key, movable ? 0 : c.last_key,
                   movable ? 0 : c.key_step, &c.subcommands, c.group);
}

void WriteDocs(protocol::ReplyWriter& r, const std::string& summary, const std::string& since,
               const std::string& group, const std::vector<SubcommandSpec>* subs) {
  const bool has_subs = subs && !subs->empty();
  r.MapHeader(has_subs ? 4 : 3);
  r.Bulk("summary");
  r.Bulk(summary);
  r.Bulk("since");
  r.Bulk(since);
  r.Bulk("group");
  r.Bulk(group);
  if (has_subs) {
    r.Bulk("subcommands");
    r.MapHeader(subs->size());
    for (const SubcommandSpec& sub : *subs) {
      r.Bulk(sub.name);
      WriteDocs(r, sub.summary, since, group, nullptr);
    }
  }
}

// COMMAND LIST [FILTERBY MODULE name | ACLCAT category | PATTERN glob], as Redis 7: names of
// commands and subcommands. No modules exist; ACLCAT matches COMMAND INFO's categories.
void CommandList(CommandContext& ctx) {
  const size_t argc = ctx.args.size();
  if (argc != 2 && !(argc == 5 && EqualsIgnoreCase(ctx.args[2], "filterby"))) {
    ctx.reply.Error(kErrSyntax);
    return;
  }
  std::string_view by = argc == 5 ? ctx.args[3] : "";
  if (argc == 5 && !EqualsIgnoreCase(by, "module") && !EqualsIgnoreCase(by, "aclcat") &&
      !EqualsIgnoreCase(by, "pattern")) {
    ctx.reply.Error(kErrSyntax);
    return;
  }
  auto keep = [&](const std::string& name, uint32_t flags, const std::string& group) {
    if (argc == 2) return true;
    if (EqualsIgnoreCase(by, "module")) return false;
    if (EqualsIgnoreCase(by, "aclcat")) {
      for (const std::string& c : AclCategoryNames(name, flags, group)) {
        if (EqualsIgnoreCase(ctx.args[4], ToLower(c.substr(1)))) return true;
      }
      return false;
    }
    return storage::GlobMatch(ctx.args[4], name, /*nocase=*/true);
  };
  std::vector<const std::string*> names;
  for (const auto& c : ctx.server.commands().all()) {
    if (keep(c->name, c->flags, c->group)) names.push_back(&c->name);
    for (const SubcommandSpec& s : c->subcommands) {
      if (keep(s.name, c->flags, c->group)) names.push_back(&s.name);
    }
  }
  ctx.reply.ArrayHeader(names.size());
  for (const std::string* name : names) ctx.reply.Bulk(*name);
}

void CommandCommand(CommandContext& ctx) {
  const CommandTable& table = ctx.server.commands();
  if (ctx.args.size() == 1) {
    ctx.reply.ArrayHeader(table.all().size());
    for (const auto& c : table.all()) WriteSpecInfo(ctx.reply, *c);
    return;
  }
  std::string_view sub = ctx.args[1];
  if (EqualsIgnoreCase(sub, "count") && ctx.args.size() == 2) {
    ctx.reply.Integer(static_cast<int64_t>(table.all().size()));
  } else if (EqualsIgnoreCase(sub, "list")) {
    CommandList(ctx);
  } else if (EqualsIgnoreCase(sub, "info")) {
    if (ctx.args.size() == 2) {
      ctx.reply.ArrayHeader(table.all().size());
      for (const auto& c : table.all()) WriteSpecInfo(ctx.reply, *c);
      return;
    }
    ctx.reply.ArrayHeader(ctx.args.size() - 2);
    for (size_t i = 2; i < ctx.args.size(); ++i) {
      const CommandSpec* c = table.Find(ctx.args[i]);
      if (c)
        WriteSpecInfo(ctx.reply, *c);
      else
        ctx.reply.NullArray();
    }
  } else if (EqualsIgnoreCase(sub, "docs")) {
    std::vector<const CommandSpec*> picked;
    if (ctx.args.size() == 2) {
      for (const auto& c : table.all()) picked.push_back(c.get());
    } else {
      for (size_t i = 2; i < ctx.args.size(); ++i) {
        if (const CommandSpec* c = table.Find(ctx.args[i])) picked.push_back(c);
      }
    }
    ctx.reply.MapHeader(picked.size());
    for (const CommandSpec* c : picked) {
      ctx.reply.Bulk(c->name);
      WriteDocs(ctx.reply, c->summary, c->since, c->group, &c->subcommands);
    }
  } else {
    ReplySubcommandError(ctx);
  }
}

}  // namespace

void RegisterServerCommands(CommandTable& t) {
  t.Add({"info", -1, kLoading | kStale, 0, 0, 0, InfoCommand, "server",
         "Returns information and statistics about the server.", "1.0.0"});
  t.Add({"time", 1, kLoading | kStale | kFast, 0, 0, 0, TimeCommand, "server",
         "Returns the server time.", "2.6.0"});
  CommandSpec config{"config",
                     -2,
                     kAdmin | kLoading | kStale,
                     0,
                     0,
                     0,
                     ConfigCommand,
                     "server",
                     "A container for server configuration commands.",
                     "2.0.0"};
  config.subcommands = {
      {"config|get", -3, "Returns the effective values of configuration parameters."},
      {"config|set", -4, "Sets configuration parameters in-flight."},
      {"config|resetstat", 2, "Resets the server's statistics."},
      {"config|help", 2, "Returns helpful text about the different subcommands."}};
  t.Add(std::move(config));
  CommandSpec command{"command",
                      -1,
                      kLoading | kStale,
                      0,
                      0,
                      0,
                      CommandCommand,
                      "server",
                      "Returns detailed information about all commands.",
                      "2.8.13"};
  command.subcommands = {
      {"command|count", 2, "Returns a count of commands."},
      {"command|info", -2, "Returns information about one, multiple or all commands."},
      {"command|docs", -2, "Returns documentary information about one, multiple or all commands."},
      {"command|list", -2, "Returns a list of command names."}};
  t.Add(std::move(command));
}

}  // namespace flightcache::server
