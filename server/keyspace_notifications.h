// keyspace_notifications.h — Redis's keyspace notifications: the `notify-keyspace-events`
// classes, the channel names, and which event a change to a key is.
//
// The KeyWatcher chain (server/key_events.h) hears what happened to a key (storage::KeyChange);
// this file names it as Redis 7.0 would: an event name and a class, chosen from the command that
// made the change (SET → "set" of class $, LPUSH → "lpush" of class l, a removal → "del" of
// class g, ...), or, for changes no command made, from the change itself: "expired" (x),
// "evicted" (e), and flightcache's own origin events "fill", "refresh" and "invalidate" (class
// o, not part of A). Pure functions: no locks, no I/O.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "storage/shard.h"

namespace flightcache::server {

struct CommandSpec;

// Event classes, as Redis's NOTIFY_* bits (plus kNotifyOrigin, ours).
enum NotifyClass : uint32_t {
  kNotifyKeyspace = 1 << 0,  // K
  kNotifyKeyevent = 1 << 1,  // E
  kNotifyGeneric = 1 << 2,   // g
  kNotifyString = 1 << 3,    // $
  kNotifyList = 1 << 4,      // l
  kNotifySet = 1 << 5,       // s
  kNotifyHash = 1 << 6,      // h
  kNotifyZset = 1 << 7,      // z
  kNotifyExpired = 1 << 8,   // x
  kNotifyEvicted = 1 << 9,   // e
  kNotifyStream = 1 << 10,   // t
  kNotifyKeyMiss = 1 << 11,  // m (accepted; no key-miss events are sent yet)
  kNotifyModule = 1 << 12,   // d
  kNotifyNew = 1 << 13,      // n
  kNotifyOrigin = 1 << 14,   // o: keys filled, refreshed or invalidated from the origin
  // A: every class but K, E, m, n and o, as in Redis 7.0.
  kNotifyAll = kNotifyGeneric | kNotifyString | kNotifyList | kNotifySet | kNotifyHash |
               kNotifyZset | kNotifyExpired | kNotifyEvicted | kNotifyStream | kNotifyModule,
};

// Parses a `notify-keyspace-events` value ("KEA", "Kx", "" ...) into class bits; false when it
// holds a character that is no class (Redis's error text is kBadNotifyClasses).
bool ParseNotifyClasses(std::string_view text, uint32_t* flags);
inline constexpr const char* kBadNotifyClasses =
    "Invalid event class character. Use 'Ag$lshzxeKEtmdn'.";
// The canonical text of flags, as Redis's CONFIG GET shows it ("AKE", "gxK", ...), with our
// 'o' last.
std::string FormatNotifyClasses(uint32_t flags);

// The channels of one event in database db: `__keyspace@<db>__:<key>` (message: the event)
// and `__keyevent@<db>__:<event>` (message: the key). The one place that spells them, so
// that the database number can come from the connection once there are several.
std::string KeyspaceChannel(int db, std::string_view key);
std::string KeyeventChannel(int db, std::string_view event);

// One event to publish: its class and name (a static string).
struct NotifyEvent {
  uint32_t klass = 0;  // 0: no event
  const char* name = nullptr;
};

// The event a change to key made by the command cmd (args: its arguments; write_index: how
// many writes this command made to keys before this one, which tells LMOVE's source from its
// destination) is; klass 0 when the change sends no event (a delete of a missing key).
NotifyEvent CommandEvent(const CommandSpec& cmd, const std::vector<std::string_view>& args,
                         std::string_view key, storage::KeyChange change, size_t write_index);
// The event of a change no command made: the cron's expiry and eviction, and the origin's
// fills ("fill": a key that was missing, "refresh": a key that was there) and invalidations.
NotifyEvent BackgroundEvent(storage::KeyChange change);
// Whether a command's write of a value with an expiry is also an "expire" event (SET EX...).
bool WriteWithExpiryIsExpireEvent(const CommandSpec& cmd);

}  // namespace flightcache::server
