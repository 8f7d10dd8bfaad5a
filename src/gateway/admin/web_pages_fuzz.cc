// Fuzzes the pages a browser (or an agent pretending to be one) reaches: the dashboard's
// sign-in, session and sign-out routes with their session cookie, and the consent pages
// /consent/{token} (link tokens, the review, the POST form with its CSRF token). The real
// Dashboard and ConsentPages run on a real SQLite vault. Input: "METHOD TARGET", header
// fields, an empty line, the body; in fields, target and body, {link} stands for a valid
// consent link's token, {session} for a signed-in session cookie and {csrf} for its CSRF
// token, so the fuzzer reaches the signed-in paths. It never learns the admin token.
// Properties: no answer is a 5xx or carries CR, LF or NUL in a field; no answer signs
// anyone in (no admin token), echoes the session cookie, or starts an authorization (a
// consent needs the typed admin token); an admin request is allowed only with the session
// cookie, and a change (not GET or HEAD) only with its CSRF token too.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>

#include "gateway/admin/consent_pages.h"
#include "gateway/admin/dashboard.h"
#include "gateway/proxy/consent_links.h"
#include "oauth/fake_http_client.h"
#include "store/sqlite_store.h"
#include "support/fuzz_check.h"
#include "support/fuzz_input.h"
#include "support/temp_dir.h"
#include "vault/consent_flow.h"
#include "vault/oauth_clients.h"
#include "vault/vault.h"

namespace {

using namespace latchkey;
using namespace latchkey::gateway;
namespace http = boost::beast::http;

constexpr char kPublicUrl[] = "http://127.0.0.1:8787";
constexpr char kProvider[] = R"(
name = "acme"
auth = "oauth2"
authorization_url = "https://id.acme.example/authorize"
token_url = "https://id.acme.example/token"
client_id = "acme-client"
client_secret = "acme-secret"
scopes = ["openid", "api:read"]
api_base_url = "https://api.acme.example"
)";

struct Site {
  Site() {
    auto store = store::OpenSqliteStore({.path = (dir.path() / "latchkey.db").string()}, clock);
    FUZZ_CHECK(store.ok());
    auto opened = vault::Vault::Open(
        *store, {.env_value = std::nullopt, .key_file = dir.path() / "master.key", .read_only = false}, clock,
        SystemRandom::Instance());
    FUZZ_CHECK(opened.ok());
    vault = std::move(*opened);
    FUZZ_CHECK(vault->providers().Add(kProvider, "acme.toml").ok());
    clients = std::make_unique<vault::OAuthClients>(vault->providers(), http_client, clock);
    flows = std::make_unique<vault::ConsentFlows>(*vault, *clients, clock, SystemRandom::Instance());
    links = std::make_unique<ConsentLinks>(vault->keys(), clock, kPublicUrl);
    dashboard = std::make_unique<Dashboard>(*vault, clock, kPublicUrl);
    pages = std::make_unique<ConsentPages>(*vault, *flows, *links, *dashboard);

    auto link = links->Connect("acme", "work", {"api:write"});
    FUZZ_CHECK(link.ok());
    link_token = link->url.substr(link->url.rfind('/') + 1);
    auto admin = vault->admin_tokens().Create();
    FUZZ_CHECK(admin.ok());
    admin_token = std::string(admin->reveal());
    SignIn();
  }

  // A session of its own: the input may have signed the last one out (for every node).
  void SignIn() {
    Request login(http::verb::post, "/login", 11);
    login.set(http::field::host, "127.0.0.1:8787");
    login.body() = "token=" + admin_token;
    const Response signed_in = dashboard->Handle(login);
    const std::string cookie(signed_in.Field(http::field::set_cookie));
    session = cookie.substr(0, cookie.find(';'));
    FUZZ_CHECK(session.starts_with("latchkey_session="));
    Request ask(http::verb::get, "/ui/session", 11);
    ask.set(http::field::cookie, session);
    csrf = nlohmann::json::parse(dashboard->Handle(ask).body()).value("csrf", "");
    FUZZ_CHECK(!csrf.empty());
  }

