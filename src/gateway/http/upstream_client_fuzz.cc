// Fuzzes the proxy's upstream client with raw answer bytes from a hostile upstream: status
// lines, 1xx interim answers (103 Early Hints), Content-Length and chunked framing, bad
// framing, bodies that run to the close, truncation. A scripted upstream on loopback
// writes the input as its answer to the first request (and closes its sending side after
// it unless an independent parser finds it reusable); every later request gets a fixed,
// sound answer.
// Properties: a connection goes back to the pool only after a soundly framed final answer
// (an independent parser finds it complete, keep-alive, framed by its header, with no byte
// after it); the next request then gets its own answer, never the rest of the previous
// one; what the caller receives is the body the independent parser read.
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/http.hpp>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>

#include "gateway/http/upstream_client.h"
#include "support/fuzz_check.h"
#include "support/fuzz_input.h"

namespace {

using namespace latchkey;
using namespace latchkey::gateway;
namespace asio = boost::asio;
namespace http = boost::beast::http;
using tcp = asio::ip::tcp;

constexpr std::string_view kSoundAnswer = "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nsound";

// The final answer in `bytes` as an independent parser reads it: its body, and whether a
// client may reuse the connection after it (sound framing, keep-alive, nothing after).
struct Expected {
  bool complete = false;
  bool reusable = false;
  std::string body;
};

Expected Parse(std::string_view bytes) {
  Expected out;
  for (;;) {
    http::response_parser<http::string_body> parser;
    parser.header_limit(16 * 1024);
    parser.body_limit(64 * 1024);
    parser.eager(true);
    boost::beast::error_code ec;
    const size_t used = parser.put(asio::buffer(bytes.data(), bytes.size()), ec);
    if (ec == http::error::need_more || (!ec && !parser.is_done())) {
      // Only a body that runs to the close may end at the close.
      if (!parser.got_some()) return out;
      ec = {};
      parser.put_eof(ec);
      if (ec || !parser.is_done()) return out;
      out.complete = true;
      out.body = parser.get().body();
      return out;
    }
    if (ec) return out;
    const unsigned status = parser.get().result_int();
    bytes.remove_prefix(used);
    if (status >= 100 && status < 200 && status != 101) continue;  // interim: the final one follows
    out.complete = true;
    out.body = parser.get().body();
    out.reusable = parser.get().keep_alive() && !parser.need_eof() && bytes.empty();
    return out;
  }
}

// The scripted upstream: answers the first request with `first_answer` and every later
// one, on any connection, with kSoundAnswer. After an answer that may not be reused it
// closes its sending side (a body that runs to the close needs that) and holds the
// connection open, reading to the client's close, so the client sees only the
// half-close; after a reusable one it reads the connection's next request.
struct Script {
  std::string_view first_answer;
  bool reusable = false;
  bool answered = false;
};

asio::awaitable<void> Serve(tcp::socket socket, Script& script) {
  std::string request;
  for (;;) {
    auto [read_ec, n] = co_await asio::async_read_until(socket, asio::dynamic_buffer(request), "\r\n\r\n",
                                                        asio::as_tuple(asio::use_awaitable));
    if (read_ec) co_return;
    request.erase(0, n);
    const bool first = !script.answered;
    script.answered = true;
    const std::string_view answer = first ? script.first_answer : kSoundAnswer;
    co_await asio::async_write(socket, asio::buffer(answer.data(), answer.size()),
                               asio::as_tuple(asio::use_awaitable));
    if (!first || script.reusable) continue;
    boost::system::error_code ignored;
    socket.shutdown(tcp::socket::shutdown_send, ignored);
    char sink[256];
    for (;;) {
      auto [sink_ec, ignored_bytes] =
          co_await socket.async_read_some(asio::buffer(sink), asio::as_tuple(asio::use_awaitable));
      if (sink_ec) co_return;
    }
  }
}

asio::awaitable<void> Upstream(tcp::acceptor& acceptor, Script& script) {
  for (;;) {
    auto [ec, socket] = co_await acceptor.async_accept(asio::as_tuple(asio::use_awaitable));
    if (ec) co_return;
    asio::co_spawn(acceptor.get_executor(), Serve(std::move(socket), script), asio::detached);
  }
}

asio::awaitable<std::string> Drain(UpstreamResult& result) {
  std::string body = result.response.body();
  if (!result.body_stream) co_return body;
  std::vector<char> piece(256);
  for (;;) {
    StatusOr<size_t> n = co_await result.body_stream->Read(piece);
    if (!n.ok() || *n == 0) break;
    body.append(piece.data(), *n);
  }
  result.body_stream.reset();
  co_return body;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static auto tls = MakeClientTlsContext();
  const std::string_view answer = fuzz::AsText(data, size);
  const Expected expected = Parse(answer);

  asio::io_context io;
  tcp::acceptor acceptor(io, tcp::endpoint(asio::ip::address_v4::loopback(), 0));
  auto base = ParseBaseUrl("http://127.0.0.1:" + std::to_string(acceptor.local_endpoint().port()));
  FUZZ_CHECK(base.ok());
  UpstreamOptions options;
  options.max_whole_body = 16;  // longer bodies stream
  options.max_response_body = 64 * 1024;
  options.max_response_header = 16 * 1024;
  UpstreamClient client(io.get_executor(), *tls, options);
  Script script{answer, expected.reusable};
  asio::co_spawn(io, Upstream(acceptor, script), asio::detached);

  bool done = false;
  asio::co_spawn(
      io,
      [&]() -> asio::awaitable<void> {
        UpstreamRequest request;
        request.target = "/first";
        const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
        UpstreamResult first = co_await client.Send(*base, request, nullptr, deadline);
        std::optional<std::string> body;
        if (first.ok()) body = co_await Drain(first);
        const bool pooled = client.idle_connections() == 1;
        if (pooled) FUZZ_CHECK(first.ok() && expected.reusable);
        if (first.ok() && expected.complete && pooled) FUZZ_CHECK(*body == expected.body);

        request.target = "/second";
        UpstreamResult second = co_await client.Send(*base, request, nullptr, deadline);
        FUZZ_CHECK(second.ok());
        FUZZ_CHECK(second.response.result_int() == 200 && (co_await Drain(second)) == "sound");
        done = true;
        client.CloseIdle();
        io.stop();  // the upstream's coroutines and the client's watchdog go with the context
      },
      asio::detached);
  io.run_for(std::chrono::seconds(30));
  FUZZ_CHECK(done);
  return 0;
}
