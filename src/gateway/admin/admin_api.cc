#include "gateway/admin/admin_api.h"

#include <algorithm>
#include <nlohmann/json.hpp>

#include "common/encoding.h"
#include "common/json_secrets.h"
#include "common/log.h"
#include "gateway/http/problem.h"
#include "oauth/form_encoding.h"
#include "vault/json_views.h"
#include "vault/revocation.h"

namespace latchkey::gateway {

namespace http = boost::beast::http;
using nlohmann::json;

namespace {

Response Error(const Status& status) {
  ProblemDetails problem;
  problem.detail = "The request was NOT carried out: " + status.message();
  switch (status.code()) {
    case StatusCode::kInvalidArgument:
      problem.status = http::status::bad_request;
      problem.code = "bad_request";
      break;
    case StatusCode::kNotFound:
      problem.status = http::status::not_found;
      problem.code = "not_found";
      break;
    case StatusCode::kAlreadyExists:
    case StatusCode::kFailedPrecondition:
    case StatusCode::kNeedsHuman:
      problem.status = http::status::conflict;
      problem.code = "conflict";
      break;
    case StatusCode::kUnauthenticated:
      problem.status = http::status::unauthorized;
      problem.code = "admin_unauthenticated";
      problem.bearer_challenge = true;
      break;
    case StatusCode::kPermissionDenied:
      problem.status = http::status::forbidden;
      problem.code = "forbidden";
      break;
    case StatusCode::kUnavailable:
      problem.status = http::status::service_unavailable;
      problem.code = "unavailable";
      break;
    default: problem.status = http::status::internal_server_error; problem.code = "internal_error";
  }
  return problem.ToResponse(11);
}

// Path segments after "/v1/", as sent (names are slugs: nothing in them is encoded).
std::vector<std::string> Segments(std::string_view path) {
  std::vector<std::string> out;
  size_t start = 4;  // after "/v1/"
  while (start <= path.size()) {
    size_t end = path.find('/', start);
    if (end == std::string_view::npos) end = path.size();
    if (end > start) out.emplace_back(path.substr(start, end - start));
    start = end + 1;
  }
  return out;
}

std::string QueryValue(const std::vector<std::pair<std::string, std::string>>& query, std::string_view name) {
  for (const auto& [key, value] : query) {
    if (key == name) return value;
  }
  return "";
}

bool HasKey(const std::vector<std::pair<std::string, std::string>>& query, std::string_view name) {
  return std::ranges::any_of(query, [name](const auto& pair) { return pair.first == name; });
}

StatusOr<json> JsonBody(const Request& request) {
  json body = json::parse(request.body(), nullptr, /*allow_exceptions=*/false);
  if (body.is_discarded() || !body.is_object()) return InvalidArgumentError("the body must be a JSON object");
  return body;
}

StatusOr<std::vector<std::string>> StringList(const json& body, const char* key) {
  std::vector<std::string> out;
  auto it = body.find(key);
  if (it == body.end()) return out;
  if (!it->is_array()) return InvalidArgumentError(std::string("'") + key + "' must be an array of strings");
  for (const json& item : *it) {
    if (!item.is_string())
      return InvalidArgumentError(std::string("'") + key + "' must be an array of strings");
    out.push_back(item.get<std::string>());
  }
  return out;
}

StatusOr<std::string> RequiredString(const json& body, const char* key) {
  auto it = body.find(key);
  if (it == body.end() || !it->is_string() || it->get_ref<const std::string&>().empty())
    return InvalidArgumentError(std::string("'") + key + "' must be a non-empty string");
  return it->get<std::string>();
}

std::string_view McpClientKind(bool metadata_document) {
  return metadata_document ? "metadata_document" : "registered";
}

// One consent with what its client calls itself. The name is the client's own claim
// (anyone can register "Claude Code"): the dashboard shows it as text beside the client_id.
StatusOr<json> McpConsentJson(store::Store& store, const store::McpConsentRecord& c) {
  std::string name;
  // A client latchkey issued an id to is "lkc_…", never an https URL (McpAuthorization::Register).
  bool metadata_document = c.client_id.starts_with("https://");
  auto client = store.GetMcpClient(c.client_id);
  if (client.ok()) {
    name = client->name;
    metadata_document = client->metadata_document;
  } else if (client.status().code() != StatusCode::kNotFound) {
    return client.status();
  }
  return json{
      {"client_id", c.client_id},
      {"client_name", name},
      {"client_kind", McpClientKind(metadata_document)},
      {"agent", c.agent},
      {"scopes", c.scopes},
      {"created_at", FormatRfc3339(c.created_at)},
      {"revoked_at", c.revoked_at ? json(FormatRfc3339(*c.revoked_at)) : json()},
  };
}

// Standing consents first (what a human may want to end), then revoked ones; each group
// keeps the store's order (by agent, then client).
Response ListMcpConsents(store::Store& store) {
  auto consents = store.ListMcpConsents();
  if (!consents.ok()) return Error(consents.status());
  std::stable_partition(consents->begin(), consents->end(), [](const auto& c) { return !c.revoked_at; });
  json out = json::array();
  for (const auto& c : *consents) {
    auto view = McpConsentJson(store, c);
    if (!view.ok()) return Error(view.status());
    out.push_back(std::move(*view));
  }
  return JsonResponse(http::status::ok, {{"consents", std::move(out)}});
}

// Ends what a human allowed a client, and every code and token issued under it (one store
// transaction). kNotFound when no consent stands, revoked already or never given.
Response RevokeMcpConsent(store::Store& store, const Clock& clock, const Request& request) {
  auto body = JsonBody(request);
  if (!body.ok()) return Error(body.status());
  auto client_id = RequiredString(*body, "client_id");
  if (!client_id.ok()) return Error(client_id.status());
  auto agent = RequiredString(*body, "agent");
  if (!agent.ok()) return Error(agent.status());
  if (Status revoked = store.RevokeMcpConsent(*client_id, *agent, clock.Now()); !revoked.ok()) {
    if (revoked.code() == StatusCode::kNotFound)
      return Error(NotFoundError("no consent stands for this client and agent"));
    return Error(revoked);
  }
  spdlog::info("admin api: MCP client '{}' may no longer act as agent '{}'; its tokens are revoked",
               ToDisplayText(*client_id, 200), *agent);
  return JsonResponse(http::status::ok, {{"client_id", *client_id}, {"agent", *agent}, {"revoked", true}});
}

}  // namespace

Response AdminApi::ErrorResponse(const Status& status) { return Error(status); }

AdminApi::AdminApi(Parts parts) : parts_(std::move(parts)) {}

Response AdminApi::Handle(const Request& request) {
  Response response = Dispatch(request);
  if (request.method() != http::verb::get && response.result_int() < 300 && parts_.on_change)
    parts_.on_change();
  return response;
}

Response AdminApi::Dispatch(const Request& request) {
  if (Status authenticated = parts_.authorize(request); !authenticated.ok()) return Error(authenticated);

  std::string_view target = request.target();
  size_t question = target.find('?');
  std::string_view path = target.substr(0, question);
  auto query = oauth::ParseFormEncoded(question == std::string_view::npos ? "" : target.substr(question + 1));
  if (!query) return Error(InvalidArgumentError("the query string is malformed"));
  const std::vector<std::string> s = Segments(path);
  const http::verb method = request.method();
  vault::Vault& vault = parts_.vault;
  const auto get = method == http::verb::get;

  if (s.size() == 1 && s[0] == "providers" && get) {
    auto catalog = vault.providers().Catalog();
    if (!catalog.ok()) return Error(catalog.status());
    json out = json::array();
    for (const auto& p : catalog->List()) out.push_back(vault::ProviderJson(p, false));
    return JsonResponse(http::status::ok, out);
  }
  if (s.size() == 1 && s[0] == "providers" && method == http::verb::post) {
    const bool change_endpoints = QueryValue(*query, "change_endpoints") == "true";
    auto added = vault.providers().Add(request.body(), "request body",
                                       {.change_endpoints = change_endpoints, .by = "admin-api"});
    if (!added.ok()) return Error(added.status());
    auto stored = vault.providers().HasStoredClientSecret(added->name);
    return JsonResponse(http::status::created, vault::ProviderJson(*added, stored.ok() && *stored));
  }
  if (s.size() == 2 && s[0] == "providers" && get) {
    auto provider = vault.providers().Get(s[1]);
    if (!provider.ok()) return Error(provider.status());
    auto stored = vault.providers().HasStoredClientSecret(s[1]);
    return JsonResponse(http::status::ok, vault::ProviderJson(*provider, stored.ok() && *stored));
  }

  if (s.size() == 1 && s[0] == "connections" && get) {
    auto connections = vault.connections().List();
    if (!connections.ok()) return Error(connections.status());
    json out = json::array();
    for (const auto& c : *connections)
      out.push_back(vault::ConnectionJson(c, vault.connections().Forecast(c)));
    return JsonResponse(http::status::ok, out);
  }
  if (s.size() == 2 && s[0] == "connections" && get) {
    auto connection = vault.connections().Get(s[1]);
    if (!connection.ok()) return Error(connection.status());
    return JsonResponse(http::status::ok,
                        vault::ConnectionJson(*connection, vault.connections().Forecast(*connection)));
  }
  if (s.size() == 3 && s[0] == "connections" && s[2] == "connect" && method == http::verb::post) {
    auto body = JsonBody(request);
    if (!body.ok()) return Error(body.status());
    auto scopes = StringList(*body, "scopes");
    if (!scopes.ok()) return Error(scopes.status());
    std::string provider = body->value("provider", "");
    if (provider.empty()) {
      auto existing = vault.connections().Get(s[1]);
      if (!existing.ok()) return Error(InvalidArgumentError("name the provider: {\"provider\": \"...\"}"));
      provider = existing->provider;
    }
    // Not the provider's URL: a consent page where a signed-in human starts the flow in
    // their own browser, which alone can then complete it (the consent cookie).
    auto link = parts_.links.Connect(provider, s[1], *scopes);
    if (!link.ok()) return Error(link.status());
    return JsonResponse(http::status::created, {{"connection", s[1]},
                                                {"consent_url", link->url},
                                                {"redirect_uri", parts_.links.callback_url()},
                                                {"expires_at", FormatRfc3339(link->expires_at)}});
  }
  if (s.size() == 3 && s[0] == "connections" && s[2] == "refresh" && method == http::verb::post) {
    auto grant = parts_.coordinator.ForceRefresh(s[1]);
    if (!grant.ok()) return Error(grant.status());
    auto connection = vault.connections().Get(s[1]);
    if (!connection.ok()) return Error(connection.status());
    return JsonResponse(http::status::ok,
                        vault::ConnectionJson(*connection, vault.connections().Forecast(*connection)));
  }
  if (s.size() == 2 && s[0] == "connections" && method == http::verb::delete_) {
    auto connection = vault.connections().Get(s[1]);
    if (!connection.ok()) return Error(connection.status());
    std::string revocation = "nothing revoked";
    if (connection->status != store::ConnectionStatus::kDisconnected) {
      revocation = vault::RevokeAtProvider(vault, parts_.clients, *connection);
    }
    if (Status done = vault.connections().Disconnect(s[1]); !done.ok()) return Error(done);
    return JsonResponse(http::status::ok,
                        {{"connection", s[1]}, {"status", "disconnected"}, {"revocation", revocation}});
  }

  if (s.size() == 1 && s[0] == "agents" && get) {
    auto agents = vault.agents().List();
    if (!agents.ok()) return Error(agents.status());
    json out = json::array();
    for (const auto& a : *agents) out.push_back(vault::AgentJson(a));
    return JsonResponse(http::status::ok, out);
  }
  if (s.size() == 1 && s[0] == "agents" && method == http::verb::post) {
    auto body = JsonBody(request);
    if (!body.ok()) return Error(body.status());
    auto rules = StringList(*body, "allow");
    if (!rules.ok()) return Error(rules.status());
    auto created = vault.agents().Create(body->value("name", ""), *rules);
    if (!created.ok()) return Error(created.status());
    json out = vault::AgentJson(created->record);
    out["key"] = std::string(created->key.reveal());  // shown once, to the operator who asked
    Response res = JsonResponse(http::status::created, out);
    WipeJson(out);
    return res;
  }
  if (s.size() == 2 && s[0] == "agents" && method == http::verb::delete_) {
    if (Status revoked = vault.agents().Revoke(s[1]); !revoked.ok()) return Error(revoked);
    return JsonResponse(http::status::ok, {{"agent", s[1]}, {"revoked", true}});
  }

  if (s.size() == 1 && s[0] == "mcp-consents" && get) return ListMcpConsents(vault.store());
  if (s.size() == 2 && s[0] == "mcp-consents" && s[1] == "revoke" && method == http::verb::post)
    return RevokeMcpConsent(vault.store(), *parts_.clock, request);

  if (s.size() == 1 && s[0] == "audit" && get) {
    store::AuditFilter filter;
    if (auto v = QueryValue(*query, "agent"); !v.empty()) filter.agent = v;
    if (auto v = QueryValue(*query, "connection"); !v.empty()) filter.connection = v;
    if (auto v = QueryValue(*query, "code"); !v.empty()) filter.code = v;
    if (auto v = QueryValue(*query, "client"); !v.empty()) filter.client = v;
    if (HasKey(*query, "after_id")) {
      std::optional<int64_t> id = ParseDecimal(QueryValue(*query, "after_id"));
      if (!id) return Error(InvalidArgumentError("after_id must be an integer"));
      filter.after_id = *id;
    }
    if (HasKey(*query, "limit")) {
      std::optional<int64_t> limit = ParseDecimal(QueryValue(*query, "limit"));
      if (!limit || *limit < 1 || *limit > 1000)
        return Error(InvalidArgumentError("limit must be 1 to 1000"));
      filter.limit = static_cast<int>(*limit);
    }
    auto rows = vault.store().QueryAudit(filter);
    if (!rows.ok()) return Error(rows.status());
    json out = json::array();
    for (const auto& r : *rows) out.push_back(vault::AuditJson(r));
    return JsonResponse(http::status::ok, out);
  }
  if (s.size() == 1 && s[0] == "alerts" && get) {
    int limit = 100;
    if (HasKey(*query, "limit")) {
      std::optional<int64_t> asked = ParseDecimal(QueryValue(*query, "limit"));
      if (!asked || *asked < 1 || *asked > 1000)
        return Error(InvalidArgumentError("limit must be 1 to 1000"));
      limit = static_cast<int>(*asked);
    }
    auto alerts = vault.store().ListAlerts(limit);
    if (!alerts.ok()) return Error(alerts.status());
    json out = json::array();
    for (const auto& a : *alerts) out.push_back(vault::AlertJson(a));
    return JsonResponse(http::status::ok, out);
  }
  return NotFound(request.method_string(), path).ToResponse(request.version());
}

}  // namespace latchkey::gateway
