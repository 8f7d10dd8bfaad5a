// Fuzzes JSON-RPC frames as an MCP client sends them. Properties: a frame is either a
// message of exactly one kind or a refusal whose response is itself a well-formed
// JSON-RPC error; requests and responses carry a string or integer id; re-serializing a
// request and parsing it again gives the same message.
#include <cstddef>
#include <cstdint>
#include <variant>

#include "mcp/json_rpc.h"
#include "support/fuzz_check.h"
#include "support/fuzz_input.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace latchkey;
  auto parsed = mcp::Parse(fuzz::AsText(data, size));
  if (auto* refusal = std::get_if<mcp::RpcRefusal>(&parsed)) {
    const auto& response = refusal->response;
    FUZZ_CHECK(response.is_object() && response.value("jsonrpc", "") == "2.0");
    FUZZ_CHECK(response.contains("error") && response["error"]["code"].is_number_integer());
    FUZZ_CHECK(response.contains("id") && (response["id"].is_null() || response["id"].is_string() ||
                                           response["id"].is_number_integer()));
    (void)response.dump(-1, ' ', false, nlohmann::json::error_handler_t::strict);
    return 0;
  }
  const auto& message = std::get<mcp::RpcMessage>(parsed);
  if (!message.is_notification()) FUZZ_CHECK(message.id.is_string() || message.id.is_number_integer());
  if (!message.is_response()) FUZZ_CHECK(!message.method.empty());
  FUZZ_CHECK(message.params.is_null() || message.params.is_object() || message.params.is_array());
  if (message.is_request()) {
    auto again = mcp::Parse(mcp::MakeRequest(message.id, message.method, message.params).dump());
    auto* same = std::get_if<mcp::RpcMessage>(&again);
    FUZZ_CHECK(same && same->is_request() && same->id == message.id && same->method == message.method);
    FUZZ_CHECK(mcp::IdKey(same->id) == mcp::IdKey(message.id));
  }
  return 0;
}
