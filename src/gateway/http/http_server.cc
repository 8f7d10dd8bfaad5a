#include "gateway/http/http_server.h"

#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <charconv>
#include <condition_variable>
#include <csignal>
#include <exception>
#include <map>
#include <mutex>
#include <optional>
#include <thread>
#include <utility>
#include <vector>

#include "common/log.h"
#include "common/thread_name.h"
#include "gateway/http/draining_read.h"
#include "gateway/http/header_scan.h"
#include "gateway/http/problem.h"
#include "gateway/http/read_message.h"
#include "gateway/http/watchdog.h"
#include "gateway/http/wire.h"

namespace latchkey::gateway {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

// What a lingering close reads and drops at most (HttpServer's Close).
constexpr size_t kMaxLingerBytes = size_t{1024} * 1024;

// A reply for a request that could not be read, or nothing when the connection should
// just close (peer gone, timeout, shutdown).
std::optional<Response> ReplyToReadError(const beast::error_code& ec, const HttpServerOptions& options,
                                         bool got_some) {
  if (ec == beast::error::timeout && got_some) {
    ProblemDetails problem = BadRequest("it did not arrive in time (the connection was too slow)");
    problem.status = http::status::request_timeout;
    return problem.ToResponse(11);
  }
  if (ec == http::error::header_limit) {
    ProblemDetails problem = PayloadTooLarge("its header section is larger than " +
                                             std::to_string(options.max_header_bytes / 1024) + " KiB");
    problem.status = http::status::request_header_fields_too_large;
    return problem.ToResponse(11);
  }
  if (ec == http::error::body_limit) {
    return PayloadTooLarge("its body is larger than " + std::to_string(options.max_body_bytes / 1024) +
                           " KiB")
        .ToResponse(11);
  }
  if (ec == http::error::end_of_stream || ec == http::error::partial_message) return std::nullopt;
  if (ec.category() == http::make_error_code(http::error::bad_target).category()) {
    return BadRequest("it is not well-formed HTTP/1.1 (" + ec.message() + ")").ToResponse(11);
  }
  return std::nullopt;
}

// Frames a whole answer by its body's size. A status that has no body gets neither a body
// nor a framing field (RFC 9110 §8.6, §15.3.5: Beast's prepare_payload would say
// "Content-Length: 0"). Else when Beast's part of the header has no framing field (an
// upstream answer the proxy passes on: its lines never hold one), with a line, and no
// field allocated in Beast's container; else through Beast.
void FrameWhole(Response& res) {
  const unsigned status = res.result_int();
  if (status / 100 == 1 || status == 204 || status == 304) {
    res.base().erase(http::field::content_length);
    res.base().erase(http::field::transfer_encoding);
    res.body().clear();
    return;
  }
  if (HasField(res.base(), http::field::content_length) ||
      HasField(res.base(), http::field::transfer_encoding)) {
    res.prepare_payload();
    return;
  }
  std::array<char, 20> digits{};
  const auto [end, ignored] = std::to_chars(digits.begin(), digits.end(), res.body().size());
  res.lines.Append("Content-Length",
                   std::string_view(digits.data(), static_cast<size_t>(end - digits.data())));
}

void LogIfThrown(std::string_view what, const std::exception_ptr& error) {
  if (!error) return;
  try {
    std::rethrow_exception(error);
  } catch (const std::exception& e) {
    spdlog::error("gateway: {} ended with an exception: {}", what, e.what());
  } catch (...) {
    spdlog::error("gateway: {} ended with an unknown exception", what);
  }
}

std::string Describe(const tcp::endpoint& endpoint) {
  std::string address = endpoint.address().to_string();
  if (endpoint.address().is_v6()) address = "[" + address + "]";
  return address + ":" + std::to_string(endpoint.port());
}

// One accepted connection; everything but `closing` is touched only on its worker. The
// worker's Watchdog cancels its socket's pending operations when a deadline passes.
struct Connection final : Watched {
  // `accepted`, a connected socket's descriptor, becomes `stream` on the worker (Open()).
  Connection(asio::io_context& worker_context, tcp::socket::native_handle_type accepted, tcp protocol,
             int on_worker)
      : stream(worker_context), worker(on_worker), accepted_(accepted), protocol_(protocol) {}
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;
  ~Connection() override {
    if (accepted_ >= 0) ::close(accepted_);  // never opened (the server stopped first)
  }

