// info.h — INFO sections, CLIENT LIST lines and memory figures.
//
// INFO renders the same fields Redis 7 does for the sections flightcache has (server,
// clients, memory, persistence, stats, replication, cpu, keyspace, commandstats, errorstats)
// plus an `origin` section for the read-through origin, so redis-cli --stat and friends work.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace flightcache::server {

class Worker;
class Connection;

// The Redis version this server answers as (HELLO, INFO redis_version).
inline constexpr const char* kRedisVersion = "7.0.0";
inline constexpr const char* kFlightcacheVersion = "0.1.0";

// INFO text for the requested sections (empty: the default set).
std::string RenderInfo(Worker& worker, const std::vector<std::string>& sections);
// One CLIENT LIST / CLIENT INFO line, without its newline.
std::string ClientInfoLine(Worker& worker, const Connection& conn);
// Bytes the allocator has handed out (used_memory) and the process's resident set.
uint64_t UsedMemoryBytes();
uint64_t ResidentSetBytes();
std::string HumanBytes(uint64_t bytes);

}  // namespace flightcache::server
