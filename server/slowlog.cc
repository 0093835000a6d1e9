// slowlog.cc — the slow command log (see slowlog.h).
#include "server/slowlog.h"

#include <algorithm>

#include "server/command_util.h"

namespace flightcache::server {
namespace {

constexpr size_t kMaxArgs = 32;        // SLOWLOG_ENTRY_MAX_ARGC
constexpr size_t kMaxArgLength = 128;  // SLOWLOG_ENTRY_MAX_STRING

// Whether argument i of a command is a secret Redis 7 keeps out of the log (AUTH's password,
// HELLO's AUTH pair).
bool Redacted(const std::vector<std::string_view>& args, size_t i) {
  if (EqualsIgnoreCase(args[0], "auth")) return i >= 1;
  if (EqualsIgnoreCase(args[0], "hello")) {
    for (size_t j = 1; j < i; ++j) {
      if (EqualsIgnoreCase(args[j], "auth") && (i == j + 1 || i == j + 2)) return true;
    }
  }
  return false;
}

}  // namespace

void Slowlog::Add(const std::vector<std::string_view>& args, int64_t duration_us,
                  int64_t unix_seconds, const std::string& peer, const std::string& client_name,
                  int64_t max_len) {
  SlowlogEntry entry{0, unix_seconds, duration_us, {}, peer, client_name};
  const size_t shown = args.size() > kMaxArgs ? kMaxArgs - 1 : args.size();
  for (size_t i = 0; i < shown; ++i) {
    if (Redacted(args, i)) {
      entry.args.emplace_back("(redacted)");
    } else if (args[i].size() > kMaxArgLength) {
      entry.args.push_back(std::string(args[i].substr(0, kMaxArgLength)) + "... (" +
                           std::to_string(args[i].size() - kMaxArgLength) + " more bytes)");
    } else {
      entry.args.emplace_back(args[i]);
    }
  }
  if (shown < args.size()) {
    entry.args.push_back("... (" + std::to_string(args.size() - shown) + " more arguments)");
  }
  std::lock_guard<std::mutex> hold(mutex_);
  entry.id = next_id_++;
  entries_.push_front(std::move(entry));
  while (entries_.size() > static_cast<size_t>(max_len < 0 ? 0 : max_len)) entries_.pop_back();
}

std::vector<SlowlogEntry> Slowlog::Newest(int64_t count) {
  std::lock_guard<std::mutex> hold(mutex_);
  const size_t n =
      count < 0 ? entries_.size() : std::min(entries_.size(), static_cast<size_t>(count));
  return std::vector<SlowlogEntry>(entries_.begin(), entries_.begin() + static_cast<long>(n));
}

size_t Slowlog::size() {
  std::lock_guard<std::mutex> hold(mutex_);
  return entries_.size();
}

void Slowlog::Reset() {
  std::lock_guard<std::mutex> hold(mutex_);
  entries_.clear();
}

}  // namespace flightcache::server
