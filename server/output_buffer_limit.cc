// output_buffer_limit.cc — parsing, rendering and checking client-output-buffer-limit (see
// output_buffer_limit.h).
#include "server/output_buffer_limit.h"

#include <charconv>
#include <vector>

#include "server/config.h"

namespace flightcache::server {
namespace {

const char* const kClassNames[kClientClasses] = {"normal", "slave", "pubsub"};

bool ClassByName(std::string_view name, ClientClass* out) {
  std::string lower(name);
  for (char& c : lower) c = static_cast<char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
  if (lower == "normal") {
    *out = ClientClass::kNormal;
  } else if (lower == "slave" || lower == "replica") {
    *out = ClientClass::kReplica;
  } else if (lower == "pubsub") {
    *out = ClientClass::kPubsub;
  } else {
    return false;
  }
  return true;
}

std::vector<std::string_view> SplitWords(std::string_view text) {
  std::vector<std::string_view> words;
  size_t pos = 0;
  while (pos < text.size()) {
    while (pos < text.size() && (text[pos] == ' ' || text[pos] == '\t')) ++pos;
    size_t end = pos;
    while (end < text.size() && text[end] != ' ' && text[end] != '\t') ++end;
    if (end > pos) words.push_back(text.substr(pos, end - pos));
    pos = end;
  }
  return words;
}

}  // namespace

bool ParseOutputBufferLimits(std::string_view text, OutputBufferLimits* limits,
                             std::string* error) {
  const std::vector<std::string_view> words = SplitWords(text);
  if (words.empty() || words.size() % 4 != 0) {
    *error = "Wrong number of arguments in buffer limit configuration.";
    return false;
  }
  OutputBufferLimits updated = *limits;
  for (size_t i = 0; i < words.size(); i += 4) {
    ClientClass cls;
    if (!ClassByName(words[i], &cls)) {
      *error = "Invalid client class specified in buffer limit configuration.";
      return false;
    }
    OutputBufferLimit limit;
    const std::string_view seconds = words[i + 3];
    auto [end, ec] =
        std::from_chars(seconds.data(), seconds.data() + seconds.size(), limit.soft_seconds);
    if (!ParseMemory(words[i + 1], &limit.hard_bytes) ||
        !ParseMemory(words[i + 2], &limit.soft_bytes) || ec != std::errc() ||
        end != seconds.data() + seconds.size() || limit.soft_seconds < 0) {
      *error = "Error in hard, soft or soft_seconds setting in buffer limit configuration.";
      return false;
    }
    updated[static_cast<size_t>(cls)] = limit;
  }
  *limits = updated;
  return true;
}

std::string FormatOutputBufferLimits(const OutputBufferLimits& limits) {
  std::string out;
  for (size_t i = 0; i < kClientClasses; ++i) {
    if (i > 0) out += ' ';
    out += kClassNames[i];
    out += ' ' + std::to_string(limits[i].hard_bytes);
    out += ' ' + std::to_string(limits[i].soft_bytes);
    out += ' ' + std::to_string(limits[i].soft_seconds);
  }
  return out;
}

bool OutputLimitReached(const OutputBufferLimit& limit, size_t used, int64_t now_ms,
                        int64_t* soft_since_ms) {
  const bool hard = limit.hard_bytes > 0 && used >= static_cast<size_t>(limit.hard_bytes);
  bool soft = limit.soft_bytes > 0 && used >= static_cast<size_t>(limit.soft_bytes);
  if (!soft) {
    *soft_since_ms = 0;
  } else if (*soft_since_ms == 0) {
    *soft_since_ms = now_ms;  // first seen over soft: the clock starts
    soft = false;
  } else if (now_ms - *soft_since_ms <= limit.soft_seconds * 1000) {
    soft = false;  // not over soft for long enough yet
  }
  return hard || soft;
}

}  // namespace flightcache::server
