// lua_resp.h — Redis's conversions between RESP replies and Lua values (scripts, functions).
//
// RESP -> Lua (what redis.call returns): integer -> number, bulk -> string, nil bulk or nil
// array -> false, array -> table, status -> {ok=...}, error -> {err=...}; after
// redis.setresp(3) also map -> {map={...}}, set -> {set={m=true}}, null -> nil, boolean ->
// boolean, double -> {double=n}, big number -> {big_number=s}, verbatim -> its text.
// Lua -> RESP (what a script returns): number -> integer (truncated), string -> bulk, table ->
// array up to the first nil (or status / error / map / set / double by its field), false ->
// nil, true -> 1 (RESP3 scripts: booleans), nil -> nil. Knows nothing of commands.
#pragma once

#include <lua.hpp>
#include <string_view>

#include "protocol/reply_writer.h"

namespace flightcache::server::scripting {

// Parses one RESP2/RESP3 reply at the front of bytes and pushes it as a Lua value. Returns the
// bytes consumed; 0 (and pushes nothing) when bytes do not start with a whole reply.
size_t PushReplyAsLua(lua_State* lua, std::string_view bytes);

// Writes the value at the top of the Lua stack as a reply (Redis's luaReplyToRedisReply) and
// pops it. script_resp is the script's redis.setresp (2 or 3): it decides how booleans go.
void WriteLuaAsReply(lua_State* lua, protocol::ReplyWriter& out, int script_resp);

// Pushes an error table {err="CODE message"} as Redis's luaPushErrorBuff builds it: from
// "-CODE message\r\n" (the code kept) or from a bare "message" (the code ERR added).
void PushErrorTable(lua_State* lua, std::string_view error);

// Pushes a table {[field]=text} (status_reply, ok replies).
void PushSingleFieldTable(lua_State* lua, const char* field, std::string_view text);

}  // namespace flightcache::server::scripting
