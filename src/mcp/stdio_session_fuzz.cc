// Fuzzes a whole MCP session over the stdio transport, as a hostile MCP client drives it:
// the input is what the client writes (any lines: initialize, then any requests,
// notifications, responses, garbage), fed through a file descriptor exactly as a process's
// standard input. Properties: every line latchkey writes is one JSON-RPC 2.0 message; it
// answers only ids the client sent (or null), at most once per id it sent, and never
// writes more answers than the client wrote lines.
#include <sys/mman.h>
#include <unistd.h>

#include <boost/asio/thread_pool.hpp>
#include <cstddef>
#include <cstdint>
#include <map>
#include <set>
#include <string>

#include "mcp/json_rpc.h"
#include "mcp/session.h"
#include "mcp/stdio_transport.h"
#include "support/fuzz_check.h"
#include "support/fuzz_input.h"

namespace {

using namespace latchkey;
using mcp::json;
namespace asio = boost::asio;

std::shared_ptr<const mcp::Server> MakeServer() {
  auto server = std::make_shared<mcp::Server>(
      mcp::ServerInfo{.name = "fuzz", .version = "1", .title = "", .description = "", .instructions = ""});
  server->AddTool({.definition = {{"name", "echo"},
                                  {"inputSchema", {{"type", "object"}, {"properties", json::object()}}}},
                   .call = [](mcp::RequestContext&, const json& arguments) -> asio::awaitable<mcp::Reply> {
                     co_return mcp::Reply::Ok(mcp::ToolResult(mcp::TextContent(arguments.dump())));
                   }});
  server->AddResource({.definition = {{"uri", "latchkey://connections"}, {"name", "connections"}},
                       .read = [](mcp::RequestContext&, const json&) -> asio::awaitable<mcp::Reply> {
                         co_return mcp::Reply::Ok({{"contents", json::array()}});
                       }});
  return server;
}

int MemoryFile(std::string_view contents) {
  int fd = ::memfd_create("fuzz", 0);
  FUZZ_CHECK(fd >= 0);
  FUZZ_CHECK(::write(fd, contents.data(), contents.size()) == static_cast<ssize_t>(contents.size()));
  FUZZ_CHECK(::lseek(fd, 0, SEEK_SET) == 0);
  return fd;
}

std::string ReadAll(int fd) {
  FUZZ_CHECK(::lseek(fd, 0, SEEK_SET) == 0);
  std::string out;
  char buffer[4096];
  for (ssize_t n; (n = ::read(fd, buffer, sizeof buffer)) > 0;) out.append(buffer, static_cast<size_t>(n));
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const auto server = MakeServer();
  static asio::thread_pool pool(2);
  const std::string_view input = fuzz::AsText(data, size);

  // What the client sent: its lines, and the ids of its requests.
  size_t lines = 0;
  std::map<std::string, int> sent_ids;
  for (size_t start = 0; start < input.size();) {
    size_t end = input.find('\n', start);
    if (end == std::string_view::npos) end = input.size();
    ++lines;
    auto message = mcp::Parse(input.substr(start, end - start));
    if (auto* m = std::get_if<mcp::RpcMessage>(&message); m && m->is_request()) ++sent_ids[mcp::IdKey(m->id)];
    // A refused line is answered too, with the id it carried when it had a usable one.
    if (auto* r = std::get_if<mcp::RpcRefusal>(&message); r && !r->response["id"].is_null())
      ++sent_ids[mcp::IdKey(r->response["id"])];
    start = end + 1;
  }

  const int in = MemoryFile(input);
  const int out = MemoryFile("");
  mcp::StdioTransport transport(
      server, "fuzz-agent", {.max_message_bytes = 4096, .drain_timeout = std::chrono::milliseconds(2000)});
  Status status = transport.Run(pool.get_executor(), in, out);
  const std::string written = ReadAll(out);
  ::close(in);
  ::close(out);
  FUZZ_CHECK(status.ok());

  size_t answers = 0;
  std::map<std::string, int> answered;
  for (size_t start = 0; start < written.size();) {
    size_t end = written.find('\n', start);
    FUZZ_CHECK(end != std::string::npos);  // every message ends with a newline
    const json message = json::parse(written.substr(start, end - start));
    FUZZ_CHECK(message.is_object() && message.value("jsonrpc", "") == "2.0");
    if (message.contains("id") && (message.contains("result") || message.contains("error"))) {
      ++answers;
      if (!message["id"].is_null()) {
        const std::string id = mcp::IdKey(message["id"]);
        FUZZ_CHECK(sent_ids.contains(id));
        FUZZ_CHECK(++answered[id] <= sent_ids[id]);
      }
    }
    start = end + 1;
  }
  FUZZ_CHECK(answers <= lines);
  return 0;
}
