#include "gateway/http/wire.h"

#include <gtest/gtest.h>

#include <array>
#include <boost/asio/io_context.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/http.hpp>
#include <chrono>
#include <sstream>
#include <string>
#include <string_view>
#include <thread>

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

// SendNow against a peer that reads nothing yet: it sends what fits and returns, never
// waiting (the worker thread would stall every other connection), and says nothing is
// wrong; the rest, awaited (Unsent), completes the message byte for byte once the peer reads.
TEST(WireTest, SendNowSendsWhatFitsWithoutWaitingAndTheRestFollowsWhole) {
  namespace asio = boost::asio;
  using tcp = asio::ip::tcp;
  asio::io_context io;
  tcp::acceptor acceptor(io, tcp::endpoint(asio::ip::address_v4::loopback(), 0));
  tcp::socket sender(io);
  sender.connect(acceptor.local_endpoint());
  tcp::socket receiver = acceptor.accept();
  // (Only the sender's buffer is made small: a small receive window would let delayed
  // acknowledgements pace the rest to a crawl.)
  sender.set_option(asio::socket_base::send_buffer_size(4096));  // (left in blocking mode)

  std::string body(size_t{1024} * 1024, 'b');  // far more than the socket buffers hold
  for (size_t i = 0; i < body.size(); i += 4096) body[i] = static_cast<char>('a' + (i / 4096) % 26);
  const std::string header = "HTTP/1.1 200 OK\r\nContent-Length: " + std::to_string(body.size()) + "\r\n\r\n";
  const MessageBuffers message = WholeMessage(header, body);
  boost::system::error_code ec;
  size_t sent = SendNow(sender, message, ec);
  EXPECT_FALSE(ec) << ec.message();
  EXPECT_GT(sent, 0U);
  ASSERT_LT(sent, header.size() + body.size()) << "the socket took it all: the test proves nothing";
  // Again, into the full buffer of a socket in blocking mode, with nobody reading yet: it
  // returns at once (a wait here would never end), with no error.
  const std::string_view whole_header(header);
  const std::string_view whole_body(body);
  const MessageBuffers rest =
      sent < header.size()
          ? MessageBuffers{asio::buffer(whole_header.substr(sent)), asio::buffer(whole_body)}
          : MessageBuffers{asio::const_buffer(), asio::buffer(whole_body.substr(sent - header.size()))};
  sent += SendNow(sender, rest, ec);
  EXPECT_FALSE(ec) << ec.message();

  std::string received;
  boost::system::error_code write_ec;
  size_t rest_written = 0;
  asio::async_write(sender, Unsent(message, sent), [&](boost::system::error_code e, size_t n) {
    write_ec = e;
    rest_written = n;
  });
  std::thread reader([&] {
    std::array<char, 65536> piece{};
    boost::system::error_code read_ec;
    while (received.size() < header.size() + body.size()) {
      const size_t n = receiver.read_some(asio::buffer(piece), read_ec);
      if (read_ec) break;
      received.append(piece.data(), n);
    }
  });
  io.run_for(std::chrono::seconds(30));
  reader.join();
  EXPECT_FALSE(write_ec) << write_ec.message();
  EXPECT_EQ(sent + rest_written, header.size() + body.size());
  EXPECT_TRUE(received == header + body) << "the message arrived changed: " << received.size() << " bytes";
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
