#include "mcp/json_rpc.h"

#include <gtest/gtest.h>

#include "mcp/server.h"

namespace latchkey::mcp {
namespace {

json RefusalOf(std::string_view text) {
  auto parsed = Parse(text);
  EXPECT_TRUE(std::holds_alternative<RpcRefusal>(parsed)) << text;
  return std::holds_alternative<RpcRefusal>(parsed) ? std::get<RpcRefusal>(parsed).response : json();
}

RpcMessage MessageOf(std::string_view text) {
  auto parsed = Parse(text);
  EXPECT_TRUE(std::holds_alternative<RpcMessage>(parsed)) << text;
  return std::holds_alternative<RpcMessage>(parsed) ? std::get<RpcMessage>(parsed) : RpcMessage();
}

TEST(JsonRpcTest, ClassifiesRequestsNotificationsAndResponses) {
  RpcMessage request = MessageOf(R"({"jsonrpc":"2.0","id":7,"method":"tools/list","params":{"cursor":"2"}})");
  EXPECT_TRUE(request.is_request());
  EXPECT_EQ(request.id, 7);
  EXPECT_EQ(request.method, "tools/list");
  EXPECT_EQ(request.params["cursor"], "2");

  RpcMessage notification = MessageOf(R"({"jsonrpc":"2.0","method":"notifications/initialized"})");
  EXPECT_TRUE(notification.is_notification());
  EXPECT_TRUE(notification.params.is_null());

  RpcMessage answer = MessageOf(R"({"jsonrpc":"2.0","id":"s-1","result":{"action":"accept"}})");
  EXPECT_TRUE(answer.is_response());
  EXPECT_EQ(answer.result["action"], "accept");
  EXPECT_FALSE(answer.error);

  RpcMessage failure = MessageOf(R"({"jsonrpc":"2.0","id":3,"error":{"code":-1,"message":"user declined"}})");
  ASSERT_TRUE(failure.error);
  EXPECT_EQ(failure.error->code, -1);
  EXPECT_EQ(failure.error->message, "user declined");
}

TEST(JsonRpcTest, MalformedInputEarnsTheRightError) {
  struct Case {
    std::string_view text;
    int code;
    json id;
  };
  const Case cases[] = {
      {R"({"jsonrpc":"2.0","id":1,"method":)", rpc_code::kParseError, nullptr},
      {"not json at all", rpc_code::kParseError, nullptr},
      {R"([{"jsonrpc":"2.0","id":1,"method":"ping"}])", rpc_code::kInvalidRequest, nullptr},
      {R"("ping")", rpc_code::kInvalidRequest, nullptr},
      {R"({"id":1,"method":"ping"})", rpc_code::kInvalidRequest, 1},
      {R"({"jsonrpc":"1.0","id":"a","method":"ping"})", rpc_code::kInvalidRequest, "a"},
      {R"({"jsonrpc":"2.0","id":true,"method":"ping"})", rpc_code::kInvalidRequest, nullptr},
      {R"({"jsonrpc":"2.0","id":1.5,"method":"ping"})", rpc_code::kInvalidRequest, nullptr},
      {R"({"jsonrpc":"2.0","id":null,"method":"ping"})", rpc_code::kInvalidRequest, nullptr},
      {R"({"jsonrpc":"2.0","id":2,"method":42})", rpc_code::kInvalidRequest, 2},
      {R"({"jsonrpc":"2.0","id":3,"method":""})", rpc_code::kInvalidRequest, 3},  // json_rpc_fuzz
      {R"({"jsonrpc":"2.0","method":""})", rpc_code::kInvalidRequest, nullptr},
      {R"({"jsonrpc":"2.0","id":3,"method":"tools/call","params":[1,2]})", rpc_code::kInvalidParams, 3},
      {R"({"jsonrpc":"2.0","id":4})", rpc_code::kInvalidRequest, 4},
      {R"({"jsonrpc":"2.0","id":5,"result":{},"error":{"code":1}})", rpc_code::kInvalidRequest, 5},
      {R"({"jsonrpc":"2.0","id":6,"error":{"message":"no code"}})", rpc_code::kInvalidRequest, 6},
  };
  for (const Case& c : cases) {
    json response = RefusalOf(c.text);
    EXPECT_EQ(response["jsonrpc"], "2.0") << c.text;
    EXPECT_EQ(response["id"], c.id) << c.text;
    EXPECT_EQ(response["error"]["code"], c.code) << c.text;
    EXPECT_FALSE(response["error"]["message"].get<std::string>().empty()) << c.text;
  }
}

TEST(JsonRpcTest, BuildersMakeWellFormedMessages) {
  EXPECT_EQ(MakeResult(1, {{"a", 1}}).dump(), R"({"id":1,"jsonrpc":"2.0","result":{"a":1}})");
  EXPECT_EQ(MakeError("x", {.code = -32601, .message = "Method not found", .data = nullptr}).dump(),
            R"({"error":{"code":-32601,"message":"Method not found"},"id":"x","jsonrpc":"2.0"})");
  EXPECT_EQ(MakeNotification("notifications/initialized", nullptr).dump(),
            R"({"jsonrpc":"2.0","method":"notifications/initialized"})");
  EXPECT_EQ(IdKey(7), "7");
  EXPECT_EQ(IdKey("7"), "\"7\"");
}

TEST(UriTemplateTest, MatchesSimpleExpressionsOnly) {
  EXPECT_EQ(MatchUriTemplate("test://template/{id}/data", "test://template/42/data"), json({{"id", "42"}}));
  EXPECT_EQ(MatchUriTemplate("a://{x}/{y}", "a://1/2"), json({{"x", "1"}, {"y", "2"}}));
  EXPECT_FALSE(MatchUriTemplate("test://template/{id}/data", "test://template/42/other"));
  EXPECT_FALSE(MatchUriTemplate("test://template/{id}/data", "test://template//data"));
  EXPECT_FALSE(MatchUriTemplate("test://template/{id}", "test://template/4/2"));
  EXPECT_EQ(MatchUriTemplate("file:///{+path}", "file:///a/b/c"), json({{"path", "a/b/c"}}));
  EXPECT_FALSE(MatchUriTemplate("x://{a}", "y://1"));
}

TEST(PageTest, CursorsWalkTheListAndUnknownOnesAreRefused) {
  std::vector<json> items = {1, 2, 3, 4, 5};
  Reply first = Page(items, json::object(), "tools", 2);
  ASSERT_FALSE(first.error);
  EXPECT_EQ(first.result["tools"], json({1, 2}));
  Reply second = Page(items, {{"cursor", first.result["nextCursor"]}}, "tools", 2);
  EXPECT_EQ(second.result["tools"], json({3, 4}));
  Reply last = Page(items, {{"cursor", second.result["nextCursor"]}}, "tools", 2);
  EXPECT_EQ(last.result["tools"], json({5}));
  EXPECT_FALSE(last.result.contains("nextCursor"));
  for (const json& bad : {json("x"), json("99"), json(3), json("")}) {
    Reply refused = Page(items, {{"cursor", bad}}, "tools", 2);
    ASSERT_TRUE(refused.error) << bad;
    EXPECT_EQ(refused.error->code, rpc_code::kInvalidParams);
  }
}

}  // namespace
}  // namespace latchkey::mcp
