#include "gateway/http/problem.h"

#include <algorithm>

#include "common/json_text.h"

namespace latchkey::gateway {
namespace {

namespace http = boost::beast::http;
using nlohmann::json;

constexpr size_t kMaxEchoed = 200;

std::string Shorten(std::string_view text) {
  if (text.size() <= kMaxEchoed) return std::string(text);
  return std::string(text.substr(0, kMaxEchoed)) + "...";
}

ProblemDetails Make(http::status status, std::string_view code, std::string detail, json members = {}) {
  ProblemDetails problem;
  problem.status = status;
  problem.code = std::string(code);
  problem.detail = std::move(detail);
  if (members.is_object()) problem.members = std::move(members);
  return problem;
}

std::string Connection(std::string_view connection) { return "connection '" + Shorten(connection) + "'"; }

bool IsFixedMember(std::string_view name) {
  return name == "type" || name == "title" || name == "status" || name == "code" || name == "detail";
}

// Appends `text` as a JSON string; invalid UTF-8 is replaced, as DumpJson does.
void AppendJsonString(std::string_view text, std::string& out) {
  const bool plain = std::ranges::all_of(text, [](char c) {
    const auto u = static_cast<unsigned char>(c);
    return u >= 0x20 && u < 0x7f && c != '"' && c != '\\';
  });
  if (!plain) {
    out += DumpJson(json(text));
    return;
  }
  out += '"';
  out += text;
  out += '"';
}

}  // namespace

Response JsonResponse(http::status status, const json& body) {
  Response res(status, 11);
  res.set(http::field::server, "latchkey");
  res.set(http::field::content_type, "application/json");
  res.set(http::field::cache_control, "no-store");
  res.body() = DumpJson(body);
  return res;
}

Response ProblemDetails::ToResponse(unsigned http_version) const {
  // Written out member by member, not by copying `members` into a json object and dumping
  // it (some 24,000 instructions): every refused or failed call pays for this.
  std::string body;
  body.reserve(192 + detail.size());
  body += R"({"type":"urn:latchkey:problem:)";
  body += code;
  body += R"(","title":)";
  AppendJsonString(http::obsolete_reason(status), body);
  body += R"(,"status":)";
  body += std::to_string(static_cast<int>(status));
  body += R"(,"code":)";
  AppendJsonString(code, body);
  body += R"(,"detail":)";
  AppendJsonString(detail, body);
  if (members.is_object()) {
    for (const auto& [name, value] : members.items()) {
      if (IsFixedMember(name)) continue;  // the fixed members above win, as they always did
      body += ',';
      AppendJsonString(name, body);
      body += ':';
      if (value.is_string()) {
        AppendJsonString(value.get_ref<const std::string&>(), body);
      } else {
        body += DumpJson(value);
      }
    }
  }
  body += '}';
  Response res(status, http_version);
  res.set(http::field::server, "latchkey");
  res.set(http::field::content_type, "application/problem+json");
  res.set(http::field::cache_control, "no-store");
  res.set("Latchkey-Error", code);
  if (retry_after_seconds) res.set(http::field::retry_after, std::to_string(*retry_after_seconds));
  if (bearer_challenge) res.set(http::field::www_authenticate, "Bearer realm=\"latchkey\"");
  if (!allow.empty()) res.set(http::field::allow, allow);
  res.body() = std::move(body);
  res.prepare_payload();
  return res;
}

ProblemDetails AgentUnauthenticated() {
  ProblemDetails problem =
      Make(http::status::unauthorized, "agent_unauthenticated",
           "The request was NOT carried out: it did not carry a valid latchkey agent key (send "
           "'Authorization: Bearer <agent key>'; a human must create a key with 'latchkey agent create' or "
           "replace a revoked one).");
  problem.bearer_challenge = true;
  return problem;
}

ProblemDetails PolicyDenied(std::string_view connection, std::string_view method, std::string_view path) {
  return Make(http::status::forbidden, "policy_denied",
              "The request was NOT carried out: this agent's policy does not allow " + Shorten(method) + " " +
                  Shorten(path) + " on " + Connection(connection) +
                  " (or no such connection exists). A human must add a matching --allow rule to the agent "
                  "if it should be allowed.",
              {{"connection", connection}, {"method", method}, {"path", path}});
}

ProblemDetails ScopeInsufficient(std::string_view connection, const std::vector<std::string>& granted,
                                 const std::vector<std::string>& required, std::string_view reconsent_url) {
  std::string needed;
  for (const auto& scope : required) needed += (needed.empty() ? "" : " ") + scope;
  std::string detail = "The request was NOT carried out: the API refused it because " +
                       Connection(connection) + " was not granted the OAuth scope it needs" +
                       (needed.empty() ? "" : " (" + needed + ")") + ". ";
  detail += reconsent_url.empty()
                ? "A human must grant the missing scope to the connection (re-run 'latchkey connect')."
                : "A human must open reconsent_url and approve the additional access; then retry.";
  json members = {{"connection", connection}, {"granted_scopes", granted}, {"reconsent_url", reconsent_url}};
  if (!required.empty()) members["required_scopes"] = required;
  return Make(http::status::forbidden, "scope_insufficient", std::move(detail), std::move(members));
}

