// HttpServer with bodies that stream: request bodies past max_buffered_body reach the
// handler as a BodySource, and a Response with a body_stream is written piece by piece.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <array>
#include <memory>
#include <string>
#include <vector>

#include "gateway/http/http_server.h"
#include "gateway/http/http_test_client.h"
#include "gateway/http/problem.h"

namespace latchkey::gateway {
namespace {

using ::testing::HasSubstr;

// What a handler saw of a request body.
struct Seen {
  bool streamed = false;
  size_t pieces = 0;
  std::string body;
  Status error;
};

// `count` pieces of `piece` bytes each, then the end (or an error instead of the end).
class PieceSource final : public BodySource {
 public:
  PieceSource(size_t count, size_t piece, bool declare_length, bool fail_at_end = false)
      : count_(count), piece_(piece), declare_length_(declare_length), fail_at_end_(fail_at_end) {}

  asio::awaitable<StatusOr<size_t>> Read(std::span<char> into) override {
    if (served_ == count_) {
      if (fail_at_end_) co_return UnavailableError("the source broke");
      co_return size_t{0};
    }
    const size_t n = std::min(into.size(), piece_);
    for (size_t i = 0; i < n; ++i) into[i] = static_cast<char>('a' + (served_ % 26));
    ++served_;
    co_return n;
  }

  std::optional<uint64_t> remaining_length() const override {
    if (!declare_length_) return std::nullopt;
    return (count_ - served_) * piece_;
  }

 private:
  size_t count_;
  size_t piece_;
  bool declare_length_;
  bool fail_at_end_;
  size_t served_ = 0;
};

std::string Expected(size_t count, size_t piece) {
  std::string out;
  for (size_t i = 0; i < count; ++i) out.append(piece, static_cast<char>('a' + (i % 26)));
  return out;
}

// Reads the header of an interim (1xx) answer: its status, or 0 if none came.
int ReadInterimStatus(TestClient& client) {
  http::response_parser<http::empty_body> parser;
  beast::error_code error;
  client.stream().expires_after(kClientTimeout);
  http::async_read_header(client.stream(), client.buffer(), parser,
                          [&](beast::error_code ec, size_t) { error = ec; });
  client.Run();
  if (error) return 0;
  return parser.get().result_int();
}

class StreamingServerTest : public ::testing::Test {
 protected:
  // Serves /upload (records the body in seen_) and /download?n=&piece=&length=&fail=.
  // Deadlines are on `steady`.
  void Start(HttpServerOptions options = {}, const MonotonicClock& steady = SteadyClock::Instance()) {
    options.port = 0;
    options.workers = 1;
    options.max_buffered_body = 1024;
    if (options.max_body_bytes == HttpServerOptions{}.max_body_bytes) options.max_body_bytes = 1024 * 1024;
    auto server = HttpServer::Listen(options, steady);
    ASSERT_TRUE(server.ok()) << server.status().ToString();
    server_ = *std::move(server);
    Status served = server_->Serve([this](Request& req, int) -> asio::awaitable<Response> {
      if (req.target() == "/upload") {
        seen_ = Seen{};
        seen_.streamed = req.body_stream != nullptr;
        if (!req.body_stream) {
          seen_.body = req.body();
        } else {
          std::array<char, 4096> piece{};
          for (;;) {
            StatusOr<size_t> got = co_await req.body_stream->Read(piece);
            if (!got.ok()) {
              seen_.error = got.status();
              co_return PayloadTooLarge(got.status().message()).ToResponse(req.version());
            }
            if (*got == 0) break;
            ++seen_.pieces;
            seen_.body.append(piece.data(), *got);
          }
        }
        co_return JsonResponse(http::status::ok, {{"bytes", seen_.body.size()}});
      }
      const bool declare = req.target().find("length=1") != std::string_view::npos;
      const bool fail = req.target().find("fail=1") != std::string_view::npos;
      Response res(http::status::ok, req.version());
      res.set(http::field::content_type, "application/octet-stream");
      res.body_stream = std::make_unique<PieceSource>(50, 10000, declare, fail);
      if (req.target().find("ahead=1") != std::string_view::npos) res.body() = "read-ahead:";
      if (declare) res.content_length(res.body().size() + 50 * 10000);
      co_return res;
    });
    ASSERT_TRUE(served.ok()) << served.ToString();
  }

