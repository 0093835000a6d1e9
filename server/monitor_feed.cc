// monitor_feed.cc — the MONITOR clients and their line format (see monitor_feed.h).
#include "server/monitor_feed.h"

#include <algorithm>
#include <cstdio>

#include "server/command_util.h"

namespace flightcache::server {
namespace {

// Appends s quoted and escaped as Redis's sdscatrepr.
void AppendRepr(std::string& out, std::string_view s) {
  out += '"';
  for (unsigned char c : s) {
    switch (c) {
      case '\\':
        out += "\\\\";
        break;
      case '"':
        out += "\\\"";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      case '\a':
        out += "\\a";
        break;
      case '\b':
        out += "\\b";
        break;
      default:
        if (c >= 0x20 && c < 0x7f) {
          out += static_cast<char>(c);
        } else {
          char hex[8];
          std::snprintf(hex, sizeof(hex), "\\x%02x", c);
          out += hex;
        }
    }
  }
  out += '"';
}

}  // namespace

void MonitorFeed::Add(MonitorClient client) {
  std::lock_guard<std::mutex> hold(mutex_);
  clients_.push_back(client);
  count_.store(clients_.size(), std::memory_order_relaxed);
}

void MonitorFeed::Remove(MonitorClient client) {
  std::lock_guard<std::mutex> hold(mutex_);
  clients_.erase(std::remove_if(clients_.begin(), clients_.end(),
                                [&](const MonitorClient& c) {
                                  return c.worker == client.worker && c.conn_id == client.conn_id;
                                }),
                 clients_.end());
  count_.store(clients_.size(), std::memory_order_relaxed);
}

std::vector<MonitorClient> MonitorFeed::Clients() {
  std::lock_guard<std::mutex> hold(mutex_);
  return clients_;
}

std::string MonitorFeed::FormatLine(int64_t unix_us, size_t db, std::string_view client_addr,
                                    const std::vector<std::string_view>& args) {
  char stamp[64];
  std::snprintf(stamp, sizeof(stamp), "%lld.%06lld [%zu ",
                static_cast<long long>(unix_us / 1000000),
                static_cast<long long>(unix_us % 1000000), db);
  std::string line = stamp;
  line += client_addr;
  line += ']';
  const bool redact = !args.empty() && EqualsIgnoreCase(args[0], "auth");
  for (size_t i = 0; i < args.size(); ++i) {
    line += ' ';
    AppendRepr(line, redact && i > 0 ? std::string_view("(redacted)") : args[i]);
  }
  return line;
}

}  // namespace flightcache::server
