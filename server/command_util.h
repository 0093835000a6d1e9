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
// Redis's getIntFromObjectOrReply past a C int's range.
inline constexpr const char* kErrNotInt32 =
    "ERR value is out of range, value must between -2147483648 and 2147483647";
inline constexpr const char* kErrNotFloat = "ERR value is not a valid float";
inline constexpr const char* kErrNoSuchKey = "ERR no such key";
inline constexpr const char* kErrWrongType =
    "WRONGTYPE Operation against a key holding the wrong kind of value";

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

// The encoding limits of the data types from this worker's config.
storage::TypeLimits TypeLimitsOf(CommandContext& ctx);

// Looks key up for a command on values of type want. Returns the live entry, or nullptr when
// the key is missing (*wrong_type false) or holds another type (*wrong_type true, and the
// WRONGTYPE error is written).
storage::Entry* LookupTyped(CommandContext& ctx, std::string_view key, storage::ValueType want,
                            storage::KeyLocation* at, bool* wrong_type);

// Parses a SCAN-family cursor (an unsigned 64-bit decimal).
bool ParseCursor(std::string_view text, uint64_t* out);

// The options of HSCAN/SSCAN/ZSCAN from args[first]: MATCH pattern, COUNT n. On failure writes
// the error (syntax, not an integer) and returns false.
struct ScanOptions {
  std::string_view pattern;
  bool has_pattern = false;
  int64_t count = 10;
};
bool ParseScanOptions(CommandContext& ctx, size_t first, ScanOptions* out);

// Writes a HELP reply: one simple string per line.
template <size_t N>
void ReplyHelp(protocol::ReplyWriter& reply, const char* const (&lines)[N]) {
  reply.ArrayHeader(N);
  for (const char* line : lines) reply.Simple(line);
}

}  // namespace flightcache::server
