// lua_resp.cc — RESP <-> Lua conversions (see lua_resp.h). Nested replies recurse; the Lua
// stack is grown (lua_checkstack) before each level, and a reply too deep for it becomes an
// error, never a crash.
#include "server/scripting/lua_resp.h"

#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <string>

namespace flightcache::server::scripting {
namespace {

// The line after a type byte: its text (without CRLF) and where the next part starts.
bool ReadLine(std::string_view bytes, size_t from, std::string_view* line, size_t* next) {
  const size_t end = bytes.find("\r\n", from);
  if (end == std::string_view::npos) return false;
  *line = bytes.substr(from, end - from);
  *next = end + 2;
  return true;
}

bool LineInt(std::string_view line, int64_t* out) {
  std::string text(line);
  char* end = nullptr;
  *out = std::strtoll(text.c_str(), &end, 10);
  return !text.empty() && end == text.c_str() + text.size();
}

size_t PushAt(lua_State* lua, std::string_view bytes, size_t pos);

// An aggregate of n elements (pairs when is_map) starting at pos. Pushes a table; for a map
// or set, inside a wrapper {map=...}/{set=...}. Returns the end position, 0 on failure.
size_t PushAggregate(lua_State* lua, std::string_view bytes, size_t pos, int64_t n, char type) {
  if (!lua_checkstack(lua, 4)) return 0;
  if (type == '%' || type == '~') lua_newtable(lua);  // the wrapper
  lua_newtable(lua);
  for (int64_t i = 0; i < n; ++i) {
    size_t next = PushAt(lua, bytes, pos);
    if (next == 0) {
      lua_pop(lua, type == '*' ? 1 : 2);
      return 0;
    }
    pos = next;
    if (type == '*') {
      lua_rawseti(lua, -2, static_cast<int>(i + 1));
    } else if (type == '~') {
      lua_pushboolean(lua, 1);
      lua_rawset(lua, -3);
    } else {
      next = PushAt(lua, bytes, pos);
      if (next == 0) {
        lua_pop(lua, 3);
        return 0;
      }
      pos = next;
      lua_rawset(lua, -3);
    }
  }
  if (type == '%' || type == '~') {
    lua_pushstring(lua, type == '%' ? "map" : "set");
    lua_insert(lua, -2);
    lua_rawset(lua, -3);
  }
  return pos;
}

size_t PushAt(lua_State* lua, std::string_view bytes, size_t pos) {
  if (pos >= bytes.size() || !lua_checkstack(lua, 4)) return 0;
  const char type = bytes[pos];
  std::string_view line;
  size_t next = 0;
  if (!ReadLine(bytes, pos + 1, &line, &next)) return 0;
  int64_t n = 0;
  switch (type) {
    case ':':
      if (!LineInt(line, &n)) return 0;
      lua_pushnumber(lua, static_cast<lua_Number>(n));
      return next;
    case '+':
      PushSingleFieldTable(lua, "ok", line);
      return next;
    case '-':
      PushSingleFieldTable(lua, "err", line);
      return next;
    case '$':
    case '=':
      if (!LineInt(line, &n)) return 0;
      if (n < 0) {
        lua_pushboolean(lua, 0);
        return next;
      }
      if (next + static_cast<size_t>(n) + 2 > bytes.size()) return 0;
      if (type == '=' && n >= 4) {  // verbatim: "txt:" then the text
        lua_pushlstring(lua, bytes.data() + next + 4, static_cast<size_t>(n) - 4);
      } else {
        lua_pushlstring(lua, bytes.data() + next, static_cast<size_t>(n));
      }
      return next + static_cast<size_t>(n) + 2;
    case '*':
    case '~':
    case '%':
    case '>':
      if (!LineInt(line, &n)) return 0;
      if (n < 0) {
        lua_pushboolean(lua, 0);
        return next;
      }
      return PushAggregate(lua, bytes, next, n, type == '>' ? '*' : type);
    case '_':
      lua_pushnil(lua);
      return next;
    case '#':
      lua_pushboolean(lua, line == "t");
      return next;
    case ',': {
      lua_newtable(lua);
      lua_pushstring(lua, "double");
      lua_pushnumber(lua, std::strtod(std::string(line).c_str(), nullptr));
      lua_rawset(lua, -3);
      return next;
    }
    case '(':
      PushSingleFieldTable(lua, "big_number", line);
      return next;
    default:
      return 0;
  }
}

// A Lua number as Redis casts it to long long; out of range (or NaN) as x86's conversion
// gives it, rather than undefined behaviour.
int64_t NumberToInteger(lua_Number v) {
  if (!(v >= -9223372036854775808.0 && v < 9223372036854775808.0)) return INT64_MIN;
  return static_cast<int64_t>(v);
}

// The string field `name` of the table at the top, if it has one (left off the stack).
bool StringField(lua_State* lua, const char* name, std::string* out) {
  lua_pushstring(lua, name);
  lua_rawget(lua, -2);
  const bool is_string = lua_type(lua, -1) == LUA_TSTRING;
  if (is_string) {
    size_t len = 0;
    const char* s = lua_tolstring(lua, -1, &len);
    out->assign(s, len);
  }
  lua_pop(lua, 1);
  return is_string;
}

void WriteTable(lua_State* lua, protocol::ReplyWriter& out, int script_resp) {
  std::string text;
  if (StringField(lua, "err", &text)) {
    out.Error(text);
    return;
  }
  if (StringField(lua, "ok", &text)) {
    out.Simple(text);
    return;
  }
  lua_pushstring(lua, "double");
  lua_rawget(lua, -2);
  if (lua_type(lua, -1) == LUA_TNUMBER) {
    out.Double(lua_tonumber(lua, -1));
    lua_pop(lua, 1);
    return;
  }
  lua_pop(lua, 1);
  if (StringField(lua, "big_number", &text)) {
    out.Bulk(text);
    return;
  }
  for (const char* kind : {"map", "set"}) {
    lua_pushstring(lua, kind);
    lua_rawget(lua, -2);
    if (lua_type(lua, -1) != LUA_TTABLE) {
      lua_pop(lua, 1);
      continue;
    }
    size_t n = 0;
    lua_pushnil(lua);
    while (lua_next(lua, -2) != 0) {
      ++n;
      lua_pop(lua, 1);
    }
    const bool is_map = kind[0] == 'm';
    if (is_map) {
      out.MapHeader(n);
    } else {
      out.SetHeader(n);
    }
    lua_pushnil(lua);
    while (lua_next(lua, -2) != 0) {
      lua_pushvalue(lua, -2);  // the key, to write (WriteLuaAsReply pops it)
      WriteLuaAsReply(lua, out, script_resp);
      if (is_map) {
        WriteLuaAsReply(lua, out, script_resp);  // the value
      } else {
        lua_pop(lua, 1);
      }
    }
    lua_pop(lua, 1);
    return;
  }
  // An array: elements 1, 2, ... up to the first nil.
  size_t n = 0;
  while (true) {
    lua_rawgeti(lua, -1, static_cast<int>(n + 1));
    const bool end = lua_isnil(lua, -1);
    lua_pop(lua, 1);
    if (end) break;
    ++n;
  }
  out.ArrayHeader(n);
  for (size_t i = 1; i <= n; ++i) {
    lua_rawgeti(lua, -1, static_cast<int>(i));
    WriteLuaAsReply(lua, out, script_resp);
  }
}

}  // namespace

size_t PushReplyAsLua(lua_State* lua, std::string_view bytes) {
  const int top = lua_gettop(lua);
  const size_t end = PushAt(lua, bytes, 0);
  if (end == 0) lua_settop(lua, top);
  return end;
}

void WriteLuaAsReply(lua_State* lua, protocol::ReplyWriter& out, int script_resp) {
  if (!lua_checkstack(lua, 4)) {
    out.Error("ERR reached lua stack limit");
    lua_pop(lua, 1);
    return;
  }
  switch (lua_type(lua, -1)) {
    case LUA_TSTRING: {
      size_t len = 0;
      const char* s = lua_tolstring(lua, -1, &len);
      out.Bulk(std::string_view(s, len));
      break;
    }
    case LUA_TBOOLEAN:
      if (script_resp == 3) {
        out.Boolean(lua_toboolean(lua, -1) != 0);
      } else if (lua_toboolean(lua, -1)) {
        out.Integer(1);
      } else {
        out.Null();
      }
      break;
    case LUA_TNUMBER:
      out.Integer(NumberToInteger(lua_tonumber(lua, -1)));
      break;
    case LUA_TTABLE:
      WriteTable(lua, out, script_resp);
      break;
    default:
      out.Null();
      break;
  }
  lua_pop(lua, 1);
}

void PushErrorTable(lua_State* lua, std::string_view error) {
  std::string code = "ERR";
  std::string_view message = error;
  if (!error.empty() && error[0] == '-') {
    const size_t space = error.find(' ');
    if (space == std::string_view::npos) {
      message = error.substr(1);
    } else {
      code = std::string(error.substr(1, space - 1));
      message = error.substr(space + 1);
    }
  }
  while (!message.empty() && (message.back() == '\r' || message.back() == '\n')) {
    message.remove_suffix(1);
  }
  PushSingleFieldTable(lua, "err", code + " " + std::string(message));
}

void PushSingleFieldTable(lua_State* lua, const char* field, std::string_view text) {
  lua_newtable(lua);
  lua_pushstring(lua, field);
  lua_pushlstring(lua, text.data(), text.size());
  lua_rawset(lua, -3);
}

}  // namespace flightcache::server::scripting
