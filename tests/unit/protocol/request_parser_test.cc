// request_parser_test.cc — the RESP request parser fed whole, in fragments and pipelined,
// checking statuses, arguments and bytes consumed, and every protocol error Redis reports.
#include "protocol/request_parser.h"

#include <doctest/doctest.h>

#include <string>
#include <vector>

using flightcache::protocol::ParserLimits;
using flightcache::protocol::ParseStatus;
using flightcache::protocol::RequestParser;

namespace {

struct Parsed {
  std::vector<std::vector<std::string>> commands;
  ParseStatus last = ParseStatus::kNeedMore;
  size_t consumed = 0;
};

// Feeds input in pieces of `step` bytes, the way reads arrive, collecting every command.
Parsed Feed(const std::string& input, size_t step, const ParserLimits& limits = {}) {
  RequestParser parser(&limits);
  Parsed out;
  for (size_t offset = 0; offset < input.size(); offset += step) {
    std::string_view piece(input.data() + offset, std::min(step, input.size() - offset));
    while (!piece.empty()) {
      auto r = parser.Parse(piece);
      out.consumed += r.consumed;
      out.last = r.status;
      piece.remove_prefix(r.consumed);
      if (r.status == ParseStatus::kCommandReady) {
        std::vector<std::string> args;
        for (auto a : parser.args()) args.emplace_back(a);
        out.commands.push_back(args);
        parser.Reset();
      } else if (r.status == ParseStatus::kNeedMore || r.status == ParseStatus::kEmpty) {
        if (r.status == ParseStatus::kNeedMore) REQUIRE(piece.empty());
      } else {
        return out;  // an error ends the connection
      }
    }
  }
  return out;
}

}  // namespace

TEST_CASE("a multibulk command parses whole and reports every byte consumed") {
  std::string in = "*3\r\n$3\r\nSET\r\n$3\r\nkey\r\n$5\r\nvalue\r\n";
  Parsed p = Feed(in, in.size());
  REQUIRE(p.commands.size() == 1);
  CHECK(p.commands[0] == std::vector<std::string>{"SET", "key", "value"});
  CHECK(p.consumed == in.size());
  CHECK(p.last == ParseStatus::kCommandReady);
}

TEST_CASE("a command split at every byte gives the same arguments") {
  static const char kBytes[] = "*2\r\n$3\r\nGET\r\n$10\r\nabc\r\n\0xyz1\r\n";
  const std::string in(kBytes, sizeof(kBytes) - 1);

  for (size_t step = 1; step <= in.size(); ++step) {
    Parsed p = Feed(in, step);
    REQUIRE(p.commands.size() == 1);
    CHECK(p.commands[0][1] == std::string("abc\r\n\0xyz1", 10));
    CHECK(p.consumed == in.size());
  }
}

TEST_CASE("pipelined commands parse one at a time in order") {
  std::string in;
  for (int i = 0; i < 50; ++i) {
    std::string n = std::to_string(i);
    in += "*2\r\n$4\r\nECHO\r\n$" + std::to_string(n.size()) + "\r\n" + n + "\r\n";
  }
  for (size_t step : {size_t{1}, size_t{7}, in.size()}) {
    Parsed p = Feed(in, step);
    REQUIRE(p.commands.size() == 50);
    CHECK(p.commands[49][1] == "49");
    CHECK(p.consumed == in.size());
  }
}

TEST_CASE("inline commands split on spaces and honour quotes and escapes") {
  Parsed p = Feed("SET k \"a b\\x41\\n\" 'it\\'s'\r\nPING\n", 1);
  REQUIRE(p.commands.size() == 2);
  CHECK(p.commands[0] == std::vector<std::string>{"SET", "k", "a bA\n", "it's"});
  CHECK(p.commands[1] == std::vector<std::string>{"PING"});
}

TEST_CASE("empty inline lines and zero or negative multibulk counts are ignored") {
  Parsed p = Feed("\r\n\n*0\r\n*-1\r\nPING\r\n", 3);
  REQUIRE(p.commands.size() == 1);
  CHECK(p.commands[0][0] == "PING");
}

TEST_CASE("each protocol error is reported with Redis's wording") {
  ParserLimits limits;
  RequestParser parser(&limits);
  struct Case {
    std::string input;
    ParseStatus status;
    std::string text;
  };
  std::vector<Case> cases = {
      {"*abc\r\n", ParseStatus::kErrorMultibulkLen, "ERR Protocol error: invalid multibulk length"},
      {"*1\r\n$-5\r\n", ParseStatus::kErrorBulkLen, "ERR Protocol error: invalid bulk length"},
      {"*1\r\n$x\r\n", ParseStatus::kErrorBulkLen, "ERR Protocol error: invalid bulk length"},
      {"*1\r\n+OK\r\n", ParseStatus::kErrorExpectedDollar,
       "ERR Protocol error: expected '$', got '+'"},
      {"SET \"abc\r\n", ParseStatus::kErrorUnbalancedQuotes,
       "ERR Protocol error: unbalanced quotes in request"},
      {"*1\r\n$600000000\r\n", ParseStatus::kErrorBulkLen,
       "ERR Protocol error: invalid bulk length"},
  };
  for (const Case& c : cases) {
    CAPTURE(c.input);
    RequestParser p(&limits);
    auto r = p.Parse(c.input);
    CHECK(r.status == c.status);
    CHECK(p.ErrorText(r.status) == c.text);
  }
}

TEST_CASE("an inline request over 64 KB without a newline is too big") {
  ParserLimits limits;
  RequestParser parser(&limits);
  std::string big(70 * 1024, 'a');
  auto r = parser.Parse(big);
  CHECK(r.status == ParseStatus::kErrorInlineTooBig);
  CHECK(parser.ErrorText(r.status) == "ERR Protocol error: too big inline request");
}

TEST_CASE("a multibulk count line over 64 KB is too big") {
  ParserLimits limits;
  RequestParser parser(&limits);
  std::string big = "*" + std::string(70 * 1024, '1');
  auto r = parser.Parse(big);
  CHECK(r.status == ParseStatus::kErrorMbulkCountTooBig);
}

TEST_CASE("before AUTH, more than 10 arguments or bulks over 16 KB are refused") {
  ParserLimits limits;
  limits.unauthenticated = true;
  RequestParser a(&limits);
  CHECK(a.Parse("*11\r\n").status == ParseStatus::kErrorUnauthMultibulk);
  RequestParser b(&limits);
  CHECK(b.Parse("*1\r\n$16385\r\n").status == ParseStatus::kErrorUnauthBulk);
}

TEST_CASE("proto-max-bulk-len bounds the bulk length") {
  ParserLimits limits;
  limits.max_bulk_len = 1024;
  RequestParser parser(&limits);
  CHECK(parser.Parse("*1\r\n$1025\r\n").status == ParseStatus::kErrorBulkLen);
  RequestParser ok(&limits);
  CHECK(ok.Parse("*1\r\n$1024\r\n").status == ParseStatus::kNeedMore);
}

TEST_CASE("pending bytes grow with a partial command and reset after it") {
  ParserLimits limits;
  RequestParser parser(&limits);
  auto r = parser.Parse("*2\r\n$3\r\nSET\r\n$100\r\n0123456789");
  CHECK(r.status == ParseStatus::kNeedMore);
  CHECK(parser.PendingBytes() > 10);
  parser.Reset();
  CHECK(parser.PendingBytes() == 0);
}