  // Puts the accepted descriptor into `stream`, on the worker: the worker's io_context
  // takes it there, as it does without locks (HttpServer::Impl's contexts).
  beast::error_code Open() {
    beast::error_code ec;
    stream.assign(protocol_, std::exchange(accepted_, -1), ec);
    if (!ec) stream.set_option(tcp::no_delay(true), ec);
    return ec;
  }

  tcp::socket stream;  // no expiry of its own: the watchdog keeps the deadlines
  int worker;
  std::string out;  // the serialized header of the answer being written (reused)
  // Waiting for the next request's header, so safe to drop (read by the accept loop too).
  std::atomic<bool> idle = true;
  std::atomic<bool> evicting = false;  // the accept loop chose it to make room
  std::atomic<bool> served = false;    // it has answered a request (a client's, not a flood's)
  bool closing = false;                // finish the current response, then close

 protected:
  void OnExpired() override {
    beast::error_code ignored;
    stream.cancel(ignored);
  }

 private:
  tcp::socket::native_handle_type accepted_;  // -1 once in `stream`
  tcp protocol_;
};

// Runs one read or write of the connection under a deadline `timeout` from now; an
// operation the deadline cut off reports beast::error::timeout.
template <typename Op>
asio::awaitable<beast::error_code> WithDeadline(Connection& connection, std::chrono::milliseconds timeout,
                                                Op op) {
  connection.Arm(timeout);
  beast::error_code ec = co_await op();
  co_return connection.Settle(ec);
}

bool ExpectsContinue(const http::request_header<>& request) {
  return beast::iequals(request[http::field::expect], "100-continue");
}

asio::awaitable<beast::error_code> SendContinue(Connection& connection, std::chrono::milliseconds timeout) {
  http::response<http::empty_body> go_on(http::status::continue_, 11);
  connection.Arm(timeout);
  auto [ec, bytes] = co_await http::async_write(connection.stream, go_on, kAsTuple);
  co_return connection.Settle(ec);
}

// A request body too large to read whole or of unknown length, read from the client as
// the handler asks for it (after a 100 Continue when the client waits for one).
class ClientBody final : public BodySource {
 public:
  ClientBody(std::shared_ptr<Connection> connection, beast::flat_buffer& buffer,
             http::request_parser<http::buffer_body>& parser, const HttpServerOptions& options,
             bool send_continue)
      : connection_(std::move(connection)),
        buffer_(buffer),
        parser_(parser),
        options_(options),
        send_continue_(send_continue),
        deadline_(connection_->Now() + options.body_deadline) {}

  asio::awaitable<StatusOr<size_t>> Read(std::span<char> into) override {
    if (failed_) co_return FailedPreconditionError("the request body could not be read");
    if (send_continue_) {
      send_continue_ = false;
      if (beast::error_code ec = co_await SendContinue(*connection_, options_.write_timeout)) {
        co_return Fail(ec);
      }
    }
    while (!parser_.is_done()) {
      http::buffer_body::value_type& body = parser_.get().body();
      body.data = into.data();
      body.size = into.size();
      // Each read within the stall timeout, and the whole body by its deadline: a client
      // that trickles a byte now and then cannot hold the connection (and the upstream's) forever.
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline_ - connection_->Now());
      if (left.count() <= 0) co_return Fail(beast::error::timeout);
      beast::error_code ec = co_await WithDeadline(*connection_, std::min(options_.read_timeout, left),
                                                   [&] { return ReadSome(); });
      const size_t got = into.size() - body.size;
      if (ec && ec != http::error::need_buffer) co_return Fail(ec);
      if (got > 0) co_return got;
    }
    co_return size_t{0};
  }

  std::optional<uint64_t> remaining_length() const override {
    if (auto remaining = parser_.content_length_remaining()) return *remaining;
    return std::nullopt;
  }

  bool finished() const { return parser_.is_done(); }

 private:
  asio::awaitable<beast::error_code> ReadSome() {
    auto [ec, bytes] = co_await http::async_read_some(connection_->stream, buffer_, parser_, kAsTuple);
    co_return ec;
  }

  Status Fail(const beast::error_code& ec) {
    failed_ = true;
    if (ec == beast::error::timeout) {
      return DeadlineExceededError("the request body did not arrive in time (the client was too slow)");
    }
    if (ec == http::error::body_limit) {
      return ResourceExhaustedError("the request body is larger than " +
                                    std::to_string(options_.max_body_bytes / 1024) + " KiB");
    }
    return UnavailableError("the request body could not be read: " + ec.message());
  }

