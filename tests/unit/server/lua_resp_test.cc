// lua_resp_test.cc — Redis's RESP <-> Lua conversions (server/scripting/lua_resp.h), SHA-1, and
// the engine's script runs against a host that answers redis.call with canned replies.
#include "server/scripting/lua_resp.h"

#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "server/scripting/lua_engine.h"
#include "server/scripting/sha1.h"

namespace flightcache::server::scripting {
namespace {

// A bare Lua state with the base library, closed at the end of the test.
struct LuaFixture {
  LuaFixture() : lua(luaL_newstate()) { luaL_openlibs(lua); }
  ~LuaFixture() { lua_close(lua); }
  // Runs code that returns one value, converts it with WriteLuaAsReply and returns the bytes.
  std::string ReplyOf(const char* code, int resp = 2, bool client_resp3 = false) {
    REQUIRE(luaL_dostring(lua, code) == 0);
    std::string out;
    protocol::ReplyWriter w(&out);
    w.set_resp3(client_resp3);
    WriteLuaAsReply(lua, w, resp);
    CHECK(lua_gettop(lua) == 0);
    return out;
  }
  // Pushes bytes as Lua, stores it in global `v`, then evaluates expr.
  std::string Describe(std::string_view bytes, const char* expr) {
    REQUIRE(PushReplyAsLua(lua, bytes) == bytes.size());
    lua_setglobal(lua, "v");
    REQUIRE(luaL_dostring(lua, (std::string("return ") + expr).c_str()) == 0);
    std::string text = lua_tostring(lua, -1) ? lua_tostring(lua, -1) : "(not a string)";
    lua_settop(lua, 0);
    return text;
  }
  lua_State* lua;
};

}  // namespace

TEST_CASE_FIXTURE(LuaFixture, "Lua values become replies as Redis converts them") {
  CHECK(ReplyOf("return 42") == ":42\r\n");
  CHECK(ReplyOf("return 3.99") == ":3\r\n");
  CHECK(ReplyOf("return -2.5") == ":-2\r\n");
  CHECK(ReplyOf("return 'hi'") == "$2\r\nhi\r\n");
  CHECK(ReplyOf("return true") == ":1\r\n");
  CHECK(ReplyOf("return false") == "$-1\r\n");
  CHECK(ReplyOf("return nil") == "$-1\r\n");
  CHECK(ReplyOf("return {1, 'a', nil, 3}") == "*2\r\n:1\r\n$1\r\na\r\n");
  CHECK(ReplyOf("return {{1}, {}}") == "*2\r\n*1\r\n:1\r\n*0\r\n");
  CHECK(ReplyOf("return {ok='OK'}") == "+OK\r\n");
  CHECK(ReplyOf("return {err='ERR bad\\nline'}") == "-ERR bad line\r\n");
  CHECK(ReplyOf("return {double=1.5}", 3, true) == ",1.5\r\n");
  CHECK(ReplyOf("return {map={a=1}}", 3, true) == "%1\r\n$1\r\na\r\n:1\r\n");
  CHECK(ReplyOf("return {map={a=1}}", 3, false) == "*2\r\n$1\r\na\r\n:1\r\n");
  CHECK(ReplyOf("return {set={a=true}}", 3, true) == "~1\r\n$1\r\na\r\n");
  // A RESP3 script's booleans stay booleans; a RESP2 client reads them as 1 and 0.
  CHECK(ReplyOf("return false", 3, true) == "#f\r\n");
  CHECK(ReplyOf("return false", 3, false) == ":0\r\n");
}

TEST_CASE_FIXTURE(LuaFixture, "replies become Lua values as Redis converts them") {
  CHECK(Describe(":7\r\n", "type(v) .. v") == "number7");
  CHECK(Describe("$3\r\nabc\r\n", "type(v) .. v") == "stringabc");
  CHECK(Describe("$0\r\n\r\n", "'[' .. v .. ']'") == "[]");
  CHECK(Describe("$-1\r\n", "tostring(v)") == "false");
  CHECK(Describe("*-1\r\n", "tostring(v)") == "false");
  CHECK(Describe("+OK\r\n", "v.ok") == "OK");
  CHECK(Describe("-ERR no\r\n", "v.err") == "ERR no");
  CHECK(Describe("*3\r\n:1\r\n$1\r\nb\r\n*1\r\n:2\r\n", "#v .. v[2] .. v[3][1]") == "3b2");
  CHECK(Describe("%1\r\n$1\r\nk\r\n$1\r\nv\r\n", "v.map.k") == "v");
  CHECK(Describe("~2\r\n$1\r\na\r\n$1\r\nb\r\n", "tostring(v.set.a and v.set.b)") == "true");
  CHECK(Describe("_\r\n", "tostring(v)") == "nil");
  CHECK(Describe("#t\r\n", "tostring(v)") == "true");
  CHECK(Describe(",2.5\r\n", "tostring(v.double)") == "2.5");
  CHECK(Describe("=8\r\ntxt:text\r\n", "v") == "text");
  // Partial or unknown input pushes nothing.
  CHECK(PushReplyAsLua(lua, "$5\r\nab") == 0);
  CHECK(PushReplyAsLua(lua, "*2\r\n:1\r\n") == 0);
  CHECK(PushReplyAsLua(lua, "?x\r\n") == 0);
  CHECK(lua_gettop(lua) == 0);
}

TEST_CASE_FIXTURE(LuaFixture, "error tables carry the code as Redis's luaPushErrorBuff does") {
  PushErrorTable(lua, "-WRONGTYPE Operation against a key\r\n");
  lua_getfield(lua, -1, "err");
  CHECK(std::string(lua_tostring(lua, -1)) == "WRONGTYPE Operation against a key");
  lua_settop(lua, 0);
  PushErrorTable(lua, "plain message");
  lua_getfield(lua, -1, "err");
  CHECK(std::string(lua_tostring(lua, -1)) == "ERR plain message");
  lua_settop(lua, 0);
}

TEST_CASE("SHA-1 digests match the standard's test vectors") {
  CHECK(Sha1Hex("") == "da39a3ee5e6b4b0d3255bfef95601890afd80709");
  CHECK(Sha1Hex("abc") == "a9993e364706816aba3e25717850c26c9cd0d89d");
  CHECK(Sha1Hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq") ==
        "84983e441c3bd26ebaae4aa1f95129e5e54670f1");
  CHECK(Sha1Hex(std::string(1000000, 'a')) == "34aa973cd4c4daa4f61eeb2bdbad27316534016f");
}

namespace {

// A host that records redis.call's arguments and answers with a fixed reply.
struct RecordingHost {
  std::vector<std::string> last_args;
  std::string reply = "+OK\r\n";
  static bool Call(void* self, const std::vector<std::string_view>& args, int, std::string* reply,
                   std::string*) {
    auto* host = static_cast<RecordingHost*>(self);
    host->last_args.assign(args.begin(), args.end());
    *reply = host->reply;
    return true;
  }
};

std::string RunScript(LuaEngine& engine, RecordingHost& recorder, const std::string& body,
                      const std::vector<std::string_view>& keys = {}) {
  const std::string sha = Sha1Hex(body);
  std::string error;
  if (!engine.HasScript(sha) && !engine.CompileScript(sha, body, &error)) return error;
  ScriptHost host;
  host.ctx = &recorder;
  host.call = &RecordingHost::Call;
  std::string out;
  protocol::ReplyWriter w(&out);
  engine.RunScript(sha, keys, {}, host, w);
  return out;
}

}  // namespace

TEST_CASE("the engine passes redis.call's arguments and formats errors as Redis 7.0") {
  LuaEngine engine;
  RecordingHost recorder;
  CHECK(RunScript(engine, recorder, "return redis.call('set', KEYS[1], 10, 0.5)", {"k"}) ==
        "+OK\r\n");
  CHECK(recorder.last_args == std::vector<std::string>{"set", "k", "10", "0.5"});
  recorder.reply = "-ERR nope\r\n";
  const std::string sha = Sha1Hex("return redis.call('get', 'x')");
  CHECK(RunScript(engine, recorder, "return redis.call('get', 'x')") ==
        "-ERR nope script: " + sha + ", on @user_script:1.\r\n");
  CHECK(RunScript(engine, recorder, "return redis.pcall('get', 'x')") == "-ERR nope\r\n");
  CHECK(RunScript(engine, recorder, "return 'x") ==
        "Error compiling script (new function): user_script:1: unfinished string near '<eof>'");
  CHECK(RunScript(engine, recorder, "\nerror('two')") ==
        "-ERR user_script:2: two script: " + Sha1Hex("\nerror('two')") +
            ", on @user_script:2.\r\n");
  engine.ResetScripts();
  CHECK_FALSE(engine.HasScript(sha));
}

TEST_CASE("the engine loads a library's functions and refuses a broken one") {
  LuaEngine engine;
  std::vector<FunctionInfo> functions;
  std::string error;
  REQUIRE(engine.LoadLibrary(
      "\nredis.register_function{function_name='f', callback=function(k, a) return a[1] end, "
      "flags={'no-writes', 'allow-oom'}}",
      &functions, &error));
  REQUIRE(functions.size() == 1);
  CHECK(functions[0].name == "f");
  CHECK(FunctionFlagNames(functions[0].flags) ==
        std::vector<std::string>{"no-writes", "allow-oom"});
  REQUIRE(engine.FindFunction("f") != nullptr);
  RecordingHost recorder;
  ScriptHost host;
  host.ctx = &recorder;
  host.call = &RecordingHost::Call;
  std::string out;
  protocol::ReplyWriter w(&out);
  engine.RunFunction("f", {}, {"arg"}, host, w);
  CHECK(out == "$3\r\narg\r\n");
  std::vector<FunctionInfo> none;
  CHECK_FALSE(engine.LoadLibrary("\nlocal x = 1", &none, &error));
  CHECK(error == "No functions registered");
  CHECK_FALSE(
      engine.LoadLibrary("\nredis.register_function('g', function() end)\n"
                         "redis.register_function('g', function() end)",
                         &none, &error));
  CHECK(error == "Error registering functions: ERR Function already exists in the library");
  CHECK(engine.FindFunction("g") == nullptr);
  engine.ClearLibraries();
  CHECK(engine.FindFunction("f") == nullptr);
}

}  // namespace flightcache::server::scripting
