#include "gateway/health_server.h"

#include <algorithm>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <condition_variable>
#include <csignal>
#include <exception>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <thread>
#include <unordered_map>
#include <utility>
#include <vector>

#include "common/log.h"

namespace latchkey::gateway {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using Request = http::request<http::string_body>;
using Response = http::response<http::string_body>;

constexpr uint32_t kHeaderLimit = 8 * 1024;
constexpr uint64_t kBodyLimit = uint64_t{1024} * 1024;
constexpr std::chrono::seconds kReadTimeout{30};
constexpr std::chrono::seconds kWriteTimeout{30};
constexpr size_t kMaxEchoedTarget = 200;
constexpr auto kAsTuple = asio::as_tuple(asio::use_awaitable);

std::string Dump(const nlohmann::json& json) {
  // Request targets may hold invalid UTF-8: replace it rather than throw.
  return json.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

Response JsonResponse(http::status status, unsigned version, std::string_view content_type,
                      const nlohmann::json& body) {
  Response res(status, version);
  res.set(http::field::server, "latchkey");
  res.set(http::field::content_type, content_type);
  res.set(http::field::cache_control, "no-store");
  res.body() = Dump(body);
  return res;
}

// RFC 9457 problem details with the Latchkey-Error header of SPEC §4.
Response Problem(http::status status, unsigned version, std::string_view code, std::string detail) {
  Response res = JsonResponse(status, version, "application/problem+json",
                              {{"type", "about:blank"},
                               {"title", std::string(http::obsolete_reason(status))},
                               {"status", static_cast<int>(status)},
                               {"detail", std::move(detail)}});
  res.set("Latchkey-Error", code);
  return res;
}

Response Readiness(unsigned version, const ReadinessProbe& probe) {
  Status ready;
  try {
    ready = probe ? probe() : Status::Ok();
  } catch (const std::exception& e) {
    ready = InternalError(std::string("the readiness probe threw: ") + e.what());
  }
  if (ready.ok()) return JsonResponse(http::status::ok, version, "application/json", {{"status", "ready"}});
  return JsonResponse(http::status::service_unavailable, version, "application/json",
                      {{"status", "not_ready"}, {"detail", ready.message()}});
}

Response Route(const Request& req, const ReadinessProbe& probe) {
  std::string_view target = req.target();
  std::string_view path = target.substr(0, target.find('?'));
  const unsigned version = req.version();

  if (path == "/healthz" || path == "/readyz") {
    if (req.method() != http::verb::get) {
      Response res = Problem(http::status::method_not_allowed, version, "method_not_allowed",
                             "The request was NOT carried out: " + std::string(path) +
                                 " answers only GET, so send GET " + std::string(path) + " instead.");
      res.set(http::field::allow, "GET");
      return res;
    }
    if (path == "/healthz") {
      return JsonResponse(http::status::ok, version, "application/json", {{"status", "ok"}});
    }
    return Readiness(version, probe);
  }

  std::string shown(target.substr(0, kMaxEchoedTarget));
  if (target.size() > kMaxEchoedTarget) shown += "...";
  return Problem(http::status::not_found, version, "not_found",
                 "The request was NOT carried out: latchkey has no route for " +
                     std::string(req.method_string()) + " " + shown +
                     " (this server answers only GET /healthz and GET /readyz).");
}

// A reply for a request that could not be read, or nothing when the connection should
// just close (peer gone, timeout, shutdown).
std::optional<Response> ReplyToReadError(const beast::error_code& ec) {
  if (ec == http::error::header_limit) {
    return Problem(http::status::request_header_fields_too_large, 11, "bad_request",
                   "The request was NOT carried out: its header section is larger than 8 KiB.");
  }
  if (ec == http::error::body_limit) {
    return Problem(http::status::payload_too_large, 11, "bad_request",
                   "The request was NOT carried out: its body is larger than 1 MiB.");
  }
  if (ec == http::error::end_of_stream || ec == http::error::partial_message) return std::nullopt;
  if (ec.category() == http::make_error_code(http::error::bad_target).category()) {
    return Problem(http::status::bad_request, 11, "bad_request",
                   "The request was NOT carried out: it is not well-formed HTTP/1.1 (" + ec.message() + ").");
  }
  return std::nullopt;
}

void LogIfThrown(std::string_view what, const std::exception_ptr& error) {
  if (!error) return;
  try {
    std::rethrow_exception(error);
  } catch (const std::exception& e) {
    spdlog::error("health server: {} ended with an exception: {}", what, e.what());
  } catch (...) {
    spdlog::error("health server: {} ended with an unknown exception", what);
  }
}

std::string Describe(const tcp::endpoint& endpoint) {
  std::string address = endpoint.address().to_string();
  if (endpoint.address().is_v6()) address = "[" + address + "]";
  return address + ":" + std::to_string(endpoint.port());
}

// One accepted connection. `idle` and `closing` are touched only on the connection's
// strand (by its coroutine and by the notice Stop() posts there).
struct Connection {
  explicit Connection(tcp::socket socket) : stream(std::move(socket)) {}
  beast::tcp_stream stream;
  bool idle = true;      // waiting for the next request, so safe to drop
  bool closing = false;  // finish the current response, then close
};

}  // namespace

class HealthServer::Impl {
 public:
  Impl(ReadinessProbe probe, std::chrono::milliseconds grace)
      : probe_(std::move(probe)), grace_(grace), acceptor_strand_(asio::make_strand(ioc_)) {}

