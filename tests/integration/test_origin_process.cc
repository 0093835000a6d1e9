// test_origin_process.cc — TestOriginProcess: start-up with port retries and the control
// commands of tests/tools/test_origin.
#include "tests/integration/test_origin_process.h"

#include <doctest/doctest.h>

#include <stdexcept>
#include <utility>

namespace flightcache::integration {

TestOriginProcess::TestOriginProcess(std::vector<std::string> extra_args, int fixed_port) {
  for (int attempt = 0;; ++attempt) {
    port = fixed_port ? fixed_port : FreeTcpPort();
    std::vector<std::string> args = {"--port", std::to_string(port)};
    args.insert(args.end(), extra_args.begin(), extra_args.end());
    try {
      process = std::make_unique<ChildProcess>(
          SpawnOptions{RequiredEnv("TEST_ORIGIN_BIN"), std::move(args), {}, port});
      return;
    } catch (const std::exception&) {
      if (fixed_port || attempt == 4) throw;
    }
  }
}

std::string TestOriginProcess::Do(const std::vector<std::string>& args) const {
  ContextPtr c = Connect(port);
  return integration::Do(c, args);
}

long long TestOriginProcess::Count(const std::string& key) const {
  ContextPtr c = Connect(port);
  ReplyPtr r = Command(c.get(), {"COUNT", key});
  REQUIRE(r);
  REQUIRE(r->type == REDIS_REPLY_INTEGER);
  return r->integer;
}

void TestOriginProcess::Gate() const { REQUIRE(Do({"GATE"}) == "+OK"); }

void TestOriginProcess::Release() const { REQUIRE(Do({"RELEASE"}) == "+OK"); }

void TestOriginProcess::WaitHeld(long long n) const {
  std::string held;
  const bool reached = WaitUntil([&] { return (held = Do({"HELD"})) == ":" + std::to_string(n); });
  CAPTURE(held);
  REQUIRE(reached);
}

}  // namespace flightcache::integration
