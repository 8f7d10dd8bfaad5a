#include "gateway/admin/consent_pages.h"

#include <algorithm>

#include "common/log.h"
#include "common/url.h"
#include "gateway/admin/html_page.h"
#include "oauth/form_encoding.h"
#include "oauth/token_fields.h"
#include "vault/account_identity.h"

namespace latchkey::gateway {
namespace {

namespace http = boost::beast::http;

// No script, no framing, nothing loaded from anywhere. No form-action: the review form's
// answer redirects to the provider, whose origin (and its own redirects) a form-action
// list would have to name.
constexpr std::string_view kContentSecurityPolicy =
    "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'; base-uri 'none'";
constexpr std::chrono::seconds kBindingCookieLifetime{600};  // vault::kPendingAuthorizationLifetime

std::string Joined(const std::vector<std::string>& scopes) {
  return scopes.empty() ? "(the provider's default)" : oauth::JoinScopes(scopes, ", ");
}

std::string Paragraph(std::string_view text) { return "<p>" + HtmlEscape(text) + "</p>"; }

std::string Bold(std::string_view text) { return "<b>" + HtmlEscape(text) + "</b>"; }

Response Refusal(http::status status, std::string_view title, std::string_view message) {
  return ConsentPage(status, Page(title, message, "Open the dashboard", "/"));
}

}  // namespace

std::string ConsentCookieName(std::string_view state) {
  return "latchkey_consent_" + vault::PendingAuthorizationId(state).substr(0, 16);
}

Response ConsentPage(http::status status, std::string html) {
  Response res(status, 11);
  res.set(http::field::server, "latchkey");
  res.set(http::field::content_type, "text/html; charset=utf-8");
  res.set(http::field::cache_control, "no-store");
  // Not "no-referrer": a browser then sends the review form with "Origin: null", which the
  // same-origin check refuses. "same-origin" still keeps the token in the URL from any
  // other site (the provider included).
  res.set("Referrer-Policy", "same-origin");
  res.set("X-Content-Type-Options", "nosniff");
  res.set("X-Frame-Options", "DENY");
  res.set("Content-Security-Policy", kContentSecurityPolicy);
  res.body() = std::move(html);
  return res;
}

ConsentPages::ConsentPages(vault::Vault& vault, vault::ConsentFlows& flows, ConsentLinks& links,
                           const Dashboard& dashboard)
    : vault_(vault),
      flows_(flows),
      links_(links),
      dashboard_(dashboard),
      secure_(IsHttpsUrl(links.public_url())) {}

Response ConsentPages::Handle(const Request& request) {
  const std::string_view target = request.target();
  const size_t question = target.find('?');
  const std::string_view path = target.substr(0, question);
  const std::string_view query = question == std::string_view::npos ? "" : target.substr(question + 1);
  const std::string_view token = path.substr(std::string_view("/consent/").size());
  if (request.method() == http::verb::get || request.method() == http::verb::head) {
    return Review(request, token, query);
  }
  if (request.method() == http::verb::post) return Start(request, token);
  Response refused = Refusal(http::status::method_not_allowed, "Not allowed", "Use GET or POST.");
  refused.set(http::field::allow, "GET, POST");
  return refused;
}

std::vector<std::string> ConsentPages::ScopesFor(const ConsentRequest& asked) const {
  if (asked.kind == ConsentKind::kConnect) return asked.scopes;  // empty: the provider's
  // A reconnect or re-consent asks again for the provider's own scopes too: the granted
  // ones a token response lists often leave out openid and offline_access, without which
  // the new grant would have no ID token to tell its account, nor a refresh token.
  StatusOr<provider::ProviderDefinition> provider = vault_.providers().Get(asked.provider);
  if (!provider.ok()) return asked.scopes;
  std::vector<std::string> all = provider->scopes;
  for (const auto& scope : asked.scopes) {
    if (std::find(all.begin(), all.end(), scope) == all.end()) all.push_back(scope);
  }
  return all;
}

Response ConsentPages::Review(const Request& request, std::string_view token, std::string_view query) {
  StatusOr<ConsentRequest> asked = links_.Open(token);
  if (!asked.ok()) {
    return Refusal(
        asked.status().code() == StatusCode::kDeadlineExceeded ? http::status::gone : http::status::not_found,
        "Consent link not valid", asked.status().message());
  }
  const std::string self = "/consent/" + std::string(token);
  if (!dashboard_.SignedIn(request)) {
    // Opened from another site (a chat, a mail), the browser withheld the SameSite=Strict
    // session cookie; reloading from this page is a same-site navigation that sends it.
    if (query.find("again") == std::string_view::npos) {
      return ConsentPage(
          http::status::ok,
          Document("Checking your session", "<p><a href=\"" + HtmlEscape(self) + "?again\">Continue</a></p>",
                   "<meta http-equiv=\"refresh\" content=\"0;url=" + HtmlEscape(self) + "?again\">"));
    }
    std::string body = Paragraph(
        "An agent asked for consent on a latchkey connection. Sign in to the dashboard with an admin token "
        "to review the request; nothing happens until you approve it.");
    if (query.find("failed") != std::string_view::npos)
      body += Paragraph("That admin token was not accepted.");
    body += "<form method=\"post\" action=\"/login\"><input type=\"hidden\" name=\"next\" value=\"" +
            HtmlEscape(self) +
            "\"><label>Admin token <input type=\"password\" name=\"token\" autocomplete=\"off\"></label> "
            "<button type=\"submit\">Sign in</button></form>";
    return ConsentPage(http::status::ok, Document("Sign in to review a consent request", body));
  }

  StatusOr<store::ConnectionRecord> current = vault_.connections().Get(asked->connection);
  const bool exists = current.ok() && current->status != store::ConnectionStatus::kDisconnected;
  StatusOr<provider::ProviderDefinition> provider = vault_.providers().Get(asked->provider);
  const std::string provider_name = provider.ok() ? provider->display_name : asked->provider;

  std::string who = asked->asked_by.empty() ? "An operator" : "Agent " + Bold(asked->asked_by);
  std::string what;
  switch (asked->kind) {
    case ConsentKind::kReconsent: what = " asks for more access on connection "; break;
    case ConsentKind::kReconnect: what = " asks you to reconnect connection "; break;
    case ConsentKind::kConnect:
      what = exists ? " asks you to reconnect connection " : " asks you to connect ";
      break;
  }
  std::string body = "<p>" + who + HtmlEscape(what) + Bold(asked->connection) + " (" +
                     HtmlEscape(provider_name) + ").</p><ul>";
  if (exists) {
    body +=
        "<li>Account now: " + Bold(vault::DescribeAccount(current->account_id, current->account)) + "</li>";
  }
  body += "<li>Scopes: " + HtmlEscape(Joined(ScopesFor(*asked))) + "</li>";
  if (!asked->added.empty()) body += "<li>New scopes: " + Bold(Joined(asked->added)) + "</li>";
  body += "<li>This link works until " + HtmlEscape(FormatRfc3339(asked->expires_at)) + ".</li></ul>";
  body += "<form method=\"post\" action=\"" + HtmlEscape(self) +
          "\"><input type=\"hidden\" name=\"csrf\" value=\"" + HtmlEscape(dashboard_.CsrfFor(request)) +
          "\">";
  if (exists) {
    body +=
        Paragraph(current->account_id.empty()
                      ? "latchkey does not know which account this connection belongs to, so it cannot tell "
                        "whether the account that signs in at " +
                            provider_name + " is the same: nothing is stored unless you tick:"
                      : "Sign in at " + provider_name +
                            " as that same account. A grant of any other account is refused and revoked, "
                            "unless you tick:") +
        "<p><label><input type=\"checkbox\" name=\"switch_account\" value=\"1\"> Switch account: move "
        "connection " +
        Bold(asked->connection) +
        " to whichever account signs in. Every agent using it will then act as that account.</label></p>";
  }
  body += Paragraph("To approve, enter the admin token (a copy of this browser's session is not enough):") +
          "<p><label>Admin token <input type=\"password\" name=\"admin_token\" autocomplete=\"new-password\" "
          "required></label></p>";
  body += "<p><button type=\"submit\">Continue to " + HtmlEscape(provider_name) + "</button></p></form>";
  return ConsentPage(http::status::ok, Document("Review a consent request", body));
}

Response ConsentPages::Start(const Request& request, std::string_view token) {
  auto form = oauth::ParseFormEncoded(request.body());
  std::string csrf;
  std::string admin_token;
  bool switch_account = false;
  if (form) {
    for (auto& [name, value] : *form) {
      if (name == "csrf") {
        csrf = value;
      } else if (name == "admin_token") {
        admin_token = std::move(value);
      } else if (name == "switch_account") {
        switch_account = value == "1";
      }
    }
  }
  Status allowed = dashboard_.AuthorizeForm(request, csrf);
  // The admin token itself, typed on the page: a session cookie is sent to every port of
  // this host, so a program that listens on another loopback port (an agent can) may hold
  // a copy of it; it cannot hold the token.
  if (allowed.ok()) {
    allowed = admin_token.empty() ? UnauthenticatedError("the admin token is needed to approve a consent")
                                  : vault_.admin_tokens().Authenticate(admin_token);
  }
  WipeString(admin_token);
  if (!allowed.ok()) {
    return Refusal(
        allowed.code() == StatusCode::kUnauthenticated ? http::status::unauthorized : http::status::forbidden,
        "Not started", "The consent was NOT started: " + allowed.message() + ".");
  }
  StatusOr<ConsentRequest> asked = links_.Open(token);
  if (!asked.ok())
    return Refusal(http::status::not_found, "Consent link not valid", asked.status().message());
  const std::vector<std::string> scopes = ScopesFor(*asked);
  vault::ConsentOptions options;
  options.incremental = asked->kind == ConsentKind::kReconsent;
  options.allow_account_switch = switch_account;
  options.asked_by = asked->asked_by;
  StatusOr<vault::AuthorizationStart> start =
      flows_.BeginAuthorization(asked->provider, asked->connection, scopes, links_.callback_url(), options);
  if (!start.ok()) {
    spdlog::warn("consent page: cannot start the authorization for connection '{}': {}", asked->connection,
                 start.status().message());
    return Refusal(http::status::bad_request, "Not started", start.status().message());
  }
  spdlog::info(
      "consent page: a signed-in human started the authorization for connection '{}' (asked by {}{})",
      asked->connection, asked->asked_by.empty() ? "an operator" : "agent " + asked->asked_by,
      switch_account ? ", account switch allowed" : "");
  Response res(http::status::see_other, request.version());
  res.set(http::field::location, start->url);
  res.set(http::field::cache_control, "no-store");
  res.set("Referrer-Policy", "no-referrer");
  res.set(http::field::set_cookie,
          ConsentCookieName(start->state) + "=" + std::string(start->binding.reveal()) +
              "; Path=/oauth/callback; HttpOnly; SameSite=Lax; Max-Age=" +
              std::to_string(kBindingCookieLifetime.count()) + (secure_ ? "; Secure" : ""));
  return res;
}

}  // namespace latchkey::gateway
