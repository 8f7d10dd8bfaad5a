// Shared fixture for end-to-end tests of the gateway: the real authorization server
// (as.js) and resource server (rs.js, RFC 6750 errors), a provider "acme" for them, a
// live grant imported as a connection, agents, and `latchkey serve` as a real process.
#pragma once

#include <signal.h>

#include <filesystem>
#include <memory>
#include <nlohmann/json.hpp>
#include <regex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "common/random.h"
#include "e2e/cli_fixture.h"
#include "store/postgres_test_cluster.h"
#include "support/oauth_flows.h"
#include "support/oauth_servers.h"
#include "support/raw_http.h"

namespace latchkey::testing {

class GatewayTest : public CliTest {
 protected:
  using Headers = std::vector<std::pair<std::string, std::string>>;

  // as.js with access tokens living `access_token_ttl` seconds (ROTATE on), rs.js in front of it,
  // and provider "acme" whose API is rs.js.
  void StartOAuthServers(int access_token_ttl = 3600, EnvMap extra = {}) {
    EnvMap env = std::move(extra);
    env["ROTATE"] = "1";
    env["AT_TTL"] = std::to_string(access_token_ttl);
    as_ = StartAuthorizationServer(env);
    rs_ = StartResourceServer(as_->base_url());
    MustRun(
        {"provider", "add", "--file", "-"},
        "name = \"acme\"\nauth = \"oauth2\"\nauthorization_url = \"" + as_->base_url() +
            "/auth\"\ntoken_url = \"" + as_->base_url() +
            "/token\"\nclient_id = \"agent-client\"\nclient_secret = \"agent-secret\"\n"
            "token_auth = \"client_secret_basic\"\nscopes = [\"openid\", \"offline_access\", \"api:read\"]\n"
            "api_base_url = \"" +
            rs_->base_url() + "\"\n" + acme_extra_);
  }

  // A real grant (scopes openid offline_access api:read) for `user`, imported as `name`.
  // Returns the token response (its values are secrets the leak scans look for).
  nlohmann::json ImportGrant(const std::string& name, const std::string& user, int expires_in = 0) {
    nlohmann::json tokens = AuthorizationCodeFlow(*as_, user);
    if (expires_in > 0) tokens["expires_in"] = expires_in;
    MustRun({"connection", "import", name, "--provider", "acme"}, tokens.dump());
    secrets_.push_back(tokens.value("access_token", ""));
    secrets_.push_back(tokens.value("refresh_token", ""));
    secrets_.push_back(tokens.value("id_token", ""));
    return tokens;
  }

  std::string CreateAgent(const std::string& name, const std::vector<std::string>& rules) {
    std::vector<std::string> args = {"agent", "create", name};
    for (const auto& rule : rules) {
      args.push_back("--allow");
      args.push_back(rule);
    }
    std::string key = MustRun(args);
    while (!key.empty() && (key.back() == '\n' || key.back() == '\r')) key.pop_back();
    secrets_.push_back(key);
    return key;
  }

  // Writes latchkey.toml (`toml` is appended) and starts `latchkey serve` on an ephemeral port.
  void StartGateway(const std::string& toml = "", std::map<std::string, std::string> env = {}) {
    WriteFile(data_dir() + "/latchkey.toml", "log_level = \"debug\"\n" + toml);
    RunOptions options;
    options.env = std::move(env);
    options.unset_env = {"LATCHKEY_MASTER_KEY", "LATCHKEY_DATA_DIR"};
    std::vector<std::string> argv = gateway_wrapper_;
    argv.insert(argv.end(), {LatchkeyBinary(), "--data-dir", data_dir(), "serve", "--listen", "127.0.0.1:0"});
    gateway_ = std::make_unique<Background>(argv, options);
    const std::regex serving(R"(serving on http://127\.0\.0\.1:(\d+))");
    for (int i = 0; i < 400 && port_ <= 0; ++i) {
      std::smatch m;
      std::string log = ReadFile(gateway_->stderr_path());
      if (std::regex_search(log, m, serving)) port_ = std::stoi(m[1]);
      if (port_ <= 0) std::this_thread::sleep_for(std::chrono::milliseconds(25));
    }
    ASSERT_GT(port_, 0) << ReadFile(gateway_->stderr_path());
  }

  RawReply Call(const std::string& method, const std::string& target, const std::string& agent_key,
                const std::string& body = "", Headers headers = {}) {
    if (!agent_key.empty()) headers.emplace_back("Authorization", "Bearer " + agent_key);
    RawReply reply = RawExchange(port_, BuildRequest(method, target, headers, body));
    problem_bodies_.push_back(reply.raw);
    return reply;
  }

