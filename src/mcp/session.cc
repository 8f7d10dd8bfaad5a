#include "mcp/session.h"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/experimental/concurrent_channel.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "common/log.h"

namespace latchkey::mcp {

namespace asio = boost::asio;
using namespace boost::asio::experimental::awaitable_operators;

namespace {

constexpr std::string_view kLevelNames[] = {"debug", "info",     "notice", "warning",
                                            "error", "critical", "alert",  "emergency"};

const json& EmptyObject() {
  static const json empty = json::object();
  return empty;
}

// A required string member of a request's params, or the invalid-params error naming it.
std::optional<std::string> StringParam(const json& params, std::string_view name) {
  auto found = params.find(name);
  if (found == params.end() || !found->is_string()) return std::nullopt;
  return found->get<std::string>();
}

Reply ResourceNotFound(const std::string& uri) {
  return Reply::Fail(rpc_code::kResourceNotFound, "Resource not found", {{"uri", uri}});
}

Reply MissingParam(std::string_view name) {
  return Reply::Fail(rpc_code::kInvalidParams,
                     "Invalid params: \"" + std::string(name) + "\" is required and must be a string");
}

// The client capability a server-to-client request needs, and the mode within it.
std::pair<std::string_view, std::string_view> CapabilityFor(std::string_view method, const json& params) {
  if (method == "sampling/createMessage") return {"sampling", {}};
  if (method == "roots/list") return {"roots", {}};
  if (method == "elicitation/create")
    return {"elicitation", params.value("mode", "form") == "url" ? "url" : "form"};
  return {{}, {}};
}

}  // namespace

std::optional<LogLevel> ParseLogLevel(std::string_view name) {
  for (size_t i = 0; i < std::size(kLevelNames); ++i) {
    if (kLevelNames[i] == name) return static_cast<LogLevel>(i);
  }
  return std::nullopt;
}

std::string_view LogLevelName(LogLevel level) { return kLevelNames[static_cast<size_t>(level)]; }

// A request being handled: whether the client cancelled it, and the client request it
// is waiting on (so a cancellation can end that wait).
struct RequestContext::InFlight {
  std::atomic<bool> cancelled{false};
  std::mutex mu;
  std::shared_ptr<Session::Pending> waiting;  // guarded by mu
};

// A request the server sent to the client, waiting for its answer.
struct Session::Pending {
  using Channel = asio::experimental::concurrent_channel<void(boost::system::error_code, Reply)>;
  explicit Pending(const asio::any_io_executor& executor) : answer(executor, 1) {}
  Channel answer;
};

// ---------------------------------------------------------------------------------------
// RequestContext

RequestContext::RequestContext(Session& session, const RpcMessage& request, std::shared_ptr<Outlet> outlet,
                               std::shared_ptr<InFlight> state, std::any caller)
    : session_(session),
      id_(request.id),
      outlet_(std::move(outlet)),
      state_(std::move(state)),
      caller_(std::move(caller)) {
  if (request.params.is_object()) {
    auto meta = request.params.find("_meta");
    if (meta != request.params.end() && meta->is_object()) {
      auto token = meta->find("progressToken");
      if (token != meta->end() && (token->is_string() || token->is_number_integer()))
        progress_token_ = *token;
    }
  }
}

bool RequestContext::cancelled() const { return state_->cancelled.load(); }

void RequestContext::Notify(std::string_view method, json params) {
  outlet_->Send(MakeNotification(method, std::move(params)));
}

void RequestContext::Progress(double progress, std::optional<double> total, std::string_view message) {
  if (!progress_token_ || (last_progress_ && progress <= *last_progress_)) return;
  last_progress_ = progress;
  json params = {{"progressToken", *progress_token_}, {"progress", progress}};
  if (total) params["total"] = *total;
  if (!message.empty()) params["message"] = message;
  Notify("notifications/progress", std::move(params));
}

void RequestContext::Log(LogLevel level, std::string_view logger, json data) {
  if (level < session_.log_level()) return;
  json params = {{"level", LogLevelName(level)}, {"data", std::move(data)}};
  if (!logger.empty()) params["logger"] = logger;
  Notify("notifications/message", std::move(params));
}

void RequestContext::EndConnection() {
  if (session_.protocol_version() >= "2025-11-25") outlet_->EndConnection();
}

asio::awaitable<Reply> RequestContext::Ask(std::string_view method, json params) {
  auto [capability, mode] = CapabilityFor(method, params);
  if (!capability.empty() && !session_.ClientDeclared(capability, mode)) {
    co_return Reply::Fail(rpc_code::kInvalidRequest,
                          "the client did not declare the " + std::string(capability) +
                              (mode.empty() ? "" : " (" + std::string(mode) + " mode)") +
                              " capability, so the server cannot send " + std::string(method));
  }
  const asio::any_io_executor executor = co_await asio::this_coro::executor;
  auto pending = std::make_shared<Session::Pending>(executor);
  json id;
  {
    std::lock_guard lock(session_.mu_);
    if (session_.closed_) co_return Reply::Fail(rpc_code::kInternalError, "the session has ended");
    id = ++session_.next_request_id_;
    session_.pending_[IdKey(id)] = pending;
  }
  {
    std::lock_guard lock(state_->mu);
    state_->waiting = pending;
  }
  if (cancelled()) pending->answer.cancel();
  outlet_->Send(MakeRequest(id, method, std::move(params)));

  asio::steady_timer timer(executor, session_.server().options().client_request_timeout);
  auto outcome = co_await (pending->answer.async_receive(asio::as_tuple(asio::use_awaitable)) ||
                           timer.async_wait(asio::as_tuple(asio::use_awaitable)));
  {
    std::lock_guard lock(session_.mu_);
    session_.pending_.erase(IdKey(id));
  }
  {
    std::lock_guard lock(state_->mu);
    state_->waiting.reset();
  }
  if (outcome.index() == 1) {
    co_return Reply::Fail(rpc_code::kInternalError,
                          "the client did not answer " + std::string(method) + " in time");
  }
  auto [error, reply] = std::move(std::get<0>(outcome));
  if (error) {
    co_return Reply::Fail(rpc_code::kInternalError,
                          "the request was cancelled or the session ended before the "
                          "client answered " +
                              std::string(method));
  }
  co_return reply;
}

// ---------------------------------------------------------------------------------------
// Session

Session::Session(std::shared_ptr<const Server> server, std::string principal)
    : server_(std::move(server)), principal_(std::move(principal)) {}

Session::~Session() { Close(); }

asio::awaitable<void> Session::Handle(RpcMessage message, std::shared_ptr<Outlet> outlet, std::any caller) {
  if (message.is_notification()) {
    OnNotification(message);
    co_return;
  }
  if (message.is_response()) {
    OnResponse(message);
    co_return;
  }
  const std::string key = IdKey(message.id);
  auto state = std::make_shared<RequestContext::InFlight>();
  std::optional<RpcError> refused;
  {
    std::lock_guard lock(mu_);
    if (closed_) {
      refused = RpcError{.code = rpc_code::kInvalidRequest,
                         .message = "Invalid Request: the session has ended",
                         .data = nullptr};
    } else if (!in_flight_.emplace(key, state).second) {
      refused =
          RpcError{.code = rpc_code::kInvalidRequest,
                   .message = "Invalid Request: id " + key + " is already used by a request in progress",
                   .data = nullptr};
    }
  }
  if (refused) {
    outlet->Send(MakeError(message.id, *refused));
    co_return;
  }

  RequestContext context(*this, message, outlet, state, std::move(caller));
  Reply reply;
  try {
    reply = co_await Dispatch(context, message);
  } catch (const json::exception& error) {
    reply = Reply::Fail(rpc_code::kInvalidParams, std::string("Invalid params: ") + error.what());
  } catch (const std::exception& error) {
    spdlog::error("mcp: {} failed: {}", message.method, error.what());
    reply = Reply::Fail(rpc_code::kInternalError,
                        "Internal error: the server failed to handle " + message.method);
  }
  {
    std::lock_guard lock(mu_);
    in_flight_.erase(key);
  }
  if (state->cancelled) co_return;  // a cancelled request gets no response
  outlet->Send(reply.error ? MakeError(message.id, *reply.error)
                           : MakeResult(message.id, std::move(reply.result)));
}

asio::awaitable<Reply> Session::Dispatch(RequestContext& context, const RpcMessage& request) {
  const std::string& method = request.method;
  const json& params = request.params.is_object() ? request.params : EmptyObject();
  if (method == "ping") co_return Reply::Ok(json::object());
  if (method == "initialize") co_return Initialize(params);
  if (!initialized()) {
    co_return Reply::Fail(rpc_code::kInvalidRequest,
                          "Invalid Request: the session is not initialized; send \"initialize\" first");
  }
  const Server& server = *server_;
  const size_t page = server.options().page_size;
  const bool has_resources = !server.resource_list().empty() || !server.template_list().empty();
  if (method == "logging/setLevel") co_return SetLevel(params);
  if (method == "tools/list" && !server.tool_list().empty())
    co_return Page(server.tool_list(), params, "tools", page);
  if (method == "tools/call" && !server.tool_list().empty()) co_return co_await CallTool(context, params);
  if (method == "resources/list" && has_resources)
    co_return Page(server.resource_list(), params, "resources", page);
  if (method == "resources/templates/list" && has_resources) {
    co_return Page(server.template_list(), params, "resourceTemplates", page);
  }
  if (method == "resources/read" && has_resources) co_return co_await ReadResource(context, params);
  if (method == "resources/subscribe" && has_resources) co_return Subscribe(params, true);
  if (method == "resources/unsubscribe" && has_resources) co_return Subscribe(params, false);
  if (method == "prompts/list" && !server.prompt_list().empty())
    co_return Page(server.prompt_list(), params, "prompts", page);
  if (method == "prompts/get" && !server.prompt_list().empty()) co_return co_await GetPrompt(context, params);
  if (method == "completion/complete" && server.completion() != nullptr) {
    if (!params.contains("ref") || !params["ref"].is_object() || !params.contains("argument") ||
        !params["argument"].is_object()) {
      co_return Reply::Fail(rpc_code::kInvalidParams,
                            "Invalid params: \"ref\" and \"argument\" must be objects");
    }
    co_return co_await (*server.completion())(context, params);
  }
  co_return Reply::Fail(rpc_code::kMethodNotFound, "Method not found: " + method);
}

Reply Session::Initialize(const json& params) {
  if (initialized())
    return Reply::Fail(rpc_code::kInvalidRequest, "Invalid Request: the session is already initialized");
  std::optional<std::string> requested = StringParam(params, "protocolVersion");
  if (!requested) return MissingParam("protocolVersion");
  auto capabilities = params.find("capabilities");
  if (capabilities != params.end() && !capabilities->is_object()) {
    return Reply::Fail(rpc_code::kInvalidParams, "Invalid params: \"capabilities\" must be an object");
  }
  std::string version = IsSupportedVersion(*requested) ? *requested : std::string(kLatestVersion);
  {
    std::lock_guard lock(mu_);
    if (initialized_)
      return Reply::Fail(rpc_code::kInvalidRequest, "Invalid Request: the session is already initialized");
    initialized_ = true;
    version_ = version;
    if (capabilities != params.end()) client_capabilities_ = *capabilities;
    if (auto info = params.find("clientInfo"); info != params.end() && info->is_object())
      client_info_ = *info;
  }
  const ServerInfo& info = server_->info();
  json server_info = {{"name", info.name}, {"version", info.version}};
  if (!info.title.empty()) server_info["title"] = info.title;
  if (!info.description.empty()) server_info["description"] = info.description;
  json result = {
      {"protocolVersion", version}, {"capabilities", server_->Capabilities()}, {"serverInfo", server_info}};
  if (!info.instructions.empty()) result["instructions"] = info.instructions;
  return Reply::Ok(std::move(result));
}

asio::awaitable<Reply> Session::CallTool(RequestContext& context, const json& params) {
  std::optional<std::string> name = StringParam(params, "name");
  if (!name) co_return MissingParam("name");
  const Tool* tool = server_->FindTool(*name);
  if (tool == nullptr) co_return Reply::Fail(rpc_code::kInvalidParams, "Unknown tool: " + *name);
  auto arguments = params.find("arguments");
  if (arguments != params.end() && !arguments->is_object() && !arguments->is_null()) {
    co_return Reply::Fail(rpc_code::kInvalidParams, "Invalid params: \"arguments\" must be an object");
  }
  const json& given = arguments != params.end() && arguments->is_object() ? *arguments : EmptyObject();
  co_return co_await tool->call(context, given);
}

asio::awaitable<Reply> Session::ReadResource(RequestContext& context, const json& params) {
  std::optional<std::string> uri = StringParam(params, "uri");
  if (!uri) co_return MissingParam("uri");
  // (Arguments built beforehand: GCC 12 miscompiles braced lists inside co_await.)
  json request = json::object();
  request["uri"] = *uri;
  if (const Resource* resource = server_->FindResource(*uri))
    co_return co_await resource->read(context, request);
  if (auto match = server_->MatchTemplate(*uri)) {
    request["variables"] = std::move(match->second);
    co_return co_await match->first->read(context, request);
  }
  co_return ResourceNotFound(*uri);
}

asio::awaitable<Reply> Session::GetPrompt(RequestContext& context, const json& params) {
  std::optional<std::string> name = StringParam(params, "name");
  if (!name) co_return MissingParam("name");
  const Prompt* prompt = server_->FindPrompt(*name);
  if (prompt == nullptr)
    co_return Reply::Fail(rpc_code::kInvalidParams, "Invalid params: unknown prompt " + *name);
  json arguments = params.value("arguments", json::object());
  if (!arguments.is_object())
    co_return Reply::Fail(rpc_code::kInvalidParams, "Invalid params: \"arguments\" must be an object");
  for (const json& declared : prompt->definition.value("arguments", json::array())) {
    const std::string argument = declared.value("name", "");
    if (declared.value("required", false) && !arguments.contains(argument)) {
      co_return Reply::Fail(rpc_code::kInvalidParams,
                            "Invalid params: missing required argument " + argument);
    }
  }
  co_return co_await prompt->get(context, arguments);
}

Reply Session::Subscribe(const json& params, bool subscribe) {
  std::optional<std::string> uri = StringParam(params, "uri");
  if (!uri) return MissingParam("uri");
  std::lock_guard lock(mu_);
  if (subscribe) {
    subscriptions_.insert(*uri);
  } else {
    subscriptions_.erase(*uri);
  }
  return Reply::Ok(json::object());
}

Reply Session::SetLevel(const json& params) {
  std::optional<std::string> name = StringParam(params, "level");
  std::optional<LogLevel> level = name ? ParseLogLevel(*name) : std::nullopt;
  if (!level) {
    return Reply::Fail(
        rpc_code::kInvalidParams,
        "Invalid params: \"level\" must be one of debug, info, notice, warning, error, critical, "
        "alert, emergency");
  }
  std::lock_guard lock(mu_);
  log_level_ = *level;
  return Reply::Ok(json::object());
}

void Session::OnNotification(const RpcMessage& notification) {
  if (notification.method != "notifications/cancelled")
    return;  // initialized, progress, roots: nothing to do
  const json& params = notification.params;
  if (!params.is_object() || !params.contains("requestId")) return;
  std::shared_ptr<RequestContext::InFlight> target;
  {
    std::lock_guard lock(mu_);
    auto found = in_flight_.find(IdKey(params["requestId"]));
    if (found == in_flight_.end()) return;  // finished already, or never was: ignored, as the spec says
    target = found->second;
  }
  target->cancelled = true;
  std::lock_guard lock(target->mu);
  if (target->waiting) target->waiting->answer.cancel();
}

void Session::OnResponse(const RpcMessage& response) {
  std::shared_ptr<Pending> pending;
  {
    std::lock_guard lock(mu_);
    auto found = pending_.find(IdKey(response.id));
    if (found == pending_.end()) return;  // an answer nobody waits for (timed out): dropped
    pending = found->second;
    pending_.erase(found);
  }
  Reply reply =
      response.error ? Reply{.result = nullptr, .error = response.error} : Reply::Ok(response.result);
  pending->answer.try_send(boost::system::error_code(), std::move(reply));
}

void Session::SetUnrelatedOutlet(std::shared_ptr<Outlet> outlet) {
  std::lock_guard lock(mu_);
  unrelated_ = std::move(outlet);
}

void Session::NotifyResourceUpdated(std::string_view uri) {
  std::shared_ptr<Outlet> outlet;
  {
    std::lock_guard lock(mu_);
    if (!subscriptions_.contains(uri)) return;
    outlet = unrelated_;
  }
  if (outlet) outlet->Send(MakeNotification("notifications/resources/updated", {{"uri", uri}}));
}

void Session::Close() {
  std::unordered_map<std::string, std::shared_ptr<Pending>> pending;
  {
    std::lock_guard lock(mu_);
    closed_ = true;
    pending.swap(pending_);
    unrelated_.reset();
  }
  for (auto& [id, waiting] : pending) waiting->answer.close();
}

bool Session::initialized() const {
  std::lock_guard lock(mu_);
  return initialized_;
}

bool Session::closed() const {
  std::lock_guard lock(mu_);
  return closed_;
}

std::string Session::protocol_version() const {
  std::lock_guard lock(mu_);
  return version_;
}

json Session::client_capabilities() const {
  std::lock_guard lock(mu_);
  return client_capabilities_;
}

json Session::client_info() const {
  std::lock_guard lock(mu_);
  return client_info_;
}

bool Session::ClientDeclared(std::string_view capability, std::string_view mode) const {
  std::lock_guard lock(mu_);
  auto found = client_capabilities_.find(capability);
  if (found == client_capabilities_.end() || !found->is_object()) return false;
  if (mode.empty()) return true;
  if (capability == "elicitation" && mode == "form" && found->empty()) return true;  // {} means form
  return found->contains(mode);
}

LogLevel Session::log_level() const {
  std::lock_guard lock(mu_);
  return log_level_;
}

json TextContent(std::string text) { return {{"type", "text"}, {"text", std::move(text)}}; }

json ToolResult(json content, json structured) {
  json result = {{"content", content.is_array() ? std::move(content) : json::array({std::move(content)})}};
  if (!structured.is_null()) result["structuredContent"] = std::move(structured);
  return result;
}

json ToolError(std::string text, json structured) {
  json result = ToolResult(TextContent(std::move(text)), std::move(structured));
  result["isError"] = true;
  return result;
}

}  // namespace latchkey::mcp
