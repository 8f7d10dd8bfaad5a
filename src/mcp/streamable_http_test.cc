#include "mcp/streamable_http.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_future.hpp>
#include <map>

#include "mcp/session.h"

namespace latchkey::mcp {
namespace {

namespace asio = boost::asio;
using ::testing::HasSubstr;

class FixedRandom final : public Random {
 public:
  void Fill(std::span<std::uint8_t> out) override {
    for (auto& byte : out) byte = static_cast<std::uint8_t>(++counter_);
  }
  std::uint64_t Uniform(std::uint64_t upper_bound) override { return ++counter_ % upper_bound; }

 private:
  std::uint64_t counter_ = 0;
};

class StreamableHttpTest : public ::testing::Test {
 protected:
  StreamableHttpTest() {
    server_->AddTool({.definition = {{"name", "chatty"}, {"inputSchema", {{"type", "object"}}}},
                      .call = [](RequestContext& context, const json&) -> asio::awaitable<Reply> {
                        context.Log(LogLevel::kWarning, "", "one");
                        context.Log(LogLevel::kWarning, "", "two");
                        co_return Reply::Ok(ToolResult(TextContent("done")));
                      }});
    server_->AddTool({.definition = {{"name", "hangs_up"}, {"inputSchema", {{"type", "object"}}}},
                      .call = [](RequestContext& context, const json&) -> asio::awaitable<Reply> {
                        context.Log(LogLevel::kWarning, "", "before");
                        context.EndConnection();
                        asio::steady_timer timer(co_await asio::this_coro::executor,
                                                 std::chrono::milliseconds(20));
                        co_await timer.async_wait(asio::use_awaitable);
                        co_return Reply::Ok(ToolResult(TextContent("after")));
                      }});
  }

  HttpAnswer Send(std::string method, std::string body, std::map<std::string, std::string> headers = {},
                  std::string principal = "agent-a") {
    headers.try_emplace("Content-Type", "application/json");
    headers.try_emplace("Accept", "application/json, text/event-stream");
    HttpCall call{.method = std::move(method),
                  .header =
                      [headers](std::string_view name) {
                        auto found = headers.find(std::string(name));
                        return found == headers.end() ? std::string() : found->second;
                      },
                  .body = std::move(body),
                  .principal = std::move(principal),
                  .caller = {}};
    auto future = asio::co_spawn(io_, transport_->Handle(std::move(call)), asio::use_future);
    io_.restart();
    while (future.wait_for(std::chrono::seconds(0)) != std::future_status::ready) io_.run_one();
    return future.get();
  }

  // Everything an event stream yields until it ends (or `max` pieces).
  std::string Drain(EventSource& events, int max = 100) {
    std::string all;
    for (int i = 0; i < max; ++i) {
      auto future = asio::co_spawn(io_, events.Next(), asio::use_future);
      io_.restart();
      while (future.wait_for(std::chrono::seconds(0)) != std::future_status::ready) io_.run_one();
      std::optional<std::string> piece = future.get();
      if (!piece) break;
      all += *piece;
    }
    return all;
  }

  static std::string Header(const HttpAnswer& answer, std::string_view name) {
    for (const auto& [key, value] : answer.headers) {
      if (key == name) return value;
    }
    return {};
  }

  std::string Open(const std::string& version = "2025-11-25") {
    HttpAnswer answer =
        Send("POST", R"({"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":")" +
                         version + R"("}})");
    EXPECT_EQ(answer.status, 200);
    EXPECT_EQ(json::parse(answer.body)["result"]["protocolVersion"], version);
    return Header(answer, "Mcp-Session-Id");
  }

  asio::io_context io_;
  std::shared_ptr<Server> server_ = std::make_shared<Server>(
      ServerInfo{.name = "t", .version = "1", .title = "", .description = "", .instructions = ""});
  FixedRandom random_;
  SimulatedSteadyClock steady_;
  std::unique_ptr<StreamableHttp> transport_ = std::make_unique<StreamableHttp>(
      server_, random_, steady_,
      StreamableHttpOptions{.max_sessions = 2, .retry = std::chrono::milliseconds(250)});
};