  std::shared_ptr<Connection> connection_;
  beast::flat_buffer& buffer_;
  http::request_parser<http::buffer_body>& parser_;
  const HttpServerOptions& options_;
  bool send_continue_;
  std::chrono::steady_clock::time_point deadline_;  // for the whole body
  bool failed_ = false;
};

}  // namespace

class HttpServer::Impl {
 public:
  Impl(const HttpServerOptions& options, const MonotonicClock& steady) : options_(options) {
    int workers = options.workers > 0 ? options.workers
                                      : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
    // Each worker's sockets are used on its thread alone, so its reactor keeps no lock
    // per socket operation: an accepted connection's socket is created there too (Open),
    // and every other thread reaches a socket through a post to its worker (Stop,
    // MakeRoom). Posts and timers keep their locks.
    for (int i = 0; i < workers; ++i) {
      contexts_.push_back(std::make_unique<asio::io_context>(BOOST_ASIO_CONCURRENCY_HINT_UNSAFE_IO));
      guards_.emplace_back(asio::make_work_guard(*contexts_.back()));
    }
    acceptor_ = std::make_unique<tcp::acceptor>(*contexts_[0]);
    room_ = std::make_unique<asio::steady_timer>(*contexts_[0]);
    // Deadlines fire up to a tick late: a quarter of the shortest timeout, within bounds.
    auto shortest = std::min({options.idle_timeout, options.read_timeout, options.write_timeout});
    auto tick = std::clamp(shortest / 4, std::chrono::milliseconds(10), std::chrono::milliseconds(250));
    for (auto& context : contexts_)
      watchdogs_.push_back(std::make_unique<Watchdog>(context->get_executor(), tick, steady));
  }

  ~Impl() {
    Stop();
    std::lock_guard lock(mu_);
    connections_.clear();
  }

  Status Listen() {
    boost::system::error_code ec;
    asio::ip::address address = asio::ip::make_address(options_.host, ec);
    if (ec) {
      tcp::resolver resolver(*contexts_[0]);
      auto results = resolver.resolve(options_.host, "", ec);
      if (ec || results.empty()) {
        return InvalidArgumentError("cannot listen on '" + options_.host +
                                    "': it is neither an IP address nor a host name that resolves");
      }
      address = results.begin()->endpoint().address();
    }
    tcp::endpoint endpoint(address, options_.port);
    std::string where = Describe(endpoint);
    if (acceptor_->open(endpoint.protocol(), ec)) {
      return UnavailableError("cannot listen on " + where + ": " + ec.message());
    }
    // Lets a restarted server rebind while old connections sit in TIME_WAIT.
    acceptor_->set_option(asio::socket_base::reuse_address(true), ec);
    // Each accepted connection inherits it: what lets ReadSome skip a recv that would find
    // nothing (draining_read.h). Without it (a kernel before 4.18) reads are Asio's own.
    acceptor_->set_option(ReadQueueHint(true), ec);
    if (acceptor_->bind(endpoint, ec)) {
      if (ec == asio::error::address_in_use) {
        return UnavailableError("cannot listen on " + where +
                                ": the port is already in use (is another latchkey serve running?)");
      }
      return UnavailableError("cannot listen on " + where + ": " + ec.message());
    }
    if (acceptor_->listen(asio::socket_base::max_listen_connections, ec)) {
      return UnavailableError("cannot listen on " + where + ": " + ec.message());
    }
    port_ = acceptor_->local_endpoint(ec).port();
    protocol_ = endpoint.protocol();
    max_connections_ = options_.max_connections > 0 ? options_.max_connections : DefaultMaxConnections();
    spdlog::info("gateway: at most {} client connections at once", max_connections_);
    return Status::Ok();
  }

  Status Serve(RequestHandler handler, RequestGate gate) {
    handler_ = std::move(handler);
    gate_ = std::move(gate);
    {
      std::lock_guard lock(mu_);
      accepting_ = true;
    }
    asio::co_spawn(*contexts_[0], AcceptLoop(),
                   [](const std::exception_ptr& e) { LogIfThrown("the accept loop", e); });
    try {
      for (size_t i = 0; i < contexts_.size(); ++i) {
        threads_.emplace_back([io = contexts_[i].get(), i] {
          NameThisThread(std::string("lk-io-").append(std::to_string(i)));
          RunIo(*io);
        });
      }
    } catch (const std::system_error& e) {
      Stop();
      return InternalError(std::string("cannot start the gateway's I/O threads: ") + e.what());
    }
    return Status::Ok();
  }

