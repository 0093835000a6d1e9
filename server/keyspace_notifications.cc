// keyspace_notifications.cc — notify-keyspace-events classes, channel names and event names
// (see keyspace_notifications.h).
#include "server/keyspace_notifications.h"

#include <cctype>
#include <charconv>

#include "server/command_table.h"

namespace flightcache::server {
namespace {

struct ClassLetter {
  char letter;
  uint32_t flag;
};

constexpr ClassLetter kLetters[] = {
    {'g', kNotifyGeneric},  {'$', kNotifyString},  {'l', kNotifyList},    {'s', kNotifySet},
    {'h', kNotifyHash},     {'z', kNotifyZset},    {'x', kNotifyExpired}, {'e', kNotifyEvicted},
    {'t', kNotifyStream},   {'d', kNotifyModule},  {'n', kNotifyNew},     {'K', kNotifyKeyspace},
    {'E', kNotifyKeyevent}, {'m', kNotifyKeyMiss}, {'o', kNotifyOrigin},
};

// The class of a command family's own events (its "group" in the command table).
uint32_t GroupClass(const std::string& group) {
  if (group == "string") return kNotifyString;
  if (group == "list") return kNotifyList;
  if (group == "set") return kNotifySet;
  if (group == "hash") return kNotifyHash;
  if (group == "zset") return kNotifyZset;
  return kNotifyGeneric;
}

// A command whose event is not its own name, or that names its keys' roles differently.
struct EventRule {
  const char* command;
  const char* source_event;       // the event of its first key (or of every key)
  const char* destination_event;  // the event of its second key; nullptr: as the first
};

constexpr EventRule kRules[] = {
    {"incr", "incrby", nullptr},
    {"decr", "incrby", nullptr},
    {"incrby", "incrby", nullptr},
    {"decrby", "incrby", nullptr},
    {"setnx", "set", nullptr},
    {"setex", "set", nullptr},
    {"psetex", "set", nullptr},
    {"getset", "set", nullptr},
    {"mset", "set", nullptr},
    {"msetnx", "set", nullptr},
    {"hmset", "hset", nullptr},
    {"hsetnx", "hset", nullptr},
    {"lpushx", "lpush", nullptr},
    {"rpushx", "rpush", nullptr},
    {"rpoplpush", "rpop", "lpush"},
    {"smove", "srem", "sadd"},
    {"zincrby", "zincr", nullptr},
    {"rename", "rename_from", "rename_to"},
    {"renamenx", "rename_from", "rename_to"},
    {"copy", "copy_to", "copy_to"},
};

const EventRule* FindRule(const std::string& name) {
  for (const EventRule& rule : kRules) {
    if (name == rule.command) return &rule;
  }
  return nullptr;
}

// Whether word equals lower (a lower-case literal) in any case.
bool EqualsLower(std::string_view word, std::string_view lower) {
  if (word.size() != lower.size()) return false;
  for (size_t i = 0; i < word.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(word[i])) != lower[i]) return false;
  }
  return true;
}

// LMOVE's and LMPOP's direction words as the event they stand for.
const char* PopEvent(std::string_view where) {
  return EqualsLower(where, "left") ? "lpop" : "rpop";
}
const char* PushEvent(std::string_view where) {
  return EqualsLower(where, "left") ? "lpush" : "rpush";
}

// The event name of a write (value stored or changed) by cmd to key.
const char* WriteEventName(const CommandSpec& cmd, const std::vector<std::string_view>& args,
                           std::string_view key, size_t write_index) {
  const std::string& name = cmd.name;
  // Which role key plays in a two-key command: the first key (source) or the second.
  const bool two_keys = args.size() >= 3;
  const bool is_source = !two_keys || (args[1] == args[2] ? write_index == 0 : key == args[1]);
  if (name == "lmove" && args.size() >= 5) {
    return is_source ? PopEvent(args[3]) : PushEvent(args[4]);
  }
  if (name == "lmpop") {
    // LMPOP numkeys key [key ...] LEFT|RIGHT [COUNT count]
    size_t numkeys = 0;
    const std::string_view n = args.size() >= 3 ? args[1] : std::string_view();
    if (std::from_chars(n.data(), n.data() + n.size(), numkeys).ec == std::errc() && numkeys > 0 &&
        numkeys + 2 < args.size()) {
      return PopEvent(args[numkeys + 2]);
    }
    return "lpop";
  }
  if (name == "zadd") {
    for (size_t i = 2; i < args.size(); ++i) {
      if (EqualsLower(args[i], "incr")) return "zincr";
    }
    return "zadd";
  }
  if (const EventRule* rule = FindRule(name)) {
    return is_source || !rule->destination_event ? rule->source_event : rule->destination_event;
  }
  return cmd.name.c_str();
}

}  // namespace

