// command_table.cc — command lookup and the flag names (see command_table.h).
#include "server/command_table.h"

#include <cctype>

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
  return names;
}

}  // namespace flightcache::server