  uint16_t port() const { return port_; }
  int workers() const { return static_cast<int>(contexts_.size()); }
  asio::any_io_executor executor(int worker) const { return contexts_.at(worker)->get_executor(); }

  void Stop() {
    std::lock_guard stop_lock(stop_mu_);
    if (stopped_) return;
    stopped_ = true;
    {
      std::unique_lock lock(mu_);
      stopping_ = true;
      asio::post(*contexts_[0], [this] {
        boost::system::error_code ignored;
        acceptor_->close(ignored);
      });
      for (auto& [id, connection] : connections_) {
        asio::post(connection->stream.get_executor(), [connection = connection] {
          connection->closing = true;
          beast::error_code ignored;
          if (connection->idle) connection->stream.cancel(ignored);
        });
      }
      if (!threads_.empty() && !drained_.wait_for(lock, options_.shutdown_grace,
                                                  [this] { return connections_.empty() && !accepting_; })) {
        spdlog::warn("gateway: {} connection(s) still busy after the shutdown grace period; closing them",
                     connections_.size());
      }
    }
    for (auto& guard : guards_) guard.reset();
    for (auto& context : contexts_) context->stop();
    for (std::thread& thread : threads_) {
      if (thread.joinable()) thread.join();
    }
    boost::system::error_code ignored;
    acceptor_->close(ignored);
  }

 private:
  static void RunIo(asio::io_context& io) {
    for (;;) {
      try {
        io.run();
        return;
      } catch (const std::exception& e) {
        spdlog::error("gateway: an I/O handler threw: {}", e.what());
      }
    }
  }

  void MarkAcceptLoopDone() {
    std::lock_guard lock(mu_);
    accepting_ = false;
    drained_.notify_all();
  }

  asio::awaitable<void> AcceptLoop() {
    struct Done {
      Impl* impl;
      ~Done() { impl->MarkAcceptLoopDone(); }
    } done{this};
    size_t next_worker = 0;
    for (;;) {
      if (!co_await WaitForRoom()) co_return;
      int worker = static_cast<int>(next_worker++ % contexts_.size());
      auto [ec, socket] = co_await acceptor_->async_accept(kAsTuple);
      if (ec == asio::error::operation_aborted || !acceptor_->is_open()) co_return;
      if (ec) {
        // Out of file descriptors and the like: back off instead of spinning.
        spdlog::warn("gateway: accept failed: {}", ec.message());
        asio::steady_timer pause(*contexts_[0], std::chrono::milliseconds(100));
        co_await pause.async_wait(kAsTuple);
        continue;
      }
      // The socket moves to its worker as a bare descriptor (Connection::Open).
      const tcp::socket::native_handle_type accepted = socket.release(ec);
      if (ec) {
        spdlog::warn("gateway: cannot hand over an accepted connection: {}", ec.message());
        continue;
      }
      auto connection = std::make_shared<Connection>(*contexts_[worker], accepted, protocol_, worker);
      uint64_t id = 0;
      {
        std::lock_guard lock(mu_);
        if (stopping_) co_return;
        id = next_id_++;
        connections_.emplace(id, connection);
      }
      asio::co_spawn(*contexts_[worker], ServeConnection(connection, id),
                     [](const std::exception_ptr& e) { LogIfThrown("a connection", e); });
    }
  }

  // Returns once there is room for one more connection (false when the server stops).
  // At the cap, a new connection is not accepted (only to be closed unanswered: a burst of
  // honest clients must be slow, never refused); it waits in the listen backlog. While one
  // waits there, a connection that holds its slot without a request makes room (MakeRoom),
  // or one that answers its request leaves; the loop looks again each 100 ms in case a
  // chosen one began a request instead.
  asio::awaitable<bool> WaitForRoom() {
    for (;;) {
      {
        std::lock_guard lock(mu_);
        if (stopping_) co_return false;
        if (connections_.size() < max_connections_) {
          waiting_for_room_ = false;
          co_return true;
        }
      }
      // Nothing to make room for until a connection is waiting to be accepted.
      auto [ec] = co_await acceptor_->async_wait(tcp::acceptor::wait_read, kAsTuple);
      if (ec == asio::error::operation_aborted || !acceptor_->is_open()) co_return false;
      {
        std::lock_guard lock(mu_);
        if (stopping_) co_return false;
        if (connections_.size() < max_connections_) continue;
        MakeRoom();
        waiting_for_room_ = true;  // Forget() wakes room_
      }
      // Runs on contexts_[0], as Forget()'s wake-up does: it cannot come between the
      // unlock above and this wait.
      room_->expires_after(std::chrono::milliseconds(100));
      co_await room_->async_wait(kAsTuple);
    }
  }