ProblemDetails ReauthRequired(std::string_view connection, std::string_view reconnect_url,
                              std::string_view since, std::string_view reason) {
  std::string detail = "The request was NOT carried out: " + Connection(connection) +
                       " is no longer authorized at the provider";
  if (!reason.empty()) detail += " (" + Shorten(reason) + ")";
  detail += ". A human must reconnect it";
  detail += reconnect_url.empty() ? " with 'latchkey connect'" : " by opening reconnect_url";
  detail += "; retrying before that will fail the same way.";
  json members = {{"connection", connection}, {"reconnect_url", reconnect_url}};
  if (!since.empty()) members["since"] = since;
  return Make(http::status::unauthorized, "reauth_required", std::move(detail), std::move(members));
}

ProblemDetails RateLimited(std::string_view connection, long long retry_after_seconds, int attempts) {
  ProblemDetails problem =
      Make(http::status::too_many_requests, "rate_limited",
           "The request was NOT carried out: the API behind " + Connection(connection) +
               " is rate limiting (HTTP 429, " + std::to_string(attempts) +
               " attempt(s)). Wait retry_after seconds before trying again.",
           {{"connection", connection}, {"retry_after", retry_after_seconds}, {"attempts", attempts}});
  problem.retry_after_seconds = retry_after_seconds;
  return problem;
}

ProblemDetails UpstreamUnavailable(std::string_view connection, int attempts, std::string_view what,
                                   bool maybe_acted) {
  std::string detail =
      maybe_acted
          ? "The request may or may not have been carried out: the API behind " + Connection(connection) +
                " failed (" + Shorten(what) +
                ") and latchkey did not retry it because the method is not idempotent. Check whether it took "
                "effect before sending it again."
          : "The request was NOT carried out: the API behind " + Connection(connection) +
                " is unavailable (" + Shorten(what) + ", " + std::to_string(attempts) +
                " attempt(s)). Try again later; if it persists a human must check the service.";
  return Make(http::status::bad_gateway, "upstream_unavailable", std::move(detail),
              {{"connection", connection}, {"attempts", attempts}});
}

ProblemDetails UpstreamTimeout(std::string_view connection, bool maybe_acted) {
  std::string detail =
      maybe_acted
          ? "The request may or may not have been carried out: the API behind " + Connection(connection) +
                " did not answer before the deadline. Check whether it took effect before sending it "
                "again."
          : "The request was NOT carried out: the API behind " + Connection(connection) +
                " did not answer before the deadline. Try again later.";
  return Make(http::status::gateway_timeout, "upstream_timeout", std::move(detail),
              {{"connection", connection}});
}

ProblemDetails BadRequest(std::string_view why) {
  return Make(
      http::status::bad_request, "bad_request",
      "The request was NOT carried out: " + Shorten(why) + ". Fix the request before sending it again.");
}

ProblemDetails NotFound(std::string_view method, std::string_view target) {
  // The path only: a query may hold a secret (a key, a session), which an answer, and the
  // log lines and audit rows that quote it, must not repeat (found by web_pages_fuzz).
  const std::string_view path = target.substr(0, target.find('?'));
  return Make(http::status::not_found, "not_found",
              "The request was NOT carried out: latchkey has no route for " + Shorten(method) + " " +
                  Shorten(path) + " (proxied calls go to /proxy/{connection}/{path}).");
}

ProblemDetails MethodNotAllowed(std::string_view path, std::string_view allowed) {
  ProblemDetails problem = Make(
      http::status::method_not_allowed, "method_not_allowed",
      "The request was NOT carried out: " + Shorten(path) + " answers only " + std::string(allowed) + ".");
  // RFC 9110 §15.5.6: a 405 names what is allowed. Method names only ("GET, POST"), so
  // nothing else can reach the header.
  if (!allowed.empty() &&
      allowed.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZ, ") == std::string_view::npos) {
    problem.allow = std::string(allowed);
  }
  return problem;
}

ProblemDetails PayloadTooLarge(std::string_view what) {
  return Make(http::status::payload_too_large, "bad_request",
              "The request was NOT carried out: " + std::string(what) + ". Send a smaller request.");
}

ProblemDetails InternalProblem(std::string_view what) {
  return Make(http::status::internal_server_error, "internal_error",
              "The request was NOT carried out: latchkey hit an internal error (" + Shorten(what) +
                  "). A human must check the latchkey log.");
}

}  // namespace latchkey::gateway
