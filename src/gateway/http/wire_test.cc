#include "gateway/http/wire.h"

#include <gtest/gtest.h>

#include <boost/beast/http.hpp>
#include <sstream>
#include <string>
#include <string_view>

namespace latchkey::gateway {
namespace {

namespace http = boost::beast::http;

// What Beast's own serializer writes for `message`: the reference the wire bytes must match.
template <typename Message>
std::string BeastBytes(const Message& message) {
  std::ostringstream out;
  out << message;
  return out.str();
}

TEST(WireTest, ResponseHeaderMatchesBeastsSerializerForEveryVersionAndReason) {
  for (unsigned version : {10U, 11U}) {
    for (unsigned status : {200U, 204U, 401U, 429U, 503U, 299U}) {
      SCOPED_TRACE(std::to_string(version) + " " + std::to_string(status));
      ResponseMessage response(static_cast<http::status>(status), version);
      response.set(http::field::content_type, "application/json");
      response.set("Latchkey-Error", "reauth_required");
      if (status != 204) response.body() = "{}";  // a 204 has no body
      response.prepare_payload();
      std::string bytes = "kept: ";  // appends, never replaces
      AppendHeader(response, bytes);
      EXPECT_EQ(bytes + response.body(), "kept: " + BeastBytes(response.base()) + response.body());
    }
  }
  ResponseMessage custom(http::status::ok, 11);
  custom.reason("Fine Indeed");
  std::string bytes;
  AppendHeader(custom, bytes);
  EXPECT_EQ(bytes, BeastBytes(custom.base()));
  EXPECT_TRUE(bytes.starts_with("HTTP/1.1 200 Fine Indeed\r\n")) << bytes;
}

// Fields kept as lines go out after Beast's, as they are, before the empty line.
TEST(WireTest, FieldLinesFollowTheFieldsBeforeTheEmptyLine) {
  ResponseMessage response(http::status::ok, 11);
  response.set(http::field::content_length, "0");
  response.lines.Append("Content-Type", "text/plain");
  response.lines.Append("X-Trace", "a: b");
  std::string bytes;
  AppendHeader(response, bytes);
  EXPECT_EQ(bytes,
            "HTTP/1.1 200 OK\r\nContent-Length: 0\r\nContent-Type: text/plain\r\nX-Trace: a: b\r\n\r\n");
}

TEST(WireTest, WholeMessageIsTheHeaderThenTheBody) {
  const std::string header = "HTTP/1.1 200 OK\r\n\r\n";
  const std::string body = "{\"ok\":true}";
  auto buffers = WholeMessage(header, body);
  ASSERT_EQ(buffers.size(), 2U);
  EXPECT_EQ(buffers[0].data(), header.data());
  EXPECT_EQ(buffers[0].size(), header.size());
  EXPECT_EQ(buffers[1].data(), body.data());
  EXPECT_EQ(buffers[1].size(), body.size());
}

// The server's request reader is Beast's parser fed whatever each read brings. A chunked
// body whose last chunk came alone ("0\r\n"), then one byte at a time, tripped a wrong
// assertion in Boost 1.81's parser in every build with assertions (the sanitizer and fuzz
// builds abort there; see src/common/boost_assert.cc): found by fuzz_http_server_fuzz.
TEST(WireTest, AChunkedRequestWhoseLastChunkArrivesByteByByteCompletes) {
  http::request_parser<http::string_body> parser;
  boost::beast::error_code ec;
  std::string pending;
  for (std::string_view piece :
       {"POST /x HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n", "0\r\n", "\r", "\n"}) {
    pending += piece;
    const size_t used = parser.put(boost::asio::buffer(pending), ec);
    if (ec == http::error::need_more) ec = {};
    ASSERT_FALSE(ec) << ec.message();
    pending.erase(0, used);
  }
  EXPECT_TRUE(parser.is_done());
  EXPECT_EQ(parser.get().body(), "");
}

}  // namespace
}  // namespace latchkey::gateway
