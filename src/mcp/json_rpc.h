// JSON-RPC 2.0 as MCP uses it: one message per frame, requests with a string or integer
// id, notifications, responses. Parse() classifies an incoming message or says which
// error response it earns; the builders make the outgoing ones. No I/O, no state.
//
//   auto parsed = Parse(text);
//   if (auto* refusal = std::get_if<RpcRefusal>(&parsed)) send(refusal->response);
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <variant>

namespace latchkey::mcp {

using json = nlohmann::json;

namespace rpc_code {
inline constexpr int kParseError = -32700;
inline constexpr int kInvalidRequest = -32600;
inline constexpr int kMethodNotFound = -32601;
inline constexpr int kInvalidParams = -32602;
inline constexpr int kInternalError = -32603;
inline constexpr int kResourceNotFound = -32002;        // MCP: resources/read of an unknown URI
inline constexpr int kUrlElicitationRequired = -32042;  // MCP 2025-11-25
}  // namespace rpc_code

struct RpcError {
  int code = rpc_code::kInternalError;
  std::string message;
  json data;  // null: no data member

  json ToJson() const;
};

// One well-formed incoming message.
struct RpcMessage {
  enum class Kind { kRequest, kNotification, kResponse };
  Kind kind = Kind::kNotification;
  json id;                        // requests and responses: a string or an integer
  std::string method;             // requests and notifications
  json params;                    // an object, or null when absent
  json result;                    // successful responses
  std::optional<RpcError> error;  // error responses

  bool is_request() const { return kind == Kind::kRequest; }
  bool is_notification() const { return kind == Kind::kNotification; }
  bool is_response() const { return kind == Kind::kResponse; }
};

// An incoming frame that is not a message we accept, with the error response it earns
// (id null when the id could not be read).
struct RpcRefusal {
  json response;
};

std::variant<RpcMessage, RpcRefusal> Parse(std::string_view text);
std::variant<RpcMessage, RpcRefusal> Classify(const json& message);

json MakeResult(const json& id, json result);
json MakeError(const json& id, const RpcError& error);
json MakeRequest(const json& id, std::string_view method, json params);
json MakeNotification(std::string_view method, json params);

// A request id as text, for maps and logs ("7" and "\"7\"" stay distinct).
std::string IdKey(const json& id);

}  // namespace latchkey::mcp