  // Whether a client's bytes wait on `connection`'s socket (its request has come but not
  // been read yet: the server is slow, not the client). Only on the connection's worker.
  static bool HasBytesWaiting(Connection& connection) {
    beast::error_code ec;
    return connection.stream.available(ec) > 0 || ec;
  }

  // At the cap: has a connection that waits for a request closed (on its own worker, where
  // it lives) to make room for a new one: the oldest that never answered a request (a
  // flood's), else the oldest of all; never one whose request has arrived unread (checked
  // there, as the socket is the worker's). False when there is none. Called with mu_ held.
  bool MakeRoom() {
    std::shared_ptr<Connection> victim;
    for (const bool spare_served : {true, false}) {
      for (auto& [id, connection] : connections_) {  // oldest first
        if (!connection->idle || (spare_served && connection->served) || connection->evicting) continue;
        victim = connection;
        break;
      }
      if (victim) break;
    }
    if (victim && !victim->evicting.exchange(true)) {
      asio::post(victim->stream.get_executor(), [victim] {
        if (!victim->idle || HasBytesWaiting(*victim)) {  // a request began meanwhile: it stays
          victim->evicting = false;
          return;
        }
        victim->closing = true;
        beast::error_code ignored;
        victim->stream.cancel(ignored);
      });
      if (!warned_at_cap_) {
        spdlog::warn(
            "gateway: {} client connections are open, the cap: the oldest waiting for a request make room "
            "for new ones ([gateway] max_connections)",
            max_connections_);
        warned_at_cap_ = true;
      }
      return true;
    }
    if (!warned_all_busy_) {  // once: a flood must not flood the log
      spdlog::warn(
          "gateway: all {} client connections are busy with a request: new ones wait to be accepted "
          "([gateway] max_connections)",
          connections_.size());
      warned_all_busy_ = true;
    }
    return false;
  }

  void Forget(uint64_t id) {
    std::lock_guard lock(mu_);
    connections_.erase(id);
    if (connections_.empty()) drained_.notify_all();
    if (waiting_for_room_ && !stopping_) {  // (once stopping, contexts_[0] may be gone)
      waiting_for_room_ = false;
      asio::post(*contexts_[0], [this] { room_->cancel(); });
    }
  }

