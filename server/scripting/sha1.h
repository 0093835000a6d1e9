// sha1.h — SHA-1 as 40 lower-case hex digits: the name of a script (EVALSHA, SCRIPT LOAD) and
// redis.sha1hex. Standard library only; not for security.
#pragma once

#include <string>
#include <string_view>

namespace flightcache::server::scripting {

// The SHA-1 digest of data as 40 lower-case hex digits (FIPS 180-4).
std::string Sha1Hex(std::string_view data);

}  // namespace flightcache::server::scripting
