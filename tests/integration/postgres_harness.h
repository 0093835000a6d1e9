// postgres_harness.h — a real PostgreSQL for integration tests: initdb into a temporary
// folder, postgres on 127.0.0.1 and a free port (run as the postgres user when the tests run
// as root), one per test run (PostgresServer::Get()), shared by every PostgreSQL test file
// (postgres_origin_test.cc, postgres_invalidation_test.cc), stopped when the tests end.
#pragma once

#include <doctest/doctest.h>
#include <glob.h>
#include <pwd.h>
#include <signal.h>
#include <sys/resource.h>
#include <unistd.h>

#include <memory>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "tests/integration/server_process.h"

namespace flightcache::integration {

// The folder of PostgreSQL's programs (initdb, postgres), e.g. /usr/lib/postgresql/15/bin.
inline std::string PostgresBinDir() {
  glob_t found{};
  std::string dir;
  if (glob("/usr/lib/postgresql/*/bin/initdb", 0, nullptr, &found) == 0 && found.gl_pathc > 0) {
    dir = found.gl_pathv[found.gl_pathc - 1];
    dir.resize(dir.size() - std::string("/initdb").size());
  }
  globfree(&found);
  if (dir.empty())
    throw std::runtime_error("PostgreSQL is not installed (apt-get install postgresql)");
  return dir;
}

// PostgreSQL refuses to run as root: as root, programs run as the postgres user.
inline std::pair<std::string, std::vector<std::string>> AsPostgres(const std::string& program,
                                                                   std::vector<std::string> args) {
  if (geteuid() != 0) return {program, std::move(args)};
  std::vector<std::string> wrapped = {"--reuid=postgres", "--regid=postgres", "--init-groups", "--",
                                      program};
  wrapped.insert(wrapped.end(), args.begin(), args.end());
  return {"/usr/bin/setpriv", wrapped};
}

// A PostgreSQL data folder (initdb) and its server on 127.0.0.1, which a test may kill and
// start again on the same port.
class PostgresServer {
 public:
  // One for the whole test run, started on first use.
  static PostgresServer& Get() {
    static PostgresServer instance;
    return instance;
  }
  PostgresServer() : bin_(PostgresBinDir()) {
    if (geteuid() == 0) {
      struct passwd* pw = getpwnam("postgres");
      if (pw == nullptr) throw std::runtime_error("no postgres user");
      if (chown(dir_.path().c_str(), pw->pw_uid, pw->pw_gid) != 0) {
        throw std::runtime_error("cannot chown the PostgreSQL folder");
      }
    }
    auto [initdb, init_args] = AsPostgres(
        bin_ + "/initdb", {"-D", Data(), "-U", "app", "--auth=trust", "-E", "UTF8", "--no-sync"});
    RunResult init = RunToExit(initdb, init_args, milliseconds(120000));
    if (init.exit_code != 0) throw std::runtime_error("initdb failed: " + init.output);
    for (int attempt = 0; attempt < 5; ++attempt) {
      port_ = FreeTcpPort();
      try {
        Start();
        return;
      } catch (const std::exception&) {
        if (attempt == 4) throw;
      }
    }
  }
  // Starts the server on port() (again, after Kill()).
  void Start() {
    auto [postgres, args] =
        AsPostgres(bin_ + "/postgres",
                   {"-D", Data(), "-p", std::to_string(port_), "-k", dir_.path(), "-c",
                    "listen_addresses=127.0.0.1", "-c", "fsync=off", "-c", "max_connections=200"});
    process_.reset();
    process_ = std::make_unique<ChildProcess>(
        SpawnOptions{postgres, args, {}, port_, "", milliseconds(60000), ""});
    // The postmaster accepts connections before it takes queries ("the database system is
    // starting up"): ready means a query answers.
    if (!WaitUntil([&] { return Value("SELECT 1") == "1"; }, milliseconds(60000))) {
      throw std::runtime_error("PostgreSQL accepts connections but answers no query: " +
                               process_->Log());
    }
  }
  // Immediate shutdown (SIGQUIT): every backend is ended at once, mid-query.
  void Kill() {
    REQUIRE(process_->Signal(SIGQUIT, milliseconds(30000)).has_value());
    process_.reset();
  }
  int port() const { return port_; }
  // The folder of the server's unix socket (-k).
  const std::string& SocketDir() const { return dir_.path(); }
  // The postmaster's pid (setpriv execs it, so it is the child's own).
  pid_t ServerPid() const { return process_->pid(); }
  std::string Url(const std::string& password = "") const {
    return "postgres://app" + (password.empty() ? "" : ":" + password) +
           "@127.0.0.1:" + std::to_string(port_) + "/postgres";
  }
  // The unaligned output of one query, e.g. "1".
  std::string Value(const std::string& sql) {
    RunResult run = RunToExit("/usr/bin/psql",
                              {"-X", "-q", "-t", "-A", "-h", "127.0.0.1", "-p",
                               std::to_string(port_), "-U", "app", "-d", "postgres", "-c", sql},
                              milliseconds(30000));
    while (!run.output.empty() && run.output.back() == '\n') run.output.pop_back();
    return run.output;
  }
  // Runs sql with psql; fails the test when psql fails.
  void Sql(const std::string& sql) {
    RunResult run = RunToExit("/usr/bin/psql",
                              {"-X", "-q", "-v", "ON_ERROR_STOP=1", "-h", "127.0.0.1", "-p",
                               std::to_string(port_), "-U", "app", "-d", "postgres", "-c", sql},
                              milliseconds(30000));
    INFO(sql, " -> ", run.output);
    REQUIRE(run.exit_code == 0);
  }

 private:
  std::string Data() const { return dir_.path() + "/data"; }

  std::string bin_;
  TempDir dir_;
  int port_ = 0;
  std::unique_ptr<ChildProcess> process_;
};

}  // namespace flightcache::integration
