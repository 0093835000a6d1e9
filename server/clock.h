// clock.h — the two clocks the server reads: wall-clock unix ms (expiry, INFO) and a
// monotonic microsecond clock (command timing, cron budgets).
#pragma once

#include <chrono>
#include <cstdint>
#include <ctime>

namespace flightcache::server {

inline int64_t WallClockMs() {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1000 + ts.tv_nsec / 1000000;
}

// Wall-clock unix µs (MONITOR's timestamps).
inline int64_t WallClockMicros() {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1000000 + ts.tv_nsec / 1000;
}

inline int64_t MonotonicMicros() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

}  // namespace flightcache::server
