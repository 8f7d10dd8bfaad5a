// mcp::Server: what an MCP server offers (SPEC §5), independent of any transport: its
// identity, tools, resources, resource templates, prompts and completions, each a
// definition (the JSON the spec lists) and an asynchronous handler. Build it once at
// start-up, then share it (const) with every Session; Sessions speak the protocol.
//
//   mcp::Server server({.name = "latchkey", .version = "0.1.0"});
//   server.AddTool({.definition = {{"name", "echo"}, {"inputSchema", ...}},
//                   .call = [](mcp::RequestContext& context, const json& arguments)
//                       -> boost::asio::awaitable<mcp::Reply> { co_return mcp::Reply::Ok(...); }});
//
// Thread safety: the Add* calls are not; a built Server is read-only and safe to share.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <chrono>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "mcp/json_rpc.h"

namespace latchkey::mcp {

class RequestContext;  // session.h

// A handler's answer: a result, or a JSON-RPC error.
struct Reply {
  json result = json::object();
  std::optional<RpcError> error;

  static Reply Ok(json result) { return {.result = std::move(result), .error = std::nullopt}; }
  static Reply Fail(int code, std::string message, json data = nullptr) {
    return {.result = nullptr,
            .error = RpcError{.code = code, .message = std::move(message), .data = std::move(data)}};
  }
};

using Handler = std::function<boost::asio::awaitable<Reply>(RequestContext&, const json&)>;

// The protocol revisions this module speaks, newest first.
inline constexpr std::string_view kLatestVersion = "2025-11-25";
inline constexpr std::string_view kSupportedVersions[] = {"2025-11-25", "2025-06-18", "2025-03-26"};
bool IsSupportedVersion(std::string_view version);

struct ServerInfo {
  std::string name;
  std::string version;
  std::string title;         // optional
  std::string description;   // optional
  std::string instructions;  // optional: sent in the initialize result
};

struct ServerOptions {
  size_t page_size = 100;                                   // items per */list page
  std::chrono::milliseconds client_request_timeout{60000};  // sampling, elicitation, roots
};

struct Tool {
  json definition;  // name, title?, description, inputSchema, outputSchema?, annotations?
  Handler call;     // receives the call's "arguments" (an object); answers a CallToolResult
};

struct Resource {
  json definition;  // uri, name, title?, description?, mimeType?
  Handler read;     // receives {"uri": ...}; answers a ReadResourceResult
};

struct ResourceTemplate {
  json definition;  // uriTemplate, name, ...
  Handler read;     // receives {"uri": ..., "variables": {...}}; answers a ReadResourceResult
};

struct Prompt {
  json definition;  // name, title?, description?, arguments?
  Handler get;      // receives the "arguments" object; answers a GetPromptResult
};

class Server {
 public:
  explicit Server(ServerInfo info, ServerOptions options = {});

  void AddTool(Tool tool);
  void AddResource(Resource resource);
  void AddResourceTemplate(ResourceTemplate resource_template);
  void AddPrompt(Prompt prompt);
  void SetCompletion(Handler complete);  // receives completion/complete's params

  const ServerInfo& info() const { return info_; }
  const ServerOptions& options() const { return options_; }
  json Capabilities() const;

  const Tool* FindTool(std::string_view name) const;
  const Resource* FindResource(std::string_view uri) const;
  // The template whose uriTemplate matches `uri`, with the variables it binds.
  std::optional<std::pair<const ResourceTemplate*, json>> MatchTemplate(std::string_view uri) const;
  const Prompt* FindPrompt(std::string_view name) const;
  const Handler* completion() const { return complete_ ? &complete_ : nullptr; }

  // The definitions in the order they were added, for the */list methods.
  const std::vector<json>& tool_list() const { return tool_list_; }
  const std::vector<json>& resource_list() const { return resource_list_; }
  const std::vector<json>& template_list() const { return template_list_; }
  const std::vector<json>& prompt_list() const { return prompt_list_; }

 private:
  ServerInfo info_;
  ServerOptions options_;
  std::map<std::string, Tool, std::less<>> tools_;
  std::map<std::string, Resource, std::less<>> resources_;
  std::vector<ResourceTemplate> templates_;
  std::map<std::string, Prompt, std::less<>> prompts_;
  Handler complete_;
  std::vector<json> tool_list_, resource_list_, template_list_, prompt_list_;
};

// RFC 6570 simple expansion matched backwards: "file:///{path}" against a URI. Each
// {name} binds one non-empty run of characters without '/' ({+name} may span '/').
std::optional<json> MatchUriTemplate(std::string_view uri_template, std::string_view uri);

// One page of `items` for a */list request: {key: [...], nextCursor?}. A cursor this
// server did not hand out is an invalid-params error.
Reply Page(const std::vector<json>& items, const json& params, std::string_view key, size_t page_size);

}  // namespace latchkey::mcp