  ~Impl() {
    Stop();
    // The I/O threads are gone. Drop our references so the sockets die with the
    // io_context's pending handlers below, never after the io_context itself.
    std::lock_guard lock(mu_);
    connections_.clear();
  }

  Status Listen(const HealthServerOptions& options) {
    boost::system::error_code ec;
    asio::ip::address address = asio::ip::make_address(options.host, ec);
    if (ec) {
      tcp::resolver resolver(ioc_);
      auto results = resolver.resolve(options.host, "", ec);
      if (ec || results.empty()) {
        return InvalidArgumentError("cannot listen on '" + options.host +
                                    "': it is neither an IP address nor a host name that resolves");
      }
      address = results.begin()->endpoint().address();
    }
    tcp::endpoint endpoint(address, options.port);
    std::string where = Describe(endpoint);

    if (acceptor_.open(endpoint.protocol(), ec)) {
      return UnavailableError("cannot listen on " + where + ": " + ec.message());
    }
    // Lets a restarted server rebind while old connections sit in TIME_WAIT; on Linux it
    // does not let two listeners share a port.
    acceptor_.set_option(asio::socket_base::reuse_address(true), ec);
    if (acceptor_.bind(endpoint, ec)) {
      if (ec == asio::error::address_in_use) {
        return UnavailableError("cannot listen on " + where +
                                ": the port is already in use (is another latchkey serve running?)");
      }
      return UnavailableError("cannot listen on " + where + ": " + ec.message());
    }
    if (acceptor_.listen(asio::socket_base::max_listen_connections, ec)) {
      return UnavailableError("cannot listen on " + where + ": " + ec.message());
    }
    port_ = acceptor_.local_endpoint(ec).port();
    spdlog::info("health server listening on {}", Describe(tcp::endpoint(address, port_)));
    return Status::Ok();
  }

  Status StartThreads(int threads) {
    if (threads <= 0) threads = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
    accepting_ = true;
    asio::co_spawn(acceptor_strand_, AcceptLoop(),
                   [](const std::exception_ptr& e) { LogIfThrown("the accept loop", e); });
    try {
      for (int i = 0; i < threads; ++i) threads_.emplace_back([this] { RunIo(); });
    } catch (const std::system_error& e) {
      Stop();
      return InternalError(std::string("cannot start the health server's I/O threads: ") + e.what());
    }
    return Status::Ok();
  }

  uint16_t port() const { return port_; }

  void Stop() {
    std::lock_guard stop_lock(stop_mu_);
    if (stopped_) return;
    stopped_ = true;
    {
      std::unique_lock lock(mu_);
      stopping_ = true;
      asio::post(acceptor_strand_, [this] {
        boost::system::error_code ignored;
        acceptor_.close(ignored);
      });
      for (auto& [id, connection] : connections_) {
        asio::post(connection->stream.get_executor(), [connection = connection] {
          connection->closing = true;
          if (connection->idle) connection->stream.cancel();
        });
      }
      if (!drained_.wait_for(lock, grace_, [this] { return connections_.empty() && !accepting_; })) {
        spdlog::warn(
            "health server: {} connection(s) still busy after the shutdown grace period; closing them",
            connections_.size());
      }
    }
    ioc_.stop();
    for (std::thread& thread : threads_) {
      if (thread.joinable()) thread.join();
    }
    boost::system::error_code ignored;
    acceptor_.close(ignored);  // in case the posted close never ran
  }

