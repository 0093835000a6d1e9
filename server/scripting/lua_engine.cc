// lua_engine.cc — the Lua state, the `redis` API and script/function runs (see lua_engine.h).
//
// Error objects follow Redis 7.0: redis.call raises a table {err="CODE message"}; the error
// handler adds the caller's source and line; the reply is "-CODE message script: <name>, on
// <source>:<line>.". Functions registered as C closures carry the engine as upvalue 1.
#include "server/scripting/lua_engine.h"

#include <dlfcn.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "server/scripting/lua_resp.h"
#include "server/scripting/sha1.h"

namespace flightcache::server::scripting {
namespace {

constexpr int kHookInstructions = 100000;
constexpr unsigned kGcPeriod = 50;

// Redis 7.0's error handler: a non-table error becomes {err='ERR ' .. msg}; the source and
// line are the caller's (the script's, when the error came from a C function like redis.call).
constexpr const char kPrelude[] = R"lua(
local dbg = debug
function __redis__err__handler(err)
  local i = dbg.getinfo(2,'nSl')
  if i and i.what == 'C' then
    i = dbg.getinfo(3,'nSl')
  end
  if type(err) ~= 'table' then
    err = {err='ERR ' .. tostring(err)}
  end
  if i then
    err['source'] = i.source
    err['line'] = i.currentline
  end
  return err
end
)lua";

// The globals' guards, as Redis 7.0.15 (Debian) has them: reading a global that does not exist
// is an error from Lua code (not from C), and _G is read-only. C functions, so that the error
// handler reports the script's line.
int GuardedIndex(lua_State* lua) {
  lua_Debug caller;
  if (lua_getstack(lua, 1, &caller) && lua_getinfo(lua, "S", &caller) &&
      std::strcmp(caller.what, "C") != 0) {
    const char* name = lua_tostring(lua, 2);
    return luaL_error(lua, "Script attempted to access nonexistent global variable '%s'",
                      name ? name : "?");
  }
  return 0;
}

int ReadOnlyNewIndex(lua_State* lua) {
  return luaL_error(lua, "Attempt to modify a readonly table");
}

// Gives the table at the top of the stack the guards (newindex too when read_only).
void GuardTable(lua_State* lua, bool read_only) {
  lua_newtable(lua);
  lua_pushcfunction(lua, &GuardedIndex);
  lua_setfield(lua, -2, "__index");
  if (read_only) {
    lua_pushcfunction(lua, &ReadOnlyNewIndex);
    lua_setfield(lua, -2, "__newindex");
  }
  lua_setmetatable(lua, -2);
}

using LuaOpen = int (*)(lua_State*);

// Debian's lua-cjson for Lua 5.1, loaded once per process; nullptr when it is not installed.
LuaOpen CjsonOpener() {
  static LuaOpen opener = [] {
    void* handle = dlopen("liblua5.1-cjson.so.0", RTLD_NOW | RTLD_LOCAL);
    if (!handle) return static_cast<LuaOpen>(nullptr);
    return reinterpret_cast<LuaOpen>(dlsym(handle, "luaopen_cjson"));
  }();
  return opener;
}

// A Lua number as redis.call passes it: the shortest text that reads back to the same double.
std::string NumberText(lua_Number v) {
  char buf[64];
  for (int precision = 15; precision <= 17; ++precision) {
    std::snprintf(buf, sizeof(buf), "%.*g", precision, v);
    if (std::strtod(buf, nullptr) == v) break;
  }
  return buf;
}

bool ValidName(std::string_view name) {
  if (name.empty()) return false;
  for (char c : name) {
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_'))
      return false;
  }
  return true;
}

// The message of the error at the top of the stack: its err field, or its text.
std::string ErrorMessage(lua_State* lua) {
  if (lua_istable(lua, -1)) {
    lua_getfield(lua, -1, "err");
    std::string text = lua_isstring(lua, -1) ? lua_tostring(lua, -1) : "unknown error";
    lua_pop(lua, 1);
    return text;
  }
  const char* s = lua_tostring(lua, -1);
  return s ? s : "unknown error";
}

}  // namespace

