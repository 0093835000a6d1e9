// test_origin_process.h — the project's test origin (tests/tools/test_origin, from
// $TEST_ORIGIN_BIN) as a child process on a free port, with its control commands: GATE /
// RELEASE hold and release GET replies, HELD counts the held ones, COUNT key counts the
// fetches of a key. Shared by every integration test that reads through a Redis-protocol origin.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "tests/integration/server_process.h"

namespace flightcache::integration {

class TestOriginProcess {
 public:
  // Starts the test origin with extra_args (e.g. {"--delay-ms", "50"}) on fixed_port, or on a
  // free port when 0 (retrying a lost port race up to 5 times). Throws std::runtime_error
  // (with the origin's log) when it does not start.
  explicit TestOriginProcess(std::vector<std::string> extra_args = {}, int fixed_port = 0);

  // One command on a fresh connection (a control command must not queue behind held input).
  std::string Do(const std::vector<std::string>& args) const;
  // How many GETs of key reached the origin (its COUNT command). Fails the test on a bad reply.
  long long Count(const std::string& key) const;
  // Closes the gate: GET replies are held until Release(). Fails the test on a bad reply.
  void Gate() const;
  void Release() const;
  // Waits (bounded) until n GET replies are held behind the gate; fails the test otherwise.
  void WaitHeld(long long n) const;
  // Stops the origin (SIGTERM, SIGKILL after a bounded wait).
  void Kill() { process.reset(); }
  // redis://127.0.0.1:<port>
  std::string Url() const { return "redis://127.0.0.1:" + std::to_string(port); }

  int port = 0;
  std::unique_ptr<ChildProcess> process;
};

}  // namespace flightcache::integration
