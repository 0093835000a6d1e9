// invalidation.cc — feed state names and INFO fields (see invalidation.h).
#include "origin/invalidation.h"

namespace flightcache::origin {

const char* FeedStateName(FeedState state) {
  switch (state) {
    case FeedState::kOff:
      return "off";
    case FeedState::kConnecting:
      return "connecting";
    case FeedState::kUp:
      return "up";
    case FeedState::kDown:
      return "down";
    case FeedState::kUnsupported:
      return "unsupported";
  }
  return "off";
}

std::string FeedStats::InfoFields(const char* name) const {
  const FeedState now = state.load(std::memory_order_relaxed);
  if (now == FeedState::kOff) return {};
  auto n = [](const std::atomic<uint64_t>& v) {
    return std::to_string(v.load(std::memory_order_relaxed));
  };
  return std::string(",") + name + "=" + FeedStateName(now) + ",invalidations=" + n(keys) +
         ",invalidation_flushes=" + n(flushes) + "," + name + "_losses=" + n(losses) + "," + name +
         "_connects=" + n(connects) + ",untracked_values=" + n(untracked);
}

}  // namespace flightcache::origin
