// The gateway's HTTP messages. A body is either held whole in the message (small bodies,
// and everything latchkey writes itself) or streamed through a BodySource, so a large
// upload or download passes through in pieces without ever being held in memory whole.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/beast/http.hpp>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "common/ascii.h"
#include "common/status.h"

namespace latchkey::gateway {

// How much of a streamed body is read and written at a time.
inline constexpr size_t kStreamPiece = size_t{64} * 1024;

// Memory for one piece of a streamed body, kStreamPiece bytes, not zeroed: each read
// writes what it gives (a std::vector<char> of that size cleared 64 KiB, and faulted its
// pages in, for every streamed message).
class StreamPiece {
 public:
  std::span<char> span() { return {bytes_.get(), kStreamPiece}; }
  char* data() { return bytes_.get(); }

 private:
  std::unique_ptr<char[]> bytes_ = std::make_unique_for_overwrite<char[]>(kStreamPiece);
};

// The rest of a message body, read piece by piece. Not thread-safe: used on one worker.
class BodySource {
 public:
  virtual ~BodySource() = default;

  // Fills the front of `into` with the next piece: the count of bytes, 0 once the body
  // has ended, or an error (the sender went away or stalled, or the body passed a size
  // cap); after an error the source is unusable.
  virtual boost::asio::awaitable<StatusOr<size_t>> Read(std::span<char> into) = 0;

  // The declared length of what remains, when the sender declared one (Content-Length).
  virtual std::optional<uint64_t> remaining_length() const = 0;
};

// The first field called `name`, or fields.end(). A scan of the few fields a message
// carries by their codes: cheaper than Beast's find() and operator[], a tree search that
// compares names case-insensitively.
inline boost::beast::http::fields::const_iterator FindField(const boost::beast::http::fields& fields,
                                                            boost::beast::http::field name) {
  auto field = fields.begin();
  while (field != fields.end() && field->name() != name) ++field;
  return field;
}

inline bool HasField(const boost::beast::http::fields& fields, boost::beast::http::field name) {
  return FindField(fields, name) != fields.end();
}

// The value of the first field called `name`, or empty.
inline std::string_view FirstField(const boost::beast::http::fields& fields, boost::beast::http::field name) {
  auto field = FindField(fields, name);
  if (field == fields.end()) return {};
  return field->value();
}

// The credential of an "Authorization: Bearer <token>" value, or nullopt when the value
// is of another scheme (or none). The scheme is case-insensitive (RFC 9110 §11.1), and
// one or more spaces follow it (RFC 6750 §2.1). "Bearer" with nothing after it gives "".
// The one reader of agent keys (/proxy/, /mcp) and admin tokens (/v1/).
inline std::optional<std::string_view> BearerCredential(std::string_view authorization) {
  constexpr std::string_view kScheme = "bearer";
  if (!AsciiStartsWithIgnoreCase(authorization, kScheme)) return std::nullopt;
  std::string_view rest = authorization.substr(kScheme.size());
  if (!rest.empty() && rest.front() != ' ') return std::nullopt;  // "Bearerx": another scheme
  while (rest.starts_with(' ')) rest.remove_prefix(1);
  return rest;
}

// What a server's gate (RequestGate) worked out about a request from its header, handed
// to the handler with the request so that it is not worked out twice (the gateway's: who
// an access token acts as). The server only carries it; a gate derives its own kinds.
struct Admission {
  virtual ~Admission() = default;
};

// A request as a handler sees it: the header, and the body either whole in body() or,
// when it is large or of unknown length, as `body_stream` (owned by the server, valid
// until the handler returns; whatever the handler leaves unread ends the connection).
// `admission` is what the gate left for this request, if a gate ran and left one: never
// anything from the wire.
struct Request : boost::beast::http::request<boost::beast::http::string_body> {
  using message::message;
  explicit Request(message&& whole) : message(std::move(whole)) {}
  BodySource* body_stream = nullptr;
  std::shared_ptr<const Admission> admission;
};

// Header fields as the wire lines they go out as, "Name: value\r\n" each, in one string:
// how a plain upstream answer's fields reach the agent without Beast's container (no tree
// and no allocation per field: the proxy's hot path). Append takes only names and values
// a parser has already checked (ScanResponse), so every line is well-formed: a name
// without ':' and a value without CR, LF or NUL.
class FieldLines {
 public:
  void Append(std::string_view name, std::string_view value) {
    text_.append(name).append(": ", 2).append(value).append("\r\n", 2);
  }
  void Reserve(size_t bytes) { text_.reserve(bytes); }

  // Calls visit(name, value) for each field, in order.
  template <class Visit>
  void ForEach(Visit&& visit) const {
    std::string_view rest = text_;
    while (!rest.empty()) {
      const size_t colon = rest.find(": ");
      const size_t end = rest.find("\r\n", colon);
      visit(rest.substr(0, colon), rest.substr(colon + 2, end - colon - 2));
      rest.remove_prefix(end + 2);
    }
  }

  // The value of the first field called `name` (in any case), or empty.
  std::string_view Find(std::string_view name) const;

  const std::string& text() const { return text_; }
  bool empty() const { return text_.empty(); }

 private:
  std::string text_;
};

// An answer's message as Beast holds it, plus `lines`: more header fields, kept as wire
// lines (FieldLines), written after Beast's. Read a field with Field() or ForEachField(),
// which see both parts; Beast's own readers, which would see only the first, are hidden
// (use base() to mean Beast's part alone).
struct ResponseMessage : boost::beast::http::response<boost::beast::http::string_body> {
  using message::message;
  explicit ResponseMessage(message&& whole) : message(std::move(whole)) {}

  // Never a framing field (Content-Length, Transfer-Encoding) in an answer a handler
  // gives HttpServer, which frames it.
  FieldLines lines;

  // The value of the first field called `name`, or empty.
  std::string_view Field(boost::beast::http::field name) const;
  std::string_view Field(std::string_view name) const;

  // Calls visit(name, value) for each field: Beast's, then the lines'.
  template <class Visit>
  void ForEachField(Visit&& visit) const {
    for (const auto& field : base()) visit(field.name_string(), field.value());
    lines.ForEach(visit);
  }

  std::string_view operator[](boost::beast::http::field) const = delete;
  std::string_view operator[](std::string_view) const = delete;
  void count(boost::beast::http::field) const = delete;
  void count(std::string_view) const = delete;
  void find(boost::beast::http::field) const = delete;
  void find(std::string_view) const = delete;
  void at(boost::beast::http::field) const = delete;
  void at(std::string_view) const = delete;
};

// A response: the header, and the body either whole in body() or, when `body_stream` is
// set, body() (what was read ahead, often nothing) followed by what the stream yields,
// written to the client as it comes (with the Content-Length the header carries, or
// chunked when it has none).
struct Response : ResponseMessage {
  using ResponseMessage::ResponseMessage;
  std::unique_ptr<BodySource> body_stream;
};

}  // namespace latchkey::gateway
