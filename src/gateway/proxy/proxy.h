// Proxy: ANY /proxy/{connection}/{path...} (SPEC §4). One stage per concern, in the order
// Handle() reads:
//   target safety → agent auth → policy → connection state → credential
//   → upstream (pooled, deadline; sent again as RetryPolicy decides)
//   → what the answer asks for (RetryPolicy::Classify): 401 with the current token? the
//     newest token (one shared refresh), sent again, at most RetryPolicy::kRefreshRounds
//     rounds; 403? scope decoding; 429 and 5xx? latchkey's problem
//   → response back → audit row and metrics.
// Blocking stages (store, refresh) run on the blocking pool; the upstream exchange runs on
// the worker's own UpstreamClient. Thread-safe; one instance serves every worker.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/asio/thread_pool.hpp>
#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "common/clock.h"
#include "common/random.h"
#include "gateway/http/http_server.h"
#include "gateway/http/problem.h"
#include "gateway/http/retry_policy.h"
#include "gateway/http/upstream_client.h"
#include "gateway/proxy/audit_log.h"
#include "gateway/proxy/consent_links.h"
#include "gateway/proxy/metrics.h"
#include "gateway/proxy/refusal_streaks.h"
#include "gateway/proxy/route_cache.h"
#include "vault/refresh_coordinator.h"
#include "vault/vault.h"

namespace latchkey::gateway {

struct ProxyOptions {
  std::chrono::milliseconds deadline{30000};  // per proxied call, retries included
  RetryOptions retry;                         // for idempotent methods on 5xx, 429 and network errors
  size_t max_scope_body = size_t{64} * 1024;  // how much of a 403 body the scope decoder reads
  // Calls in a row whose freshly refreshed token the API refused, before the connection
  // is marked needs_reauth (see refusal_streaks.h).
  int refusals_before_reauth = 3;
};

struct ProxyParts {
  vault::Vault& vault;
  vault::RefreshCoordinator& coordinator;
  ConsentLinks& links;
  AuditLog& audit;
  Metrics& metrics;
  boost::asio::thread_pool& blocking;
  std::vector<UpstreamClient*> upstreams;  // one per worker
  const Clock& clock;
  const MonotonicClock& steady;  // refusal streaks (call deadlines are the sockets': real time)
  Random& random;
  RouteCache& cache;
};

// Who makes a call when it is not an HTTP request's Authorization header (MCP tools): an
// agent key as presented, checked on every call exactly like the header; or, with no key,
// an agent by name: the local `latchkey mcp --agent NAME`, whose user holds the store, or
// an MCP client's access token, already checked, that acts as that agent.
struct Caller {
  SecretString agent_key;
  std::string agent_name;
  // The MCP client whose access token this is (its client_id), named in the audit rows;
  // empty for agent keys and `latchkey mcp` (initialized, so that their callers need not say).
  std::string client_id = {};
};

class Proxy {
 public:
  Proxy(ProxyParts parts, ProxyOptions options);
  // `caller` null: the agent key comes from the request's Authorization header.
  // `problem`, when given, receives latchkey's own problem when the answer is one: the
  // only way to tell it from an upstream's answer, whose Latchkey-* headers are dropped.
  boost::asio::awaitable<Response> Handle(Request& request, int worker, const Caller* caller = nullptr,
                                          std::optional<ProblemDetails>* problem = nullptr);

  // A call refused before its body was read (HttpServer's gate): answered with `problem`,
  // audited and counted like any other call.
  Response Refuse(const Request& header, ProblemDetails problem);

  // The agent key the call presents (the caller's, else the Authorization bearer), or empty.
  static std::string_view PresentedKey(const Request& request, const Caller* caller);

  struct Call;  // proxy.cc

 private:
  // The route cache's answer: true when it settled the call (ready to forward, or refused).
  bool PrepareFromCache(Call& call, std::string_view presented, const std::string& digest);
  void RefreshInBackground(const Call& call, std::string_view presented, const std::string& digest);
  // Blocking. With an empty `presented_key` the agent is `agent_name`, trusted.
  void PrepareFromStore(Call& call, std::string_view presented_key, const std::string& digest,
                        const std::string& agent_name = {});
  static void Apply(Call& call, std::shared_ptr<const RouteEntry> route);
  static void CheckMethodOverride(Call& call, const Request& request);
  ProblemDetails ReauthProblem(const store::ConnectionRecord& record, std::string_view agent);
  boost::asio::awaitable<void> Forward(Call& call, const Request& request, int worker);
  // What the call's answer asks for (RetryPolicy::Classify).
  static AnswerAction ActionFor(const Call& call);
  // The 401 rounds: the newest token and the call again. True when the call is settled
  // (a problem, or an answer passed on as it is).
  boost::asio::awaitable<bool> RefreshRounds(Call& call, const Request& request, int worker);
  // The call's problem for an answer that is a failure (no answer, 429, 5xx).
  void FailureProblem(Call& call, const Request& request) const;
  bool MayHaveExpiredInFlight(const vault::AccessGrant& grant) const;
  // `action`: ActionFor(call), which the caller has already asked.
  boost::asio::awaitable<void> AfterUpstream(Call& call, const Request& request, int worker,
                                             AnswerAction action);
  // Blocking. The API refused a token obtained after its first refusal: reauth_required,
  // and after a streak of such calls the connection is marked needs_reauth.
  void RefusedFreshToken(Call& call);
  // Whether the provider's test endpoint (test_path, else userinfo_url) takes the call's
  // token: false when it refuses it, fails, or the provider names none.
  boost::asio::awaitable<bool> TestEndpointTakes(const Call& call, int worker);
  Response Finish(Call& call, const Request& request);

  ProxyParts parts_;
  ProxyOptions options_;
  RetryPolicy retry_;
  RefusalStreaks refusals_;
  ProbedTokens probed_;
};

}  // namespace latchkey::gateway
