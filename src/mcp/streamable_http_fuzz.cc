// Fuzzes MCP's Streamable HTTP endpoint as a hostile client (or a web page, through a
// browser) drives it: a sequence of HTTP calls, each its method, header fields and body,
// checked for Host, Origin, Accept, Content-Type, MCP-Protocol-Version and the session id.
// Input: calls separated by a line "---"; in each, the first line is the method, then
// "name: value" fields, an empty line and the body (tests/support/fuzz_input.h). The text
// {session} in a field stands for the id of the last session the endpoint opened.
// Properties: every answer has a known status, header fields without CR, LF or NUL, and a
// JSON body that parses; an event stream answering a POST ends; a session id, when
// given, is printable ASCII (MCP spec: visible characters).
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <cstddef>
#include <cstdint>
#include <string>

#include "common/random.h"
#include "mcp/session.h"
#include "mcp/streamable_http.h"
#include "support/fuzz_check.h"
#include "support/fuzz_input.h"

namespace {

using namespace latchkey;
using mcp::json;
namespace asio = boost::asio;

std::shared_ptr<const mcp::Server> MakeServer() {
  auto server = std::make_shared<mcp::Server>(
      mcp::ServerInfo{.name = "fuzz", .version = "1", .title = "", .description = "", .instructions = ""});
  server->AddTool({.definition = {{"name", "echo"}, {"inputSchema", {{"type", "object"}}}},
                   .call = [](mcp::RequestContext&, const json& arguments) -> asio::awaitable<mcp::Reply> {
                     co_return mcp::Reply::Ok(mcp::ToolResult(mcp::TextContent(arguments.dump())));
                   }});
  return server;
}

std::string Replace(std::string text, std::string_view what, const std::string& with) {
  for (size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + with.size()))
    text.replace(at, what.size(), with);
  return text;
}

void CheckField(std::string_view text) {
  for (char c : text) FUZZ_CHECK(c != '\r' && c != '\n' && c != '\0');
}

asio::awaitable<void> Drive(mcp::StreamableHttp& endpoint, std::string_view input) {
  std::string session;
  for (size_t start = 0; start <= input.size();) {
    size_t end = input.find("\n---\n", start);
    if (end == std::string_view::npos) end = input.size();
    const fuzz::Message message = fuzz::SplitMessage(input.substr(start, end - start));
    start = end + 5;

    mcp::HttpCall call;
    call.method = std::string(message.first_line);
    auto headers = message.headers;
    for (auto& [name, value] : headers) value = Replace(value, "{session}", session);
    call.header = [headers](std::string_view name) {
      std::string lower(name);
      for (char& c : lower) c = (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
      for (const auto& [n, v] : headers) {
        if (n == lower) return v;
      }
      return std::string();
    };
    call.body = std::string(message.body);
    call.principal = "fuzz-agent";
    const bool post = call.method == "POST";
    mcp::HttpAnswer answer = co_await endpoint.Handle(std::move(call));

    FUZZ_CHECK(answer.status >= 200 && answer.status < 600);
    for (const auto& [name, value] : answer.headers) {
      CheckField(name);
      CheckField(value);
      if (name == "Mcp-Session-Id") {
        for (char c : value) FUZZ_CHECK(c >= 0x21 && c <= 0x7e);
        session = value;
      }
    }
    if (!answer.body.empty()) FUZZ_CHECK(json::accept(answer.body));
    if (answer.events && post) {
      for (int i = 0; i < 1000; ++i) {
        if (!(co_await answer.events->Next())) break;
        FUZZ_CHECK(i < 999);  // a POST's stream ends once its requests are answered
      }
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const auto server = MakeServer();
  asio::io_context io;
  mcp::StreamableHttp endpoint(server, SystemRandom::Instance(), SteadyClock::Instance(), {});
  bool done = false;
  asio::co_spawn(
      io,
      [&]() -> asio::awaitable<void> {
        co_await Drive(endpoint, fuzz::AsText(data, size));
        done = true;
        endpoint.CloseAll();
      },
      asio::detached);
  io.run_for(std::chrono::seconds(20));
  FUZZ_CHECK(done);
  return 0;
}