 private:
  void RunIo() {
    for (;;) {
      try {
        ioc_.run();
        return;
      } catch (const std::exception& e) {
        spdlog::error("health server: an I/O handler threw: {}", e.what());
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
    for (;;) {
      auto [ec, socket] = co_await acceptor_.async_accept(asio::make_strand(ioc_), kAsTuple);
      if (ec == asio::error::operation_aborted || !acceptor_.is_open()) co_return;
      if (ec) {
        // Out of file descriptors and the like: back off instead of spinning.
        spdlog::warn("health server: accept failed: {}", ec.message());
        asio::steady_timer pause(acceptor_strand_, std::chrono::milliseconds(100));
        co_await pause.async_wait(kAsTuple);
        continue;
      }
      auto connection = std::make_shared<Connection>(std::move(socket));
      uint64_t id = 0;
      {
        std::lock_guard lock(mu_);
        if (stopping_) co_return;  // the socket closes as `connection` goes
        id = next_id_++;
        connections_.emplace(id, connection);
      }
      asio::co_spawn(connection->stream.get_executor(), Serve(connection, id),
                     [](const std::exception_ptr& e) { LogIfThrown("a connection", e); });
    }
  }

  void Forget(uint64_t id) {
    std::lock_guard lock(mu_);
    connections_.erase(id);
    if (connections_.empty()) drained_.notify_all();
  }

  asio::awaitable<void> Serve(std::shared_ptr<Connection> connection, uint64_t id) {
    struct Forgetter {
      Impl* impl;
      uint64_t id;
      ~Forgetter() { impl->Forget(id); }
    } forget{this, id};
    beast::tcp_stream& stream = connection->stream;
    beast::flat_buffer buffer;

    while (!connection->closing) {
      http::request_parser<http::string_body> parser;
      parser.header_limit(kHeaderLimit);
      parser.body_limit(kBodyLimit);
      connection->idle = true;
      stream.expires_after(kReadTimeout);
      auto [read_error, read_bytes] = co_await http::async_read(stream, buffer, parser, kAsTuple);
      connection->idle = false;
      if (read_error) {
        if (std::optional<Response> reply = ReplyToReadError(read_error)) {
          reply->keep_alive(false);
          reply->prepare_payload();
          stream.expires_after(kWriteTimeout);
          co_await http::async_write(stream, *reply, kAsTuple);
        }
        break;
      }

      Response res = Route(parser.get(), probe_);
      res.keep_alive(parser.get().keep_alive() && !connection->closing);
      res.prepare_payload();
      stream.expires_after(kWriteTimeout);
      auto [write_error, written] = co_await http::async_write(stream, res, kAsTuple);
      if (write_error || !res.keep_alive()) break;
    }
    beast::error_code ignored;
    stream.socket().shutdown(tcp::socket::shutdown_send, ignored);
  }

  const ReadinessProbe probe_;
  const std::chrono::milliseconds grace_;

  // Declared before ioc_: destroying ioc_ destroys suspended coroutines, whose guards
  // still lock mu_ and edit these.
  std::mutex mu_;
  std::condition_variable drained_;
  bool stopping_ = false;                                                  // guarded by mu_
  bool accepting_ = false;                                                 // guarded by mu_
  uint64_t next_id_ = 0;                                                   // guarded by mu_
  std::unordered_map<uint64_t, std::shared_ptr<Connection>> connections_;  // guarded by mu_

  asio::io_context ioc_;
  asio::strand<asio::io_context::executor_type> acceptor_strand_;
  tcp::acceptor acceptor_{ioc_};  // used on acceptor_strand_ once the threads run
  uint16_t port_ = 0;

  std::mutex stop_mu_;  // serializes Stop()
  bool stopped_ = false;
  std::vector<std::thread> threads_;
};

HealthServer::HealthServer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

HealthServer::~HealthServer() { Stop(); }

StatusOr<std::unique_ptr<HealthServer>> HealthServer::Start(const HealthServerOptions& options,
                                                            ReadinessProbe probe) {
  auto impl = std::make_unique<Impl>(std::move(probe), options.shutdown_grace);
  LATCHKEY_RETURN_IF_ERROR(impl->Listen(options));
  LATCHKEY_RETURN_IF_ERROR(impl->StartThreads(options.threads));
  return std::unique_ptr<HealthServer>(new HealthServer(std::move(impl)));
}

uint16_t HealthServer::port() const { return impl_->port(); }

void HealthServer::Stop() {
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
