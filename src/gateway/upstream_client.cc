#include "gateway/upstream_client.h"

#include <openssl/ssl.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/ssl.hpp>
#include <optional>

namespace latchkey::gateway {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using Clock = std::chrono::steady_clock;

namespace {
constexpr auto kAsTuple = asio::as_tuple(asio::use_awaitable);

std::string PoolKey(const BaseUrl& base) {
  return (base.tls ? "https://" : "http://") + base.host + ":" + base.port;
}

bool TimedOut(const beast::error_code& ec) { return ec == beast::error::timeout; }
}  // namespace

struct UpstreamClient::Connection {
  std::unique_ptr<beast::tcp_stream> plain;
  std::unique_ptr<beast::ssl_stream<beast::tcp_stream>> secure;
  beast::flat_buffer buffer;
  Clock::time_point idle_since;

  beast::tcp_stream& lowest() { return secure ? beast::get_lowest_layer(*secure) : *plain; }
};

UpstreamClient::UpstreamClient(asio::any_io_executor executor, std::shared_ptr<asio::ssl::context> tls,
                               UpstreamOptions options)
    : executor_(std::move(executor)), tls_(std::move(tls)), options_(options) {}

UpstreamClient::~UpstreamClient() = default;

size_t UpstreamClient::idle_connections() const {
  size_t n = 0;
  for (const auto& [key, list] : idle_) n += list.size();
  return n;
}

void UpstreamClient::CloseIdle() { idle_.clear(); }

namespace {

struct Attempt {
  beast::error_code ec;
  std::string stage;  // "connect", "TLS handshake", "send", "receive"
  bool sent = false;
  bool any_response_bytes = false;
  bool too_large = false;
};

template <typename Stream>
asio::awaitable<Attempt> Exchange(Stream& stream, beast::tcp_stream& lowest, beast::flat_buffer& buffer,
                                  UpstreamRequest& request, http::response_parser<http::string_body>& parser,
                                  Clock::time_point deadline) {
  Attempt attempt;
  lowest.expires_at(deadline);
  attempt.sent = true;
  auto [write_ec, written] = co_await http::async_write(stream, request, kAsTuple);
  if (write_ec) {
    attempt.ec = write_ec;
    attempt.stage = "send";
    attempt.sent = written > 0;
    co_return attempt;
  }
  lowest.expires_at(deadline);
  size_t before = buffer.size();
  auto [read_ec, read] = co_await http::async_read(stream, buffer, parser, kAsTuple);
  attempt.any_response_bytes = read > 0 || buffer.size() != before || parser.got_some();
  if (read_ec) {
    attempt.ec = read_ec;
    attempt.stage = "receive";
    attempt.too_large = read_ec == http::error::body_limit || read_ec == http::error::header_limit;
  }
  co_return attempt;
}

}  // namespace

asio::awaitable<UpstreamResult> UpstreamClient::Send(const BaseUrl& base, UpstreamRequest& request,
                                                     Clock::time_point deadline) {
  UpstreamResult result;
  request.set(http::field::host, base.HostHeader());
  request.keep_alive(true);
  request.prepare_payload();
  const std::string key = PoolKey(base);

  for (int round = 0; round < 2; ++round) {
    std::unique_ptr<Connection> connection;
    bool reused = false;
    auto& idle = idle_[key];
    while (!idle.empty() && !connection) {
      std::unique_ptr<Connection> candidate = std::move(idle.back());
      idle.pop_back();
      if (Clock::now() - candidate->idle_since < options_.idle_timeout) {
        connection = std::move(candidate);
        reused = true;
      }
    }
    if (!connection) {
      connection = std::make_unique<Connection>();
      tcp::resolver resolver(executor_);
      auto [resolve_ec, endpoints] = co_await resolver.async_resolve(base.host, base.port, kAsTuple);
      if (resolve_ec) {
        result.outcome = UpstreamResult::Outcome::kConnectFailed;
        result.error = "cannot resolve " + base.host + ": " + resolve_ec.message();
        co_return result;
      }
      if (base.tls) {
        connection->secure = std::make_unique<beast::ssl_stream<beast::tcp_stream>>(executor_, *tls_);
      } else {
        connection->plain = std::make_unique<beast::tcp_stream>(executor_);
      }
      beast::tcp_stream& lowest = connection->lowest();
      lowest.expires_at(deadline);
      auto [connect_ec, endpoint] = co_await lowest.async_connect(endpoints, kAsTuple);
      if (connect_ec) {
        result.outcome = TimedOut(connect_ec) ? UpstreamResult::Outcome::kTimeout
                                              : UpstreamResult::Outcome::kConnectFailed;
        result.error = "cannot connect to " + base.HostHeader() + ": " + connect_ec.message();
        co_return result;
      }
      lowest.socket().set_option(tcp::no_delay(true));
      if (connection->secure) {
        auto& stream = *connection->secure;
        // SNI; SSL_set_tlsext_host_name is this call behind a C cast.
        if (SSL_ctrl(stream.native_handle(), SSL_CTRL_SET_TLSEXT_HOSTNAME, TLSEXT_NAMETYPE_host_name,
                     const_cast<char*>(base.host.c_str())) != 1) {
          result.error = "cannot set the TLS server name for " + base.host;
          co_return result;
        }
        stream.set_verify_mode(asio::ssl::verify_peer);
        stream.set_verify_callback(asio::ssl::host_name_verification(base.host));
        auto [handshake_ec] = co_await stream.async_handshake(asio::ssl::stream_base::client, kAsTuple);
        if (handshake_ec) {
          result.outcome = TimedOut(handshake_ec) ? UpstreamResult::Outcome::kTimeout
                                                  : UpstreamResult::Outcome::kConnectFailed;
          result.error = "TLS handshake with " + base.HostHeader() + " failed: " + handshake_ec.message();
          co_return result;
        }
      }
    }

    http::response_parser<http::string_body> parser;
    parser.header_limit(options_.max_response_header);
    parser.body_limit(options_.max_response_body);
    if (request.method() == http::verb::head) parser.skip(true);
    Attempt attempt;
    if (connection->secure) {
      attempt = co_await Exchange(*connection->secure, connection->lowest(), connection->buffer, request,
                                  parser, deadline);
    } else {
      attempt = co_await Exchange(*connection->plain, connection->lowest(), connection->buffer, request,
                                  parser, deadline);
    }
    if (!attempt.ec) {
      result.outcome = UpstreamResult::Outcome::kOk;
      result.sent = true;
      result.response = parser.release();
      if (result.response.keep_alive()) {
        auto& list = idle_[key];
        if (list.size() < options_.max_idle_per_host) {
          connection->idle_since = Clock::now();
          list.push_back(std::move(connection));
        }
      }
      co_return result;
    }
    // The upstream closed an idle keep-alive connection just as we reused it: nothing was
    // processed, so sending again on a fresh connection is safe for every method.
    if (reused && !attempt.any_response_bytes && !TimedOut(attempt.ec) && round == 0) continue;
    result.sent = attempt.sent;
    if (TimedOut(attempt.ec)) {
      result.outcome = UpstreamResult::Outcome::kTimeout;
    } else if (attempt.too_large) {
      result.outcome = UpstreamResult::Outcome::kTooLarge;
    } else {
      result.outcome = UpstreamResult::Outcome::kFailed;
    }
    result.error = attempt.stage + " failed: " + attempt.ec.message();
    co_return result;
  }
  co_return result;
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