  bool SignedIn() const {
    Request ask(http::verb::get, "/ui/session", 11);
    ask.set(http::field::cookie, session);
    return dashboard->SignedIn(ask);
  }

  std::string Fill(std::string_view text) const {
    std::string out(text);
    for (const auto& [name, value] : {std::pair<std::string_view, const std::string*>{"{link}", &link_token},
                                      {"{session}", &session},
                                      {"{csrf}", &csrf}}) {
      for (size_t at = out.find(name); at != std::string::npos; at = out.find(name, at + value->size()))
        out.replace(at, name.size(), *value);
    }
    return out;
  }

  testing::ScopedTempDir dir;
  SimulatedClock clock{FromUnixMillis(1'800'000'000'000)};
  oauth::FakeHttpClient http_client;
  std::unique_ptr<vault::Vault> vault;
  std::unique_ptr<vault::OAuthClients> clients;
  std::unique_ptr<vault::ConsentFlows> flows;
  std::unique_ptr<ConsentLinks> links;
  std::unique_ptr<Dashboard> dashboard;
  std::unique_ptr<ConsentPages> pages;
  std::string link_token, admin_token, session, csrf;
};

// `asked`: the request's target and body. A page may quote what it was asked (a 404 names
// the path), so a secret the request itself holds there is not a leak: the fuzzer once
// put the session value into the path of a 404.
void CheckAnswer(const Site& site, const Response& answer, const std::string& asked) {
  FUZZ_CHECK(answer.result_int() < 500);
  FUZZ_CHECK(answer.result() != http::status::see_other ||
             !answer.Field(http::field::location).starts_with("https://id.acme.example"));
  for (const auto& field : answer) {
    for (char c : field.value()) FUZZ_CHECK(c != '\r' && c != '\n' && c != '\0');
    if (field.name() == http::field::set_cookie)
      FUZZ_CHECK(!field.value().starts_with("latchkey_session=") ||
                 field.value().starts_with("latchkey_session=;"));
  }
  const std::string session_value = site.session.substr(site.session.find('=') + 1);
  for (const std::string* secret : {&session_value, &site.admin_token}) {
    if (asked.find(*secret) == std::string::npos)
      FUZZ_CHECK(answer.body().find(*secret) == std::string::npos);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static Site site;
  const fuzz::Message message = fuzz::SplitMessage(fuzz::AsText(data, size));
  const std::string_view line = message.first_line;
  const size_t space = line.find(' ');
  const http::verb verb = http::string_to_verb(line.substr(0, space));
  if (verb == http::verb::unknown || space == std::string_view::npos) return 0;
  const std::string target = site.Fill(line.substr(space + 1));
  for (char c : target) {
    if (c <= 0x20 || c == 0x7f) return 0;  // the HTTP parser lets no such target through
  }
  Request request(verb, target, 11);
  for (const auto& [name, value] : message.headers) {
    const std::string filled = site.Fill(value);
    if (name.empty() || filled.find_first_of(std::string_view("\r\n\0", 3)) != std::string::npos) continue;
    request.insert(name, filled);
  }
  request.body() = site.Fill(message.body);
  request.prepare_payload();

  const std::string_view path = std::string_view(target).substr(0, target.find('?'));
  const std::string asked = target + request.body();
  if (Dashboard::Serves(path)) CheckAnswer(site, site.dashboard->Handle(request), asked);
  if (ConsentPages::Serves(path)) CheckAnswer(site, site.pages->Handle(request), asked);
  if (site.dashboard->AuthorizeAdmin(request).ok()) {
    FUZZ_CHECK(std::string_view(request[http::field::cookie]).find(site.session) != std::string_view::npos);
    if (verb != http::verb::get && verb != http::verb::head) FUZZ_CHECK(request["X-CSRF-Token"] == site.csrf);
  }
  FUZZ_CHECK(site.http_client.request_count() == 0);
  if (!site.SignedIn()) site.SignIn();
  return 0;
}