  SimulatedSteadyClock simulated_;  // for the tests that move time (declared before the server)
  std::unique_ptr<HttpServer> server_;
  Seen seen_;  // written on the server's one worker, read after the reply arrived
};

TEST_F(StreamingServerTest, SmallBodyArrivesWholeInTheMessage) {
  Start();
  TestClient client(server_->port());
  http::request<http::string_body> request(http::verb::post, "/upload", 11);
  request.body() = std::string(1000, 'x');
  request.prepare_payload();
  ASSERT_FALSE(client.Send(request));
  Reply reply = client.Receive();
  ASSERT_FALSE(reply.error) << reply.error.message();
  EXPECT_EQ(reply.response.result_int(), 200);
  EXPECT_FALSE(seen_.streamed);
  EXPECT_EQ(seen_.body, request.body());
}

TEST_F(StreamingServerTest, LargeBodyReachesTheHandlerInPieces) {
  Start();
  TestClient client(server_->port());
  http::request<http::string_body> request(http::verb::post, "/upload", 11);
  request.body() = Expected(30, 10000);
  request.prepare_payload();
  ASSERT_FALSE(client.Send(request));
  Reply reply = client.Receive();
  ASSERT_FALSE(reply.error) << reply.error.message();
  EXPECT_EQ(reply.response.result_int(), 200);
  EXPECT_TRUE(seen_.streamed);
  EXPECT_GT(seen_.pieces, 1u);
  EXPECT_EQ(seen_.body, request.body());
  // The connection stays usable: the body was read to its end.
  Reply again = client.RoundTrip(http::verb::get, "/download?length=1");
  ASSERT_FALSE(again.error) << again.error.message();
  EXPECT_EQ(again.response.body(), Expected(50, 10000));
}

TEST_F(StreamingServerTest, ChunkedBodyOfUnknownLengthStreams) {
  Start();
  TestClient client(server_->port());
  ASSERT_FALSE(
      client.SendRaw("POST /upload HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
                     "5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n"));
  Reply reply = client.Receive();
  ASSERT_FALSE(reply.error) << reply.error.message();
  EXPECT_EQ(reply.response.result_int(), 200);
  EXPECT_TRUE(seen_.streamed);
  EXPECT_EQ(seen_.body, "hello world");
}

TEST_F(StreamingServerTest, ChunkedBodyPastTheCapFailsTheReadWithoutHarm) {
  HttpServerOptions options;
  options.max_body_bytes = 20000;
  Start(options);
  TestClient client(server_->port());
  http::request<http::string_body> request(http::verb::post, "/upload", 11);
  request.chunked(true);
  request.body() = std::string(30000, 'x');
  ASSERT_FALSE(client.Send(request));
  Reply reply = client.Receive();
  ASSERT_FALSE(reply.error) << reply.error.message();
  EXPECT_EQ(reply.response.result_int(), 413);
  EXPECT_EQ(seen_.error.code(), StatusCode::kResourceExhausted);
  EXPECT_LE(seen_.body.size(), 20000u);
  // The rest of the body was never read, so the server closes this connection...
  EXPECT_FALSE(reply.response.keep_alive());
  // ...and goes on serving others.
  TestClient other(server_->port());
  EXPECT_EQ(other.RoundTrip(http::verb::get, "/download?length=1").response.result_int(), 200);
}

// A client that trickles a chunk now and then, each within the stall timeout, still has
// to finish the whole body by its deadline: it cannot hold the connection forever. The
// server's clock is simulated: it moves only when the test moves it.
TEST_F(StreamingServerTest, ATrickledBodyIsCutOffAtItsOverallDeadline) {
  HttpServerOptions options;
  options.read_timeout = std::chrono::seconds(10);
  options.body_deadline = std::chrono::milliseconds(300);
  Start(options, simulated_);
  TestClient client(server_->port());
  // The interim answer shows the handler has begun reading the body: its deadline is set.
  ASSERT_FALSE(client.SendRaw(
      "POST /upload HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nExpect: 100-continue\r\n\r\n"));
  ASSERT_EQ(ReadInterimStatus(client), 100);
  for (int i = 0; i < 3; ++i) {               // 110 ms apart: each within the stall timeout, 330 ms in all
    if (client.SendRaw("1\r\nx\r\n")) break;  // the server gave up and closed
    simulated_.Advance(std::chrono::milliseconds(110));
  }
  Reply reply = client.Receive();
  EXPECT_EQ(seen_.error.code(), StatusCode::kDeadlineExceeded) << seen_.error.ToString();
  EXPECT_LE(seen_.body.size(), 3U);
  if (!reply.error) {
    EXPECT_FALSE(reply.response.keep_alive());
  }
}

TEST_F(StreamingServerTest, ExpectContinueGetsAnInterimAnswerBeforeTheBodyIsSent) {
  Start();
  TestClient client(server_->port());
  ASSERT_FALSE(client.SendRaw(
      "POST /upload HTTP/1.1\r\nHost: x\r\nContent-Length: 5000\r\nExpect: 100-continue\r\n\r\n"));
  // The client sends nothing more until it hears 100 Continue.
  EXPECT_EQ(ReadInterimStatus(client), 100);
  ASSERT_FALSE(client.SendRaw(std::string(5000, 'y')));
  Reply reply = client.Receive();
  ASSERT_FALSE(reply.error) << reply.error.message();
  EXPECT_EQ(reply.response.result_int(), 200);
  EXPECT_EQ(seen_.body, std::string(5000, 'y'));
}

TEST_F(StreamingServerTest, StreamedResponseWithoutALengthIsChunked) {
  Start();
  TestClient client(server_->port());
  Reply reply = client.RoundTrip(http::verb::get, "/download");
  ASSERT_FALSE(reply.error) << reply.error.message();
  EXPECT_EQ(reply.response.result_int(), 200);
  EXPECT_TRUE(reply.response.chunked());
  EXPECT_EQ(reply.response.body(), Expected(50, 10000));
  EXPECT_TRUE(reply.response.keep_alive());
}

TEST_F(StreamingServerTest, StreamedResponseKeepsItsDeclaredLength) {
  Start();
  TestClient client(server_->port());
  Reply reply = client.RoundTrip(http::verb::get, "/download?length=1");
  ASSERT_FALSE(reply.error) << reply.error.message();
  EXPECT_FALSE(reply.response.chunked());
  EXPECT_EQ(reply.response[http::field::content_length], std::to_string(50 * 10000));
  EXPECT_EQ(reply.response.body(), Expected(50, 10000));
}

TEST_F(StreamingServerTest, WhatWasReadAheadGoesFirst) {
  Start();
  TestClient client(server_->port());
  for (const char* target : {"/download?ahead=1", "/download?ahead=1&length=1"}) {
    Reply reply = client.RoundTrip(http::verb::get, target);
    ASSERT_FALSE(reply.error) << target << ": " << reply.error.message();
    EXPECT_EQ(reply.response.body(), "read-ahead:" + Expected(50, 10000)) << target;
  }
}

TEST_F(StreamingServerTest, HttpOneZeroClientGetsTheBodyUpToTheClose) {
  Start();
  TestClient client(server_->port());
  ASSERT_FALSE(client.SendRaw("GET /download HTTP/1.0\r\nHost: x\r\n\r\n"));
  std::string raw = client.ReceiveToEnd();
  ASSERT_THAT(raw, HasSubstr("\r\n\r\n"));
  EXPECT_THAT(raw.substr(0, raw.find("\r\n\r\n")), ::testing::Not(HasSubstr("chunked")));
  EXPECT_EQ(raw.substr(raw.find("\r\n\r\n") + 4), Expected(50, 10000));
}

TEST_F(StreamingServerTest, SourceFailureCutsTheResponseShortVisibly) {
  Start();
  TestClient client(server_->port());
  Reply reply = client.RoundTrip(http::verb::get, "/download?fail=1");
  // The header went out before the failure: the chunked body has no last chunk, so the
  // client sees a truncated message, never a complete one.
  EXPECT_TRUE(reply.error);
  TestClient other(server_->port());
  EXPECT_EQ(other.RoundTrip(http::verb::get, "/download?length=1").response.result_int(), 200);
}

}  // namespace
}  // namespace latchkey::gateway