bool ParseFunctionFlag(std::string_view name, uint32_t* flag) {
  static const std::pair<const char*, uint32_t> kFlags[] = {
      {"no-writes", kFnNoWrites},
      {"allow-oom", kFnAllowOom},
      {"allow-stale", kFnAllowStale},
      {"no-cluster", kFnNoCluster},
      {"allow-cross-slot-keys", kFnAllowCrossSlot}};
  for (const auto& [text, bit] : kFlags) {
    if (name == text) {
      *flag = bit;
      return true;
    }
  }
  return false;
}

std::vector<std::string> FunctionFlagNames(uint32_t flags) {
  std::vector<std::string> out;
  if (flags & kFnNoWrites) out.push_back("no-writes");
  if (flags & kFnAllowOom) out.push_back("allow-oom");
  if (flags & kFnAllowStale) out.push_back("allow-stale");
  if (flags & kFnNoCluster) out.push_back("no-cluster");
  if (flags & kFnAllowCrossSlot) out.push_back("allow-cross-slot-keys");
  return out;
}

bool LuaEngine::CjsonAvailable() { return CjsonOpener() != nullptr; }

void* LuaEngine::Allocate(void* self, void* ptr, size_t old_size, size_t new_size) {
  auto* engine = static_cast<LuaEngine*>(self);
  if (new_size == 0) {
    engine->memory_ -= old_size;
    std::free(ptr);
    return nullptr;
  }
  void* grown = std::realloc(ptr, new_size);
  if (grown) engine->memory_ += new_size - (ptr ? old_size : 0);
  return grown;
}

LuaEngine* LuaEngine::Self(lua_State* lua) {
  void* self = nullptr;
  lua_getallocf(lua, &self);
  return static_cast<LuaEngine*>(self);
}

LuaEngine::LuaEngine(Logger logger) : logger_(std::move(logger)) {
  lua_ = lua_newstate(&LuaEngine::Allocate, this);
  OpenLibraries();
  InstallRedisTable();
  if (luaL_loadbuffer(lua_, kPrelude, sizeof(kPrelude) - 1, "@prelude") == 0) {
    lua_pcall(lua_, 0, 0, 0);
  } else {
    lua_pop(lua_, 1);
  }
  lua_pushstring(lua_, "__redis__err__handler");
  lua_rawget(lua_, LUA_GLOBALSINDEX);
  err_handler_ref_ = luaL_ref(lua_, LUA_REGISTRYINDEX);
  lua_newtable(lua_);
  scripts_ref_ = luaL_ref(lua_, LUA_REGISTRYINDEX);
  lua_newtable(lua_);
  functions_ref_ = luaL_ref(lua_, LUA_REGISTRYINDEX);
  // `debug` goes once the prelude holds its own reference, as in Redis.
  lua_pushstring(lua_, "debug");
  lua_pushnil(lua_);
  lua_rawset(lua_, LUA_GLOBALSINDEX);
  lua_pushvalue(lua_, LUA_GLOBALSINDEX);
  GuardTable(lua_, true);
  lua_pop(lua_, 1);
}

LuaEngine::~LuaEngine() {
  if (lua_) lua_close(lua_);
}

void LuaEngine::OpenLibraries() {
  const std::pair<const char*, lua_CFunction> libs[] = {
      {"", luaopen_base},
      {LUA_TABLIBNAME, luaopen_table},
      {LUA_STRLIBNAME, luaopen_string},
      {LUA_MATHLIBNAME, luaopen_math},
      {LUA_DBLIBNAME, luaopen_debug},
  };
  for (const auto& [name, open] : libs) {
    lua_pushcfunction(lua_, open);
    lua_pushstring(lua_, name);
    lua_call(lua_, 1, 0);
  }
  if (LuaOpen open = CjsonOpener()) {
    lua_pushcfunction(lua_, open);
    lua_call(lua_, 0, 1);
    lua_setglobal(lua_, "cjson");
  }
  // As Redis: no file access from scripts.
  for (const char* name : {"loadfile", "dofile"}) {
    lua_pushnil(lua_);
    lua_setglobal(lua_, name);
  }
}

