// ReadParsed (read_message.h) against a peer that writes its message in pieces the test
// chooses: each piece arrives in a read of its own (the test writes the next piece only
// once the reader has taken the last and waits for more), so what one parser call sees
// is known exactly.
#include "gateway/http/read_message.h"

#include <gtest/gtest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/local/connect_pair.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/string_body.hpp>
#include <optional>
#include <string>
#include <vector>

namespace latchkey::gateway {
namespace {

namespace asio = boost::asio;
namespace http = boost::beast::http;
using Socket = asio::local::stream_protocol::socket;

struct ReadResult {
  boost::beast::error_code ec;
  size_t consumed = 0;
};

// Feeds `pieces` to a reader one read at a time and returns what ReadParsed gave.
template <typename Parser>
std::optional<ReadResult> ReadInPieces(Parser& parser, ReadUntil until, uint32_t header_limit,
                                       const std::vector<std::string>& pieces) {
  asio::io_context io;
  Socket reader(io), writer(io);
  asio::local::connect_pair(reader, writer);
  boost::beast::flat_buffer buffer;
  std::optional<ReadResult> result;
  asio::co_spawn(
      io,
      [&]() -> asio::awaitable<void> {
        auto [ec, consumed] = co_await ReadParsed(reader, buffer, parser, until, header_limit);
        result = ReadResult{ec, consumed};
      },
      asio::detached);
  io.poll();  // the reader now waits for its first read
  for (const std::string& piece : pieces) {
    if (result) break;
    asio::write(writer, asio::buffer(piece));
    // Until the reader has taken this piece and waits again (or is done); a handful of
    // polls are enough, the bound keeps a broken reader from hanging the test.
    for (int i = 0; i < 100 && buffer.size() + piece.size() > 0 && !result; ++i) {
      io.poll();
      if (buffer.size() == 0) break;
    }
  }
  writer.close();
  io.poll();
  return result;
}

// A request header of `fields` fields of about 100 bytes each, one piece per line.
std::vector<std::string> HeaderInLines(int fields) {
  std::vector<std::string> pieces = {"GET /x HTTP/1.1\r\n", "Host: x\r\n"};
  for (int i = 0; i < fields; ++i)
    pieces.push_back("X-F" + std::to_string(i) + ": " + std::string(90, 'a') + "\r\n");
  pieces.push_back("\r\n");
  return pieces;
}

TEST(ReadParsedTest, AHeaderSentAFewLinesAtATimeStillMeetsTheLimitAsAWhole) {
  // About 3 KB of header against a 1 KiB limit, no piece above 110 bytes. Beast 1.81 on
  // its own checks each put() only: this header got through, at any size.
  http::request_parser<http::empty_body> parser;
  auto result = ReadInPieces(parser, ReadUntil::kHeader, 1024, HeaderInLines(30));
  ASSERT_TRUE(result.has_value());
  EXPECT_EQ(result->ec, http::error::header_limit) << result->ec.message();
  EXPECT_FALSE(parser.is_header_done());
}

TEST(ReadParsedTest, AHeaderJustUnderTheLimitIsReadWholeInPieces) {
  const std::vector<std::string> pieces = HeaderInLines(8);
  size_t total = 0;
  for (const std::string& piece : pieces) total += piece.size();
  http::request_parser<http::empty_body> parser;
  auto result = ReadInPieces(parser, ReadUntil::kHeader, static_cast<uint32_t>(total), pieces);
  ASSERT_TRUE(result.has_value());
  EXPECT_FALSE(result->ec) << result->ec.message();
  EXPECT_TRUE(parser.is_header_done());
  EXPECT_EQ(result->consumed, total);
  EXPECT_EQ(parser.get()["X-F7"], std::string(90, 'a'));

  // One byte less of limit, and the same header is refused.
  http::request_parser<http::empty_body> strict;
  auto refused = ReadInPieces(strict, ReadUntil::kHeader, static_cast<uint32_t>(total - 1), pieces);
  ASSERT_TRUE(refused.has_value());
  EXPECT_EQ(refused->ec, http::error::header_limit) << refused->ec.message();
}

TEST(ReadParsedTest, TheLimitIsTheHeadersOnlyTheBodyMayBeLonger) {
  const std::string body(3000, 'b');
  std::vector<std::string> pieces = {"POST /x HTTP/1.1\r\nHost: x\r\nContent-Length: 3000\r\n\r\n"};
  for (size_t at = 0; at < body.size(); at += 500) pieces.push_back(body.substr(at, 500));
  http::request_parser<http::string_body> parser;
  auto result = ReadInPieces(parser, ReadUntil::kMessage, 100, pieces);
  ASSERT_TRUE(result.has_value());
  EXPECT_FALSE(result->ec) << result->ec.message();
  EXPECT_EQ(parser.get().body(), body);
}

}  // namespace
}  // namespace latchkey::gateway
