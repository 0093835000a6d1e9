// stats.h — counters for INFO, kept per worker and summed when INFO asks.
//
// Each worker increments only its own counters; INFO on any worker reads all of them. A
// Counter is a relaxed atomic written by one thread (load + store, no locked instruction), so
// reads from other threads are race-free and cost the hot path nothing measurable.
#pragma once

#include <atomic>
#include <cstdint>
#include <vector>

namespace flightcache::server {

class Counter {
 public:
  Counter() = default;
  Counter(const Counter& other) : value_(other.get()) {}
  Counter& operator=(const Counter& other) {
    set(other.get());
    return *this;
  }
  uint64_t get() const { return value_.load(std::memory_order_relaxed); }
  void set(uint64_t v) { value_.store(v, std::memory_order_relaxed); }
  Counter& operator+=(uint64_t n) {
    set(get() + n);
    return *this;
  }
  Counter& operator++() { return *this += 1; }
  operator uint64_t() const { return get(); }

 private:
  std::atomic<uint64_t> value_{0};
};

struct WorkerStats {
  Counter total_connections_received;
  Counter total_commands_processed;
  Counter rejected_connections;
  Counter keyspace_hits;
  Counter keyspace_misses;
  Counter total_net_input_bytes;
  Counter total_net_output_bytes;
  Counter total_error_replies;
  Counter connected_clients;
  Counter blocked_clients;  // connections with a parked command now
  // Reply bytes queued or being written, over this worker's connections now (a gauge, never
  // reset). The memory estimate eviction uses adds it (see Server::TransientBytes).
  Counter client_output_bytes;

  void Reset() {
    for (Counter* c : {&total_connections_received, &total_commands_processed,
                       &rejected_connections, &keyspace_hits, &keyspace_misses,
                       &total_net_input_bytes, &total_net_output_bytes, &total_error_replies}) {
      c->set(0);
    }
  }
};

struct CommandStats {
  Counter calls;
  Counter usec;
  Counter rejected_calls;
  Counter failed_calls;
};

}  // namespace flightcache::server
