#include "mcp/session.h"

#include <gtest/gtest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <stdexcept>

#include "mcp/collect_outlet.h"

namespace latchkey::mcp {
namespace {

namespace asio = boost::asio;

json Text(std::string text) { return ToolResult(TextContent(std::move(text))); }

class SessionTest : public ::testing::Test {
 protected:
  SessionTest() {
    server_->AddTool({.definition = {{"name", "echo"}, {"inputSchema", {{"type", "object"}}}},
                      .call = [](RequestContext&, const json& arguments) -> asio::awaitable<Reply> {
                        co_return Reply::Ok(Text(arguments.value("text", "")));
                      }});
    server_->AddTool({.definition = {{"name", "progress"}, {"inputSchema", {{"type", "object"}}}},
                      .call = [](RequestContext& context, const json&) -> asio::awaitable<Reply> {
                        context.Progress(1, 3, "one");
                        context.Progress(1, 3, "again");  // does not increase: dropped
                        context.Progress(2, 3);
                        context.Log(LogLevel::kDebug, "t", "quiet");
                        context.Log(LogLevel::kWarning, "t", "loud");
                        co_return Reply::Ok(Text("done"));
                      }});
    server_->AddTool({.definition = {{"name", "ask"}, {"inputSchema", {{"type", "object"}}}},
                      .call = [](RequestContext& context, const json&) -> asio::awaitable<Reply> {
                        json request = json::object();  // not braced inside co_await: GCC 12 bug
                        request["maxTokens"] = 5;
                        Reply answer = co_await context.Ask("sampling/createMessage", std::move(request));
                        if (answer.error) co_return Reply::Ok(ToolError("asked: " + answer.error->message));
                        co_return Reply::Ok(Text("client said " + answer.result.value("text", "")));
                      }});
    server_->AddTool({.definition = {{"name", "throws"}, {"inputSchema", {{"type", "object"}}}},
                      .call = [](RequestContext&, const json&) -> asio::awaitable<Reply> {
                        throw std::runtime_error("boom");
                        co_return Reply::Ok(json::object());
                      }});
    server_->AddTool({.definition = {{"name", "fifth"}, {"inputSchema", {{"type", "object"}}}},
                      .call = [](RequestContext&, const json&) -> asio::awaitable<Reply> {
                        co_return Reply::Ok(Text("5"));
                      }});
    server_->AddResource(
        {.definition = {{"uri", "test://static"}, {"name", "static"}},
         .read = [](RequestContext&, const json& params) -> asio::awaitable<Reply> {
           co_return Reply::Ok({{"contents", {{{"uri", params["uri"]}, {"text", "hello"}}}}});
         }});
    server_->AddResourceTemplate(
        {.definition = {{"uriTemplate", "test://item/{id}"}, {"name", "item"}},
         .read = [](RequestContext&, const json& params) -> asio::awaitable<Reply> {
           co_return Reply::Ok({{"contents",
                                 {{{"uri", params["uri"]},
                                   {"text", "item " + params["variables"]["id"].get<std::string>()}}}}});
         }});
    server_->AddPrompt(
        {.definition = {{"name", "greet"}, {"arguments", {{{"name", "who"}, {"required", true}}}}},
         .get = [](RequestContext&, const json& arguments) -> asio::awaitable<Reply> {
           co_return Reply::Ok({{"messages",
                                 {{{"role", "user"},
                                   {"content", TextContent("hi " + arguments["who"].get<std::string>())}}}}});
         }});
  }

  void Open(json capabilities = json::object(), std::string version = "2025-11-25") {
    session_ = std::make_shared<Session>(server_, "agent-a");
    session_->SetUnrelatedOutlet(unrelated_);
    json result = Call("initialize", {{"protocolVersion", version},
                                      {"capabilities", std::move(capabilities)},
                                      {"clientInfo", {{"name", "test"}, {"version", "1"}}}});
    ASSERT_TRUE(result.contains("result")) << result;
    Deliver(MakeNotification("notifications/initialized", nullptr));
  }

  // Hands one message to the session and runs whatever is ready.
  void Deliver(const json& message) {
    auto parsed = Classify(message);
    ASSERT_TRUE(std::holds_alternative<RpcMessage>(parsed)) << message;
    asio::co_spawn(io_, session_->Handle(std::get<RpcMessage>(std::move(parsed)), out_), asio::detached);
    io_.restart();
    io_.poll();
  }

