// output_buffer_limit.h — Redis's client-output-buffer-limit: the option's value (per client
// class: hard bytes, soft bytes, soft seconds), its CONFIG text form, and the check that
// decides when a client's unsent replies have passed it.
// The config registry (config.cc) parses and renders it; Connection applies the client's class
// (pubsub while it has subscriptions, else normal) after each command, while a reply is being
// built, when a published message arrives, and from the cron.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace flightcache::server {

// One client class's limits: a client whose unsent replies reach hard_bytes, or stay at or
// past soft_bytes for more than soft_seconds, is closed. 0 turns a limit off.
struct OutputBufferLimit {
  int64_t hard_bytes = 0;
  int64_t soft_bytes = 0;
  int64_t soft_seconds = 0;
};

// The client classes, in Redis's order. Normal and pubsub clients exist here; the replica class
// is kept so that CONFIG GET/SET behave as Redis's.
enum class ClientClass : uint8_t { kNormal, kReplica, kPubsub };
inline constexpr size_t kClientClasses = 3;
using OutputBufferLimits = std::array<OutputBufferLimit, kClientClasses>;

// Redis's defaults: normal 0 0 0, slave 256mb 64mb 60, pubsub 32mb 8mb 60.
inline constexpr OutputBufferLimits kDefaultOutputBufferLimits = {
    {{0, 0, 0}, {256LL << 20, 64LL << 20, 60}, {32LL << 20, 8LL << 20, 60}}};

// Parses "class hard soft soft_seconds [class hard soft soft_seconds ...]" (class: normal,
// replica or slave, pubsub; hard and soft take memory units) into the classes it names; the
// others keep their values. On a bad value returns false with Redis's message in *error and
// changes nothing.
bool ParseOutputBufferLimits(std::string_view text, OutputBufferLimits* limits, std::string* error);

// All three classes as CONFIG GET shows them:
// "normal 0 0 0 slave 268435456 67108864 60 pubsub 33554432 8388608 60".
std::string FormatOutputBufferLimits(const OutputBufferLimits& limits);

// Whether a client with `used` bytes of unsent replies has passed `limit` at now_ms, as
// Redis's checkClientOutputBufferLimits: at or past hard, or at or past soft for more than
// soft_seconds. *soft_since_ms remembers when the client first reached soft (0: it is under).
bool OutputLimitReached(const OutputBufferLimit& limit, size_t used, int64_t now_ms,
                        int64_t* soft_since_ms);

}  // namespace flightcache::server
