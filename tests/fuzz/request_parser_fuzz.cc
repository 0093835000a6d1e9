// request_parser_fuzz.cc — libFuzzer target for protocol::RequestParser.
//
// Input layout: byte 0 picks the limits (bit 7: small limits, bit 6: unauthenticated) and the
// largest fragment size (bits 0-5, plus one); byte 1 seeds the fragment sizes; the rest is
// what a client sends. The payload is parsed twice, as a connection parses it: once handed
// over whole, once split into fragments. Both runs must yield the same commands, the same
// final status and the same error text. Every Parse() call must stay inside its input, make
// progress, consume everything on kNeedMore, and produce arguments the limits allow.
// Each Parse() call reads a heap copy of exactly the unread bytes, so ASan reports any read
// past the input. The copy lives until the command's arguments are read: a command that
// arrived whole may point into it (see RequestParser::args()).
#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "protocol/request_parser.h"

namespace {

using flightcache::protocol::ParseResult;
using flightcache::protocol::ParserLimits;
using flightcache::protocol::ParseStatus;
using flightcache::protocol::RequestParser;

constexpr size_t kUnauthMaxBulk = 16384;  // Redis: bulks before AUTH are at most 16 KB

// What a connection saw: each command's arguments in order (an empty list stands for
// kEmpty), then the status that ended the input and, for an error, its reply text.
struct Outcome {
  std::vector<std::vector<std::string>> commands;
  ParseStatus final_status = ParseStatus::kNeedMore;
  std::string error_text;
};

// Aborts with a message when an invariant fails, so libFuzzer saves the input.
void Check(bool ok, const char* what) {
  if (!ok) {
    std::fprintf(stderr, "request_parser_fuzz: invariant failed: %s\n", what);
    std::abort();
  }
}

bool IsError(ParseStatus status) {
  return status != ParseStatus::kNeedMore && status != ParseStatus::kCommandReady &&
         status != ParseStatus::kEmpty;
}

uint32_t NextRandom(uint32_t& state) {  // xorshift32; the state must not be 0
  state ^= state << 13;
  state ^= state >> 17;
  state ^= state << 5;
  return state;
}

// Checks a finished command against the limits and records it.
void RecordCommand(const RequestParser& parser, const ParserLimits& limits, size_t command_bytes,
                   Outcome& out) {
  const auto& args = parser.args();
  Check(!args.empty(), "kCommandReady with no arguments");
  Check(parser.argc() == args.size(), "argc() differs from args().size()");
  const size_t max_arg = static_cast<size_t>(
      std::max<int64_t>(limits.max_bulk_len, static_cast<int64_t>(limits.max_inline_len)));
  size_t total = 0;
  std::vector<std::string> copy;
  for (std::string_view arg : args) {
    Check(arg.size() <= max_arg, "argument longer than the limits allow");
    if (limits.unauthenticated) {
      Check(arg.size() <= std::max(kUnauthMaxBulk, limits.max_inline_len),
            "unauthenticated argument longer than 16 KB");
    }
    total += arg.size();
    copy.emplace_back(arg);
  }
  Check(total <= command_bytes, "arguments hold more bytes than the command took");
  out.commands.push_back(std::move(copy));
}

// Parses payload as a connection does, handing it over in fragments of 1..max_fragment bytes
// (sizes drawn from seed), or whole when max_fragment is 0.
Outcome Run(const ParserLimits& limits, std::string_view payload, size_t max_fragment,
            uint32_t seed) {
  RequestParser parser(&limits);
  Outcome out;
  std::string received;      // bytes that arrived and are not consumed yet
  size_t command_bytes = 0;  // bytes consumed since the last command ended
  size_t offset = 0;
  while (offset < payload.size()) {
    size_t n = payload.size() - offset;
    if (max_fragment > 0) n = std::min<size_t>(n, 1 + NextRandom(seed) % max_fragment);
    received.append(payload.substr(offset, n));
    offset += n;
    size_t start = 0;
    while (start < received.size()) {
      const size_t size = received.size() - start;
      auto exact = std::make_unique<char[]>(size);
      std::memcpy(exact.get(), received.data() + start, size);
      ParseResult r = parser.Parse(std::string_view(exact.get(), size));
      Check(r.consumed <= size, "consumed more bytes than given");
      start += r.consumed;
      command_bytes += r.consumed;
      if (IsError(r.status)) {
        std::string text = parser.ErrorText(r.status);
        Check(text.rfind("ERR Protocol error: ", 0) == 0, "error text lacks the Redis prefix");
        out.final_status = r.status;
        out.error_text = std::move(text);
        return out;  // the connection replies and closes
      }
      if (r.status == ParseStatus::kNeedMore) {
        Check(r.consumed == size, "kNeedMore left bytes unconsumed");
        Check(parser.PendingBytes() <= command_bytes, "PendingBytes() counts unseen bytes");
        continue;
      }
      Check(r.consumed > 0, "a command ended without consuming a byte");
      if (r.status == ParseStatus::kCommandReady) {
        RecordCommand(parser, limits, command_bytes, out);
      } else {
        out.commands.emplace_back();  // kEmpty
      }
      parser.Reset();
      command_bytes = 0;
    }
    received.clear();
  }
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 2) return 0;
  ParserLimits limits;
  if (data[0] & 0x80) {  // small limits reach the limit checks with short inputs
    limits.max_bulk_len = 64;
    limits.max_inline_len = 32;
    limits.max_multibulk_len = 16;
  }
  limits.unauthenticated = (data[0] & 0x40) != 0;
  const size_t max_fragment = (data[0] & 0x3f) + 1u;
  const uint32_t seed = 0x9e3779b9u ^ data[1];
  std::string_view payload(reinterpret_cast<const char*>(data) + 2, size - 2);

  Outcome whole = Run(limits, payload, 0, seed);
  Outcome split = Run(limits, payload, max_fragment, seed);
  Check(whole.commands == split.commands, "fragments changed the commands parsed");
  Check(whole.final_status == split.final_status, "fragments changed the final status");
  Check(whole.error_text == split.error_text, "fragments changed the error text");
  return 0;
}