TEST_F(StreamableHttpTest, AQuickAnswerIsJsonAndAnythingBeforeItMakesAStream) {
  const std::string session = Open();
  ASSERT_FALSE(session.empty());
  HttpAnswer ping =
      Send("POST", R"({"jsonrpc":"2.0","id":1,"method":"ping"})", {{"Mcp-Session-Id", session}});
  EXPECT_EQ(ping.status, 200);
  EXPECT_EQ(Header(ping, "Content-Type"), "application/json");
  EXPECT_EQ(json::parse(ping.body), MakeResult(1, json::object()));

  HttpAnswer chatty =
      Send("POST", R"({"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"chatty"}})",
           {{"Mcp-Session-Id", session}});
  EXPECT_EQ(chatty.status, 200);
  EXPECT_EQ(Header(chatty, "Content-Type"), "text/event-stream");
  ASSERT_TRUE(chatty.events);
  const std::string stream = Drain(*chatty.events);
  // The priming event (an id, a retry, empty data), then the two logs and the response, in order.
  EXPECT_EQ(stream.find("id: 3_0\nretry: 250\ndata: \n\n"), 0U)
      << stream;  // stream 3: after initialize, ping
  const size_t one = stream.find("\"one\"");
  const size_t two = stream.find("\"two\"");
  const size_t done = stream.find("\"done\"");
  EXPECT_TRUE(one < two && two < done && done != std::string::npos) << stream;
  EXPECT_NE(stream.find("id: 3_3\ndata: {"), std::string::npos) << stream;

  HttpAnswer note = Send("POST", R"({"jsonrpc":"2.0","method":"notifications/initialized"})",
                         {{"Mcp-Session-Id", session}});
  EXPECT_EQ(note.status, 202);
  EXPECT_TRUE(note.body.empty());
}

TEST_F(StreamableHttpTest, AStreamTheServerEndedIsResumedFromTheLastEventId) {
  const std::string session = Open();
  HttpAnswer call =
      Send("POST", R"({"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":"hangs_up"}})",
           {{"Mcp-Session-Id", session}});
  ASSERT_TRUE(call.events);
  const std::string first = Drain(*call.events);  // ends at once: the server let go of the connection
  EXPECT_EQ(first, "id: 2_0\nretry: 250\ndata: \n\n");
  call.events.reset();

  HttpAnswer resumed = Send(
      "GET", "", {{"Mcp-Session-Id", session}, {"Last-Event-ID", "2_0"}, {"Accept", "text/event-stream"}});
  EXPECT_EQ(resumed.status, 200);
  ASSERT_TRUE(resumed.events);
  const std::string rest = Drain(*resumed.events);
  EXPECT_NE(rest.find("id: 2_1\ndata: {"), std::string::npos) << rest;
  EXPECT_NE(rest.find("\"before\""), std::string::npos) << rest;
  EXPECT_NE(rest.find("\"after\""), std::string::npos) << rest;
  resumed.events.reset();

  // Again from the middle: only what came after.
  HttpAnswer again = Send(
      "GET", "", {{"Mcp-Session-Id", session}, {"Last-Event-ID", "2_1"}, {"Accept", "text/event-stream"}});
  ASSERT_TRUE(again.events);
  const std::string tail = Drain(*again.events);
  EXPECT_EQ(tail.find("\"before\""), std::string::npos) << tail;
  EXPECT_NE(tail.find("\"after\""), std::string::npos) << tail;
  EXPECT_EQ(Send("GET", "",
                 {{"Mcp-Session-Id", session}, {"Last-Event-ID", "99_1"}, {"Accept", "text/event-stream"}})
                .status,
            404);
}

TEST_F(StreamableHttpTest, OneStandaloneStreamPerSessionAndCloseAllEndsIt) {
  const std::string session = Open();
  HttpAnswer stream = Send("GET", "", {{"Mcp-Session-Id", session}, {"Accept", "text/event-stream"}});
  ASSERT_TRUE(stream.events);
  EXPECT_EQ(Send("GET", "", {{"Mcp-Session-Id", session}, {"Accept", "text/event-stream"}}).status, 409);
  EXPECT_EQ(Send("GET", "", {{"Mcp-Session-Id", session}, {"Accept", "application/json"}}).status, 406);
  transport_->CloseAll();
  EXPECT_EQ(Drain(*stream.events), "id: 0_0\nretry: 250\ndata: \n\n");  // the priming event, then the end
  EXPECT_EQ(transport_->session_count(), 0U);
}

// A session nobody used for idle_session_timeout is ended (checked at most once a minute,
// when a request comes); one in use stays, however old.
TEST_F(StreamableHttpTest, ASessionLeftIdlePastTheTimeoutIsEnded) {
  transport_->CloseAll();
  transport_ = std::make_unique<StreamableHttp>(
      server_, random_, steady_,
      StreamableHttpOptions{.max_sessions = 10, .idle_session_timeout = std::chrono::minutes(10)});
  const std::string idle = Open();
  const std::string busy = Open();
  ASSERT_FALSE(idle.empty());
  ASSERT_FALSE(busy.empty());
  const std::string ping = R"({"jsonrpc":"2.0","id":1,"method":"ping"})";
  for (int minute = 0; minute < 12; ++minute) {
    steady_.Advance(std::chrono::minutes(1));
    ASSERT_EQ(Send("POST", ping, {{"Mcp-Session-Id", busy}}).status, 200) << "minute " << minute;
  }
  EXPECT_EQ(Send("POST", ping, {{"Mcp-Session-Id", idle}}).status, 404) << "idle for 12 minutes";
  EXPECT_EQ(Send("POST", ping, {{"Mcp-Session-Id", busy}}).status, 200);
  EXPECT_EQ(transport_->session_count(), 1U);
}

