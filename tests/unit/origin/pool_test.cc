// pool_test.cc — PooledOrigin (origin/pool.h) on a real uv loop with a scripted kind: the test
// decides when each open and each request completes, so nothing depends on the machine's speed
// (deadlines are short uv timers the loop waits for). Covers deferred delivery, growth on
// demand up to the maximum, the FIFO queue, deadlines that count queue time, a timed-out
// connection held back until its late reply, dropping on timeout, backoff and Close().
// Every test closes the origin and asserts uv_loop_close() == 0.
#include "origin/pool.h"

#include <doctest/doctest.h>

#include <memory>
#include <string>
#include <vector>

#include "origin/origin_test_util.h"

namespace flightcache::origin {
namespace {

using testing::Outcome;
using testing::StartFetch;
using testing::TestLoop;

// A kind whose opens and requests complete only when the test says so.
class ScriptedPool final : public PooledOrigin {
 public:
  ScriptedPool(uv_loop_t* loop, int max_connections, int timeout_ms, bool drop = false)
      : PooledOrigin(loop, max_connections, timeout_ms), drop_(drop) {}
  ~ScriptedPool() override { Close(); }
  std::string Describe() const override { return "scripted"; }

  void Open(size_t i, bool ok) { ConnectDone(opens[i], ok, ok ? "" : "refused"); }
  void Answer(size_t send, FetchResult result) { ReplyDone(sends[send].ref, std::move(result)); }

  struct Sent {
    ConnRef ref;
    std::string key;
    std::vector<std::string> params;
  };
  std::vector<ConnRef> opens;
  std::vector<Sent> sends;
  std::vector<int> cancels;  // connection indexes
  std::vector<int> closes;
  int reports_inside_calls = 0;

