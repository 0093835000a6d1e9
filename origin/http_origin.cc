// http_origin.cc — HttpOrigin: libcurl's multi-socket API on uv_poll and uv_timer (see .h).
//
// curl tells us which sockets to watch (OnCurlSocket) and when to call it back (OnCurlTimer);
// every poll event and timer expiry goes back to curl_multi_socket_action, and finished
// transfers are read with curl_multi_info_read and reported to the base (ReplyDone /
// ConnectionLost) as the last thing a handler does. A Socket's uv_poll is freed in its close
// callback. Nothing calls curl_multi_socket_action from inside a curl callback.
#include "origin/http_origin.h"

#include <curl/curl.h>
#include <uv.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <mutex>

#include "origin/route.h"

namespace flightcache::origin {
namespace {

// Past this many body bytes a response is refused (a value that large is a mistake).
constexpr size_t kMaxBodyBytes = size_t{512} << 20;
constexpr int kConnectBackoffMinMs = 50;
constexpr int kConnectBackoffMaxMs = 2000;

// True when a transfer ended without reaching the server at all.
bool IsConnectFailure(CURLcode code) {
  return code == CURLE_COULDNT_CONNECT || code == CURLE_COULDNT_RESOLVE_HOST ||
         code == CURLE_COULDNT_RESOLVE_PROXY;
}

void InitCurlOnce() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

bool IsUnreserved(unsigned char c) {
  return std::isalnum(c) != 0 || c == '-' || c == '.' || c == '_' || c == '~';
}

std::string Lower(std::string_view text) {
  std::string out(text);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::string_view Trim(std::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
  while (!text.empty() &&
         (text.back() == ' ' || text.back() == '\t' || text.back() == '\r' || text.back() == '\n'))
    text.remove_suffix(1);
  return text;
}

// Seconds of a max-age value ("60" or "\"60\""); -1 when it is not a number.
int64_t DeltaSeconds(std::string_view value) {
  if (value.size() >= 2 && value.front() == '"' && value.back() == '"') {
    value = value.substr(1, value.size() - 2);
  }
  int64_t v = 0;
  auto [ptr, ec] = std::from_chars(value.data(), value.data() + value.size(), v);
  if (value.empty() || ptr != value.data() + value.size() || v < 0) return -1;
  if (ec == std::errc::result_out_of_range) return INT32_MAX;  // RFC 9111: "the greatest value"
  if (ec != std::errc()) return -1;
  return std::min<int64_t>(v, INT32_MAX);
}

}  // namespace

std::string PercentEncode(std::string_view text) {
  static const char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(text.size());
  for (char ch : text) {
    const auto c = static_cast<unsigned char>(ch);
    if (IsUnreserved(c)) {
      out.push_back(ch);
    } else {
      out.push_back('%');
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 15]);
    }
  }
  return out;
}

std::string HttpUrlTemplate::Expand(std::string_view key,
                                    const std::vector<std::string>& captures) const {
  std::string out;
  for (const Part& part : parts) {
    if (part.capture == -1) {
      out += part.literal;
    } else if (part.capture >= 0 && static_cast<size_t>(part.capture) < captures.size()) {
      out += PercentEncode(captures[static_cast<size_t>(part.capture)]);
    } else {
      out += PercentEncode(key);
    }
  }
  return out;
}

