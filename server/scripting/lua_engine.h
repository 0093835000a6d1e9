// lua_engine.h — one Lua 5.1 state: EVAL scripts, function libraries, and the `redis` API.
//
// Each worker owns one engine (server/scripting/scripting.h); nothing here is shared between
// threads. The engine knows nothing of commands or connections: redis.call and redis.pcall go
// to a ScriptHost, which runs the command and hands back its RESP reply (lua_resp.h converts
// it). Scripts are compiled under the chunk name "@user_script", libraries under
// "@user_function", and their errors are formatted as Redis 7.0 formats them. A count hook
// (every 100000 instructions) asks the host whether to stop (SCRIPT KILL / FUNCTION KILL).
#pragma once

#include <cstdint>
#include <functional>
#include <lua.hpp>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "protocol/reply_writer.h"

namespace flightcache::server::scripting {

// What a running script asks of the server.
struct ScriptHost {
  void* ctx = nullptr;
  // Runs one redis.call / redis.pcall. On success puts the command's RESP reply in *reply
  // (RESP3 when resp is 3) and returns true, even when that reply is an error; returns false
  // with the refusal in *error ("message" or "-CODE message") when it did not run.
  bool (*call)(void* ctx, const std::vector<std::string_view>& args, int resp, std::string* reply,
               std::string* error) = nullptr;
  // From the count hook: true when the script must stop now.
  bool (*interrupt)(void* ctx) = nullptr;
};

// Function flags (redis.register_function's `flags`, and an EVAL script's shebang flags).
enum FunctionFlag : uint32_t {
  kFnNoWrites = 1 << 0,
  kFnAllowOom = 1 << 1,
  kFnAllowStale = 1 << 2,
  kFnNoCluster = 1 << 3,
  kFnAllowCrossSlot = 1 << 4,
};
// The flag named name ("no-writes"...); false when there is none.
bool ParseFunctionFlag(std::string_view name, uint32_t* flag);
std::vector<std::string> FunctionFlagNames(uint32_t flags);

struct FunctionInfo {
  std::string name;
  std::string description;
  bool has_description = false;
  uint32_t flags = 0;
};

class LuaEngine {
 public:
  using Logger = std::function<void(int level, const std::string& message)>;
  explicit LuaEngine(Logger logger = nullptr);
  ~LuaEngine();
  LuaEngine(const LuaEngine&) = delete;
  LuaEngine& operator=(const LuaEngine&) = delete;

  // Whether the Debian lua-cjson module could be loaded (then `cjson` is a global).
  static bool CjsonAvailable();

  // ---- EVAL scripts, by their SHA-1 ----
  bool HasScript(const std::string& sha) const { return scripts_.count(sha) != 0; }
  // Compiles body as the script sha. False with *error ("Error compiling script (new
  // function): user_script:1: ...") when it does not compile.
  bool CompileScript(const std::string& sha, std::string_view body, std::string* error);
  // The flags of a compiled script's shebang (the caller parses them), 0 when none or unknown.
  void SetScriptFlags(const std::string& sha, uint32_t flags) { scripts_[sha] = flags; }
  uint32_t ScriptFlags(const std::string& sha) const {
    auto it = scripts_.find(sha);
    return it == scripts_.end() ? 0 : it->second;
  }
  // Forgets every compiled script (SCRIPT FLUSH).
  void ResetScripts();
  // Runs a compiled script with KEYS and ARGV set, writing its reply (or its error, formatted
  // as Redis does) to out.
  void RunScript(const std::string& sha, const std::vector<std::string_view>& keys,
                 const std::vector<std::string_view>& argv, ScriptHost& host,
                 protocol::ReplyWriter& out);

  // ---- function libraries ----
  // Runs a library's code (its shebang line blanked) with redis.register_function, and keeps
  // the functions it registers. Fills *functions; false with *error (nothing kept) when the
  // code does not compile, fails, registers nothing, or registers a name twice.
  bool LoadLibrary(std::string_view code, std::vector<FunctionInfo>* functions, std::string* error);
  void ClearLibraries();
  const FunctionInfo* FindFunction(const std::string& name) const;
  // Runs a loaded function as callback(keys, args).
  void RunFunction(const std::string& name, const std::vector<std::string_view>& keys,
                   const std::vector<std::string_view>& argv, ScriptHost& host,
                   protocol::ReplyWriter& out);

  // Bytes the Lua state holds (INFO used_memory_lua).
  size_t memory() const { return memory_; }

  // What server-wide versions this engine mirrors (kept by Scripting).
  uint64_t scripts_epoch = 0;
  uint64_t functions_version = 0;

 private:
  struct PendingFunction {
    FunctionInfo info;
    int callback_ref;
  };
  static void* Allocate(void* self, void* ptr, size_t old_size, size_t new_size);
  static void CountHook(lua_State* lua, lua_Debug* debug);
  static int LuaCall(lua_State* lua);
  static int LuaPcall(lua_State* lua);
  static int LuaLog(lua_State* lua);
  static int LuaSetResp(lua_State* lua);
  static int LuaRegisterFunction(lua_State* lua);
  static LuaEngine* Self(lua_State* lua);
  // The body of redis.call/pcall. Pushes the result; returns true when it is an error that
  // redis.call raises. Keeps no C++ object alive across a Lua error (lua_error longjmps).
  bool CallInner(lua_State* lua);
  bool LogInner(lua_State* lua);
  bool RegisterInner(lua_State* lua);
  void OpenLibraries();
  void InstallRedisTable();
  // Runs the function under its nargs arguments at the top of the stack; writes the reply.
  void Run(std::string_view funcname, int nargs, ScriptHost& host, protocol::ReplyWriter& out);
  void WriteError(std::string_view funcname, protocol::ReplyWriter& out);
  void PushStringArray(const std::vector<std::string_view>& items);

  lua_State* lua_ = nullptr;
  size_t memory_ = 0;
  Logger logger_;
  ScriptHost* host_ = nullptr;  // set while a script or function runs
  int resp_ = 2;                // redis.setresp of the running script
  bool killing_ = false;        // the hook raised the kill error: raise it again at every line
  int err_handler_ref_ = LUA_NOREF;
  int scripts_ref_ = LUA_NOREF;    // registry table: sha -> compiled script
  int functions_ref_ = LUA_NOREF;  // registry table: function name -> callback
  int redis_ref_ = LUA_NOREF;      // the full `redis` table, given to libraries after loading
  std::unordered_map<std::string, uint32_t> scripts_;  // sha -> shebang flags
  std::unordered_map<std::string, FunctionInfo> functions_;
  std::vector<PendingFunction>* pending_ = nullptr;  // while a library loads
  unsigned runs_since_gc_ = 0;
  // redis.call's scratch space, reused between calls.
  std::vector<std::string_view> call_args_;
  std::vector<std::string> number_texts_;
  std::string call_reply_;
  std::string call_error_;
};

}  // namespace flightcache::server::scripting
