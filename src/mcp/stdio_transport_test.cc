#include "mcp/stdio_transport.h"

#include <gtest/gtest.h>
#include <poll.h>
#include <unistd.h>

#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <thread>

namespace latchkey::mcp {
namespace {

namespace asio = boost::asio;

// The transport on a pair of pipes, as a client process would see it.
class StdioTransportTest : public ::testing::Test {
 protected:
  StdioTransportTest() {
    auto server = std::make_shared<Server>(
        ServerInfo{.name = "t", .version = "1", .title = "", .description = "", .instructions = ""});
    server->AddTool({.definition = {{"name", "slow"}, {"inputSchema", {{"type", "object"}}}},
                     .call = [](RequestContext&, const json&) -> asio::awaitable<Reply> {
                       asio::steady_timer timer(co_await asio::this_coro::executor,
                                                std::chrono::milliseconds(300));
                       co_await timer.async_wait(asio::use_awaitable);
                       co_return Reply::Ok(ToolResult(TextContent("slept")));
                     }});
    server_ = server;
    EXPECT_EQ(::pipe(in_), 0);
    EXPECT_EQ(::pipe(out_), 0);
  }

  ~StdioTransportTest() override {
    CloseInput();
    if (runner_.joinable()) runner_.join();
    ::close(out_[0]);
    pool_.join();
  }

  void Start(StdioOptions options = {}) {
    runner_ = std::thread([this, options] {
      StdioTransport transport(server_, "local", options);
      finished_ = transport.Run(pool_.get_executor(), in_[0], out_[1]).ok();
      ::close(in_[0]);
      ::close(out_[1]);
    });
  }

  void Write(std::string_view data) const {
    while (!data.empty()) {
      ssize_t n = ::write(in_[1], data.data(), data.size());
      ASSERT_GT(n, 0);
      data.remove_prefix(static_cast<size_t>(n));
    }
  }
  void WriteLine(const json& message) const { Write(message.dump() + "\n"); }

  void CloseInput() {
    if (in_[1] >= 0) ::close(in_[1]);
    in_[1] = -1;
  }

  // The next line the server wrote, or null when none came within 10 s (or output ended).
  json ReadLine() {
    for (;;) {
      if (size_t newline = pending_.find('\n'); newline != std::string::npos) {
        std::string line = pending_.substr(0, newline);
        pending_.erase(0, newline + 1);
        return json::parse(line);
      }
      pollfd ready{.fd = out_[0], .events = POLLIN, .revents = 0};
      if (::poll(&ready, 1, 10000) <= 0) return nullptr;
      char buffer[4096];
      ssize_t n = ::read(out_[0], buffer, sizeof buffer);
      if (n <= 0) return nullptr;
      pending_.append(buffer, static_cast<size_t>(n));
    }
  }

  void Initialize() {
    WriteLine(
        MakeRequest(0, "initialize", {{"protocolVersion", "2025-11-25"}, {"capabilities", json::object()}}));
    ASSERT_EQ(ReadLine()["result"]["protocolVersion"], "2025-11-25");
    WriteLine(MakeNotification("notifications/initialized", nullptr));
  }

  std::shared_ptr<const Server> server_;
  asio::thread_pool pool_{2};
  int in_[2] = {-1, -1};
  int out_[2] = {-1, -1};
  std::string pending_;
  std::thread runner_;
  bool finished_ = false;
};

TEST_F(StdioTransportTest, BadLinesEarnErrorsAndTheSessionGoesOn) {
  Start();
  Initialize();
  Write("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\n");
  json parse_error = ReadLine();
  EXPECT_EQ(parse_error["error"]["code"], rpc_code::kParseError);
  EXPECT_TRUE(parse_error["id"].is_null());
  Write("\n   \n");  // blank lines are not messages
  WriteLine({{"jsonrpc", "2.0"}, {"id", 2}, {"method", "tools/call"}, {"params", "slow"}});
  EXPECT_EQ(ReadLine()["error"]["code"], rpc_code::kInvalidParams);
  WriteLine(MakeRequest(3, "no/such", nullptr));
  EXPECT_EQ(ReadLine()["error"]["code"], rpc_code::kMethodNotFound);
  WriteLine(MakeRequest(4, "ping", nullptr));
  EXPECT_EQ(ReadLine(), MakeResult(4, json::object()));
}

TEST_F(StdioTransportTest, AMessagePastTheLimitIsRefusedWithoutBeingHeld) {
  Start({.max_message_bytes = size_t{1} << 20, .drain_timeout = std::chrono::seconds(10)});
  Initialize();
  // 50 MB on one line, written from another thread (the pipe holds 64 KiB).
  std::thread writer([this] {
    std::string huge = R"({"jsonrpc":"2.0","id":9,"method":"ping","params":{"pad":")";
    huge.append(size_t{50} * 1000 * 1000, 'x');
    huge += "\"}}\n";
    Write(huge);
    WriteLine(MakeRequest(10, "ping", nullptr));
  });
  json refused = ReadLine();
  writer.join();
  EXPECT_EQ(refused["error"]["code"], rpc_code::kInvalidRequest);
  EXPECT_TRUE(refused["id"].is_null());
  EXPECT_EQ(ReadLine(), MakeResult(10, json::object()));
}

TEST_F(StdioTransportTest, RequestsRunConcurrentlyAndEndOfInputWaitsForThem) {
  Start();
  Initialize();
  WriteLine(MakeRequest("slow-1", "tools/call", {{"name", "slow"}}));
  WriteLine(MakeRequest("quick", "ping", nullptr));
  EXPECT_EQ(ReadLine(), MakeResult("quick", json::object()));  // not held up by the slow call
  CloseInput();                                                // mid-request
  json slow = ReadLine();
  EXPECT_EQ(slow["id"], "slow-1");
  EXPECT_EQ(slow["result"]["content"][0]["text"], "slept");
  EXPECT_TRUE(ReadLine().is_null());  // then the output ends: the transport returned
  runner_.join();
  EXPECT_TRUE(finished_);
}

TEST_F(StdioTransportTest, ALastMessageWithoutNewlineIsStillServed) {
  Start();
  Initialize();
  Write(MakeRequest(5, "ping", nullptr).dump());
  CloseInput();
  EXPECT_EQ(ReadLine(), MakeResult(5, json::object()));
}

}  // namespace
}  // namespace latchkey::mcp