  // A request and its response (the last message sent), with what came before it in `before`.
  json Call(std::string_view method, json params, std::vector<json>* before = nullptr) {
    Deliver(MakeRequest(++id_, method, std::move(params)));
    std::vector<json> sent = out_->Take();
    if (sent.empty()) return json();
    json last = sent.back();
    sent.pop_back();
    if (before != nullptr) *before = std::move(sent);
    return last;
  }

  static int ErrorCode(const json& response) { return response.at("error").at("code").get<int>(); }

  asio::io_context io_;
  std::shared_ptr<Server> server_ = std::make_shared<Server>(
      ServerInfo{.name = "t", .version = "1", .title = "Test", .description = "", .instructions = "be nice"},
      ServerOptions{.page_size = 2, .client_request_timeout = std::chrono::seconds(30)});
  std::shared_ptr<Session> session_;
  std::shared_ptr<CollectOutlet> out_ = std::make_shared<CollectOutlet>();
  std::shared_ptr<CollectOutlet> unrelated_ = std::make_shared<CollectOutlet>();
  int id_ = 0;
};

TEST_F(SessionTest, InitializeNegotiatesTheVersionAndDeclaresWhatIsRegistered) {
  for (auto [asked, agreed] :
       {std::pair{"2025-06-18", "2025-06-18"}, std::pair{"2025-03-26", "2025-03-26"},
        std::pair{"2025-11-25", "2025-11-25"}, std::pair{"1999-01-01", "2025-11-25"}}) {
    session_ = std::make_shared<Session>(server_, "agent-a");
    json response = Call("initialize", {{"protocolVersion", asked}, {"capabilities", json::object()}});
    EXPECT_EQ(response["result"]["protocolVersion"], agreed);
    EXPECT_EQ(session_->protocol_version(), agreed);
  }
  json result = Call("ping", json::object());
  EXPECT_EQ(result["result"], json::object());

  session_ = std::make_shared<Session>(server_, "agent-a");
  json response = Call("initialize",
                       {{"protocolVersion", "2025-11-25"}, {"capabilities", {{"sampling", json::object()}}}});
  const json& capabilities = response["result"]["capabilities"];
  for (const char* declared : {"tools", "resources", "prompts", "logging"})
    EXPECT_TRUE(capabilities.contains(declared));
  EXPECT_FALSE(capabilities.contains("completions"));  // no completion handler registered
  EXPECT_EQ(capabilities["resources"]["subscribe"], true);
  EXPECT_EQ(response["result"]["serverInfo"], json({{"name", "t"}, {"title", "Test"}, {"version", "1"}}));
  EXPECT_EQ(response["result"]["instructions"], "be nice");
  EXPECT_TRUE(session_->ClientDeclared("sampling"));
  EXPECT_FALSE(session_->ClientDeclared("elicitation"));

  EXPECT_EQ(ErrorCode(Call("initialize", {{"protocolVersion", "2025-11-25"}})), rpc_code::kInvalidRequest);
  EXPECT_EQ(ErrorCode(Call("initialize", {{"protocolVersion", 2025}})), rpc_code::kInvalidRequest);
}

TEST_F(SessionTest, OnlyPingAndInitializeComeBeforeInitialize) {
  session_ = std::make_shared<Session>(server_, "agent-a");
  EXPECT_EQ(Call("ping", nullptr)["result"], json::object());
  json refused = Call("tools/list", json::object());
  EXPECT_EQ(ErrorCode(refused), rpc_code::kInvalidRequest);
  EXPECT_EQ(refused["id"], id_);
  EXPECT_EQ(ErrorCode(Call("initialize", {{"capabilities", json::object()}})), rpc_code::kInvalidParams);
  EXPECT_TRUE(Call("initialize", {{"protocolVersion", "2025-11-25"}}).contains("result"));
  EXPECT_TRUE(Call("tools/list", json::object()).contains("result"));
}

TEST_F(SessionTest, UnknownMethodsAndMissingCapabilitiesAreMethodNotFound) {
  Open();
  EXPECT_EQ(ErrorCode(Call("tools/destroy", json::object())), rpc_code::kMethodNotFound);
  EXPECT_EQ(ErrorCode(Call("completion/complete", {{"ref", json::object()}, {"argument", json::object()}})),
            rpc_code::kMethodNotFound);
  Deliver(MakeNotification("notifications/unknown", nullptr));  // ignored, no answer
  EXPECT_TRUE(out_->Take().empty());
}

TEST_F(SessionTest, ToolsAreListedInPagesAndCalledByName) {
  Open();
  std::vector<std::string> names;
  json cursor = nullptr;
  for (int pages = 0; pages < 10; ++pages) {
    json params = cursor.is_null() ? json::object() : json({{"cursor", cursor}});
    json result = Call("tools/list", params)["result"];
    for (const json& tool : result["tools"]) names.push_back(tool["name"]);
    if (!result.contains("nextCursor")) break;
    cursor = result["nextCursor"];
  }
  EXPECT_EQ(names, (std::vector<std::string>{"echo", "progress", "ask", "throws", "fifth"}));
  EXPECT_EQ(ErrorCode(Call("tools/list", {{"cursor", "bogus"}})), rpc_code::kInvalidParams);

  EXPECT_EQ(Call("tools/call", {{"name", "echo"}, {"arguments", {{"text", "hi"}}}})["result"], Text("hi"));
  EXPECT_EQ(Call("tools/call", {{"name", "echo"}})["result"], Text(""));
  EXPECT_EQ(ErrorCode(Call("tools/call", {{"name", "nope"}})), rpc_code::kInvalidParams);
  EXPECT_EQ(ErrorCode(Call("tools/call", {{"arguments", json::object()}})), rpc_code::kInvalidParams);
  EXPECT_EQ(ErrorCode(Call("tools/call", {{"name", "echo"}, {"arguments", "text"}})),
            rpc_code::kInvalidParams);
}

TEST_F(SessionTest, ProgressFollowsTheTokenAndLogsFollowTheLevel) {
  Open();
  std::vector<json> before;
  json response = Call("tools/call", {{"name", "progress"}, {"_meta", {{"progressToken", "p-1"}}}}, &before);
  EXPECT_EQ(response["result"], Text("done"));
  ASSERT_EQ(before.size(), 3U);
  EXPECT_EQ(before[0]["method"], "notifications/progress");
  EXPECT_EQ(before[0]["params"],
            json({{"progressToken", "p-1"}, {"progress", 1.0}, {"total", 3.0}, {"message", "one"}}));
  EXPECT_EQ(before[1]["params"]["progress"], 2.0);
  EXPECT_EQ(before[2], MakeNotification("notifications/message",
                                        {{"level", "warning"}, {"logger", "t"}, {"data", "loud"}}));

  // Without a token there is no progress; at level debug the quiet line comes too.
  EXPECT_EQ(Call("logging/setLevel", {{"level", "debug"}})["result"], json::object());
  Call("tools/call", {{"name", "progress"}}, &before);
  ASSERT_EQ(before.size(), 2U);
  EXPECT_EQ(before[0]["params"]["data"], "quiet");
  EXPECT_EQ(ErrorCode(Call("logging/setLevel", {{"level", "verbose"}})), rpc_code::kInvalidParams);
}

TEST_F(SessionTest, TheServerAsksTheClientAndUsesTheAnswer) {
  Open({{"sampling", json::object()}});
  Deliver(MakeRequest("call-1", "tools/call", {{"name", "ask"}}));
  std::vector<json> sent = out_->Take();
  ASSERT_EQ(sent.size(), 1U);
  EXPECT_EQ(sent[0]["method"], "sampling/createMessage");
  EXPECT_EQ(sent[0]["params"]["maxTokens"], 5);
  Deliver(MakeResult(sent[0]["id"], {{"text", "42"}}));
  sent = out_->Take();
  ASSERT_EQ(sent.size(), 1U);
  EXPECT_EQ(sent[0], MakeResult("call-1", Text("client said 42")));

  // An answer to a request nobody waits for is dropped.
  Deliver(MakeResult(999, json::object()));
  EXPECT_TRUE(out_->Take().empty());
}

TEST_F(SessionTest, NoRequestForACapabilityTheClientDidNotDeclare) {
  Open({{"elicitation", json::object()}});
  json response = Call("tools/call", {{"name", "ask"}});
  EXPECT_EQ(response["result"]["isError"], true);
  EXPECT_NE(response["result"]["content"][0]["text"].get<std::string>().find("sampling"), std::string::npos);
  EXPECT_TRUE(session_->ClientDeclared("elicitation", "form"));
  EXPECT_FALSE(session_->ClientDeclared("elicitation", "url"));
}

TEST_F(SessionTest, CancellationEndsTheWaitAndSuppressesTheResponse) {
  Open({{"sampling", json::object()}});
  Deliver(MakeRequest(70, "tools/call", {{"name", "ask"}}));
  ASSERT_EQ(out_->Take().size(), 1U);  // the sampling request
  // Other requests go on meanwhile; one reusing the id still in flight is refused.
  EXPECT_EQ(Call("tools/call", {{"name", "echo"}, {"arguments", {{"text", "x"}}}})["result"], Text("x"));
  Deliver(MakeRequest(70, "ping", nullptr));
  std::vector<json> sent = out_->Take();
  ASSERT_EQ(sent.size(), 1U);
  EXPECT_EQ(ErrorCode(sent[0]), rpc_code::kInvalidRequest);
  EXPECT_EQ(sent[0]["id"], 70);

  Deliver(MakeNotification("notifications/cancelled", {{"requestId", 70}, {"reason", "user"}}));
  EXPECT_TRUE(out_->Take().empty());
  // The id is free again, and the session still answers.
  EXPECT_EQ(Call("ping", nullptr)["result"], json::object());
  Deliver(MakeRequest(70, "ping", nullptr));
  EXPECT_EQ(out_->Take().at(0), MakeResult(70, json::object()));
}

TEST_F(SessionTest, ClosingTheSessionFailsARequestWaitingOnTheClient) {
  Open({{"sampling", json::object()}});
  Deliver(MakeRequest(1, "tools/call", {{"name", "ask"}}));
  ASSERT_EQ(out_->Take().size(), 1U);
  session_->Close();
  io_.restart();
  io_.poll();
  std::vector<json> sent = out_->Take();
  ASSERT_EQ(sent.size(), 1U);
  EXPECT_EQ(sent[0]["result"]["isError"], true);
  EXPECT_EQ(ErrorCode(Call("ping", nullptr)), rpc_code::kInvalidRequest);
}

TEST_F(SessionTest, AHandlerThatThrowsIsAnInternalErrorAndTheSessionGoesOn) {
  Open();
  EXPECT_EQ(ErrorCode(Call("tools/call", {{"name", "throws"}})), rpc_code::kInternalError);
  EXPECT_EQ(Call("tools/call", {{"name", "fifth"}})["result"], Text("5"));
}

TEST_F(SessionTest, ResourcesAreReadByUriOrTemplateAndSubscriptionsNotify) {
  Open();
  EXPECT_EQ(Call("resources/read", {{"uri", "test://static"}})["result"]["contents"][0]["text"], "hello");
  EXPECT_EQ(Call("resources/read", {{"uri", "test://item/9"}})["result"]["contents"][0]["text"], "item 9");
  json missing = Call("resources/read", {{"uri", "test://nothing"}});
  EXPECT_EQ(ErrorCode(missing), rpc_code::kResourceNotFound);
  EXPECT_EQ(missing["error"]["data"]["uri"], "test://nothing");
  EXPECT_EQ(Call("resources/templates/list", json::object())["result"]["resourceTemplates"][0]["uriTemplate"],
            "test://item/{id}");

  session_->NotifyResourceUpdated("test://static");
  EXPECT_TRUE(unrelated_->Take().empty());
  EXPECT_EQ(Call("resources/subscribe", {{"uri", "test://static"}})["result"], json::object());
  session_->NotifyResourceUpdated("test://static");
  EXPECT_EQ(unrelated_->Take(), std::vector<json>{MakeNotification("notifications/resources/updated",
                                                                   {{"uri", "test://static"}})});
  EXPECT_EQ(Call("resources/unsubscribe", {{"uri", "test://static"}})["result"], json::object());
  session_->NotifyResourceUpdated("test://static");
  EXPECT_TRUE(unrelated_->Take().empty());
}

TEST_F(SessionTest, PromptsCheckTheirRequiredArguments) {
  Open();
  EXPECT_EQ(ErrorCode(Call("prompts/get", {{"name", "greet"}})), rpc_code::kInvalidParams);
  EXPECT_EQ(ErrorCode(Call("prompts/get", {{"name", "nope"}})), rpc_code::kInvalidParams);
  json result = Call("prompts/get", {{"name", "greet"}, {"arguments", {{"who", "ada"}}}})["result"];
  EXPECT_EQ(result["messages"][0]["content"]["text"], "hi ada");
}

}  // namespace
}  // namespace latchkey::mcp
