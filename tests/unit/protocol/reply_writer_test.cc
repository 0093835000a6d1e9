// reply_writer_test.cc — replies encoded in RESP2 and RESP3, round-tripped through the
// request parser where the shapes coincide (arrays of bulk strings).
#include "protocol/reply_writer.h"

#include <doctest/doctest.h>

#include <string>

#include "protocol/request_parser.h"

using flightcache::protocol::FormatDouble;
using flightcache::protocol::ParserLimits;
using flightcache::protocol::ParseStatus;
using flightcache::protocol::ReplyWriter;
using flightcache::protocol::RequestParser;

TEST_CASE("RESP2 replies have Redis's bytes") {
  std::string out;
  ReplyWriter w(&out);
  w.Simple("OK");
  w.Error("ERR bad\r\nthing");
  w.Integer(-42);
  w.Bulk("foo");
  w.Null();
  w.NullArray();
  w.MapHeader(1);
  w.Boolean(true);
  w.Double(1.5);
  CHECK(out ==
        "+OK\r\n-ERR bad  thing\r\n:-42\r\n$3\r\nfoo\r\n$-1\r\n*-1\r\n*2\r\n:1\r\n$3\r\n1.5\r\n");
  CHECK(w.error_count() == 1);
}

TEST_CASE("RESP3 replies use the RESP3 types") {
  std::string out;
  ReplyWriter w(&out);
  w.set_resp3(true);
  w.Null();
  w.MapHeader(2);
  w.SetHeader(3);
  w.Boolean(false);
  w.Double(2.25);
  w.Verbatim("hi");
  CHECK(out == "_\r\n%2\r\n~3\r\n#f\r\n,2.25\r\n=6\r\ntxt:hi\r\n");
}

TEST_CASE("a push is > in RESP3 and a plain array in RESP2") {
  std::string out;
  ReplyWriter w(&out);
  w.PushHeader(3);
  w.set_resp3(true);
  w.PushHeader(4);
  CHECK(out == "*3\r\n>4\r\n");
}

TEST_CASE("an array of bulk strings round-trips through the request parser") {
  std::string out;
  ReplyWriter w(&out);
  w.ArrayHeader(3);
  w.Bulk("SET");
  w.Bulk(std::string("k\0\r\n", 4));
  w.Bulk("");
  ParserLimits limits;
  RequestParser parser(&limits);
  auto r = parser.Parse(out);
  REQUIRE(r.status == ParseStatus::kCommandReady);
  CHECK(r.consumed == out.size());
  REQUIRE(parser.argc() == 3);
  CHECK(parser.args()[1] == std::string_view("k\0\r\n", 4));
  CHECK(parser.args()[2].empty());
}

TEST_CASE("doubles print as INCRBYFLOAT prints them") {
  CHECK(FormatDouble(10.5L) == "10.5");
  CHECK(FormatDouble(3.0L) == "3");
  CHECK(FormatDouble(-0.0L) == "0");
  CHECK(FormatDouble(5.0e3L) == "5000");
}