void LuaEngine::InstallRedisTable() {
  lua_newtable(lua_);
  const std::pair<const char*, lua_CFunction> functions[] = {
      {"call", &LuaEngine::LuaCall},
      {"pcall", &LuaEngine::LuaPcall},
      {"log", &LuaEngine::LuaLog},
      {"setresp", &LuaEngine::LuaSetResp},
      {"sha1hex",
       [](lua_State* lua) -> int {
         if (lua_gettop(lua) != 1) {
           PushErrorTable(lua, "wrong number of arguments");
           return lua_error(lua);
         }
         size_t len = 0;
         const char* s = lua_tolstring(lua, 1, &len);
         char hex[41];
         {
           const std::string digest = Sha1Hex(std::string_view(s ? s : "", s ? len : 0));
           std::memcpy(hex, digest.data(), 40);
         }
         lua_pushlstring(lua, hex, 40);
         return 1;
       }},
      {"error_reply",
       [](lua_State* lua) -> int {
         if (lua_gettop(lua) != 1 || lua_type(lua, -1) != LUA_TSTRING) {
           PushErrorTable(lua, "wrong number or type of arguments");
           return 1;
         }
         size_t len = 0;
         const char* s = lua_tolstring(lua, 1, &len);
         if (len > 0 && s[0] == '-') {
           PushErrorTable(lua, std::string_view(s, len));
         } else {
           PushErrorTable(lua, "-" + std::string(s, len));
         }
         return 1;
       }},
      {"status_reply",
       [](lua_State* lua) -> int {
         if (lua_gettop(lua) != 1 || lua_type(lua, -1) != LUA_TSTRING) {
           PushErrorTable(lua, "wrong number or type of arguments");
           return 1;
         }
         size_t len = 0;
         const char* s = lua_tolstring(lua, 1, &len);
         PushSingleFieldTable(lua, "ok", std::string_view(s, len));
         return 1;
       }},
      // Replication controls: there are no replicas; accepted as Redis 7.0 accepts them.
      {"replicate_commands",
       [](lua_State* lua) -> int {
         lua_pushboolean(lua, 1);
         return 1;
       }},
      {"set_repl", [](lua_State*) -> int { return 0; }},
      {"breakpoint",
       [](lua_State* lua) -> int {
         lua_pushboolean(lua, 0);
         return 1;
       }},
      {"debug", [](lua_State*) -> int { return 0; }},
  };
  for (const auto& [name, fn] : functions) {
    lua_pushcfunction(lua_, fn);
    lua_setfield(lua_, -2, name);
  }
  const std::pair<const char*, int> numbers[] = {
      {"LOG_DEBUG", 0},  {"LOG_VERBOSE", 1},
      {"LOG_NOTICE", 2}, {"LOG_WARNING", 3},
      {"REPL_NONE", 0},  {"REPL_AOF", 1},
      {"REPL_SLAVE", 2}, {"REPL_REPLICA", 2},
      {"REPL_ALL", 3},   {"REDIS_VERSION_NUM", 0x07000f},
  };
  for (const auto& [name, value] : numbers) {
    lua_pushnumber(lua_, value);
    lua_setfield(lua_, -2, name);
  }
  lua_pushstring(lua_, "7.0.15");
  lua_setfield(lua_, -2, "REDIS_VERSION");
  lua_pushvalue(lua_, -1);
  redis_ref_ = luaL_ref(lua_, LUA_REGISTRYINDEX);
  lua_setglobal(lua_, "redis");
}

// ---- redis.call / redis.pcall ----

int LuaEngine::LuaCall(lua_State* lua) {
  if (Self(lua)->CallInner(lua)) return lua_error(lua);
  return 1;
}

int LuaEngine::LuaPcall(lua_State* lua) {
  Self(lua)->CallInner(lua);
  return 1;
}

