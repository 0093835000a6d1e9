// slowlog.h — SLOWLOG: the process's log of commands slower than slowlog-log-slower-than.
//
// One log for every worker, as Redis has one: Add() is called from Worker::Execute only when a
// command took at least the threshold, so the mutex is off the hot path. Entries hold what
// Redis's slowlogCreateEntry keeps: at most 32 arguments (the last one then says how many more
// there were), each cut to 128 bytes ("... (N more bytes)"), the client's address and name.
#pragma once

#include <cstdint>
#include <deque>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

namespace flightcache::server {

struct SlowlogEntry {
  uint64_t id;
  int64_t unix_seconds;
  int64_t duration_us;
  std::vector<std::string> args;
  std::string peer;
  std::string client_name;
};

class Slowlog {
 public:
  // Records a command that took duration_us; keeps at most max_len entries (newest first).
  // Thread-safe.
  void Add(const std::vector<std::string_view>& args, int64_t duration_us, int64_t unix_seconds,
           const std::string& peer, const std::string& client_name, int64_t max_len);
  // The newest count entries (all when count < 0), newest first. Thread-safe.
  std::vector<SlowlogEntry> Newest(int64_t count);
  size_t size();
  void Reset();

 private:
  std::mutex mutex_;
  std::deque<SlowlogEntry> entries_;  // front: newest
  uint64_t next_id_ = 0;
};

}  // namespace flightcache::server
