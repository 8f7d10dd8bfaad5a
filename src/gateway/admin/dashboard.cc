#include "gateway/admin/dashboard.h"

#include <sodium.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <nlohmann/json.hpp>

#include "common/ascii.h"
#include "common/random.h"
#include "common/url.h"
#include "gateway/admin/dashboard_assets.h"
#include "gateway/http/problem.h"
#include "oauth/form_encoding.h"

namespace latchkey::gateway {
namespace {

namespace http = boost::beast::http;
using nlohmann::json;

constexpr std::string_view kCookieName = "latchkey_session";
constexpr auto kSessionLifetime = std::chrono::hours(12);

// Scripts and styles only from this origin (no inline code, no eval), data only from this
// origin, no plugins, no framing, forms only to this origin.
constexpr std::string_view kContentSecurityPolicy =
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

std::string Hex(std::span<const unsigned char> bytes) {
  std::string out(bytes.size() * 2 + 1, '\0');
  sodium_bin2hex(out.data(), out.size(), bytes.data(), bytes.size());
  out.pop_back();
  return out;
}

std::string Mac(const crypto::SymmetricKey& key, std::string_view message) {
  std::array<unsigned char, crypto_auth_hmacsha256_BYTES> mac{};
  crypto_auth_hmacsha256(mac.data(), reinterpret_cast<const unsigned char*>(message.data()), message.size(),
                         key.bytes().data());
  return Hex(mac);
}

std::string SignedPart(std::string_view expiry, std::string_view id, std::string_view token_id) {
  return "session|" + std::string(expiry) + "|" + std::string(id) + "|" + std::string(token_id);
}

bool ConstantTimeEquals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && sodium_memcmp(a.data(), b.data(), a.size()) == 0;
}

Response Redirect(std::string_view location) {
  Response res(http::status::see_other, 11);
  res.set(http::field::location, location);
  return res;
}

ProblemDetails Refused(http::status status, std::string code, std::string detail) {
  ProblemDetails problem;
  problem.status = status;
  problem.code = std::move(code);
  problem.detail = "The request was NOT carried out: " + std::move(detail);
  return problem;
}

// Where a sign-in may send the browser back to: a consent page of this server, or its
// MCP authorization page with the client's query (printable, no quote, space or
// backslash: it goes into a Location header as it is).
bool IsReturnPath(std::string_view next) {
  constexpr std::string_view kConsent = "/consent/";
  constexpr std::string_view kAuthorize = "/oauth/authorize?";
  if (next.size() > 4096) return false;
  if (next.starts_with(kAuthorize)) {
    return std::all_of(next.begin() + kAuthorize.size(), next.end(), [](char c) {
      return c > ' ' && c < 0x7f && c != '"' && c != '\\' && c != '<' && c != '>' && c != '`';
    });
  }
  if (!next.starts_with(kConsent)) return false;
  return std::all_of(next.begin() + kConsent.size(), next.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '-' || c == '_';
  });
}

}  // namespace

std::string_view CookieValue(std::string_view header, std::string_view name) {
  while (!header.empty()) {
    const size_t end = header.find(';');
    std::string_view pair = header.substr(0, end);
    while (pair.starts_with(' ')) pair.remove_prefix(1);
    if (pair.size() > name.size() && pair.starts_with(name) && pair[name.size()] == '=') {
      return pair.substr(name.size() + 1);
    }
    if (end == std::string_view::npos) break;
    header.remove_prefix(end + 1);
  }
  return {};
}

bool Dashboard::SignedIn(const Request& request) const { return SessionOf(request).has_value(); }

std::string Dashboard::CsrfFor(const Request& request) const {
  std::optional<Session> session = SessionOf(request);
  return session ? CsrfToken(*session) : std::string();
}

Status Dashboard::AuthorizeForm(const Request& request, std::string_view csrf) const {
  const std::optional<Session> session = SessionOf(request);
  if (!session) return UnauthenticatedError("sign in to the dashboard first");
  if (!ConstantTimeEquals(csrf, CsrfToken(*session)) || !SameOrigin(request)) {
    return PermissionDeniedError("this form must be sent from latchkey's own page (CSRF check failed)");
  }
  return Status::Ok();
}

namespace {
// The origin of the configured public URL, normalized once (Dashboard::SameOrigin), or
// empty when it has none.
std::string PublicOrigin(std::string_view public_url) {
  StatusOr<Url> url = ParseHttpUrl(public_url);
  return url.ok() ? url->Origin() : std::string();
}
}  // namespace

