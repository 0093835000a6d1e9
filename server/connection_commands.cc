// connection_commands.cc — PING, ECHO, QUIT, RESET, SELECT, AUTH, HELLO and CLIENT.
//
// These touch only the calling connection (and, for CLIENT LIST/KILL, the registry of
// connections). Replies and error texts follow Redis 7.
#include <algorithm>
#include <functional>
#include <iterator>
#include <memory>
#include <string>

#include "server/command_table.h"
#include "server/command_util.h"
#include "server/commands/tracking_commands.h"
#include "server/connection.h"
#include "server/info.h"
#include "server/server.h"
#include "server/worker.h"

namespace flightcache::server {
namespace {

void PingCommand(CommandContext& ctx) {
  if (ctx.args.size() > 2) {
    ctx.reply.Error("ERR wrong number of arguments for 'ping' command");
    return;
  }
  if (ctx.conn.resp == 2 && ctx.conn.subscription_count() > 0) {
    // A RESP2 subscriber reads arrays only: Redis answers ["pong", message or ""].
    ctx.reply.ArrayHeader(2);
    ctx.reply.Bulk("pong");
    ctx.reply.Bulk(ctx.args.size() == 2 ? ctx.args[1] : std::string_view());
    return;
  }
  if (ctx.args.size() == 2) {
    ctx.reply.Bulk(ctx.args[1]);
  } else {
    ctx.reply.Simple("PONG");
  }
}

void EchoCommand(CommandContext& ctx) { ctx.reply.Bulk(ctx.args[1]); }

void QuitCommand(CommandContext& ctx) {
  ctx.reply.Ok();
  ctx.conn.CloseAfterReply();
}

void ResetCommand(CommandContext& ctx) {
  ctx.conn.EndTransaction();
  ctx.conn.UnsubscribeAll();
  ctx.conn.StopMonitoring();
  ctx.server.key_events().DisableTracking(ctx.conn);
  ctx.conn.name.clear();
  ctx.conn.SelectDatabase(0);
  ctx.conn.resp = 2;
  ctx.reply.set_resp3(false);
  ctx.conn.authenticated = ctx.worker.config().requirepass.empty();
  ctx.conn.UpdateLimits();
  ctx.reply.Simple("RESET");
}

void SelectCommand(CommandContext& ctx) {
  int64_t db;
  // Redis reads the index as a C int (getIntFromObjectOrReply).
  if (!ParseInt64(ctx.args[1], &db)) {
    ctx.reply.Error(kErrNotInteger);
    return;
  }
  if (db < INT32_MIN || db > INT32_MAX) {
    ctx.reply.Error(kErrNotInt32);
    return;
  }
  if (db < 0 || static_cast<uint64_t>(db) >= ctx.server.keyspace().database_count()) {
    ctx.reply.Error("ERR DB index is out of range");
    return;
  }
  ctx.conn.SelectDatabase(static_cast<size_t>(db));
  ctx.reply.Ok();
}

// Checks a username/password pair against requirepass; only the "default" user exists.
bool CheckPassword(CommandContext& ctx, std::string_view user, std::string_view pass) {
  const std::string& required = ctx.worker.config().requirepass;
  return user == "default" && !required.empty() && pass == required;
}

void AuthCommand(CommandContext& ctx) {
  if (ctx.args.size() > 3) {
    ctx.reply.Error(kErrSyntax);
    return;
  }
  if (ctx.worker.config().requirepass.empty() && ctx.args.size() == 2) {
    ctx.reply.Error(
        "ERR AUTH <password> called without any password configured for the default user. "
        "Are you sure your configuration is correct?");
    return;
  }
  std::string_view user = ctx.args.size() == 3 ? ctx.args[1] : std::string_view("default");
  std::string_view pass = ctx.args.back();
  if (ctx.worker.config().requirepass.empty() && user == "default") {
    ctx.conn.authenticated = true;  // nopass default user: any password is accepted
    ctx.reply.Ok();
    return;
  }
  if (!CheckPassword(ctx, user, pass)) {
    ctx.reply.Error("WRONGPASS invalid username-password pair or user is disabled.");
    return;
  }
  ctx.conn.authenticated = true;
  ctx.conn.UpdateLimits();
  ctx.reply.Ok();
}

bool ValidClientName(std::string_view name) {
  for (char c : name) {
    if (c < '!' || c > '~') return false;  // no spaces, newlines or special characters
  }
  return true;
}

void HelloCommand(CommandContext& ctx) {
  int64_t proto = ctx.conn.resp;
  size_t i = 1;
  if (ctx.args.size() >= 2) {
    if (!ParseInt64(ctx.args[1], &proto)) {
      ctx.reply.Error("ERR Protocol version is not an integer or out of range");
      return;
    }
    if (proto < 2 || proto > 3) {
      ctx.reply.Error("NOPROTO unsupported protocol version");
      return;
    }
    i = 2;
  }
  std::string_view setname;
  bool has_setname = false;
  for (; i < ctx.args.size(); ++i) {
    const bool more = i + 1 < ctx.args.size();
    if (EqualsIgnoreCase(ctx.args[i], "auth") && i + 2 < ctx.args.size()) {
      if (!CheckPassword(ctx, ctx.args[i + 1], ctx.args[i + 2]) &&
          !(ctx.worker.config().requirepass.empty() && ctx.args[i + 1] == "default")) {
        ctx.reply.Error("WRONGPASS invalid username-password pair or user is disabled.");
        return;
      }
      ctx.conn.authenticated = true;
      ctx.conn.UpdateLimits();
      i += 2;
    } else if (EqualsIgnoreCase(ctx.args[i], "setname") && more) {
      setname = ctx.args[i + 1];
      has_setname = true;
      ++i;
    } else {
      ctx.reply.Error("ERR Syntax error in HELLO option '" + std::string(ctx.args[i]) + "'");
      return;
    }
  }
  if (!ctx.conn.authenticated && !ctx.worker.config().requirepass.empty()) {
    ctx.reply.Error(
        "NOAUTH HELLO must be called with the client already authenticated, otherwise the "
        "HELLO <proto> AUTH <user> <pass> option can be used to authenticate the client and "
        "select the RESP protocol version at the same time");
    return;
  }
  if (has_setname) {
    if (!ValidClientName(setname)) {
      ctx.reply.Error("ERR Client names cannot contain spaces, newlines or special characters.");
      return;
    }
    ctx.conn.name = std::string(setname);
  }
  ctx.conn.resp = static_cast<int>(proto);
  ctx.reply.set_resp3(proto == 3);
  ctx.reply.MapHeader(7);
  ctx.reply.Bulk("server");
  ctx.reply.Bulk("redis");
  ctx.reply.Bulk("version");
  ctx.reply.Bulk(kRedisVersion);
  ctx.reply.Bulk("proto");
  ctx.reply.Integer(proto);
  ctx.reply.Bulk("id");
  ctx.reply.Integer(static_cast<int64_t>(ctx.conn.id()));
  ctx.reply.Bulk("mode");
  ctx.reply.Bulk("standalone");
  ctx.reply.Bulk("role");
  ctx.reply.Bulk("master");
  ctx.reply.Bulk("modules");
  ctx.reply.ArrayHeader(0);
}

// Parks the command and asks every worker (this one included) for its part of the answer;
// `work` runs on each worker's own thread with its connections, and the parts are combined
// into one reply when all are in. Other workers' connections are never touched from here.
void Gather(CommandContext& ctx, PendingArray::Combine combine,
            std::function<std::string(Worker&, uint64_t requester)> work) {
  const size_t n = ctx.server.worker_count();
  auto parts = std::make_unique<PendingArray>();
  parts->combine = combine;
  parts->elements.resize(n);
  const uint64_t seq = ctx.conn.ParkGather(std::move(parts));
  Worker* home = &ctx.worker;
  const uint64_t requester = ctx.conn.id();
  auto shared_work = std::make_shared<decltype(work)>(std::move(work));
  for (size_t i = 0; i < n; ++i) {
    Worker* target = &ctx.server.worker(i);
    target->Post([target, home, requester, seq, i, shared_work]() {
      std::string text = (*shared_work)(*target, requester);
      home->Post([home, requester, seq, i, text = std::move(text)]() mutable {
        if (Connection* c = home->FindConnection(requester)) {
          c->ResolveSlotText(seq, static_cast<uint32_t>(i), std::move(text));
        }
      });
    });
  }
}

// Closes this worker's connections that match; the requester, if it matches, closes after
// its reply. Returns how many matched.
int64_t KillMatching(Worker& worker, uint64_t requester,
                     const std::function<bool(const Connection&)>& match) {
  std::vector<Connection*> victims;
  for (const auto& [id, conn] : worker.connections()) {
    if (conn->state() == ConnectionState::kClosing || !match(*conn)) continue;
    victims.push_back(conn);
  }
  for (Connection* conn : victims) {
    if (conn->id() == requester) {
      conn->CloseAfterReply();
    } else {
      conn->Close();
    }
  }
  return static_cast<int64_t>(victims.size());
}

void ClientList(CommandContext& ctx) {
  std::vector<uint64_t> only_ids;
  std::string only_type;
  for (size_t i = 2; i < ctx.args.size(); ++i) {
    if (EqualsIgnoreCase(ctx.args[i], "type") && i + 1 < ctx.args.size()) {
      std::string type = ToLower(ctx.args[i + 1]);
      if (type != "normal" && type != "master" && type != "replica" && type != "pubsub") {
        ctx.reply.Error("ERR Unknown client type '" + std::string(ctx.args[i + 1]) + "'");
        return;
      }
      if (type == "master" || type == "replica") {
        ctx.reply.Verbatim("");
        return;
      }
      only_type = type;  // normal: no subscriptions; pubsub: some
      ++i;
    } else if (EqualsIgnoreCase(ctx.args[i], "id") && i + 1 < ctx.args.size()) {
      for (++i; i < ctx.args.size(); ++i) {
        int64_t id;
        if (!ParseInt64(ctx.args[i], &id) || id <= 0) {
          ctx.reply.Error("ERR Invalid client ID");
          return;
        }
        only_ids.push_back(static_cast<uint64_t>(id));
      }
    } else {
      ctx.reply.Error(kErrSyntax);
      return;
    }
  }
  Gather(
      ctx, PendingArray::Combine::kVerbatimText, [only_ids, only_type](Worker& worker, uint64_t) {
        std::string out;
        for (const auto& [id, conn] : worker.connections()) {
          if (!only_ids.empty() &&
              std::find(only_ids.begin(), only_ids.end(), id) == only_ids.end()) {
            continue;
          }
          if (!only_type.empty() && (only_type == "pubsub") != (conn->subscription_count() > 0)) {
            continue;
          }
          out += ClientInfoLine(worker, *conn);
          out += '\n';
        }
        return out;
      });
}

void ClientKill(CommandContext& ctx) {
  // Old form: CLIENT KILL addr:port.
  if (ctx.args.size() == 3) {
    Gather(ctx, PendingArray::Combine::kKillByAddr,
           [addr = std::string(ctx.args[2])](Worker& worker, uint64_t requester) {
             return std::to_string(KillMatching(
                 worker, requester, [&](const Connection& c) { return c.peer_addr == addr; }));
           });
    return;
  }
  uint64_t id_filter = 0;
  std::string addr_filter, laddr_filter;
  int type_filter = 0;  // 1: normal clients only, 2: subscribers only
  bool skipme = true;
  if (ctx.args.size() % 2 != 0) {
    ctx.reply.Error(kErrSyntax);
    return;
  }
  for (size_t i = 2; i + 1 < ctx.args.size(); i += 2) {
    std::string_view opt = ctx.args[i], val = ctx.args[i + 1];
    if (EqualsIgnoreCase(opt, "id")) {
      int64_t id;
      if (!ParseInt64(val, &id) || id <= 0) {
        ctx.reply.Error("ERR client-id should be greater than 0");
        return;
      }
      id_filter = static_cast<uint64_t>(id);
    } else if (EqualsIgnoreCase(opt, "addr")) {
      addr_filter = std::string(val);
    } else if (EqualsIgnoreCase(opt, "laddr")) {
      laddr_filter = std::string(val);
    } else if (EqualsIgnoreCase(opt, "skipme")) {
      if (EqualsIgnoreCase(val, "yes"))
        skipme = true;
      else if (EqualsIgnoreCase(val, "no"))
        skipme = false;
      else {
        ctx.reply.Error(kErrSyntax);
        return;
      }
    } else if (EqualsIgnoreCase(opt, "type") &&
               (EqualsIgnoreCase(val, "normal") || EqualsIgnoreCase(val, "pubsub"))) {
      type_filter = EqualsIgnoreCase(val, "pubsub") ? 2 : 1;  // subscribed or not
    } else if (EqualsIgnoreCase(opt, "type") || EqualsIgnoreCase(opt, "user")) {
      // No replicas or masters here, and every client is of the default user.
      std::string v = ToLower(val);
      if (v != "default" || EqualsIgnoreCase(opt, "type")) {
        ctx.reply.Integer(0);
        return;
      }
    } else {
      ctx.reply.Error(kErrSyntax);
      return;
    }
  }
  Gather(ctx, PendingArray::Combine::kIntegerSum, [=](Worker& worker, uint64_t requester) {
    return std::to_string(KillMatching(worker, requester, [&](const Connection& c) {
      if (id_filter && c.id() != id_filter) return false;
      if (!addr_filter.empty() && c.peer_addr != addr_filter) return false;
      if (!laddr_filter.empty() && c.local_addr != laddr_filter) return false;
      if (type_filter != 0 && (type_filter == 2) != (c.subscription_count() > 0)) return false;
      return !(skipme && c.id() == requester);
    }));
  });
}

// CLIENT UNBLOCK id [TIMEOUT|ERROR]: answers a client blocked by BLPOP... as if it timed out
// (a null), or with Redis's UNBLOCKED error. 1 when it was blocked, else 0.
void ClientUnblock(CommandContext& ctx) {
  int64_t id;
  if (!ParseInt64(ctx.args[2], &id)) {
    ctx.reply.Error(kErrNotInteger);
    return;
  }
  bool error = false;
  if (ctx.args.size() == 4) {
    if (EqualsIgnoreCase(ctx.args[3], "error")) {
      error = true;
    } else if (!EqualsIgnoreCase(ctx.args[3], "timeout")) {
      ctx.reply.Error("ERR CLIENT UNBLOCK reason should be TIMEOUT or ERROR");
      return;
    }
  }
  std::shared_ptr<BlockedClient> client =
      ctx.server.blocking().RemoveClient(static_cast<uint64_t>(id));
  if (!client) {
    ctx.reply.Integer(0);
    return;
  }
  // An empty reply tells FinishBlock to answer the block's own null.
  std::string reply = error ? "-UNBLOCKED client unblocked via CLIENT UNBLOCK\r\n" : "";
  Worker& target = ctx.server.worker(client->worker);
  target.Post([&target, conn_id = client->conn_id, token = client->token, reply] {
    if (Connection* c = target.FindConnection(conn_id)) c->FinishBlock(token, reply);
  });
  ctx.reply.Integer(1);
}

void ClientCommand(CommandContext& ctx) {
  std::string_view sub = ctx.args[1];
  const size_t argc = ctx.args.size();
  if (EqualsIgnoreCase(sub, "id") && argc == 2) {
    ctx.reply.Integer(static_cast<int64_t>(ctx.conn.id()));
  } else if (EqualsIgnoreCase(sub, "setname") && argc == 3) {
    if (!ValidClientName(ctx.args[2])) {
      ctx.reply.Error("ERR Client names cannot contain spaces, newlines or special characters.");
      return;
    }
    ctx.conn.name = std::string(ctx.args[2]);
    ctx.reply.Ok();
  } else if (EqualsIgnoreCase(sub, "getname") && argc == 2) {
    if (ctx.conn.name.empty())
      ctx.reply.Null();
    else
      ctx.reply.Bulk(ctx.conn.name);
  } else if (EqualsIgnoreCase(sub, "setinfo") && argc == 4) {
    std::string_view attr = ctx.args[2];
    if (!ValidClientName(ctx.args[3]) && !ctx.args[3].empty()) {
      ctx.reply.Error("ERR " + ToLower(attr) +
                      " cannot contain spaces, newlines or special characters.");
      return;
    }
    if (EqualsIgnoreCase(attr, "lib-name")) {
      ctx.conn.lib_name = std::string(ctx.args[3]);
    } else if (EqualsIgnoreCase(attr, "lib-ver")) {
      ctx.conn.lib_ver = std::string(ctx.args[3]);
    } else {
      ctx.reply.Error("ERR Unrecognized option '" + std::string(attr) + "'");
      return;
    }
    ctx.reply.Ok();
  } else if (EqualsIgnoreCase(sub, "list")) {
    ClientList(ctx);
  } else if (EqualsIgnoreCase(sub, "info") && argc == 2) {
    ctx.reply.Verbatim(ClientInfoLine(ctx.worker, ctx.conn) + "\n");
  } else if (EqualsIgnoreCase(sub, "kill") && argc >= 3) {
    ClientKill(ctx);
  } else if (EqualsIgnoreCase(sub, "unblock") && (argc == 3 || argc == 4)) {
    ClientUnblock(ctx);
  } else if (EqualsIgnoreCase(sub, "help") && argc == 2) {
    // Redis 7.0's text, in its order, for the subcommands this server has.
    static const char* kHelp[] = {
        "CLIENT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
        "CACHING (YES|NO)",
        "    Enable/disable tracking of the keys for next command in OPTIN/OPTOUT modes.",
        "GETREDIR",
        "    Return the client ID we are redirecting to when tracking is enabled.",
        "GETNAME",
        "    Return the name of the current connection.",
        "ID",
        "    Return the ID of the current connection.",
        "INFO",
        "    Return information about the current client connection.",
        "KILL <ip:port>",
        "    Kill connection made from <ip:port>.",
        "KILL <option> <value> [<option> <value> [...]]",
        "    Kill connections. Options are:",
        "    * ADDR (<ip:port>|<unixsocket>:0)",
        "      Kill connections made from the specified address",
        "    * LADDR (<ip:port>|<unixsocket>:0)",
        "      Kill connections made to specified local address",
        "    * TYPE (NORMAL|MASTER|REPLICA|PUBSUB)",
        "      Kill connections by type.",
        "    * USER <username>",
        "      Kill connections authenticated by <username>.",
        "    * SKIPME (YES|NO)",
        "      Skip killing current connection (default: yes).",
        "    * ID <client-id>",
        "      Kill connections by client id.",
        "LIST [options ...]",
        "    Return information about client connections. Options:",
        "    * TYPE (NORMAL|MASTER|REPLICA|PUBSUB)",
        "      Return clients of specified type.",
        "    * ID <client-id> [<client-id> ...]",
        "      Return clients of the given ids.",
        "SETNAME <name>",
        "    Assign the name <name> to the current connection.",
        "SETINFO <option> <value>",
        "    Set client meta attr. Options are:",
        "    * LIB-NAME: the client lib name.",
        "    * LIB-VER: the client lib version.",
        "UNBLOCK <clientid> [TIMEOUT|ERROR]",
        "    Unblock the specified blocked client.",
        "TRACKING (ON|OFF) [REDIRECT <id>] [BCAST] [PREFIX <prefix> [...]]",
        "         [OPTIN] [OPTOUT] [NOLOOP]",
        "    Control server assisted client side caching.",
        "TRACKINGINFO",
        "    Report tracking status for the current connection.",
        "HELP",
        "    Print this help."};
    ReplyHelp(ctx.reply, kHelp);
  } else if (!ClientTrackingSubcommand(ctx)) {
    ReplySubcommandError(ctx);
  }
}

}  // namespace

void RegisterConnectionCommands(CommandTable& t) {
  const uint32_t kConn = kFast | kLoading | kStale;
  t.Add({"ping", -1, kConn | kSubscriberMode, 0, 0, 0, PingCommand, "connection",
         "Returns the server's liveliness response.", "1.0.0"});
  t.Add(
      {"echo", 2, kConn, 0, 0, 0, EchoCommand, "connection", "Returns the given string.", "1.0.0"});
  t.Add({"quit", -1, kConn | kNoAuth | kTransactionControl | kSubscriberMode, 0, 0, 0, QuitCommand,
         "connection", "Closes the connection.", "1.0.0"});
  t.Add({"reset", 1, kConn | kNoAuth | kTransactionControl | kSubscriberMode, 0, 0, 0, ResetCommand,
         "connection", "Resets the connection.", "6.2.0"});
  t.Add({"select", 2, kConn, 0, 0, 0, SelectCommand, "connection",
         "Changes the selected database for the current connection.", "1.0.0"});
  t.Add({"auth", -2, kConn | kNoAuth, 0, 0, 0, AuthCommand, "connection",
         "Authenticates the connection.", "1.0.0"});
  t.Add({"hello", -1, kConn | kNoAuth, 0, 0, 0, HelloCommand, "connection",
         "Handshakes with the Redis server.", "6.0.0"});
  CommandSpec client{"client",
                     -2,
                     kLoading | kStale,
                     0,
                     0,
                     0,
                     ClientCommand,
                     "connection",
                     "A container for client connection commands.",
                     "2.4.0"};
  client.subcommands = {
      {"client|id", 2, "Returns the unique client ID of the connection."},
      {"client|setname", 3, "Sets the connection name."},
      {"client|getname", 2, "Returns the name of the connection."},
      {"client|setinfo", 4, "Sets information specific to the client or connection."},
      {"client|list", -2, "Lists open connections."},
      {"client|info", 2, "Returns information about the connection."},
      {"client|kill", -3, "Terminates open connections."},
      {"client|help", 2, "Returns helpful text about the different subcommands."},
      {"client|tracking", -3, "Controls server-assisted client-side caching for the connection."},
      {"client|caching", 3, "Instructs the server whether to track the keys in the next request."},
      {"client|getredir", 2,
       "Returns the client ID to which the connection's tracking notifications are redirected."},
      {"client|trackinginfo", 2,
       "Returns information about server-assisted client-side caching for the connection."},
      {"client|unblock", -3,
       "Unblocks a client blocked by a blocking command from a different connection."}};
  t.Add(std::move(client));
}

}  // namespace flightcache::server
