// http_origin.h — an Origin that answers a key with one HTTP GET.
//
// URL: http://host:port/any/path/{name} (or https://): each `{name}` is the capture of that
// name in the route's pattern, percent-encoded (every byte but A-Z a-z 0-9 - . _ ~ becomes %XX),
// so a capture is always exactly one piece of the URL and never adds a '/', '?' or '#'.
// `{key}` is the whole key when the pattern has no capture called key. Mapping: 200 → the body
// is the value; 404 and 410 → not found; any other status → "origin error: HTTP <status>".
// `Cache-Control: max-age=N` (or s-maxage, which wins) sets the filled entry's TTL to N s;
// `no-store` (or max-age=0) answers the value without storing it; `stale-while-revalidate=N`
// and `stale-if-error=N` (RFC 5861) set the entry's freshness windows (origin/read_through.h).
// Transport: libcurl's multi interface on the loop (curl_multi_socket_action driven by one
// uv_poll per socket curl asks for and one uv_timer for curl's timeouts), one CURLM per origin
// so its keep-alive connections are reused across fetches, at most `pool` at once
// (CURLMOPT_MAX_HOST_CONNECTIONS). Pool slots, FIFO queue, deadlines and deferred delivery come
// from PooledOrigin (pool.h): a slot is one easy handle, running one request at a time. A
// request past its deadline is removed from the multi handle (DropOnTimeout), which closes its
// connection, so no late reply can answer another key.
// Connect backoff: curl opens TCP connections itself, per request, so the base's open backoff
// does not see a refused or unresolvable server. After a transfer fails to connect, requests
// fail at once with kUnreachable ("... (backing off)") for 50 ms, doubling with each further
// connect failure up to 2 s; any response from the server ends the backoff.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "origin/pool.h"

struct uv_poll_s;
struct uv_timer_s;

namespace flightcache::origin {

// A URL with `{name}` placeholders, split once at start-up.
struct HttpUrlTemplate {
  struct Part {
    std::string literal;  // text copied as is
    int capture = -1;     // >= 0: the capture's index; -2: the whole key; -1: a literal
  };
  std::vector<Part> parts;
  // The URL for key and its captures, with every placeholder percent-encoded.
  std::string Expand(std::string_view key, const std::vector<std::string>& captures) const;
};

// Every byte of text but the unreserved ones (A-Z a-z 0-9 - . _ ~) as %XX (upper-case hex).
std::string PercentEncode(std::string_view text);

// Splits an http:// or https:// url into *out; false with *error for another scheme, an
// unclosed `{`, a placeholder that names no capture (and is not {key}), or a URL libcurl
// cannot parse.
bool ParseHttpUrl(std::string_view url, const std::vector<std::string>& capture_names,
                  HttpUrlTemplate* out, std::string* error);

// What a response's Cache-Control says for this cache: max_age_s (-1: none given) and no_store.
struct CacheControl {
  int64_t max_age_s = -1;
  bool no_store = false;
  // RFC 5861's windows (-1: not given): the filled entry's own, over the route's and flags'.
  int64_t stale_while_revalidate_s = -1;
  int64_t stale_if_error_s = -1;
};
// Parses the value of one Cache-Control header into *out (directives add up across headers).
void ParseCacheControl(std::string_view value, CacheControl* out);

class HttpOrigin final : public PooledOrigin {
 public:
  HttpOrigin(uv_loop_s* loop, HttpUrlTemplate url, std::string description, int max_connections,
             int timeout_ms);
  ~HttpOrigin() override;  // calls Close()

  std::string Describe() const override { return description_; }
  // As PooledOrigin::Close, and removes every transfer still out from the multi handle.
  void Close() override;

  struct Slot;    // one easy handle (http_origin.cc)
  struct Socket;  // one socket curl asked us to watch

 private:
  void OpenConnection(ConnRef ref) override;
  void SendRequest(ConnRef ref, const Request& request) override;
  void CloseConnection(ConnRef ref) override;
  bool DropOnTimeout() const override { return true; }

  static int OnCurlSocket(void* easy, int fd, int what, void* userp, void* socketp);
  static int OnCurlTimer(void* multi, long timeout_ms, void* userp);
  static void OnPoll(uv_poll_s* poll, int status, int events);
  static void OnTimeout(uv_timer_s* timer);
  static void OnReportTimer(uv_timer_s* timer);
  // Tells curl about an event (fd, or the timeout) and reports the transfers it finished.
  void Act(int fd, int events);
  void ReportDone();
  void ReportLater(std::function<void()> report);
  Slot& SlotAt(ConnRef ref);
  // A transfer failed to connect with reason: starts or lengthens the backoff.
  void ConnectFailed(const std::string& reason);

  HttpUrlTemplate url_;
  std::string description_;
  void* multi_ = nullptr;                     // CURLM*
  std::vector<std::unique_ptr<Slot>> slots_;  // by ConnRef::index
  std::vector<std::function<void()>> later_;  // run from report_timer_
  uv_timer_s* curl_timer_ = nullptr;
  uv_timer_s* report_timer_ = nullptr;
  int connect_backoff_ms_ = 0;     // 0: the last transfer reached the server
  uint64_t connect_retry_at_ = 0;  // uv_now before which requests fail at once
  std::string connect_error_;
};

}  // namespace flightcache::origin
