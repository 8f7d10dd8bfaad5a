#include "gateway/mcp_endpoint.h"

#include <algorithm>
#include <cstring>

namespace latchkey::gateway {

namespace asio = boost::asio;
namespace http = boost::beast::http;

namespace {

// An SSE answer's body as the HTTP server reads it.
class EventBody final : public BodySource {
 public:
  explicit EventBody(std::unique_ptr<mcp::EventSource> events) : events_(std::move(events)) {}

  asio::awaitable<StatusOr<size_t>> Read(std::span<char> into) override {
    while (offset_ == pending_.size()) {
      std::optional<std::string> next = co_await events_->Next();
      if (!next) co_return size_t{0};
      pending_ = std::move(*next);
      offset_ = 0;
    }
    const size_t n = std::min(into.size(), pending_.size() - offset_);
    std::memcpy(into.data(), pending_.data() + offset_, n);
    offset_ += n;
    co_return n;
  }

  std::optional<uint64_t> remaining_length() const override { return std::nullopt; }

 private:
  std::unique_ptr<mcp::EventSource> events_;
  std::string pending_;
  size_t offset_ = 0;
};

}  // namespace

asio::awaitable<Response> ServeMcp(mcp::StreamableHttp& transport, const Request& request,
                                   std::string principal, std::any caller) {
  Response response;
  response.version(request.version());
  response.keep_alive(request.keep_alive());
  if (request.body_stream != nullptr) {  // past the buffered-body limit: no MCP message is that large
    response.result(http::status::payload_too_large);
    response.set(http::field::content_type, "application/json");
    response.body() = mcp::MakeError(nullptr, {.code = mcp::rpc_code::kInvalidRequest,
                                               .message = "Invalid Request: the message is too large",
                                               .data = nullptr})
                          .dump();
    response.keep_alive(false);  // the rest of the body is not read
    response.prepare_payload();
    co_return response;
  }
  mcp::HttpCall call{.method = std::string(request.method_string()),
                     .header = [&request](std::string_view name) { return std::string(request[name]); },
                     .body = request.body(),
                     .principal = std::move(principal),
                     .caller = std::move(caller)};
  mcp::HttpAnswer answer = co_await transport.Handle(std::move(call));
  response.result(static_cast<unsigned>(answer.status));
  for (auto& [name, value] : answer.headers) response.set(name, value);
  if (answer.events) {
    response.body_stream = std::make_unique<EventBody>(std::move(answer.events));
  } else {
    response.body() = std::move(answer.body);
    response.prepare_payload();
  }
  co_return response;
}

}  // namespace latchkey::gateway
