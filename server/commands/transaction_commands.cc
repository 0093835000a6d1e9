// transaction_commands.cc — MULTI, EXEC, DISCARD, WATCH and UNWATCH, as Redis 7.0 has them.
//
// While a client is in MULTI, Worker::Execute queues its commands (answering QUEUED) instead of
// running them; a command that fails to queue (unknown, wrong arity, NOAUTH, OOM) marks the
// transaction failed, and EXEC then answers EXECABORT. EXEC takes the shard locks of every key
// of every queued command and of every watched key, in the usual ascending order, checks the
// watches under them, and runs the commands one after another: atomic with --threads too.
// Inside EXEC a read-through command answers from the cache only (no origin wait).
#include <memory>
#include <string>
#include <vector>

#include "server/command_table.h"
#include "server/command_util.h"
#include "server/connection.h"
#include "server/server.h"
#include "server/watch_table.h"
#include "server/worker.h"

namespace flightcache::server {
namespace {

void MultiCommand(CommandContext& ctx) {
  if (ctx.conn.transaction) {
    ctx.reply.Error("ERR MULTI calls can not be nested");
    return;
  }
  ctx.conn.transaction = std::make_unique<Transaction>();
  ctx.reply.Ok();
}

void DiscardCommand(CommandContext& ctx) {
  if (!ctx.conn.transaction) {
    ctx.reply.Error("ERR DISCARD without MULTI");
    return;
  }
  ctx.conn.EndTransaction();
  ctx.reply.Ok();
}

// True when a watched key changed, or has expired since it was watched (as Redis 7.0's
// isWatchedKeyExpired: a key that was live when watched and is logically expired now).
bool WatchBroken(CommandContext& ctx) {
  const ClientWatch* watch = ctx.conn.watch.get();
  if (!watch) return false;
  if (watch->dirty.load(std::memory_order_relaxed)) return true;
  for (const ClientWatch::Key& k : watch->keys) {
    if (k.expire_at_ms != 0 && k.expire_at_ms <= ctx.now_ms) return true;
  }
  return false;
}

void ExecCommand(CommandContext& ctx) {
  std::unique_ptr<Transaction> tx = std::move(ctx.conn.transaction);
  if (!tx) {
    ctx.reply.Error("ERR EXEC without MULTI");
    return;
  }
  if (tx->failed) {
    ctx.conn.EndTransaction();
    ctx.reply.Error("EXECABORT Transaction discarded because of previous errors.");
    return;
  }
  storage::Keyspace& keyspace = ctx.server.keyspace();
  bool denyoom = false;
  uint64_t mask = 0;
  // Views of the queued arguments (built here: the strings do not move again until the end).
  std::vector<std::vector<std::string_view>> views(tx->commands.size());
  for (size_t i = 0; i < tx->commands.size(); ++i) {
    const QueuedCommand& q = tx->commands[i];
    views[i].assign(q.args.begin(), q.args.end());
    denyoom |= (q.spec->flags & kDenyOom) != 0;
    mask |= ctx.worker.ShardMaskFor(*q.spec, views[i]);
  }
  if (ctx.conn.watch) {
    for (const ClientWatch::Key& k : ctx.conn.watch->keys) mask |= keyspace.ShardMaskOf(k.key);
  }
  // Eviction locks shards one at a time, so room is made before the transaction's locks.
  if (denyoom && keyspace.maxmemory() > 0 && !keyspace.MakeRoom()) {
    ctx.conn.EndTransaction();
    ctx.reply.Error("OOM command not allowed when used memory > 'maxmemory'.");
    return;
  }
  {
    auto locks = ctx.server.threaded() ? keyspace.LockShards(mask) : keyspace.LockShards(0);
    if (WatchBroken(ctx)) {
      ctx.reply.NullArray();
    } else {
      ctx.reply.ArrayHeader(tx->commands.size());
      for (size_t i = 0; i < tx->commands.size(); ++i) {
        ctx.worker.RunQueued(ctx.conn, *tx->commands[i].spec, views[i]);
      }
    }
  }
  ctx.conn.EndTransaction();
}

void WatchCommand(CommandContext& ctx) {
  if (ctx.conn.transaction) {
    ctx.reply.Error("ERR WATCH inside MULTI is not allowed");
    return;
  }
  if (!ctx.conn.watch) ctx.conn.watch = std::make_shared<ClientWatch>();
  // Execute holds the shard locks of these keys: no change slips between the look and the watch.
  for (size_t i = 1; i < ctx.args.size(); ++i) {
    storage::KeyLocation at = ctx.conn.database().Locate(ctx.args[i]);
    storage::Entry* e = at.shard->Find(ctx.args[i], at.hash, ctx.now_ms, false);
    ctx.server.watch_table().Watch(ctx.conn.db_index(), ctx.args[i],
                                   e ? storage::EntryExpireAt(e) : 0, ctx.conn.watch);
  }
  ctx.reply.Ok();
}

void UnwatchCommand(CommandContext& ctx) {
  if (ctx.conn.watch) ctx.server.watch_table().UnwatchAll(*ctx.conn.watch);
  ctx.reply.Ok();
}

}  // namespace

void RegisterTransactionCommands(CommandTable& t) {
  const uint32_t kControl = kNoScript | kLoading | kStale | kFast | kTransactionControl;
  t.Add({"multi", 1, kControl, 0, 0, 0, MultiCommand, "transactions", "Starts a transaction.",
         "1.2.0"});
  t.Add({"exec", 1, kNoScript | kLoading | kStale | kTransactionControl, 0, 0, 0, ExecCommand,
         "transactions", "Executes all commands in a transaction.", "1.2.0"});
  t.Add({"discard", 1, kControl, 0, 0, 0, DiscardCommand, "transactions", "Discards a transaction.",
         "2.0.0"});
  t.Add({"watch", -2, kControl, 1, -1, 1, WatchCommand, "transactions",
         "Monitors changes to keys to determine the execution of a transaction.", "2.2.0"});
  t.Add({"unwatch", 1, kControl, 0, 0, 0, UnwatchCommand, "transactions",
         "Forgets about watched keys of a transaction.", "2.2.0"});
}

}  // namespace flightcache::server