  // A call to the admin API (/v1) with admin token `token` as bearer.
  RawReply Admin(const std::string& method, const std::string& target, const std::string& token,
                 const std::string& body = "") {
    Headers headers = {{"Content-Type", "application/json"}};
    if (!token.empty()) headers.emplace_back("Authorization", "Bearer " + token);
    return RawExchange(port_, BuildRequest(method, target, headers, body));
  }

  std::string GatewayLog() const { return gateway_ ? ReadFile(gateway_->stderr_path()) : ""; }

  // The admin token the first `serve` left in the data dir (empty if none).
  std::string AdminToken() const {
    const std::string path = data_dir() + "/admin-token";
    if (!std::filesystem::exists(path)) return "";
    std::string token = ReadFile(path);
    while (!token.empty() && token.back() == '\n') token.pop_back();
    return token;
  }

  long long ResourceRequests() { return Stats(*rs_)["requests"].get<long long>(); }

  // A human acts on a consent link in the browser profile `browser`: signs in to the
  // dashboard with the admin token (the sign-in form with `next`), reads the review page
  // (returned in `review` when given), enters the admin token and clicks "Continue", ticking "switch account"
  // when asked to. Returns the daemon's answer: 303 to the provider. The link may name
  // another public URL; it is opened on this gateway's port.
  HttpResponse StartConsent(const std::string& consent_url, const TempDir& browser,
                            bool switch_account = false, HttpResponse* review = nullptr) {
    const size_t at = consent_url.find("/consent/");
    EXPECT_NE(at, std::string::npos) << consent_url;
    const std::string origin = "http://127.0.0.1:" + std::to_string(port_);
    const std::string path = at == std::string::npos ? "/consent/" : consent_url.substr(at);
    HttpResponse page =
        HttpPostForm(origin + "/login", {{"token", AdminToken()}, {"next", path}}, Browser(browser));
    EXPECT_EQ(page.status, 200) << page.body << page.error;
    if (review != nullptr) *review = page;
    std::smatch csrf;
    if (!std::regex_search(page.body, csrf, std::regex(R"re(name="csrf" value="([0-9a-f]+)")re"))) {
      ADD_FAILURE() << "no CSRF field on the review page:\n" << page.body;
      return page;
    }
    std::vector<std::pair<std::string, std::string>> form = {{"csrf", csrf[1].str()},
                                                             {"admin_token", AdminToken()}};
    if (switch_account) form.emplace_back("switch_account", "1");
    HttpOptions no_redirects = Browser(browser);
    no_redirects.follow_redirects = false;
    HttpResponse started = HttpPostForm(origin + path, form, no_redirects);
    EXPECT_EQ(started.status, 303) << started.body;
    return started;
  }

  // StartConsent, then the provider's redirects as the browser follows them, signing in
  // there as `user` (as.js: login_hint). Returns the last page: the daemon's callback.
  HttpResponse CompleteConsent(const std::string& consent_url, const TempDir& browser,
                               const std::string& user, bool switch_account = false) {
    HttpResponse started = StartConsent(consent_url, browser, switch_account);
    if (!started.headers.count("location")) return started;
    return HttpGet(started.headers.at("location") + "&login_hint=" + UrlEncode(user), Browser(browser));
  }

  // Points this data dir's latchkey.toml at a fresh database on the test cluster; returns
  // its URL (StartGateway's toml must then say `store = "<url>"` too).
  std::string PostgresStore() {
    auto cluster = store::testing::PostgresTestCluster::Get();
    if (!cluster.ok()) {
      ADD_FAILURE() << cluster.status().ToString();
      return "";
    }
    const std::string database = "latchkey_e2e_" + SystemRandom::Instance().Hex(6);
    EXPECT_TRUE((*cluster)->Admin("CREATE DATABASE " + database).ok());
    std::string url = (*cluster)->Url(database);
    WriteFile(data_dir() + "/latchkey.toml", "store = \"" + url + "\"\n");
    return url;
  }

  std::unique_ptr<NodeServer> as_;
  std::unique_ptr<NodeServer> rs_;
  std::string acme_extra_;  // more lines for provider "acme"
  std::unique_ptr<Background> gateway_;
  std::vector<std::string> gateway_wrapper_;  // runs `latchkey serve` under it (e.g. prlimit ...)
  int port_ = 0;
  std::vector<std::string> secrets_;         // every secret value the test handled
  std::vector<std::string> problem_bodies_;  // every raw answer the gateway gave
};

}  // namespace latchkey::testing