bool LuaEngine::CallInner(lua_State* lua) {
  const int argc = lua_gettop(lua);
  if (argc == 0) {
    PushErrorTable(lua, "Please specify at least one argument for this redis lib call");
    return true;
  }
  if (!host_) {
    PushErrorTable(lua, "redis.call is not available while a library loads");
    return true;
  }
  call_args_.clear();
  number_texts_.clear();
  number_texts_.reserve(static_cast<size_t>(argc));  // the views below stay valid
  for (int i = 1; i <= argc; ++i) {
    const int type = lua_type(lua, i);
    if (type == LUA_TNUMBER) {
      number_texts_.push_back(NumberText(lua_tonumber(lua, i)));
      call_args_.emplace_back(number_texts_.back());
    } else if (type == LUA_TSTRING) {
      size_t len = 0;
      const char* s = lua_tolstring(lua, i, &len);
      call_args_.emplace_back(s, len);
    } else {
      PushErrorTable(lua, "Lua redis lib command arguments must be strings or integers");
      return true;
    }
  }
  call_reply_.clear();
  call_error_.clear();
  if (!host_->call(host_->ctx, call_args_, resp_, &call_reply_, &call_error_)) {
    PushErrorTable(lua, call_error_);
    return true;
  }
  if (PushReplyAsLua(lua, call_reply_) == 0) {
    PushErrorTable(lua, "the command's reply could not be read");
    return true;
  }
  return !call_reply_.empty() && call_reply_[0] == '-';
}

// ---- redis.log / redis.setresp ----

int LuaEngine::LuaLog(lua_State* lua) {
  if (Self(lua)->LogInner(lua)) return lua_error(lua);
  return 0;
}

bool LuaEngine::LogInner(lua_State* lua) {
  const int argc = lua_gettop(lua);
  if (argc < 2) {
    PushErrorTable(lua, "redis.log() requires two arguments or more.");
    return true;
  }
  if (!lua_isnumber(lua, 1)) {
    PushErrorTable(lua, "First argument must be a number");
    return true;
  }
  const int level = static_cast<int>(lua_tonumber(lua, 1));
  if (level < 0 || level > 3) {
    PushErrorTable(lua, "Invalid debug level.");
    return true;
  }
  std::string message;
  for (int i = 2; i <= argc; ++i) {
    size_t len = 0;
    const char* s = lua_tolstring(lua, i, &len);
    if (i > 2) message.push_back(' ');
    if (s) message.append(s, len);
  }
  if (logger_) logger_(level, message);
  return false;
}

int LuaEngine::LuaSetResp(lua_State* lua) {
  if (lua_gettop(lua) != 1) {
    PushErrorTable(lua, "redis.setresp() requires one argument.");
    return lua_error(lua);
  }
  const int resp = static_cast<int>(lua_tonumber(lua, 1));
  if (resp != 2 && resp != 3) {
    PushErrorTable(lua, "RESP version must be 2 or 3.");
    return lua_error(lua);
  }
  Self(lua)->resp_ = resp;
  return 0;
}

// ---- the count hook ----

void LuaEngine::CountHook(lua_State* lua, lua_Debug*) {
  LuaEngine* self = Self(lua);
  if (!self->killing_) {
    if (!self->host_ || !self->host_->interrupt || !self->host_->interrupt(self->host_->ctx))
      return;
    self->killing_ = true;
    // From now on at every line, so a pcall in the script cannot catch it and go on.
    lua_sethook(lua, &LuaEngine::CountHook, LUA_MASKLINE, 0);
  }
  PushErrorTable(lua, "Script killed by user with SCRIPT KILL...");
  lua_error(lua);
}

// ---- runs ----

void LuaEngine::PushStringArray(const std::vector<std::string_view>& items) {
  lua_createtable(lua_, static_cast<int>(items.size()), 0);
  for (size_t i = 0; i < items.size(); ++i) {
    lua_pushlstring(lua_, items[i].data(), items[i].size());
    lua_rawseti(lua_, -2, static_cast<int>(i + 1));
  }
}

void LuaEngine::Run(std::string_view funcname, int nargs, ScriptHost& host,
                    protocol::ReplyWriter& out) {
  const int function_index = lua_gettop(lua_) - nargs;
  lua_rawgeti(lua_, LUA_REGISTRYINDEX, err_handler_ref_);
  lua_insert(lua_, function_index);
  host_ = &host;
  resp_ = 2;
  killing_ = false;
  lua_sethook(lua_, &LuaEngine::CountHook, LUA_MASKCOUNT, kHookInstructions);
  const int rc = lua_pcall(lua_, nargs, 1, function_index);
  lua_sethook(lua_, nullptr, 0, 0);
  host_ = nullptr;
  if (rc != 0) {
    WriteError(funcname, out);
  } else {
    WriteLuaAsReply(lua_, out, resp_);
  }
  lua_pop(lua_, 1);  // the error handler
  resp_ = 2;
  killing_ = false;
  if (++runs_since_gc_ >= kGcPeriod) {
    runs_since_gc_ = 0;
    lua_gc(lua_, LUA_GCSTEP, static_cast<int>(kGcPeriod));
  }
}

