// command_table.cc — command lookup and the flag names (see command_table.h).
#include "server/command_table.h"

#include <cctype>
#include <cstring>

namespace flightcache::server {

namespace {

char FoldAscii(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c + 32) : c; }

uint32_t FoldedHash(std::string_view name) {
  uint32_t h = 2166136261u;  // FNV-1a over the lower-cased bytes
  for (char c : name) h = (h ^ static_cast<uint8_t>(FoldAscii(c))) * 16777619u;
  return h;
}

bool FoldedEquals(std::string_view name, const std::string& lower) {
  if (name.size() != lower.size()) return false;
  for (size_t i = 0; i < name.size(); ++i) {
    if (FoldAscii(name[i]) != lower[i]) return false;
  }
  return true;
}

}  // namespace

void CommandTable::Add(CommandSpec spec) {
  spec.index = commands_.size();
  commands_.push_back(std::make_unique<CommandSpec>(std::move(spec)));
  Rebuild();
}

void CommandTable::Rebuild() {
  size_t size = 64;
  while (size < commands_.size() * 4) size *= 2;
  slots_.assign(size, nullptr);
  for (const auto& c : commands_) {
    size_t i = FoldedHash(c->name) & (size - 1);
    while (slots_[i]) i = (i + 1) & (size - 1);
    slots_[i] = c.get();
  }
}

const CommandSpec* CommandTable::Find(std::string_view name) const {
  if (slots_.empty()) return nullptr;
  const size_t mask = slots_.size() - 1;
  for (size_t i = FoldedHash(name) & mask;; i = (i + 1) & mask) {
    const CommandSpec* c = slots_[i];
    if (!c) return nullptr;
    if (FoldedEquals(name, c->name)) return c;
  }
}

CommandTable BuildCommandTable() {
  CommandTable table;
  RegisterStringCommands(table);
  RegisterKeyspaceCommands(table);
  RegisterConnectionCommands(table);
  RegisterServerCommands(table);
  RegisterIntrospectionCommands(table);
  RegisterTransactionCommands(table);
  RegisterHashCommands(table);
  RegisterListCommands(table);
  RegisterSetCommands(table);
  RegisterZsetCommands(table);
  RegisterPubsubCommands(table);
  RegisterAdminCommands(table);
  RegisterBlockingCommands(table);
  RegisterOriginCommands(table);
  RegisterScriptingCommands(table);
  return table;
}

std::vector<std::string> CommandFlagNames(uint32_t flags) {
  std::vector<std::string> names;
  if (flags & kWrite) names.push_back("write");
  if (flags & kReadOnly) names.push_back("readonly");
  if (flags & kDenyOom) names.push_back("denyoom");
  if (flags & kAdmin) names.push_back("admin");
  if (flags & kPubsub) names.push_back("pubsub");
  if (flags & kNoAuth) names.push_back("no_auth");
  if (flags & kLoading) names.push_back("loading");
  if (flags & kStale) names.push_back("stale");
  if (flags & kFast) names.push_back("fast");
  if (flags & kNoScript) names.push_back("noscript");
  if (flags & kMovableKeys) names.push_back("movablekeys");
  if (flags & kNoMulti) names.push_back("no_multi");
  return names;
}

namespace {

// The ACL categories Redis 7.0 lists for these commands, where the rule in AclCategoryNames
// (from the flags and the group) does not give them: Redis's command JSON names them by hand.
struct AclException {
  const char* name;
  const char* categories;
};
constexpr AclException kAclExceptions[] = {
    {"keys", "@keyspace @read @slow @dangerous"},
    {"dbsize", "@keyspace @read @fast"},
    {"flushdb", "@keyspace @write @slow @dangerous"},
    {"flushall", "@keyspace @write @slow @dangerous"},
    {"swapdb", "@keyspace @write @fast @dangerous"},
    {"client", "@slow"},
    {"client|list", "@admin @slow @dangerous @connection"},
    {"client|kill", "@admin @slow @dangerous @connection"},
    {"info", "@slow @dangerous"},
    {"config", "@slow"},
    {"config|help", "@slow"},
    {"command", "@slow @connection"},
    {"command|count", "@slow @connection"},
    {"command|info", "@slow @connection"},
    {"command|docs", "@slow @connection"},
    {"command|list", "@slow @connection"},
    {"object", "@slow"},
    {"object|help", "@keyspace @slow"},
    {"memory", "@slow"},
    {"memory|help", "@slow"},
    {"pubsub", "@slow"},
    {"pubsub|help", "@slow"},
    {"wait", "@slow @connection"},
    {"slowlog", "@slow"},
    {"slowlog|help", "@slow"},
    {"latency", "@slow"},
    {"latency|help", "@slow"},
};

}  // namespace

std::vector<std::string> AclCategoryNames(const std::string& name, uint32_t flags,
                                          const std::string& group) {
  std::vector<std::string> names;
  for (const AclException& e : kAclExceptions) {
    if (name != e.name) continue;
    for (const char* p = e.categories; *p;) {
      const char* end = std::strchr(p, ' ');
      if (!end) end = p + std::strlen(p);
      names.emplace_back(p, end);
      p = *end ? end + 1 : end;
    }
    return names;
  }
  // Redis's setImplicitACLCategories plus each group's data-type category, in the order of
  // Redis's category table.
  const bool admin = flags & kAdmin;
  if (group == "generic") names.push_back("@keyspace");
  if (flags & kReadOnly) names.push_back("@read");
  if (flags & kWrite) names.push_back("@write");
  if (group == "set") names.push_back("@set");
  if (group == "sorted-set") names.push_back("@sortedset");
  if (group == "list") names.push_back("@list");
  if (group == "hash") names.push_back("@hash");
  if (group == "string") names.push_back("@string");
  if (group == "pubsub" || (flags & kPubsub)) names.push_back("@pubsub");
  if (admin) names.push_back("@admin");
  names.push_back((flags & kFast) ? "@fast" : "@slow");
  if (admin) names.push_back("@dangerous");
  if (group == "connection") names.push_back("@connection");
  if (group == "transactions") names.push_back("@transaction");
  return names;
}

}  // namespace flightcache::server
