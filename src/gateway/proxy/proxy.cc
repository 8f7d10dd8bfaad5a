#include "gateway/proxy/proxy.h"

#include <algorithm>
#include <array>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <cctype>
#include <optional>

#include "common/ascii.h"
#include "common/log.h"
#include "gateway/http/base_url.h"
#include "gateway/http/offload.h"
#include "gateway/http/problem.h"
#include "gateway/proxy/forwarding_rules.h"
#include "gateway/proxy/proxy_target.h"
#include "gateway/proxy/scope_error_decoder.h"
#include "oauth/form_encoding.h"
#include "provider/api_base_urls.h"

namespace latchkey::gateway {

namespace asio = boost::asio;
namespace http = boost::beast::http;
using Steady = std::chrono::steady_clock;

namespace {

// Whether the request may run twice: an idempotent method with no override header naming
// another (an overridden method is the upstream's to run).
bool IsIdempotent(http::verb method, std::string_view method_override) {
  return method_override.empty() &&
         (method == http::verb::get || method == http::verb::head || method == http::verb::options ||
          method == http::verb::put || method == http::verb::delete_);
}

// Up to `limit` bytes from the front of the answer's body, leaving the body whole for
// forwarding: a streamed body is read ahead that far into response.body().
asio::awaitable<StatusOr<std::string>> PeekBody(UpstreamResult& result, size_t limit) {
  std::string& front = result.response.body();
  std::array<char, size_t{16} * 1024> piece{};
  while (result.body_stream && front.size() < limit) {
    const size_t want = std::min(piece.size(), limit - front.size());
    StatusOr<size_t> read = co_await result.body_stream->Read(std::span<char>(piece.data(), want));
    if (!read.ok()) co_return read.status();
    if (*read == 0) result.body_stream.reset();
    front.append(piece.data(), *read);
  }
  co_return front.substr(0, limit);
}

// Why an agent's streamed request body could not be forwarded, as a problem.
ProblemDetails RequestBodyProblem(const Status& error) {
  if (error.code() == StatusCode::kResourceExhausted) return PayloadTooLarge(error.message());
  ProblemDetails problem = BadRequest(error.message());
  if (error.code() == StatusCode::kDeadlineExceeded) problem.status = http::status::request_timeout;
  return problem;
}

}  // namespace

struct Proxy::Call {
  Call() = default;
  Call(const Call&) = delete;  // `credential` and `oauth_token` may point into the call itself
  Call& operator=(const Call&) = delete;

