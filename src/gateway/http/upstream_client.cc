#include "gateway/http/upstream_client.h"

#include <openssl/ssl.h>
#include <sys/socket.h>

#include <algorithm>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/ssl.hpp>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <map>
#include <optional>
#include <tuple>
#include <type_traits>

#include "gateway/http/draining_read.h"
#include "gateway/http/header_scan.h"
#include "gateway/http/read_message.h"
#include "gateway/http/retry_policy.h"
#include "gateway/http/watchdog.h"
#include "gateway/http/wire.h"

namespace latchkey::gateway {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using Clock = std::chrono::steady_clock;
using namespace std::string_view_literals;  // "..."sv: appended without a strlen

namespace {
bool TimedOut(const beast::error_code& ec) { return ec == beast::error::timeout; }

// Records why a new connection could not be set up (a timeout, or a refusal).
void ConnectFailed(UpstreamResult& failure, const beast::error_code& ec, std::string what) {
  failure.outcome =
      TimedOut(ec) ? UpstreamResult::Outcome::kTimeout : UpstreamResult::Outcome::kConnectFailed;
  failure.error = std::move(what) + ec.message();
}
}  // namespace

// A connection to an upstream; the client's Watchdog cancels its pending operations
// when the armed deadline passes.
struct UpstreamClient::Connection final : Watched {
  std::unique_ptr<tcp::socket> plain;
  std::unique_ptr<beast::ssl_stream<tcp::socket>> secure;
  beast::flat_buffer buffer;
  std::string out;  // the serialized header of the request being sent (reused)
  // How long the connection may wait in the pool after its last answer (KeepFor), and the
  // time it must be taken by, once it is there.
  Clock::duration keep_for{};
  Clock::time_point reuse_by;

  tcp::socket& lowest() { return secure ? beast::get_lowest_layer(*secure) : *plain; }

  // Whether the TLS layer holds nothing read past the last answer: decrypted bytes
  // (SSL_pending) or ciphertext already taken from the socket (the read BIO).
  bool TlsDrained() {
    if (!secure) return true;
    SSL* ssl = secure->native_handle();
    return SSL_pending(ssl) == 0 && BIO_ctrl_pending(SSL_get_rbio(ssl)) == 0;
  }

  // Whether the upstream has sent nothing since the connection went idle: bytes would
  // answer no request of ours (or be a TLS close_notify), and an end of stream says it
  // closed the connection. Either way it is not reused. No system call when the last read
  // emptied the socket and no readiness event came since (NothingSinceEmptied), as nginx
  // knows an idle upstream connection is quiet; else one non-blocking peek. (Either way a
  // close that crosses the request on the wire is possible: the request then goes again
  // on a new connection, RetryPolicy::ResendOnNewConnection.)
  bool QuietSinceIdle() {
    if (!TlsDrained()) return false;
    if (!secure && NothingSinceEmptied(*plain)) return true;
    char byte = 0;
    const ssize_t got = ::recv(lowest().native_handle(), &byte, 1, MSG_PEEK | MSG_DONTWAIT);
    return got < 0 && (errno == EAGAIN || errno == EWOULDBLOCK);
  }

  // Runs `op(stream)` on whichever stream this connection has. `op` returns one type for
  // both (a coroutine's awaitable); an operation taking kAsTuple does not (its type names
  // the stream), and is awaited in an if and an else instead.
  template <typename Op>
  auto With(Op op) {
    return secure ? op(*secure) : op(*plain);
  }

 protected:
  void OnExpired() override {
    beast::error_code ignored;
    lowest().cancel(ignored);
  }
};

struct UpstreamClient::Pool {
  size_t max_idle_per_host = 0;
  std::map<std::string, std::vector<std::unique_ptr<Connection>>> idle;

