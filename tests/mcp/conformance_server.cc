// A test-only MCP server for the official conformance suite (@modelcontextprotocol/
// conformance): the same protocol module and Streamable HTTP transport latchkey serves,
// with the fixture tools, resources and prompts the suite's scenarios call, on
// http://localhost:PORT/mcp. Prints "READY <url>" once listening; stops on SIGTERM.
//
//   mcp_conformance_server [PORT]
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <iostream>
#include <string>

#include "common/log.h"
#include "common/random.h"
#include "gateway/http/http_server.h"
#include "gateway/mcp_endpoint.h"
#include "mcp/server.h"
#include "mcp/session.h"
#include "mcp/streamable_http.h"

namespace {

namespace asio = boost::asio;
using latchkey::mcp::json;
using latchkey::mcp::Reply;
using latchkey::mcp::RequestContext;

constexpr const char* kPng =
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8DwHwAFBQIAX8jx0gAAAABJRU5ErkJggg==";
constexpr const char* kWav = "UklGRiYAAABXQVZFZm10IBAAAAABAAEAQB8AAAB9AAACABAAZGF0YQIAAAA=";

asio::awaitable<void> Sleep(std::chrono::milliseconds delay) {
  asio::steady_timer timer(co_await asio::this_coro::executor, delay);
  co_await timer.async_wait(asio::use_awaitable);
}

json NoArguments() { return {{"type", "object"}, {"properties", json::object()}}; }

json Tool(std::string name, std::string description, json input_schema = NoArguments()) {
  return {{"name", std::move(name)},
          {"description", std::move(description)},
          {"inputSchema", std::move(input_schema)}};
}

Reply Content(json content) { return Reply::Ok({{"content", std::move(content)}}); }

json Text(std::string text) { return latchkey::mcp::TextContent(std::move(text)); }

// Asks the client for a form and reports what came back.
asio::awaitable<Reply> Elicit(RequestContext& context, json params, std::string prefix) {
  Reply answer = co_await context.Ask("elicitation/create", std::move(params));
  if (answer.error)
    co_return Reply::Ok(latchkey::mcp::ToolError("Elicitation failed: " + answer.error->message));
  co_return Content({Text(prefix + "action=" + answer.result.value("action", "") +
                          ", content=" + answer.result.value("content", json::object()).dump())});
}

void AddTools(latchkey::mcp::Server& server) {
  using latchkey::mcp::LogLevel;
  server.AddTool({.definition = Tool("test_simple_text", "Returns a simple text response"),
                  .call = [](RequestContext&, const json&) -> asio::awaitable<Reply> {
                    co_return Content({Text("This is a simple text response for testing.")});
                  }});
  server.AddTool({.definition = Tool("test_image_content", "Returns an image"),
                  .call = [](RequestContext&, const json&) -> asio::awaitable<Reply> {
                    co_return Content({{{"type", "image"}, {"data", kPng}, {"mimeType", "image/png"}}});
                  }});
  server.AddTool({.definition = Tool("test_audio_content", "Returns audio"),
                  .call = [](RequestContext&, const json&) -> asio::awaitable<Reply> {
                    co_return Content({{{"type", "audio"}, {"data", kWav}, {"mimeType", "audio/wav"}}});
                  }});
  server.AddTool({.definition = Tool("test_embedded_resource", "Returns an embedded resource"),
                  .call = [](RequestContext&, const json&) -> asio::awaitable<Reply> {
                    co_return Content({{{"type", "resource"},
                                        {"resource",
                                         {{"uri", "test://embedded-resource"},
                                          {"mimeType", "text/plain"},
                                          {"text", "This is an embedded resource content."}}}}});
                  }});
  server.AddTool({.definition = Tool("test_multiple_content_types", "Returns text, an image and a resource"),
                  .call = [](RequestContext&, const json&) -> asio::awaitable<Reply> {
                    co_return Content({Text("Multiple content types test:"),
                                       {{"type", "image"}, {"data", kPng}, {"mimeType", "image/png"}},
                                       {{"type", "resource"},
                                        {"resource",
                                         {{"uri", "test://mixed-content-resource"},
                                          {"mimeType", "application/json"},
                                          {"text", R"({"test":"data","value":123})"}}}}});
                  }});
  server.AddTool({.definition = Tool("test_tool_with_logging", "Logs while it runs"),
                  .call = [](RequestContext& context, const json&) -> asio::awaitable<Reply> {
                    context.Log(LogLevel::kInfo, "", "Tool execution started");
                    co_await Sleep(std::chrono::milliseconds(50));
                    context.Log(LogLevel::kInfo, "", "Tool processing data");
                    co_await Sleep(std::chrono::milliseconds(50));
                    context.Log(LogLevel::kInfo, "", "Tool execution completed");
                    co_return Content({Text("Tool with logging executed successfully")});
                  }});
  server.AddTool({.definition = Tool("test_error_handling", "Always fails"),
                  .call = [](RequestContext&, const json&) -> asio::awaitable<Reply> {
                    co_return Reply::Ok(
                        latchkey::mcp::ToolError("This tool intentionally returns an error for testing"));
                  }});
  server.AddTool({.definition = Tool("test_tool_with_progress", "Reports progress"),
                  .call = [](RequestContext& context, const json&) -> asio::awaitable<Reply> {
                    for (double progress : {0.0, 50.0, 100.0}) {
                      context.Progress(progress, 100.0);
                      if (progress < 100) co_await Sleep(std::chrono::milliseconds(50));
                    }
                    co_return Content({Text("Progress reported")});
                  }});
  server.AddTool(
      {.definition =
           Tool("test_sampling", "Asks the client's LLM",
                {{"type", "object"},
                 {"properties",
                  {{"prompt", {{"type", "string"}, {"description", "The prompt to send to the LLM"}}}}},
                 {"required", {"prompt"}}}),
       .call = [](RequestContext& context, const json& arguments) -> asio::awaitable<Reply> {
         json params = {{"messages", {{{"role", "user"}, {"content", Text(arguments.value("prompt", ""))}}}},
                        {"maxTokens", 100}};
         Reply answer = co_await context.Ask("sampling/createMessage", std::move(params));
         if (answer.error)
           co_return Reply::Ok(latchkey::mcp::ToolError("Sampling failed: " + answer.error->message));
         co_return Content({Text("LLM response: " + answer.result["content"].value("text", ""))});
       }});
  server.AddTool(
      {.definition =
           Tool("test_elicitation", "Asks the user",
                {{"type", "object"},
                 {"properties",
                  {{"message", {{"type", "string"}, {"description", "The message to show the user"}}}}},
                 {"required", {"message"}}}),
       .call = [](RequestContext& context, const json& arguments) -> asio::awaitable<Reply> {
         json params = {{"message", arguments.value("message", "")},
                        {"requestedSchema",
                         {{"type", "object"},
                          {"properties",
                           {{"username", {{"type", "string"}, {"description", "User's response"}}},
                            {"email", {{"type", "string"}, {"description", "User's email address"}}}}},
                          {"required", {"username", "email"}}}}};
         co_return co_await Elicit(context, std::move(params), "User response: ");
       }});
  server.AddTool(
      {.definition = Tool("test_elicitation_sep1034_defaults", "Asks with defaults"),
       .call = [](RequestContext& context, const json&) -> asio::awaitable<Reply> {
         json properties = {
             {"name", {{"type", "string"}, {"description", "User name"}, {"default", "John Doe"}}},
             {"age", {{"type", "integer"}, {"description", "User age"}, {"default", 30}}},
             {"score", {{"type", "number"}, {"description", "User score"}, {"default", 95.5}}},
             {"status",
              {{"type", "string"},
               {"description", "User status"},
               {"enum", {"active", "inactive", "pending"}},
               {"default", "active"}}},
             {"verified", {{"type", "boolean"}, {"description", "Verification status"}, {"default", true}}}};
         json params = {{"mode", "form"},
                        {"message", "Please review and update the form fields with defaults"},
                        {"requestedSchema",
                         {{"type", "object"}, {"properties", properties}, {"required", json::array()}}}};
         co_return co_await Elicit(context, std::move(params), "Elicitation completed: ");
       }});
  server.AddTool(
      {.definition = Tool("test_elicitation_sep1330_enums", "Asks with enums"),
       .call = [](RequestContext& context, const json&) -> asio::awaitable<Reply> {
         auto titled = [](const char* prefix, const char* word) {
           json options = json::array();
           for (int i = 1; i <= 3; ++i) {
             static constexpr const char* kOrdinals[] = {"First", "Second", "Third"};
             options.push_back({{"const", std::string(prefix) + std::to_string(i)},
                                {"title", std::string(kOrdinals[i - 1]) + " " + word}});
           }
           return options;
         };
         json properties = {{"untitledSingle",
                             {{"type", "string"},
                              {"description", "Select one option"},
                              {"enum", {"option1", "option2", "option3"}}}},
                            {"titledSingle",
                             {{"type", "string"},
                              {"description", "Select one option with titles"},
                              {"oneOf", titled("value", "Option")}}},
                            {"legacyEnum",
                             {{"type", "string"},
                              {"description", "Select one option (legacy)"},
                              {"enum", {"opt1", "opt2", "opt3"}},
                              {"enumNames", {"Option One", "Option Two", "Option Three"}}}},
                            {"untitledMulti",
                             {{"type", "array"},
                              {"description", "Select multiple options"},
                              {"minItems", 1},
                              {"maxItems", 3},
                              {"items", {{"type", "string"}, {"enum", {"option1", "option2", "option3"}}}}}},
                            {"titledMulti",
                             {{"type", "array"},
                              {"description", "Select multiple options with titles"},
                              {"minItems", 1},
                              {"maxItems", 3},
                              {"items", {{"anyOf", titled("value", "Choice")}}}}}};
         json params = {{"mode", "form"},
                        {"message", "Please select options from the enum fields"},
                        {"requestedSchema",
                         {{"type", "object"}, {"properties", properties}, {"required", json::array()}}}};
         co_return co_await Elicit(context, std::move(params), "Elicitation completed: ");
       }});
  server.AddTool({.definition = Tool("test_reconnection",
                                     "Closes its SSE stream mid-call; the result follows on resumption"),
                  .call = [](RequestContext& context, const json&) -> asio::awaitable<Reply> {
                    context.EndConnection();
                    co_await Sleep(std::chrono::milliseconds(100));
                    co_return Content(
                        {Text("Reconnection test completed successfully. If you received this, the "
                              "client properly reconnected after stream closure.")});
                  }});
  json schema_2020_12 = {
      {"$schema", "https://json-schema.org/draft/2020-12/schema"},
      {"type", "object"},
      {"$defs",
       {{"address",
         {{"type", "object"},
          {"properties", {{"street", {{"type", "string"}}}, {"city", {{"type", "string"}}}}}}}}},
      {"properties", {{"name", {{"type", "string"}}}, {"address", {{"$ref", "#/$defs/address"}}}}},
      {"additionalProperties", false}};
  server.AddTool(
      {.definition =
           Tool("json_schema_2020_12_tool",
                "Tool with JSON Schema 2020-12 features for conformance testing (SEP-1613)", schema_2020_12),
       .call = [](RequestContext&, const json& arguments) -> asio::awaitable<Reply> {
         co_return Content({Text(arguments.dump())});
       }});
}

void AddResources(latchkey::mcp::Server& server) {
  auto text = [](std::string uri, std::string name, std::string mime, std::string body) {
    json definition = {
        {"uri", uri}, {"name", name}, {"description", "The " + name + " resource"}, {"mimeType", mime}};
    return latchkey::mcp::Resource{
        .definition = definition,
        .read = [uri, mime, body](RequestContext&, const json&) -> asio::awaitable<Reply> {
          co_return Reply::Ok({{"contents", {{{"uri", uri}, {"mimeType", mime}, {"text", body}}}}});
        }};
  };
  server.AddResource(text("test://static-text", "static-text", "text/plain",
                          "This is the content of the static text resource."));
  server.AddResource(
      text("test://watched-resource", "watched-resource", "text/plain", "Watched resource content"));
  server.AddResource(
      {.definition = {{"uri", "test://static-binary"},
                      {"name", "static-binary"},
                      {"description", "A binary resource"},
                      {"mimeType", "image/png"}},
       .read = [](RequestContext&, const json&) -> asio::awaitable<Reply> {
         co_return Reply::Ok(
             {{"contents", {{{"uri", "test://static-binary"}, {"mimeType", "image/png"}, {"blob", kPng}}}}});
       }});
  server.AddResourceTemplate(
      {.definition = {{"uriTemplate", "test://template/{id}/data"},
                      {"name", "template-data"},
                      {"description", "Data for an id"},
                      {"mimeType", "application/json"}},
       .read = [](RequestContext&, const json& params) -> asio::awaitable<Reply> {
         const std::string id = params["variables"]["id"];
         json data = {{"id", id}, {"templateTest", true}, {"data", "Data for ID: " + id}};
         co_return Reply::Ok(
             {{"contents",
               {{{"uri", params["uri"]}, {"mimeType", "application/json"}, {"text", data.dump()}}}}});
       }});
}

void AddPrompts(latchkey::mcp::Server& server) {
  auto user = [](json content) { return json{{"role", "user"}, {"content", std::move(content)}}; };
  server.AddPrompt(
      {.definition = {{"name", "test_simple_prompt"}, {"description", "A prompt without arguments"}},
       .get = [user](RequestContext&, const json&) -> asio::awaitable<Reply> {
         co_return Reply::Ok({{"messages", {user(Text("This is a simple prompt for testing."))}}});
       }});
  server.AddPrompt(
      {.definition = {{"name", "test_prompt_with_arguments"},
                      {"description", "A prompt with arguments"},
                      {"arguments",
                       {{{"name", "arg1"}, {"description", "First test argument"}, {"required", true}},
                        {{"name", "arg2"}, {"description", "Second test argument"}, {"required", true}}}}},
       .get = [user](RequestContext&, const json& arguments) -> asio::awaitable<Reply> {
         co_return Reply::Ok({{"messages",
                               {user(Text("Prompt with arguments: arg1='" + arguments.value("arg1", "") +
                                          "', arg2='" + arguments.value("arg2", "") + "'"))}}});
       }});
  server.AddPrompt(
      {.definition = {{"name", "test_prompt_with_embedded_resource"},
                      {"description", "A prompt with an embedded resource"},
                      {"arguments",
                       {{{"name", "resourceUri"},
                         {"description", "URI of the resource to embed"},
                         {"required", true}}}}},
       .get = [user](RequestContext&, const json& arguments) -> asio::awaitable<Reply> {
         json resource = {{"type", "resource"},
                          {"resource",
                           {{"uri", arguments.value("resourceUri", "")},
                            {"mimeType", "text/plain"},
                            {"text", "Embedded resource content for testing."}}}};
         co_return Reply::Ok(
             {{"messages", {user(resource), user(Text("Please process the embedded resource above."))}}});
       }});
  server.AddPrompt(
      {.definition = {{"name", "test_prompt_with_image"}, {"description", "A prompt with an image"}},
       .get = [user](RequestContext&, const json&) -> asio::awaitable<Reply> {
         json image = {{"type", "image"}, {"data", kPng}, {"mimeType", "image/png"}};
         co_return Reply::Ok({{"messages", {user(image), user(Text("Please analyze the image above."))}}});
       }});
  server.SetCompletion([](RequestContext&, const json& params) -> asio::awaitable<Reply> {
    // Completes arg1 of test_prompt_with_arguments from a fixed list by prefix.
    json values = json::array();
    const std::string typed = params["argument"].value("value", "");
    for (const char* candidate : {"test", "testing", "tested", "example"}) {
      if (std::string_view(candidate).starts_with(typed)) values.push_back(candidate);
    }
    co_return Reply::Ok({{"completion", {{"values", values}, {"total", values.size()}, {"hasMore", false}}}});
  });
}

}  // namespace

