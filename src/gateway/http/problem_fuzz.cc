// Fuzzes the problem details latchkey writes to agents, with outside text (request
// targets, connection names, upstream error texts, scope lists) in every field that takes
// it. Input: fields separated by NUL bytes. Properties: any bytes in, the body is valid
// UTF-8 JSON with a type, title, status and detail, the header fields hold no CR, LF or
// NUL, and Latchkey-Error is the problem's code.
#include <cstddef>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "common/encoding.h"
#include "gateway/http/problem.h"
#include "support/fuzz_check.h"
#include "support/fuzz_input.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace latchkey;
  std::string_view input = fuzz::AsText(data, size);
  std::vector<std::string_view> f;
  for (size_t start = 0; start <= input.size() && f.size() < 6;) {
    size_t end = input.find('\0', start);
    if (end == std::string_view::npos) end = input.size();
    f.push_back(input.substr(start, end - start));
    start = end + 1;
  }
  while (f.size() < 6) f.emplace_back();
  const std::vector<std::string> scopes = {std::string(f[3]), std::string(f[4])};

  const gateway::ProblemDetails problems[] = {
      gateway::AgentUnauthenticated(),
      gateway::PolicyDenied(f[0], f[1], f[2]),
      gateway::ScopeInsufficient(f[0], scopes, {std::string(f[5])}, f[2]),
      gateway::ReauthRequired(f[0], f[1], f[2], f[3]),
      gateway::RateLimited(f[0], static_cast<long long>(f[1].size()) - 3, static_cast<int>(f[2].size())),
      gateway::UpstreamUnavailable(f[0], 3, f[1], !f[2].empty()),
      gateway::UpstreamTimeout(f[0], f[1].empty()),
      gateway::BadRequest(f[0]),
      gateway::NotFound(f[0], f[1]),
      gateway::MethodNotAllowed(f[0], f[1]),
      gateway::PayloadTooLarge(f[0]),
      gateway::InternalProblem(f[0]),
  };
  for (const auto& problem : problems) {
    const gateway::Response response = problem.ToResponse(11);
    FUZZ_CHECK(IsValidUtf8(response.body()));
    const auto body = nlohmann::json::parse(response.body());
    FUZZ_CHECK(body.is_object() && body.contains("type") && body.contains("title") &&
               body.contains("detail"));
    FUZZ_CHECK(body["status"] == static_cast<int>(response.result_int()));
    for (const auto& field : response) {
      for (char c : field.value()) FUZZ_CHECK(c != '\r' && c != '\n' && c != '\0');
    }
    FUZZ_CHECK(response.Field("Latchkey-Error") == problem.code);
  }
  return 0;
}