bool ParseNotifyClasses(std::string_view text, uint32_t* flags) {
  uint32_t out = 0;
  for (char c : text) {
    if (c == 'A') {
      out |= kNotifyAll;
      continue;
    }
    bool known = false;
    for (const ClassLetter& l : kLetters) {
      if (l.letter == c) {
        out |= l.flag;
        known = true;
        break;
      }
    }
    if (!known) return false;
  }
  *flags = out;
  return true;
}

std::string FormatNotifyClasses(uint32_t flags) {
  std::string out;
  if ((flags & kNotifyAll) == kNotifyAll) {
    out += 'A';
  } else {
    for (const ClassLetter& l : kLetters) {
      if (l.flag == kNotifyKeyspace) break;  // the class letters come first, then K E m o
      if (flags & l.flag) out += l.letter;
    }
  }
  if (flags & kNotifyKeyspace) out += 'K';
  if (flags & kNotifyKeyevent) out += 'E';
  if (flags & kNotifyKeyMiss) out += 'm';
  if (flags & kNotifyOrigin) out += 'o';
  return out;
}

std::string KeyspaceChannel(int db, std::string_view key) {
  std::string channel = "__keyspace@" + std::to_string(db) + "__:";
  channel.append(key);
  return channel;
}

std::string KeyeventChannel(int db, std::string_view event) {
  std::string channel = "__keyevent@" + std::to_string(db) + "__:";
  channel.append(event);
  return channel;
}

NotifyEvent CommandEvent(const CommandSpec& cmd, const std::vector<std::string_view>& args,
                         std::string_view key, storage::KeyChange change, size_t write_index) {
  using storage::KeyChangeKind;
  switch (change.kind) {
    case KeyChangeKind::kCreated:
    case KeyChangeKind::kWritten:
      return {GroupClass(cmd.group), WriteEventName(cmd, args, key, write_index)};
    case KeyChangeKind::kExpireSet:
      return {kNotifyGeneric, "expire"};
    case KeyChangeKind::kPersisted:
      return {kNotifyGeneric, "persist"};
    case KeyChangeKind::kDeleted:
      if ((cmd.name == "rename" || cmd.name == "renamenx") && args.size() >= 3 && key == args[1]) {
        return {kNotifyGeneric, "rename_from"};
      }
      return {kNotifyGeneric, "del"};
    case KeyChangeKind::kAbsentDelete:
      return {};
    case KeyChangeKind::kExpired:
    case KeyChangeKind::kEvicted:
      return BackgroundEvent(change);
  }
  return {};
}

NotifyEvent BackgroundEvent(storage::KeyChange change) {
  using storage::KeyChangeKind;
  switch (change.kind) {
    case KeyChangeKind::kCreated:
      return {kNotifyOrigin, "fill"};
    case KeyChangeKind::kWritten:
      return {kNotifyOrigin, "refresh"};
    case KeyChangeKind::kDeleted:
      return {kNotifyOrigin, "invalidate"};
    case KeyChangeKind::kExpireSet:
      return {kNotifyGeneric, "expire"};
    case KeyChangeKind::kPersisted:
      return {kNotifyGeneric, "persist"};
    case KeyChangeKind::kAbsentDelete:
      return {};
    case KeyChangeKind::kExpired:
      return {kNotifyExpired, "expired"};
    case KeyChangeKind::kEvicted:
      return {kNotifyEvicted, "evicted"};
  }
  return {};
}

bool WriteWithExpiryIsExpireEvent(const CommandSpec& cmd) {
  return cmd.name == "set" || cmd.name == "setex" || cmd.name == "psetex";
}

}  // namespace flightcache::server
