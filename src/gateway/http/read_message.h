// Reading an HTTP/1.1 message into a Beast parser on the gateway's hot path. It does what
// Beast's http::async_read_header and http::async_read do, with the same results and
// error codes, but drives the parser itself: what the buffer already holds is parsed
// first, and the stream is read with plain async_read_some only while the parser needs
// more. Beast's versions wrap every socket read in two layers of composed operations
// (each with its own work tracking and handler wrapping), and when the buffer already
// holds what was asked for they still complete through the scheduler.
#pragma once

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/deferred.hpp>
#include <boost/asio/error.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/socket_base.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/error.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/read_size.hpp>
#include <boost/beast/http/basic_parser.hpp>
#include <boost/beast/http/error.hpp>
#include <cstddef>
#include <cstdint>
#include <string_view>
#include <tuple>
#include <type_traits>

#include "gateway/http/draining_read.h"

namespace latchkey::gateway {

// What `buffer` holds, as text (views into it: valid until it changes).
inline std::string_view BufferText(const boost::beast::flat_buffer& buffer) {
  return {static_cast<const char*>(buffer.data().data()), buffer.size()};
}

// The completion token of the gateway's socket operations inside its coroutines: the
// operation's results as a tuple (errors are values, not exceptions), and `deferred`, so
// that `co_await op(..., kAsTuple)` runs the operation straight from the awaiting
// coroutine. With `use_awaitable` every operation was a coroutine of its own (a frame
// allocated, pushed, resumed and popped around each socket read and write).
inline constexpr auto kAsTuple = boost::asio::as_tuple(boost::asio::deferred);

// kAsTuple for the operations of `Stream` itself (its async_read_some): Beast 1.81's
// ssl_stream declares their results through async_result<Token>::return_type, which
// `deferred` lacks, so a TLS stream's own operations keep use_awaitable. (Beast's and
// Asio's free functions, http::async_write and the rest, take kAsTuple on either stream.)
template <typename Stream>
constexpr auto AsTupleFor() {
  if constexpr (std::is_base_of_v<boost::asio::socket_base, std::remove_cvref_t<Stream>>) {
    return kAsTuple;
  } else {
    return boost::asio::as_tuple(boost::asio::use_awaitable);
  }
}

// The most one read takes (ReadSome).
inline constexpr size_t kReadPiece = 65536;

// One read of what `stream` has into `buffer` (up to kReadPiece bytes, and at most
// beast::read_size(buffer, kReadPiece)): what the hot path's first read of a message
// (before header_scan.h's scanners look at it) and ReadParsed both await. Not a coroutine
// of its own, so no frame per read. Commit the bytes it gives.
// A plain TCP socket is read with DrainingRead (draining_read.h): no recv that finds nothing
// after a read that emptied it.
template <typename Stream>
auto ReadSome(Stream& stream, boost::beast::flat_buffer& buffer) {
  const boost::asio::mutable_buffer into = buffer.prepare(boost::beast::read_size(buffer, kReadPiece));
  if constexpr (std::is_same_v<Stream, boost::asio::ip::tcp::socket>) {
    return DrainingRead(stream, into, kAsTuple);
  } else {
    return stream.async_read_some(into, AsTupleFor<Stream>());
  }
}

// The error of a read that brought nothing of a message, as ReadParsed says it: a clean
// close is http::error::end_of_stream.
inline boost::beast::error_code NothingRead(const boost::beast::error_code& read_error) {
  if (read_error == boost::asio::error::eof) return boost::beast::http::error::end_of_stream;
  return read_error;
}

enum class ReadUntil {
  kHeader,   // like http::async_read_header: stops once the header is parsed
  kMessage,  // like http::async_read: the whole message, body included
};

// Reads from `stream` through `buffer` into `parser` until `until` holds or an error
// occurs. The second value is the number of bytes the parser consumed. A clean close
// before any byte of the message is http::error::end_of_stream; one in the middle is
// the parser's own verdict (partial_message, or done for a body that runs to the close).
// The header, start line included, may be at most `header_limit` bytes
// (http::error::header_limit). Beast 1.81 checks its own header limit only against the
// bytes one put() is given, so fields taken by earlier calls escape it and a peer that
// sends its header a few whole lines at a time could send one of any size; each put()
// here is given what is left of the limit instead (as later Beast versions do).
template <typename Stream, bool isRequest>
boost::asio::awaitable<std::tuple<boost::beast::error_code, size_t>> ReadParsed(
    Stream& stream, boost::beast::flat_buffer& buffer, boost::beast::http::basic_parser<isRequest>& parser,
    ReadUntil until, std::uint32_t header_limit) {
  namespace http = boost::beast::http;
  parser.eager(until == ReadUntil::kMessage);
  auto done = [&] { return until == ReadUntil::kHeader ? parser.is_header_done() : parser.is_done(); };
  boost::beast::error_code ec;
  size_t consumed = 0;
  while (!done()) {
    if (buffer.size() > 0) {
      if (!parser.is_header_done()) {
        if (consumed >= header_limit)
          co_return std::tuple{boost::beast::error_code(http::error::header_limit), consumed};
        parser.header_limit(static_cast<std::uint32_t>(header_limit - consumed));
      }
      const size_t used = parser.put(buffer.data(), ec);
      consumed += used;
      buffer.consume(used);
      if (!ec) continue;
      if (ec != http::error::need_more) co_return std::tuple{ec, consumed};
      ec = {};
    }
    if (boost::beast::read_size(buffer, kReadPiece) == 0)
      co_return std::tuple{boost::beast::error_code(http::error::buffer_overflow), consumed};
    auto [read_ec, bytes] = co_await ReadSome(stream, buffer);
    buffer.commit(bytes);
    if (read_ec == boost::asio::error::eof) {
      if (!parser.got_some()) co_return std::tuple{NothingRead(read_ec), consumed};
      parser.put_eof(ec);  // completes a body that runs to the close, else partial_message
      co_return std::tuple{ec, consumed};
    }
    if (read_ec) co_return std::tuple{read_ec, consumed};
  }
  co_return std::tuple{ec, consumed};
}

}  // namespace latchkey::gateway
