// blocking_table.cc — the FIFOs of blocked clients per key (see blocking_table.h).
#include "server/blocking_table.h"

#include <algorithm>

namespace flightcache::server {

std::string BlockingTable::WaitKey(size_t db, std::string_view key) {
  std::string index = std::to_string(db);
  index.push_back('\0');
  index.append(key);
  return index;
}

void BlockingTable::Block(std::shared_ptr<BlockedClient> client) {
  std::lock_guard<std::mutex> hold(mutex_);
  for (const std::string& key : client->keys) {
    std::deque<std::shared_ptr<BlockedClient>>& fifo = by_key_[WaitKey(client->db, key)];
    // A key named twice (BLPOP k k 0) is waited on once.
    if (std::find(fifo.begin(), fifo.end(), client) == fifo.end()) fifo.push_back(client);
  }
  token_by_conn_[client->conn_id] = client->token;
  by_token_[client->token] = std::move(client);
  blocked_.store(by_token_.size(), std::memory_order_relaxed);
}

void BlockingTable::RemoveLocked(const BlockedClient& client) {
  for (const std::string& key : client.keys) {
    auto it = by_key_.find(WaitKey(client.db, key));
    if (it == by_key_.end()) continue;
    auto& fifo = it->second;
    fifo.erase(std::remove_if(fifo.begin(), fifo.end(),
                              [&](const auto& c) { return c->token == client.token; }),
               fifo.end());
    if (fifo.empty()) by_key_.erase(it);
  }
  auto conn = token_by_conn_.find(client.conn_id);
  if (conn != token_by_conn_.end() && conn->second == client.token) token_by_conn_.erase(conn);
  by_token_.erase(client.token);
  blocked_.store(by_token_.size(), std::memory_order_relaxed);
}

bool BlockingTable::Remove(uint64_t token) {
  std::lock_guard<std::mutex> hold(mutex_);
  auto it = by_token_.find(token);
  if (it == by_token_.end()) return false;
  std::shared_ptr<BlockedClient> client = it->second;
  RemoveLocked(*client);
  return true;
}

std::shared_ptr<BlockedClient> BlockingTable::RemoveClient(uint64_t conn_id) {
  std::lock_guard<std::mutex> hold(mutex_);
  auto conn = token_by_conn_.find(conn_id);
  if (conn == token_by_conn_.end()) return nullptr;
  std::shared_ptr<BlockedClient> client = by_token_[conn->second];
  RemoveLocked(*client);
  return client;
}

std::shared_ptr<BlockedClient> BlockingTable::Front(size_t db, std::string_view key) const {
  std::lock_guard<std::mutex> hold(mutex_);
  auto it = by_key_.find(WaitKey(db, key));
  if (it == by_key_.end() || it->second.empty()) return nullptr;
  return it->second.front();
}

std::vector<std::string> BlockingTable::KeysWaitedOn(size_t db) const {
  const std::string prefix = WaitKey(db, "");
  std::vector<std::string> keys;
  std::lock_guard<std::mutex> hold(mutex_);
  for (const auto& [wait_key, fifo] : by_key_) {
    if (!fifo.empty() && wait_key.compare(0, prefix.size(), prefix) == 0) {
      keys.push_back(wait_key.substr(prefix.size()));
    }
  }
  return keys;
}

bool BlockingTable::ServeIfWaiting(uint64_t token, const std::function<bool()>& serve,
                                   bool* served) {
  std::lock_guard<std::mutex> hold(mutex_);
  *served = false;
  auto it = by_token_.find(token);
  if (it == by_token_.end()) return false;
  std::shared_ptr<BlockedClient> client = it->second;
  *served = serve();
  if (*served) RemoveLocked(*client);
  return true;
}

bool BlockingTable::HasWaiters(size_t db, std::string_view key) const {
  std::lock_guard<std::mutex> hold(mutex_);
  return by_key_.count(WaitKey(db, key)) > 0;
}

}  // namespace flightcache::server
