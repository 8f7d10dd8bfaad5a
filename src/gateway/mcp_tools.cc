#include "gateway/mcp_tools.h"

#include <array>
#include <boost/asio/this_coro.hpp>

#include "common/ascii.h"
#include "common/encoding.h"
#include "common/log.h"
#include "gateway/http/offload.h"
#include "gateway/http/problem.h"
#include "mcp/session.h"
#include "oauth/form_encoding.h"
#include "oauth/token_fields.h"
#include "vault/json_views.h"

namespace latchkey::gateway {

namespace asio = boost::asio;
namespace http = boost::beast::http;
using mcp::json;
using mcp::Reply;
using mcp::RequestContext;

namespace {

constexpr std::array kMethods = {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"};
// Answer headers an agent may need; the rest stay out of the model's context.
constexpr std::array kKeptHeaders = {"content-type",
                                     "content-length",
                                     "location",
                                     "retry-after",
                                     "etag",
                                     "last-modified",
                                     "link",
                                     "x-ratelimit-remaining",
                                     "x-ratelimit-reset",
                                     "www-authenticate",
                                     "x-accepted-oauth-scopes"};

const Caller* CallerOf(const RequestContext& context) {
  const auto* caller = std::any_cast<std::shared_ptr<const Caller>>(&context.caller());
  return caller != nullptr ? caller->get() : nullptr;
}

// Blocking: the agent the caller is, with its policy.
StatusOr<vault::AuthenticatedAgent> Identify(ProxyRuntime& runtime, const Caller& caller) {
  if (!caller.agent_key.empty()) return runtime.vault().agents().Authenticate(caller.agent_key.reveal());
  return runtime.vault().agents().Find(caller.agent_name);
}

// A problem as a tool error: the code and the detail first, for the model to read.
json ProblemResult(const json& problem) {
  const std::string code = problem.value("code", "internal_error");
  std::string text =
      "latchkey error " + code + ": " + problem.value("detail", "the call was not carried out.");
  for (const char* link : {"reconsent_url", "reconnect_url"}) {
    if (problem.contains(link) && problem[link].is_string() && !problem[link].get<std::string>().empty()) {
      text += "\n" + std::string(link) + ": " + problem[link].get<std::string>();
    }
  }
  json structured = {{"status", problem.value("status", 500)},
                     {"headers", json::object()},
                     {"body", ""},
                     {"error", problem}};
  return mcp::ToolError(std::move(text), std::move(structured));
}

Reply Problem(const ProblemDetails& problem) {
  json body = json::parse(problem.ToResponse(11).body(), nullptr, false);
  return Reply::Ok(ProblemResult(body));
}

Reply InvalidArguments(const std::string& why) {
  return Problem(BadRequest("the tool arguments are invalid: " + why));
}

bool IsToken(std::string_view name) {
  if (name.empty()) return false;
  return std::ranges::all_of(name, [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) != 0 ||
           std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
  });
}

std::string QueryValue(const json& value) {
  return value.is_string() ? value.get<std::string>() : value.dump();
}

// The proxy request an http_request call makes, or why its arguments are refused.
std::variant<Request, std::string> BuildRequest(const json& arguments) {
  auto text = [&](const char* name) -> std::optional<std::string> {
    auto found = arguments.find(name);
    if (found == arguments.end() || !found->is_string()) return std::nullopt;
    return found->get<std::string>();
  };
  std::optional<std::string> connection = text("connection");
  std::optional<std::string> method = text("method");
  std::optional<std::string> path = text("path");
  if (!connection || connection->empty() || connection->find_first_of("/?#%\\") != std::string::npos) {
    return std::string("\"connection\" must be a connection name");
  }
  if (!method || std::ranges::find(kMethods, *method) == kMethods.end()) {
    return std::string("\"method\" must be one of GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS");
  }
  if (!path || !path->starts_with('/')) return std::string("\"path\" must be a string starting with '/'");

  std::string target = "/proxy/" + *connection + *path;
  if (auto query = arguments.find("query"); query != arguments.end() && !query->is_null()) {
    if (!query->is_object()) return std::string("\"query\" must be an object of parameter names to values");
    std::string encoded;
    for (const auto& [name, value] : query->items()) {
      for (const json& one : value.is_array() ? value : json::array({value})) {
        if (one.is_object() || one.is_array() || one.is_null()) {
          return "\"query\"." + name + " must be a string, a number, a boolean, or a list of them";
        }
        encoded += (encoded.empty() ? "" : "&") + oauth::FormUrlEncode(name) + "=" +
                   oauth::FormUrlEncode(QueryValue(one));
      }
    }
    if (!encoded.empty()) target += (path->find('?') == std::string::npos ? "?" : "&") + encoded;
  }

  Request request;
  request.version(11);
  request.method_string(*method);
  request.target(target);
  if (auto headers = arguments.find("headers"); headers != arguments.end() && !headers->is_null()) {
    if (!headers->is_object()) return std::string("\"headers\" must be an object of header names to strings");
    for (const auto& [name, value] : headers->items()) {
      if (!IsToken(name)) return "header name '" + name + "' is not a valid HTTP header name";
      if (!value.is_string()) return "header " + name + " must be a string";
      const std::string& given = value.get_ref<const std::string&>();
      if (given.find_first_of(std::string_view("\r\n\0", 3)) != std::string::npos) {
        return "header " + name + " contains CR, LF or NUL";
      }
      request.set(name, given);
    }
  }
  if (auto body = arguments.find("body"); body != arguments.end() && !body->is_null()) {
    if (body->is_string()) {
      request.body() = body->get<std::string>();
    } else {
      request.body() = body->dump();
      if (request[http::field::content_type].empty())
        request.set(http::field::content_type, "application/json");
    }
  }
  request.prepare_payload();
  return request;
}

// The upstream's answer as a tool result: status, kept headers, the body up to a cap.
asio::awaitable<json> AnswerResult(Response& response, size_t max_body) {
  std::string body = std::move(response.body());
  bool truncated = false;
  if (response.body_stream) {
    StreamPiece piece;
    while (body.size() <= max_body) {
      StatusOr<size_t> read = co_await response.body_stream->Read(piece.span());
      if (!read.ok() || *read == 0) break;
      body.append(piece.data(), *read);
    }
    truncated = body.size() > max_body;
    response.body_stream.reset();  // the rest is not read: that upstream connection closes
  }
  if (body.size() > max_body) {
    body.resize(max_body);
    truncated = true;
  }
  json headers = json::object();
  response.ForEachField([&](std::string_view field, std::string_view value) {
    std::string name = AsciiLower(field);
    if (std::ranges::find(kKeptHeaders, name) != kKeptHeaders.end()) headers[name] = std::string(value);
  });
  const int status = response.result_int();
  json structured = {{"status", status}, {"headers", headers}, {"truncated", truncated}};
  const bool text = IsValidUtf8(body);
  structured["body"] = text ? body : Base64Encode(body);
  structured["body_encoding"] = text ? "utf-8" : "base64";

  std::string summary = "HTTP " + std::to_string(status) + " " + std::string(response.reason());
  if (status >= 400) {
    summary = "The upstream API refused or failed the request: " + summary +
              ". The action was NOT carried out as asked; read the body for why.";
  }
  if (truncated) summary += "\n(The body was cut at " + std::to_string(max_body) + " bytes.)";
  summary += "\n\n" + (text ? body : "(binary body, base64 in structuredContent.body)");
  json result = mcp::ToolResult(mcp::TextContent(std::move(summary)), std::move(structured));
  if (status >= 400) result["isError"] = true;
  co_return result;
}

// Shows `url` to the user through URL-mode elicitation when the client can; says what happened.
asio::awaitable<std::string> OfferLink(RequestContext& context, const std::string& url,
                                       const std::string& why) {
  if (url.empty() || !context.session().ClientDeclared("elicitation", "url")) co_return std::string();
  json params = json::object();
  params["mode"] = "url";
  params["url"] = url;
  params["message"] = why;
  params["elicitationId"] = "latchkey-" + std::to_string(std::hash<std::string>{}(url));
  Reply answer = co_await context.Ask("elicitation/create", std::move(params));
  if (answer.error) co_return "\n(The link could not be shown to the user: " + answer.error->message + ")";
  co_return "\n(The link was shown to the user, who chose: " + answer.result.value("action", "?") +
      ". Retry only after they have finished in the browser.)";
}

json StringArray() { return {{"type", "array"}, {"items", {{"type", "string"}}}}; }

json ListConnectionsDefinition() {
  json connection = {{"type", "object"},
                     {"properties",
                      {{"name", {{"type", "string"}}},
                       {"provider", {{"type", "string"}}},
                       {"status", {{"type", "string"}}},
                       {"health", {{"type", "string"}}},
                       {"granted_scopes", StringArray()},
                       {"expires_at", {{"type", {"string", "null"}}}},
                       {"allowed",
                        {{"type", "array"},
                         {"items",
                          {{"type", "object"},
                           {"properties", {{"methods", StringArray()}, {"path", {{"type", "string"}}}}}}}}}}},
                     {"required", {"name", "provider", "status", "health", "granted_scopes", "allowed"}}};
  return {
      {"name", "list_connections"},
      {"title", "List connections"},
      {"description",
       "Lists the accounts (connections) this agent may call through latchkey, with each one's provider, "
       "status, health, granted OAuth scopes and the methods and paths the agent's policy allows. "
       "Never returns a credential."},
      {"inputSchema", {{"type", "object"}, {"properties", json::object()}, {"additionalProperties", false}}},
      {"outputSchema",
       {{"type", "object"},
        {"properties", {{"connections", {{"type", "array"}, {"items", connection}}}}},
        {"required", {"connections"}}}},
      {"annotations", {{"readOnlyHint", true}, {"openWorldHint", false}}}};
}

json HttpRequestDefinition() {
  return {
      {"name", "http_request"},
      {"title", "HTTP request through latchkey"},
      {"description",
       "Calls the API of one connection through latchkey, which adds the credential, refreshes expired "
       "tokens and retries safely. `path` is relative to the connection's API base URL. If the result has "
       "isError, the action was NOT carried out: read the error code and detail (for a missing scope or "
       "a revoked grant a human must act, see request_access)."},
      {"inputSchema",
       {{"type", "object"},
        {"properties",
         {{"connection", {{"type", "string"}, {"description", "The connection name (see list_connections)"}}},
          {"method", {{"type", "string"}, {"enum", kMethods}}},
          {"path", {{"type", "string"}, {"description", "Path below the API base URL, starting with /"}}},
          {"query",
           {{"type", "object"}, {"description", "Query parameters"}, {"additionalProperties", true}}},
          {"headers",
           {{"type", "object"},
            {"description", "Extra request headers (Authorization and Cookie are never forwarded)"},
            {"additionalProperties", {{"type", "string"}}}}},
          {"body", {{"description", "Request body: a string, or JSON (sent as application/json)"}}}}},
        {"required", {"connection", "method", "path"}},
        {"additionalProperties", false}}},
      {"outputSchema",
       {{"type", "object"},
        {"properties",
         {{"status", {{"type", "integer"}}},
          {"headers", {{"type", "object"}, {"additionalProperties", {{"type", "string"}}}}},
          {"body", {{"type", "string"}}},
          {"body_encoding", {{"type", "string"}, {"enum", {"utf-8", "base64"}}}},
          {"truncated", {{"type", "boolean"}}},
          {"error",
           {{"type", "object"}, {"description", "latchkey's problem details, when latchkey refused"}}}}},
        {"required", {"status", "headers", "body"}}}},
      {"annotations", {{"openWorldHint", true}}}};
}

json RequestAccessDefinition() {
  return {{"name", "request_access"},
          {"title", "Request access"},
          {"description",
           "Returns the consent link a human must open to grant this connection more OAuth scopes, or to "
           "reconnect it after its grant was revoked. It does not grant anything itself: access exists only "
           "after the human has finished in the browser."},
          {"inputSchema",
           {{"type", "object"},
            {"properties",
             {{"connection", {{"type", "string"}}},
              {"scopes",
               {{"type", "array"}, {"items", {{"type", "string"}}}, {"description", "Scopes to add"}}}}},
            {"required", {"connection"}},
            {"additionalProperties", false}}},
          {"outputSchema",
           {{"type", "object"},
            {"properties",
             {{"connection", {{"type", "string"}}},
              {"granted", {{"type", "boolean"}}},
              {"granted_scopes", StringArray()},
              {"missing_scopes", StringArray()},
              {"consent_url", {{"type", "string"}}}}},
            {"required", {"connection", "granted", "granted_scopes", "missing_scopes", "consent_url"}}}},
          {"annotations", {{"readOnlyHint", true}, {"openWorldHint", false}}}};
}

class Tools {
 public:
  Tools(ProxyRuntime& runtime, McpToolOptions options) : runtime_(runtime), options_(options) {}