  // Pools `connection`, whose last answer was read to its end with sound framing. Bytes
  // the upstream sent past that answer would be read as the next call's answer (that
  // call may be another agent's): such a connection is closed instead, whether the bytes
  // were read with the answer or wait in the socket (QuietSinceIdle).
  // (Bytes that come later are seen when the connection is taken: QuietSinceIdle again.)
  void Return(const std::string& key, std::unique_ptr<Connection> connection) {
    if (connection->buffer.size() != 0 || !connection->QuietSinceIdle()) return;
    if (connection->keep_for <= Clock::duration::zero()) return;
    auto& list = idle[key];
    if (list.size() >= max_idle_per_host) return;
    connection->reuse_by = Clock::now() + connection->keep_for;
    list.push_back(std::move(connection));
  }
};

namespace {

using Connection = UpstreamClient::Connection;
using Pool = UpstreamClient::Pool;

// The seconds of `timeout=N` in a Keep-Alive field ("timeout=5, max=100"), if it has one.
std::optional<std::chrono::seconds> KeepAliveTimeout(std::string_view value) {
  while (!value.empty()) {
    const size_t comma = value.find(',');
    std::string_view item = value.substr(0, comma);
    value = comma == std::string_view::npos ? std::string_view() : value.substr(comma + 1);
    const size_t equals = item.find('=');
    if (equals == std::string_view::npos) continue;
    auto trim = [](std::string_view text) {
      const size_t first = text.find_first_not_of(" \t");
      if (first == std::string_view::npos) return std::string_view();
      return text.substr(first, text.find_last_not_of(" \t") - first + 1);
    };
    if (!beast::iequals(trim(item.substr(0, equals)), "timeout")) continue;
    const std::string_view digits = trim(item.substr(equals + 1));
    uint32_t seconds = 0;
    const auto [end, error] = std::from_chars(digits.data(), digits.data() + digits.size(), seconds);
    if (error != std::errc() || end != digits.data() + digits.size()) return std::nullopt;
    return std::chrono::seconds(seconds);
  }
  return std::nullopt;
}

// How long a connection may wait in the pool after an answer whose Keep-Alive field is
// `keep_alive` (empty when it has none): our idle timeout,
// or less when the upstream says when it closes idle connections (Keep-Alive: timeout=N,
// as Node.js sends with its 5 s default). A second before then, so that a request is not
// sent just as the upstream closes the connection under it: that race cost a call its
// answer under load (a request on a connection the upstream was closing is sent again,
// but the next pooled one had been closed by the same timer).
Clock::duration KeepFor(std::string_view keep_alive, std::chrono::seconds idle_timeout) {
  if (keep_alive.empty()) return idle_timeout;
  const std::optional<std::chrono::seconds> timeout = KeepAliveTimeout(keep_alive);
  if (!timeout) return idle_timeout;
  return std::min<Clock::duration>(idle_timeout, *timeout - std::chrono::seconds(1));
}

Status BodyReadError(const beast::error_code& ec, uint64_t limit) {
  if (TimedOut(ec)) return DeadlineExceededError("the upstream stalled while sending the body");
  if (ec == http::error::body_limit) {
    return ResourceExhaustedError("the upstream's body is larger than latchkey's limit of " +
                                  std::to_string(limit) + " bytes");
  }
  return UnavailableError("the upstream's body could not be read to its end: " + ec.message());
}

// Whether `text` can go into a request line or a header field as it is: no CR, LF or NUL,
// which would end the line early (a stored credential holding "\r\nX-Other: ..." must not
// become a second header).
// (Tested byte by byte: find_first_of with a set of three calls memchr once per byte.)
bool IsLineBreaking(char c) { return c == '\r' || c == '\n' || c == '\0'; }
bool FitsOnOneLine(std::string_view text) { return std::ranges::none_of(text, IsLineBreaking); }

// Why `request` cannot be written as HTTP/1.1, naming the field but never its value; empty if it can.
std::string Unsendable(const UpstreamRequest& request) {
  if (!FitsOnOneLine(request.target)) return "the request target holds a line break or NUL";
  for (const UpstreamRequest::Field& field : request.fields) {
    if (!FitsOnOneLine(field.name) || !FitsOnOneLine(field.value)) {
      return "the header field '" +
             std::string(field.name.begin(), std::ranges::find_if(field.name, IsLineBreaking)) +
             "' holds a line break or NUL";
    }
  }
  return {};
}

// The declared length of a whole body: as Beast's prepare_payload, and PATCH too, whose
// empty body still means something (RFC 9110 §8.6).
std::optional<uint64_t> WholeBodyLength(const UpstreamRequest& request) {
  const http::verb m = request.method;
  if (!request.body.empty() || m == http::verb::post || m == http::verb::put || m == http::verb::patch ||
      m == http::verb::options) {
    return request.body.size();
  }
  return std::nullopt;
}

// Appends the request line, Host, the fields, Content-Length when given and the empty line to `out`.
void AppendRequestHeader(const UpstreamRequest& request, std::string_view host,
                         std::optional<uint64_t> content_length, std::string& out) {
  out += http::to_string(request.method);
  out += ' ';
  out += request.target;
  out += " HTTP/1.1\r\nHost: "sv;
  out += host;
  out += "\r\n"sv;
  for (const UpstreamRequest::Field& field : request.fields) {
    out += field.name;
    out += ": "sv;
    out += field.value;
    out += "\r\n"sv;
  }
  if (content_length) {
    out += "Content-Length: "sv;
    out += std::to_string(*content_length);
    out += "\r\n"sv;
  }
  out += "\r\n"sv;
}

// An answer body too large to read with the header, read as the caller forwards it. The
// connection goes back to the pool once the body ended cleanly on a keep-alive answer.
class UpstreamBody final : public BodySource {
 public:
  UpstreamBody(std::unique_ptr<Connection> connection,
               std::unique_ptr<http::response_parser<http::buffer_body>> parser, std::weak_ptr<Pool> pool,
               std::string key, const UpstreamOptions& options)
      : connection_(std::move(connection)),
        parser_(std::move(parser)),
        pool_(std::move(pool)),
        key_(std::move(key)),
        stall_timeout_(options.body_stall_timeout),
        limit_(options.max_response_body) {}

