#include "gateway/admin/mcp_oauth_server.h"

#include <algorithm>
#include <map>
#include <nlohmann/json.hpp>

#include "common/log.h"
#include "common/url.h"
#include "gateway/admin/consent_pages.h"
#include "gateway/admin/html_page.h"
#include "gateway/http/problem.h"
#include "oauth/form_encoding.h"
#include "oauth/token_fields.h"
#include "provider/provider.h"
#include "vault/mcp_client_metadata.h"

namespace latchkey::gateway {
namespace {

namespace http = boost::beast::http;
using nlohmann::json;

constexpr std::string_view kAuthorizePath = "/oauth/authorize";
constexpr std::string_view kTokenPath = "/oauth/token";
constexpr std::string_view kRegisterPath = "/oauth/register";
constexpr std::string_view kRevokePath = "/oauth/revoke";
constexpr std::string_view kResourceMetadataPath = "/.well-known/oauth-protected-resource";
constexpr uint64_t kMaxFormBytes = 8192;
constexpr int kRegistrationsPerMinute = 20;
// Added to /oauth/authorize's query by the page that reloads itself to see the session
// cookie (SameSite=Strict); not an OAuth parameter.
constexpr std::string_view kAgainParameter = "latchkey_again";

// The authorization request's parameters, as the page carries them to its form.
constexpr std::array<std::string_view, 8> kRequestParameters = {
    "response_type",         "client_id", "redirect_uri", "code_challenge",
    "code_challenge_method", "resource",  "scope",        "state"};

using Form = std::map<std::string, std::string, std::less<>>;

// RFC 6749 §3.1 and §3.2: a parameter sent twice is an error, not a choice.
std::optional<Form> ParseOnce(std::string_view encoded) {
  auto pairs = oauth::ParseFormEncoded(encoded);
  if (!pairs) return std::nullopt;
  Form form;
  for (auto& [name, value] : *pairs) {
    if (!form.emplace(std::move(name), std::move(value)).second) return std::nullopt;
  }
  return form;
}

std::string Get(const Form& form, std::string_view name) {
  auto found = form.find(name);
  return found == form.end() ? std::string() : found->second;
}

std::string WithoutTrailingSlash(std::string_view url) {
  while (url.ends_with('/')) url.remove_suffix(1);
  return std::string(url);
}

Response Json(http::status status, const json& body) {
  Response res = JsonResponse(status, body);
  res.set(http::field::cache_control, "no-store");
  res.set(http::field::pragma, "no-cache");
  res.prepare_payload();
  return res;
}

// An OAuth error answer (RFC 6749 §5.2, RFC 7591 §3.2.2).
Response OAuthError(http::status status, std::string_view error, std::string_view description) {
  return Json(status, {{"error", error}, {"error_description", description}});
}

Response PageRefusal(http::status status, std::string_view title, std::string_view message) {
  return ConsentPage(status, Page(title, message, "Open the dashboard", "/"));
}

// The client's redirect URI with `params` added to its query.
std::string RedirectTo(std::string_view redirect_uri,
                       const std::vector<std::pair<std::string, std::string>>& params) {
  return std::string(redirect_uri) + (redirect_uri.find('?') == std::string_view::npos ? "?" : "&") +
         oauth::FormEncodePairs(params);
}

Response SeeOther(const std::string& location) {
  Response res(http::status::see_other, 11);
  res.set(http::field::location, location);
  res.set(http::field::cache_control, "no-store");
  res.set("Referrer-Policy", "no-referrer");
  res.prepare_payload();
  return res;
}

std::string HostOf(std::string_view url) {
  StatusOr<Url> parsed = ParseHttpUrl(url);
  return parsed.ok() ? parsed->HostForUrl() : std::string("(not a URL)");
}

std::string Hidden(std::string_view name, std::string_view value) {
  return "<input type=\"hidden\" name=\"" + HtmlEscape(name) + "\" value=\"" + HtmlEscape(value) + "\">";
}

vault::McpAuthorizationRequest RequestOf(const Form& form) {
  return {.response_type = Get(form, "response_type"),
          .client_id = Get(form, "client_id"),
          .redirect_uri = Get(form, "redirect_uri"),
          .code_challenge = Get(form, "code_challenge"),
          .code_challenge_method = Get(form, "code_challenge_method"),
          .resource = Get(form, "resource"),
          .scope = Get(form, "scope")};
}

std::vector<std::string> Lines(std::string_view text) {
  std::vector<std::string> lines;
  while (!text.empty()) {
    const size_t end = text.find('\n');
    std::string_view line = text.substr(0, end);
    while (!line.empty() && (line.back() == '\r' || line.back() == ' ')) line.remove_suffix(1);
    while (line.starts_with(' ')) line.remove_prefix(1);
    if (!line.empty()) lines.emplace_back(line);
    if (end == std::string_view::npos) break;
    text.remove_prefix(end + 1);
  }
  return lines;
}

}  // namespace

McpOAuthServer::McpOAuthServer(vault::Vault& vault, vault::McpAuthorization& authorization,
                               vault::ClientDocuments& documents, const Dashboard& dashboard,
                               const MonotonicClock& steady, std::string_view public_url)
    : vault_(vault),
      authorization_(authorization),
      documents_(documents),
      dashboard_(dashboard),
      steady_(steady),
      issuer_(WithoutTrailingSlash(public_url)),
      resource_(issuer_ + "/mcp") {}

bool McpOAuthServer::Serves(std::string_view path) {
  return path == kResourceMetadataPath || path == "/.well-known/oauth-protected-resource/mcp" ||
         path == "/.well-known/oauth-authorization-server" || path == "/.well-known/openid-configuration" ||
         path == kAuthorizePath || path == kTokenPath || path == kRegisterPath || path == kRevokePath;
}

uint64_t McpOAuthServer::MaxBodyBytes(std::string_view path) {
  if (path == kAuthorizePath || path == kTokenPath || path == kRevokePath || path == kRegisterPath) {
    return kMaxFormBytes;
  }
  return 0;
}

std::string McpOAuthServer::Challenge(bool token_presented) const {
  return std::string("Bearer realm=\"latchkey\", ") + (token_presented ? "error=\"invalid_token\", " : "") +
         "resource_metadata=\"" + issuer_ + std::string(kResourceMetadataPath) + "/mcp\", scope=\"" +
         std::string(vault::kMcpScope) + "\"";
}

Response McpOAuthServer::Handle(const Request& request) {
  const std::string_view target = request.target();
  const size_t question = target.find('?');
  const std::string_view path = target.substr(0, question);
  const std::string_view query = question == std::string_view::npos ? "" : target.substr(question + 1);
  const bool read = request.method() == http::verb::get || request.method() == http::verb::head;
  const bool post = request.method() == http::verb::post;
  Response res;
  if (path.starts_with("/.well-known/")) {
    if (!read) return MethodNotAllowed(path, "GET").ToResponse(request.version());
    res = path.starts_with(kResourceMetadataPath) ? ProtectedResource() : AuthorizationServer();
  } else if (path == kAuthorizePath) {
    if (read) {
      res = AuthorizePage(request, query);
    } else if (post) {
      res = AuthorizeDecision(request);
    } else {
      res = MethodNotAllowed(path, "GET, POST").ToResponse(request.version());
    }
  } else if (!post) {
    res = MethodNotAllowed(path, "POST").ToResponse(request.version());
  } else if (path == kTokenPath) {
    res = Token(request);
  } else if (path == kRegisterPath) {
    res = Register(request);
  } else {
    res = Revoke(request);
  }
  res.version(request.version());
  res.set(http::field::server, "latchkey");
  res.set("X-Content-Type-Options", "nosniff");
  return res;
}

Response McpOAuthServer::ProtectedResource() const {
  return Json(http::status::ok, {{"resource", resource_},
                                 {"authorization_servers", {issuer_}},
                                 {"scopes_supported", {vault::kMcpScope}},
                                 {"bearer_methods_supported", {"header"}},
                                 {"resource_name", "latchkey"}});
}

Response McpOAuthServer::AuthorizationServer() const {
  const json auth_methods = {"none", "client_secret_basic", "client_secret_post"};
  return Json(http::status::ok, {{"issuer", issuer_},
                                 {"authorization_endpoint", issuer_ + std::string(kAuthorizePath)},
                                 {"token_endpoint", issuer_ + std::string(kTokenPath)},
                                 {"registration_endpoint", issuer_ + std::string(kRegisterPath)},
                                 {"revocation_endpoint", issuer_ + std::string(kRevokePath)},
                                 {"response_types_supported", {"code"}},
                                 {"grant_types_supported", {"authorization_code", "refresh_token"}},
                                 {"code_challenge_methods_supported", {"S256"}},
                                 {"token_endpoint_auth_methods_supported", auth_methods},
                                 {"revocation_endpoint_auth_methods_supported", auth_methods},
                                 {"scopes_supported", {vault::kMcpScope}},
                                 {"client_id_metadata_document_supported", true},
                                 {"authorization_response_iss_parameter_supported", true}});
}

namespace {

// The client an authorization request names: a metadata document's (fetched, or from
// the store while its cache lasts) or a registered one's.
StatusOr<store::McpClientRecord> ResolveClient(vault::Vault& vault, vault::ClientDocuments& documents,
                                               std::string_view client_id) {
  if (client_id.empty()) return InvalidArgumentError("the request names no client_id");
  if (vault::IsClientDocumentUrl(client_id)) return documents.Get(client_id);
  StatusOr<store::McpClientRecord> client = vault.store().GetMcpClient(client_id);
  if (!client.ok() || client->metadata_document) {
    return NotFoundError("no client is registered as client_id " + std::string(client_id).substr(0, 100));
  }
  return client;
}

}  // namespace

Response McpOAuthServer::AuthorizePage(const Request& request, std::string_view query) {
  const std::string self = std::string(kAuthorizePath) + "?" + std::string(query);
  if (!dashboard_.SignedIn(request)) {
    // Opened from the client (another site), the browser withheld the SameSite=Strict
    // session cookie; a reload from this page is a same-site navigation that sends it.
    // Nothing about the client is fetched or shown before someone signs in.
    if (query.find(kAgainParameter) == std::string_view::npos) {
      const std::string again = self + "&" + std::string(kAgainParameter) + "=1";
      return ConsentPage(
          http::status::ok,
          Document("Checking your session", "<p><a href=\"" + HtmlEscape(again) + "\">Continue</a></p>",
                   "<meta http-equiv=\"refresh\" content=\"0;url=" + HtmlEscape(again) + "\">"));
    }
    std::string body =
        "<p>An MCP client asks to act as one of latchkey's agents. Sign in to the dashboard with an admin "
        "token to review the request; nothing is granted until you allow it.</p>";
    if (query.find("failed") != std::string_view::npos) body += "<p>That admin token was not accepted.</p>";
    body += "<form method=\"post\" action=\"/login\">" + Hidden("next", self) +
            "<label>Admin token <input type=\"password\" name=\"token\" autocomplete=\"off\"></label> "
            "<button type=\"submit\">Sign in</button></form>";
    return ConsentPage(http::status::ok, Document("Sign in to review an MCP client", body));
  }
  std::optional<Form> form = ParseOnce(query);
  if (!form) {
    return PageRefusal(http::status::bad_request, "Not a valid request",
                       "The authorization request is malformed or repeats a parameter.");
  }
  StatusOr<store::McpClientRecord> client = ResolveClient(vault_, documents_, Get(*form, "client_id"));
  if (!client.ok()) {
    return PageRefusal(http::status::bad_request, "Unknown client",
                       "The client could not be identified: " + client.status().message());
  }
  const vault::McpAuthorizationRequest asked = RequestOf(*form);
  StatusOr<std::vector<std::string>> scopes = vault::CheckAuthorizationRequest(asked, *client, resource_);
  // Every error is shown here, none sent to the redirect URI: anyone can register a
  // client, so a redirect before the human acts would let a link send a signed-in human to
  // any site the stranger registered (RFC 9700 §4.11.2). The client hears only Allow or Deny.
  if (!scopes.ok()) {
    return PageRefusal(http::status::bad_request, "Not a valid request", scopes.status().message() + ".");
  }

  // Where the code goes: a web host, a program on this computer (loopback), or the app
  // that handles a private-use scheme (RFC 8252 §7.1).
  StatusOr<Url> redirect = ParseHttpUrl(asked.redirect_uri);
  const bool local = !redirect.ok() || provider::IsLoopbackHost(redirect->host);
  const std::string redirect_host =
      redirect.ok() ? redirect->HostForUrl()
                    : "the app on this computer that opens " +
                          asked.redirect_uri.substr(0, asked.redirect_uri.find(':') + 1) + " links";
  std::string body = "<div id=\"client\"><p>The client calls itself <b>" +
                     HtmlEscape(client->name.empty() ? "(no name given)" : client->name) +
                     "</b> (its own claim, not checked).</p><ul>";
  body += "<li>client_id: " + HtmlEscape(client->client_id) + "</li>";
  if (client->metadata_document) {
    body += "<li>Described by a document at " + HtmlEscape(HostOf(client->client_id)) + "</li>";
  } else {
    body += "<li>Registered with latchkey by the client itself (no one vouches for it)</li>";
  }
  body += "<li>The answer goes to: " + HtmlEscape(redirect_host) + "</li>";
  if (!client->logo_uri.empty()) body += "<li>Logo URL: " + HtmlEscape(client->logo_uri) + "</li>";
  body += "<li>Access: act as the agent you choose at " + HtmlEscape(resource_) +
          " (that agent's connections, methods and paths), with scope " +
          HtmlEscape(oauth::JoinScopes(*scopes, " ")) + "</li></ul></div>";
  if (local) {
    body +=
        "<p><b>The answer goes to a program on this computer.</b> Any program can claim any name: allow only "
        "if you started this client just now.</p>";
  }
  body += "<form method=\"post\" action=\"" + std::string(kAuthorizePath) + "\">" +
          Hidden("csrf", dashboard_.CsrfFor(request));
  for (std::string_view name : kRequestParameters) body += Hidden(name, Get(*form, name));
  // No agent is chosen for the human: a click that was meant for something else (a page
  // that swaps itself under the pointer) grants nothing.
  body += "<p><label>Act as agent <select name=\"agent\"><option value=\"\">Choose an agent</option>";
  if (StatusOr<std::vector<store::AgentRecord>> agents = vault_.store().ListAgents(); agents.ok()) {
    for (const store::AgentRecord& agent : *agents) {
      if (agent.revoked_at) continue;
      body += "<option value=\"" + HtmlEscape(agent.name) + "\">" + HtmlEscape(agent.name) + "</option>";
    }
  }
  body +=
      "</select></label></p><p><label>Or a new agent named <input name=\"new_agent\" autocomplete=\"off\">"
      "</label>, allowed (one rule a line, CONNECTION[:METHODS[:PATH_GLOB]]):<br><textarea "
      "name=\"new_agent_rules\" "
      "rows=\"4\" cols=\"60\"></textarea></p>";
  body +=
      "<p>To allow, enter the admin token (a copy of this browser's session is not enough): <label>Admin "
      "token "
      "<input type=\"password\" name=\"admin_token\" autocomplete=\"new-password\"></label></p>"
      "<p><button type=\"submit\" name=\"decision\" value=\"allow\">Allow</button> "
      "<button type=\"submit\" name=\"decision\" value=\"deny\">Deny</button></p></form>";
  return ConsentPage(http::status::ok, Document("Allow an MCP client to act as an agent", body));
}

Response McpOAuthServer::AuthorizeDecision(const Request& request) {
  std::optional<Form> form = ParseOnce(request.body());
  if (!form) return PageRefusal(http::status::bad_request, "Not a valid request", "The form is malformed.");
  if (Status allowed = dashboard_.AuthorizeForm(request, Get(*form, "csrf")); !allowed.ok()) {
    return PageRefusal(
        allowed.code() == StatusCode::kUnauthenticated ? http::status::unauthorized : http::status::forbidden,
        "Nothing was granted", allowed.message() + ".");
  }
  // The request is checked again: the form carries it back from the browser.
  StatusOr<store::McpClientRecord> client = ResolveClient(vault_, documents_, Get(*form, "client_id"));
  if (!client.ok())
    return PageRefusal(http::status::bad_request, "Unknown client", client.status().message());
  const vault::McpAuthorizationRequest asked = RequestOf(*form);
  StatusOr<std::vector<std::string>> scopes = vault::CheckAuthorizationRequest(asked, *client, resource_);
  if (!scopes.ok()) {
    return PageRefusal(http::status::bad_request, "Not a valid request", scopes.status().message() + ".");
  }
  const std::string state = Get(*form, "state");
  if (Get(*form, "decision") != "allow") {
    spdlog::info("MCP authorization: a signed-in human denied client {}", client->client_id);
    return SeeOther(RedirectTo(asked.redirect_uri, {{"error", "access_denied"},
                                                    {"error_description", "the human denied the request"},
                                                    {"state", state},
                                                    {"iss", issuer_}}));
  }
  std::string admin_token = Get(*form, "admin_token");
  const Status token_ok = admin_token.empty()
                              ? UnauthenticatedError("the admin token is needed to allow a client")
                              : vault_.admin_tokens().Authenticate(admin_token);
  WipeString(admin_token);
  if (auto typed = form->find("admin_token"); typed != form->end()) WipeString(typed->second);
  if (!token_ok.ok()) {
    return PageRefusal(http::status::unauthorized, "Nothing was granted",
                       "Nothing was granted: " + token_ok.message() + ".");
  }
  std::string agent = Get(*form, "agent");
  if (agent.empty() && Get(*form, "new_agent").empty()) {
    return PageRefusal(http::status::bad_request, "Nothing was granted",
                       "Nothing was granted: choose the agent the client acts as.");
  }
  if (const std::string new_agent = Get(*form, "new_agent"); !new_agent.empty()) {
    // The new agent's key is never shown: the client acts as it through its tokens.
    StatusOr<vault::CreatedAgent> created =
        vault_.agents().Create(new_agent, Lines(Get(*form, "new_agent_rules")));
    if (!created.ok()) {
      return PageRefusal(http::status::bad_request, "Nothing was granted",
                         "The agent could not be created: " + created.status().message());
    }
    agent = new_agent;
  }
  StatusOr<SecretString> code = authorization_.IssueCode({.client_id = client->client_id,
                                                          .agent = agent,
                                                          .redirect_uri = asked.redirect_uri,
                                                          .code_challenge = asked.code_challenge,
                                                          .resource = asked.resource,
                                                          .scopes = *scopes});
  if (!code.ok()) {
    return PageRefusal(http::status::bad_request, "Nothing was granted",
                       "Nothing was granted: " + code.status().message());
  }
  spdlog::info("MCP authorization: a signed-in human allowed client {} to act as agent '{}'",
               client->client_id, agent);
  return SeeOther(RedirectTo(asked.redirect_uri,
                             {{"code", std::string(code->reveal())}, {"state", state}, {"iss", issuer_}}));
}

StatusOr<store::McpClientRecord> McpOAuthServer::ClientOf(const Request& request, const Form& form) {
  std::string client_id = Get(form, "client_id");
  SecretString secret(Get(form, "client_secret"));
  const std::string_view authorization = FirstField(request.base(), http::field::authorization);
  if (!authorization.empty()) {
    std::optional<oauth::BasicCredential> basic = oauth::ParseBasicAuthorization(authorization);
    if (!basic || !secret.empty() || (!client_id.empty() && client_id != basic->user)) {
      return UnauthenticatedError("client authentication failed");
    }
    client_id = std::move(basic->user);
    secret = std::move(basic->password);
  }
  return authorization_.AuthenticateClient(client_id, secret);
}

Response McpOAuthServer::Token(const Request& request) {
  std::optional<Form> form = ParseOnce(request.body());
  if (!form)
    return OAuthError(http::status::bad_request, "invalid_request", "malformed or repeated parameters");
  StatusOr<store::McpClientRecord> client = ClientOf(request, *form);
  if (!client.ok()) {
    Response refused = OAuthError(http::status::unauthorized, "invalid_client", client.status().message());
    refused.set(http::field::www_authenticate, "Basic realm=\"latchkey\"");
    return refused;
  }
  const std::string grant_type = Get(*form, "grant_type");
  const std::string resource = Get(*form, "resource");
  if (!resource.empty() && resource != resource_) {
    return OAuthError(http::status::bad_request, "invalid_target", "resource must be " + resource_);
  }
  StatusOr<vault::McpTokens> tokens = InvalidArgumentError("");
  if (grant_type == "authorization_code") {
    tokens = authorization_.ExchangeCode(SecretString(Get(*form, "code")), client->client_id,
                                         Get(*form, "redirect_uri"),
                                         SecretString(Get(*form, "code_verifier")), resource);
  } else if (grant_type == "refresh_token") {
    tokens = authorization_.Refresh(SecretString(Get(*form, "refresh_token")), client->client_id, resource);
  } else {
    return OAuthError(http::status::bad_request, "unsupported_grant_type",
                      "grant_type must be authorization_code or refresh_token");
  }
  for (auto& [name, value] : *form) WipeString(value);
  if (!tokens.ok()) {
    if (tokens.status().code() == StatusCode::kPermissionDenied) {
      return OAuthError(http::status::bad_request, "invalid_grant", tokens.status().message());
    }
    spdlog::warn("MCP token endpoint: {}", tokens.status().message());
    return OAuthError(http::status::internal_server_error, "server_error", "the token could not be issued");
  }
  return Json(http::status::ok,
              {{"access_token", tokens->access_token.reveal()},
               {"token_type", "Bearer"},
               {"expires_in", std::chrono::duration_cast<std::chrono::seconds>(tokens->expires_in).count()},
               {"refresh_token", tokens->refresh_token.reveal()},
               {"scope", oauth::JoinScopes(tokens->scopes, " ")}});
}

bool McpOAuthServer::TakeRegistration() {
  std::lock_guard lock(registrations_mu_);
  const MonoTime now = steady_.Now();
  if (now - window_start_ >= std::chrono::minutes(1)) {
    window_start_ = now;
    registrations_in_window_ = 0;
  }
  return ++registrations_in_window_ <= kRegistrationsPerMinute;
}

Response McpOAuthServer::Register(const Request& request) {
  // Anyone may register (RFC 7591 open registration; the human's consent is the gate),
  // but not at any rate: each registration is a row.
  if (!TakeRegistration()) {
    Response slow = OAuthError(http::status::too_many_requests, "temporarily_unavailable",
                               "too many registrations; try again in a minute");
    slow.set(http::field::retry_after, "60");
    return slow;
  }
  StatusOr<vault::RegisteredClient> registered = authorization_.Register(request.body());
  if (!registered.ok()) {
    const bool redirect = registered.status().message().find("redirect_uri") != std::string::npos;
    return OAuthError(http::status::bad_request,
                      redirect ? "invalid_redirect_uri" : "invalid_client_metadata",
                      registered.status().message());
  }
  const store::McpClientRecord& client = registered->client;
  spdlog::info("MCP authorization: client {} registered (name '{}')", client.client_id, client.name);
  json body = {
      {"client_id", client.client_id},
      {"client_id_issued_at",
       std::chrono::duration_cast<std::chrono::seconds>(client.created_at.time_since_epoch()).count()},
      {"redirect_uris", client.redirect_uris},
      {"token_endpoint_auth_method", client.token_endpoint_auth_method},
      {"grant_types", {"authorization_code", "refresh_token"}},
      {"response_types", {"code"}}};
  if (!client.name.empty()) body["client_name"] = client.name;
  if (!registered->client_secret.empty()) {
    body["client_secret"] = registered->client_secret.reveal();
    body["client_secret_expires_at"] = 0;
  }
  return Json(http::status::created, body);
}

Response McpOAuthServer::Revoke(const Request& request) {
  std::optional<Form> form = ParseOnce(request.body());
  if (!form)
    return OAuthError(http::status::bad_request, "invalid_request", "malformed or repeated parameters");
  StatusOr<store::McpClientRecord> client = ClientOf(request, *form);
  if (!client.ok())
    return OAuthError(http::status::unauthorized, "invalid_client", client.status().message());
  const Status revoked = authorization_.Revoke(SecretString(Get(*form, "token")), client->client_id);
  for (auto& [name, value] : *form) WipeString(value);
  if (revoked.code() == StatusCode::kPermissionDenied) {
    return OAuthError(http::status::bad_request, "unauthorized_client", revoked.message());
  }
  if (!revoked.ok()) {
    return OAuthError(http::status::internal_server_error, "server_error", "the token could not be revoked");
  }
  return Json(http::status::ok, json::object());
}

}  // namespace latchkey::gateway
