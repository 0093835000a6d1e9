// memory_flood.h — the write flood of the maxmemory tests: rounds of pipelined commands into a
// server with maxmemory, checking after every round that used_memory stays within 5% of it.
#pragma once

#include <doctest/doctest.h>

#include <functional>
#include <string>
#include <vector>

#include "tests/integration/server_process.h"

namespace flightcache::integration {

// Sends rounds of 20 pipelined batches of 500 commands into c, command(round, index) for index
// 0..9999 of the round (batch = index / 500); every reply must be an integer. Runs at least
// min_rounds rounds, then on until more than 1000 keys were evicted (40 rounds at most: how many
// rounds fit in max_bytes depends on the allocator's block sizes, exact under ASan, rounded by
// glibc). After every round, checks used_memory <= 105% of max_bytes.
inline void FloodWithinMaxmemory(
    const ContextPtr& c, long long max_bytes, int min_rounds,
    const std::function<std::vector<std::string>(int round, int index)>& command) {
  constexpr int kBatches = 20, kBatch = 500, kMaxRounds = 40;
  for (int round = 0;
       round < min_rounds || (round < kMaxRounds && InfoNumber(c, "evicted_keys") <= 1000);
       ++round) {
    for (int batch = 0; batch < kBatches; ++batch) {
      for (int i = 0; i < kBatch; ++i) Append(c.get(), command(round, batch * kBatch + i));
      for (int i = 0; i < kBatch; ++i) {
        ReplyPtr r = NextReply(c.get());
        REQUIRE(r);
        REQUIRE(r->type == REDIS_REPLY_INTEGER);
      }
    }
    const long long used = InfoNumber(c, "used_memory");
    CAPTURE(round);
    CHECK(used <= max_bytes * 105 / 100);
  }
}

}  // namespace flightcache::integration