  asio::awaitable<StatusOr<size_t>> Read(std::span<char> into) override {
    if (!connection_) {
      if (parser_->is_done()) co_return size_t{0};
      co_return FailedPreconditionError("the upstream's body could not be read");
    }
    while (!parser_->is_done()) {
      http::buffer_body::value_type& body = parser_->get().body();
      body.data = into.data();
      body.size = into.size();
      connection_->Arm(stall_timeout_);
      // (Not a ?: with a co_await in each arm: GCC 12 miscompiles the temporaries.)
      beast::error_code read_ec;
      if (connection_->secure) {
        std::tie(read_ec, std::ignore) =
            co_await http::async_read_some(*connection_->secure, connection_->buffer, *parser_, kAsTuple);
      } else {
        std::tie(read_ec, std::ignore) =
            co_await http::async_read_some(*connection_->plain, connection_->buffer, *parser_, kAsTuple);
      }
      const beast::error_code ec = connection_->Settle(read_ec);
      const size_t got = into.size() - body.size;
      if (ec && ec != http::error::need_buffer) {
        connection_.reset();
        co_return BodyReadError(ec, limit_);
      }
      if (got > 0) co_return got;
    }
    auto pool = pool_.lock();
    if (pool && parser_->keep_alive()) pool->Return(key_, std::move(connection_));
    connection_.reset();
    co_return size_t{0};
  }

  std::optional<uint64_t> remaining_length() const override {
    if (auto remaining = parser_->content_length_remaining()) return *remaining;
    return std::nullopt;
  }