Dashboard::Dashboard(vault::Vault& vault, const Clock& clock, const std::string& public_url)
    : vault_(vault),
      clock_(clock),
      public_origin_(PublicOrigin(public_url)),
      secure_(public_origin_.starts_with("https://")),  // (the scheme is lowercased)
      key_(vault.keys().DeriveKey("latchkey dashboard session v1")) {}

bool Dashboard::Serves(std::string_view path) {
  return path == "/" || path.starts_with("/assets/") || path == "/ui/session" || path == "/login" ||
         path == "/logout";
}

void Dashboard::Harden(Response& response) {
  response.set("Content-Security-Policy", kContentSecurityPolicy);
  response.set("X-Content-Type-Options", "nosniff");
  response.set("X-Frame-Options", "DENY");
  response.set("Referrer-Policy", "same-origin");  // "no-referrer" would make form posts say Origin: null
  response.set(http::field::cache_control, "no-store");
}

Response Dashboard::Handle(const Request& request) {
  std::string_view target = request.target();
  const std::string_view path = target.substr(0, target.find('?'));
  const bool read = request.method() == http::verb::get || request.method() == http::verb::head;
  Response response;
  if (path == "/login") {
    response = request.method() == http::verb::post
                   ? Login(request)
                   : MethodNotAllowed(path, "POST").ToResponse(request.version());
  } else if (path == "/logout") {
    response = request.method() == http::verb::post
                   ? Logout(request)
                   : MethodNotAllowed(path, "POST").ToResponse(request.version());
  } else if (!read) {
    response = MethodNotAllowed(path, "GET").ToResponse(request.version());
  } else if (path == "/ui/session") {
    auto session = SessionOf(request);
    json body = {{"signed_in", session.has_value()}};
    if (session) {
      body["csrf"] = CsrfToken(*session);
      body["expires_at"] = FormatRfc3339(session->expires_at);
    }
    response = JsonResponse(http::status::ok, body);
  } else {
    response = NotFound(request.method_string(), target).ToResponse(request.version());
    for (const DashboardAsset& asset : DashboardAssets()) {
      if (asset.path != path) continue;
      response = Response(http::status::ok, request.version());
      response.set(http::field::content_type, asset.content_type);
      response.body() = std::string(asset.body);
      break;
    }
  }
  response.version(request.version());
  response.set(http::field::server, "latchkey");
  Harden(response);
  response.prepare_payload();
  return response;
}

Status Dashboard::AuthorizeAdmin(const Request& request) const {
  if (auto token = BearerCredential(FirstField(request.base(), http::field::authorization))) {
    return vault_.admin_tokens().Authenticate(*token);
  }
  const auto session = SessionOf(request);
  if (!session) {
    return UnauthenticatedError(
        "send the admin token as 'Authorization: Bearer <token>', or sign in to the dashboard");
  }
  if (request.method() == http::verb::get || request.method() == http::verb::head) return Status::Ok();
  if (!ConstantTimeEquals(request["X-CSRF-Token"], CsrfToken(*session)) || !SameOrigin(request)) {
    return PermissionDeniedError(
        "a change made with the dashboard's session needs its CSRF token (X-CSRF-Token) and must come "
        "from the dashboard's own origin");
  }
  return Status::Ok();
}

std::optional<Dashboard::Session> Dashboard::SessionOf(const Request& request) const {
  std::optional<Session> session = SignedSessionOf(request);
  if (!session || !vault_.admin_tokens().StillValid(session->token_id).ok()) return std::nullopt;
  StatusOr<bool> ended = vault_.store().IsSessionEnded(session->id);
  if (!ended.ok() || *ended) return std::nullopt;  // a store that cannot say is no session
  return session;
}