int main(int argc, char** argv) {
  latchkey::InitLogging("warn");
  latchkey::gateway::HttpServerOptions options;
  options.port = argc > 1 ? static_cast<uint16_t>(std::stoi(argv[1])) : 0;
  options.workers = 2;
  auto listening = latchkey::gateway::HttpServer::Listen(options);
  if (!listening.ok()) {
    std::cerr << listening.status().message() << "\n";
    return 1;
  }
  auto server = std::make_shared<latchkey::mcp::Server>(
      latchkey::mcp::ServerInfo{.name = "latchkey-conformance-fixture",
                                .version = "1.0.0",
                                .title = "latchkey MCP conformance fixture",
                                .description = "",
                                .instructions = ""});
  AddTools(*server);
  AddResources(*server);
  AddPrompts(*server);
  latchkey::mcp::StreamableHttp transport(server, latchkey::SystemRandom::Instance(),
                                          latchkey::SteadyClock::Instance(),
                                          {.retry = std::chrono::milliseconds(500)});
  latchkey::gateway::HttpServer& http = **listening;
  latchkey::Status serving = http.Serve(
      [&transport](latchkey::gateway::Request& request, int) -> asio::awaitable<latchkey::gateway::Response> {
        if (request.target() == "/mcp")
          co_return co_await latchkey::gateway::ServeMcp(transport, request, "conformance");
        latchkey::gateway::Response missing;
        missing.result(boost::beast::http::status::not_found);
        missing.version(request.version());
        missing.prepare_payload();
        co_return missing;
      });
  if (!serving.ok()) {
    std::cerr << serving.message() << "\n";
    return 1;
  }
  std::cout << "READY http://localhost:" << http.port() << "/mcp" << std::endl;
  latchkey::gateway::WaitForShutdownSignal();
  transport.CloseAll();
  http.Stop();
  return 0;
}