  asio::awaitable<Reply> ListConnections(RequestContext& context, const json&) {
    const Caller* caller = CallerOf(context);
    if (caller == nullptr) co_return Problem(AgentUnauthenticated());
    std::optional<Reply> refused;
    json connections = json::array();
    co_await Offload(runtime_.blocking(), [&] {
      auto agent = Identify(runtime_, *caller);
      if (!agent.ok()) {
        refused = Problem(AgentUnauthenticated());
        return;
      }
      auto all = runtime_.vault().store().ListConnections();
      if (!all.ok()) {
        refused = Problem(InternalProblem("the connections cannot be read"));
        return;
      }
      for (const store::ConnectionRecord& record : *all) {
        if (record.status == store::ConnectionStatus::kDisconnected ||
            !agent->policy.MayUseConnection(record.name)) {
          continue;
        }
        json allowed = json::array();
        for (const policy::PolicyRule& rule : agent->policy.rules()) {
          if (rule.connection != "*" && rule.connection != record.name) continue;
          allowed.push_back({{"methods", rule.methods.empty() ? std::vector<std::string>{"*"} : rule.methods},
                             {"path", rule.path_glob}});
        }
        connections.push_back(
            {{"name", record.name},
             {"provider", record.provider},
             {"status", store::ConnectionStatusName(record.status)},
             {"health", vault::ConnectionHealth(record)},
             {"granted_scopes", record.scopes},
             {"expires_at", record.expires_at ? json(FormatRfc3339(*record.expires_at)) : json()},
             {"allowed", std::move(allowed)}});
      }
    });
    if (refused) co_return std::move(*refused);
    std::string text = connections.empty() ? "This agent may use no connection." : connections.dump(2);
    co_return Reply::Ok(mcp::ToolResult(mcp::TextContent(std::move(text)), {{"connections", connections}}));
  }

