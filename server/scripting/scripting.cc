// scripting.cc — the shared script cache, libraries, engines and the running script (see
// scripting.h).
#include "server/scripting/scripting.h"

#include <chrono>
#include <thread>

#include "server/clock.h"
#include "server/command_table.h"
#include "server/command_util.h"
#include "server/connection.h"
#include "server/server.h"
#include "server/worker.h"

namespace flightcache::server {
namespace {

// How often a busy script's own worker reads its other clients (from the count hook).
constexpr int64_t kServeEveryUs = 1000;

LogLevel LevelOf(int lua_level) {
  switch (lua_level) {
    case 0:
      return LogLevel::kDebug;
    case 1:
      return LogLevel::kVerbose;
    case 2:
      return LogLevel::kNotice;
    default:
      return LogLevel::kWarning;
  }
}

}  // namespace

Scripting::Scripting(Server* server, size_t workers) : server_(server), engines_(workers) {}

Scripting::~Scripting() = default;

scripting::LuaEngine& Scripting::EngineFor(Worker& worker) {
  std::unique_ptr<scripting::LuaEngine>& slot = engines_[worker.index()];
  if (!slot) {
    Server* server = server_;
    slot = std::make_unique<scripting::LuaEngine>(
        [server](int level, const std::string& message) { server->Log(LevelOf(level), message); });
  }
  scripting::LuaEngine& engine = *slot;
  const uint64_t epoch = scripts_epoch_.load(std::memory_order_acquire);
  if (engine.scripts_epoch != epoch) {
    if (engine.scripts_epoch != 0) engine.ResetScripts();
    engine.scripts_epoch = epoch;
  }
  const uint64_t version = functions_version_.load(std::memory_order_acquire);
  if (engine.functions_version != version) {
    std::vector<FunctionLibrary> libs;
    {
      std::lock_guard<std::mutex> hold(functions_mutex_);
      for (const auto& [name, lib] : libraries_) libs.push_back(lib);
      engine.functions_version = functions_version_.load(std::memory_order_relaxed);
    }
    engine.ClearLibraries();
    for (const FunctionLibrary& lib : libs) {
      std::vector<scripting::FunctionInfo> ignored;
      std::string error;
      const size_t nl = lib.code.find('\n');
      engine.LoadLibrary(nl == std::string::npos ? "" : std::string_view(lib.code).substr(nl),
                         &ignored, &error);
    }
  }
  return engine;
}

// ---- the script cache ----

void Scripting::AddScript(const std::string& sha, std::string_view body) {
  std::lock_guard<std::mutex> hold(scripts_mutex_);
  scripts_.try_emplace(sha, body);
}

bool Scripting::FindScript(const std::string& sha, std::string* body) {
  std::lock_guard<std::mutex> hold(scripts_mutex_);
  auto it = scripts_.find(sha);
  if (it == scripts_.end()) return false;
  *body = it->second;
  return true;
}

bool Scripting::HasScript(const std::string& sha) {
  std::lock_guard<std::mutex> hold(scripts_mutex_);
  return scripts_.count(sha) != 0;
}

void Scripting::FlushScripts() {
  std::lock_guard<std::mutex> hold(scripts_mutex_);
  scripts_.clear();
  scripts_epoch_.fetch_add(1, std::memory_order_acq_rel);
}

size_t Scripting::script_count() {
  std::lock_guard<std::mutex> hold(scripts_mutex_);
  return scripts_.size();
}

// ---- libraries ----

bool Scripting::FunctionOwnedElsewhere(const std::string& function, const std::string& library) {
  for (const auto& [name, lib] : libraries_) {
    if (name == library) continue;
    for (const scripting::FunctionInfo& f : lib.functions) {
      if (f.name == function) return true;
    }
  }
  return false;
}

std::string Scripting::InstallLibrary(FunctionLibrary lib, bool replace) {
  std::lock_guard<std::mutex> hold(functions_mutex_);
  if (!replace && libraries_.count(lib.name)) {
    return "ERR Library '" + lib.name + "' already exists";
  }
  for (const scripting::FunctionInfo& f : lib.functions) {
    if (FunctionOwnedElsewhere(f.name, lib.name))
      return "ERR Function " + f.name + " already exists";
  }
  const std::string name = lib.name;
  libraries_[name] = std::move(lib);
  functions_version_.fetch_add(1, std::memory_order_acq_rel);
  return "";
}

bool Scripting::DeleteLibrary(const std::string& name) {
  std::lock_guard<std::mutex> hold(functions_mutex_);
  if (libraries_.erase(name) == 0) return false;
  functions_version_.fetch_add(1, std::memory_order_acq_rel);
  return true;
}

void Scripting::FlushLibraries() {
  std::lock_guard<std::mutex> hold(functions_mutex_);
  libraries_.clear();
  functions_version_.fetch_add(1, std::memory_order_acq_rel);
}

std::vector<FunctionLibrary> Scripting::Libraries() {
  std::lock_guard<std::mutex> hold(functions_mutex_);
  std::vector<FunctionLibrary> out;
  for (const auto& [name, lib] : libraries_) out.push_back(lib);
  return out;
}

std::string Scripting::RestoreLibraries(std::vector<FunctionLibrary> libs,
                                        const std::string& policy) {
  std::lock_guard<std::mutex> hold(functions_mutex_);
  std::map<std::string, FunctionLibrary> next;
  if (policy != "flush") next = libraries_;
  for (FunctionLibrary& lib : libs) {
    if (policy == "append" && next.count(lib.name)) {
      return "ERR Library " + lib.name + " already exists";
    }
    next[lib.name] = std::move(lib);
  }
  // Every function name once over all libraries.
  std::map<std::string, std::string> owner;
  for (const auto& [name, lib] : next) {
    for (const scripting::FunctionInfo& f : lib.functions) {
      if (!owner.emplace(f.name, name).second) return "ERR Function " + f.name + " already exists";
    }
  }
  libraries_ = std::move(next);
  functions_version_.fetch_add(1, std::memory_order_acq_rel);
  return "";
}

// ---- the running script ----

std::string Scripting::BusyError() const {
  return running_function_.load(std::memory_order_relaxed)
             ? "BUSY Redis is busy running a script. You can only call FUNCTION KILL or SHUTDOWN "
               "NOSAVE."
             : "BUSY Redis is busy running a script. You can only call SCRIPT KILL or SHUTDOWN "
               "NOSAVE.";
}

bool Scripting::AllowedWhileBusy(const CommandSpec& cmd,
                                 const std::vector<std::string_view>& args) {
  if (cmd.name == "shutdown") return true;
  if ((cmd.name == "script" || cmd.name == "function") && args.size() == 2) {
    return EqualsIgnoreCase(args[1], "kill") ||
           (cmd.name == "function" && EqualsIgnoreCase(args[1], "stats"));
  }
  return false;
}

bool Scripting::BeginRun(CommandContext& ctx, bool is_function, std::string_view name) {
  // A plain mutex polled (not a timed one: sanitizers do not follow pthread_mutex_clocklock).
  // Scripts are short as a rule, so yield first; a long one is waited on in 100 us naps.
  for (int attempt = 0; !run_mutex_.try_lock(); ++attempt) {
    if (busy()) {
      ctx.reply.Error(BusyError());
      return false;
    }
    if (attempt < 64) {
      std::this_thread::yield();
    } else {
      std::this_thread::sleep_for(std::chrono::microseconds(100));
    }
  }
  threshold_ms_ = ctx.worker.config().busy_reply_threshold_ms;
  kill_.store(false, std::memory_order_relaxed);
  wrote_.store(false, std::memory_order_relaxed);
  busy_.store(false, std::memory_order_relaxed);
  running_function_.store(is_function, std::memory_order_relaxed);
  started_us_.store(MonotonicMicros(), std::memory_order_relaxed);
  last_serve_us_ = 0;
  if (is_function) {
    std::lock_guard<std::mutex> hold(running_info_mutex_);
    running_name_.assign(name);
    running_command_.assign(ctx.args.begin(), ctx.args.end());
  }
  running_.store(true, std::memory_order_release);
  return true;
}

void Scripting::EndRun() {
  running_.store(false, std::memory_order_release);
  if (busy_.exchange(false, std::memory_order_relaxed)) {
    server_->Log(LogLevel::kWarning, "Slow script finished.");
  }
  running_function_.store(false, std::memory_order_relaxed);
  run_mutex_.unlock();
}

bool Scripting::Interrupt(Worker& worker, uint64_t script_client_id) {
  const int64_t now = MonotonicMicros();
  const int64_t elapsed_ms = (now - started_us_.load(std::memory_order_relaxed)) / 1000;
  if (elapsed_ms < threshold_ms_) return false;
  if (!busy_.exchange(true, std::memory_order_relaxed)) {
    server_->Log(LogLevel::kWarning,
                 "Slow script detected: still in execution after " + std::to_string(elapsed_ms) +
                     " milliseconds. You can try killing the script using the " +
                     (running_function_.load() ? "FUNCTION" : "SCRIPT") + " KILL command.");
  }
  if (now - last_serve_us_ >= kServeEveryUs) {
    last_serve_us_ = now;
    worker.ServeWhileScriptBusy(script_client_id);
  }
  return kill_.load(std::memory_order_relaxed);
}

std::string Scripting::Kill(bool is_function) {
  if (!running_.load(std::memory_order_acquire) ||
      running_function_.load(std::memory_order_relaxed) != is_function) {
    return "NOTBUSY No scripts in execution right now.";
  }
  if (wrote_.load(std::memory_order_relaxed)) {
    return "UNKILLABLE Sorry the script already executed write commands against the dataset. You "
           "can either wait the script termination or kill the server in a hard way using the "
           "SHUTDOWN NOSAVE command.";
  }
  kill_.store(true, std::memory_order_relaxed);
  return "";
}

bool Scripting::RunningFunction(std::string* name, std::vector<std::string>* command, int64_t* ms) {
  if (!running_.load(std::memory_order_acquire) || !running_function_.load()) return false;
  std::lock_guard<std::mutex> hold(running_info_mutex_);
  *name = running_name_;
  *command = running_command_;
  *ms = (MonotonicMicros() - started_us_.load(std::memory_order_relaxed)) / 1000;
  return true;
}

}  // namespace flightcache::server