  asio::awaitable<void> ServeConnection(std::shared_ptr<Connection> connection, uint64_t id) {
    struct Forgetter {
      Impl* impl;
      uint64_t id;
      ~Forgetter() { impl->Forget(id); }
    } forget{this, id};
    if (beast::error_code open_error = connection->Open()) {
      spdlog::warn("gateway: cannot open an accepted connection: {}", open_error.message());
      co_return;
    }
    watchdogs_[connection->worker]->Add(*connection);
    tcp::socket& stream = connection->stream;
    beast::flat_buffer buffer;
    bool answered = false;  // the connection ends after an answer (not a silent close)

    while (!connection->closing) {
      connection->idle = true;
      // The header must arrive within the idle timeout, the body within the read timeout;
      // a slow client is then answered 408. (Closing the socket at the deadline would
      // leave no way to answer, so the watchdog cancels the read instead.)
      connection->Arm(buffer.size() == 0 ? options_.idle_timeout : options_.read_timeout);
      if (buffer.size() == 0) {
        auto [first_error, first_bytes] = co_await ReadSome(stream, buffer);
        buffer.commit(first_bytes);
        if (first_error) {
          const beast::error_code read_error = connection->Settle(NothingRead(first_error));
          connection->idle = false;
          answered = co_await ReplyToBrokenRequest(connection, read_error, false);
          break;
        }
      }
      std::optional<Request> request;
      std::shared_ptr<const Admission> admission;  // the gate's, for the handler
      bool client_keep_alive = false;              // from the parser's flags: no search of the fields
      std::optional<http::request_parser<http::buffer_body>> streaming;
      std::optional<ClientBody> body;
      ScannedHeader& scanned = ThreadScannedHeader();  // used up before the next co_await
      if (ScanRequest(BufferText(buffer), options_.max_header_bytes, scanned)) {
        // A plain request with no body (header_scan.h), the most common: no Beast parser.
        connection->Settle({});
        connection->idle = false;
        request.emplace(scanned.method, scanned.target, 11);
        InsertFields(scanned, request->base());
        client_keep_alive = scanned.keep_alive;
        buffer.consume(scanned.size);
      } else {
        http::request_parser<http::empty_body> header_parser;
        header_parser.body_limit(options_.max_body_bytes);
        auto [header_error, header_bytes] =
            co_await ReadParsed(stream, buffer, header_parser, ReadUntil::kHeader, options_.max_header_bytes);
        beast::error_code read_error = connection->Settle(header_error);
        connection->idle = false;
        if (read_error) {
          answered = co_await ReplyToBrokenRequest(connection, read_error,
                                                   header_parser.got_some() || buffer.size() > 0);
          break;
        }

        if (gate_ && !header_parser.is_done()) {
          std::optional<Response> refused;
          try {
            Request header(Request::header_type(header_parser.get().base()));
            refused = co_await gate_(header, connection->worker);
            admission = std::move(header.admission);
          } catch (const std::exception& e) {
            spdlog::error("gateway: the request gate threw: {}", e.what());
            refused =
                InternalProblem("the request could not be checked").ToResponse(header_parser.get().version());
          }
          if (refused) {
            co_await WriteRefusal(*connection, std::move(*refused));
            answered = true;
            break;
          }
        }

        // No body, or one of known, modest size, is read whole; anything else streams to the handler.
        boost::optional<uint64_t> length = header_parser.content_length();
        const bool whole = length && *length <= options_.max_buffered_body;
        if (header_parser.is_done()) {
          // No body (most GETs): the header moves into the request, no second parser.
          client_keep_alive = header_parser.keep_alive();
          request.emplace(std::move(header_parser.get().base()));
        } else if (whole) {
          http::request_parser<http::string_body> parser(std::move(header_parser));
          if (ExpectsContinue(parser.get()))
            read_error = co_await SendContinue(*connection, options_.write_timeout);
          if (!read_error) {
            connection->Arm(options_.read_timeout);
            auto [body_error, body_bytes] =
                co_await ReadParsed(stream, buffer, parser, ReadUntil::kMessage, options_.max_header_bytes);
            read_error = connection->Settle(body_error);
          }
          if (read_error) {
            answered = co_await ReplyToBrokenRequest(connection, read_error, true);
            break;
          }
          client_keep_alive = parser.keep_alive();
          request.emplace(parser.release());
        } else {
          streaming.emplace(std::move(header_parser));
          client_keep_alive = streaming->keep_alive();
          request.emplace(Request::header_type(streaming->get().base()));
          body.emplace(connection, buffer, *streaming, options_, ExpectsContinue(*request));
          request->body_stream = &*body;
        }
      }

      if (admission) request->admission = std::move(admission);
      Response res;
      try {
        res = co_await handler_(*request, connection->worker);
      } catch (const std::exception& e) {
        spdlog::error("gateway: the handler for {} threw: {}", std::string(request->method_string()),
                      e.what());
        res = InternalProblem("the request handler failed").ToResponse(request->version());
      }
      const bool keep_alive = client_keep_alive && !connection->closing && (!body || body->finished());
      res.version(request->version());
      // HTTP/1.1 keeps the connection open unless told otherwise: a handler's answer
      // without a Connection field needs none added.
      if (!keep_alive || res.version() < 11 || HasField(res.base(), http::field::connection)) {
        res.keep_alive(keep_alive);
      }
      bool written = false;
      if (res.body_stream && request->method() != http::verb::head) {
        written = co_await WriteStreamed(*connection, res);
      } else {
        // A HEAD answer may carry the Content-Length of the body it does not send.
        const bool head_with_length = request->method() == http::verb::head && res.has_content_length();
        if (!head_with_length) FrameWhole(res);
        // One gather write of the header and the body (none for HEAD); no Beast serializer.
        connection->out.clear();
        AppendHeader(res, connection->out);
        std::string_view payload = request->method() == http::verb::head ? std::string_view() : res.body();
        const MessageBuffers message = WholeMessage(connection->out, payload);
        beast::error_code write_error;
        const size_t sent = SendNow(stream, message, write_error);
        if (!write_error && sent < asio::buffer_size(message)) {
          connection->Arm(options_.write_timeout);
          auto [rest_error, rest_bytes] = co_await asio::async_write(stream, Unsent(message, sent), kAsTuple);
          write_error = connection->Settle(rest_error);
        }
        written = !write_error;
      }
      answered = written;
      if (!written || !keep_alive) break;
      connection->served.store(true, std::memory_order_relaxed);
    }
    co_await Close(*connection, /*linger=*/answered && !connection->closing);
  }

