// commands_server_test.cc — connection and server commands against the real binary: PING,
// ECHO, QUIT, RESET, TIME, SELECT, HELLO 2/3 (RESP3 read with the harness's own parser, since
// Debian's hiredis 0.14 predates RESP3), CLIENT, INFO, CONFIG, COMMAND, unknown commands and
// arity errors. Replies are redis-server 7.0's unless a comment says otherwise.
#include <doctest/doctest.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "tests/integration/server_process.h"

namespace flightcache::integration {
namespace {

// The value of field in an INFO text ("field:value\r\n"), or "(absent)".
std::string InfoField(const std::string& info, const std::string& field) {
  size_t at = info.find("\r\n" + field + ":");
  if (at == std::string::npos) return "(absent)";
  at += field.size() + 3;
  return info.substr(at, info.find("\r\n", at) - at);
}

std::string Info(const ContextPtr& c, const std::string& section) {
  ReplyPtr r = section.empty() ? Command(c.get(), {"INFO"}) : Command(c.get(), {"INFO", section});
  REQUIRE(r);
  REQUIRE(r->type == REDIS_REPLY_STRING);
  return "\r\n" + std::string(r->str, r->len);
}

long long ClientId(const ContextPtr& c) {
  ReplyPtr r = Command(c.get(), {"CLIENT", "ID"});
  REQUIRE(r);
  REQUIRE(r->type == REDIS_REPLY_INTEGER);
  return r->integer;
}

TEST_CASE_FIXTURE(ServerFixture, "PING ECHO and TIME answer as Redis does") {
  CHECK(Do(c, {"PING"}) == "+PONG");
  CHECK(Do(c, {"PING", "hello"}) == "hello");
  CHECK(Do(c, {"PING", "a", "b"}) == "-ERR wrong number of arguments for 'ping' command");
  CHECK(Do(c, {"ECHO", std::string("a\0b", 3)}) == std::string("a\0b", 3));
  CHECK(Do(c, {"ECHO"}) == "-ERR wrong number of arguments for 'echo' command");
  ReplyPtr time = Command(c.get(), {"TIME"});
  REQUIRE(time);
  REQUIRE(time->type == REDIS_REPLY_ARRAY);
  REQUIRE(time->elements == 2);
  const long long seconds = std::stoll(time->element[0]->str);
  const long long micros = std::stoll(time->element[1]->str);
  const long long now = std::chrono::duration_cast<std::chrono::seconds>(
                            std::chrono::system_clock::now().time_since_epoch())
                            .count();
  CHECK(std::llabs(seconds - now) <= 2);
  CHECK(micros >= 0);
  CHECK(micros < 1000000);
  CHECK(Do(c, {"TIME", "x"}) == "-ERR wrong number of arguments for 'time' command");
}

TEST_CASE_FIXTURE(ServerFixture, "SELECT accepts databases 0 to 15 by default") {
  CHECK(Do(c, {"SELECT", "0"}) == "+OK");
  CHECK(Do(c, {"SELECT", "15"}) == "+OK");
  CHECK(Do(c, {"SELECT", "16"}) == "-ERR DB index is out of range");
  CHECK(Do(c, {"SELECT", "-1"}) == "-ERR DB index is out of range");
  CHECK(Do(c, {"SELECT", "abc"}) == "-ERR value is not an integer or out of range");
  CHECK(Do(c, {"SELECT"}) == "-ERR wrong number of arguments for 'select' command");
}

TEST_CASE_FIXTURE(ServerFixture, "QUIT replies OK and closes the connection") {
  RawConnection raw(server.port());
  raw.Send("*1\r\n$4\r\nQUIT\r\n");
  std::string reply;
  CHECK(raw.WaitClosed(std::chrono::milliseconds(10000), &reply));
  CHECK(reply == "+OK\r\n");
  CHECK(Do(c, {"PING"}) == "+PONG");
}

TEST_CASE_FIXTURE(ServerFixture, "RESET drops the name and RESP3 and replies RESET") {
  RawConnection raw(server.port());
  raw.Send("HELLO 3\r\nCLIENT SETNAME before\r\nRESET\r\nCLIENT GETNAME\r\nGET nokey\r\n");
  CHECK(raw.ReadReply().rfind("{server: redis", 0) == 0);
  CHECK(raw.ReadReply() == "+OK");
  CHECK(raw.ReadReply() == "+RESET");
  CHECK(raw.ReadReply() == "(nil)");  // a RESP2 null bulk: RESET went back to RESP2
  CHECK(raw.ReadReply() == "(nil)");
  CHECK(Do(c, {"RESET", "x"}) == "-ERR wrong number of arguments for 'reset' command");
}

TEST_CASE_FIXTURE(ServerFixture, "HELLO 2 replies a flat array with the server fields") {
  ReplyPtr r = Command(c.get(), {"HELLO", "2"});
  REQUIRE(r);
  REQUIRE(r->type == REDIS_REPLY_ARRAY);
  const std::string id = std::to_string(ClientId(c));
  CHECK(Show(r.get()) == "[server, redis, version, 7.0.0, proto, :2, id, :" + id +
                             ", mode, standalone, role, master, modules, []]");
}

TEST_CASE_FIXTURE(ServerFixture, "HELLO 3 replies a map and switches replies to RESP3") {
  RawConnection raw(server.port());
  raw.Send("CLIENT ID\r\n");
  const std::string id = raw.ReadReply().substr(1);
  raw.Send("HELLO 3\r\n");
  CHECK(raw.ReadReply() == "{server: redis, version: 7.0.0, proto: :3, id: :" + id +
                               ", mode: standalone, role: master, modules: []}");
  raw.Send("GET nokey\r\nMGET a b\r\nCONFIG GET maxclients\r\nINCRBYFLOAT f 1.5\r\n");
  CHECK(raw.ReadReply() == "_");
  CHECK(raw.ReadReply() == "[_, _]");
  CHECK(raw.ReadReply() == "{maxclients: 10000}");
  CHECK(raw.ReadReply() == "1.5");
  raw.Send("CLIENT INFO\r\nCOMMAND DOCS echo\r\n");
  std::string info = raw.ReadReply();
  CHECK(info.rfind("txt:id=" + id + " ", 0) == 0);  // a verbatim string
  CHECK(info.find(" resp=3") != std::string::npos);
  CHECK(raw.ReadReply().rfind("{echo: {summary: ", 0) == 0);
  raw.Send("HELLO\r\n");  // no version: the map again, protocol unchanged
  CHECK(raw.ReadReply().find("proto: :3") != std::string::npos);
  raw.Send("HELLO 2\r\nGET nokey\r\n");
  CHECK(raw.ReadReply().rfind("[server, redis", 0) == 0);
  CHECK(raw.ReadReply() == "(nil)");
}

TEST_CASE_FIXTURE(ServerFixture, "HELLO rejects unknown versions and options") {
  CHECK(Do(c, {"HELLO", "4"}) == "-NOPROTO unsupported protocol version");
  CHECK(Do(c, {"HELLO", "1"}) == "-NOPROTO unsupported protocol version");
  CHECK(Do(c, {"HELLO", "abc"}) == "-ERR Protocol version is not an integer or out of range");
  CHECK(Do(c, {"HELLO", "2", "FOO"}) == "-ERR Syntax error in HELLO option 'FOO'");
  CHECK(Do(c, {"HELLO", "2", "AUTH", "default"}) == "-ERR Syntax error in HELLO option 'AUTH'");
  CHECK(Do(c, {"HELLO", "2", "SETNAME"}) == "-ERR Syntax error in HELLO option 'SETNAME'");
  CHECK(Do(c, {"HELLO", "3", "SETNAME", "a b"}) ==
        "-ERR Client names cannot contain spaces, newlines or special characters.");
  CHECK(Do(c, {"CLIENT", "GETNAME"}) == "(nil)");
}

TEST_CASE_FIXTURE(ServerFixture, "HELLO SETNAME names the connection") {
  ReplyPtr r = Command(c.get(), {"HELLO", "2", "SETNAME", "worker-1"});
  REQUIRE(r);
  CHECK(r->type == REDIS_REPLY_ARRAY);
  CHECK(Do(c, {"CLIENT", "GETNAME"}) == "worker-1");
}

TEST_CASE_FIXTURE(ServerFixture,
                  "CLIENT ID SETNAME GETNAME SETINFO and INFO describe this client") {
  const long long id = ClientId(c);
  CHECK(id > 0);
  auto other = Connect(server.port());
  CHECK(ClientId(other) > id);
  CHECK(Do(c, {"CLIENT", "GETNAME"}) == "(nil)");
  CHECK(Do(c, {"CLIENT", "SETNAME", "myname"}) == "+OK");
  CHECK(Do(c, {"CLIENT", "GETNAME"}) == "myname");
  CHECK(Do(c, {"CLIENT", "SETNAME", "my name"}) ==
        "-ERR Client names cannot contain spaces, newlines or special characters.");
  // CLIENT SETINFO is Redis 7.2's; its texts are 7.2's.
  CHECK(Do(c, {"CLIENT", "SETINFO", "lib-name", "hiredis"}) == "+OK");
  CHECK(Do(c, {"CLIENT", "SETINFO", "LIB-VER", "0.14"}) == "+OK");
  CHECK(Do(c, {"CLIENT", "SETINFO", "lib-name", "a b"}) ==
        "-ERR lib-name cannot contain spaces, newlines or special characters.");
  CHECK(Do(c, {"CLIENT", "SETINFO", "foo", "bar"}) == "-ERR Unrecognized option 'foo'");
  std::string info = Do(c, {"CLIENT", "INFO"});
  CHECK(info.rfind("id=" + std::to_string(id) + " addr=127.0.0.1:", 0) == 0);
  CHECK(info.find(" name=myname ") != std::string::npos);
  CHECK(info.find(" lib-name=hiredis lib-ver=0.14") != std::string::npos);
  CHECK(info.back() == '\n');
  CHECK(Do(c, {"CLIENT", "SETNAME", ""}) == "+OK");  // an empty name clears it
  CHECK(Do(c, {"CLIENT", "GETNAME"}) == "(nil)");
}

TEST_CASE_FIXTURE(ServerFixture, "CLIENT LIST lists every connection, filtered by ID or TYPE") {
  auto other = Connect(server.port());
  const std::string id = std::to_string(ClientId(c));
  const std::string other_id = std::to_string(ClientId(other));
  std::string all = Do(c, {"CLIENT", "LIST"});
  CHECK(all.find("id=" + id + " ") != std::string::npos);
  CHECK(all.find("id=" + other_id + " ") != std::string::npos);
  std::string one = Do(c, {"CLIENT", "LIST", "ID", other_id});
  CHECK(one.rfind("id=" + other_id + " ", 0) == 0);
  CHECK(one.find("id=" + id + " ") == std::string::npos);
  CHECK(Do(c, {"CLIENT", "LIST", "TYPE", "normal"}).find("id=" + id + " ") != std::string::npos);
  CHECK(Do(c, {"CLIENT", "LIST", "TYPE", "foo"}) == "-ERR Unknown client type 'foo'");
  CHECK(Do(c, {"CLIENT", "LIST", "ID", "abc"}) == "-ERR Invalid client ID");
}

TEST_CASE_FIXTURE(ServerFixture, "CLIENT KILL closes a client by address or by filter") {
  auto victim = Connect(server.port());
  const std::string victim_id = std::to_string(ClientId(victim));
  std::string line = Do(c, {"CLIENT", "LIST", "ID", victim_id});
  size_t at = line.find("addr=") + 5;
  const std::string addr = line.substr(at, line.find(' ', at) - at);
  CHECK(Do(c, {"CLIENT", "KILL", addr}) == "+OK");
  CHECK(Show(Command(victim.get(), {"PING"}).get(), victim.get()).rfind("(connection error", 0) ==
        0);
  CHECK(Do(c, {"CLIENT", "KILL", addr}) == "-ERR No such client");

  auto second = Connect(server.port());
  const std::string second_id = std::to_string(ClientId(second));
  CHECK(Do(c, {"CLIENT", "KILL", "ID", second_id}) == ":1");
  CHECK(Command(second.get(), {"PING"}) == nullptr);
  CHECK(Do(c, {"CLIENT", "KILL", "ID", second_id}) == ":0");
  CHECK(Do(c, {"CLIENT", "KILL", "ID", "abc"}) == "-ERR client-id should be greater than 0");
  CHECK(Do(c, {"CLIENT", "KILL", "FOO", "bar"}) == "-ERR syntax error");
  // SKIPME defaults to yes: killing our own address by filter spares us.
  const std::string my_id = std::to_string(ClientId(c));
  line = Do(c, {"CLIENT", "INFO"});
  at = line.find("addr=") + 5;
  CHECK(Do(c, {"CLIENT", "KILL", "ADDR", line.substr(at, line.find(' ', at) - at)}) == ":0");
  CHECK(Do(c, {"CLIENT", "KILL", "ID", my_id, "SKIPME", "no"}) == ":1");
  CHECK(Command(c.get(), {"PING"}) == nullptr);
}

TEST_CASE_FIXTURE(ServerFixture, "container commands report unknown subcommands and bad arity") {
  CHECK(Do(c, {"CLIENT", "FOO"}) == "-ERR unknown subcommand 'FOO'. Try CLIENT HELP.");
  CHECK(Do(c, {"CLIENT", "ID", "x"}) == "-ERR wrong number of arguments for 'client|id' command");
  CHECK(Do(c, {"CLIENT"}) == "-ERR wrong number of arguments for 'client' command");
  CHECK(Do(c, {"CONFIG", "FOO"}) == "-ERR unknown subcommand 'FOO'. Try CONFIG HELP.");
  CHECK(Do(c, {"CONFIG", "GET"}) == "-ERR wrong number of arguments for 'config|get' command");
  CHECK(Do(c, {"CONFIG", "SET", "timeout"}) ==
        "-ERR wrong number of arguments for 'config|set' command");
  CHECK(Do(c, {"CONFIG", "SET", "timeout", "1", "hz"}) == "-ERR syntax error");
  CHECK(Do(c, {"CONFIG", "RESETSTAT", "x"}) ==
        "-ERR wrong number of arguments for 'config|resetstat' command");
  CHECK(Do(c, {"COMMAND", "FOO"}) == "-ERR unknown subcommand 'FOO'. Try COMMAND HELP.");
  CHECK(Do(c, {"COMMAND", "COUNT", "x"}) ==
        "-ERR wrong number of arguments for 'command|count' command");
  ReplyPtr help = Command(c.get(), {"CLIENT", "HELP"});
  REQUIRE(help);
  CHECK(help->type == REDIS_REPLY_ARRAY);
}

TEST_CASE_FIXTURE(ServerFixture, "an unknown command gets Redis's error and the connection stays") {
  CHECK(Do(c, {"NOSUCHCMD", "a", "b"}) ==
        "-ERR unknown command 'NOSUCHCMD', with args beginning with: 'a' 'b' ");
  CHECK(Do(c, {"nosuchcmd"}) == "-ERR unknown command 'nosuchcmd', with args beginning with: ");
  CHECK(Do(c, {"GET"}) == "-ERR wrong number of arguments for 'get' command");
  CHECK(Do(c, {"get", "a", "b"}) == "-ERR wrong number of arguments for 'get' command");
  CHECK(Do(c, {"PING"}) == "+PONG");
}

TEST_CASE_FIXTURE(ServerFixture, "INFO has the server clients memory stats and keyspace sections") {
  CHECK(Do(c, {"SET", "a", "1"}) == "+OK");
  CHECK(Do(c, {"SET", "b", "1", "EX", "100"}) == "+OK");
  CHECK(Do(c, {"GET", "a"}) == "1");
  CHECK(Do(c, {"GET", "nosuch"}) == "(nil)");
  std::string all = Info(c, "");
  CHECK(InfoField(all, "redis_version") == "7.0.0");
  CHECK(InfoField(all, "tcp_port") == std::to_string(server.port()));
  CHECK(InfoField(all, "connected_clients") == "1");
  CHECK(InfoField(all, "maxclients") == "10000");
  CHECK(InfoField(all, "used_memory") != "(absent)");
  CHECK(InfoField(all, "keyspace_hits") == "1");
  CHECK(InfoField(all, "keyspace_misses") == "1");
  CHECK(InfoField(all, "db0").rfind("keys=2,expires=1,", 0) == 0);
  CHECK(all.find("# Commandstats") == std::string::npos);  // not in the default set
  std::string server_only = Info(c, "server");
  CHECK(server_only.find("# Server") != std::string::npos);
  CHECK(server_only.find("# Clients") == std::string::npos);
  std::string two = Info(c, "clients");
  CHECK(two.find("# Clients") != std::string::npos);
  CHECK(Info(c, "memory").find("# Memory") != std::string::npos);
  CHECK(Info(c, "stats").find("# Stats") != std::string::npos);
  CHECK(Info(c, "keyspace").find("# Keyspace") != std::string::npos);
  std::string stats = Info(c, "commandstats");
  CHECK(InfoField(stats, "cmdstat_set").rfind("calls=2,", 0) == 0);
  CHECK(Info(c, "everything").find("# Commandstats") != std::string::npos);
  CHECK(Info(c, "nosuchsection") == "\r\n");
  ReplyPtr both = Command(c.get(), {"INFO", "server", "clients"});
  REQUIRE(both);
  std::string text(both->str, both->len);
  CHECK(text.find("# Server") != std::string::npos);
  CHECK(text.find("# Clients") != std::string::npos);
}

TEST_CASE_FIXTURE(ServerFixture, "CONFIG GET matches globs and answers save and appendonly") {
  CHECK(Do(c, {"CONFIG", "GET", "save"}) == "[save, ]");
  CHECK(Do(c, {"CONFIG", "GET", "appendonly"}) == "[appendonly, no]");
  CHECK(Do(c, {"CONFIG", "GET", "maxclients"}) == "[maxclients, 10000]");
  CHECK(Do(c, {"CONFIG", "GET", "nosuch"}) == "[]");
  CHECK(Do(c, {"CONFIG", "GET", "MAXCLIENTS"}).ends_with(", 10000]"));  // any case
  std::string port = std::to_string(server.port());
  CHECK(Do(c, {"CONFIG", "GET", "port"}) == "[port, " + port + "]");
  CHECK(Do(c, {"CONFIG", "GET", "max*"}).find("maxmemory-policy, ") != std::string::npos);
  CHECK(Do(c, {"CONFIG", "GET", "timeout", "hz"}) == "[timeout, 0, hz, 10]");
  ReplyPtr all = Command(c.get(), {"CONFIG", "GET", "*"});
  REQUIRE(all);
  CHECK(all->elements >= 2 * 15);
}

TEST_CASE_FIXTURE(ServerFixture, "CONFIG SET changes options at run time and checks values") {
  CHECK(Do(c, {"CONFIG", "SET", "timeout", "5", "hz", "20"}) == "+OK");
  CHECK(Do(c, {"CONFIG", "GET", "timeout"}) == "[timeout, 5]");
  CHECK(Do(c, {"CONFIG", "GET", "hz"}) == "[hz, 20]");
  CHECK(Do(c, {"CONFIG", "SET", "proto-max-bulk-len", "1mb"}) == "+OK");
  CHECK(Do(c, {"CONFIG", "GET", "proto-max-bulk-len"}) == "[proto-max-bulk-len, 1048576]");
  CHECK(Do(c, {"CONFIG", "SET", "maxclients", "abc"}) ==
        "-ERR CONFIG SET failed (possibly related to argument 'maxclients') - argument couldn't "
        "be parsed into an integer");
  CHECK(Do(c, {"CONFIG", "SET", "timeout", "abc"}) ==
        "-ERR CONFIG SET failed (possibly related to argument 'timeout') - argument couldn't be "
        "parsed into an integer");
  CHECK(Do(c, {"CONFIG", "SET", "nosuch", "1"}) ==
        "-ERR Unknown option or number of arguments for CONFIG SET - 'nosuch'");
  CHECK(Do(c, {"CONFIG", "SET", "databases", "2"}) ==
        "-ERR CONFIG SET failed (possibly related to argument 'databases') - can't set "
        "immutable config");
  CHECK(Do(c, {"CONFIG", "SET", "appendonly", "yes"}).rfind("-ERR CONFIG SET failed", 0) == 0);
  CHECK(Do(c, {"CONFIG", "SET", "save", ""}) == "+OK");
  // All or nothing: a bad second option leaves the first unchanged.
  CHECK(Do(c, {"CONFIG", "SET", "timeout", "7", "hz", "abc"}).rfind("-ERR", 0) == 0);
  CHECK(Do(c, {"CONFIG", "GET", "timeout"}) == "[timeout, 5]");
}

TEST_CASE_FIXTURE(ServerFixture, "CONFIG RESETSTAT zeroes the stats and command counts") {
  CHECK(Do(c, {"GET", "nosuch"}) == "(nil)");
  CHECK(Do(c, {"CONFIG", "RESETSTAT"}) == "+OK");
  std::string stats = Info(c, "all");
  CHECK(InfoField(stats, "keyspace_misses") == "0");
  CHECK(InfoField(stats, "cmdstat_get") == "(absent)");
}

TEST_CASE_FIXTURE(ServerFixture, "COMMAND COUNT INFO DOCS and LIST read the one command table") {
  ReplyPtr count = Command(c.get(), {"COMMAND", "COUNT"});
  REQUIRE(count);
  REQUIRE(count->type == REDIS_REPLY_INTEGER);
  ReplyPtr all = Command(c.get(), {"COMMAND"});
  REQUIRE(all);
  CHECK(static_cast<long long>(all->elements) == count->integer);
  // Redis 7's ten fields: name, arity, flags, first/last key, step, then ACL categories,
  // tips, key specs and subcommands.
  std::string get_info = Do(c, {"COMMAND", "INFO", "get", "nosuch"});
  CHECK(get_info.rfind("[[get, :2, [+readonly, +fast], :1, :1, :1, ", 0) == 0);
  CHECK(get_info.ends_with("], (nil)]"));
  CHECK(Do(c, {"COMMAND", "INFO", "mset"})
            .rfind("[[mset, :-3, [+write, +denyoom], :1, :-1, :2, ", 0) == 0);
  ReplyPtr info = Command(c.get(), {"COMMAND", "INFO", "config"});
  REQUIRE(info);
  REQUIRE(info->elements == 1);
  CHECK(info->element[0]->elements == 10);
  CHECK(Show(info->element[0]->element[9]).find("config|get, :-3") != std::string::npos);
  std::string docs = Do(c, {"COMMAND", "DOCS", "get"});
  CHECK(docs.rfind("[get, [summary, ", 0) == 0);
  CHECK(docs.find("group, string") != std::string::npos);
  CHECK(Do(c, {"COMMAND", "DOCS", "nosuch"}) == "[]");
  ReplyPtr list = Command(c.get(), {"COMMAND", "LIST"});
  REQUIRE(list);
  std::string names = Show(list.get());
  // Every name the issue requires is in the table; LIST also names subcommands, as Redis does.
  for (const char* name :
       {"get",      "set",         "setnx",       "setex",     "psetex",    "getset",
        "getdel",   "getex",       "mget",        "mset",      "msetnx",    "append",
        "strlen",   "getrange",    "setrange",    "incr",      "decr",      "incrby",
        "decrby",   "incrbyfloat", "del",         "unlink",    "exists",    "touch",
        "type",     "keys",        "scan",        "randomkey", "rename",    "renamenx",
        "copy",     "expire",      "pexpire",     "expireat",  "pexpireat", "ttl",
        "pttl",     "expiretime",  "pexpiretime", "persist",   "dbsize",    "flushdb",
        "flushall", "ping",        "echo",        "quit",      "reset",     "time",
        "select",   "hello",       "auth",        "client",    "info",      "config",
        "command",  "client|kill", "config|get"}) {
    CAPTURE(name);
    CHECK(names.find(std::string(name) + ",") != std::string::npos);
  }
  CHECK(Do(c, {"COMMAND", "LIST", "FILTERBY", "PATTERN", "getr*"}) == "[getrange]");
  CHECK(Do(c, {"COMMAND", "LIST", "FILTERBY", "PATTERN", "config|?et"}) ==
        "[config|get, config|set]");
  CHECK(Do(c, {"COMMAND", "LIST", "FILTERBY", "MODULE", "foo"}) == "[]");
  CHECK(Do(c, {"COMMAND", "LIST", "FOO"}) == "-ERR syntax error");
}

}  // namespace
TEST_CASE_FIXTURE(ServerFixture, "CLIENT HELP lists UNBLOCK and exactly the CLIENT subcommands") {
  ReplyPtr help = Command(c.get(), {"CLIENT", "HELP"});
  REQUIRE(help);
  REQUIRE(help->type == REDIS_REPLY_ARRAY);
  std::vector<std::string> lines;
  for (size_t i = 0; i < help->elements; ++i) {
    lines.emplace_back(help->element[i]->str, help->element[i]->len);
  }
  REQUIRE(lines.size() > 2);
  CHECK(lines[0] == "CLIENT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:");
  auto unblock = std::find(lines.begin(), lines.end(), "UNBLOCK <clientid> [TIMEOUT|ERROR]");
  REQUIRE(unblock != lines.end());
  REQUIRE(unblock + 1 != lines.end());
  CHECK(*(unblock + 1) == "    Unblock the specified blocked client.");
  // A line that does not start with a space names a subcommand (its first word).
  std::set<std::string> listed;
  for (size_t i = 1; i < lines.size(); ++i) {
    if (!lines[i].empty() && lines[i][0] != ' ')
      listed.insert(lines[i].substr(0, lines[i].find(' ')));
  }
  // The subcommands the server has, as COMMAND INFO reports them ("client|unblock", ...).
  ReplyPtr info = Command(c.get(), {"COMMAND", "INFO", "client"});
  REQUIRE(info);
  REQUIRE(info->elements == 1);
  const redisReply* spec = info->element[0];
  REQUIRE(spec->elements >= 10);
  const redisReply* subs = spec->element[9];
  std::set<std::string> known;
  for (size_t i = 0; i < subs->elements; ++i) {
    std::string name(subs->element[i]->element[0]->str, subs->element[i]->element[0]->len);
    name = name.substr(name.find('|') + 1);
    for (char& ch : name) ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
    known.insert(name);
  }
  CHECK(known.count("UNBLOCK") == 1);
  CHECK(listed == known);
  // And each one listed is a subcommand CLIENT answers (not "unknown subcommand").
  for (const std::string& name : listed) {
    CAPTURE(name);
    CHECK(Do(c, {"CLIENT", name, "x", "y", "z", "w"}).find("unknown subcommand") ==
          std::string::npos);
  }
}

}  // namespace flightcache::integration
