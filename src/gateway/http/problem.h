// ProblemDetails: every error latchkey itself makes on the gateway (SPEC §4), as an
// RFC 9457 problem (application/problem+json) with the `Latchkey-Error` header. One
// constructor per code, so each `detail` sentence is written once and says that the
// action was NOT carried out, why, and what a human must do. Plain values; any thread.
#pragma once

#include <boost/beast/http.hpp>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "gateway/http/message.h"

namespace latchkey::gateway {

struct ProblemDetails {
  boost::beast::http::status status = boost::beast::http::status::internal_server_error;
  std::string code;    // the Latchkey-Error value, e.g. "policy_denied"
  std::string detail;  // one or two sentences for the agent (and the model behind it)
  nlohmann::json members = nlohmann::json::object();  // extra members of SPEC §4's table
  std::optional<long long> retry_after_seconds;       // also sent as Retry-After
  bool bearer_challenge = false;                      // adds WWW-Authenticate: Bearer
  std::string allow;                                  // the methods a 405 names, sent as Allow

  Response ToResponse(unsigned http_version) const;
};

ProblemDetails AgentUnauthenticated();
ProblemDetails PolicyDenied(std::string_view connection, std::string_view method, std::string_view path);
ProblemDetails ScopeInsufficient(std::string_view connection, const std::vector<std::string>& granted,
                                 const std::vector<std::string>& required, std::string_view reconsent_url);
ProblemDetails ReauthRequired(std::string_view connection, std::string_view reconnect_url,
                              std::string_view since, std::string_view reason);
ProblemDetails RateLimited(std::string_view connection, long long retry_after_seconds, int attempts);
// `maybe_acted`: a non-idempotent request reached the upstream, which may have acted on it.
ProblemDetails UpstreamUnavailable(std::string_view connection, int attempts, std::string_view what,
                                   bool maybe_acted);
ProblemDetails UpstreamTimeout(std::string_view connection, bool maybe_acted);
ProblemDetails BadRequest(std::string_view why);
ProblemDetails NotFound(std::string_view method, std::string_view target);
ProblemDetails MethodNotAllowed(std::string_view path, std::string_view allowed);
ProblemDetails PayloadTooLarge(std::string_view what);
ProblemDetails InternalProblem(std::string_view what);

// A JSON answer (application/json, no-store) made by latchkey itself.
Response JsonResponse(boost::beast::http::status status, const nlohmann::json& body);

}  // namespace latchkey::gateway