bool ParseHttpUrl(std::string_view url, const std::vector<std::string>& capture_names,
                  HttpUrlTemplate* out, std::string* error) {
  const std::string scheme = UrlScheme(url);
  if (scheme != "http" && scheme != "https") {
    *error = "http url: expected http://host:port/path/{name}";
    return false;
  }
  HttpUrlTemplate parsed;
  std::string sample;  // the URL with "x" for each placeholder, for libcurl's parser
  size_t i = 0;
  while (i < url.size()) {
    const size_t open = url.find('{', i);
    const std::string_view literal = url.substr(i, open == url.npos ? url.npos : open - i);
    if (!literal.empty()) parsed.parts.push_back({std::string(literal), -1});
    sample += literal;
    if (open == url.npos) break;
    const size_t close = url.find('}', open + 1);
    if (close == url.npos || close == open + 1) {
      *error = "http url: '{' needs a capture name and a closing '}'";
      return false;
    }
    const std::string_view name = url.substr(open + 1, close - open - 1);
    auto found = std::find(capture_names.begin(), capture_names.end(), name);
    int capture = -1;
    if (found != capture_names.end()) {
      capture = static_cast<int>(found - capture_names.begin());
    } else if (name == "key") {
      capture = -2;
    } else {
      *error = "http url: {" + std::string(name) +
               "} names no capture of the route's pattern (nor is it {key})";
      return false;
    }
    parsed.parts.push_back({"", capture});
    sample += "x";
    i = close + 1;
  }
  CURLU* handle = curl_url();
  const CURLUcode rc = curl_url_set(handle, CURLUPART_URL, sample.c_str(), 0);
  char* host = nullptr;
  const bool has_host = rc == CURLUE_OK &&
                        curl_url_get(handle, CURLUPART_HOST, &host, 0) == CURLUE_OK && host &&
                        host[0] != '\0';
  curl_free(host);
  curl_url_cleanup(handle);
  if (!has_host) {
    *error = std::string("http url: ") + (rc == CURLUE_OK ? "no host" : curl_url_strerror(rc));
    return false;
  }
  *out = std::move(parsed);
  return true;
}

void ParseCacheControl(std::string_view value, CacheControl* out) {
  int64_t shared_max_age = -1;
  while (!value.empty()) {
    const size_t comma = value.find(',');
    const std::string directive = Lower(Trim(value.substr(0, comma)));
    value = comma == value.npos ? std::string_view() : value.substr(comma + 1);
    const size_t eq = directive.find('=');
    const std::string_view name = Trim(std::string_view(directive).substr(0, eq));
    const std::string_view arg = eq == std::string::npos
                                     ? std::string_view()
                                     : Trim(std::string_view(directive).substr(eq + 1));
    // A shared cache must not keep no-store or private answers, and may not answer no-cache
    // ones without asking again: none of them is stored.
    if (name == "no-store" || name == "no-cache" || name == "private") {
      out->no_store = true;
    } else if (name == "max-age") {
      const int64_t seconds = DeltaSeconds(arg);
      if (seconds >= 0) out->max_age_s = seconds;
    } else if (name == "s-maxage") {
      shared_max_age = DeltaSeconds(arg);
    } else if (name == "stale-while-revalidate") {
      if (const int64_t seconds = DeltaSeconds(arg); seconds >= 0) {
        out->stale_while_revalidate_s = seconds;
      }
    } else if (name == "stale-if-error") {
      if (const int64_t seconds = DeltaSeconds(arg); seconds >= 0) out->stale_if_error_s = seconds;
    }
  }
  if (shared_max_age >= 0) out->max_age_s = shared_max_age;  // meant for shared caches: wins
}

// One easy handle: one request at a time, with what its response has said so far.
struct HttpOrigin::Slot {
  HttpOrigin* owner = nullptr;
  CURL* easy = nullptr;
  ConnRef ref;
  bool active = false;  // added to the multi handle
  bool too_big = false;
  std::string body;
  CacheControl cache;
  char error[CURL_ERROR_SIZE] = {};

  static size_t OnBody(char* data, size_t size, size_t count, void* userp) {
    auto* slot = static_cast<Slot*>(userp);
    const size_t bytes = size * count;
    if (slot->body.size() + bytes > kMaxBodyBytes) {
      slot->too_big = true;
      return 0;  // curl ends the transfer with CURLE_WRITE_ERROR
    }
    slot->body.append(data, bytes);
    return bytes;
  }
  static size_t OnHeader(char* data, size_t size, size_t count, void* userp) {
    auto* slot = static_cast<Slot*>(userp);
    const size_t bytes = size * count;
    const std::string_view line(data, bytes);
    if (line.substr(0, 5) == "HTTP/") {
      slot->cache = CacheControl{};  // a new response (after a 100 Continue): its own headers
    } else if (const size_t colon = line.find(':');
               colon != line.npos && Lower(line.substr(0, colon)) == "cache-control") {
      ParseCacheControl(line.substr(colon + 1), &slot->cache);
    }
    return bytes;
  }
};

