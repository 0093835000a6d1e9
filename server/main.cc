// main.cc — start-up: options from an optional config file and CLI11 flags, then Run().
//
// Like redis-server, the first positional argument is a config file (redis.conf syntax).
// Every option is also a flag named like its directive (--port, --maxclients, ...); flags
// override the file. A bad value prints a message naming the option and exits with code 1.
#include <pthread.h>

#include <CLI/CLI.hpp>
#include <csignal>
#include <cstdio>
#include <map>
#include <string>
#include <vector>

#include "server/config.h"
#include "server/server.h"

int main(int argc, char** argv) {
  using flightcache::server::Config;
  using flightcache::server::ConfigOptions;
  // SIGINT and SIGTERM stay blocked from here on: one arriving during start-up waits, pending,
  // for the server's signal thread (Server::Run), which then stops the workers cleanly.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);
  std::signal(SIGPIPE, SIG_IGN);
  // As Redis: a hang-up (the terminal or ssh session that started us went away) is ignored.
  std::signal(SIGHUP, SIG_IGN);

  CLI::App app{"flightcache: a Redis-compatible read-through cache server"};
  app.set_version_flag("-v,--version", "flightcache 0.1.0 (redis_version 7.0.0 compatible)");
  std::string config_file;
  app.add_option("config-file", config_file, "redis.conf-style config file");
  std::map<std::string, std::string> flag_values;
  std::vector<std::string> route_flags;  // --route may be given many times
  for (const auto& opt : ConfigOptions()) {
    if (opt.name == "route") {
      app.add_option("--route", route_flags, opt.help)
          ->expected(1)
          ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
      continue;
    }
    app.add_option("--" + opt.name, flag_values[opt.name], opt.help);
  }
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    int code = app.exit(e);
    return code == 0 ? 0 : 1;
  }

  Config config;
  std::string error;
  if (!config_file.empty() && !flightcache::server::LoadConfigFile(config_file, config, &error)) {
    std::fprintf(stderr, "*** FATAL CONFIG FILE ERROR ***\n%s\n", error.c_str());
    return 1;
  }
  for (const auto& opt : ConfigOptions()) {
    if (app.get_option("--" + opt.name)->count() == 0) continue;
    // Routes from flags add to the file's; the message names the route (not its password).
    const std::vector<std::string> values =
        opt.name == "route" ? route_flags : std::vector<std::string>{flag_values[opt.name]};
    for (const std::string& value : values) {
      if (!opt.set(config, value, &error)) {
        const std::string shown = opt.name == "route" ? std::string("...") : value;
        std::fprintf(stderr, "*** FATAL CONFIG ERROR ***\nInvalid value for '--%s' ('%s'): %s\n",
                     opt.name.c_str(), shown.c_str(), error.c_str());
        return 1;
      }
    }
  }
  flightcache::server::Server server(std::move(config));
  return server.Run();
}
