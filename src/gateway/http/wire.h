// HTTP/1.1 answers as bytes on the wire, for the gateway's hot path: the status line and
// header section appended to a string the caller reuses, so that a whole message goes out
// in one gather write (header bytes, then the body where it already lies) instead of
// through Beast's general serializer. The fields are written as the message holds them;
// framing (Content-Length, chunked) is the caller's, as with Beast's serializer.
#pragma once

#include <array>
#include <boost/asio/buffer.hpp>
#include <string>
#include <string_view>

#include "gateway/http/message.h"

namespace latchkey::gateway {

// Appends "HTTP/1.x status reason", the fields (Beast's, then the lines) and the empty line to `out`.
void AppendHeader(const ResponseMessage& message, std::string& out);

// The buffers of a whole message: the serialized header, then the body.
inline std::array<boost::asio::const_buffer, 2> WholeMessage(const std::string& header,
                                                             std::string_view body) {
  return {boost::asio::buffer(header), boost::asio::buffer(body.data(), body.size())};
}

}  // namespace latchkey::gateway