// A socket curl asked us to watch; freed in its poll handle's close callback.
struct HttpOrigin::Socket {
  uv_poll_t poll;
  HttpOrigin* owner = nullptr;
  curl_socket_t fd = CURL_SOCKET_BAD;
};

HttpOrigin::HttpOrigin(uv_loop_t* loop, HttpUrlTemplate url, std::string description,
                       int max_connections, int timeout_ms)
    : PooledOrigin(loop, max_connections, timeout_ms),
      url_(std::move(url)),
      description_(std::move(description)) {
  InitCurlOnce();
  CURLM* multi = curl_multi_init();
  multi_ = multi;
  curl_multi_setopt(multi, CURLMOPT_SOCKETFUNCTION, &HttpOrigin::OnCurlSocket);
  curl_multi_setopt(multi, CURLMOPT_SOCKETDATA, this);
  curl_multi_setopt(multi, CURLMOPT_TIMERFUNCTION, &HttpOrigin::OnCurlTimer);
  curl_multi_setopt(multi, CURLMOPT_TIMERDATA, this);
  curl_multi_setopt(multi, CURLMOPT_MAX_HOST_CONNECTIONS, static_cast<long>(max_connections));
  curl_multi_setopt(multi, CURLMOPT_MAXCONNECTS, static_cast<long>(max_connections));
  curl_timer_ = new uv_timer_t;
  uv_timer_init(loop, curl_timer_);
  curl_timer_->data = this;
  report_timer_ = new uv_timer_t;
  uv_timer_init(loop, report_timer_);
  report_timer_->data = this;
}

HttpOrigin::~HttpOrigin() { Close(); }