  // Ends the connection. After an answer the client may still be sending (the unread body
  // of a refused or broken request, requests pipelined behind the last one): closing with
  // those bytes unread makes the kernel reset the connection, which can destroy the answer
  // before the client has read it. So, as RFC 9112 §9.6 advises, the write side is shut
  // first, and what still comes is read and dropped until the client closes its side, for
  // at most linger_timeout and kMaxLingerBytes.
  asio::awaitable<void> Close(Connection& connection, bool linger) {
    beast::error_code ignored;
    connection.stream.shutdown(tcp::socket::shutdown_send, ignored);
    if (!linger || options_.linger_timeout.count() <= 0) co_return;
    connection.idle = true;  // nothing left to answer: Stop() and the connection cap may cut it short
    connection.Arm(options_.linger_timeout);
    std::array<char, 4096> sink{};
    for (size_t dropped = 0; dropped < kMaxLingerBytes;) {
      auto [read_error, read] = co_await connection.stream.async_read_some(asio::buffer(sink), kAsTuple);
      if (read_error) break;
      dropped += read;
    }
    connection.Disarm();
  }

  // Sends a gate's refusal; the body was never read, so the connection closes after it.
  asio::awaitable<void> WriteRefusal(Connection& connection, Response res) {
    res.keep_alive(false);
    res.prepare_payload();
    connection.out.clear();
    AppendHeader(res, connection.out);
    connection.Arm(options_.write_timeout);
    auto [write_error, bytes] =
        co_await asio::async_write(connection.stream, WholeMessage(connection.out, res.body()), kAsTuple);
    connection.Settle(write_error);
  }

  // Answers a request that could not be read, when an answer makes sense: true when it did.
  asio::awaitable<bool> ReplyToBrokenRequest(const std::shared_ptr<Connection>& connection,
                                             const beast::error_code& ec, bool got_some) {
    std::optional<Response> reply = ReplyToReadError(ec, options_, got_some);
    if (!reply) co_return false;
    reply->keep_alive(false);
    reply->prepare_payload();
    connection->Arm(options_.write_timeout);
    auto [write_error, bytes] = co_await http::async_write(connection->stream, *reply, kAsTuple);
    co_return !connection->Settle(write_error);  // (the connection closes anyway)
  }

  // Writes the header at once, then body() and the rest piece by piece as the source yields it:
  // with the Content-Length the header declares, else chunked (HTTP/1.1) or up to the
  // close (HTTP/1.0). False when the connection cannot go on (the client went away, the
  // source failed: the body is then cut short, which the client can tell).
  asio::awaitable<bool> WriteStreamed(Connection& connection, Response& res) {
    std::unique_ptr<BodySource> source = std::move(res.body_stream);
    http::response<http::buffer_body> out(std::move(res.base()));
    res.lines.ForEach([&](std::string_view name, std::string_view value) { out.insert(name, value); });
    if (!out.has_content_length()) {
      if (out.version() >= 11) {
        out.chunked(true);
      } else {
        out.keep_alive(false);
      }
    }
    http::response_serializer<http::buffer_body> serializer(out);
    connection.Arm(options_.write_timeout);
    auto [header_error, header_bytes] =
        co_await http::async_write_header(connection.stream, serializer, kAsTuple);
    if (connection.Settle(header_error)) co_return false;
    std::string ahead = std::move(res.body());  // read ahead by the handler: it goes first
    StreamPiece piece;
    for (;;) {
      std::span<char> next(ahead);
      if (ahead.empty()) {
        StatusOr<size_t> read = co_await source->Read(piece.span());
        if (!read.ok()) {
          spdlog::warn("gateway: a streamed response was cut short: {}", read.status().message());
          co_return false;
        }
        next = std::span<char>(piece.data(), *read);
      }
      http::buffer_body::value_type& body = out.body();
      body.data = next.empty() ? nullptr : next.data();
      body.size = next.size();
      body.more = !next.empty();
      connection.Arm(options_.write_timeout);
      auto [write_error, bytes] = co_await http::async_write(connection.stream, serializer, kAsTuple);
      const beast::error_code ec = connection.Settle(write_error);
      ahead.clear();
      if (ec == http::error::need_buffer) continue;
      if (ec) co_return false;
      if (next.empty()) co_return out.keep_alive();
    }
  }

