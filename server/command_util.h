// command_util.h — argument parsing and reply helpers shared by the command families.
//
// Numbers are parsed as strictly as Redis's string2ll/string2ld; the error texts are Redis's.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "protocol/reply_writer.h"
#include "server/command_table.h"
#include "storage/keyspace.h"

namespace flightcache::server {

struct CommandContext;

inline constexpr const char* kErrNotInteger = "ERR value is not an integer or out of range";
inline constexpr const char* kErrSyntax = "ERR syntax error";
inline constexpr const char* kErrNotFloat = "ERR value is not a valid float";
inline constexpr const char* kErrNoSuchKey = "ERR no such key";

// Strict 64-bit integer as Redis's string2ll: no spaces, no '+', no leading zeros.
bool ParseInt64(std::string_view text, int64_t* out);
// A long double as Redis's string2ld: no spaces, not NaN.
bool ParseLongDouble(std::string_view text, long double* out);
// ASCII case-insensitive equality with a lower-case literal.
bool EqualsIgnoreCase(std::string_view text, std::string_view lower_literal);
std::string ToLower(std::string_view text);
// Integer to decimal text, without allocation beyond the result.
std::string Int64ToString(int64_t v);

// Parses an expiry argument as Redis's SET/GETEX/EXPIRE do. unit_ms: 1000 for seconds, 1 for
// ms; absolute: EXAT/PXAT. Writes the absolute unix ms to *at_ms. On failure writes the error
// reply (not an integer, or "invalid expire time in '<command>' command") and returns false.
bool ParseExpireArgument(std::string_view text, int64_t unit_ms, bool absolute, int64_t now_ms,
                         std::string_view command, protocol::ReplyWriter& reply, int64_t* at_ms);

// Replies for a container command (CLIENT, CONFIG, COMMAND) whose subcommand args[1] did not
// run, as Redis 7 does: the arity error ("wrong number of arguments for 'client|id' command")
// when the container lists that subcommand, else "unknown subcommand '<sub>'. Try CLIENT HELP.".
void ReplySubcommandError(CommandContext& ctx);

// The live entry for key (expired keys are removed first), and where it lives in *at.
storage::Entry* Lookup(CommandContext& ctx, std::string_view key, storage::KeyLocation* at);

// Writes a HELP reply: one simple string per line.
template <size_t N>
void ReplyHelp(protocol::ReplyWriter& reply, const char* const (&lines)[N]) {
  reply.ArrayHeader(N);
  for (const char* line : lines) reply.Simple(line);
}

}  // namespace flightcache::server
