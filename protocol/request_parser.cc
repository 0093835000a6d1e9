// request_parser.cc — the incremental RESP2 request parser (see request_parser.h).
//
// A command is parsed in states: the first byte picks multibulk ('*') or inline; a multibulk
// command is a count line, then for each argument a "$len" header and len bytes plus CRLF.
// Every byte handed in is consumed; partial lines are kept in line_, partial bulks in args_.
// Redis's checks and wording are followed: see networking.c processMultibulkBuffer().
#include "protocol/request_parser.h"

#include <algorithm>
#include <cstring>

namespace flightcache::protocol {
namespace {

constexpr int64_t kMaxUnauthMultibulk = 10;
constexpr int64_t kMaxUnauthBulk = 16384;
// Bulk buffers are reserved up front only up to this size; larger ones grow as data arrives,
// so a client that announces 512 MB and sends nothing costs nothing.
constexpr int64_t kMaxBulkReserve = 1 << 20;

// Strict decimal parse as Redis's string2ll: optional '-', digits, no spaces, no overflow.
bool ParseInt64(std::string_view s, int64_t* out) {
  if (s.empty() || s.size() > 20) return false;
  size_t i = 0;
  bool negative = false;
  if (s[0] == '-') {
    negative = true;
    i = 1;
    if (s.size() == 1) return false;
  }
  uint64_t value = 0;
  for (; i < s.size(); ++i) {
    char c = s[i];
    if (c < '0' || c > '9') return false;
    uint64_t digit = static_cast<uint64_t>(c - '0');
    if (value > (UINT64_MAX - digit) / 10) return false;
    value = value * 10 + digit;
  }
  if (negative) {
    if (value > static_cast<uint64_t>(INT64_MAX) + 1) return false;
    *out = static_cast<int64_t>(0 - value);
  } else {
    if (value > static_cast<uint64_t>(INT64_MAX)) return false;
    *out = static_cast<int64_t>(value);
  }
  return true;
}

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// A line still waiting for its '\n': its length without a trailing '\r', which may be the
// CR of the CRLF, so the limit check gives the same answer however the line was split.
size_t PartialLineLength(const std::string& line) {
  return line.size() - (!line.empty() && line.back() == '\r' ? 1 : 0);
}

bool IsSpace(char c) {
  return c == ' ' || c == '\n' || c == '\r' || c == '\t' || c == '\v' || c == '\f';
}

// Splits an inline request as Redis's sdssplitargs(): whitespace-separated words, "double
// quotes" with C escapes (\n, \xHH, ...), 'single quotes' with only \'. A closing quote must
// be followed by a space or the end. Returns false on unbalanced quotes.
bool SplitInlineArgs(std::string_view line, std::vector<std::string>& args, size_t& argc) {
  size_t p = 0;
  const size_t n = line.size();
  argc = 0;
  while (true) {
    while (p < n && IsSpace(line[p])) ++p;
    if (p >= n) return true;
    if (args.size() <= argc) args.emplace_back();
    std::string& current = args[argc];
    current.clear();
    bool in_double = false, in_single = false, done = false;
    while (!done) {
      if (in_double) {
        if (p >= n) return false;
        if (line[p] == '\\' && p + 3 < n && line[p + 1] == 'x' && HexValue(line[p + 2]) >= 0 &&
            HexValue(line[p + 3]) >= 0) {
          current.push_back(static_cast<char>(HexValue(line[p + 2]) * 16 + HexValue(line[p + 3])));
          p += 3;
        } else if (line[p] == '\\' && p + 1 < n) {
          ++p;
          char c = line[p];
          switch (c) {
            case 'n':
              c = '\n';
              break;
            case 'r':
              c = '\r';
              break;
            case 't':
              c = '\t';
              break;
            case 'b':
              c = '\b';
              break;
            case 'a':
              c = '\a';
              break;
            default:
              break;
          }
          current.push_back(c);
        } else if (line[p] == '"') {
          if (p + 1 < n && !IsSpace(line[p + 1])) return false;
          done = true;
        } else {
          current.push_back(line[p]);
        }
      } else if (in_single) {
        if (p >= n) return false;
        if (line[p] == '\\' && p + 1 < n && line[p + 1] == '\'') {
          ++p;
          current.push_back('\'');
        } else if (line[p] == '\'') {
          if (p + 1 < n && !IsSpace(line[p + 1])) return false;
          done = true;
        } else {
          current.push_back(line[p]);
        }
      } else {
        if (p >= n) {
          done = true;
          break;
        }
        switch (line[p]) {
          case ' ':
          case '\n':
          case '\r':
          case '\t':
          case '\0':
            done = true;
            break;
          case '"':
            in_double = true;
            break;
          case '\'':
            in_single = true;
            break;
          default:
            current.push_back(line[p]);
            break;
        }
      }
      if (p < n) ++p;
    }
    ++argc;
  }
}

}  // namespace

void RequestParser::Reset() {
  if (copied_args_) {  // a zero-copy command (the common case) left the buffers untouched
    for (size_t i = 0; i <= argc_ && i < args_.size(); ++i) {
      if (args_[i].capacity() > kKeptBufferCapacity) std::string().swap(args_[i]);
    }
    copied_args_ = false;
  }
  state_ = State::kStart;
  line_.clear();
  args_expected_ = 0;
  bulk_remaining_ = 0;
  argc_ = 0;
  arg_views_.clear();
  pending_bytes_ = 0;
}

namespace {

// Releases s when it is empty, or its slack when that is most of it; small buffers stay.
void ShrinkString(std::string& s) {
  if (s.capacity() <= RequestParser::kKeptBufferCapacity) return;
  if (s.empty()) {
    std::string().swap(s);
  } else if (s.capacity() > 2 * s.size()) {
    s.shrink_to_fit();
  }
}

// Argument tables longer than this (a command with many arguments) are cut back when idle.
constexpr size_t kKeptArgSlots = 64;

}  // namespace

void RequestParser::ShrinkBuffers() {
  ShrinkString(line_);
  // args_[0, in_use) hold parsed bytes of the command in progress; the rest are spare.
  const size_t in_use = argc_ + (state_ == State::kBulkData ? 1 : 0);
  for (size_t i = 0; i < args_.size(); ++i) {
    if (i >= in_use && args_[i].capacity() > kKeptBufferCapacity) {
      std::string().swap(args_[i]);
    } else {
      ShrinkString(args_[i]);
    }
  }
  if (args_.size() > kKeptArgSlots && in_use < kKeptArgSlots) {
    args_.resize(kKeptArgSlots);
    args_.shrink_to_fit();
  }
  if (state_ == State::kStart && arg_views_.capacity() > kKeptArgSlots) {
    std::vector<std::string_view>().swap(arg_views_);
  }
}

size_t RequestParser::BufferBytes() const {
  size_t n = line_.capacity() + args_.capacity() * sizeof(std::string) +
             arg_views_.capacity() * sizeof(std::string_view);
  for (const std::string& arg : args_) n += arg.capacity();
  return n;
}

void RequestParser::FinishCommand() {
  copied_args_ = true;
  arg_views_.clear();
  for (size_t i = 0; i < argc_; ++i) arg_views_.emplace_back(args_[i]);
}

bool RequestParser::ReadLine(std::string_view input, size_t& pos) {
  const char* start = input.data() + pos;
  const size_t available = input.size() - pos;
  const void* newline = std::memchr(start, '\n', available);
  size_t take = newline ? static_cast<const char*>(newline) - start + 1 : available;
  line_.append(start, take);
  pos += take;
  pending_bytes_ += take;
  if (!newline) return false;
  line_.pop_back();  // '\n'
  if (!line_.empty() && line_.back() == '\r') line_.pop_back();
  return true;
}

ParseResult RequestParser::Parse(std::string_view input) {
  size_t pos = 0;
  while (true) {
    switch (state_) {
      case State::kStart:
        if (pos >= input.size()) return {ParseStatus::kNeedMore, pos};
        if (input[pos] == '*' && ParseWhole(input, pos)) return {ParseStatus::kCommandReady, pos};
        state_ = input[pos] == '*' ? State::kMultibulkCount : State::kInline;
        if (state_ == State::kMultibulkCount) ++pos;
        break;
      case State::kMultibulkCount: {
        ParseResult r = ParseMultibulkCount(input, pos);
        if (r.status != ParseStatus::kNeedMore || pos >= input.size()) return r;
        break;
      }
      case State::kBulkHeader: {
        ParseResult r = ParseBulkHeader(input, pos);
        if (r.status != ParseStatus::kNeedMore || pos >= input.size()) return r;
        break;
      }
      case State::kBulkData: {
        ParseResult r = ParseBulkData(input, pos);
        if (r.status != ParseStatus::kNeedMore || pos >= input.size()) return r;
        break;
      }
      case State::kInline:
        return ParseInline(input, pos);
    }
  }
}

namespace {

// Reads a strictly positive decimal terminated by CRLF at p; advances p past the CRLF.
bool ReadCountLine(const char*& p, const char* end, int64_t* out) {
  int64_t v = 0;
  const char* start = p;
  while (p < end && *p >= '0' && *p <= '9') {
    if (v > (INT64_MAX - 9) / 10) return false;
    v = v * 10 + (*p - '0');
    ++p;
  }
  if (p == start || p + 1 >= end || p[0] != '\r' || p[1] != '\n') return false;
  if (*start == '0' && p - start > 1) return false;
  p += 2;
  *out = v;
  return true;
}

}  // namespace

bool RequestParser::ParseWhole(std::string_view input, size_t& pos) {
  const char* p = input.data() + pos + 1;  // past '*'
  const char* end = input.data() + input.size();
  int64_t count;
  if (!ReadCountLine(p, end, &count) || count <= 0 || count > limits_->max_multibulk_len) {
    return false;
  }
  if (limits_->unauthenticated && count > kMaxUnauthMultibulk) return false;
  arg_views_.clear();
  for (int64_t i = 0; i < count; ++i) {
    int64_t len;
    if (p >= end || *p != '$') return false;
    ++p;
    if (!ReadCountLine(p, end, &len) || len > limits_->max_bulk_len) return false;
    if (limits_->unauthenticated && len > kMaxUnauthBulk) return false;
    if (end - p < len + 2) return false;
    arg_views_.emplace_back(p, static_cast<size_t>(len));
    p += len + 2;
  }
  pos = static_cast<size_t>(p - input.data());
  return true;
}

ParseResult RequestParser::ParseMultibulkCount(std::string_view input, size_t& pos) {
  if (!ReadLine(input, pos)) {
    if (PartialLineLength(line_) > limits_->max_inline_len) {
      return {ParseStatus::kErrorMbulkCountTooBig, pos};
    }
    return {ParseStatus::kNeedMore, pos};
  }
  if (line_.size() > limits_->max_inline_len) return {ParseStatus::kErrorMbulkCountTooBig, pos};
  int64_t count = 0;
  if (!ParseInt64(line_, &count) || count > limits_->max_multibulk_len) {
    return {ParseStatus::kErrorMultibulkLen, pos};
  }
  if (limits_->unauthenticated && count > kMaxUnauthMultibulk) {
    return {ParseStatus::kErrorUnauthMultibulk, pos};
  }
  line_.clear();
  if (count <= 0) {
    // Redis ignores "*0" and "*-1": nothing to run, but the bytes are consumed.
    Reset();
    return {ParseStatus::kEmpty, pos};
  }
  args_expected_ = count;
  if (args_.size() < static_cast<size_t>(std::min<int64_t>(count, 1024))) {
    args_.resize(static_cast<size_t>(std::min<int64_t>(count, 1024)));
  }
  state_ = State::kBulkHeader;
  return {ParseStatus::kNeedMore, pos};
}

ParseResult RequestParser::ParseBulkHeader(std::string_view input, size_t& pos) {
  if (line_.empty() && pos < input.size() && input[pos] != '$') {
    unexpected_char_ = input[pos];
    return {ParseStatus::kErrorExpectedDollar, pos};
  }
  if (!ReadLine(input, pos)) {
    if (PartialLineLength(line_) > limits_->max_inline_len) {
      return {ParseStatus::kErrorBulkCountTooBig, pos};
    }
    return {ParseStatus::kNeedMore, pos};
  }
  if (line_.size() > limits_->max_inline_len) return {ParseStatus::kErrorBulkCountTooBig, pos};
  int64_t len = 0;
  std::string_view digits = std::string_view(line_).substr(1);
  if (!ParseInt64(digits, &len) || len < 0 || len > limits_->max_bulk_len) {
    return {ParseStatus::kErrorBulkLen, pos};
  }
  if (limits_->unauthenticated && len > kMaxUnauthBulk) {
    return {ParseStatus::kErrorUnauthBulk, pos};
  }
  line_.clear();
  if (args_.size() <= argc_) args_.emplace_back();
  std::string& arg = args_[argc_];
  arg.clear();
  arg.reserve(static_cast<size_t>(std::min(len, kMaxBulkReserve)));
  bulk_remaining_ = len + 2;  // the data and its CRLF
  state_ = State::kBulkData;
  return {ParseStatus::kNeedMore, pos};
}

ParseResult RequestParser::ParseBulkData(std::string_view input, size_t& pos) {
  std::string& arg = args_[argc_];
  const size_t available = input.size() - pos;
  const size_t take = std::min<size_t>(available, static_cast<size_t>(bulk_remaining_));
  // The last two bytes are the CRLF terminator; Redis skips them without checking, as we do.
  const int64_t data_left = bulk_remaining_ - 2;
  if (data_left > 0) {
    size_t data_take = std::min<size_t>(take, static_cast<size_t>(data_left));
    arg.append(input.data() + pos, data_take);
  }
  pos += take;
  pending_bytes_ += take;
  bulk_remaining_ -= static_cast<int64_t>(take);
  if (bulk_remaining_ > 0) return {ParseStatus::kNeedMore, pos};
  ++argc_;
  if (static_cast<int64_t>(argc_) == args_expected_) {
    FinishCommand();
    return {ParseStatus::kCommandReady, pos};
  }
  state_ = State::kBulkHeader;
  return {ParseStatus::kNeedMore, pos};
}

ParseResult RequestParser::ParseInline(std::string_view input, size_t& pos) {
  if (!ReadLine(input, pos)) {
    if (PartialLineLength(line_) > limits_->max_inline_len) {
      return {ParseStatus::kErrorInlineTooBig, pos};
    }
    return {ParseStatus::kNeedMore, pos};
  }
  if (line_.size() > limits_->max_inline_len) return {ParseStatus::kErrorInlineTooBig, pos};
  if (!SplitInlineArgs(line_, args_, argc_)) return {ParseStatus::kErrorUnbalancedQuotes, pos};
  line_.clear();
  if (argc_ == 0) {
    Reset();
    return {ParseStatus::kEmpty, pos};
  }
  FinishCommand();
  return {ParseStatus::kCommandReady, pos};
}

std::string RequestParser::ErrorText(ParseStatus status) const {
  switch (status) {
    case ParseStatus::kErrorMultibulkLen:
      return "ERR Protocol error: invalid multibulk length";
    case ParseStatus::kErrorBulkLen:
      return "ERR Protocol error: invalid bulk length";
    case ParseStatus::kErrorExpectedDollar:
      return std::string("ERR Protocol error: expected '$', got '") + unexpected_char_ + "'";
    case ParseStatus::kErrorUnbalancedQuotes:
      return "ERR Protocol error: unbalanced quotes in request";
    case ParseStatus::kErrorInlineTooBig:
      return "ERR Protocol error: too big inline request";
    case ParseStatus::kErrorMbulkCountTooBig:
      return "ERR Protocol error: too big mbulk count string";
    case ParseStatus::kErrorBulkCountTooBig:
      return "ERR Protocol error: too big bulk count string";
    case ParseStatus::kErrorUnauthMultibulk:
      return "ERR Protocol error: unauthenticated multibulk length";
    case ParseStatus::kErrorUnauthBulk:
      return "ERR Protocol error: unauthenticated bulk length";
    default:
      return "ERR Protocol error";
  }
}

}  // namespace flightcache::protocol
