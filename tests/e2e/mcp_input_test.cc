// Malformed and hostile input to latchkey's MCP server, over Streamable HTTP (`/mcp` of
// `latchkey serve`) and stdio (`latchkey mcp`): each gets the right JSON-RPC error or HTTP
// status, nothing is lost, and other sessions go on being served.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "e2e/gateway_fixture.h"

namespace latchkey::testing {
namespace {

using json = nlohmann::json;
using ::testing::HasSubstr;
using ::testing::Not;

class McpInputTest : public GatewayTest {
 protected:
  void SetUp() override {
    StartOAuthServers();
    ImportGrant("work", "alice");
    key_ = CreateAgent("bot", {"work:GET:/**"});
  }

  // A POST to /mcp with the usual MCP headers (overridable), and `session` when set.
  RawReply Post(const std::string& body, const std::string& session = "", Headers extra = {}) {
    Headers headers = {{"Content-Type", "application/json"},
                       {"Accept", "application/json, text/event-stream"}};
    if (!session.empty()) headers.emplace_back("Mcp-Session-Id", session);
    for (auto& header : extra) {
      std::erase_if(headers, [&](const auto& h) { return h.first == header.first; });
      headers.push_back(header);
    }
    return Call("POST", "/mcp", key_, body, headers);
  }

  std::string Initialize() {
    RawReply reply =
        Post(R"({"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":"2025-11-25",)"
             R"("capabilities":{},"clientInfo":{"name":"raw","version":"1"}}})");
    EXPECT_EQ(reply.status, 200) << reply.raw;
    EXPECT_EQ(reply.Json()["result"]["protocolVersion"], "2025-11-25") << reply.raw;
    std::string session = reply.Header("mcp-session-id");
    EXPECT_FALSE(session.empty());
    EXPECT_EQ(Post(R"({"jsonrpc":"2.0","method":"notifications/initialized"})", session).status, 202);
    return session;
  }

  static int ErrorCode(const RawReply& reply) {
    json body = reply.Json();
    return body.is_object() && body.contains("error") ? body["error"]["code"].get<int>() : 0;
  }

  std::string key_;
};

TEST_F(McpInputTest, HttpRefusesBadMessagesAndKeepsServingOtherSessions) {
  StartGateway();
  const std::string session = Initialize();
  const std::string other = Initialize();

  struct Case {
    std::string what;
    RawReply reply;
    int status;
    int code;  // the JSON-RPC error code in the body, 0 for none
  };
  const std::string ping = R"({"jsonrpc":"2.0","id":5,"method":"ping"})";
  std::vector<Case> cases;
  cases.push_back({"invalid JSON", Post(R"({"jsonrpc":"2.0","id":1,"method":)", session), 400, -32700});
  cases.push_back({"not JSON-RPC", Post(R"({"id":1,"method":"ping"})", session), 400, -32600});
  cases.push_back({"a batch", Post("[" + ping + "]", session), 400, -32600});
  cases.push_back({"params of the wrong type",
                   Post(R"({"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":42}})", session),
                   200, -32602});
  cases.push_back(
      {"arguments of the wrong type",
       Post(
           R"({"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":"http_request","arguments":[1]}})",
           session),
       200, -32602});
  cases.push_back({"an unknown method", Post(R"({"jsonrpc":"2.0","id":4,"method":"tools/destroy"})", session),
                   200, -32601});
  cases.push_back(
      {"an unknown tool",
       Post(R"({"jsonrpc":"2.0","id":6,"method":"tools/call","params":{"name":"nope"}})", session), 200,
       -32602});
  cases.push_back(
      {"a second initialize",
       Post(R"({"jsonrpc":"2.0","id":7,"method":"initialize","params":{"protocolVersion":"2025-11-25"}})",
            session),
       400, -32600});
  cases.push_back({"no session", Post(ping), 400, -32000});
  cases.push_back({"an unknown session", Post(ping, "0123456789abcdef0123456789abcdef"), 404, -32001});
  cases.push_back({"an unsupported protocol version",
                   Post(ping, session, {{"MCP-Protocol-Version", "1999-01-01"}}), 400, -32000});
  cases.push_back(
      {"a foreign Origin", Post(ping, session, {{"Origin", "http://evil.example.com"}}), 403, -32000});
  cases.push_back({"a foreign Host", Post(ping, session, {{"Host", "evil.example.com"}}), 403, -32000});
  cases.push_back(
      {"a wrong Content-Type", Post(ping, session, {{"Content-Type", "text/plain"}}), 415, -32000});
  cases.push_back(
      {"an Accept without SSE", Post(ping, session, {{"Accept", "application/json"}}), 406, -32000});
  cases.push_back({"a 50 MB message",
                   Post(R"({"jsonrpc":"2.0","id":8,"method":"ping","params":{"pad":")" +
                            std::string(50'000'000, 'x') + "\"}}",
                        session),
                   413, 0});
  cases.push_back({"PUT", Call("PUT", "/mcp", key_, ping, {{"Mcp-Session-Id", session}}), 405, -32000});
  cases.push_back(
      {"no agent key", Call("POST", "/mcp", "", ping, {{"Content-Type", "application/json"}}), 401, 0});
  for (const Case& c : cases) {
    EXPECT_EQ(c.reply.status, c.status) << c.what << "\n" << c.reply.raw.substr(0, 500);
    if (c.code != 0) {
      EXPECT_EQ(ErrorCode(c.reply), c.code) << c.what << "\n" << c.reply.raw.substr(0, 500);
    }
  }

