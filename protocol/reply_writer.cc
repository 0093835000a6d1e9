// reply_writer.cc — RESP2/RESP3 reply encoding (see reply_writer.h).
#include "protocol/reply_writer.h"

#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstring>

namespace flightcache::protocol {
namespace {

constexpr size_t kReserveAbove = 4096;
// The most a type byte, a 64-bit count and CRLF take.
constexpr size_t kHeaderBytes = 24;
// A bulk string up to this size is framed on the stack and appended at once: one append
// instead of three (header, data, CRLF), which is most of the cost of a short element.
constexpr size_t kSmallBulk = 128;

}  // namespace

void ReplyWriter::Header(char type, int64_t n) {
  char buf[24];
  buf[0] = type;
  auto [end, ec] = std::to_chars(buf + 1, buf + sizeof(buf) - 2, n);
  (void)ec;
  *end++ = '\r';
  *end++ = '\n';
  out_->append(buf, static_cast<size_t>(end - buf));
}

bool ReplyWriter::AdmitChecked(size_t n) {
  if (dropping_) return false;
  if (check_ && !check_(check_ctx_, out_->size() + n)) dropping_ = true;
  return !dropping_;
}

void ReplyWriter::Simple(std::string_view s) {
  if (!Admit(s.size() + 3)) return;
  out_->push_back('+');
  out_->append(s);
  out_->append("\r\n");
}

void ReplyWriter::Error(std::string_view message) {
  ++error_count_;
  if (!Admit(message.size() + 3)) return;
  out_->push_back('-');
  // An error reply is one line: Redis replaces newlines so a message cannot break framing.
  for (char c : message) out_->push_back(c == '\r' || c == '\n' ? ' ' : c);
  out_->append("\r\n");
}

void ReplyWriter::Integer(int64_t v) {
  if (Admit(kHeaderBytes)) Header(':', v);
}

void ReplyWriter::Bulk(std::string_view s) {
  // Room for header, data and CRLF at once: appending the CRLF to a buffer sized to the data
  // alone would double a big value's buffer.
  if (!Admit(s.size() + kHeaderBytes + 2)) return;
  if (s.size() <= kSmallBulk) {
    char buf[kHeaderBytes + kSmallBulk + 2];
    char* p = buf;
    *p++ = '$';
    p = std::to_chars(p, buf + kHeaderBytes, s.size()).ptr;
    *p++ = '\r';
    *p++ = '\n';
    if (!s.empty()) std::memcpy(p, s.data(), s.size());
    p += s.size();
    *p++ = '\r';
    *p++ = '\n';
    out_->append(buf, static_cast<size_t>(p - buf));
    return;
  }
  if (s.size() > kReserveAbove) out_->reserve(out_->size() + s.size() + kHeaderBytes + 2);
  Header('$', static_cast<int64_t>(s.size()));
  out_->append(s);
  out_->append("\r\n");
}

void ReplyWriter::Null() {
  if (Admit(5)) out_->append(resp3_ ? "_\r\n" : "$-1\r\n");
}

void ReplyWriter::NullArray() {
  if (Admit(5)) out_->append(resp3_ ? "_\r\n" : "*-1\r\n");
}

void ReplyWriter::ArrayHeader(size_t n) {
  if (Admit(kHeaderBytes)) Header('*', static_cast<int64_t>(n));
}

void ReplyWriter::PushHeader(size_t n) {
  if (Admit(kHeaderBytes)) Header(resp3_ ? '>' : '*', static_cast<int64_t>(n));
}

void ReplyWriter::MapHeader(size_t pairs) {
  if (!Admit(kHeaderBytes)) return;
  if (resp3_) {
    Header('%', static_cast<int64_t>(pairs));
  } else {
    Header('*', static_cast<int64_t>(pairs * 2));
  }
}

void ReplyWriter::SetHeader(size_t n) {
  if (Admit(kHeaderBytes)) Header(resp3_ ? '~' : '*', static_cast<int64_t>(n));
}

void ReplyWriter::Double(double v) {
  std::string text;
  if (std::isinf(v)) {
    text = v > 0 ? "inf" : "-inf";
  } else {
    text = FormatDouble(v);
  }
  if (resp3_) {
    if (!Admit(text.size() + 3)) return;
    out_->push_back(',');
    out_->append(text);
    out_->append("\r\n");
  } else {
    Bulk(text);
  }
}

void ReplyWriter::Boolean(bool v) {
  if (resp3_) {
    if (Admit(4)) out_->append(v ? "#t\r\n" : "#f\r\n");
  } else {
    Integer(v ? 1 : 0);
  }
}

void ReplyWriter::Verbatim(std::string_view s) {
  if (!resp3_) {
    Bulk(s);
    return;
  }
  if (!Admit(s.size() + kHeaderBytes + 6)) return;
  Header('=', static_cast<int64_t>(s.size() + 4));
  out_->append("txt:");
  out_->append(s);
  out_->append("\r\n");
}

std::string FormatDouble(long double v) {
  // A finite long double can need about 4950 characters in %Lf form (LDBL_MAX has 4933
  // integer digits), so measure first rather than trusting a fixed buffer.
  int len = std::snprintf(nullptr, 0, "%.17Lf", v);
  if (len <= 0) return "0";
  std::string s(static_cast<size_t>(len) + 1, '\0');
  std::snprintf(s.data(), s.size(), "%.17Lf", v);
  s.resize(static_cast<size_t>(len));
  // Redis prints with %.17Lf and trims trailing zeroes and a trailing dot.
  if (s.find('.') != std::string::npos) {
    while (!s.empty() && s.back() == '0') s.pop_back();
    if (!s.empty() && s.back() == '.') s.pop_back();
  }
  if (s == "-0") s = "0";
  return s;
}

}  // namespace flightcache::protocol