HttpOrigin::Slot& HttpOrigin::SlotAt(ConnRef ref) {
  const auto index = static_cast<size_t>(ref.index);
  if (slots_.size() <= index) slots_.resize(index + 1);
  if (!slots_[index]) {
    auto slot = std::make_unique<Slot>();
    slot->owner = this;
    CURL* easy = curl_easy_init();
    slot->easy = easy;
    curl_easy_setopt(easy, CURLOPT_PRIVATE, slot.get());
    curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION, &Slot::OnBody);
    curl_easy_setopt(easy, CURLOPT_WRITEDATA, slot.get());
    curl_easy_setopt(easy, CURLOPT_HEADERFUNCTION, &Slot::OnHeader);
    curl_easy_setopt(easy, CURLOPT_HEADERDATA, slot.get());
    curl_easy_setopt(easy, CURLOPT_ERRORBUFFER, slot->error);
    curl_easy_setopt(easy, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(easy, CURLOPT_HTTP_VERSION, static_cast<long>(CURL_HTTP_VERSION_1_1));
    curl_easy_setopt(easy, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(easy, CURLOPT_TCP_KEEPALIVE, 1L);
    curl_easy_setopt(easy, CURLOPT_USERAGENT, "flightcache");
    slots_[index] = std::move(slot);
  }
  return *slots_[index];
}

void HttpOrigin::ReportLater(std::function<void()> report) {
  if (report_timer_ == nullptr) return;  // closed: the base answers nothing more
  later_.push_back(std::move(report));
  if (uv_is_active(reinterpret_cast<uv_handle_t*>(report_timer_)) == 0) {
    uv_timer_start(report_timer_, OnReportTimer, 0, 0);
  }
}

void HttpOrigin::OnReportTimer(uv_timer_t* timer) {
  auto* self = static_cast<HttpOrigin*>(timer->data);
  auto reports = std::move(self->later_);
  self->later_.clear();
  for (auto& report : reports) report();
}

void HttpOrigin::OpenConnection(ConnRef ref) {
  // A slot is an easy handle; curl opens (and reuses) the TCP connections itself.
  Slot& slot = SlotAt(ref);
  slot.ref = ref;
  ReportLater([this, ref]() { ConnectDone(ref, true, ""); });
}

void HttpOrigin::ConnectFailed(const std::string& reason) {
  connect_backoff_ms_ = connect_backoff_ms_ == 0
                            ? kConnectBackoffMinMs
                            : std::min(connect_backoff_ms_ * 2, kConnectBackoffMaxMs);
  connect_retry_at_ = uv_now(loop()) + static_cast<uint64_t>(connect_backoff_ms_);
  connect_error_ = reason;
}

void HttpOrigin::SendRequest(ConnRef ref, const Request& request) {
  Slot& slot = SlotAt(ref);
  if (connect_backoff_ms_ > 0 && uv_now(loop()) < connect_retry_at_) {
    // The server refused (or could not be found) a moment ago: do not knock again yet.
    FetchResult result = FetchResult::Error(
        FetchErrorKind::kUnreachable, "origin unreachable: " + connect_error_ + " (backing off)");
    ReportLater([this, ref, result]() { ReplyDone(ref, result); });
    return;
  }
  const std::string url = url_.Expand(request.key, request.params);
  slot.body.clear();
  slot.cache = CacheControl{};
  slot.too_big = false;
  slot.error[0] = '\0';
  curl_easy_setopt(slot.easy, CURLOPT_URL, url.c_str());  // curl keeps its own copy
  const CURLMcode rc = curl_multi_add_handle(static_cast<CURLM*>(multi_), slot.easy);
  if (rc != CURLM_OK) {
    const std::string reason = curl_multi_strerror(rc);
    ReportLater([this, ref, reason]() { ConnectionLost(ref, reason); });
    return;
  }
  slot.active = true;  // curl starts it from its timer (OnCurlTimer was just told)
}

void HttpOrigin::CloseConnection(ConnRef ref) {
  Slot& slot = SlotAt(ref);
  if (!slot.active) return;
  // Removing a transfer that is still out closes its connection: a late reply goes nowhere.
  curl_multi_remove_handle(static_cast<CURLM*>(multi_), slot.easy);
  slot.active = false;
}

void HttpOrigin::Close() {
  PooledOrigin::Close();
  if (multi_ == nullptr) return;
  auto* multi = static_cast<CURLM*>(multi_);
  for (auto& slot : slots_) {
    if (!slot) continue;
    if (slot->active) curl_multi_remove_handle(multi, slot->easy);
    slot->active = false;
    curl_easy_cleanup(slot->easy);
    slot->easy = nullptr;
  }
  // Closes the cached connections; curl tells OnCurlSocket to stop watching each.
  multi_ = nullptr;
  curl_multi_cleanup(multi);
  later_.clear();
  for (uv_timer_t** timer : {&curl_timer_, &report_timer_}) {
    uv_close(reinterpret_cast<uv_handle_t*>(*timer),
             [](uv_handle_t* handle) { delete reinterpret_cast<uv_timer_t*>(handle); });
    *timer = nullptr;
  }
}

int HttpOrigin::OnCurlSocket(void* /*easy*/, int fd, int what, void* userp, void* socketp) {
  auto* self = static_cast<HttpOrigin*>(userp);
  auto* socket = static_cast<Socket*>(socketp);
  if (what == CURL_POLL_REMOVE) {
    if (socket != nullptr) {
      uv_poll_stop(&socket->poll);
      uv_close(reinterpret_cast<uv_handle_t*>(&socket->poll),
               [](uv_handle_t* handle) { delete static_cast<Socket*>(handle->data); });
      // Not while Close() cleans the multi handle up (multi_ is null then).
      if (self->multi_ != nullptr)
        curl_multi_assign(static_cast<CURLM*>(self->multi_), fd, nullptr);
    }
    return 0;
  }
  if (socket == nullptr) {
    socket = new Socket;
    socket->owner = self;
    socket->fd = fd;
    if (uv_poll_init_socket(self->loop(), &socket->poll, fd) != 0) {
      delete socket;
      return -1;  // curl fails the transfer on this socket
    }
    socket->poll.data = socket;
    curl_multi_assign(static_cast<CURLM*>(self->multi_), fd, socket);
  }
  int events = 0;
  if (what == CURL_POLL_IN || what == CURL_POLL_INOUT) events |= UV_READABLE;
  if (what == CURL_POLL_OUT || what == CURL_POLL_INOUT) events |= UV_WRITABLE;
  uv_poll_start(&socket->poll, events, &HttpOrigin::OnPoll);
  return 0;
}

int HttpOrigin::OnCurlTimer(void* /*multi*/, long timeout_ms, void* userp) {
  auto* self = static_cast<HttpOrigin*>(userp);
  if (self->curl_timer_ == nullptr) return 0;
  if (timeout_ms < 0) {
    uv_timer_stop(self->curl_timer_);
  } else {
    // Never act from inside curl's callback: a 0 ms timer runs it on the next loop turn.
    uv_timer_start(self->curl_timer_, &HttpOrigin::OnTimeout, static_cast<uint64_t>(timeout_ms), 0);
  }
  return 0;
}

void HttpOrigin::OnPoll(uv_poll_t* poll, int status, int events) {
  auto* socket = static_cast<Socket*>(poll->data);
  int flags = 0;
  if (status < 0) flags |= CURL_CSELECT_ERR;
  if ((events & UV_READABLE) != 0) flags |= CURL_CSELECT_IN;
  if ((events & UV_WRITABLE) != 0) flags |= CURL_CSELECT_OUT;
  socket->owner->Act(socket->fd, flags);
}

void HttpOrigin::OnTimeout(uv_timer_t* timer) {
  static_cast<HttpOrigin*>(timer->data)->Act(CURL_SOCKET_TIMEOUT, 0);
}

void HttpOrigin::Act(int fd, int events) {
  if (multi_ == nullptr) return;
  int running = 0;
  curl_multi_socket_action(static_cast<CURLM*>(multi_), fd, events, &running);
  ReportDone();
}

void HttpOrigin::ReportDone() {
  struct Done {
    ConnRef ref;
    bool lost = false;
    std::string reason;  // with lost
    FetchResult result;
  };
  std::vector<Done> done;
  auto* multi = static_cast<CURLM*>(multi_);
  int left = 0;
  while (CURLMsg* message = curl_multi_info_read(multi, &left)) {
    if (message->msg != CURLMSG_DONE) continue;
    CURL* easy = message->easy_handle;
    const CURLcode code = message->data.result;
    Slot* slot = nullptr;
    curl_easy_getinfo(easy, CURLINFO_PRIVATE, &slot);
    curl_multi_remove_handle(multi, easy);
    if (slot == nullptr) continue;
    slot->active = false;
    Done d{slot->ref, false, {}, {}};
    long status = 0;
    curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &status);
    if (code == CURLE_OK) {
      if (status == 200) {
        d.result = FetchResult::Value(std::move(slot->body));
        const int64_t ttl_s = slot->cache.max_age_s;
        if (slot->cache.no_store || ttl_s == 0) {
          d.result.no_store = true;
        } else if (ttl_s > 0) {
          d.result.cache_ttl_ms = ttl_s * 1000;
        }
        d.result.stale_while_revalidate_s = slot->cache.stale_while_revalidate_s;
        d.result.stale_if_error_s = slot->cache.stale_if_error_s;
      } else if (status == 404 || status == 410) {
        d.result = FetchResult::NotFound();
      } else {
        d.result = FetchResult::Error(FetchErrorKind::kErrorReply,
                                      "origin error: HTTP " + std::to_string(status));
      }
    } else if (slot->too_big) {
      d.result =
          FetchResult::Error(FetchErrorKind::kProtocol, "origin error: response body over 512 MB");
    } else if (code == CURLE_WEIRD_SERVER_REPLY) {
      d.result =
          FetchResult::Error(FetchErrorKind::kProtocol,
                             std::string("origin protocol error: ") + curl_easy_strerror(code));
    } else {
      d.lost = true;
      d.reason = slot->error[0] != '\0' ? slot->error : curl_easy_strerror(code);
      if (IsConnectFailure(code)) ConnectFailed(d.reason);
    }
    if (code == CURLE_OK) connect_backoff_ms_ = 0;  // the server answered
    slot->body.clear();
    done.push_back(std::move(d));
  }
  // Last: the base may send the next request on a slot (curl_multi_add_handle) at once.
  for (Done& d : done) {
    if (d.lost) {
      ConnectionLost(d.ref, d.reason);
    } else {
      ReplyDone(d.ref, std::move(d.result));
    }
  }
}

}  // namespace flightcache::origin