  asio::awaitable<Reply> HttpRequest(RequestContext& context, const json& arguments) {
    const Caller* caller = CallerOf(context);
    if (caller == nullptr) co_return Problem(AgentUnauthenticated());
    const int worker = runtime_.WorkerOf(co_await asio::this_coro::executor);
    if (worker < 0) co_return Problem(InternalProblem("the tool ran outside the gateway's workers"));
    auto built = BuildRequest(arguments);
    if (auto* why = std::get_if<std::string>(&built)) co_return InvalidArguments(*why);
    Request& request = std::get<Request>(built);
    // latchkey's own problem comes from the runtime, never from a header: an upstream
    // could send Latchkey-Error and a reconsent_url of its choosing.
    std::optional<ProblemDetails> own;
    Response response = co_await runtime_.proxy().Handle(request, worker, caller, &own);
    if (!own) co_return Reply::Ok(co_await AnswerResult(response, options_.max_body_bytes));
    json problem = json::parse(response.body(), nullptr, false);
    if (!problem.is_object()) problem = {{"code", own->code}, {"status", response.result_int()}};
    json result = ProblemResult(problem);
    const std::string link = problem.value("reconsent_url", problem.value("reconnect_url", ""));
    std::string shown = co_await OfferLink(
        context, link,
        "latchkey needs you to approve access for connection " + problem.value("connection", "") + ".");
    if (!shown.empty())
      result["content"][0]["text"] = result["content"][0]["text"].get<std::string>() + shown;
    co_return Reply::Ok(std::move(result));
  }