void LuaEngine::WriteError(std::string_view funcname, protocol::ReplyWriter& out) {
  if (!lua_istable(lua_, -1)) {
    const char* msg = lua_tostring(lua_, -1);
    out.Error("ERR Error running script " + std::string(funcname) + ", " +
              std::string(msg ? msg : "execution failure"));
    lua_pop(lua_, 1);
    return;
  }
  std::string text = ErrorMessage(lua_);
  lua_getfield(lua_, -1, "source");
  lua_getfield(lua_, -2, "line");
  if (lua_isstring(lua_, -2) && lua_isnumber(lua_, -1)) {
    text += " script: " + std::string(funcname) + ", on " + lua_tostring(lua_, -2) + ":" +
            std::to_string(static_cast<long long>(lua_tonumber(lua_, -1))) + ".";
  }
  lua_pop(lua_, 3);
  out.Error(text);
}

bool LuaEngine::CompileScript(const std::string& sha, std::string_view body, std::string* error) {
  if (luaL_loadbuffer(lua_, body.data(), body.size(), "@user_script") != 0) {
    const char* msg = lua_tostring(lua_, -1);
    *error = std::string("Error compiling script (new function): ") + (msg ? msg : "");
    lua_pop(lua_, 1);
    return false;
  }
  lua_rawgeti(lua_, LUA_REGISTRYINDEX, scripts_ref_);
  lua_pushlstring(lua_, sha.data(), sha.size());
  lua_pushvalue(lua_, -3);
  lua_rawset(lua_, -3);
  lua_pop(lua_, 2);
  scripts_[sha] = 0;
  return true;
}

void LuaEngine::ResetScripts() {
  luaL_unref(lua_, LUA_REGISTRYINDEX, scripts_ref_);
  lua_newtable(lua_);
  scripts_ref_ = luaL_ref(lua_, LUA_REGISTRYINDEX);
  scripts_.clear();
  lua_gc(lua_, LUA_GCCOLLECT, 0);
}

void LuaEngine::RunScript(const std::string& sha, const std::vector<std::string_view>& keys,
                          const std::vector<std::string_view>& argv, ScriptHost& host,
                          protocol::ReplyWriter& out) {
  // KEYS and ARGV are globals, set raw (past the globals protection).
  lua_pushstring(lua_, "KEYS");
  PushStringArray(keys);
  lua_rawset(lua_, LUA_GLOBALSINDEX);
  lua_pushstring(lua_, "ARGV");
  PushStringArray(argv);
  lua_rawset(lua_, LUA_GLOBALSINDEX);
  lua_rawgeti(lua_, LUA_REGISTRYINDEX, scripts_ref_);
  lua_pushlstring(lua_, sha.data(), sha.size());
  lua_rawget(lua_, -2);
  lua_remove(lua_, -2);
  if (!lua_isfunction(lua_, -1)) {
    lua_pop(lua_, 1);
    out.Error("NOSCRIPT No matching script. Please use EVAL.");
    return;
  }
  Run(sha, 0, host, out);
}

// ---- libraries ----

int LuaEngine::LuaRegisterFunction(lua_State* lua) {
  if (Self(lua)->RegisterInner(lua)) return lua_error(lua);
  return 0;
}