 private:
  std::unique_ptr<Connection> connection_;
  std::unique_ptr<http::response_parser<http::buffer_body>> parser_;
  std::weak_ptr<Pool> pool_;
  std::string key_;
  std::chrono::milliseconds stall_timeout_;
  uint64_t limit_;
};

struct Attempt {
  beast::error_code ec;
  std::string stage;  // "send", "receive"
  std::string why;    // said instead of ec.message() when set
  bool sent = false;
  bool any_response_bytes = false;
  bool plain = false;  // the answer is the thread's ScannedHeader, its body in the buffer behind it
  Status body_error;   // the request body's source failed
};

// Writes the header, then the body as `source` yields it: with its declared length, else chunked.
template <typename Stream>
asio::awaitable<Attempt> SendStreamed(Stream& stream, Connection& connection, const UpstreamRequest& request,
                                      std::string_view host, BodySource& source,
                                      std::chrono::milliseconds stall_timeout) {
  Attempt attempt;
  attempt.stage = "send";
  http::request<http::buffer_body> out(request.method, request.target, 11);
  out.set(http::field::host, host);
  for (const UpstreamRequest::Field& field : request.fields) out.insert(field.name, field.value);
  if (auto length = source.remaining_length()) {
    out.content_length(*length);
  } else {
    out.chunked(true);
  }
  http::request_serializer<http::buffer_body> serializer(out);
  connection.Arm(stall_timeout);
  attempt.sent = true;
  auto [header_ec, header_bytes] = co_await http::async_write_header(stream, serializer, kAsTuple);
  if (header_ec) {
    attempt.ec = connection.Settle(header_ec);
    attempt.sent = header_bytes > 0;
    co_return attempt;
  }
  StreamPiece piece;
  for (;;) {
    StatusOr<size_t> read = co_await source.Read(piece.span());
    if (!read.ok()) {
      attempt.body_error = read.status();
      co_return attempt;
    }
    http::buffer_body::value_type& body = out.body();
    body.data = *read > 0 ? piece.data() : nullptr;
    body.size = *read;
    body.more = *read > 0;
    connection.Arm(stall_timeout);
    auto [write_ec, bytes] = co_await http::async_write(stream, serializer, kAsTuple);
    const beast::error_code ec = connection.Settle(write_ec);
    if (ec == http::error::need_buffer) continue;
    if (ec) {
      attempt.ec = ec;
      co_return attempt;
    }
    if (*read == 0) co_return attempt;
  }
}

using HeaderParser = http::response_parser<http::empty_body>;

// Parses what of the answer's body `buffer` already holds into `body`, up to `limit` bytes
// of it: true when that was the whole body. A body past `limit`, or bytes the parser
// refuses, stop it: the rest is left to the stream (whose first read reports the error).
// A chunked body's trailer fields, which Beast adds to the header, are dropped, as a
// streamed answer's always were (RFC 9110 §6.5.2: merged only where a field allows it).
bool TakeBuffered(http::response_parser<http::buffer_body>& parser, beast::flat_buffer& buffer,
                  uint64_t limit, std::string& body) {
  http::fields& fields = parser.get().base();
  const auto last_field = fields.begin() == fields.end() ? fields.end() : std::prev(fields.end());
  parser.eager(true);
  while (!parser.is_done() && buffer.size() > 0 && body.size() < limit) {
    const size_t old = body.size();
    const size_t room =
        std::min<uint64_t>(limit - old, buffer.size());  // a body is never longer than its framing
    body.resize(old + room);
    http::buffer_body::value_type& piece = parser.get().body();
    piece.data = body.data() + old;
    piece.size = room;
    beast::error_code ec;
    const size_t used = parser.put(buffer.data(), ec);
    buffer.consume(used);
    body.resize(old + room - piece.size);
    if (ec != http::error::need_buffer && (ec || used == 0)) break;
  }
  parser.eager(false);  // as the header read left it, for the stream
  auto trailer = last_field == fields.end() ? fields.begin() : std::next(last_field);
  while (trailer != fields.end()) trailer = fields.erase(trailer);
  return parser.is_done();
}

// Interim (1xx) answers an upstream may send before its final one: 100 Continue, 103
// Early Hints. More than this many for one request is an upstream stalling on purpose.
constexpr int kMaxInterimAnswers = 8;

// Sends the request and reads the final answer's header into `parser`, which
// `new_parser` (re)creates: an interim answer's header is read and dropped, and the
// final answer is read with a parser of its own. With `scan_plain`, a plain answer
// with a body of at most `max_plain_body` is taken without a parser (Attempt::plain).
// How it went is written into `attempt` (a default one).
template <typename Stream, typename NewParser>
asio::awaitable<void> Exchange(Stream& stream, Connection& connection, beast::flat_buffer& buffer,
                               const UpstreamRequest& request, std::string_view host, BodySource* body_stream,
                               std::optional<HeaderParser>& parser, const NewParser& new_parser,
                               Clock::time_point deadline, std::chrono::milliseconds stall_timeout,
                               std::uint32_t header_limit, bool scan_plain, uint64_t max_plain_body,
                               Attempt& attempt) {
  if (body_stream) {
    attempt = co_await SendStreamed(stream, connection, request, host, *body_stream, stall_timeout);
    if (attempt.ec || !attempt.body_error.ok()) co_return;
  } else {
    // One gather write of the header and the body; no Beast message or serializer.
    connection.out.clear();
    AppendRequestHeader(request, host, WholeBodyLength(request), connection.out);
    const MessageBuffers message = WholeMessage(connection.out, request.body);
    attempt.sent = true;
    beast::error_code write_ec;
    size_t sent = 0;
    if constexpr (std::is_same_v<Stream, tcp::socket>) sent = SendNow(stream, message, write_ec);
    if (!write_ec && sent < asio::buffer_size(message)) {
      connection.ArmUntil(deadline);
      auto [rest_ec, rest_bytes] = co_await asio::async_write(stream, Unsent(message, sent), kAsTuple);
      write_ec = connection.Settle(rest_ec);
      sent += rest_bytes;
    }
    if (write_ec) {
      attempt.ec = write_ec;
      attempt.stage = "send";
      attempt.sent = sent > 0;
      co_return;
    }
  }
  connection.ArmUntil(deadline);
  const size_t before = buffer.size();
  if (scan_plain && before == 0) {
    auto [read_ec, read] = co_await ReadSome(stream, buffer);
    buffer.commit(read);
    if (read_ec) {
      attempt.ec = connection.Settle(NothingRead(read_ec));
      attempt.stage = "receive";
      co_return;
    }
    // A plain final answer whose body is all here too (header_scan.h), the most common: no Beast parser.
    // In the thread's memory, not the connection's (cold again by the time its answer
    // comes): SendInto takes it (TakePlain) as soon as this returns, with no co_await between.
    ScannedHeader& scanned = ThreadScannedHeader();
    if (ScanResponse(BufferText(buffer), header_limit, max_plain_body, scanned) &&
        buffer.size() >= scanned.size + scanned.content_length) {
      connection.Settle({});
      attempt.any_response_bytes = true;
      attempt.plain = true;
      co_return;
    }
  }
  for (int interim = 0;; ++interim) {
    new_parser(parser);
    auto [read_ec, read] = co_await ReadParsed(stream, buffer, *parser, ReadUntil::kHeader, header_limit);
    attempt.any_response_bytes =
        attempt.any_response_bytes || read > 0 || buffer.size() != before || parser->got_some();
    if (read_ec) {
      attempt.ec = connection.Settle(read_ec);
      attempt.stage = "receive";
      break;
    }
    const unsigned status = parser->get().result_int();
    if (status < 100 || status >= 200) break;
    // 101 answers an upgrade, which latchkey never asks for: the rest is not HTTP.
    if (status == 101 || interim >= kMaxInterimAnswers) {
      attempt.ec = http::error::bad_status;
      attempt.stage = "receive";
      attempt.why = status == 101 ? "the upstream switched protocols (101), which latchkey never asks for"
                                  : "the upstream sent more than " + std::to_string(kMaxInterimAnswers) +
                                        " interim (1xx) answers";
      break;
    }
  }
}

}  // namespace

UpstreamClient::UpstreamClient(asio::any_io_executor executor, std::shared_ptr<asio::ssl::context> tls,
                               UpstreamOptions options)
    : executor_(std::move(executor)),
      tls_(std::move(tls)),
      options_(options),
      pool_(std::make_shared<Pool>()),
      watchdog_(std::make_unique<Watchdog>(executor_, std::chrono::milliseconds(50))) {
  pool_->max_idle_per_host = options_.max_idle_per_host;
}

UpstreamClient::~UpstreamClient() = default;

size_t UpstreamClient::idle_connections() const {
  size_t n = 0;
  for (const auto& [key, list] : pool_->idle) n += list.size();
  return n;
}

void UpstreamClient::CloseIdle() { pool_->idle.clear(); }

asio::awaitable<std::unique_ptr<Connection>> UpstreamClient::Connect(const BaseUrl& base,
                                                                     Clock::time_point deadline,
                                                                     UpstreamResult& failure) {
  auto connection = std::make_unique<Connection>();
  tcp::resolver resolver(executor_);
  auto [resolve_ec, endpoints] = co_await resolver.async_resolve(base.host, base.port, kAsTuple);
  if (resolve_ec) {
    failure.outcome = UpstreamResult::Outcome::kConnectFailed;
    failure.error = "cannot resolve " + base.host + ": " + resolve_ec.message();
    co_return nullptr;
  }
  if (base.tls) {
    connection->secure = std::make_unique<beast::ssl_stream<tcp::socket>>(executor_, *tls_);
  } else {
    connection->plain = std::make_unique<tcp::socket>(executor_);
  }
  watchdog_->Add(*connection);
  tcp::socket& lowest = connection->lowest();
  connection->ArmUntil(deadline);
  auto [connect_error, endpoint] = co_await asio::async_connect(lowest, endpoints, kAsTuple);
  const beast::error_code connect_ec = connection->Settle(connect_error);
  if (connect_ec) {
    ConnectFailed(failure, connect_ec, "cannot connect to " + base.host_header + ": ");
    co_return nullptr;
  }
  lowest.set_option(tcp::no_delay(true));
  if (!connection->secure) {
    beast::error_code ignored;  // without it (a kernel before 4.18) reads are Asio's own
    lowest.set_option(ReadQueueHint(true), ignored);
    co_return connection;
  }

  auto& stream = *connection->secure;
  // SNI; SSL_set_tlsext_host_name is this call behind a C cast.
  if (SSL_ctrl(stream.native_handle(), SSL_CTRL_SET_TLSEXT_HOSTNAME, TLSEXT_NAMETYPE_host_name,
               const_cast<char*>(base.host.c_str())) != 1) {
    failure.error = "cannot set the TLS server name for " + base.host;
    co_return nullptr;
  }
  stream.set_verify_mode(asio::ssl::verify_peer);
  stream.set_verify_callback(asio::ssl::host_name_verification(base.host));
  connection->ArmUntil(deadline);
  auto [handshake_error] =
      co_await stream.async_handshake(asio::ssl::stream_base::client, AsTupleFor<decltype(stream)>());
  const beast::error_code handshake_ec = connection->Settle(handshake_error);
  if (handshake_ec) {
    ConnectFailed(failure, handshake_ec, "TLS handshake with " + base.host_header + " failed: ");
    co_return nullptr;
  }
  co_return connection;
}

asio::awaitable<UpstreamResult> UpstreamClient::Send(const BaseUrl& base, const UpstreamRequest& request,
                                                     BodySource* body_stream, Clock::time_point deadline) {
  UpstreamResult result;
  co_await SendInto(base, request, body_stream, deadline, result);
  co_return result;
}

asio::awaitable<void> UpstreamClient::SendInto(const BaseUrl& base, const UpstreamRequest& request,
                                               BodySource* body_stream, Clock::time_point deadline,
                                               UpstreamResult& result) {
  if (std::string why = Unsendable(request); !why.empty()) {
    result.outcome = UpstreamResult::Outcome::kUnsendable;
    result.error = std::move(why);
    co_return;
  }
  const std::string& key = base.origin;

  for (int round = 0; round < 2; ++round) {
    std::unique_ptr<Connection> connection;
    bool reused = false;
    auto& idle = pool_->idle[key];
    // The second round follows a pooled connection the upstream had closed: it goes on a
    // new one, since the same idle timer may have closed every connection pooled with it.
    while (round == 0 && !body_stream && !idle.empty() && !connection) {
      std::unique_ptr<Connection> candidate = std::move(idle.back());
      idle.pop_back();
      if (Clock::now() < candidate->reuse_by && candidate->QuietSinceIdle()) {
        connection = std::move(candidate);
        reused = true;
      }
    }
    if (!connection) {
      connection = co_await Connect(base, deadline, result);
      if (!connection) co_return;
    }

    std::optional<HeaderParser> header_parser;
    auto new_parser = [&](std::optional<HeaderParser>& parser) {
      parser.emplace();
      parser->body_limit(options_.max_response_body);
      if (request.method == http::verb::head) parser->skip(true);
    };
    // An answer to HEAD has a Content-Length but no body: Beast's parser knows (skip).
    const bool scan_plain = request.method != http::verb::head;
    // (Not a ?: with a co_await in each arm: GCC 12 miscompiles the temporaries. Filled in
    // place rather than returned, as SendInto's result is.)
    Attempt attempt;
    if (connection->secure) {
      co_await Exchange(*connection->secure, *connection, connection->buffer, request, base.host_header,
                        body_stream, header_parser, new_parser, deadline, options_.body_stall_timeout,
                        options_.max_response_header, scan_plain, options_.max_whole_body, attempt);
    } else {
      co_await Exchange(*connection->plain, *connection, connection->buffer, request, base.host_header,
                        body_stream, header_parser, new_parser, deadline, options_.body_stall_timeout,
                        options_.max_response_header, scan_plain, options_.max_whole_body, attempt);
    }
    if (!attempt.body_error.ok()) {
      result.outcome = UpstreamResult::Outcome::kRequestBodyFailed;
      result.sent = true;
      result.request_body_error = attempt.body_error;
      result.error = "the request body could not be read: " + attempt.body_error.message();
      co_return;
    }
    if (!attempt.ec) {
      result.outcome = UpstreamResult::Outcome::kOk;
      result.sent = true;
      if (attempt.plain) {
        TakePlain(std::move(connection), key, request.drop_answer_field, result);
        co_return;
      }
      connection->keep_for =
          KeepFor(FirstField(header_parser->get().base(), http::field::keep_alive), options_.idle_timeout);
      co_await TakeBody(std::move(connection), *header_parser, key, deadline, result);
      co_return;
    }
    // The upstream closed an idle keep-alive connection just as we reused it: nothing was
    // processed, so sending again on a fresh connection is safe for every method.
    if (RetryPolicy::ResendOnNewConnection(reused, attempt.any_response_bytes, TimedOut(attempt.ec), round)) {
      continue;
    }
    result.sent = attempt.sent;
    if (TimedOut(attempt.ec)) {
      result.outcome = UpstreamResult::Outcome::kTimeout;
    } else if (attempt.ec == http::error::body_limit || attempt.ec == http::error::header_limit) {
      result.outcome = UpstreamResult::Outcome::kTooLarge;
    } else {
      result.outcome = UpstreamResult::Outcome::kFailed;
    }
    result.error = attempt.stage + " failed: " + (attempt.why.empty() ? attempt.ec.message() : attempt.why);
    co_return;
  }
}

void UpstreamClient::TakePlain(std::unique_ptr<Connection> connection, const std::string& key,
                               bool (*drop_field)(std::string_view name), UpstreamResult& result) {
  const ScannedHeader& scanned = ThreadScannedHeader();  // Exchange's scan, just made
  UpstreamResponse& response = result.response;
  response.version(11);
  response.result(scanned.status);
  response.reason(scanned.reason);
  // Its fields as lines, not in Beast's container: the proxy passes most on as they are.
  response.lines.Reserve(scanned.size);
  std::string_view keep_alive;
  for (size_t i = 0; i < scanned.field_count; ++i) {
    const ScannedHeader::Field& field = scanned.fields[i];
    if (keep_alive.empty() && AsciiEqualsLowerWord(field.name, "keep-alive")) keep_alive = field.value;
    if (drop_field == nullptr || !drop_field(field.name)) response.lines.Append(field.name, field.value);
  }
  response.body().assign(BufferText(connection->buffer).substr(scanned.size, scanned.content_length));
  connection->buffer.consume(scanned.size + scanned.content_length);
  connection->keep_for = KeepFor(keep_alive, options_.idle_timeout);
  if (scanned.keep_alive) pool_->Return(key, std::move(connection));
}

// With the header in: a small body is read now and the connection pooled; a large one,
// or one of unknown length, is left to stream.
asio::awaitable<void> UpstreamClient::TakeBody(std::unique_ptr<Connection> connection,
                                               http::response_parser<http::empty_body>& header_parser,
                                               const std::string& key, Clock::time_point deadline,
                                               UpstreamResult& result) {
  if (header_parser.is_done()) {
    const bool reusable = header_parser.keep_alive();  // from the parser's flags
    result.response = UpstreamResponse(header_parser.release().base());
    if (reusable) pool_->Return(key, std::move(connection));
    co_return;
  }
  boost::optional<uint64_t> length = header_parser.content_length();
  if (length && *length <= options_.max_whole_body) {
    http::response_parser<http::string_body> parser(std::move(header_parser));
    connection->ArmUntil(deadline);
    auto [read_ec, bytes] = co_await connection->With([&](auto& stream) {
      return ReadParsed(stream, connection->buffer, parser, ReadUntil::kMessage,
                        options_.max_response_header);
    });
    beast::error_code ec = connection->Settle(read_ec);
    if (ec) {
      result.outcome = TimedOut(ec) ? UpstreamResult::Outcome::kTimeout : UpstreamResult::Outcome::kFailed;
      result.error = "receive failed: " + ec.message();
      co_return;
    }
    const bool reusable = parser.keep_alive();
    result.response = UpstreamResponse(parser.release());
    if (reusable) pool_->Return(key, std::move(connection));
    co_return;
  }
  // Of unknown length (chunked, or up to the close) or large: what of the body already came
  // with the header is taken now, and a small chunked answer that came whole (the usual
  // JSON answer of many APIs) is not streamed at all.
  auto parser = std::make_unique<http::response_parser<http::buffer_body>>(std::move(header_parser));
  std::string ahead;
  if (TakeBuffered(*parser, connection->buffer, options_.max_whole_body, ahead)) {
    const bool reusable = parser->keep_alive();
    result.response = UpstreamResponse(std::move(parser->get().base()));
    result.response.body() = std::move(ahead);
    if (reusable) pool_->Return(key, std::move(connection));
    co_return;
  }
  result.response = UpstreamResponse(UpstreamResponse::header_type(parser->get().base()));
  result.response.body() = std::move(ahead);  // read ahead: forwarded before the stream's first piece
  result.body_stream =
      std::make_unique<UpstreamBody>(std::move(connection), std::move(parser), pool_, key, options_);
}

StatusOr<std::shared_ptr<asio::ssl::context>> MakeClientTlsContext(const std::string& extra_ca_file) {
  auto context = std::make_shared<asio::ssl::context>(asio::ssl::context::tls_client);
  context->set_default_verify_paths();
  if (!extra_ca_file.empty()) {
    boost::system::error_code ec;
    context->load_verify_file(extra_ca_file, ec);
    if (ec) return InvalidArgumentError("cannot load the CA file '" + extra_ca_file + "': " + ec.message());
  }
  context->set_verify_mode(asio::ssl::verify_peer);
  context->set_options(asio::ssl::context::default_workarounds | asio::ssl::context::no_sslv2 |
                       asio::ssl::context::no_sslv3 | asio::ssl::context::no_tlsv1 |
                       asio::ssl::context::no_tlsv1_1);
  return context;
}

}  // namespace latchkey::gateway