  const HttpServerOptions options_;
  RequestHandler handler_;
  RequestGate gate_;  // may be empty

  // Declared before the io_contexts: destroying them destroys suspended coroutines,
  // whose guards still lock mu_ and edit these.
  std::mutex mu_;
  std::condition_variable drained_;
  bool stopping_ = false;                                        // guarded by mu_
  bool accepting_ = false;                                       // guarded by mu_
  uint64_t next_id_ = 0;                                         // guarded by mu_
  std::map<uint64_t, std::shared_ptr<Connection>> connections_;  // by age; guarded by mu_
  size_t max_connections_ = kMaxConnectionsDefault;              // set by Listen()
  bool warned_at_cap_ = false;                                   // guarded by mu_
  bool warned_all_busy_ = false;                                 // guarded by mu_
  bool waiting_for_room_ = false;  // guarded by mu_: the accept loop waits on room_ for a slot

  std::vector<std::unique_ptr<asio::io_context>> contexts_;
  std::vector<asio::executor_work_guard<asio::io_context::executor_type>> guards_;
  // One per worker; destroyed before the io_contexts, which may still hold connections
  // (a Watchdog lets go of its entries when it goes).
  std::vector<std::unique_ptr<Watchdog>> watchdogs_;
  std::unique_ptr<tcp::acceptor> acceptor_;   // on worker 0
  std::unique_ptr<asio::steady_timer> room_;  // on worker 0: the accept loop's wait for a slot
  uint16_t port_ = 0;
  tcp protocol_ = tcp::v4();  // of the listening address (set by Listen): accepted sockets share it

  std::mutex stop_mu_;  // serializes Stop()
  bool stopped_ = false;
  std::vector<std::thread> threads_;
};

HttpServer::HttpServer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

HttpServer::~HttpServer() { Stop(); }

size_t DefaultMaxConnections() {
  constexpr size_t kReservedFiles = 128;  // the store, the key file, logs, pools' spares
  rlimit limit{};
  if (::getrlimit(RLIMIT_NOFILE, &limit) != 0 || limit.rlim_cur == RLIM_INFINITY)
    return kMaxConnectionsDefault;
  const auto files = static_cast<size_t>(limit.rlim_cur);
  const size_t fit = files > 2 * kReservedFiles ? (files - kReservedFiles) / 2 : files / 4;
  return std::clamp<size_t>(fit, 8, kMaxConnectionsDefault);
}

StatusOr<std::unique_ptr<HttpServer>> HttpServer::Listen(const HttpServerOptions& options,
                                                         const MonotonicClock& steady) {
  auto impl = std::make_unique<Impl>(options, steady);
  LATCHKEY_RETURN_IF_ERROR(impl->Listen());
  return std::unique_ptr<HttpServer>(new HttpServer(std::move(impl)));
}

Status HttpServer::Serve(RequestHandler handler, RequestGate gate) {
  return impl_->Serve(std::move(handler), std::move(gate));
}

uint16_t HttpServer::port() const { return impl_->port(); }
int HttpServer::workers() const { return impl_->workers(); }
boost::asio::any_io_executor HttpServer::executor(int worker) const { return impl_->executor(worker); }

void HttpServer::Stop() {
  if (impl_) impl_->Stop();
}

void WaitForShutdownSignal() {
  asio::io_context ioc(1);
  asio::signal_set signals(ioc, SIGINT, SIGTERM);
  signals.async_wait([](const boost::system::error_code& ec, int signal_number) {
    if (!ec) spdlog::info("received signal {}, shutting down", signal_number);
  });
  ioc.run();
}

}  // namespace latchkey::gateway
