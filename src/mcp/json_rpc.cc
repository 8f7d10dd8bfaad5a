#include "mcp/json_rpc.h"

namespace latchkey::mcp {
namespace {

RpcRefusal Refuse(const json& id, int code, std::string message) {
  return {MakeError(id, RpcError{.code = code, .message = std::move(message), .data = nullptr})};
}

bool IsValidId(const json& id) { return id.is_string() || id.is_number_integer(); }

}  // namespace

json RpcError::ToJson() const {
  json out = {{"code", code}, {"message", message}};
  if (!data.is_null()) out["data"] = data;
  return out;
}

std::variant<RpcMessage, RpcRefusal> Parse(std::string_view text) {
  json message = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (message.is_discarded()) {
    return Refuse(nullptr, rpc_code::kParseError, "Parse error: the message is not valid JSON");
  }
  return Classify(message);
}

std::variant<RpcMessage, RpcRefusal> Classify(const json& message) {
  if (message.is_array()) {
    return Refuse(nullptr, rpc_code::kInvalidRequest,
                  "Invalid Request: JSON-RPC batches are not supported; send one message at a time");
  }
  if (!message.is_object()) {
    return Refuse(nullptr, rpc_code::kInvalidRequest, "Invalid Request: a message must be a JSON object");
  }
  const auto id_member = message.find("id");
  const bool has_id = id_member != message.end();
  const json id = has_id && IsValidId(*id_member) ? *id_member : json(nullptr);
  const auto version = message.find("jsonrpc");
  if (version == message.end() || *version != "2.0") {
    return Refuse(id, rpc_code::kInvalidRequest, "Invalid Request: \"jsonrpc\" must be \"2.0\"");
  }
  if (has_id && !IsValidId(*id_member)) {
    return Refuse(nullptr, rpc_code::kInvalidRequest,
                  "Invalid Request: \"id\" must be a string or an integer");
  }

  RpcMessage out;
  out.id = id;
  const auto method = message.find("method");
  if (method != message.end()) {
    if (!method->is_string() || method->get_ref<const std::string&>().empty()) {
      return Refuse(id, rpc_code::kInvalidRequest, "Invalid Request: \"method\" must be a non-empty string");
    }
    out.kind = has_id ? RpcMessage::Kind::kRequest : RpcMessage::Kind::kNotification;
    out.method = method->get<std::string>();
    const auto params = message.find("params");
    if (params != message.end() && !params->is_null()) {
      if (!params->is_object()) {
        return Refuse(id, rpc_code::kInvalidParams, "Invalid params: \"params\" must be an object");
      }
      out.params = *params;
    }
    return out;
  }

  const auto result = message.find("result");
  const auto error = message.find("error");
  if (!has_id || (result == message.end()) == (error == message.end())) {
    return Refuse(id, rpc_code::kInvalidRequest,
                  "Invalid Request: a message needs a \"method\", or an \"id\" with either \"result\" or "
                  "\"error\"");
  }
  out.kind = RpcMessage::Kind::kResponse;
  if (result != message.end()) {
    out.result = *result;
    return out;
  }
  if (!error->is_object() || !error->contains("code") || !(*error)["code"].is_number_integer()) {
    return Refuse(id, rpc_code::kInvalidRequest, "Invalid Request: \"error\" needs an integer \"code\"");
  }
  RpcError failure;
  failure.code = (*error)["code"].get<int>();
  if (auto text = error->find("message"); text != error->end() && text->is_string()) failure.message = *text;
  if (auto data = error->find("data"); data != error->end()) failure.data = *data;
  out.error = std::move(failure);
  return out;
}

json MakeResult(const json& id, json result) {
  return {{"jsonrpc", "2.0"}, {"id", id}, {"result", std::move(result)}};
}

json MakeError(const json& id, const RpcError& error) {
  return {{"jsonrpc", "2.0"}, {"id", id}, {"error", error.ToJson()}};
}

json MakeRequest(const json& id, std::string_view method, json params) {
  json out = {{"jsonrpc", "2.0"}, {"id", id}, {"method", method}};
  if (!params.is_null()) out["params"] = std::move(params);
  return out;
}

json MakeNotification(std::string_view method, json params) {
  json out = {{"jsonrpc", "2.0"}, {"method", method}};
  if (!params.is_null()) out["params"] = std::move(params);
  return out;
}

std::string IdKey(const json& id) { return id.dump(); }

}  // namespace latchkey::mcp
