// eviction.cc — policy names and the LRU/LFU access arithmetic (see eviction.h).
#include "storage/eviction.h"

namespace flightcache::storage {
namespace {

struct PolicyName {
  EvictionPolicy policy;
  const char* name;
};

constexpr PolicyName kPolicies[] = {
    {EvictionPolicy::kNoEviction, "noeviction"},
    {EvictionPolicy::kAllKeysLru, "allkeys-lru"},
    {EvictionPolicy::kAllKeysLfu, "allkeys-lfu"},
    {EvictionPolicy::kAllKeysRandom, "allkeys-random"},
    {EvictionPolicy::kVolatileLru, "volatile-lru"},
    {EvictionPolicy::kVolatileLfu, "volatile-lfu"},
    {EvictionPolicy::kVolatileRandom, "volatile-random"},
    {EvictionPolicy::kVolatileTtl, "volatile-ttl"},
    {EvictionPolicy::kAllKeysS3Fifo, "allkeys-s3fifo"},
};

constexpr uint32_t kLfuInitVal = 5;
constexpr uint32_t kLfuLogFactor = 10;
constexpr int64_t kLfuDecayMinutes = 1;

uint32_t Minutes(int64_t now_ms) { return static_cast<uint32_t>(now_ms / 60000) & 0xFFFF; }

// Minutes elapsed since the 16-bit minute stamp, accounting for its wrap.
uint32_t MinutesSince(uint32_t stamp, int64_t now_ms) {
  uint32_t now = Minutes(now_ms);
  return now >= stamp ? now - stamp : 0x10000 - stamp + now;
}

}  // namespace

bool ParseEvictionPolicy(std::string_view name, EvictionPolicy* out) {
  for (const PolicyName& p : kPolicies) {
    if (name == p.name) {
      *out = p.policy;
      return true;
    }
  }
  return false;
}

const char* EvictionPolicyName(EvictionPolicy policy) {
  for (const PolicyName& p : kPolicies) {
    if (p.policy == policy) return p.name;
  }
  return "noeviction";
}

const char* EvictionPolicyNames() {
  return "noeviction, allkeys-lru, allkeys-lfu, allkeys-random, volatile-lru, volatile-lfu, "
         "volatile-random, volatile-ttl, allkeys-s3fifo";
}

bool PolicyTracksLfu(EvictionPolicy policy) {
  return policy == EvictionPolicy::kAllKeysLfu || policy == EvictionPolicy::kVolatileLfu ||
         policy == EvictionPolicy::kAllKeysS3Fifo;
}

bool PolicyIsVolatileOnly(EvictionPolicy policy) {
  return policy == EvictionPolicy::kVolatileLru || policy == EvictionPolicy::kVolatileLfu ||
         policy == EvictionPolicy::kVolatileRandom || policy == EvictionPolicy::kVolatileTtl;
}

uint32_t LruClock(int64_t now_ms) { return static_cast<uint32_t>(now_ms / 100); }

uint64_t LruIdleMs(uint32_t access, int64_t now_ms) {
  uint32_t now = LruClock(now_ms);
  uint32_t idle = now - access;  // unsigned arithmetic handles the wrap
  return static_cast<uint64_t>(idle) * 100;
}

uint32_t LfuInitial(int64_t now_ms) { return (Minutes(now_ms) << 8) | kLfuInitVal; }

uint8_t LfuCounter(uint32_t access, int64_t now_ms) {
  uint32_t counter = access & 0xFF;
  uint32_t periods = MinutesSince((access >> 8) & 0xFFFF, now_ms) / kLfuDecayMinutes;
  return static_cast<uint8_t>(periods > counter ? 0 : counter - periods);
}

uint32_t LfuTouch(uint32_t access, int64_t now_ms, uint64_t random) {
  uint32_t counter = LfuCounter(access, now_ms);
  if (counter < 255) {
    // Redis's LFULogIncr: the higher the counter, the less likely an increment.
    double r = static_cast<double>(random >> 11) / static_cast<double>(1ULL << 53);
    double base = counter > kLfuInitVal ? counter - kLfuInitVal : 0;
    double p = 1.0 / (base * kLfuLogFactor + 1);
    if (r < p) ++counter;
  }
  return (Minutes(now_ms) << 8) | counter;
}

}  // namespace flightcache::storage