  asio::awaitable<Reply> RequestAccess(RequestContext& context, const json& arguments) {
    const Caller* caller = CallerOf(context);
    if (caller == nullptr) co_return Problem(AgentUnauthenticated());
    auto name = arguments.find("connection");
    if (name == arguments.end() || !name->is_string())
      co_return InvalidArguments("\"connection\" must be a string");
    std::vector<std::string> scopes;
    if (auto given = arguments.find("scopes"); given != arguments.end() && !given->is_null()) {
      constexpr size_t kMaxScopes = 50;
      if (!given->is_array() || given->size() > kMaxScopes) {
        co_return InvalidArguments("\"scopes\" must be a list of at most 50 strings");
      }
      for (const json& scope : *given) {
        if (!scope.is_string() || !oauth::IsScopeToken(scope.get<std::string>())) {
          co_return InvalidArguments(
              "every scope must be 1 to 200 printable ASCII characters without spaces, quotes, backslashes "
              "or "
              "commas (RFC 6749 scope-token)");
        }
        scopes.push_back(scope.get<std::string>());
      }
    }
    const std::string connection = name->get<std::string>();
    std::optional<Reply> refused;
    json structured;
    co_await Offload(runtime_.blocking(), [&] {
      auto agent = Identify(runtime_, *caller);
      if (!agent.ok()) {
        refused = Problem(AgentUnauthenticated());
        return;
      }
      auto record = runtime_.vault().connections().Get(connection);
      if (!agent->policy.MayUseConnection(connection) || !record.ok() ||
          record->status == store::ConnectionStatus::kDisconnected) {
        refused =
            Problem(PolicyDenied(connection, "*", "/"));  // the same for a connection that does not exist
        return;
      }
      std::vector<std::string> missing;
      for (const std::string& scope : scopes) {
        if (std::ranges::find(record->scopes, scope) == record->scopes.end()) missing.push_back(scope);
      }
      const bool reconnect = record->status == store::ConnectionStatus::kNeedsReauth;
      std::string url;
      if (reconnect) {
        url = runtime_.links().Reconnect(*record, agent->record.name);
      } else if (!missing.empty()) {
        url = runtime_.links().Reconsent(*record, missing, agent->record.name);
      }
      structured = {{"connection", connection},
                    {"granted", !reconnect && missing.empty()},
                    {"granted_scopes", record->scopes},
                    {"missing_scopes", missing},
                    {"consent_url", url}};
      if ((reconnect || !missing.empty()) && url.empty()) {
        refused =
            Reply::Ok(mcp::ToolError("Connection " + connection +
                                         " needs a human, but its provider has no browser consent flow: an "
                                         "operator must update its credentials with `latchkey connection "
                                         "import` or `latchkey connect`. "
                                         "Access is NOT granted.",
                                     structured));
      }
    });
    if (refused) co_return std::move(*refused);
    if (structured["granted"].get<bool>()) {
      co_return Reply::Ok(
          mcp::ToolResult(mcp::TextContent("Connection " + connection +
                                           " already has every scope asked for; no consent is needed."),
                          structured));
    }
    const std::string url = structured["consent_url"];
    std::string text =
        "Access is NOT granted yet. A human must open this link and approve, then the call can be "
        "retried:\n" +
        url;
    text += co_await OfferLink(context, url, "Approve access for connection " + connection + " in latchkey.");
    co_return Reply::Ok(mcp::ToolResult(mcp::TextContent(std::move(text)), structured));
  }

