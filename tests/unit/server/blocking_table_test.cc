// blocking_table_test.cc — the shared table of blocked clients: FIFO per key, removal by token
// and by connection, serve-if-still-waiting, and the blocked count.
#include "server/blocking_table.h"

#include <doctest/doctest.h>

#include <memory>
#include <string>
#include <vector>

namespace flightcache::server {
namespace {

std::shared_ptr<BlockedClient> Waiter(BlockingTable& table, uint64_t conn_id,
                                      std::vector<std::string> keys) {
  auto c = std::make_shared<BlockedClient>();
  c->worker = static_cast<uint32_t>(conn_id % 2);
  c->conn_id = conn_id;
  c->token = table.NextToken();
  c->keys = std::move(keys);
  return c;
}

}  // namespace

TEST_CASE("blocked clients wait per key in the order they blocked") {
  BlockingTable table;
  auto a = Waiter(table, 1, {"k"});
  auto b = Waiter(table, 2, {"j", "k"});
  table.Block(a);
  table.Block(b);
  CHECK(table.blocked() == 2);
  CHECK(table.Front(0, "k") == a);
  CHECK(table.Front(0, "j") == b);
  CHECK(table.HasWaiters(0, "k"));
  CHECK_FALSE(table.HasWaiters(0, "x"));
  CHECK(table.Remove(a->token));
  CHECK_FALSE(table.Remove(a->token));  // already gone: whoever removed it answers it
  CHECK(table.Front(0, "k") == b);
  CHECK(table.blocked() == 1);
  CHECK(table.RemoveClient(2) == b);  // out of both of its keys
  CHECK_FALSE(table.HasWaiters(0, "j"));
  CHECK_FALSE(table.HasWaiters(0, "k"));
  CHECK(table.blocked() == 0);
  CHECK(table.RemoveClient(2) == nullptr);
}

TEST_CASE("a key named twice is waited on once") {
  BlockingTable table;
  auto a = Waiter(table, 1, {"k", "k"});
  table.Block(a);
  CHECK(table.Remove(a->token));
  CHECK_FALSE(table.HasWaiters(0, "k"));
}

TEST_CASE("ServeIfWaiting removes a client only when the serve popped for it") {
  BlockingTable table;
  auto a = Waiter(table, 1, {"k"});
  table.Block(a);
  bool served = true;
  CHECK(table.ServeIfWaiting(
      a->token, [] { return false; }, &served));
  CHECK_FALSE(served);
  CHECK(table.Front(0, "k") == a);  // found the key empty: still blocked, still first
  CHECK(table.ServeIfWaiting(
      a->token, [] { return true; }, &served));
  CHECK(served);
  CHECK(table.blocked() == 0);
  bool ran = false;
  CHECK_FALSE(table.ServeIfWaiting(
      a->token, [&] { return ran = true; }, &served));
  CHECK_FALSE(ran);  // a client no longer waiting is never served
}

}  // namespace flightcache::server
