// scripting_commands.cc — EVAL, EVALSHA, EVAL_RO, EVALSHA_RO, SCRIPT, FUNCTION, FCALL and
// FCALL_RO, as Redis 7.0 has them, and the path by which redis.call runs a command.
//
// A script runs inside the dispatch of its EVAL/FCALL: with --threads the worker already holds
// the shard locks of every argument after numkeys (a superset of the declared keys: these
// commands are registered with movable keys from position 3), and Scripting serializes scripts
// server-wide. redis.call looks the command up in the same table, applies Redis's script checks
// (unknown, arity, noscript, read-only, OOM), and with --threads refuses a key that was not
// declared in KEYS, then runs the handler through Worker::RunForScript into a captured reply.
// As inside MULTI, a read-through command answers from the cache only (no origin wait).
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "server/command_table.h"
#include "server/command_util.h"
#include "server/connection.h"
#include "server/scripting/lua_engine.h"
#include "server/scripting/scripting.h"
#include "server/scripting/sha1.h"
#include "server/server.h"
#include "server/worker.h"
#include "storage/glob.h"

namespace flightcache::server {
namespace {

using scripting::FunctionInfo;
using scripting::LuaEngine;

constexpr const char* kNoScriptError = "NOSCRIPT No matching script. Please use EVAL.";
constexpr const char* kRoWriteFlag =
    "ERR Can not execute a script with write flag using *_ro command.";
constexpr const char* kOomError = "OOM command not allowed when used memory > 'maxmemory'.";

// Commands registered by other families that a script may not run: they change or report the
// calling connection, wait on other workers, or belong to the server's administration.
bool NotAllowedFromScript(const std::string& name) {
  static const char* const kNames[] = {"client", "hello",  "auth",    "reset",     "quit",
                                       "select", "config", "monitor", "shutdown",  "wait",
                                       "debug",  "sync",   "psync",   "replicaof", "slaveof"};
  for (const char* n : kNames) {
    if (name == n) return true;
  }
  return false;
}

// One script run: what redis.call needs to check and run a command.
struct ScriptCall {
  CommandContext& outer;
  const std::vector<std::string_view>& keys;  // declared KEYS
  bool read_only;
  bool allow_oom;
};

// With --threads: the command's keys must be declared (the script holds only their shards).
bool CheckDeclaredKeys(ScriptCall& sc, const CommandSpec& spec,
                       const std::vector<std::string_view>& args, std::string* error) {
  if (spec.flags & kAllShards) {
    *error = "'" + spec.name +
             "' touches every key: flightcache does not run it from a script with --threads";
    return false;
  }
  if (spec.first_key <= 0) return true;
  storage::Keyspace& keyspace = sc.outer.server.keyspace();
  uint64_t declared_mask = 0;
  for (std::string_view k : sc.keys) declared_mask |= keyspace.ShardMaskOf(k);
  const int argc = static_cast<int>(args.size());
  const int last = spec.last_key < 0 ? argc + spec.last_key : spec.last_key;
  for (int i = spec.first_key; i <= last && i < argc; i += spec.key_step) {
    std::string_view key = args[static_cast<size_t>(i)];
    bool ok = false;
    if (spec.flags & kMovableKeys) {
      ok = (keyspace.ShardMaskOf(key) & ~declared_mask) == 0;  // positions are a superset
    } else {
      for (std::string_view k : sc.keys) ok = ok || k == key;
    }
    if (!ok) {
      *error = "Script attempted to access key '" + std::string(key) +
               "' that was not declared in KEYS (required with --threads)";
      return false;
    }
  }
  return true;
}

bool RunScriptCall(void* p, const std::vector<std::string_view>& args, int resp, std::string* reply,
                   std::string* error) {
  ScriptCall& sc = *static_cast<ScriptCall*>(p);
  CommandContext& ctx = sc.outer;
  const CommandSpec* spec = ctx.server.commands().Find(args[0]);
  if (!spec) {
    *error = "Unknown Redis command called from script";
    return false;
  }
  const int argc = static_cast<int>(args.size());
  if ((spec->arity > 0 && argc != spec->arity) || argc < -spec->arity) {
    *error = "Wrong number of args calling Redis command from script";
    return false;
  }
  if ((spec->flags & kNoScript) || NotAllowedFromScript(spec->name)) {
    *error = "This Redis command is not allowed from script";
    return false;
  }
  if (sc.read_only && (spec->flags & kWrite)) {
    *error = "Write commands are not allowed from read-only scripts.";
    return false;
  }
  if ((spec->flags & kDenyOom) && !sc.allow_oom && ctx.server.keyspace().OverMemoryLimit()) {
    *error = std::string("-") + kOomError;
    return false;
  }
  if (ctx.server.threaded() && !CheckDeclaredKeys(sc, *spec, args, error)) return false;
  protocol::ReplyWriter writer(reply);
  writer.set_resp3(resp == 3);
  ctx.worker.RunForScript(ctx.conn, *spec, args, writer);
  if (spec->flags & kWrite) ctx.server.scripting().MarkWrote();
  return true;
}

bool InterruptScript(void* p) {
  ScriptCall& sc = *static_cast<ScriptCall*>(p);
  return sc.outer.server.scripting().Interrupt(sc.outer.worker, sc.outer.conn.id());
}

// numkeys at args[2]: checks it as Redis does and splits KEYS from ARGV. False with the error
// written.
bool SplitKeys(CommandContext& ctx, std::vector<std::string_view>* keys,
               std::vector<std::string_view>* argv) {
  int64_t numkeys = 0;
  if (!ParseInt64(ctx.args[2], &numkeys)) {
    ctx.reply.Error(kErrNotInteger);
    return false;
  }
  const int64_t rest = static_cast<int64_t>(ctx.args.size()) - 3;
  if (numkeys > rest) {
    ctx.reply.Error("ERR Number of keys can't be greater than number of args");
    return false;
  }
  if (numkeys < 0) {
    ctx.reply.Error("ERR Number of keys can't be negative");
    return false;
  }
  keys->assign(ctx.args.begin() + 3, ctx.args.begin() + 3 + numkeys);
  argv->assign(ctx.args.begin() + 3 + numkeys, ctx.args.end());
  return true;
}

// An EVAL script's "#!lua flags=..." first line. Returns false with *error when it is wrong;
// *flags gets the flags (bit 31 set when there was a shebang) and *body the code to compile
// (the shebang line blanked, so line numbers stay).
constexpr uint32_t kHasShebang = 1u << 31;
bool ParseScriptShebang(std::string_view script, uint32_t* flags, std::string* body,
                        std::string* error) {
  *flags = 0;
  if (script.substr(0, 2) != "#!") {
    body->assign(script);
    return true;
  }
  const size_t nl = script.find('\n');
  if (nl == std::string_view::npos) {
    *error = "ERR Invalid script shebang";
    return false;
  }
  std::vector<std::string_view> parts;
  std::string_view header = script.substr(0, nl);
  for (size_t pos = 0; pos < header.size();) {
    const size_t space = header.find(' ', pos);
    const size_t end = space == std::string_view::npos ? header.size() : space;
    if (end > pos) parts.push_back(header.substr(pos, end - pos));
    pos = end + 1;
  }
  if (parts.empty() || parts[0] != "#!lua") {
    *error = "ERR Unexpected engine in script shebang: " +
             std::string(parts.empty() ? std::string_view("#!") : parts[0]);
    return false;
  }
  *flags = kHasShebang;
  for (size_t i = 1; i < parts.size(); ++i) {
    if (parts[i].substr(0, 6) != "flags=") {
      *error = "ERR Unknown lua shebang option: " + std::string(parts[i]);
      return false;
    }
    std::string_view list = parts[i].substr(6);
    for (size_t pos = 0; pos < list.size();) {
      const size_t comma = list.find(',', pos);
      const size_t end = comma == std::string_view::npos ? list.size() : comma;
      std::string_view name = list.substr(pos, end - pos);
      uint32_t flag = 0;
      if (!name.empty() && !scripting::ParseFunctionFlag(name, &flag)) {
        *error = "ERR Unexpected flag in script shebang: " + std::string(name);
        return false;
      }
      *flags |= flag;
      pos = end + 1;
    }
  }
  body->assign(script.substr(nl));
  return true;
}

// Runs a script or function after its checks: the shared run slot, the engine, the reply.
void RunWithHost(CommandContext& ctx, const std::vector<std::string_view>& keys,
                 const std::vector<std::string_view>& argv, uint32_t flags, bool ro_command,
                 bool is_function, const std::string& name, LuaEngine& engine) {
  const bool has_flags = is_function || (flags & kHasShebang);
  if (ro_command && has_flags && !(flags & scripting::kFnNoWrites)) {
    ctx.reply.Error(kRoWriteFlag);
    return;
  }
  const bool read_only = ro_command || (flags & scripting::kFnNoWrites);
  if (has_flags && !read_only && !(flags & scripting::kFnAllowOom) &&
      ctx.server.keyspace().OverMemoryLimit()) {
    ctx.reply.Error(kOomError);
    return;
  }
  ScriptCall sc{ctx, keys, read_only, (flags & scripting::kFnAllowOom) != 0};
  scripting::ScriptHost host;
  host.ctx = &sc;
  host.call = &RunScriptCall;
  host.interrupt = &InterruptScript;
  Scripting& scripting = ctx.server.scripting();
  if (!scripting.BeginRun(ctx, is_function, name)) return;
  if (is_function) {
    engine.RunFunction(name, keys, argv, host, ctx.reply);
  } else {
    engine.RunScript(name, keys, argv, host, ctx.reply);
  }
  scripting.EndRun();
}

// Compiles script (a cached one's body, or EVAL's) into engine as sha, and caches it
// server-wide. False with the error written.
bool CompileInto(CommandContext& ctx, LuaEngine& engine, const std::string& sha,
                 std::string_view script, uint32_t* flags) {
  std::string body;
  std::string error;
  if (!ParseScriptShebang(script, flags, &body, &error)) {
    ctx.reply.Error(error);
    return false;
  }
  if (!engine.CompileScript(sha, body, &error)) {
    ctx.reply.Error("ERR " + error);
    return false;
  }
  engine.SetScriptFlags(sha, *flags);
  ctx.server.scripting().AddScript(sha, script);
  return true;
}

void EvalGeneric(CommandContext& ctx, bool by_sha, bool ro_command) {
  std::vector<std::string_view> keys;
  std::vector<std::string_view> argv;
  if (!SplitKeys(ctx, &keys, &argv)) return;
  LuaEngine& engine = ctx.server.scripting().EngineFor(ctx.worker);
  std::string sha;
  uint32_t flags = 0;
  if (by_sha) {
    if (ctx.args[1].size() != 40) {
      ctx.reply.Error(kNoScriptError);
      return;
    }
    sha = ToLower(ctx.args[1]);
    if (!engine.HasScript(sha)) {
      std::string script;
      if (!ctx.server.scripting().FindScript(sha, &script)) {
        ctx.reply.Error(kNoScriptError);
        return;
      }
      if (!CompileInto(ctx, engine, sha, script, &flags)) return;
    }
  } else {
    sha = scripting::Sha1Hex(ctx.args[1]);
    if (!engine.HasScript(sha) && !CompileInto(ctx, engine, sha, ctx.args[1], &flags)) return;
  }
  flags = engine.ScriptFlags(sha);
  RunWithHost(ctx, keys, argv, flags, ro_command, false, sha, engine);
}

void EvalCommand(CommandContext& ctx) { EvalGeneric(ctx, false, false); }
void EvalRoCommand(CommandContext& ctx) { EvalGeneric(ctx, false, true); }
void EvalshaCommand(CommandContext& ctx) { EvalGeneric(ctx, true, false); }
void EvalshaRoCommand(CommandContext& ctx) { EvalGeneric(ctx, true, true); }

void FcallGeneric(CommandContext& ctx, bool ro_command) {
  std::vector<std::string_view> keys;
  std::vector<std::string_view> argv;
  if (!SplitKeys(ctx, &keys, &argv)) return;
  LuaEngine& engine = ctx.server.scripting().EngineFor(ctx.worker);
  const std::string name(ctx.args[1]);
  const FunctionInfo* fn = engine.FindFunction(name);
  if (!fn) {
    ctx.reply.Error("ERR Function not found");
    return;
  }
  RunWithHost(ctx, keys, argv, fn->flags, ro_command, true, name, engine);
}

void FcallCommand(CommandContext& ctx) { FcallGeneric(ctx, false); }
void FcallRoCommand(CommandContext& ctx) { FcallGeneric(ctx, true); }

// ---- SCRIPT ----

bool FlushOptionOk(CommandContext& ctx, const char* error) {
  if (ctx.args.size() == 3 &&
      !(EqualsIgnoreCase(ctx.args[2], "async") || EqualsIgnoreCase(ctx.args[2], "sync"))) {
    ctx.reply.Error(error);
    return false;
  }
  return true;
}

void ScriptCommand(CommandContext& ctx) {
  std::string_view sub = ctx.args[1];
  const size_t argc = ctx.args.size();
  Scripting& scripting = ctx.server.scripting();
  if (EqualsIgnoreCase(sub, "load") && argc == 3) {
    LuaEngine& engine = scripting.EngineFor(ctx.worker);
    const std::string sha = scripting::Sha1Hex(ctx.args[2]);
    uint32_t flags = 0;
    if (!engine.HasScript(sha) && !CompileInto(ctx, engine, sha, ctx.args[2], &flags)) return;
    scripting.AddScript(sha, ctx.args[2]);
    ctx.reply.Bulk(sha);
  } else if (EqualsIgnoreCase(sub, "exists") && argc >= 3) {
    ctx.reply.ArrayHeader(argc - 2);
    for (size_t i = 2; i < argc; ++i) {
      ctx.reply.Integer(scripting.HasScript(ToLower(ctx.args[i])) ? 1 : 0);
    }
  } else if (EqualsIgnoreCase(sub, "flush") && argc <= 3) {
    if (!FlushOptionOk(ctx, "ERR SCRIPT FLUSH only support SYNC|ASYNC option")) return;
    scripting.FlushScripts();
    ctx.reply.Ok();
  } else if (EqualsIgnoreCase(sub, "kill") && argc == 2) {
    const std::string error = scripting.Kill(false);
    if (error.empty()) {
      ctx.reply.Ok();
    } else {
      ctx.reply.Error(error);
    }
  } else if (EqualsIgnoreCase(sub, "help") && argc == 2) {
    static const char* kHelp[] = {
        "SCRIPT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
        "EXISTS <sha1> [<sha1> ...]",
        "    Return information about the existence of the scripts in the script cache.",
        "FLUSH [ASYNC|SYNC]",
        "    Flush the Lua scripts cache. Very dangerous on replicas.",
        "    When called without the optional mode argument, the behavior is determined by the",
        "    lazyfree-lazy-user-flush configuration directive. Valid modes are:",
        "    * ASYNC: Asynchronously flush the scripts cache.",
        "    * SYNC: Synchronously flush the scripts cache.",
        "KILL",
        "    Kill the currently executing Lua script.",
        "LOAD <script>",
        "    Load a script into the scripts cache without executing it.",
        "HELP",
        "    Print this help.",
    };
    ReplyHelp(ctx.reply, kHelp);
  } else {
    ReplySubcommandError(ctx);
  }
}

// ---- FUNCTION ----

bool ValidLibraryName(std::string_view name) {
  if (name.empty()) return false;
  for (char c : name) {
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_'))
      return false;
  }
  return true;
}

// Parses a library's "#!lua name=<lib>" header and trial-loads its code in a fresh engine to
// find its functions. Returns "" with *lib filled, or the error reply.
std::string PrepareLibrary(std::string_view code, FunctionLibrary* lib) {
  if (code.substr(0, 2) != "#!") return "ERR Missing library metadata";
  const size_t nl = code.find('\n');
  if (nl == std::string_view::npos) return "ERR Invalid library metadata";
  std::vector<std::string_view> parts;
  std::string_view header = code.substr(2, nl - 2);
  for (size_t pos = 0; pos < header.size();) {
    const size_t space = header.find(' ', pos);
    const size_t end = space == std::string_view::npos ? header.size() : space;
    if (end > pos) parts.push_back(header.substr(pos, end - pos));
    pos = end + 1;
  }
  if (parts.empty()) return "ERR Invalid library metadata";
  bool has_name = false;
  for (size_t i = 1; i < parts.size(); ++i) {
    if (parts[i].size() >= 5 && EqualsIgnoreCase(parts[i].substr(0, 5), "name=")) {
      if (has_name) return "ERR Invalid metadata value, name argument was given multiple times";
      lib->name.assign(parts[i].substr(5));
      has_name = true;
      continue;
    }
    return "ERR Invalid metadata value given: " + std::string(parts[i]);
  }
  if (!has_name) return "ERR Library name was not given";
  if (!EqualsIgnoreCase(parts[0], "lua")) {
    return "ERR Engine '" + std::string(parts[0]) + "' not found";
  }
  if (!ValidLibraryName(lib->name)) {
    return "ERR Library names can only contain letters, numbers, or underscores(_) and must be "
           "at least one character long";
  }
  LuaEngine trial;
  std::string error;
  if (!trial.LoadLibrary(code.substr(nl), &lib->functions, &error)) return "ERR " + error;
  lib->code.assign(code);
  return "";
}

void WriteLibrary(protocol::ReplyWriter& w, const FunctionLibrary& lib, bool with_code) {
  w.MapHeader(with_code ? 4 : 3);
  w.Bulk("library_name");
  w.Bulk(lib.name);
  w.Bulk("engine");
  w.Bulk("LUA");
  w.Bulk("functions");
  w.ArrayHeader(lib.functions.size());
  for (const FunctionInfo& f : lib.functions) {
    w.MapHeader(3);
    w.Bulk("name");
    w.Bulk(f.name);
    w.Bulk("description");
    if (f.has_description) {
      w.Bulk(f.description);
    } else {
      w.Null();
    }
    w.Bulk("flags");
    const std::vector<std::string> flags = scripting::FunctionFlagNames(f.flags);
    w.SetHeader(flags.size());
    for (const std::string& flag : flags) w.Bulk(flag);
  }
  if (with_code) {
    w.Bulk("library_code");
    w.Bulk(lib.code);
  }
}

void FunctionList(CommandContext& ctx) {
  bool with_code = false;
  bool has_pattern = false;
  std::string_view pattern;
  for (size_t i = 2; i < ctx.args.size(); ++i) {
    if (!with_code && EqualsIgnoreCase(ctx.args[i], "withcode")) {
      with_code = true;
      continue;
    }
    if (!has_pattern && EqualsIgnoreCase(ctx.args[i], "libraryname")) {
      if (i + 1 >= ctx.args.size()) {
        ctx.reply.Error("ERR library name argument was not given");
        return;
      }
      pattern = ctx.args[++i];
      has_pattern = true;
      continue;
    }
    ctx.reply.Error("ERR Unknown argument " + std::string(ctx.args[i]));
    return;
  }
  std::vector<FunctionLibrary> libs = ctx.server.scripting().Libraries();
  std::vector<const FunctionLibrary*> shown;
  for (const FunctionLibrary& lib : libs) {
    if (!has_pattern || storage::GlobMatch(pattern, lib.name, true)) shown.push_back(&lib);
  }
  ctx.reply.ArrayHeader(shown.size());
  for (const FunctionLibrary* lib : shown) WriteLibrary(ctx.reply, *lib, with_code);
}

void FunctionStats(CommandContext& ctx) {
  Scripting& scripting = ctx.server.scripting();
  ctx.reply.MapHeader(2);
  ctx.reply.Bulk("running_script");
  std::string name;
  std::vector<std::string> command;
  int64_t ms = 0;
  if (scripting.RunningFunction(&name, &command, &ms)) {
    ctx.reply.MapHeader(3);
    ctx.reply.Bulk("name");
    ctx.reply.Bulk(name);
    ctx.reply.Bulk("command");
    ctx.reply.ArrayHeader(command.size());
    for (const std::string& arg : command) ctx.reply.Bulk(arg);
    ctx.reply.Bulk("duration_ms");
    ctx.reply.Integer(ms);
  } else {
    ctx.reply.Null();
  }
  std::vector<FunctionLibrary> libs = scripting.Libraries();
  size_t functions = 0;
  for (const FunctionLibrary& lib : libs) functions += lib.functions.size();
  ctx.reply.Bulk("engines");
  ctx.reply.MapHeader(1);
  ctx.reply.Bulk("LUA");
  ctx.reply.MapHeader(2);
  ctx.reply.Bulk("libraries_count");
  ctx.reply.Integer(static_cast<int64_t>(libs.size()));
  ctx.reply.Bulk("functions_count");
  ctx.reply.Integer(static_cast<int64_t>(functions));
}

// FUNCTION DUMP's payload (our own format, not Redis's RDB one):
//   "FCFUNC1\n" <count> "\n" then per library <length> "\n" <code>, then "\n" and a 16-hex-digit
//   FNV-1a 64 checksum of everything before it.
constexpr std::string_view kDumpMagic = "FCFUNC1\n";

std::string Fnv1aHex(std::string_view data) {
  uint64_t h = 14695981039346656037ull;
  for (char c : data) h = (h ^ static_cast<uint8_t>(c)) * 1099511628211ull;
  static const char kHex[] = "0123456789abcdef";
  std::string out(16, '0');
  for (int i = 0; i < 16; ++i) out[static_cast<size_t>(i)] = kHex[(h >> (60 - 4 * i)) & 15];
  return out;
}

std::string DumpLibraries(const std::vector<FunctionLibrary>& libs) {
  std::string out(kDumpMagic);
  out += std::to_string(libs.size()) + "\n";
  for (const FunctionLibrary& lib : libs) out += std::to_string(lib.code.size()) + "\n" + lib.code;
  out += "\n" + Fnv1aHex(out);
  return out;
}

// The library codes in a DUMP payload; false when it is not one (or is damaged).
bool ParseDump(std::string_view payload, std::vector<std::string>* codes) {
  if (payload.size() < kDumpMagic.size() + 17 || payload.substr(0, kDumpMagic.size()) != kDumpMagic)
    return false;
  const std::string_view body = payload.substr(0, payload.size() - 17);
  if (payload[payload.size() - 17] != '\n' || Fnv1aHex(body) != payload.substr(payload.size() - 16))
    return false;
  size_t pos = kDumpMagic.size();
  auto read_number = [&](uint64_t* out) {
    const size_t nl = body.find('\n', pos);
    if (nl == std::string_view::npos || nl == pos || nl - pos > 19) return false;
    uint64_t v = 0;
    for (size_t i = pos; i < nl; ++i) {
      if (body[i] < '0' || body[i] > '9') return false;
      v = v * 10 + static_cast<uint64_t>(body[i] - '0');
    }
    *out = v;
    pos = nl + 1;
    return true;
  };
  uint64_t count = 0;
  if (!read_number(&count)) return false;
  for (uint64_t i = 0; i < count; ++i) {
    uint64_t len = 0;
    if (!read_number(&len) || len > body.size() - pos) return false;
    codes->emplace_back(body.substr(pos, len));
    pos += len;
  }
  return pos == body.size();
}

void FunctionRestore(CommandContext& ctx) {
  std::string policy = "append";
  if (ctx.args.size() == 4) {
    policy = ToLower(ctx.args[3]);
    if (policy != "flush" && policy != "append" && policy != "replace") {
      ctx.reply.Error(
          "ERR Wrong restore policy given, value should be either FLUSH, APPEND or REPLACE.");
      return;
    }
  }
  std::vector<std::string> codes;
  if (!ParseDump(ctx.args[2], &codes)) {
    ctx.reply.Error("ERR DUMP payload version or checksum are wrong");
    return;
  }
  std::vector<FunctionLibrary> libs;
  for (const std::string& code : codes) {
    FunctionLibrary lib;
    const std::string error = PrepareLibrary(code, &lib);
    if (!error.empty()) {
      ctx.reply.Error(error);
      return;
    }
    libs.push_back(std::move(lib));
  }
  const std::string error = ctx.server.scripting().RestoreLibraries(std::move(libs), policy);
  if (error.empty()) {
    ctx.reply.Ok();
  } else {
    ctx.reply.Error(error);
  }
}

void FunctionCommand(CommandContext& ctx) {
  std::string_view sub = ctx.args[1];
  const size_t argc = ctx.args.size();
  Scripting& scripting = ctx.server.scripting();
  if (EqualsIgnoreCase(sub, "load") && (argc == 3 || argc == 4)) {
    bool replace = false;
    if (argc == 4) {
      if (!EqualsIgnoreCase(ctx.args[2], "replace")) {
        ctx.reply.Error("ERR Unknown option given: " + std::string(ctx.args[2]));
        return;
      }
      replace = true;
    }
    FunctionLibrary lib;
    std::string error = PrepareLibrary(ctx.args[argc - 1], &lib);
    const std::string name = lib.name;
    if (error.empty()) error = scripting.InstallLibrary(std::move(lib), replace);
    if (error.empty()) {
      ctx.reply.Bulk(name);
    } else {
      ctx.reply.Error(error);
    }
  } else if (EqualsIgnoreCase(sub, "delete") && argc == 3) {
    if (scripting.DeleteLibrary(std::string(ctx.args[2]))) {
      ctx.reply.Ok();
    } else {
      ctx.reply.Error("ERR Library not found");
    }
  } else if (EqualsIgnoreCase(sub, "flush") && argc <= 3) {
    if (!FlushOptionOk(ctx, "ERR FUNCTION FLUSH only supports SYNC|ASYNC option")) return;
    scripting.FlushLibraries();
    ctx.reply.Ok();
  } else if (EqualsIgnoreCase(sub, "list")) {
    FunctionList(ctx);
  } else if (EqualsIgnoreCase(sub, "stats") && argc == 2) {
    FunctionStats(ctx);
  } else if (EqualsIgnoreCase(sub, "dump") && argc == 2) {
    ctx.reply.Bulk(DumpLibraries(scripting.Libraries()));
  } else if (EqualsIgnoreCase(sub, "restore") && (argc == 3 || argc == 4)) {
    FunctionRestore(ctx);
  } else if (EqualsIgnoreCase(sub, "kill") && argc == 2) {
    const std::string error = scripting.Kill(true);
    if (error.empty()) {
      ctx.reply.Ok();
    } else {
      ctx.reply.Error(error);
    }
  } else if (EqualsIgnoreCase(sub, "help") && argc == 2) {
    static const char* kHelp[] = {
        "FUNCTION <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
        "LOAD [REPLACE] <FUNCTION CODE>",
        "    Create a new library with the given library name and code.",
        "DELETE <LIBRARY NAME>",
        "    Delete the given library.",
        "LIST [LIBRARYNAME PATTERN] [WITHCODE]",
        "    Return general information on all the libraries:",
        "    * Library name",
        "    * The engine used to run the Library",
        "    * Library description",
        "    * Functions list",
        "    * Library code (if WITHCODE is given)",
        "    It also possible to get only function that matches a pattern using LIBRARYNAME",
        "    argument.",
        "STATS",
        "    Return information about the current function running:",
        "    * Function name",
        "    * Command used to run the function",
        "    * Duration in MS that the function is running",
        "    If no function is running, return nil",
        "    In addition, returns a list of available engines.",
        "KILL",
        "    Kill the current running function.",
        "FLUSH [ASYNC|SYNC]",
        "    Delete all the libraries.",
        "    When called without the optional mode argument, the behavior is determined by the",
        "    lazyfree-lazy-user-flush configuration directive. Valid modes are:",
        "    * ASYNC: Asynchronously flush the libraries.",
        "    * SYNC: Synchronously flush the libraries.",
        "DUMP",
        "    Return a serialized payload representing the current libraries, can be restored",
        "    using FUNCTION RESTORE command",
        "RESTORE <PAYLOAD> [FLUSH|APPEND|REPLACE]",
        "    Restore the libraries represented by the given payload, it is possible to give",
        "    a restore policy to control how to handle existing libraries (default APPEND):",
        "    * FLUSH: delete all existing libraries.",
        "    * APPEND: appends the restored libraries to the existing libraries. On collision,",
        "      abort.",
        "    * REPLACE: appends the restored libraries to the existing libraries, On collision,",
        "      replace the old libraries with the new libraries (notice that even on this",
        "      option there is a chance of failure in case of functions name collision with",
        "      another library).",
        "HELP",
        "    Print this help.",
    };
    ReplyHelp(ctx.reply, kHelp);
  } else {
    ReplySubcommandError(ctx);
  }
}

}  // namespace

void RegisterScriptingCommands(CommandTable& t) {
  // Keys from position 3 on: numkeys decides which are KEYS, so the dispatcher locks the shards
  // of every later argument (a superset, as for LMPOP).
  const uint32_t kRun = kNoScript | kStale | kMovableKeys;
  t.Add({"eval", -3, kRun, 3, -1, 1, EvalCommand, "scripting", "Executes a server-side Lua script.",
         "2.6.0"});
  t.Add({"evalsha", -3, kRun, 3, -1, 1, EvalshaCommand, "scripting",
         "Executes a server-side Lua script by SHA1 digest.", "2.6.0"});
  t.Add({"eval_ro", -3, kRun | kReadOnly, 3, -1, 1, EvalRoCommand, "scripting",
         "Executes a read-only server-side Lua script.", "7.0.0"});
  t.Add({"evalsha_ro", -3, kRun | kReadOnly, 3, -1, 1, EvalshaRoCommand, "scripting",
         "Executes a read-only server-side Lua script by SHA1 digest.", "7.0.0"});
  t.Add({"fcall", -3, kRun, 3, -1, 1, FcallCommand, "scripting", "Invokes a function.", "7.0.0"});
  t.Add({"fcall_ro", -3, kRun | kReadOnly, 3, -1, 1, FcallRoCommand, "scripting",
         "Invokes a read-only function.", "7.0.0"});
  CommandSpec script{"script",
                     -2,
                     kNoScript,
                     0,
                     0,
                     0,
                     ScriptCommand,
                     "scripting",
                     "A container for Lua scripts management commands.",
                     "2.6.0"};
  script.subcommands = {
      {"script|load", 3, "Loads a server-side Lua script to the script cache."},
      {"script|exists", -3,
       "Determines whether server-side Lua scripts exist in the script cache."},
      {"script|flush", -2, "Removes all server-side Lua scripts from the script cache."},
      {"script|kill", 2, "Terminates a server-side Lua script during execution."},
      {"script|help", 2, "Returns helpful text about the different subcommands."}};
  t.Add(std::move(script));
  CommandSpec function{"function",
                       -2,
                       kNoScript,
                       0,
                       0,
                       0,
                       FunctionCommand,
                       "scripting",
                       "A container for function commands.",
                       "7.0.0"};
  function.subcommands = {
      {"function|load", -3, "Creates a library."},
      {"function|delete", 3, "Deletes a library and its functions."},
      {"function|flush", -2, "Deletes all libraries and functions."},
      {"function|list", -2, "Returns information about all libraries."},
      {"function|stats", 2, "Returns information about a function during execution."},
      {"function|dump", 2, "Dumps all libraries into a serialized binary payload."},
      {"function|restore", -3, "Restores all libraries from a payload."},
      {"function|kill", 2, "Terminates a function during execution."},
      {"function|help", 2, "Returns helpful text about the different subcommands."}};
  t.Add(std::move(function));
}

}  // namespace flightcache::server
