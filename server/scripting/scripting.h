// scripting.h — what every worker shares for Lua: the script cache, the function libraries,
// each worker's engine, and the one running script (BUSY, SCRIPT KILL, FUNCTION KILL).
//
// Scripts and functions run one at a time server-wide (a mutex): a script is atomic
// against other scripts on any worker, and against plain commands through the shard locks of
// its declared keys, which dispatch takes before the script runs. A worker's engine mirrors the
// cache and libraries lazily, by version, on its own thread. Once a script has run past
// busy-reply-threshold, dispatch on every worker answers BUSY (AllowedWhileBusy lists the
// exceptions), and the running script's own worker answers its other clients from the count
// hook (Worker::ServeWhileScriptBusy), since its loop is held by the script.
#pragma once

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "server/scripting/lua_engine.h"

namespace flightcache::server {

class Server;
class Worker;
struct CommandSpec;
struct CommandContext;

struct FunctionLibrary {
  std::string name;
  std::string code;  // as loaded, shebang included
  std::vector<scripting::FunctionInfo> functions;
};

class Scripting {
 public:
  Scripting(Server* server, size_t workers);
  ~Scripting();

  // The engine of the calling worker, brought up to date with the script cache (flushed?) and
  // the libraries. On the worker's own thread only.
  scripting::LuaEngine& EngineFor(Worker& worker);

  // ---- the script cache, by SHA-1 ----
  void AddScript(const std::string& sha, std::string_view body);
  // The body of a cached script; false when there is none.
  bool FindScript(const std::string& sha, std::string* body);
  bool HasScript(const std::string& sha);
  void FlushScripts();
  size_t script_count();

  // ---- function libraries ----
  // Installs lib (its functions already found by a trial load). Returns "" or the error reply
  // ("ERR Library 'x' already exists", "ERR Function f already exists").
  std::string InstallLibrary(FunctionLibrary lib, bool replace);
  bool DeleteLibrary(const std::string& name);
  void FlushLibraries();
  std::vector<FunctionLibrary> Libraries();
  // FUNCTION RESTORE: policy "flush", "append" or "replace". Returns "" or the error reply;
  // changes nothing on error.
  std::string RestoreLibraries(std::vector<FunctionLibrary> libs, const std::string& policy);

  // ---- the running script ----
  // Takes the run slot for the command in ctx, waiting while another script runs. Returns
  // false, having written BUSY, when that other script is past busy-reply-threshold.
  bool BeginRun(CommandContext& ctx, bool is_function, std::string_view name);
  void EndRun();
  // Called by the count hook of the running script: marks it busy past the threshold (and
  // then serves the other clients of its worker); true when SCRIPT KILL asked it to stop.
  bool Interrupt(Worker& worker, uint64_t script_client_id);
  // The running script issued a write (SCRIPT KILL then answers UNKILLABLE).
  void MarkWrote() { wrote_.store(true, std::memory_order_relaxed); }
  // SCRIPT KILL (is_function false) / FUNCTION KILL: "" when the kill was requested, else the
  // error reply (NOTBUSY, UNKILLABLE).
  std::string Kill(bool is_function);
  bool busy() const { return busy_.load(std::memory_order_relaxed); }
  bool running() const { return running_.load(std::memory_order_relaxed); }
  std::string BusyError() const;
  // Whether cmd may run while a script is busy: SCRIPT KILL, FUNCTION KILL, FUNCTION
  // STATS, SHUTDOWN.
  static bool AllowedWhileBusy(const CommandSpec& cmd, const std::vector<std::string_view>& args);
  // FUNCTION STATS' running_script: false when no function runs.
  bool RunningFunction(std::string* name, std::vector<std::string>* command, int64_t* ms);

 private:
  bool FunctionOwnedElsewhere(const std::string& function, const std::string& library);

  Server* server_;
  std::vector<std::unique_ptr<scripting::LuaEngine>> engines_;  // by worker index

  std::mutex scripts_mutex_;
  std::unordered_map<std::string, std::string> scripts_;
  std::atomic<uint64_t> scripts_epoch_{1};

  std::mutex functions_mutex_;
  std::map<std::string, FunctionLibrary> libraries_;
  std::atomic<uint64_t> functions_version_{1};

  std::mutex run_mutex_;
  std::atomic<bool> running_{false};
  std::atomic<bool> running_function_{false};
  std::atomic<bool> busy_{false};
  std::atomic<bool> kill_{false};
  std::atomic<bool> wrote_{false};
  std::atomic<int64_t> started_us_{0};
  int64_t threshold_ms_ = 5000;  // of the running script, from its worker's config
  std::mutex running_info_mutex_;
  std::string running_name_;
  std::vector<std::string> running_command_;
  int64_t last_serve_us_ = 0;
};

}  // namespace flightcache::server
