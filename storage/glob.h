// glob.h — Redis's glob-style pattern matching (KEYS, SCAN MATCH, CONFIG GET).
// Supports * ? [abc] [^a] [a-z] and \ escapes, like stringmatchlen() in Redis's util.c.
#pragma once

#include <string_view>

namespace flightcache::storage {

bool GlobMatch(std::string_view pattern, std::string_view text, bool nocase = false);

}  // namespace flightcache::storage
