// command_table.cc — command lookup and the flag names (see command_table.h).
#include "server/command_table.h"

#include <cctype>

namespace flightcache::server {

void CommandTable::Add(CommandSpec spec) {
  auto owned = std::make_unique<CommandSpec>(std::move(spec));
  by_name_[owned->name] = owned.get();
  commands_.push_back(std::move(owned));
}

const CommandSpec* CommandTable::Find(std::string_view name) const {
  char lower[32];
  if (name.size() >= sizeof(lower)) return nullptr;
  for (size_t i = 0; i < name.size(); ++i) {
    lower[i] = static_cast<char>(std::tolower(static_cast<unsigned char>(name[i])));
  }
  auto it = by_name_.find(std::string(lower, name.size()));
  return it == by_name_.end() ? nullptr : it->second;
}

void CommandTable::ResetStats() const {
  for (const auto& c : commands_) c->stats = CommandStats{};
}

CommandTable BuildCommandTable() {
  CommandTable table;
  RegisterStringCommands(table);
  RegisterKeyspaceCommands(table);
  RegisterConnectionCommands(table);
  RegisterServerCommands(table);
  return table;
}

std::vector<std::string> CommandFlagNames(uint32_t flags) {
  std::vector<std::string> names;
  if (flags & kWrite) names.push_back("write");
  if (flags & kReadOnly) names.push_back("readonly");
  if (flags & kDenyOom) names.push_back("denyoom");
  if (flags & kAdmin) names.push_back("admin");
  if (flags & kNoAuth) names.push_back("no_auth");
  if (flags & kLoading) names.push_back("loading");
  if (flags & kStale) names.push_back("stale");
  if (flags & kFast) names.push_back("fast");
  return names;
}

}  // namespace flightcache::server
