// A tiny blocking HTTP/1.1 client for the gateway's unit tests: one loopback
// connection, every operation bounded by kClientTimeout so a broken server fails a test
// instead of hanging it.
#pragma once

#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <chrono>
#include <string>
#include <string_view>

namespace latchkey::gateway {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

// Every client operation is bounded by this.
constexpr std::chrono::seconds kClientTimeout{10};

struct Reply {
  beast::error_code error;
  http::response<http::string_body> response;
};

// Async operations on a private io_context, so tcp_stream's expiry bounds each of them.
class TestClient {
 public:
  explicit TestClient(uint16_t port) : stream_(ioc_) {
    beast::error_code ec;
    stream_.socket().connect(tcp::endpoint(asio::ip::address_v4::loopback(), port), ec);
    EXPECT_FALSE(ec) << ec.message();
  }

  template <typename Body>
  beast::error_code Send(const http::request<Body>& request) {
    beast::error_code result;
    stream_.expires_after(kClientTimeout);
    http::async_write(stream_, request, [&](beast::error_code ec, size_t) { result = ec; });
    Run();
    return result;
  }

  // The next answer; `to_head` for the answer to a HEAD request, which has no body
  // whatever its Content-Length says.
  Reply Receive(bool to_head = false) {
    Reply reply;
    http::response_parser<http::string_body> parser;
    parser.skip(to_head);
    stream_.expires_after(kClientTimeout);
    http::async_read(stream_, buffer_, parser, [&](beast::error_code ec, size_t) { reply.error = ec; });
    Run();
    reply.response = parser.release();
    return reply;
  }

  Reply RoundTrip(http::verb method, std::string_view target, bool keep_alive = true) {
    http::request<http::string_body> request(method, target, 11);
    request.set(http::field::host, "127.0.0.1");
    request.keep_alive(keep_alive);
    request.prepare_payload();
    if (beast::error_code ec = Send(request)) return Reply{ec, {}};
    return Receive(method == http::verb::head);
  }

  // Raw bytes, e.g. a header announcing a body that follows later.
  beast::error_code SendRaw(std::string_view bytes) {
    beast::error_code result;
    stream_.expires_after(kClientTimeout);
    boost::asio::async_write(stream_, boost::asio::buffer(bytes.data(), bytes.size()),
                             [&](beast::error_code ec, size_t) { result = ec; });
    Run();
    return result;
  }

  // Whatever arrives until the server closes the connection (or the timeout passes).
  std::string ReceiveToEnd() {
    std::string all(static_cast<const char*>(buffer_.data().data()), buffer_.size());
    buffer_.consume(buffer_.size());
    char piece[16384];
    for (;;) {
      beast::error_code error;
      size_t got = 0;
      stream_.expires_after(kClientTimeout);
      stream_.async_read_some(boost::asio::buffer(piece), [&](beast::error_code ec, size_t n) {
        error = ec;
        got = n;
      });
      Run();
      all.append(piece, got);
      if (error) return all;
    }
  }

  beast::tcp_stream& stream() { return stream_; }
  beast::flat_buffer& buffer() { return buffer_; }
  void Run() {
    ioc_.restart();
    ioc_.run();
  }

 private:
  asio::io_context ioc_;
  beast::tcp_stream stream_;
  beast::flat_buffer buffer_;
};

}  // namespace latchkey::gateway
