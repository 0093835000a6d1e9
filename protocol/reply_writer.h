// reply_writer.h — appends RESP2 or RESP3 replies to a byte buffer.
//
// One writer serves one connection; its protocol version follows HELLO. RESP3-only types
// (map, set, double, null, boolean, verbatim) degrade to their RESP2 forms as Redis does.
// The writer never allocates beyond the target buffer's growth. Standard library only.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace flightcache::protocol {

class ReplyWriter {
 public:
  ReplyWriter() = default;
  explicit ReplyWriter(std::string* out) : out_(out) {}

  // A guard on the size of the output buffer, for the server's client-output-buffer-limit.
  // When a reply would take the buffer past check_above bytes, check(ctx, size it would have)
  // is asked first; it may move check_above (set_check_above) and returns whether to write.
  // After one refusal the writer drops every later reply: the connection is being closed.
  using SizeCheck = bool (*)(void* ctx, size_t size);
  void set_size_check(SizeCheck check, void* ctx) {
    check_ = check;
    check_ctx_ = ctx;
  }
  void set_check_above(size_t bytes) { check_above_ = bytes; }
  size_t check_above() const { return check_above_; }
  bool output_check_armed() const { return check_above_ != SIZE_MAX; }
  bool dropping() const { return dropping_; }

  void set_output(std::string* out) { out_ = out; }
  std::string* output() const { return out_; }
  void set_resp3(bool resp3) { resp3_ = resp3; }
  bool resp3() const { return resp3_; }

  void Simple(std::string_view s);       // +OK
  void Error(std::string_view message);  // -ERR ... (message must carry its code)
  void Integer(int64_t v);               // :42
  void Bulk(std::string_view s);         // $3\r\nfoo
  void Null();                           // RESP2 $-1, RESP3 _
  void NullArray();                      // RESP2 *-1, RESP3 _
  void ArrayHeader(size_t n);            // *n
  void MapHeader(size_t pairs);          // RESP3 %n, RESP2 *2n
  void SetHeader(size_t n);              // RESP3 ~n, RESP2 *n
  void PushHeader(size_t n);             // RESP3 >n (out-of-band: pub/sub), RESP2 *n
  void Double(double v);                 // RESP3 ,v, RESP2 bulk
  void Boolean(bool v);                  // RESP3 #t/#f, RESP2 :1/:0
  void Verbatim(std::string_view s);     // RESP3 =n\r\ntxt:..., RESP2 bulk
  void Ok() { Simple("OK"); }
  void Raw(std::string_view bytes) {
    if (Admit(bytes.size())) out_->append(bytes);
  }
  // Error replies written so far (failed_calls and total_error_replies count them).
  uint64_t error_count() const { return error_count_; }

 private:
  void Header(char type, int64_t n);
  // Whether a reply of about n more bytes may be written (see set_size_check).
  bool Admit(size_t n) {
    if (out_->size() + n <= check_above_) return !dropping_;
    return AdmitChecked(n);
  }
  bool AdmitChecked(size_t n);
  std::string* out_ = nullptr;
  SizeCheck check_ = nullptr;
  void* check_ctx_ = nullptr;
  size_t check_above_ = SIZE_MAX;
  bool dropping_ = false;
  bool resp3_ = false;
  uint64_t error_count_ = 0;
};

// Formats a double the way Redis's INCRBYFLOAT and RESP3 doubles print it ("%.17Lg" trimmed).
std::string FormatDouble(long double v);

}  // namespace flightcache::protocol
