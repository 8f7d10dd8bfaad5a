// mcp::Session: one client's conversation with a Server (SPEC §5): the lifecycle
// (initialize and version negotiation, then everything else), the dispatch of requests to
// the Server's handlers, cancellation, progress, logging levels, resource subscriptions,
// and requests the server sends to the client (sampling, elicitation) with their answers.
//
// A transport parses frames (json_rpc.h) and hands each message to Handle() together with
// the Outlet its related messages go to: stdio has one outlet for everything; Streamable
// HTTP gives each POST its own (JSON or SSE) and a session-wide one for the rest.
//
//   auto session = std::make_shared<Session>(server, "agent-a");
//   boost::asio::co_spawn(executor, session->Handle(std::move(message), outlet), detached);
//
// Thread safety: every member is safe to call from any thread; handlers of one session may
// run concurrently (a transport decides whether they do).
#pragma once

#include <any>
#include <atomic>
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <unordered_map>

#include "mcp/json_rpc.h"
#include "mcp/server.h"

namespace latchkey::mcp {

// Where outgoing messages go. Send must be thread-safe and must not block.
class Outlet {
 public:
  virtual ~Outlet() = default;
  virtual void Send(json message) = 0;
  // Ends the connection carrying these messages without ending the messages: on HTTP the
  // SSE response closes and the client resumes with Last-Event-ID (SSE polling). Elsewhere
  // nothing happens.
  virtual void EndConnection() {}
};

// RFC 5424 severities, as logging/setLevel and notifications/message name them.
enum class LogLevel { kDebug, kInfo, kNotice, kWarning, kError, kCritical, kAlert, kEmergency };
std::optional<LogLevel> ParseLogLevel(std::string_view name);
std::string_view LogLevelName(LogLevel level);

class Session;

// What a handler knows about the request it serves, and how it talks back within it.
class RequestContext {
 public:
  struct InFlight;  // session.cc

  RequestContext(Session& session, const RpcMessage& request, std::shared_ptr<Outlet> outlet,
                 std::shared_ptr<InFlight> state, std::any caller);

  Session& session() { return session_; }
  const json& id() const { return id_; }
  // Who sent the request, as the transport's embedder identified them (empty if it did not).
  const std::any& caller() const { return caller_; }
  bool cancelled() const;

  // A notification related to this request (on HTTP: the same SSE stream).
  void Notify(std::string_view method, json params);
  // notifications/progress, when the client asked for it (a progressToken); values that
  // do not increase are dropped, as the spec requires.
  void Progress(double progress, std::optional<double> total = std::nullopt, std::string_view message = {});
  // notifications/message, when `level` is at or above the session's logging level.
  void Log(LogLevel level, std::string_view logger, json data);

  // Lets go of the connection this request's messages travel on (Outlet::EndConnection),
  // for clients of 2025-11-25 and later, which know to resume; the response still comes.
  void EndConnection();

  // Sends a request to the client (sampling/createMessage, elicitation/create, roots/list)
  // and waits for its answer, the request's cancellation, the session's end or the
  // server's client_request_timeout, whichever comes first.
  boost::asio::awaitable<Reply> Ask(std::string_view method, json params);

 private:
  Session& session_;
  json id_;
  std::optional<json> progress_token_;
  std::shared_ptr<Outlet> outlet_;
  std::shared_ptr<InFlight> state_;
  std::any caller_;
  std::optional<double> last_progress_;
};

class Session : public std::enable_shared_from_this<Session> {
 public:
  // `principal` names who opened the session (an agent); the transport checks it on every
  // later message and handlers may read it.
  Session(std::shared_ptr<const Server> server, std::string principal);
  ~Session();

  // Handles one message. For a request the handler runs within this awaitable and its
  // response goes to `outlet` (unless the client cancelled the request); notifications and
  // responses complete at once. `caller` reaches the handler (RequestContext::caller()).
  boost::asio::awaitable<void> Handle(RpcMessage message, std::shared_ptr<Outlet> outlet,
                                      std::any caller = {});

  // Where messages that belong to no request go (resource updates); null drops them.
  void SetUnrelatedOutlet(std::shared_ptr<Outlet> outlet);
  // notifications/resources/updated, when the client subscribed to `uri`.
  void NotifyResourceUpdated(std::string_view uri);
  // Ends the session: requests waiting on the client fail; later messages are refused.
  void Close();

  const Server& server() const { return *server_; }
  const std::string& principal() const { return principal_; }
  bool initialized() const;
  bool closed() const;
  std::string protocol_version() const;  // the negotiated revision; empty before initialize
  json client_capabilities() const;
  json client_info() const;
  // Whether the client declared a capability, e.g. ClientDeclared("elicitation", "url").
  // An "elicitation" capability that names no mode means form mode.
  bool ClientDeclared(std::string_view capability, std::string_view mode = {}) const;
  LogLevel log_level() const;

 private:
  friend class RequestContext;
  struct Pending;

  boost::asio::awaitable<Reply> Dispatch(RequestContext& context, const RpcMessage& request);
  Reply Initialize(const json& params);
  boost::asio::awaitable<Reply> CallTool(RequestContext& context, const json& params);
  boost::asio::awaitable<Reply> ReadResource(RequestContext& context, const json& params);
  boost::asio::awaitable<Reply> GetPrompt(RequestContext& context, const json& params);
  Reply Subscribe(const json& params, bool subscribe);
  Reply SetLevel(const json& params);
  void OnNotification(const RpcMessage& notification);
  void OnResponse(const RpcMessage& response);

  const std::shared_ptr<const Server> server_;
  const std::string principal_;

  mutable std::mutex mu_;
  bool initialized_ = false;                                                              // guarded by mu_
  bool closed_ = false;                                                                   // guarded by mu_
  std::string version_;                                                                   // guarded by mu_
  json client_capabilities_ = json::object();                                             // guarded by mu_
  json client_info_ = json::object();                                                     // guarded by mu_
  LogLevel log_level_ = LogLevel::kInfo;                                                  // guarded by mu_
  std::set<std::string, std::less<>> subscriptions_;                                      // guarded by mu_
  std::unordered_map<std::string, std::shared_ptr<RequestContext::InFlight>> in_flight_;  // guarded by mu_
  std::unordered_map<std::string, std::shared_ptr<Pending>> pending_;                     // guarded by mu_
  int64_t next_request_id_ = 0;                                                           // guarded by mu_
  std::shared_ptr<Outlet> unrelated_;                                                     // guarded by mu_
};

// Tool results (CallToolResult) that handlers commonly answer with.
json TextContent(std::string text);
json ToolResult(json content, json structured = nullptr);
// A tool execution error the model can read and act on: isError with the text.
json ToolError(std::string text, json structured = nullptr);

}  // namespace latchkey::mcp
