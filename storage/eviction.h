// eviction.h — eviction policies and the per-key access state they keep.
//
// Redis's policies (noeviction, allkeys/volatile × lru/lfu/random, volatile-ttl) plus
// allkeys-s3fifo, the default: S3-FIFO from "FIFO queues are all you need for cache eviction"
// (Yang et al., SOSP 2023). Each entry's 32-bit `access` holds either an LRU clock (100 ms
// units) or Redis's LFU state (16-bit minutes of last decrement, 8-bit log counter); the
// policy decides which. S3-FIFO's own state (queue and a 2-bit frequency) is in entry flags.
#pragma once

#include <cstdint>
#include <string_view>

namespace flightcache::storage {

enum class EvictionPolicy : uint8_t {
  kNoEviction,
  kAllKeysLru,
  kAllKeysLfu,
  kAllKeysRandom,
  kVolatileLru,
  kVolatileLfu,
  kVolatileRandom,
  kVolatileTtl,
  kAllKeysS3Fifo,
};

bool ParseEvictionPolicy(std::string_view name, EvictionPolicy* out);
const char* EvictionPolicyName(EvictionPolicy policy);
// Every name ParseEvictionPolicy accepts, comma-separated, for error messages.
const char* EvictionPolicyNames();

// True when access holds LFU state (LFU policies and S3-FIFO); otherwise an LRU clock.
bool PolicyTracksLfu(EvictionPolicy policy);
bool PolicyIsVolatileOnly(EvictionPolicy policy);

// LRU clock in 100 ms units (wraps after 13 years).
uint32_t LruClock(int64_t now_ms);
// Milliseconds since the access recorded by an LRU clock value.
uint64_t LruIdleMs(uint32_t access, int64_t now_ms);

// LFU as Redis: logarithmic counter (lfu-log-factor 10), halved... decremented once per
// lfu-decay-time (1 minute) of idleness. New keys start at 5.
uint32_t LfuInitial(int64_t now_ms);
uint32_t LfuTouch(uint32_t access, int64_t now_ms, uint64_t random);
// The counter after decay, as OBJECT FREQ reports it.
uint8_t LfuCounter(uint32_t access, int64_t now_ms);

}  // namespace flightcache::storage
