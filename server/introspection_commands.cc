// introspection_commands.cc — OBJECT and MEMORY: what redis-cli --bigkeys, --memkeys and
// --hotkeys ask about single keys. Lookups here do not count as accesses for eviction.
#include <iterator>
#include <string>

#include "server/command_table.h"
#include "server/command_util.h"
#include "server/connection.h"
#include "server/server.h"
#include "server/worker.h"
#include "storage/eviction.h"

namespace flightcache::server {
namespace {

using storage::Entry;
using storage::KeyLocation;

Entry* Peek(CommandContext& ctx, std::string_view key) {
  KeyLocation at = ctx.conn.database().Locate(key);
  return at.shard->Find(key, at.hash, ctx.now_ms, false);
}

// Redis's string encodings: "int" when the value is a 64-bit integer in canonical form,
// "embstr" up to 44 bytes, "raw" beyond.
const char* Encoding(std::string_view value) {
  int64_t unused;
  if (value.size() <= 20 && ParseInt64(value, &unused)) return "int";
  return value.size() <= 44 ? "embstr" : "raw";
}

void ObjectCommand(CommandContext& ctx) {
  std::string_view sub = ctx.args[1];
  if (EqualsIgnoreCase(sub, "help") && ctx.args.size() == 2) {
    static const char* kHelp[] = {
        "OBJECT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
        "ENCODING <key>",
        "    Return the kind of internal representation used in order to store the value",
        "    associated with a <key>.",
        "FREQ <key>",
        "    Return the access frequency index of the <key>. The returned integer is",
        "    proportional to the logarithm of the recent access frequency of the key.",
        "IDLETIME <key>",
        "    Return the idle time of the <key>, that is the approximated number of",
        "    seconds elapsed since the last access to the key.",
        "REFCOUNT <key>",
        "    Return the number of references of the value associated with the specified",
        "    <key>.",
        "HELP",
        "    Print this help."};
    ReplyHelp(ctx.reply, kHelp);
    return;
  }
  if (ctx.args.size() != 3) {
    ctx.reply.Error("ERR unknown subcommand or wrong number of arguments for '" + std::string(sub) +
                    "'. Try OBJECT HELP.");
    return;
  }
  const bool encoding = EqualsIgnoreCase(sub, "encoding");
  const bool freq = EqualsIgnoreCase(sub, "freq");
  const bool idletime = EqualsIgnoreCase(sub, "idletime");
  const bool refcount = EqualsIgnoreCase(sub, "refcount");
  if (!encoding && !freq && !idletime && !refcount) {
    ctx.reply.Error("ERR unknown subcommand '" + std::string(sub) + "'. Try OBJECT HELP.");
    return;
  }
  Entry* e = Peek(ctx, ctx.args[2]);
  if (!e) {
    ctx.reply.Null();
    return;
  }
  const bool lfu = storage::PolicyTracksLfu(ctx.server.keyspace().policy());
  if (encoding) {
    if (storage::EntryIsString(e)) {
      ctx.reply.Bulk(Encoding(storage::EntryValue(e)));
    } else {
      ctx.reply.Bulk(storage::EntryObject(e)->EncodingName());
    }
  } else if (refcount) {
    ctx.reply.Integer(1);
  } else if (freq) {
    if (!lfu) {
      ctx.reply.Error(
          "ERR An LFU maxmemory policy is not selected, access frequency not tracked. Please "
          "note that when switching between policies at runtime LRU and LFU data will take some "
          "time to adjust.");
      return;
    }
    ctx.reply.Integer(storage::LfuCounter(e->access, ctx.now_ms));
  } else {
    if (ctx.server.keyspace().policy() == storage::EvictionPolicy::kAllKeysS3Fifo) {
      // S3-FIFO keeps an LFU counter per key (OBJECT FREQ reads it), not an access time: say
      // so, rather than naming an LFU policy that is not selected.
      ctx.reply.Error(
          "ERR The S3-FIFO maxmemory policy is selected, idle time not tracked (it tracks access "
          "frequency: see OBJECT FREQ). Please note that when switching between policies at "
          "runtime LRU and LFU data will take some time to adjust.");
      return;
    }
    if (lfu) {
      ctx.reply.Error(
          "ERR An LFU maxmemory policy is selected, idle time not tracked. Please note that when "
          "switching between policies at runtime LRU and LFU data will take some time to "
          "adjust.");
      return;
    }
    ctx.reply.Integer(static_cast<int64_t>(storage::LruIdleMs(e->access, ctx.now_ms) / 1000));
  }
}

void MemoryCommand(CommandContext& ctx) {
  std::string_view sub = ctx.args[1];
  if (EqualsIgnoreCase(sub, "usage") && ctx.args.size() >= 3) {
    if (ctx.args.size() != 3 &&
        !(ctx.args.size() == 5 && EqualsIgnoreCase(ctx.args[3], "samples"))) {
      ctx.reply.Error(kErrSyntax);
      return;
    }
    if (ctx.args.size() == 5) {
      int64_t samples;
      if (!ParseInt64(ctx.args[4], &samples) || samples < 0) {
        ctx.reply.Error(kErrNotInteger);
        return;
      }
    }
    Entry* e = Peek(ctx, ctx.args[2]);
    if (!e) {
      ctx.reply.Null();
      return;
    }
    // The entry block (key, value and metadata in one allocation), its object for types other
    // than strings (counted exactly, so SAMPLES is not needed), and its bucket slot.
    ctx.reply.Integer(static_cast<int64_t>(storage::EntryMemory(e) + sizeof(Entry*)));
  } else if (EqualsIgnoreCase(sub, "help") && ctx.args.size() == 2) {
    static const char* kHelp[] = {"MEMORY <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
                                  "USAGE <key> [SAMPLES <count>]",
                                  "    Return memory in bytes used by <key> and its value.", "HELP",
                                  "    Print this help."};
    ReplyHelp(ctx.reply, kHelp);
  } else {
    ctx.reply.Error("ERR unknown subcommand or wrong number of arguments for '" + std::string(sub) +
                    "'. Try MEMORY HELP.");
  }
}

}  // namespace

void RegisterIntrospectionCommands(CommandTable& t) {
  CommandSpec object{"object",
                     -2,
                     kReadOnly,
                     2,
                     2,
                     1,
                     ObjectCommand,
                     "generic",
                     "A container for object introspection commands.",
                     "2.2.3"};
  object.subcommands = {
      {"object|encoding", 3, "Returns the internal encoding of a Redis object."},
      {"object|freq", 3, "Returns the logarithmic access frequency counter of a Redis object."},
      {"object|idletime", 3, "Returns the time since the last access to a Redis object."},
      {"object|refcount", 3, "Returns the reference count of a value of a key."},
      {"object|help", 2, "Returns helpful text about the different subcommands."}};
  t.Add(std::move(object));
  CommandSpec memory{"memory",
                     -2,
                     kReadOnly,
                     2,
                     2,
                     1,
                     MemoryCommand,
                     "server",
                     "A container for memory diagnostics commands.",
                     "4.0.0"};
  memory.subcommands = {
      {"memory|usage", -3, "Estimates the memory usage of a key."},
      {"memory|help", 2, "Returns helpful text about the different subcommands."}};
  t.Add(std::move(memory));
}

}  // namespace flightcache::server