  // Requests before initialize: only ping.
  RawReply fresh =
      Post(R"({"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":"2025-11-25"}})");
  const std::string early = fresh.Header("mcp-session-id");
  EXPECT_EQ(Post(R"({"jsonrpc":"2.0","id":1,"method":"tools/list"})", early).Json()["result"]["tools"].size(),
            3U);

  // Both sessions still answer; a DELETEd one is gone.
  EXPECT_EQ(Post(ping, session).Json(), json::parse(R"({"jsonrpc":"2.0","id":5,"result":{}})"));
  EXPECT_EQ(Post(ping, other).Json()["result"], json::object());
  EXPECT_EQ(Call("DELETE", "/mcp", key_, "", {{"Mcp-Session-Id", other}}).status, 200);
  EXPECT_EQ(Post(ping, other).status, 404);
  // Another agent cannot use this agent's session.
  const std::string stranger = CreateAgent("stranger", {"work"});
  RawReply stolen = Call("POST", "/mcp", stranger, ping,
                         {{"Content-Type", "application/json"},
                          {"Accept", "application/json, text/event-stream"},
                          {"Mcp-Session-Id", session}});
  EXPECT_EQ(stolen.status, 404);
  EXPECT_EQ(Post(ping, session).Json()["result"], json::object());
}

TEST_F(McpInputTest, OpenEventStreamsDoNotHoldUpAGracefulShutdown) {
  StartGateway("[gateway]\nshutdown_grace_ms = 60000\n");
  const std::string session = Initialize();
  RawConnection stream(port_);
  ASSERT_TRUE(stream.Send(BuildRequest(
      "GET", "/mcp",
      {{"Authorization", "Bearer " + key_}, {"Accept", "text/event-stream"}, {"Mcp-Session-Id", session}})));
  ASSERT_TRUE(stream.ReceiveUntil([](const std::string& got) {
    return got.find("retry:") != std::string::npos;
  })) << stream.received();
  EXPECT_THAT(stream.received(), HasSubstr("text/event-stream"));
  const auto stopping = std::chrono::steady_clock::now();
  EXPECT_EQ(gateway_->Stop(SIGTERM), 0) << GatewayLog();
  // Far less than the 60 s grace: the stream was ended, not waited for.
  EXPECT_LT(std::chrono::steady_clock::now() - stopping, std::chrono::seconds(30));
  stream.ReceiveUntil([](const std::string&) { return false; }, std::chrono::seconds(5));
  EXPECT_THAT(stream.received(), HasSubstr("0\r\n\r\n")) << "the chunked stream was ended cleanly";
}

TEST_F(McpInputTest, StdioAnswersBadLinesAndExitsCleanlyWhenInputEndsMidRequest) {
  const std::string initialize =
      R"({"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{}}})";
  std::string input;
  input += R"({"jsonrpc":"2.0","id":"early","method":"tools/list"})"
           "\n";  // before initialize
  input += initialize + "\n";
  input += R"({"jsonrpc":"2.0","method":"notifications/initialized"})"
           "\n";
  input += "this is not json\n";
  input +=
      R"({"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"http_request","arguments":{"connection":"work","method":"GET","path":"/read"}}})"
      "\n";
  input += R"({"jsonrpc":"2.0","id":1,"method":"ping"})"
           "\n";  // id 1 is still in flight
  input += R"({"jsonrpc":"2.0","id":2,"method":"tools/call","params":"http_request"})"
           "\n";
  input += R"({"jsonrpc":"2.0","id":3,"method":"resources/list"})"
           "\n";
  input += R"({"jsonrpc":"2.0","id":4,"method":"ping","params":{"pad":")" + std::string(50'000'000, 'x') +
           "\"}}\n";
  input += R"({"jsonrpc":"2.0","id":5,"method":"ping"})"
           "\n";
  // ...and the input ends while id 1 may still be running.
  RunOptions options;
  options.stdin_data = input;
  options.env = {{"LATCHKEY_AGENT_KEY", key_}};
  options.unset_env = {"LATCHKEY_MASTER_KEY", "LATCHKEY_DATA_DIR"};
  RunResult run = ::latchkey::testing::Run({LatchkeyBinary(), "--data-dir", data_dir(), "mcp"}, options);
  EXPECT_EQ(run.exit_code, 0) << run.err;

  std::map<std::string, json> by_id;
  std::vector<json> without_id;
  std::istringstream out(run.out);
  for (std::string line; std::getline(out, line);) {
    json message = json::parse(line, nullptr, false);
    ASSERT_FALSE(message.is_discarded()) << "stdout carries only JSON-RPC: " << line.substr(0, 200);
    ASSERT_EQ(message["jsonrpc"], "2.0");
    if (message["id"].is_null()) {
      without_id.push_back(message);
    } else {
      by_id[message["id"].dump()] = message;
    }
  }
  EXPECT_EQ(by_id["\"early\""]["error"]["code"], -32600);
  EXPECT_EQ(by_id["0"]["result"]["protocolVersion"], "2025-06-18");
  ASSERT_EQ(without_id.size(), 2U);
  EXPECT_EQ(without_id[0]["error"]["code"], -32700);  // not json
  EXPECT_EQ(without_id[1]["error"]["code"], -32600);  // 50 MB
  EXPECT_THAT(without_id[1]["error"]["message"].get<std::string>(), HasSubstr("larger than"));
  // id 1: the duplicate was refused and the call it duplicated still answered.
  EXPECT_EQ(by_id["1"]["result"]["structuredContent"]["status"], 200) << by_id["1"];
  EXPECT_THAT(run.out, HasSubstr("id 1 is already used by a request in progress"));
  EXPECT_EQ(by_id["2"]["error"]["code"], -32602);
  EXPECT_EQ(by_id["3"]["error"]["code"], -32601);
  EXPECT_EQ(by_id["5"]["result"], json::object());
  EXPECT_FALSE(by_id.contains("4"));
  EXPECT_THAT(run.err, Not(HasSubstr(key_)));
}

}  // namespace
}  // namespace latchkey::testing
