// blocking_table.h — the process-wide table of clients blocked by BLPOP, BRPOP, BLMOVE,
// BRPOPLPUSH, BLMPOP, BZPOPMIN, BZPOPMAX and BZMPOP: (database, key) → FIFO of waiters, behind
// one mutex. The same key name in two databases has two FIFOs: a push in one never wakes a
// client blocked in the other.
//
// A waiter is a handle (worker index, connection id, token), never a pointer: the connection
// may close on its own worker while another worker serves the key. The waiter also carries a
// copy of its command, so that whichever worker made a key non-empty can re-run the pop for it
// under the shard locks (Worker::ServeReadyKeys) and post the reply to the waiter's worker.
// The table is the authority on who owns a waiter: Remove() (timeout, disconnect, CLIENT
// UNBLOCK) and ServeIfWaiting() (a push) both take it out under the mutex, so exactly one of
// them answers the client.
// Lock order: a command's shard locks, then this mutex (Block runs under the shard locks so
// that a push cannot slip between "the key is empty" and "the client waits").
#pragma once

#include <atomic>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace flightcache::server {

struct CommandSpec;

// One blocked client and the command it re-runs when one of its keys is served.
struct BlockedClient {
  uint32_t worker = 0;
  uint64_t conn_id = 0;
  uint64_t token = 0;  // unique per block: tells this block from a later one of the same client
  int resp = 2;        // the protocol its reply is written in
  size_t db = 0;       // the database it selected when it blocked; its keys are there
  const CommandSpec* spec = nullptr;
  std::vector<std::string> args;  // the blocking command, copied
  std::vector<std::string> keys;  // the keys it waits on
};

class BlockingTable {
 public:
  // Adds client at the back of the FIFO of each of its keys. Call with those keys' shard locks
  // held.
  void Block(std::shared_ptr<BlockedClient> client);
  // Takes the waiter with this token out of every FIFO; true when it was still waiting (the
  // caller then answers it), false when it was already served or removed.
  bool Remove(uint64_t token);
  // Takes the client with this connection id out (CLIENT UNBLOCK); the removed waiter, or null.
  std::shared_ptr<BlockedClient> RemoveClient(uint64_t conn_id);
  // The longest-waiting client on key of database db, or null.
  std::shared_ptr<BlockedClient> Front(size_t db, std::string_view key) const;
  // Under the mutex: when the client with this token still waits, runs serve(); when serve
  // returns true (it popped and wrote the reply), removes the client. Returns whether it was
  // still waiting. Call with the shard locks of the client's command held.
  bool ServeIfWaiting(uint64_t token, const std::function<bool()>& serve, bool* served);
  // True when some client waits on key of database db.
  bool HasWaiters(size_t db, std::string_view key) const;
  // Every key of database db that some client waits on (SWAPDB brings a new set of keys in).
  // Linear in the keys waited on over all databases.
  std::vector<std::string> KeysWaitedOn(size_t db) const;
  // Clients blocked now, on every worker (read without the mutex: a hint for the hot path).
  size_t blocked() const { return blocked_.load(std::memory_order_relaxed); }
  // A fresh token.
  uint64_t NextToken() { return next_token_.fetch_add(1, std::memory_order_relaxed) + 1; }

 private:
  void RemoveLocked(const BlockedClient& client);
  // The by_key_ index of key in database db: the db number, a NUL, the key (unambiguous).
  static std::string WaitKey(size_t db, std::string_view key);

  mutable std::mutex mutex_;
  std::unordered_map<std::string, std::deque<std::shared_ptr<BlockedClient>>> by_key_;  // WaitKey
  std::unordered_map<uint64_t, std::shared_ptr<BlockedClient>> by_token_;
  std::unordered_map<uint64_t, uint64_t> token_by_conn_;
  std::atomic<size_t> blocked_{0};
  std::atomic<uint64_t> next_token_{0};
};

}  // namespace flightcache::server
