// commands_string_test.cc — string commands against the real binary: SET and its options,
// GETEX, GETSET/GETDEL, MSET family, APPEND/STRLEN, GETRANGE/SETRANGE and the INCR family.
// Expected replies and error texts are what redis-server 7.0 answers to the same commands.
#include <doctest/doctest.h>

#include <thread>

#include "tests/integration/server_process.h"

namespace flightcache::integration {
namespace {

// TTL in seconds of key, as an integer.
long long Ttl(const ContextPtr& c, const std::string& key) {
  ReplyPtr r = Command(c.get(), {"TTL", key});
  REQUIRE(r);
  REQUIRE(r->type == REDIS_REPLY_INTEGER);
  return r->integer;
}

TEST_CASE_FIXTURE(ServerFixture, "SET stores a value that GET returns, binary-safe") {
  CHECK(Do(c, {"SET", "k", "v"}) == "+OK");
  CHECK(Do(c, {"GET", "k"}) == "v");
  CHECK(Do(c, {"GET", "missing"}) == "(nil)");
  const std::string binary("a\0b\r\nc", 6);
  CHECK(Do(c, {"SET", binary, binary}) == "+OK");
  CHECK(Do(c, {"GET", binary}) == binary);
  CHECK(Do(c, {"SET", "empty", ""}) == "+OK");
  CHECK(Do(c, {"STRLEN", "empty"}) == ":0");
}

TEST_CASE_FIXTURE(ServerFixture, "SET NX and XX set only when the key is absent or present") {
  CHECK(Do(c, {"SET", "k", "v", "XX"}) == "(nil)");
  CHECK(Do(c, {"EXISTS", "k"}) == ":0");
  CHECK(Do(c, {"SET", "k", "v1", "NX"}) == "+OK");
  CHECK(Do(c, {"SET", "k", "v2", "NX"}) == "(nil)");
  CHECK(Do(c, {"GET", "k"}) == "v1");
  CHECK(Do(c, {"SET", "k", "v3", "xx"}) == "+OK");
  CHECK(Do(c, {"GET", "k"}) == "v3");
}

TEST_CASE_FIXTURE(ServerFixture, "SET GET returns the old value, also with NX and XX") {
  CHECK(Do(c, {"SET", "k", "v1", "GET"}) == "(nil)");
  CHECK(Do(c, {"SET", "k", "v2", "GET"}) == "v1");
  // Redis 7 allows NX with GET: the old value comes back and nothing is written.
  CHECK(Do(c, {"SET", "k", "v3", "NX", "GET"}) == "v2");
  CHECK(Do(c, {"GET", "k"}) == "v2");
  CHECK(Do(c, {"SET", "fresh", "v", "NX", "GET"}) == "(nil)");
  CHECK(Do(c, {"GET", "fresh"}) == "v");
  CHECK(Do(c, {"SET", "k", "v4", "XX", "GET"}) == "v2");
  CHECK(Do(c, {"SET", "absent", "v", "XX", "GET"}) == "(nil)");
  CHECK(Do(c, {"EXISTS", "absent"}) == ":0");
}

TEST_CASE_FIXTURE(ServerFixture, "SET EX PX EXAT PXAT set the expiry and KEEPTTL keeps it") {
  CHECK(Do(c, {"SET", "k", "v", "EX", "100"}) == "+OK");
  CHECK(Ttl(c, "k") == 100);
  CHECK(Do(c, {"SET", "k", "v", "PX", "50000"}) == "+OK");
  CHECK(Ttl(c, "k") == 50);
  CHECK(Do(c, {"SET", "k", "v", "EXAT", "4000000000"}) == "+OK");
  CHECK(Do(c, {"EXPIRETIME", "k"}) == ":4000000000");
  CHECK(Do(c, {"SET", "k", "v", "PXAT", "4000000000123"}) == "+OK");
  CHECK(Do(c, {"PEXPIRETIME", "k"}) == ":4000000000123");
  CHECK(Do(c, {"SET", "k", "v2", "KEEPTTL"}) == "+OK");
  CHECK(Do(c, {"PEXPIRETIME", "k"}) == ":4000000000123");
  CHECK(Do(c, {"SET", "k", "v3"}) == "+OK");
  CHECK(Ttl(c, "k") == -1);
  // An absolute time in the past deletes the key at once.
  CHECK(Do(c, {"SET", "k", "v", "PXAT", "1"}) == "+OK");
  CHECK(Do(c, {"EXISTS", "k"}) == ":0");
}

TEST_CASE_FIXTURE(ServerFixture, "SET rejects conflicting options and bad expire times") {
  const std::string syntax = "-ERR syntax error";
  const std::string invalid = "-ERR invalid expire time in 'set' command";
  CHECK(Do(c, {"SET", "k", "v", "NX", "XX"}) == syntax);
  CHECK(Do(c, {"SET", "k", "v", "XX", "NX"}) == syntax);
  CHECK(Do(c, {"SET", "k", "v", "EX", "10", "PX", "100"}) == syntax);
  CHECK(Do(c, {"SET", "k", "v", "EX", "10", "KEEPTTL"}) == syntax);
  CHECK(Do(c, {"SET", "k", "v", "KEEPTTL", "EX", "10"}) == syntax);
  CHECK(Do(c, {"SET", "k", "v", "EX"}) == syntax);
  CHECK(Do(c, {"SET", "k", "v", "FOO"}) == syntax);
  CHECK(Do(c, {"SET", "k", "v", "EX", "0"}) == invalid);
  CHECK(Do(c, {"SET", "k", "v", "EX", "-1"}) == invalid);
  CHECK(Do(c, {"SET", "k", "v", "PX", "0"}) == invalid);
  CHECK(Do(c, {"SET", "k", "v", "EXAT", "0"}) == invalid);
  CHECK(Do(c, {"SET", "k", "v", "EX", "9223372036854775807"}) == invalid);
  CHECK(Do(c, {"SET", "k", "v", "PX", "9223372036854775807"}) == invalid);
  CHECK(Do(c, {"SET", "k", "v", "EX", "9223372036854776"}) == invalid);
  CHECK(Do(c, {"SET", "k", "v", "EX", "abc"}) == "-ERR value is not an integer or out of range");
  CHECK(Do(c, {"SET", "k"}) == "-ERR wrong number of arguments for 'set' command");
  CHECK(Do(c, {"EXISTS", "k"}) == ":0");
}

TEST_CASE_FIXTURE(ServerFixture, "SETNX SETEX and PSETEX set with their conditions and TTLs") {
  CHECK(Do(c, {"SETNX", "k", "v"}) == ":1");
  CHECK(Do(c, {"SETNX", "k", "w"}) == ":0");
  CHECK(Do(c, {"GET", "k"}) == "v");
  CHECK(Do(c, {"SETEX", "k", "10", "v2"}) == "+OK");
  CHECK(Ttl(c, "k") == 10);
  CHECK(Do(c, {"PSETEX", "k", "20000", "v3"}) == "+OK");
  CHECK(Ttl(c, "k") == 20);
  CHECK(Do(c, {"GET", "k"}) == "v3");
  CHECK(Do(c, {"SETEX", "k", "0", "v"}) == "-ERR invalid expire time in 'setex' command");
  CHECK(Do(c, {"SETEX", "k", "-5", "v"}) == "-ERR invalid expire time in 'setex' command");
  CHECK(Do(c, {"PSETEX", "k", "0", "v"}) == "-ERR invalid expire time in 'psetex' command");
  CHECK(Do(c, {"SETEX", "k", "abc", "v"}) == "-ERR value is not an integer or out of range");
}

TEST_CASE_FIXTURE(ServerFixture, "GETSET and GETDEL return the old value") {
  CHECK(Do(c, {"GETSET", "k", "a"}) == "(nil)");
  CHECK(Do(c, {"SET", "k", "b", "EX", "100"}) == "+OK");
  CHECK(Do(c, {"GETSET", "k", "c"}) == "b");
  CHECK(Ttl(c, "k") == -1);  // GETSET drops the TTL like SET does
  CHECK(Do(c, {"GETDEL", "k"}) == "c");
  CHECK(Do(c, {"GETDEL", "k"}) == "(nil)");
  CHECK(Do(c, {"EXISTS", "k"}) == ":0");
}

TEST_CASE_FIXTURE(ServerFixture, "GETEX reads the value and sets or clears its expiry") {
  CHECK(Do(c, {"GETEX", "nokey", "EX", "10"}) == "(nil)");
  CHECK(Do(c, {"SET", "k", "hello"}) == "+OK");
  CHECK(Do(c, {"GETEX", "k"}) == "hello");
  CHECK(Ttl(c, "k") == -1);
  CHECK(Do(c, {"GETEX", "k", "EX", "100"}) == "hello");
  CHECK(Ttl(c, "k") == 100);
  CHECK(Do(c, {"GETEX", "k", "PX", "30000"}) == "hello");
  CHECK(Ttl(c, "k") == 30);
  CHECK(Do(c, {"GETEX", "k", "EXAT", "4000000000"}) == "hello");
  CHECK(Do(c, {"EXPIRETIME", "k"}) == ":4000000000");
  CHECK(Do(c, {"GETEX", "k", "PERSIST"}) == "hello");
  CHECK(Ttl(c, "k") == -1);
  CHECK(Do(c, {"GETEX", "k", "EX", "10", "PX", "10"}) == "-ERR syntax error");
  CHECK(Do(c, {"GETEX", "k", "PERSIST", "EX", "10"}) == "-ERR syntax error");
  CHECK(Do(c, {"GETEX", "k", "FOO"}) == "-ERR syntax error");
  CHECK(Do(c, {"GETEX", "k", "EX"}) == "-ERR syntax error");
  CHECK(Do(c, {"GETEX", "k", "NX"}) == "-ERR syntax error");
  CHECK(Do(c, {"GETEX", "k", "EX", "0"}) == "-ERR invalid expire time in 'getex' command");
  CHECK(Do(c, {"GETEX", "k", "EX", "-1"}) == "-ERR invalid expire time in 'getex' command");
  // A past absolute time returns the value and deletes the key.
  CHECK(Do(c, {"GETEX", "k", "PXAT", "1"}) == "hello");
  CHECK(Do(c, {"EXISTS", "k"}) == ":0");
}

TEST_CASE_FIXTURE(ServerFixture, "MSET MSETNX and MGET work on many keys and check arity") {
  CHECK(Do(c, {"MSET", "a", "1", "b", "2"}) == "+OK");
  CHECK(Do(c, {"MSET", "a", "1", "b"}) == "-ERR wrong number of arguments for 'mset' command");
  CHECK(Do(c, {"MSET", "a"}) == "-ERR wrong number of arguments for 'mset' command");
  CHECK(Do(c, {"MSETNX", "c", "3", "d"}) == "-ERR wrong number of arguments for 'msetnx' command");
  CHECK(Do(c, {"MSETNX", "a", "x", "c", "3"}) == ":0");
  CHECK(Do(c, {"EXISTS", "c"}) == ":0");
  CHECK(Do(c, {"MSETNX", "c", "3", "d", "4"}) == ":1");
  CHECK(Do(c, {"MGET", "a", "b", "c", "d", "nosuch", "a"}) == "[1, 2, 3, 4, (nil), 1]");
  CHECK(Do(c, {"MGET"}) == "-ERR wrong number of arguments for 'mget' command");
}

TEST_CASE_FIXTURE(ServerFixture, "APPEND and STRLEN grow and measure a string") {
  CHECK(Do(c, {"APPEND", "k", "hello"}) == ":5");
  CHECK(Do(c, {"APPEND", "k", " world"}) == ":11");
  CHECK(Do(c, {"GET", "k"}) == "hello world");
  CHECK(Do(c, {"STRLEN", "k"}) == ":11");
  CHECK(Do(c, {"STRLEN", "nosuch"}) == ":0");
  CHECK(Do(c, {"SET", "t", "x", "EX", "100"}) == "+OK");
  CHECK(Do(c, {"APPEND", "t", "y"}) == ":2");
  CHECK(Ttl(c, "t") == 100);  // APPEND keeps the TTL
}

TEST_CASE_FIXTURE(ServerFixture, "GETRANGE clamps its indexes as Redis does") {
  CHECK(Do(c, {"SET", "k", "hello world"}) == "+OK");
  CHECK(Do(c, {"GETRANGE", "k", "0", "4"}) == "hello");
  CHECK(Do(c, {"GETRANGE", "k", "-5", "-1"}) == "world");
  CHECK(Do(c, {"GETRANGE", "k", "5", "2"}) == "");
  CHECK(Do(c, {"GETRANGE", "k", "-100", "100"}) == "hello world");
  CHECK(Do(c, {"GETRANGE", "k", "100", "200"}) == "");
  CHECK(Do(c, {"GETRANGE", "k", "0", "-100"}) == "h");
  CHECK(Do(c, {"GETRANGE", "k", "0", "9223372036854775807"}) == "hello world");
  CHECK(Do(c, {"GETRANGE", "k", "-9223372036854775808", "-1"}) == "hello world");
  CHECK(Do(c, {"GETRANGE", "nosuch", "0", "-1"}) == "");
  CHECK(Do(c, {"GETRANGE", "k", "a", "b"}) == "-ERR value is not an integer or out of range");
}

TEST_CASE_FIXTURE(ServerFixture, "SETRANGE pads with zero bytes and checks its offset") {
  CHECK(Do(c, {"SETRANGE", "k", "5", "abc"}) == ":8");
  CHECK(Do(c, {"GET", "k"}) == std::string("\0\0\0\0\0abc", 8));
  CHECK(Do(c, {"SETRANGE", "k", "0", "XY"}) == ":8");
  CHECK(Do(c, {"GET", "k"}) == std::string("XY\0\0\0abc", 8));
  CHECK(Do(c, {"SETRANGE", "k", "0", ""}) == ":8");
  // An empty value on a missing key creates nothing.
  CHECK(Do(c, {"SETRANGE", "new", "5", ""}) == ":0");
  CHECK(Do(c, {"EXISTS", "new"}) == ":0");
  CHECK(Do(c, {"SETRANGE", "k", "-1", "x"}) == "-ERR offset is out of range");
  CHECK(Do(c, {"SETRANGE", "k", "536870912", "x"}) ==
        "-ERR string exceeds maximum allowed size (proto-max-bulk-len)");
  CHECK(Do(c, {"SETRANGE", "k", "536870911", ""}) == ":8");
  CHECK(Do(c, {"SETRANGE", "k", "a", "x"}) == "-ERR value is not an integer or out of range");
}

TEST_CASE_FIXTURE(ServerFixture, "SETRANGE at offsets near INT64_MAX is refused, not a crash") {
  // offset + length overflowed once and the server died allocating it.
  const std::string too_big = "-ERR string exceeds maximum allowed size (proto-max-bulk-len)";
  for (const std::string key : {"k", "fresh"}) {
    if (key == "k") CHECK(Do(c, {"SET", "k", "value"}) == "+OK");
    CHECK(Do(c, {"SETRANGE", key, "9223372036854775807", "x"}) == too_big);
    CHECK(Do(c, {"SETRANGE", key, "9223372036854775806", "xyz"}) == too_big);
    CHECK(Do(c, {"SETRANGE", key, "4611686018427387904", "x"}) == too_big);
  }
  CHECK(Do(c, {"SETRANGE", "k", "9223372036854775808", "x"}) ==
        "-ERR value is not an integer or out of range");
  CHECK(Do(c, {"CONFIG", "SET", "proto-max-bulk-len", "1mb"}) == "+OK");
  CHECK(Do(c, {"SETRANGE", "k", "1048575", "x"}) == ":1048576");
  CHECK(Do(c, {"SETRANGE", "k", "1048575", "xy"}) == too_big);
  CHECK(Do(c, {"APPEND", "k", "z"}) == too_big);
  CHECK(Do(c, {"GET", "fresh"}) == "(nil)");
  CHECK(Do(c, {"STRLEN", "k"}) == ":1048576");
  CHECK(Do(c, {"GETRANGE", "k", "-9223372036854775808", "9223372036854775807"}).size() == 1048576);
  CHECK(Do(c, {"GETRANGE", "k", "9223372036854775807", "-9223372036854775808"}) == "");
  CHECK(Do(c, {"PING"}) == "+PONG");
}

TEST_CASE_FIXTURE(ServerFixture, "INCR DECR INCRBY and DECRBY count and create keys") {
  CHECK(Do(c, {"INCR", "n"}) == ":1");
  CHECK(Do(c, {"INCRBY", "n", "10"}) == ":11");
  CHECK(Do(c, {"DECR", "n"}) == ":10");
  CHECK(Do(c, {"DECRBY", "n", "3"}) == ":7");
  CHECK(Do(c, {"DECRBY", "m", "-5"}) == ":5");
  CHECK(Do(c, {"GET", "n"}) == "7");
  CHECK(Do(c, {"SET", "t", "1", "EX", "100"}) == "+OK");
  CHECK(Do(c, {"INCR", "t"}) == ":2");
  CHECK(Ttl(c, "t") == 100);  // INCR keeps the TTL
}

TEST_CASE_FIXTURE(ServerFixture, "INCR family rejects non-integers and overflow") {
  const std::string not_int = "-ERR value is not an integer or out of range";
  const std::string overflow = "-ERR increment or decrement would overflow";
  for (const char* bad : {"abc", " 1", "01", "1.5", "", "+1"}) {
    CAPTURE(bad);
    CHECK(Do(c, {"SET", "n", bad}) == "+OK");
    CHECK(Do(c, {"INCR", "n"}) == not_int);
  }
  CHECK(Do(c, {"SET", "n", "10"}) == "+OK");
  CHECK(Do(c, {"INCRBY", "n", "abc"}) == not_int);
  CHECK(Do(c, {"INCRBY", "n", "1.5"}) == not_int);
  CHECK(Do(c, {"INCRBY", "n", ""}) == not_int);
  CHECK(Do(c, {"INCRBY", "n", "9223372036854775808"}) == not_int);
  CHECK(Do(c, {"DECRBY", "n", "-9223372036854775808"}) == "-ERR decrement would overflow");
  CHECK(Do(c, {"SET", "n", "9223372036854775807"}) == "+OK");
  CHECK(Do(c, {"INCR", "n"}) == overflow);
  CHECK(Do(c, {"INCRBY", "n", "1"}) == overflow);
  CHECK(Do(c, {"SET", "n", "-9223372036854775808"}) == "+OK");
  CHECK(Do(c, {"DECR", "n"}) == overflow);
  CHECK(Do(c, {"DECRBY", "n", "1"}) == overflow);
  CHECK(Do(c, {"GET", "n"}) == "-9223372036854775808");
  CHECK(Do(c, {"DECRBY", "fresh", "9223372036854775807"}) == ":-9223372036854775807");
}

TEST_CASE_FIXTURE(ServerFixture, "INCRBYFLOAT adds floats and prints them as Redis does") {
  CHECK(Do(c, {"SET", "f", "10.5"}) == "+OK");
  CHECK(Do(c, {"INCRBYFLOAT", "f", "0.1"}) == "10.6");
  CHECK(Do(c, {"INCRBYFLOAT", "f", "-5"}) == "5.6");
  CHECK(Do(c, {"INCRBYFLOAT", "f", "5.0e3"}) == "5005.60000000000000009");
  CHECK(Do(c, {"SET", "f", "3"}) == "+OK");
  CHECK(Do(c, {"INCRBYFLOAT", "f", "1.5"}) == "4.5");
  CHECK(Do(c, {"INCRBYFLOAT", "new", "3.0"}) == "3");
  CHECK(Do(c, {"INCRBYFLOAT", "new", "1e-5"}) == "3.00001");
  CHECK(Do(c, {"GET", "new"}) == "3.00001");
}

TEST_CASE_FIXTURE(ServerFixture, "INCRBYFLOAT prints huge results in full without garbage") {
  // 2 * DBL_MAX fits a long double: Redis prints all 309 integer digits with %.17Lf.
  CHECK(Do(c, {"SET", "f", "1.7976931348623157e308"}) == "+OK");
  std::string sum = Do(c, {"INCRBYFLOAT", "f", "1.7976931348623157e308"});
  CHECK(sum.size() == 309);
  CHECK(sum.rfind("35953862697246313999184209354820886809677289388865835697062884153", 0) == 0);
  CHECK(sum.find_first_not_of("0123456789") == std::string::npos);
  CHECK(Do(c, {"GET", "f"}) == sum);
  CHECK(Do(c, {"SET", "g", "1e4000"}) == "+OK");
  std::string big = Do(c, {"INCRBYFLOAT", "g", "1"});
  CHECK(big.size() == 4000);
  CHECK(big.find_first_not_of("0123456789") == std::string::npos);
}

TEST_CASE_FIXTURE(ServerFixture, "INCRBYFLOAT rejects bad floats NaN and Infinity") {
  const std::string not_float = "-ERR value is not a valid float";
  CHECK(Do(c, {"SET", "f", "1"}) == "+OK");
  CHECK(Do(c, {"INCRBYFLOAT", "f", "abc"}) == not_float);
  CHECK(Do(c, {"INCRBYFLOAT", "f", "nan"}) == not_float);
  CHECK(Do(c, {"INCRBYFLOAT", "f", ""}) == not_float);
  CHECK(Do(c, {"INCRBYFLOAT", "f", "inf"}) == "-ERR increment would produce NaN or Infinity");
  CHECK(Do(c, {"INCRBYFLOAT", "f", "+inf"}) == "-ERR increment would produce NaN or Infinity");
  CHECK(Do(c, {"SET", "f", "1 "}) == "+OK");
  CHECK(Do(c, {"INCRBYFLOAT", "f", "1"}) == not_float);
  CHECK(Do(c, {"SET", "f", "abc"}) == "+OK");
  CHECK(Do(c, {"INCRBYFLOAT", "f", "1"}) == not_float);
  CHECK(Do(c, {"GET", "f"}) == "abc");
}

TEST_CASE_FIXTURE(ServerFixture, "a key set with PX 50 reads as missing after 100 ms") {
  // (No read before the sleep: on a loaded machine 50 ms may already have passed by then.)
  CHECK(Do(c, {"SET", "k", "v", "PX", "50"}) == "+OK");
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  CHECK(Do(c, {"GET", "k"}) == "(nil)");
  CHECK(Do(c, {"EXISTS", "k"}) == ":0");
  CHECK(Do(c, {"TTL", "k"}) == ":-2");
  CHECK(Do(c, {"APPEND", "k", "x"}) == ":1");  // an expired key is gone for writers too
}

}  // namespace
}  // namespace flightcache::integration