  Steady::time_point started = Steady::now();
  Steady::time_point deadline;
  TimePoint at;
  std::string method;
  std::optional<ProxyTarget> target;
  std::string agent;
  std::string client;                                            // Caller::client_id, for the audit row
  std::shared_ptr<const vault::AuthenticatedAgent> agent_entry;  // its policy, once authenticated
  std::string method_override;  // the method a declared override header names (the upstream runs it)
  std::string label = "-";      // metrics label: the connection once the policy allowed it
  std::shared_ptr<const RouteEntry> route;  // connection, provider, base URL (shared with the cache)
  // What to inject, and where, and the access token sent (to recognize a 401 for it): the
  // route's, not copied, until a refresh gives the call its own (the `refreshed_` ones).
  const vault::Credential* credential = nullptr;
  const SecretString* oauth_token = nullptr;
  vault::Credential refreshed_credential;
  SecretString refreshed_token;
  bool refreshed = false;
  int attempts = 0;
  std::optional<ProblemDetails> problem;
  std::optional<ProblemDetails>* problem_out = nullptr;  // where Finish reports `problem`
  UpstreamResult upstream;
  double upstream_seconds = 0;        // of the last attempt
  double upstream_total_seconds = 0;  // all attempts
};

namespace {
// The endpoint a 401 came from, for ProbedTokens: the method and the path, decoded.
std::string ProbedEndpoint(const Proxy::Call& call) { return call.method + " " + call.target->decoded_path; }
}  // namespace

Proxy::Proxy(ProxyParts parts, ProxyOptions options)
    : parts_(std::move(parts)), options_(options), retry_(options_.retry, parts_.random) {}

asio::awaitable<Response> Proxy::Handle(Request& request, int worker, const Caller* caller,
                                        std::optional<ProblemDetails>* problem) {
  Call call;
  call.problem_out = problem;
  call.deadline = call.started + options_.deadline;
  call.at = parts_.clock.Now();
  call.method = std::string(request.method_string());
  if (caller != nullptr) call.client = caller->client_id;

  if (Status parsed = ParseProxyTarget(request.target(), call.target.emplace()); !parsed.ok()) {
    call.target.reset();
    call.problem = BadRequest("the request target is unsafe or malformed: " + parsed.message());
    co_return Finish(call, request);
  }
  if (request.method() == http::verb::unknown || request.method() == http::verb::connect ||
      request.method() == http::verb::trace) {
    call.problem = BadRequest("the method " + call.method + " cannot be proxied");
    co_return Finish(call, request);
  }

  // Agent auth → policy → connection state → credential: from the route cache when it
  // knows both, else from the store on the blocking pool (which fills the cache).
  if (caller != nullptr && caller->agent_key.empty()) {
    co_await Offload(parts_.blocking, [&] { PrepareFromStore(call, {}, {}, caller->agent_name); });
  } else if (std::string_view presented = PresentedKey(request, caller); presented.empty()) {
    call.problem = AgentUnauthenticated();
  } else if (const std::string digest = RouteCache::KeyDigest(presented);
             !PrepareFromCache(call, presented, digest)) {
    co_await Offload(parts_.blocking, [&] { PrepareFromStore(call, presented, digest); });
  }
  if (!call.problem) CheckMethodOverride(call, request);
  if (!call.problem) {
    co_await Forward(call, request, worker);
    if (const AnswerAction action = ActionFor(call); action != AnswerAction::kPassOn) {
      co_await AfterUpstream(call, request, worker, action);
    }
    if (call.upstream.ok() && call.upstream.response.result_int() != 401) {
      refusals_.Clear(call.route->connection.name);
    }
  }
  co_return Finish(call, request);
}

std::string_view Proxy::PresentedKey(const Request& request, const Caller* caller) {
  if (caller != nullptr) return caller->agent_key.reveal();
  return BearerCredential(FirstField(request.base(), http::field::authorization)).value_or("");
}

bool Proxy::PrepareFromCache(Call& call, std::string_view presented, const std::string& digest) {
  const ProxyTarget& target = *call.target;
  auto [agent, route] = parts_.cache.LookupAgentAndRoute(digest, target.connection);
  if (!agent.value) return false;
  if (agent.refresh || route.refresh) RefreshInBackground(call, presented, digest);
  call.agent = agent.value->record.name;
  call.agent_entry = agent.value;
  if (!agent.value->policy.Allows(target.connection, call.method, target.decoded_path)) {
    call.problem = PolicyDenied(target.connection, call.method, target.decoded_path);
    return true;
  }
  if (!route.value) return false;
  Apply(call, std::move(route.value));
  return true;
}

// Reads the agent and the route again, as the slow path would, to put them back in the
// cache (or drop them, when the store now says otherwise) while this call goes on with
// the stale entries.
void Proxy::RefreshInBackground(const Call& call, std::string_view presented, const std::string& digest) {
  auto scratch = std::make_shared<Call>();
  scratch->method = call.method;
  scratch->target = call.target;
  asio::post(parts_.blocking, [this, scratch, key = SecretString(std::string(presented)), digest] {
    PrepareFromStore(*scratch, key.reveal(), digest);
    const std::string& connection = scratch->target->connection;
    if (scratch->problem) parts_.cache.ForgetAgent(digest);
    // Not put back (refused, or a token too near its end to cache): the next call reads it.
    if (scratch->problem || !parts_.cache.FindRoute(connection)) parts_.cache.ForgetRoute(connection);
  });
}

// The connection's provider honours a method-override header (which the proxy forwards
// for it alone): the method it names must be one the agent's policy allows too.
void Proxy::CheckMethodOverride(Call& call, const Request& request) {
  const std::string& header = call.route->provider.method_override_header;
  if (header.empty()) return;
  const ProxyTarget& target = *call.target;
  for (const auto& field : request.base()) {
    if (!boost::beast::iequals(field.name_string(), header)) continue;
    std::string method = AsciiUpper(field.value());
    std::erase_if(method, [](char c) { return c == ' ' || c == '\t'; });
    if (!call.agent_entry->policy.Allows(target.connection, method, target.decoded_path)) {
      call.problem = PolicyDenied(target.connection, method, target.decoded_path);
      return;
    }
    call.method_override = std::move(method);
  }
}

void Proxy::Apply(Call& call, std::shared_ptr<const RouteEntry> route) {
  call.label = route->connection.name;
  call.credential = &route->credential;
  call.oauth_token = &route->oauth_token;
  call.route = std::move(route);
}

void Proxy::PrepareFromStore(Call& call, std::string_view presented, const std::string& digest,
                             const std::string& agent_name) {
  const bool trusted = presented.empty() && !agent_name.empty();
  auto agent =
      trusted ? parts_.vault.agents().Find(agent_name) : parts_.vault.agents().Authenticate(presented);
  if (!agent.ok()) {
    if (agent.status().code() != StatusCode::kUnauthenticated) {
      spdlog::error("proxy: cannot check an agent key: {}", agent.status().message());
    }
    call.problem = AgentUnauthenticated();
    return;
  }
  call.agent = agent->record.name;
  const ProxyTarget& target = *call.target;
  const bool allowed = agent->policy.Allows(target.connection, call.method, target.decoded_path);
  if (!trusted) parts_.cache.PutAgent(digest, *agent);
  call.agent_entry = std::make_shared<const vault::AuthenticatedAgent>(std::move(*agent));
  if (!allowed) {
    call.problem = PolicyDenied(target.connection, call.method, target.decoded_path);
    return;
  }
  auto connection = parts_.vault.connections().Get(target.connection);
  if (!connection.ok() || connection->status == store::ConnectionStatus::kDisconnected) {
    // The same answer as for a forbidden connection, so names cannot be probed.
    if (!connection.ok() && connection.status().code() != StatusCode::kNotFound) {
      spdlog::error("proxy: cannot read connection '{}': {}", target.connection,
                    connection.status().message());
    }
    call.problem = PolicyDenied(target.connection, call.method, target.decoded_path);
    return;
  }
  call.label = target.connection;
  if (connection->status == store::ConnectionStatus::kNeedsReauth) {
    call.problem = ReauthProblem(*connection, call.agent);
    return;
  }
  RouteEntry route;
  route.connection = std::move(*connection);
  const store::ConnectionRecord& record = route.connection;
  auto provider = parts_.vault.providers().Get(record.provider);
  if (!provider.ok()) {
    call.problem = InternalProblem("the provider of connection '" + record.name + "' cannot be read");
    return;
  }
  route.provider = std::move(*provider);
  // A base URL from a token response (instance_url) or an import: stored by an earlier
  // version or under an earlier entry, it may name a host the provider does not allow.
  if (!record.api_base_url.empty() && !provider::IsAllowedApiBaseUrl(route.provider, record.api_base_url)) {
    call.problem = InternalProblem("connection '" + record.name + "' has an API base URL that provider '" +
                                   record.provider +
                                   "' does not allow: add its pattern to the entry's extra_api_base_urls, or "
                                   "connect the account again");
    return;
  }
  auto base = ParseBaseUrl(record.api_base_url.empty() ? route.provider.api_base_url : record.api_base_url);
  if (!base.ok()) {
    call.problem = InternalProblem("connection '" + record.name + "' has no usable API base URL");
    return;
  }
  route.base = std::move(*base);

  std::optional<TimePoint> token_expires_at;
  if (store::IsOAuth(record.kind)) {
    auto grant = parts_.coordinator.Current(record.name);
    if (!grant.ok()) {
      auto now = parts_.vault.connections().Get(record.name);
      if (now.ok() && now->status == store::ConnectionStatus::kNeedsReauth) {
        call.problem = ReauthProblem(*now, call.agent);
      } else {
        call.problem =
            UpstreamUnavailable(record.name, 0, "no valid access token: " + grant.status().message(), false);
      }
      return;
    }
    call.refreshed = grant->refreshed;
    token_expires_at = grant->expires_at;
    route.credential = vault::Credential::ForAccessToken(grant->token_type, grant->access_token);
    route.oauth_token = std::move(grant->access_token);
  } else {
    auto secrets = parts_.vault.connections().ReadSecrets(record);
    if (!secrets.ok()) {
      call.problem = InternalProblem(secrets.status().message());
      return;
    }
    route.credential = vault::Credential::ForStaticSecret(record, route.provider, *secrets);
  }
  auto shared = std::make_shared<const RouteEntry>(std::move(route));
  Apply(call, shared);
  parts_.cache.PutRoute(std::move(shared), token_expires_at);
}

ProblemDetails Proxy::ReauthProblem(const store::ConnectionRecord& record, std::string_view agent) {
  return ReauthRequired(record.name, parts_.links.Reconnect(record, agent),
                        record.needs_reauth_since ? FormatRfc3339(*record.needs_reauth_since) : "",
                        record.last_error);
}

asio::awaitable<void> Proxy::Forward(Call& call, const Request& request, int worker) {
  const ProxyTarget& target = *call.target;
  const vault::Credential& credential = *call.credential;
  // A streamed body is read once, so such a request is sent once.
  const bool replayable = request.body_stream == nullptr;
  const bool idempotent = IsIdempotent(request.method(), call.method_override);
  const std::vector<std::string> listed = ConnectionListed(request);
  UpstreamClient& client = *parts_.upstreams.at(worker);

  // The agent's fields are views into `request`, the credential one into `call`: both
  // outlive every attempt.
  UpstreamRequest up;
  up.method = request.method();
  up.drop_answer_field = &IsStrippedResponseHeader;  // as Finish strips an answer read by Beast
  up.fields.reserve(8);                              // one allocation for the usual few fields
  up.target.reserve(call.route->base.path.size() + target.raw_path.size() + 1 + target.raw_query.size());
  up.target.append(call.route->base.path).append(target.raw_path);
  if (!credential.query.empty()) {
    std::string query = WithoutQueryParam(target.raw_query, credential.query);
    query +=
        (query.empty() ? "" : "&") + credential.query + "=" + oauth::FormUrlEncode(credential.value.reveal());
    up.target.append("?").append(query);
  } else if (!target.raw_query.empty()) {
    up.target.append("?").append(target.raw_query);
  }
  const std::string& method_override = call.route->provider.method_override_header;
  for (const auto& field : request.base()) {
    // (A declared method-override header is let through; nothing else stripped ever is.)
    if (IsStrippedRequestHeader(field.name(), field.name_string(), listed) &&
        (method_override.empty() || !IsMethodOverrideHeader(field.name_string()) ||
         !boost::beast::iequals(field.name_string(), method_override))) {
      continue;
    }
    if (!credential.header.empty() && boost::beast::iequals(field.name_string(), credential.header)) {
      continue;
    }
    up.fields.push_back({field.name_string(), field.value()});
  }
  if (!credential.header.empty()) up.fields.push_back({credential.header, credential.value.reveal()});
  if (replayable) up.body = request.body();

  for (int attempt = 1;; ++attempt) {
    const auto sent_at = Steady::now();
    call.upstream = {};
    co_await client.SendInto(call.route->base, up, request.body_stream, call.deadline, call.upstream);
    call.upstream_seconds = std::chrono::duration<double>(Steady::now() - sent_at).count();
    call.upstream_total_seconds += call.upstream_seconds;
    ++call.attempts;  // every send of the call, 401 rounds included

    auto delay = retry_.Backoff(call.upstream, attempt, replayable, idempotent, parts_.clock.Now());
    if (!delay || Steady::now() + *delay >= call.deadline) co_return;
    asio::steady_timer timer(co_await asio::this_coro::executor, *delay);
    co_await timer.async_wait(asio::as_tuple(asio::use_awaitable));
  }
}

void Proxy::RefusedFreshToken(Call& call) {
  const store::ConnectionRecord& record = call.route->connection;
  const int streak = refusals_.Add(record.name);
  if (streak >= options_.refusals_before_reauth) {
    const std::string reason = "the API refused a freshly refreshed access token on " +
                               std::to_string(streak) +
                               " calls in a row: the provider still issues tokens, but the API no longer "
                               "accepts this grant's (access revoked at the API, a disabled account)";
    auto marked = parts_.coordinator.MarkRefusedByApi(record.name, *call.oauth_token, reason);
    if (!marked.ok()) {
      spdlog::error("proxy: cannot mark connection '{}' needs_reauth: {}", record.name,
                    marked.status().message());
    } else if (marked->status == store::ConnectionStatus::kNeedsReauth) {
      spdlog::warn("proxy: connection '{}' is now needs_reauth: {}", record.name, reason);
      refusals_.Clear(record.name);
      parts_.cache.ForgetRoute(record.name);
      call.problem = ReauthProblem(*marked, call.agent);
      return;
    }
  }
  call.problem = ReauthRequired(record.name, parts_.links.Reconnect(record, call.agent), "",
                                "the API refused a freshly refreshed access token");
}

asio::awaitable<bool> Proxy::TestEndpointTakes(const Call& call, int worker) {
  const provider::ProviderDefinition& provider = call.route->provider;
  BaseUrl base = call.route->base;
  UpstreamRequest probe;
  if (!provider.test_path.empty()) {
    probe.target = base.path + provider.test_path;
  } else if (!provider.userinfo_url.empty()) {
    auto userinfo = ParseBaseUrl(provider.userinfo_url);
    if (!userinfo.ok()) co_return false;
    base = std::move(*userinfo);
    probe.target = base.path.empty() ? "/" : base.path;
  } else {
    co_return false;
  }
  probe.fields = {{"Accept", "application/json"}, {call.credential->header, call.credential->value.reveal()}};
  UpstreamResult answer = co_await parts_.upstreams.at(worker)->Send(base, probe, nullptr, call.deadline);
  const int status = answer.ok() ? answer.response.result_int() : 0;
  co_return status >= 200 && status < 300;
}

AnswerAction Proxy::ActionFor(const Call& call) {
  return RetryPolicy::Classify(call.upstream, store::IsOAuth(call.route->connection.kind),
                               call.route->provider.quirks.scope_error_format == "slack");
}

// Whether the API may have refused `grant` only because it checked it after its expiry.
// Expiry times are estimates: `expires_in` counts whole seconds, and a provider that
// truncates its `exp` claim ends a token up to a second before latchkey's estimate.
bool Proxy::MayHaveExpiredInFlight(const vault::AccessGrant& grant) const {
  constexpr auto kWholeSecond = std::chrono::seconds(1);
  return grant.expires_at && *grant.expires_at - kWholeSecond <= parts_.clock.Now();
}

// What the answer asks for (ActionFor): 401 → the newest token and the call again
// (RefreshRounds), then what the answer that stands asks for: 403 → scope decoding;
// 429, 5xx and failures → problems.
asio::awaitable<void> Proxy::AfterUpstream(Call& call, const Request& request, int worker,
                                           AnswerAction action) {
  if (action == AnswerAction::kRefresh) {
    if (co_await RefreshRounds(call, request, worker)) co_return;
    action = ActionFor(call);
  }
  switch (action) {
    case AnswerAction::kPassOn:
    case AnswerAction::kRefresh:  // (RefreshRounds settles every 401)
      co_return;
    case AnswerAction::kRateLimited:
    case AnswerAction::kUnavailable: FailureProblem(call, request); co_return;
    case AnswerAction::kScopeCheck: break;
  }

  const store::ConnectionRecord& record = call.route->connection;
  UpstreamRefusal refusal;
  const UpstreamResponse& answer = call.upstream.response;
  refusal.status = answer.result_int();
  refusal.www_authenticate = std::string(answer.Field(http::field::www_authenticate));
  refusal.accepted_oauth_scopes = std::string(answer.Field("X-Accepted-OAuth-Scopes"));
  refusal.content_type = std::string(answer.Field(http::field::content_type));
  StatusOr<std::string> body = co_await PeekBody(call.upstream, options_.max_scope_body);
  if (!body.ok()) {
    call.problem = UpstreamUnavailable(record.name, call.attempts, body.status().message(), false);
    co_return;
  }
  refusal.body = *body;
  const std::string& format = call.route->provider.quirks.scope_error_format;
  if (auto scope = DecodeScopeError(format, refusal, record.scopes)) {
    co_await Offload(parts_.blocking, [&] {
      call.problem = ScopeInsufficient(record.name, record.scopes, scope->required,
                                       parts_.links.Reconsent(record, scope->required, call.agent));
    });
  }
}

// The coordinator may answer a 401 with a token that someone else (another request,
// another node) obtained before ours was refused, without refreshing. If the API refuses
// that one too, it was simply older than it looked, and it is refused in turn: the call
// ends in reauth_required only when a token obtained after its first 401 is refused
// while it was surely still valid. A token the API may have checked after its expiry
// (a slow API, a short-lived token) proves nothing about the grant: it is replaced too,
// and if every round ends that way the call fails as unavailable, not as a dead grant.
asio::awaitable<bool> Proxy::RefreshRounds(Call& call, const Request& request, int worker) {
  const store::ConnectionRecord& record = call.route->connection;
  const TimePoint first_refusal = parts_.clock.Now();
  // A token the test endpoint took after this connection's API refused it: the refusal is
  // that endpoint's own answer, passed on without another refresh.
  if (probed_.Took(record.name, ProbedEndpoint(call), call.oauth_token->reveal(), parts_.steady.Now())) {
    co_return true;
  }
  for (int round = 0; round < RetryPolicy::kRefreshRounds && ActionFor(call) == AnswerAction::kRefresh;
       ++round) {
    std::optional<vault::AccessGrant> fresh;
    parts_.cache.ForgetRoute(record.name);
    co_await Offload(parts_.blocking, [&] {
      auto grant = parts_.coordinator.RefreshRejected(record.name, *call.oauth_token);
      if (grant.ok()) {
        fresh = std::move(*grant);
        parts_.metrics.CountRefresh("ok");
        return;
      }
      auto now = parts_.vault.connections().Get(record.name);
      if (now.ok() && now->status == store::ConnectionStatus::kNeedsReauth) {
        parts_.metrics.CountRefresh("reauth_required");
        call.problem = ReauthProblem(*now, call.agent);
      } else {
        parts_.metrics.CountRefresh("failed");
        call.problem = UpstreamUnavailable(
            record.name, call.attempts,
            "the API refused the access token and refreshing it failed: " + grant.status().message(), false);
      }
    });
    if (call.problem) co_return true;
    call.refreshed = true;
    if (request.body_stream) {
      call.problem =
          UpstreamUnavailable(record.name, call.attempts,
                              "the API refused the access token; latchkey refreshed it, but this "
                              "request's body was streamed and cannot be sent twice, so send it again",
                              false);
      co_return true;
    }
    call.refreshed_credential = vault::Credential::ForAccessToken(fresh->token_type, fresh->access_token);
    call.refreshed_token = std::move(fresh->access_token);
    call.credential = &call.refreshed_credential;
    call.oauth_token = &call.refreshed_token;
    co_await Forward(call, request, worker);
    if (ActionFor(call) != AnswerAction::kRefresh) co_return false;
    const bool last_round = round + 1 == RetryPolicy::kRefreshRounds;
    if (MayHaveExpiredInFlight(*fresh)) {
      if (!last_round) continue;
      call.problem = UpstreamUnavailable(
          record.name, call.attempts,
          "the API refused the access token, and the newest one latchkey obtained may have expired before "
          "the API checked it: the API answers too slowly for the tokens' lifetime",
          false);
      co_return true;
    }
    const bool obtained_after_refusal =
        fresh->refreshed || (fresh->obtained_at && *fresh->obtained_at >= first_refusal);
    if (obtained_after_refusal || last_round) {
      // Some endpoints refuse valid tokens (per path, per resource): only when the
      // provider's test endpoint refuses the token too is the grant taken for dead.
      if (co_await TestEndpointTakes(call, worker)) {
        spdlog::info(
            "proxy: an endpoint of connection '{}' refused a token the provider's test endpoint takes: its "
            "401 is passed on as the endpoint's own answer",
            record.name);
        probed_.Remember(record.name, ProbedEndpoint(call), call.oauth_token->reveal(), parts_.steady.Now());
        refusals_.Clear(record.name);
        co_return true;
      }
      spdlog::warn("proxy: the API refused a new access token of connection '{}' ({}): reauth_required",
                   record.name, call.upstream.response.Field(http::field::www_authenticate));
      co_await Offload(parts_.blocking, [&] { RefusedFreshToken(call); });
      co_return true;
    }
  }
  co_return false;
}

void Proxy::FailureProblem(Call& call, const Request& request) const {
  const std::string& connection = call.route->connection.name;
  const bool idempotent = IsIdempotent(request.method(), call.method_override);
  const UpstreamResult& result = call.upstream;
  switch (result.outcome) {
    case UpstreamResult::Outcome::kOk: break;
    case UpstreamResult::Outcome::kTimeout:
      call.problem = UpstreamTimeout(connection, result.sent && !idempotent);
      return;
    case UpstreamResult::Outcome::kRequestBodyFailed:
      call.problem = RequestBodyProblem(result.request_body_error);
      return;
    case UpstreamResult::Outcome::kUnsendable:
      call.problem =
          InternalProblem("the request to connection '" + connection + "' cannot be sent: " + result.error +
                          "; a stored credential must not hold one, so import it again");
      return;
    case UpstreamResult::Outcome::kTooLarge:
      call.problem = UpstreamUnavailable(connection, call.attempts,
                                         "the response exceeds latchkey's size limit", !idempotent);
      return;
    default:
      call.problem = UpstreamUnavailable(connection, call.attempts, result.error, result.sent && !idempotent);
      return;
  }
  const int status = result.response.result_int();
  if (status == 429) {
    long long retry_after = 1;
    if (auto after = RetryPolicy::RetryAfter(result.response, parts_.clock.Now())) {
      retry_after = std::max<long long>(1, after->count());
    }
    call.problem = RateLimited(connection, retry_after, call.attempts);
    return;
  }
  call.problem =
      UpstreamUnavailable(connection, call.attempts, "HTTP " + std::to_string(status), !idempotent);
  call.problem->members["upstream_status"] = status;
}

Response Proxy::Refuse(const Request& header, ProblemDetails problem) {
  Call call;
  call.at = parts_.clock.Now();
  call.method = std::string(header.method_string());
  if (!ParseProxyTarget(header.target(), call.target.emplace()).ok()) call.target.reset();
  call.problem = std::move(problem);
  return Finish(call, header);
}

Response Proxy::Finish(Call& call, const Request& request) {
  Response response;
  std::string_view code = "ok";  // call.problem's, which outlives it
  int upstream_status = call.upstream.ok() ? call.upstream.response.result_int() : 0;
  if (call.problem) {
    response = call.problem->ToResponse(request.version());
    code = call.problem->code;
    if (call.problem_out != nullptr) *call.problem_out = *call.problem;
  } else {
    UpstreamResponse& up = call.upstream.response;
    // A HEAD answer keeps the Content-Length of the body it does not carry.
    std::string head_length;
    if (request.method() == http::verb::head) head_length = up.Field(http::field::content_length);
    // The upstream's header moves over whole (no copy per field), less hop-by-hop fields.
    response.base() = std::move(up.base());
    response.reason({});  // the standard reason phrase, not the upstream's
    http::fields& fields = response.base();
    for (auto field = fields.begin(); field != fields.end();) {
      field = IsStrippedResponseHeader(field->name(), field->name_string()) ? fields.erase(field)
                                                                            : std::next(field);
    }
    response.lines = std::move(up.lines);  // stripped already (Forward's drop_answer_field)
    response.body() = std::move(up.body());
    if (call.upstream.body_stream) {
      if (auto length = call.upstream.body_stream->remaining_length()) {
        response.content_length(response.body().size() + *length);
      }
      response.body_stream = std::move(call.upstream.body_stream);
    }
    if (!head_length.empty()) response.set(http::field::content_length, head_length);
  }
  if (call.refreshed) response.set("Latchkey-Refreshed", "1");

  // The call ends here: its strings move into the audit record.
  store::AuditRecord audit;
  audit.at = call.at;
  audit.agent = std::move(call.agent);
  audit.client = std::move(call.client);
  if (call.target) audit.connection = std::move(call.target->connection);
  // What the upstream ran: "POST>DELETE" when a declared override header named another method.
  audit.method = std::move(call.method);
  if (!call.method_override.empty()) audit.method.append(">").append(call.method_override);
  if (audit.method.size() > 24) audit.method.resize(24);
  if (call.target) {
    audit.path = std::move(call.target->redacted);
  } else {
    audit.path = "(refused target)";
  }
  audit.upstream_status = upstream_status;
  if (code != "ok") audit.code = code;
  audit.latency_ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(Steady::now() - call.started).count();
  audit.refreshed = call.refreshed;
  parts_.audit.Record(std::move(audit));
  parts_.metrics.RecordCall(call.label, code, call.attempts > 0 ? call.upstream_total_seconds : -1.0);
  return response;
}

}  // namespace latchkey::gateway
