// HTTP/1.1 answers as bytes on the wire, for the gateway's hot path: the status line and
// header section appended to a string the caller reuses, so that a whole message goes out
// in one gather write (header bytes, then the body where it already lies) instead of
// through Beast's general serializer. The fields are written as the message holds them;
// framing (Content-Length, chunked) is the caller's, as with Beast's serializer.
#pragma once

#include <array>
#include <boost/asio/buffer.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/buffers_suffix.hpp>
#include <string>
#include <string_view>

#include "gateway/http/message.h"

namespace latchkey::gateway {

// Appends "HTTP/1.x status reason", the fields (Beast's, then the lines) and the empty line to `out`.
void AppendHeader(const ResponseMessage& message, std::string& out);

// The buffers of a whole message: the serialized header, then the body.
using MessageBuffers = std::array<boost::asio::const_buffer, 2>;
inline MessageBuffers WholeMessage(const std::string& header, std::string_view body) {
  return {boost::asio::buffer(header), boost::asio::buffer(body.data(), body.size())};
}

// Sends what of `message` the socket takes at once: one non-blocking sendmsg, never a
// wait (whatever mode the socket is in), and no asynchronous operation. On the hot path a
// small message into a send buffer with room goes out whole so, without an operation
// object, its queueing and the coroutine's resumption (asio's async_write would make the
// same sendmsg at once, then post its completion). Returns the bytes sent; `ec` is set on
// a failure, not for a full send buffer. The caller awaits the rest, if any (Unsent).
size_t SendNow(boost::asio::ip::tcp::socket& socket, const MessageBuffers& message,
               boost::system::error_code& ec);

// What SendNow left of `message` after `sent` bytes, for async_write.
inline boost::beast::buffers_suffix<MessageBuffers> Unsent(const MessageBuffers& message, size_t sent) {
  boost::beast::buffers_suffix<MessageBuffers> rest(message);
  rest.consume(sent);
  return rest;
}

}  // namespace latchkey::gateway