 private:
  ProxyRuntime& runtime_;
  const McpToolOptions options_;
};

}  // namespace

void AddLatchkeyTools(mcp::Server& server, ProxyRuntime& runtime, McpToolOptions options) {
  auto tools = std::make_shared<Tools>(runtime, options);
  server.AddTool({.definition = ListConnectionsDefinition(),
                  .call = [tools](RequestContext& context, const json& arguments) {
                    return tools->ListConnections(context, arguments);
                  }});
  server.AddTool({.definition = HttpRequestDefinition(),
                  .call = [tools](RequestContext& context, const json& arguments) {
                    return tools->HttpRequest(context, arguments);
                  }});
  server.AddTool({.definition = RequestAccessDefinition(),
                  .call = [tools](RequestContext& context, const json& arguments) {
                    return tools->RequestAccess(context, arguments);
                  }});
}

std::shared_ptr<mcp::Server> MakeLatchkeyMcpServer(ProxyRuntime& runtime, McpToolOptions options) {
  auto server = std::make_shared<mcp::Server>(mcp::ServerInfo{
      .name = "latchkey",
      .version = "0.1.0",
      .title = "latchkey",
      .description = "Authenticated API calls for agents: latchkey holds the credentials",
      .instructions =
          "Call APIs with http_request; latchkey adds the credentials. A result with isError means "
          "the action was NOT carried out. For scope_insufficient or reauth_required a human must "
          "open the consent link (request_access gives it); tell the user, do not retry blindly."});
  AddLatchkeyTools(*server, runtime, options);
  return server;
}

}  // namespace latchkey::gateway
