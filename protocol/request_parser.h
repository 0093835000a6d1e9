// request_parser.h — incremental RESP2 request parser (multibulk and inline).
//
// The parser consumes bytes as they arrive, split at any byte, and copies each argument into
// storage it reuses between commands, so the caller can drop every consumed byte at once.
// Parse() stops after one complete command; call it again with the rest for pipelining.
// Limits follow Redis 7: proto-max-bulk-len, 64 KB inline requests and count lines, 1M...
// Owner: one per client connection (server/connection). Standard library only.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace flightcache::protocol {

enum class ParseStatus : uint8_t {
  kNeedMore,             // every byte given was consumed; no command is complete yet
  kCommandReady,         // one command is complete: read it with args(), then Reset()
  kEmpty,                // an empty inline line or *0 / negative count was consumed: nothing to run
  kErrorMultibulkLen,    // Protocol error: invalid multibulk length
  kErrorBulkLen,         // Protocol error: invalid bulk length
  kErrorExpectedDollar,  // Protocol error: expected '$', got 'x'
  kErrorUnbalancedQuotes,  // Protocol error: unbalanced quotes in request
  kErrorInlineTooBig,      // Protocol error: too big inline request
  kErrorMbulkCountTooBig,  // Protocol error: too big mbulk count string
  kErrorBulkCountTooBig,   // Protocol error: too big bulk count string
  kErrorUnauthMultibulk,   // Protocol error: unauthenticated multibulk length
  kErrorUnauthBulk,        // Protocol error: unauthenticated bulk length
};

struct ParseResult {
  ParseStatus status;
  size_t consumed;  // bytes of the input consumed by this call
};

struct ParserLimits {
  int64_t max_bulk_len = 512LL * 1024 * 1024;        // proto-max-bulk-len
  size_t max_inline_len = 64 * 1024;                 // PROTO_INLINE_MAX_SIZE
  int64_t max_multibulk_len = 1024LL * 1024 * 1024;  // Redis: INT_MAX; we cap lower
  // Before AUTH, Redis refuses more than 10 arguments and bulks over 16 KB.
  bool unauthenticated = false;
};

class RequestParser {
 public:
  explicit RequestParser(const ParserLimits* limits) : limits_(limits) {}

  // Consumes bytes from input until one command is complete, an error is found, or the input
  // ends. On an error the connection must reply with ErrorText() and close.
  ParseResult Parse(std::string_view input);

  // The arguments of the command that kCommandReady reported. Valid until Reset()/Parse(),
  // and only while the input given to Parse() is unchanged: a command that arrived whole is
  // not copied; its arguments point into that input.
  const std::vector<std::string_view>& args() const { return arg_views_; }
  size_t argc() const { return arg_views_.size(); }

  // Forgets the finished command, keeping small buffers for the next one. Argument buffers
  // past kKeptBufferCapacity are released, as Redis frees a command's argv: otherwise a client
  // would hold the largest request it ever sent for as long as it stays connected.
  void Reset();

  // Gives back what the command being parsed does not need: spare argument buffers, an
  // oversized line buffer, the unused reserve of a partly received argument, and a huge
  // argument table. Never touches bytes already parsed. For idle clients (server cron).
  void ShrinkBuffers();
  // Bytes of buffer capacity held now (what ShrinkBuffers can reduce). O(argument buffers).
  size_t BufferBytes() const;
  static constexpr size_t kKeptBufferCapacity = 32 * 1024;

  // Bytes held for the command being parsed: what client-query-buffer-limit is checked against.
  size_t PendingBytes() const { return pending_bytes_; }

  // The error reply for an error status, without the leading '-' and trailing CRLF,
  // e.g. "ERR Protocol error: invalid bulk length".
  std::string ErrorText(ParseStatus status) const;

 private:
  enum class State : uint8_t { kStart, kMultibulkCount, kBulkHeader, kBulkData, kInline };

  // Parses a multibulk command that lies wholly in input, without copying. Returns false
  // (consuming nothing) when it is incomplete or anything is unusual: the general path then
  // takes over and reports errors.
  bool ParseWhole(std::string_view input, size_t& pos);
  ParseResult ParseMultibulkCount(std::string_view input, size_t& pos);
  ParseResult ParseBulkHeader(std::string_view input, size_t& pos);
  ParseResult ParseBulkData(std::string_view input, size_t& pos);
  ParseResult ParseInline(std::string_view input, size_t& pos);
  // Reads bytes up to CRLF into line_; true once the line is complete.
  bool ReadLine(std::string_view input, size_t& pos);
  void FinishCommand();

  const ParserLimits* limits_;
  State state_ = State::kStart;
  std::string line_;               // a header or inline line being assembled
  int64_t args_expected_ = 0;      // multibulk: arguments still to come
  int64_t bulk_remaining_ = 0;     // bytes of the current bulk (plus CRLF) still to come
  size_t argc_ = 0;                // arguments complete so far
  std::vector<std::string> args_;  // reused buffers, one per argument
  bool copied_args_ = false;       // the command just finished was assembled in args_
  std::vector<std::string_view> arg_views_;
  size_t pending_bytes_ = 0;
  char unexpected_char_ = 0;
};

}  // namespace flightcache::protocol