 private:
  void OpenConnection(ConnRef ref) override { opens.push_back(ref); }
  void SendRequest(ConnRef ref, const Request& request) override {
    sends.push_back(Sent{ref, request.key, request.params});
  }
  void CancelRequest(ConnRef ref) override { cancels.push_back(ref.index); }
  void CloseConnection(ConnRef ref) override { closes.push_back(ref.index); }
  bool DropOnTimeout() const override { return drop_; }
  bool drop_;
};

TEST_CASE("callbacks never run inside Fetch or inside a kind's report") {
  TestLoop loop;
  auto pool = std::make_unique<ScriptedPool>(loop.get(), 2, 5000);
  auto first = StartFetch(*pool, "a");
  CHECK(first->calls == 0);
  REQUIRE(pool->opens.size() == 1);
  pool->Open(0, true);
  REQUIRE(pool->sends.size() == 1);
  CHECK(pool->sends[0].key == "a");
  pool->Answer(0, FetchResult::Value("va"));
  CHECK(first->calls == 0);  // delivered on a later loop turn
  REQUIRE(loop.Wait(first));
  CHECK(first->result.value == "va");
  pool->Close();
  CHECK(loop.Finish() == 0);
}

TEST_CASE(
    "the pool grows one connection per waiting fetch up to its maximum; the rest queue FIFO") {
  TestLoop loop;
  auto pool = std::make_unique<ScriptedPool>(loop.get(), 3, 5000);
  std::vector<std::shared_ptr<Outcome>> outcomes;
  for (int i = 0; i < 6; ++i) outcomes.push_back(StartFetch(*pool, "k" + std::to_string(i)));
  CHECK(pool->opens.size() == 3);  // never past the maximum
  CHECK(pool->Load().queued == 6);
  CHECK(pool->Load().queue_peak == 6);
  for (size_t i = 0; i < 3; ++i) pool->Open(i, true);
  REQUIRE(pool->sends.size() == 3);
  CHECK(pool->sends[0].key == "k0");
  CHECK(pool->sends[1].key == "k1");
  CHECK(pool->sends[2].key == "k2");
  CHECK(pool->Load().queued == 3);
  // Each answer frees its connection for the oldest queued fetch.
  pool->Answer(1, FetchResult::Value("v1"));
  REQUIRE(pool->sends.size() == 4);
  CHECK(pool->sends[3].key == "k3");
  CHECK(pool->sends[3].ref.index == pool->sends[1].ref.index);
  pool->Answer(0, FetchResult::NotFound());
  pool->Answer(2, FetchResult::Value("v2"));
  pool->Answer(3, FetchResult::Value("v3"));
  REQUIRE(pool->sends.size() == 6);
  pool->Answer(4, FetchResult::Value("v4"));
  pool->Answer(5, FetchResult::Value("v5"));
  REQUIRE(loop.RunUntil([&] { return outcomes[5]->calls == 1; }, 5000));
  CHECK(outcomes[0]->result.status == FetchStatus::kNotFound);
  CHECK(outcomes[4]->result.value == "v4");
  CHECK(pool->ConnectedCount() == 3);
  CHECK(pool->Stats().connects == 3);
  pool->Close();
  CHECK(pool->closes.size() == 3);
  CHECK(loop.Finish() == 0);
}

TEST_CASE("a fetch's deadline covers its time in the queue") {
  TestLoop loop;
  auto pool = std::make_unique<ScriptedPool>(loop.get(), 1, 30);
  auto busy = StartFetch(*pool, "busy");
  pool->Open(0, true);
  auto queued = StartFetch(*pool, "queued");
  REQUIRE(loop.RunUntil([&] { return queued->calls == 1; }, 5000));
  CHECK(queued->result.error_kind == FetchErrorKind::kTimeout);
  CHECK(queued->result.error == "origin timeout after 30 ms");
  CHECK(pool->sends.size() == 1);  // it never reached a connection
  REQUIRE(loop.Wait(busy));
  pool->Close();
  CHECK(loop.Finish() == 0);
}

TEST_CASE("a connection whose fetch timed out takes no other key until its late reply") {
  TestLoop loop;
  auto pool = std::make_unique<ScriptedPool>(loop.get(), 1, 30);
  auto slow = StartFetch(*pool, "slow");
  pool->Open(0, true);
  REQUIRE(loop.Wait(slow));
  CHECK(slow->result.error_kind == FetchErrorKind::kTimeout);
  CHECK(pool->cancels.size() == 1);
  pool->SetTimeoutMs(5000);
  auto next = StartFetch(*pool, "next");
  loop.RunFor(20);
  CHECK(pool->sends.size() == 1);  // held back: the connection still owes "slow" its reply
  CHECK(pool->opens.size() == 1);  // and the pool may not grow past its maximum of 1
  pool->Answer(0, FetchResult::Value("late value for slow"));
  REQUIRE(pool->sends.size() == 2);
  CHECK(pool->sends[1].key == "next");
  CHECK(pool->Stats().late_replies == 1);
  pool->Answer(1, FetchResult::Value("vnext"));
  REQUIRE(loop.Wait(next));
  CHECK(next->result.value == "vnext");  // never the late value
  CHECK(slow->calls == 1);
  pool->Close();
  CHECK(loop.Finish() == 0);
}

TEST_CASE("a kind that drops on timeout gets the connection closed and a fresh one opened") {
  TestLoop loop;
  auto pool = std::make_unique<ScriptedPool>(loop.get(), 1, 30, /*drop=*/true);
  auto slow = StartFetch(*pool, "slow");
  pool->Open(0, true);
  REQUIRE(loop.Wait(slow));
  CHECK(pool->closes.size() == 1);
  CHECK(pool->Stats().timeout_drops == 1);
  auto next = StartFetch(*pool, "next");
  REQUIRE(pool->opens.size() == 2);
  pool->Answer(0, FetchResult::Value("stale"));  // the dropped connection's report: ignored
  CHECK(pool->Stats().late_replies == 0);
  pool->Open(1, true);
  REQUIRE(pool->sends.size() == 2);
  pool->Answer(1, FetchResult::Value("vnext"));
  REQUIRE(loop.Wait(next));
  CHECK(next->result.value == "vnext");
  pool->Close();
  CHECK(loop.Finish() == 0);
}

TEST_CASE("a kind that drops on timeout has an open that never completes abandoned") {
  TestLoop loop;
  auto pool = std::make_unique<ScriptedPool>(loop.get(), 1, 30, /*drop=*/true);
  auto first = StartFetch(*pool, "a");
  REQUIRE(pool->opens.size() == 1);
  REQUIRE(loop.Wait(first));
  CHECK(first->result.error_kind == FetchErrorKind::kTimeout);
  // Fetches keep timing out; once the open is older than the 1 s connect limit, a deadline
  // closes it as a failed attempt and a fresh open is tried.
  REQUIRE(loop.RunUntil(
      [&] {
        if (!pool->closes.empty()) return true;
        StartFetch(*pool, "again");
        return false;
      },
      10000));
  CHECK(pool->Stats().connect_failures == 1);
  CHECK(pool->closes[0] == pool->opens[0].index);
  pool->Open(0, true);  // the abandoned open's late report is ignored
  CHECK(pool->Stats().connects == 0);
  pool->Close();
  CHECK(loop.Finish() == 0);
}

TEST_CASE("a failed open fails the queue when nothing is up, and fetches fail fast in backoff") {
  TestLoop loop;
  auto pool = std::make_unique<ScriptedPool>(loop.get(), 2, 5000);
  auto a = StartFetch(*pool, "a");
  auto b = StartFetch(*pool, "b");
  REQUIRE(pool->opens.size() == 2);
  pool->Open(0, false);
  CHECK(a->calls == 0);  // the other open may still succeed
  pool->Open(1, false);
  REQUIRE(loop.RunUntil([&] { return a->calls == 1 && b->calls == 1; }, 5000));
  CHECK(a->result.error == "origin unreachable: refused");
  auto fast = StartFetch(*pool, "c");  // within the 50 ms backoff
  REQUIRE(loop.Wait(fast));
  CHECK(fast->result.error_kind == FetchErrorKind::kUnreachable);
  CHECK(pool->opens.size() == 2);
  // After the backoff an open is tried again, and it serves.
  REQUIRE(loop.RunUntil(
      [&] {
        if (pool->opens.size() == 2) {
          auto probe = StartFetch(*pool, "d");
          return pool->opens.size() == 3;
        }
        return true;
      },
      5000));
  pool->Open(2, true);
  REQUIRE(pool->sends.size() == 1);
  CHECK(pool->sends[0].key == "d");
  pool->Close();
  CHECK(loop.Finish() == 0);
}

TEST_CASE("Close answers every pending fetch; a busy connection closes when its report comes") {
  TestLoop loop;
  auto pool = std::make_unique<ScriptedPool>(loop.get(), 1, 5000);
  auto busy = StartFetch(*pool, "busy");
  pool->Open(0, true);
  auto queued = StartFetch(*pool, "queued");
  pool->Close();
  CHECK(pool->closes.empty());
  REQUIRE(loop.RunUntil([&] { return busy->calls == 1 && queued->calls == 1; }, 5000));
  CHECK(busy->result.error == "origin unreachable: origin closed");
  pool->Answer(0, FetchResult::Value("after close"));
  CHECK(pool->closes.size() == 1);
  CHECK(busy->calls == 1);
  auto after = StartFetch(*pool, "after");
  REQUIRE(loop.Wait(after));
  CHECK(after->result.error_kind == FetchErrorKind::kUnreachable);
  pool.reset();
  CHECK(loop.Finish() == 0);
}

TEST_CASE("max_inflight caps the requests out, and a full max_queue refuses with origin busy") {
  TestLoop loop;
  auto pool = std::make_unique<ScriptedPool>(loop.get(), 4, 5000);
  pool->SetLimits(2, 1);
  std::vector<std::shared_ptr<Outcome>> outcomes;
  for (int i = 0; i < 4; ++i) outcomes.push_back(StartFetch(*pool, "k" + std::to_string(i)));
  CHECK(pool->opens.size() == 2);  // no connection beyond what the limit can use
  REQUIRE(loop.RunUntil([&] { return outcomes[3]->calls == 1; }, 5000));
  CHECK(outcomes[3]->result.error_kind == FetchErrorKind::kBusy);
  CHECK(outcomes[3]->result.error == "origin busy");
  CHECK(pool->Stats().busy == 1);
  for (size_t i = 0; i < 2; ++i) pool->Open(i, true);
  REQUIRE(pool->sends.size() == 2);  // k2 waits though the pool could grow
  pool->Answer(0, FetchResult::Value("v0"));
  REQUIRE(pool->sends.size() == 3);
  CHECK(pool->sends[2].key == "k2");
  // A higher limit lets waiting fetches go at once.
  auto more = StartFetch(*pool, "k4");
  CHECK(pool->sends.size() == 3);
  pool->SetLimits(0, 0);
  REQUIRE(pool->opens.size() == 3);
  pool->Open(2, true);
  CHECK(pool->sends.size() == 4);
  pool->Answer(1, FetchResult::Value("v1"));
  pool->Answer(2, FetchResult::Value("v2"));
  pool->Answer(3, FetchResult::Value("v4"));
  REQUIRE(loop.Wait(more));
  CHECK(more->result.value == "v4");
  pool->Close();
  CHECK(loop.Finish() == 0);
}

}  // namespace
}  // namespace flightcache::origin
