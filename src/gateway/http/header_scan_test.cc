#include "gateway/http/header_scan.h"

#include <gtest/gtest.h>

#include <string>
#include <string_view>

namespace latchkey::gateway {
namespace {

namespace http = boost::beast::http;
using namespace std::string_view_literals;

constexpr uint32_t kLimit = 16 * 1024;
constexpr uint64_t kMaxBody = uint64_t{64} * 1024;

TEST(HeaderScanTest, TakesAPlainRequestWithItsFieldsInOrder) {
  const std::string bytes =
      "GET /proxy/fast/items?page=2 HTTP/1.1\r\nHost: 127.0.0.1:8787\r\nAuthorization: Bearer lk_x\r\n"
      "X-Spaced: \t  a  b \t\r\nX-Empty:\r\n\r\nGET /next HTTP/1.1\r\n";
  ScannedHeader scanned;
  ASSERT_TRUE(ScanRequest(bytes, kLimit, scanned));
  EXPECT_EQ(scanned.method, http::verb::get);
  EXPECT_EQ(scanned.target, "/proxy/fast/items?page=2");
  EXPECT_EQ(scanned.size, bytes.find("GET /next"));  // a pipelined request behind it stays unread
  EXPECT_TRUE(scanned.keep_alive);
  ASSERT_EQ(scanned.field_count, 4U);
  EXPECT_EQ(scanned.fields[0].name, "Host");
  EXPECT_EQ(scanned.fields[1].value, "Bearer lk_x");
  EXPECT_EQ(scanned.fields[2].value, "a  b");  // whitespace around, not inside, goes
  EXPECT_EQ(scanned.fields[3].name, "X-Empty");
  EXPECT_EQ(scanned.fields[3].value, "");
}

TEST(HeaderScanTest, ConnectionCloseAndAZeroLengthAreTaken) {
  ScannedHeader scanned;
  ASSERT_TRUE(
      ScanRequest("DELETE /a HTTP/1.1\r\nConnection: CLOSE\r\nContent-Length: 0\r\n\r\n", kLimit, scanned));
  EXPECT_EQ(scanned.method, http::verb::delete_);
  EXPECT_FALSE(scanned.keep_alive);
  ASSERT_TRUE(ScanRequest("GET / HTTP/1.1\r\nconnection: Keep-Alive\r\n\r\n", kLimit, scanned));
  EXPECT_TRUE(scanned.keep_alive);
}

// Each of these is for Beast to read (or refuse): a body, other framing, other versions,
// odd bytes, folded lines, connection options the scanner does not model, or too much.
TEST(HeaderScanTest, LeavesEveryOtherRequestToBeast) {
  const std::string_view others[] = {
      "POST /a HTTP/1.1\r\nContent-Length: 5\r\n\r\nhello",
      "POST /a HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
      "GET /a HTTP/1.1\r\nContent-Length: 0\r\nContent-Length: 0\r\n\r\n",
      "GET /a HTTP/1.1\r\nContent-Length: 00\r\n\r\n",
      "GET /a HTTP/1.0\r\n\r\n",
      "GET /a HTTP/2.0\r\n\r\n",
      "GET /a\r\n\r\n",
      "get /a HTTP/1.1\r\n\r\n",
      "BREW /a HTTP/1.1\r\n\r\n",
      "CONNECT example.com:443 HTTP/1.1\r\n\r\n",
      "GET  /a HTTP/1.1\r\n\r\n",
      "GET /a HTTP/1.1 \r\n\r\n",
      "GET /a HTTP/1.1\r\nX-Fold: a\r\n b\r\n\r\n",
      "GET /a HTTP/1.1\r\nX-Fold: a\r\n\tb\r\n\r\n",
      "GET /a HTTP/1.1\r\nX-Name : a\r\n\r\n",
      "GET /a HTTP/1.1\r\n: a\r\n\r\n",
      "GET /a HTTP/1.1\r\nX-Bare: a\nX-Next: b\r\n\r\n",
      "GET /a HTTP/1.1\r\nX-Cr: a\rb\r\n\r\n",
      "GET /a HTTP/1.1\r\nX-Nul: a\0b\r\n\r\n"sv,
      "GET /a HTTP/1.1\r\nX-Del: a\x7f\r\n\r\n",
      "GET /a HTTP/1.1\r\nConnection: keep-alive, upgrade\r\nUpgrade: websocket\r\n\r\n",
      "GET /a HTTP/1.1\r\nUpgrade: websocket\r\n\r\n",
      "GET /a HTTP/1.1\r\nProxy-Connection: close\r\n\r\n",
      "GET /a HTTP/1.1\r\nConnection: close, close\r\n\r\n",
      "GET /a HTTP/1.1\r\nHost: a\r\n",  // not all here yet
      "\r\nGET /a HTTP/1.1\r\n\r\n",
  };
  for (std::string_view bytes : others) {
    ScannedHeader scanned;
    EXPECT_FALSE(ScanRequest(bytes, kLimit, scanned)) << bytes;
  }
}

// Values are checked sixteen bytes at a time, then byte by byte: a refused byte is found
// at every position, and every allowed one (HTAB, SP, VCHAR, obs-text) is taken.
TEST(HeaderScanTest, AValueByteIsCheckedAtEveryPosition) {
  std::string allowed = "\t ";
  for (int c = 0x21; c <= 0xff; ++c) {
    if (c != 0x7f) allowed += static_cast<char>(c);
  }
  const std::string bytes = "GET / HTTP/1.1\r\nX-All: a" + allowed + "z\r\n\r\n";  // the views point into it
  ScannedHeader scanned;
  ASSERT_TRUE(ScanRequest(bytes, kLimit, scanned));
  EXPECT_EQ(scanned.fields[0].value, "a" + allowed + "z");
  for (const char refused : {'\0', '\x01', '\n', '\r', '\x1f', '\x7f'}) {
    for (size_t at = 0; at < 40; ++at) {
      std::string value(40, 'v');
      value[at] = refused;
      EXPECT_FALSE(ScanRequest("GET / HTTP/1.1\r\nX-V: " + value + "\r\n\r\n", kLimit, scanned))
          << static_cast<int>(refused) << " at " << at;
      EXPECT_FALSE(
          ScanResponse("HTTP/1.1 200 " + value + "\r\nContent-Length: 0\r\n\r\n", kLimit, kMaxBody, scanned))
          << static_cast<int>(refused) << " at " << at;
    }
  }
}

TEST(HeaderScanTest, AHeaderIsTakenOnlyWithinTheLimit) {
  const std::string bytes = "GET / HTTP/1.1\r\nX-A: " + std::string(100, 'a') + "\r\n\r\n";
  ScannedHeader scanned;
  EXPECT_TRUE(ScanRequest(bytes, static_cast<uint32_t>(bytes.size()), scanned));
  EXPECT_FALSE(ScanRequest(bytes, static_cast<uint32_t>(bytes.size() - 1), scanned));
  std::string many = "GET / HTTP/1.1\r\n";
  for (size_t i = 0; i <= ScannedHeader::kMaxFields; ++i) many += "X-F: v\r\n";
  EXPECT_FALSE(ScanRequest(many + "\r\n", kLimit, scanned));  // more fields than it holds
}

TEST(HeaderScanTest, TakesAnAnswerFramedByItsContentLength) {
  const std::string bytes =
      "HTTP/1.1 201 Created Now\r\nServer: nginx\r\nContent-Type: application/json\r\nContent-Length: 11\r\n"
      "Connection: keep-alive\r\nX-Obs-Text: \xc3\xa9t\xc3\xa9\r\n\r\n{\"ok\":true}";
  ScannedHeader scanned;
  ASSERT_TRUE(ScanResponse(bytes, kLimit, kMaxBody, scanned));
  EXPECT_EQ(scanned.status, 201U);
  EXPECT_EQ(scanned.reason, "Created Now");
  EXPECT_EQ(scanned.content_length, 11U);
  EXPECT_EQ(bytes.substr(scanned.size), "{\"ok\":true}");
  EXPECT_TRUE(scanned.keep_alive);
  ASSERT_EQ(scanned.field_count, 5U);
  EXPECT_EQ(scanned.fields[4].value, "\xc3\xa9t\xc3\xa9");
  ASSERT_TRUE(ScanResponse("HTTP/1.1 500 \r\nContent-Length: 0\r\nConnection: close\r\n\r\n", kLimit,
                           kMaxBody, scanned));
  EXPECT_EQ(scanned.reason, "");
  EXPECT_FALSE(scanned.keep_alive);
}

TEST(HeaderScanTest, LeavesEveryOtherAnswerToBeast) {
  const std::string_view others[] = {
      "HTTP/1.1 200 OK\r\n\r\nruns to the close",
      "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
      "HTTP/1.1 200 OK\r\nContent-Length: 70000\r\n\r\n",  // past max_body: streamed
      "HTTP/1.1 200 OK\r\nContent-Length: 5, 5\r\n\r\nhello",
      "HTTP/1.1 200 OK\r\nContent-Length: +5\r\n\r\nhello",
      "HTTP/1.1 204 No Content\r\nContent-Length: 0\r\n\r\n",
      "HTTP/1.1 304 Not Modified\r\nContent-Length: 5\r\n\r\n",
      "HTTP/1.1 100 Continue\r\nContent-Length: 0\r\n\r\n",
      "HTTP/1.1 103 Early Hints\r\nContent-Length: 0\r\n\r\n",
      "HTTP/1.1 101 Switching Protocols\r\nContent-Length: 0\r\n\r\n",
      "HTTP/1.1 600 Odd\r\nContent-Length: 0\r\n\r\n",
      "HTTP/1.1 20 OK\r\nContent-Length: 0\r\n\r\n",
      "HTTP/1.1 200\r\nContent-Length: 0\r\n\r\n",
      "HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n",
      "HTTP/1.1 200 OK\r\nContent-Length: 0\r\nX-Fold: a\r\n b\r\n\r\n",
      "HTTP/1.1 200 O\x01K\r\nContent-Length: 0\r\n\r\n",
      "HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: upgrade\r\n\r\n",
      "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n",
  };
  for (std::string_view bytes : others) {
    ScannedHeader scanned;
    EXPECT_FALSE(ScanResponse(bytes, kLimit, kMaxBody, scanned)) << bytes;
  }
}

}  // namespace
}  // namespace latchkey::gateway