bool LuaEngine::RegisterInner(lua_State* lua) {
  if (!pending_) {
    PushErrorTable(lua, "redis.register_function can only be called on FUNCTION LOAD command");
    return true;
  }
  const int argc = lua_gettop(lua);
  if (argc < 1 || argc > 2) {
    PushErrorTable(lua, "wrong number of arguments to redis.register_function");
    return true;
  }
  PendingFunction fn{{}, LUA_NOREF};
  const char* problem = nullptr;
  if (argc == 1) {
    if (!lua_istable(lua, 1)) {
      PushErrorTable(lua,
                     "calling redis.register_function with a single argument is only applicable to "
                     "Lua table (representing named arguments).");
      return true;
    }
    bool has_name = false;
    lua_pushnil(lua);
    while (!problem && lua_next(lua, 1) != 0) {
      if (lua_type(lua, -2) != LUA_TSTRING) {
        problem = "named argument key given to redis.register_function is not a string";
      } else {
        const std::string key = lua_tostring(lua, -2);
        if (key == "function_name") {
          if (lua_type(lua, -1) != LUA_TSTRING) {
            problem = "function_name argument given to redis.register_function must be a string";
          } else {
            fn.info.name = lua_tostring(lua, -1);
            has_name = true;
          }
        } else if (key == "description") {
          if (lua_type(lua, -1) != LUA_TSTRING) {
            problem = "description argument given to redis.register_function must be a string";
          } else {
            fn.info.description = lua_tostring(lua, -1);
            fn.info.has_description = true;
          }
        } else if (key == "callback") {
          if (!lua_isfunction(lua, -1)) {
            problem = "callback argument given to redis.register_function must be a function";
          } else {
            if (fn.callback_ref != LUA_NOREF) luaL_unref(lua, LUA_REGISTRYINDEX, fn.callback_ref);
            lua_pushvalue(lua, -1);
            fn.callback_ref = luaL_ref(lua, LUA_REGISTRYINDEX);
          }
        } else if (key == "flags") {
          if (!lua_istable(lua, -1)) {
            problem =
                "flags argument to redis.register_function must be a table representing "
                "function flags";
          } else {
            for (int i = 1;; ++i) {
              lua_rawgeti(lua, -1, i);
              if (lua_isnil(lua, -1)) {
                lua_pop(lua, 1);
                break;
              }
              uint32_t flag = 0;
              const char* text = lua_type(lua, -1) == LUA_TSTRING ? lua_tostring(lua, -1) : "";
              lua_pop(lua, 1);
              if (!ParseFunctionFlag(text, &flag)) {
                problem = "unknown flag given";
                break;
              }
              fn.info.flags |= flag;
            }
          }
        } else {
          problem = "unknown argument given to redis.register_function";
        }
      }
      lua_pop(lua, 1);
    }
    if (problem) lua_pop(lua, 1);  // the key lua_next left
    if (!problem && !has_name)
      problem = "redis.register_function must get a function name argument";
    if (!problem && fn.callback_ref == LUA_NOREF) {
      problem = "redis.register_function must get a callback argument";
    }
  } else {
    if (lua_type(lua, 1) != LUA_TSTRING) {
      problem = "first argument to redis.register_function must be a string";
    } else if (!lua_isfunction(lua, 2)) {
      problem = "second argument to redis.register_function must be a function";
    } else {
      fn.info.name = lua_tostring(lua, 1);
      lua_pushvalue(lua, 2);
      fn.callback_ref = luaL_ref(lua, LUA_REGISTRYINDEX);
    }
  }
  // Redis 7.0 words this error for libraries, for function names too.
  if (!problem && !ValidName(fn.info.name)) {
    problem =
        "Library names can only contain letters, numbers, or underscores(_) and must be at least "
        "one character long";
  }
  if (!problem) {
    for (const PendingFunction& other : *pending_) {
      if (other.info.name == fn.info.name) problem = "Function already exists in the library";
    }
  }
  if (problem) {
    if (fn.callback_ref != LUA_NOREF) luaL_unref(lua, LUA_REGISTRYINDEX, fn.callback_ref);
    PushErrorTable(lua, problem);
    return true;
  }
  pending_->push_back(std::move(fn));
  return false;
}

