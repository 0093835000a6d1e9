// command_table.h — the one table of commands: name, arity, flags, key positions, handler.
//
// Dispatch, COMMAND COUNT/INFO/DOCS/LIST and INFO commandstats all read this table, so a
// command's metadata lives in exactly one place. Arity follows Redis: positive = exact count
// including the name, negative = at least that many. Lookup is case-insensitive.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "protocol/reply_writer.h"

namespace flightcache::server {

class Server;
class Worker;
class Connection;

struct CommandContext {
  Server& server;  // what all workers share: keyspace, commands, origin
  Worker& worker;  // the loop running this command: its config copy, stats, connections
  Connection& conn;
  const std::vector<std::string_view>& args;
  protocol::ReplyWriter& reply;
  int64_t now_ms;
  bool in_transaction = false;  // run by EXEC: read-through commands answer from the cache only
  // Set while a push re-runs a blocked client's command (Worker::ServeReadyKeys): the handler
  // sets *served when it popped and wrote the reply, and never blocks or writes "nothing
  // there" replies. ctx.conn is then the pushing client, not the blocked one.
  bool* served_blocked = nullptr;
};

using CommandHandler = void (*)(CommandContext&);

enum CommandFlag : uint32_t {
  kWrite = 1 << 0,
  kReadOnly = 1 << 1,
  kFast = 1 << 2,
  kNoAuth = 1 << 3,  // allowed before AUTH
  kAdmin = 1 << 4,
  kLoading = 1 << 5,
  kStale = 1 << 6,
  kDenyOom = 1 << 7,
  kReadThrough = 1 << 8,          // may park on an origin fetch
  kAllShards = 1 << 9,            // touches the whole keyspace: runs with every shard locked
  kTransactionControl = 1 << 16,  // MULTI EXEC DISCARD WATCH...: runs at once, even in MULTI
  kNoScript = 1 << 17,
  // Keys are found by parsing (LMPOP, SINTERCARD: a numkeys argument). COMMAND INFO shows
  // first/last/step as 0 0 0 with "movablekeys", as Redis does; the worker still locks the
  // shards of every argument first_key..last_key (a superset of the keys, which is safe).
  kMovableKeys = 1 << 10,
  kSubscriberMode = 1 << 11,  // allowed to a RESP2 client with subscriptions (PING, SUBSCRIBE...)
  kPubsub = 1 << 12,          // a pub/sub command (COMMAND INFO flag "pubsub")
  kNoMulti = 1 << 19,         // refused inside MULTI, as Redis's no_multi (SHUTDOWN, MONITOR)
};

struct SubcommandSpec {
  std::string name;  // e.g. "config|get"
  int arity;
  std::string summary;
};

struct CommandSpec {
  std::string name;  // lower case
  int arity;
  uint32_t flags;
  int first_key;
  int last_key;
  int key_step;
  CommandHandler handler;
  std::string group;  // "string", "keyspace", "connection", "server"
  std::string summary;
  std::string since;
  std::vector<SubcommandSpec> subcommands;
  size_t index = 0;  // position in the table: per-worker command stats are indexed by it
};

class CommandTable {
 public:
  void Add(CommandSpec spec);
  // Finds a command by name, any case; nullptr when unknown.
  const CommandSpec* Find(std::string_view name) const;
  const std::vector<std::unique_ptr<CommandSpec>>& all() const { return commands_; }

 private:
  void Rebuild();
  std::vector<std::unique_ptr<CommandSpec>> commands_;
  // Open addressing by a case-folding hash of the name: dispatch folds and hashes in one pass
  // and never builds a string.
  std::vector<const CommandSpec*> slots_;
};

// Builds the table with every command family registered.
CommandTable BuildCommandTable();

// Families register themselves here (one file each).
void RegisterStringCommands(CommandTable& table);
void RegisterKeyspaceCommands(CommandTable& table);
void RegisterConnectionCommands(CommandTable& table);
void RegisterServerCommands(CommandTable& table);
void RegisterIntrospectionCommands(CommandTable& table);
void RegisterTransactionCommands(CommandTable& table);
void RegisterHashCommands(CommandTable& table);      // server/commands/hash_commands.cc
void RegisterListCommands(CommandTable& table);      // server/commands/list_commands.cc
void RegisterSetCommands(CommandTable& table);       // server/commands/set_commands.cc
void RegisterZsetCommands(CommandTable& table);      // server/commands/zset_commands.cc
void RegisterPubsubCommands(CommandTable& table);    // server/commands/pubsub_commands.cc
void RegisterBlockingCommands(CommandTable& table);  // server/commands/blocking_commands.cc
void RegisterOriginCommands(CommandTable& table);    // server/commands/origin_commands.cc
void RegisterAdminCommands(CommandTable& table);     // server/commands/admin_commands.cc
// server/commands/scripting_commands.cc
void RegisterScriptingCommands(CommandTable& table);

// Flag names as COMMAND INFO prints them.
std::vector<std::string> CommandFlagNames(uint32_t flags);
// The ACL categories ("@read", "@fast", ...) of a command or subcommand (name as "config|get"),
// as Redis 7.0's COMMAND INFO lists them: from its flags and group, with Redis's hand-named
// exceptions.
std::vector<std::string> AclCategoryNames(const std::string& name, uint32_t flags,
                                          const std::string& group);

}  // namespace flightcache::server