// One agent cannot take every session from the others: past its own cap it gets 429, and
// another agent still opens one.
TEST_F(StreamableHttpTest, OneAgentCannotHoldEverySession) {
  transport_->CloseAll();
  transport_ = std::make_unique<StreamableHttp>(
      server_, random_, steady_, StreamableHttpOptions{.max_sessions = 10, .max_sessions_per_principal = 2});
  const std::string initialize =
      R"({"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":"2025-11-25"}})";
  EXPECT_EQ(Send("POST", initialize, {}, "greedy").status, 200);
  EXPECT_EQ(Send("POST", initialize, {}, "greedy").status, 200);
  HttpAnswer third = Send("POST", initialize, {}, "greedy");
  EXPECT_EQ(third.status, 429);
  EXPECT_NE(third.body.find("this agent holds 2 open MCP sessions"), std::string::npos) << third.body;
  EXPECT_EQ(Send("POST", initialize, {}, "modest").status, 200);
  EXPECT_EQ(transport_->session_count(), 3U);
}

TEST_F(StreamableHttpTest, SessionsBelongToOnePrincipalAndAreCapped) {
  const std::string first = Open();
  const std::string ping = R"({"jsonrpc":"2.0","id":1,"method":"ping"})";
  EXPECT_EQ(Send("POST", ping, {{"Mcp-Session-Id", first}}, "agent-b").status, 404);
  Open("2025-03-26");
  HttpAnswer third = Send(
      "POST", R"({"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":"2025-11-25"}})");
  EXPECT_EQ(third.status, 503);
  EXPECT_EQ(Send("DELETE", "", {{"Mcp-Session-Id", first}}).status, 200);
  EXPECT_EQ(Send("POST", ping, {{"Mcp-Session-Id", first}}).status, 404);
  EXPECT_EQ(Send("DELETE", "", {{"Mcp-Session-Id", first}}).status, 404);
  // A failed initialize leaves no session behind.
  HttpAnswer bad = Send("POST", R"({"jsonrpc":"2.0","id":0,"method":"initialize","params":{}})");
  EXPECT_EQ(json::parse(bad.body)["error"]["code"], rpc_code::kInvalidParams);
  EXPECT_TRUE(Header(bad, "Mcp-Session-Id").empty());
  EXPECT_EQ(transport_->session_count(), 1U);
  EXPECT_FALSE(Open().empty());  // room again
  EXPECT_EQ(transport_->session_count(), 2U);
}

TEST_F(StreamableHttpTest, HostOriginAndVersionAreChecked) {
  const std::string ping =
      R"({"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":"2025-11-25"}})";
  EXPECT_EQ(Send("POST", ping, {{"Host", "evil.example.com:80"}}).status, 403);
  EXPECT_EQ(Send("POST", ping, {{"Origin", "http://evil.example.com"}}).status, 403);
  EXPECT_EQ(Send("POST", ping, {{"Origin", "null"}}).status, 403);
  EXPECT_EQ(Send("POST", ping, {{"Host", "[::1]:9"}, {"Origin", "http://localhost:9"}}).status, 200);
  EXPECT_EQ(Send("POST", ping, {{"MCP-Protocol-Version", "2024-01-01"}}).status, 400);
  EXPECT_EQ(Send("POST", ping, {{"Content-Type", "text/plain"}}).status, 415);
  EXPECT_EQ(Send("PATCH", ping).status, 405);
}

TEST_F(StreamableHttpTest, ARefusalQuotingBytesThatAreNotUtf8IsStillJson) {
  // Found by streamable_http_fuzz: the refusal's dump() threw on the Host it quotes.
  const std::string ping = R"({"jsonrpc":"2.0","id":0,"method":"ping"})";
  for (const char* field : {"Host", "Origin"}) {
    HttpAnswer answer = Send("POST", ping, {{field, "http://ev\xa8il.example\xff"}});
    EXPECT_EQ(answer.status, 403) << field;
    const json body = json::parse(answer.body, nullptr, /*allow_exceptions=*/false);
    ASSERT_TRUE(body.is_object()) << answer.body;
    EXPECT_THAT(body["error"]["message"].get<std::string>(), HasSubstr("il.example\xef\xbf\xbd")) << field;
  }
}

}  // namespace
}  // namespace latchkey::mcp