std::optional<Dashboard::Session> Dashboard::SignedSessionOf(const Request& request) const {
  // "<expiry unix seconds>.<id>.<admin token id>.<mac>"
  std::string_view value = CookieValue(request[http::field::cookie], kCookieName);
  std::array<std::string_view, 4> parts;
  for (size_t i = 0; i < parts.size(); ++i) {
    const size_t dot = i + 1 < parts.size() ? value.find('.') : std::string_view::npos;
    if (i + 1 < parts.size() && dot == std::string_view::npos) return std::nullopt;
    parts[i] = value.substr(0, dot);
    value.remove_prefix(dot == std::string_view::npos ? value.size() : dot + 1);
  }
  const auto [expiry, id, token_id, mac] = parts;
  if (!ConstantTimeEquals(mac, Mac(key_, SignedPart(expiry, id, token_id)))) return std::nullopt;
  int64_t seconds = 0;
  for (char c : expiry) {
    if (c < '0' || c > '9' || seconds > (int64_t{1} << 40)) return std::nullopt;
    seconds = seconds * 10 + (c - '0');
  }
  Session session{.id = std::string(id),
                  .token_id = std::string(token_id),
                  .expires_at = TimePoint(std::chrono::seconds(seconds))};
  if (session.expires_at <= clock_.Now()) return std::nullopt;
  return session;
}

std::string Dashboard::Cookie(const Session& session) const {
  const std::string expiry = std::to_string(
      std::chrono::duration_cast<std::chrono::seconds>(session.expires_at.time_since_epoch()).count());
  const std::string value = expiry + "." + session.id + "." + session.token_id + "." +
                            Mac(key_, SignedPart(expiry, session.id, session.token_id));
  return std::string(kCookieName) + "=" + value + "; Path=/; HttpOnly; SameSite=Strict; Max-Age=" +
         std::to_string(std::chrono::duration_cast<std::chrono::seconds>(kSessionLifetime).count()) +
         (secure_ ? "; Secure" : "");
}

std::string Dashboard::CsrfToken(const Session& session) const { return Mac(key_, "csrf|" + session.id); }

bool Dashboard::SameOrigin(const Request& request) const {
  const std::string_view origin_field = FirstField(request.base(), http::field::origin);
  if (origin_field.empty()) return true;  // not a browser's cross-site request (they send Origin on POST)
  StatusOr<Url> origin = ParseOrigin(origin_field);
  if (!origin.ok()) return false;  // "null" (a sandboxed frame, a file) among others
  // The page's own address, as the browser reached it (either scheme: a TLS proxy may
  // stand in front), or the configured public URL; both compared normalized.
  const std::string_view host = FirstField(request.base(), http::field::host);
  if (!host.empty() && origin->Authority() == AsciiLower(host)) return true;
  return !public_origin_.empty() && public_origin_ == origin->Origin();
}

Response Dashboard::Login(const Request& request) {
  if (!SameOrigin(request)) {
    return Refused(http::status::forbidden, "csrf_refused",
                   "sign-in forms are accepted only from this origin")
        .ToResponse(request.version());
  }
  auto form = oauth::ParseFormEncoded(request.body());
  std::string token;
  std::string next;
  if (form) {
    for (auto& [name, value] : *form) {
      if (name == "token") {
        token = std::move(value);
      } else if (name == "next" && IsReturnPath(value)) {
        next = value;
      }
    }
  }
  const Status accepted =
      token.empty() ? UnauthenticatedError("no token") : vault_.admin_tokens().Authenticate(token);
  if (!accepted.ok()) {
    sodium_memzero(token.data(), token.size());
    if (next.empty()) return Redirect("/?failed");
    return Redirect(next + (next.find('?') == std::string::npos ? "?failed" : "&failed"));
  }
  Session session{.id = SystemRandom::Instance().Hex(16),
                  .token_id = vault::AdminTokens::IdOf(token),
                  .expires_at = clock_.Now() + kSessionLifetime};
  sodium_memzero(token.data(), token.size());
  Response response = Redirect(next.empty() ? "/#/connections" : next);
  response.set(http::field::set_cookie, Cookie(session));
  return response;
}

Response Dashboard::Logout(const Request& request) {
  if (Status allowed = AuthorizeAdmin(request);
      !allowed.ok() && allowed.code() != StatusCode::kUnauthenticated) {
    return Refused(http::status::forbidden, "csrf_refused", allowed.message()).ToResponse(request.version());
  }
  // Ended for every node, not only this browser: a copy of the cookie stops working too.
  if (std::optional<Session> session = SignedSessionOf(request)) {
    if (Status ended = vault_.store().EndSession(session->id, session->expires_at); !ended.ok()) {
      return InternalProblem("the session could not be ended: " + ended.message())
          .ToResponse(request.version());
    }
  }
  Response response(http::status::no_content, request.version());
  response.set(http::field::set_cookie, std::string(kCookieName) +
                                            "=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0" +
                                            (secure_ ? "; Secure" : ""));
  return response;
}

}  // namespace latchkey::gateway