bool LuaEngine::LoadLibrary(std::string_view code, std::vector<FunctionInfo>* functions,
                            std::string* error) {
  if (luaL_loadbuffer(lua_, code.data(), code.size(), "@user_function") != 0) {
    const char* msg = lua_tostring(lua_, -1);
    *error = std::string("Error compiling function: ") + (msg ? msg : "");
    lua_pop(lua_, 1);
    return false;
  }
  // The library runs in its own environment: globals read through to _G, and `redis` is the
  // load-time API (register_function, log) until the load is over, then the full one.
  lua_newtable(lua_);  // env
  lua_newtable(lua_);  // its metatable
  lua_pushvalue(lua_, LUA_GLOBALSINDEX);
  lua_setfield(lua_, -2, "__index");
  lua_setmetatable(lua_, -2);
  lua_newtable(lua_);  // the load-time redis
  lua_pushcfunction(lua_, &LuaEngine::LuaRegisterFunction);
  lua_setfield(lua_, -2, "register_function");
  lua_pushcfunction(lua_, &LuaEngine::LuaLog);
  lua_setfield(lua_, -2, "log");
  for (const char* level : {"LOG_DEBUG", "LOG_VERBOSE", "LOG_NOTICE", "LOG_WARNING"}) {
    lua_rawgeti(lua_, LUA_REGISTRYINDEX, redis_ref_);
    lua_getfield(lua_, -1, level);
    lua_setfield(lua_, -3, level);
    lua_pop(lua_, 1);
  }
  GuardTable(lua_, false);
  lua_setfield(lua_, -2, "redis");
  lua_pushvalue(lua_, -1);
  lua_setfenv(lua_, -3);  // env of the chunk; stack: chunk env
  lua_insert(lua_, -2);   // stack: env chunk
  std::vector<PendingFunction> pending;
  pending_ = &pending;
  lua_rawgeti(lua_, LUA_REGISTRYINDEX, err_handler_ref_);
  lua_insert(lua_, -2);  // env handler chunk
  const int rc = lua_pcall(lua_, 0, 0, -2);
  pending_ = nullptr;
  bool ok = rc == 0;
  if (!ok) {
    *error = "Error registering functions: " + ErrorMessage(lua_);
    lua_pop(lua_, 1);
  } else if (pending.empty()) {
    *error = "No functions registered";
    ok = false;
  }
  lua_pop(lua_, 1);  // the handler; env is on top
  if (ok) {
    lua_rawgeti(lua_, LUA_REGISTRYINDEX, redis_ref_);
    lua_setfield(lua_, -2, "redis");
  }
  lua_pop(lua_, 1);  // env
  if (!ok) {
    for (PendingFunction& fn : pending) luaL_unref(lua_, LUA_REGISTRYINDEX, fn.callback_ref);
    return false;
  }
  lua_rawgeti(lua_, LUA_REGISTRYINDEX, functions_ref_);
  for (PendingFunction& fn : pending) {
    lua_pushstring(lua_, fn.info.name.c_str());
    lua_rawgeti(lua_, LUA_REGISTRYINDEX, fn.callback_ref);
    lua_rawset(lua_, -3);
    luaL_unref(lua_, LUA_REGISTRYINDEX, fn.callback_ref);
    functions->push_back(fn.info);
    functions_[fn.info.name] = fn.info;
  }
  lua_pop(lua_, 1);
  return true;
}

void LuaEngine::ClearLibraries() {
  luaL_unref(lua_, LUA_REGISTRYINDEX, functions_ref_);
  lua_newtable(lua_);
  functions_ref_ = luaL_ref(lua_, LUA_REGISTRYINDEX);
  functions_.clear();
  lua_gc(lua_, LUA_GCCOLLECT, 0);
}

const FunctionInfo* LuaEngine::FindFunction(const std::string& name) const {
  auto it = functions_.find(name);
  return it == functions_.end() ? nullptr : &it->second;
}

void LuaEngine::RunFunction(const std::string& name, const std::vector<std::string_view>& keys,
                            const std::vector<std::string_view>& argv, ScriptHost& host,
                            protocol::ReplyWriter& out) {
  lua_rawgeti(lua_, LUA_REGISTRYINDEX, functions_ref_);
  lua_pushstring(lua_, name.c_str());
  lua_rawget(lua_, -2);
  lua_remove(lua_, -2);
  if (!lua_isfunction(lua_, -1)) {
    lua_pop(lua_, 1);
    out.Error("ERR Function not found");
    return;
  }
  PushStringArray(keys);
  PushStringArray(argv);
  Run(name, 2, host, out);
}

}  // namespace flightcache::server::scripting
