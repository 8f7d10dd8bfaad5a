// latchkey as the OAuth authorization server for its own /mcp (issue 23), against the
// real daemon: the official TypeScript SDK client (tests/fixtures/mcp/oauth_client.mjs,
// no key configured) discovers, registers (a Client ID Metadata Document it serves over
// TLS, or dynamic registration), a human allows it in Chromium
// (tests/fixtures/web/mcp_consent.mjs), and it acts as agent `bot`; then the refusals
// over plain HTTP.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sodium.h>

#include <filesystem>
#include <regex>

#include "e2e/gateway_fixture.h"
#include "support/oauth_flows.h"

namespace latchkey::testing {
namespace {

using json = nlohmann::json;
using ::testing::HasSubstr;
using ::testing::Not;

const std::string kMcpFixtures = std::string(LATCHKEY_SOURCE_DIR) + "/tests/fixtures/mcp";
const std::string kWebFixtures = std::string(LATCHKEY_SOURCE_DIR) + "/tests/fixtures/web";
// A client names itself: with markup, to show the name is only ever text.
constexpr char kHostileName[] = "<img src=x onerror=\"window.pwned=1\"> latchkey e2e client";

class McpOAuthTest : public GatewayTest {
 protected:
  // "work" (alice) that bot may read, "other" (bob) that it may not; a certificate for
  // 127.0.0.1 that latchkey trusts for metadata documents (the SDK demands https).
  void SetUpWorld(std::string extra_toml = "") {
    StartOAuthServers();
    ImportGrant("work", "alice");
    ImportGrant("other", "bob");
    CreateAgent("bot", {"work:GET:/**"});
    cert_ = certs_.path() + "/cert.pem";
    key_ = certs_.path() + "/key.pem";
    RunResult made = ::latchkey::testing::Run({"/usr/bin/openssl", "req", "-x509", "-newkey", "rsa:2048",
                                               "-nodes", "-days", "1", "-subj", "/CN=localhost", "-addext",
                                               "subjectAltName=DNS:localhost,IP:127.0.0.1", "-keyout", key_,
                                               "-out", cert_});
    ASSERT_EQ(made.exit_code, 0) << made.err;
    // 3-second access tokens, so the client refreshes within the test.
    StartGateway(
        "[mcp_oauth]\naccess_token_lifetime_s = 3\nallow_private_metadata_hosts = true\n"
        "metadata_ca_file = \"" +
        cert_ + "\"\n" + extra_toml);
  }

  std::string Origin() const { return "http://127.0.0.1:" + std::to_string(port_); }

  // The JSON lines the background client printed so far.
  static std::vector<json> Lines(const std::string& path) {
    std::vector<json> lines;
    std::istringstream in(ReadFile(path));
    for (std::string line; std::getline(in, line);) {
      if (!line.starts_with("{")) continue;
      try {
        lines.push_back(json::parse(line));
      } catch (const json::exception&) {
      }
    }
    return lines;
  }

  // Waits (bounded) until the client printed a line with `key`; returns it or null.
  json WaitFor(const Background& client, const std::string& key, int seconds = 90) {
    for (int i = 0; i < seconds * 10; ++i) {
      for (const json& line : Lines(client.stderr_path())) {
        if (line.contains(key)) return line;
        if (line.contains("fatal")) return line;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    return json();
  }

  json Browse(const json& config) {
    RunOptions options;
    options.unset_env = {"LATCHKEY_MASTER_KEY", "LATCHKEY_DATA_DIR"};
    RunResult run = ::latchkey::testing::Run(
        {"/usr/bin/env", "node", kWebFixtures + "/mcp_consent.mjs", config.dump()}, options);
    outputs_ += run.out + run.err;
    EXPECT_EQ(run.exit_code, 0) << run.out << run.err;
    try {
      return json::parse(run.out);
    } catch (const json::exception&) {
      ADD_FAILURE() << "no JSON from the browser script:\n" << run.out << "\n" << run.err;
      return json::object();
    }
  }

  TempDir certs_;
  TempDir files_;
  std::string cert_;
  std::string key_;
  std::string outputs_;  // everything the scripts printed (scanned for secrets)
};

// The whole flow, once per way of registering.
class McpOAuthFlowTest : public McpOAuthTest, public ::testing::WithParamInterface<std::string> {};

TEST_P(McpOAuthFlowTest, AnSdkClientConnectsWithOAuthActsAsBotRefreshesAndIsEndedWithIt) {
  SetUpWorld();
  const bool cimd = GetParam() == "cimd";
  const std::string reached = files_.path() + "/reached";
  const std::string revoked = files_.path() + "/revoked";
  const json inside = {{"connection", "work"}, {"method", "GET"}, {"path", "/read"}};
  const json outside = {{"connection", "other"}, {"method", "GET"}, {"path", "/read"}};
  const json config = {{"url", Origin() + "/mcp"},
                       {"registration", GetParam()},
                       {"cert", cert_},
                       {"key", key_},
                       {"cimd_host", "127.0.0.1"},
                       {"client_name", kHostileName},
                       {"callback_timeout_ms", 90000},
                       {"total_timeout_ms", 150000},
                       {"steps",
                        {{{"list", "tools"}},
                         {{"tool", "http_request"}, {"arguments", inside}},
                         {{"tool", "http_request"}, {"arguments", outside}},
                         {{"sleep_ms", 4000}},  // past the 3-second access token
                         {{"tool", "http_request"}, {"arguments", inside}},
                         {{"signal_file", reached}},
                         {{"wait_file", revoked}, {"wait_timeout_ms", 60000}},
                         {{"tool", "list_connections"}, {"arguments", json::object()}}}}};
  RunOptions options;
  options.unset_env = {"LATCHKEY_MASTER_KEY", "LATCHKEY_DATA_DIR"};
  Background client(
      {kMcpFixtures + "/node_modules/.bin/node", kMcpFixtures + "/oauth_client.mjs", config.dump()}, options);

  // 1. Discovery ends in the authorization URL, which a human opens in the browser.
  const json authorize = WaitFor(client, "authorize");
  ASSERT_TRUE(authorize.contains("authorize")) << ReadFile(client.stderr_path()) << GatewayLog();
  const std::string url = authorize["authorize"];
  EXPECT_THAT(url, HasSubstr(Origin() + "/oauth/authorize?"));
  EXPECT_THAT(url, HasSubstr("code_challenge_method=S256"));
  EXPECT_THAT(url, HasSubstr("resource=" + UrlEncode(Origin() + "/mcp")));
  const json ready = WaitFor(client, "ready");
  const std::string redirect_uri = ready["ready"]["redirect_uri"];
  json seen = Browse({{"authorize_url", url},
                      {"admin_token", AdminToken()},
                      {"agent", "bot"},
                      {"decision", "allow"},
                      {"redirect_prefix", redirect_uri},
                      {"agents_page", true},
                      {"screenshots", std::string(LATCHKEY_ARTIFACTS_DIR) + "/mcp-oauth-" + GetParam()}});
  EXPECT_EQ(seen.value("no_grant_button_before_sign_in", false), true) << seen;
  EXPECT_THAT(seen.value("client_text", ""), HasSubstr(kHostileName)) << "as text, on the consent page";
  ASSERT_TRUE(seen["agents_page"].is_object()) << seen;
  EXPECT_EQ(seen["agents_page"]["client_name"], kHostileName) << "and on the Agents page";
  EXPECT_EQ(seen["agents_page"]["images"], 0);
  EXPECT_TRUE(seen["agents_page"]["pwned"].is_null());
  EXPECT_THAT(seen.value("final_url", ""), HasSubstr(redirect_uri)) << seen;
  for (const json& error : seen.value("console_errors", json::array())) {
    EXPECT_THAT(error.get<std::string>(), Not(HasSubstr("Content Security Policy")))
        << "the redirect was blocked";
  }

  // 2. The client gets tokens, lists the tools and calls within bot's policy only.
  const json done_line_probe = WaitFor(client, "connected");
  ASSERT_EQ(done_line_probe.value("connected", false), true) << ReadFile(client.stderr_path()) << "\n"
                                                             << GatewayLog();
  for (int i = 0; i < 900 && !std::filesystem::exists(reached); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  ASSERT_TRUE(std::filesystem::exists(reached)) << ReadFile(client.stderr_path());

  // 3. The agent is revoked: the client's next call gets 401 and cannot come back.
  MustRun({"agent", "revoke", "bot"});
  WriteFile(revoked, "");
  const json done = WaitFor(client, "done", 120);
  ASSERT_TRUE(done.contains("done")) << ReadFile(client.stderr_path());
  const std::vector<json> lines = Lines(client.stderr_path());
  outputs_ += ReadFile(client.stderr_path());

  std::map<int, json> steps;
  std::vector<json> clients;
  std::vector<json> token_saves;
  std::vector<json> callbacks;
  std::vector<json> http;
  for (const json& line : lines) {
    if (line.contains("step") && line["step"].is_number()) steps[line["step"].get<int>()] = line;
    if (line.contains("client")) clients.push_back(line["client"]);
    if (line.contains("tokens")) token_saves.push_back(line["tokens"]);
    if (line.contains("callback")) callbacks.push_back(line["callback"]);
    for (const json& entry : line.value("http", json::array())) http.push_back(entry);
  }
  ASSERT_FALSE(clients.empty());
  if (cimd) {
    EXPECT_EQ(clients.front()["client_id"], ready["ready"]["client_metadata_url"]) << "a metadata document";
    EXPECT_GE(done.value("cimd_fetches", json::array()).size(), 1U) << done;
  } else {
    EXPECT_THAT(clients.front()["client_id"].get<std::string>(), ::testing::StartsWith("lkc_"));
  }
  bool registered = false;
  for (const json& entry : http) registered |= entry.value("path", "") == "/oauth/register";
  EXPECT_EQ(registered, !cimd) << "dynamic registration only without a metadata document";
  ASSERT_FALSE(callbacks.empty());
  EXPECT_EQ(callbacks.front()["state_ok"], true);
  EXPECT_EQ(callbacks.front()["iss"], Origin()) << "RFC 9207";

  ASSERT_TRUE(steps.contains(0) && steps[0].contains("result")) << steps[0];
  std::vector<std::string> tools;
  for (const json& tool : steps[0]["result"]["tools"]) tools.push_back(tool["name"]);
  EXPECT_THAT(tools, ::testing::ElementsAre("list_connections", "http_request", "request_access"));
  ASSERT_TRUE(steps[1].contains("result")) << steps[1];
  EXPECT_FALSE(steps[1]["result"].value("isError", false)) << steps[1];
  EXPECT_EQ(steps[1]["result"]["structuredContent"]["status"], 200) << steps[1];
  ASSERT_TRUE(steps[2].contains("result")) << steps[2];
  EXPECT_TRUE(steps[2]["result"].value("isError", false)) << "outside bot's policy";
  EXPECT_EQ(steps[2]["result"]["structuredContent"]["error"]["code"], "policy_denied") << steps[2];

  // After the access token's 3 seconds: 401, the refresh_token grant, and the call goes on.
  ASSERT_TRUE(steps[4].contains("result")) << steps[4];
  EXPECT_FALSE(steps[4]["result"].value("isError", false)) << steps[4];
  bool refreshed = false;
  for (const json& entry : steps[4]["http"]) {
    refreshed |= entry.value("grant_type", "") == "refresh_token" && entry.value("status", 0) == 200;
  }
  EXPECT_TRUE(refreshed) << steps[4];
  ASSERT_GE(token_saves.size(), 2U);
  EXPECT_NE(token_saves[0]["access"], token_saves[1]["access"]);
  EXPECT_NE(token_saves[0]["refresh"], token_saves[1]["refresh"]) << "refresh tokens rotate";

  // After the revocation: 401, and the refresh is refused (invalid_grant): no new tokens.
  ASSERT_TRUE(steps.contains(7)) << lines.back();
  EXPECT_FALSE(steps[7].contains("result")) << steps[7];
  bool got_401 = false;
  bool refresh_refused = false;
  for (const json& entry : steps[7]["http"]) {
    got_401 |= entry.value("path", "") == "/mcp" && entry.value("status", 0) == 401;
    refresh_refused |= entry.value("grant_type", "") == "refresh_token" && entry.value("status", 0) == 400;
  }
  EXPECT_TRUE(got_401) << steps[7];
  EXPECT_TRUE(refresh_refused) << steps[7];

  // The audit log names the agent and the client for the calls the client made.
  const json audit = json::parse(MustRun({"--json", "audit", "--agent", "bot"}), nullptr, false);
  ASSERT_TRUE(audit.is_array() && audit.size() == 3U) << audit << "two calls in policy, one refused";
  for (const json& row : audit) EXPECT_EQ(row["client"], clients.front()["client_id"]) << row;

  // No token, code, or admin token in anything the scripts printed.
  for (const std::string& secret : secrets_) {
    if (!secret.empty()) {
      EXPECT_THAT(outputs_, Not(HasSubstr(secret)));
    }
  }
  EXPECT_THAT(outputs_, Not(HasSubstr(AdminToken())));
  EXPECT_THAT(outputs_, Not(HasSubstr("lkma_")));
  EXPECT_THAT(outputs_, Not(HasSubstr("lkmr_")));
  EXPECT_THAT(outputs_, Not(HasSubstr("lkmc_")));
  client.Stop(SIGKILL);
}

INSTANTIATE_TEST_SUITE_P(Registration, McpOAuthFlowTest, ::testing::Values("cimd", "dcr"),
                         [](const ::testing::TestParamInfo<std::string>& param) { return param.param; });

// ---- refusals over plain HTTP: what a hostile or broken client gets ----------------------

constexpr char kRedirect[] = "http://127.0.0.1:5555/callback";
const std::string kVerifier(64, 'v');

std::string S256(const std::string& verifier) {
  std::array<unsigned char, crypto_hash_sha256_BYTES> digest{};
  crypto_hash_sha256(digest.data(), reinterpret_cast<const unsigned char*>(verifier.data()), verifier.size());
  std::string out(sodium_base64_ENCODED_LEN(digest.size(), sodium_base64_VARIANT_URLSAFE_NO_PADDING), '\0');
  sodium_bin2base64(out.data(), out.size(), digest.data(), digest.size(),
                    sodium_base64_VARIANT_URLSAFE_NO_PADDING);
  out.resize(std::strlen(out.c_str()));
  return out;
}

using Params = std::vector<std::pair<std::string, std::string>>;

std::string Query(const Params& params) {
  std::string query;
  for (const auto& [name, value] : params)
    query += (query.empty() ? "" : "&") + name + "=" + UrlEncode(value);
  return query;
}

class McpOAuthRefusalTest : public McpOAuthTest {
 protected:
  HttpOptions Browser() const {
    HttpOptions options = ::latchkey::testing::Browser(browser_);
    options.follow_redirects = false;
    return options;
  }

  void SignIn() {
    HttpResponse signed_in = HttpPostForm(Origin() + "/login", {{"token", AdminToken()}}, Browser());
    ASSERT_EQ(signed_in.status, 303) << signed_in.body;
  }

  std::string Register() {
    HttpOptions options;
    options.headers = {"Content-Type: application/json"};
    HttpResponse registered = HttpRequest("POST", Origin() + "/oauth/register",
                                          json{{"client_name", "refusal test"},
                                               {"redirect_uris", {kRedirect}},
                                               {"token_endpoint_auth_method", "none"}}
                                              .dump(),
                                          options);
    EXPECT_EQ(registered.status, 201) << registered.body;
    return json::parse(registered.body, nullptr, false).value("client_id", "");
  }

  Params Request(const std::string& client_id) const {
    return {{"response_type", "code"},
            {"client_id", client_id},
            {"redirect_uri", kRedirect},
            {"code_challenge", S256(kVerifier)},
            {"code_challenge_method", "S256"},
            {"resource", Origin() + "/mcp"},
            {"scope", "mcp"},
            {"state", "st-1"}};
  }

  static Params With(Params params, const std::string& name, const std::string& value) {
    std::erase_if(params, [&](const auto& p) { return p.first == name; });
    if (!value.empty()) params.emplace_back(name, value);
    return params;
  }

  HttpResponse Page(const Params& params) {
    return HttpGet(Origin() + "/oauth/authorize?" + Query(params) + "&latchkey_again=1", Browser());
  }

  // The CSRF field of a consent page; "" (and a failure) when the page has no form.
  static std::string Csrf(const HttpResponse& page) {
    std::smatch csrf;
    if (std::regex_search(page.body, csrf, std::regex(R"re(name="csrf" value="([0-9a-f]+)")re"))) {
      return csrf[1].str();
    }
    ADD_FAILURE() << "no consent form:\n" << page.status << " " << page.body;
    return "";
  }

  // A human allows `params` for agent bot on the page: the code from the redirect.
  std::string Allow(const Params& params) {
    const std::string csrf = Csrf(Page(params));
    if (csrf.empty()) return "";
    Params form = params;
    form.insert(form.end(),
                {{"csrf", csrf}, {"agent", "bot"}, {"admin_token", AdminToken()}, {"decision", "allow"}});
    HttpResponse allowed = HttpPostForm(Origin() + "/oauth/authorize", form, Browser());
    EXPECT_EQ(allowed.status, 303) << allowed.body;
    std::smatch code;
    const std::string location = allowed.Header("location");
    if (!std::regex_search(location, code, std::regex("[?&]code=([^&]+)"))) {
      ADD_FAILURE() << "no code in " << location;
      return "";
    }
    secrets_.push_back(code[1].str());
    return code[1].str();
  }

  HttpResponse Token(const Params& form) { return HttpPostForm(Origin() + "/oauth/token", form); }

  HttpResponse Exchange(const std::string& client_id, const std::string& code,
                        const std::string& verifier = kVerifier) {
    return Token({{"grant_type", "authorization_code"},
                  {"code", code},
                  {"redirect_uri", kRedirect},
                  {"code_verifier", verifier},
                  {"client_id", client_id},
                  {"resource", Origin() + "/mcp"}});
  }

  json Tokens(const HttpResponse& response) {
    json tokens = json::parse(response.body, nullptr, false);
    if (!tokens.is_object()) return json::object();
    secrets_.push_back(tokens.value("access_token", ""));
    secrets_.push_back(tokens.value("refresh_token", ""));
    return tokens;
  }

  // An MCP initialize with `token` as bearer.
  RawReply Initialize(const std::string& token) {
    return Call("POST", "/mcp", token,
                R"({"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25",)"
                R"("capabilities":{},"clientInfo":{"name":"t","version":"1"}}})",
                {{"Content-Type", "application/json"}, {"Accept", "application/json, text/event-stream"}});
  }

  TempDir browser_;
};

TEST_F(McpOAuthRefusalTest, WithoutASessionThePageShowsNoGrantButtonAndItsFormGrantsNothing) {
  SetUpWorld();
  const std::string client = Register();
  HttpResponse page = Page(Request(client));
  EXPECT_EQ(page.status, 200);
  EXPECT_THAT(page.body, HasSubstr("name=\"token\"")) << "the sign-in form";
  EXPECT_THAT(page.body, Not(HasSubstr("name=\"decision\"")));
  EXPECT_THAT(page.body, Not(HasSubstr("refusal test"))) << "nothing about the client before sign-in";
  Params form = Request(client);
  form.insert(form.end(), {{"agent", "bot"}, {"admin_token", AdminToken()}, {"decision", "allow"}});
  HttpResponse forged = HttpPostForm(Origin() + "/oauth/authorize", form, Browser());
  EXPECT_EQ(forged.status, 401) << forged.body;
  EXPECT_EQ(forged.Header("location"), "");

  // Signed in, the form still needs the page's CSRF token and the admin token.
  SignIn();
  HttpResponse no_csrf = HttpPostForm(Origin() + "/oauth/authorize", form, Browser());
  EXPECT_EQ(no_csrf.status, 403) << no_csrf.body;
  EXPECT_EQ(no_csrf.Header("location"), "");
}

TEST_F(McpOAuthRefusalTest, RequestsWithoutPkceS256OrWithAStrangeRedirectAreRefused) {
  SetUpWorld();
  const std::string client = Register();
  SignIn();
  for (const Params& params :
       {With(Request(client), "code_challenge", ""), With(Request(client), "code_challenge_method", "plain"),
        With(With(Request(client), "code_challenge_method", "plain"), "code_challenge", kVerifier)}) {
    // Shown on latchkey's page, not sent to the client: a page of a stranger's client must
    // not be a way to send a signed-in human anywhere without a click (RFC 9700 §4.11.2).
    HttpResponse refused = Page(params);
    EXPECT_EQ(refused.status, 400) << refused.body;
    EXPECT_EQ(refused.Header("location"), "");
    EXPECT_THAT(refused.body, HasSubstr("code_challenge"));
  }
  // A redirect URI the client did not register is never followed, only shown.
  for (const std::string elsewhere : {"http://127.0.0.1:5555/other", "https://evil.example/callback", ""}) {
    HttpResponse refused = Page(With(Request(client), "redirect_uri", elsewhere));
    EXPECT_EQ(refused.status, 400) << elsewhere;
    EXPECT_EQ(refused.Header("location"), "") << elsewhere;
    EXPECT_THAT(refused.body, HasSubstr("redirect_uri")) << elsewhere;
  }
  // RFC 8252 §7.3: a loopback redirect matches on any port.
  HttpResponse other_port = Page(With(Request(client), "redirect_uri", "http://127.0.0.1:6666/callback"));
  EXPECT_EQ(other_port.status, 200);
  EXPECT_THAT(other_port.body, HasSubstr("name=\"decision\""));
}

TEST_F(McpOAuthRefusalTest, CodesAndTokensAreRefusedWhenWrongReusedElsewhereOrExpired) {
  SetUpWorld("refresh_reuse_grace_s = 0\n");  // every second use of a refresh token is a replay
  const std::string client = Register();
  SignIn();

  // A wrong verifier spends nothing; the right one then works; a reused code ends its tokens.
  std::string code = Allow(Request(client));
  HttpResponse wrong = Exchange(client, code, std::string(64, 'w'));
  EXPECT_EQ(wrong.status, 400);
  EXPECT_THAT(wrong.body, HasSubstr("invalid_grant"));
  json first = Tokens(Exchange(client, code));
  ASSERT_TRUE(first.contains("access_token")) << first;
  EXPECT_EQ(first["token_type"], "Bearer");
  EXPECT_EQ(first["expires_in"], 3);
  EXPECT_EQ(Initialize(first["access_token"]).status, 200);
  HttpResponse reused = Exchange(client, code);
  EXPECT_EQ(reused.status, 400);
  EXPECT_THAT(reused.body, HasSubstr("invalid_grant"));
  RawReply after_reuse = Initialize(first["access_token"]);
  EXPECT_EQ(after_reuse.status, 401) << "a reused code revokes what it issued";
  EXPECT_THAT(after_reuse.Header("www-authenticate"), HasSubstr("error=\"invalid_token\""));
  EXPECT_THAT(after_reuse.Header("www-authenticate"),
              HasSubstr("resource_metadata=\"" + Origin() + "/.well-known/oauth-protected-resource/mcp\""));

  // A token for /mcp is refused anywhere else, and a token request for another resource.
  json second = Tokens(Exchange(client, Allow(Request(client))));
  ASSERT_TRUE(second.contains("access_token")) << second;
  EXPECT_EQ(Call("GET", "/proxy/work/read", second["access_token"]).status, 401);
  EXPECT_EQ(Admin("GET", "/v1/agents", second["access_token"]).status, 401);
  HttpResponse elsewhere = Token({{"grant_type", "refresh_token"},
                                  {"refresh_token", second["refresh_token"]},
                                  {"client_id", client},
                                  {"resource", Origin() + "/v1"}});
  EXPECT_EQ(elsewhere.status, 400);
  EXPECT_THAT(elsewhere.body, HasSubstr("invalid_target"));

  // A reused refresh token revokes the family: the rotated tokens too.
  json third = Tokens(Token(
      {{"grant_type", "refresh_token"}, {"refresh_token", second["refresh_token"]}, {"client_id", client}}));
  ASSERT_TRUE(third.contains("refresh_token")) << third;
  HttpResponse replay = Token(
      {{"grant_type", "refresh_token"}, {"refresh_token", second["refresh_token"]}, {"client_id", client}});
  EXPECT_EQ(replay.status, 400);
  EXPECT_THAT(replay.body, HasSubstr("invalid_grant"));
  EXPECT_EQ(Initialize(third["access_token"]).status, 401);
  EXPECT_EQ(
      Token(
          {{"grant_type", "refresh_token"}, {"refresh_token", third["refresh_token"]}, {"client_id", client}})
          .status,
      400);

  // An expired access token (3 seconds here) gets 401 with the challenge to refresh.
  json fourth = Tokens(Exchange(client, Allow(Request(client))));
  ASSERT_EQ(Initialize(fourth["access_token"]).status, 200);
  std::this_thread::sleep_for(std::chrono::milliseconds(3500));
  RawReply expired = Initialize(fourth["access_token"]);
  EXPECT_EQ(expired.status, 401);
  EXPECT_THAT(expired.Header("www-authenticate"), HasSubstr("error=\"invalid_token\""));
  // Without any token: the challenge names the metadata and scope, and no error.
  RawReply anonymous = Initialize("");
  EXPECT_EQ(anonymous.status, 401);
  EXPECT_THAT(anonymous.Header("www-authenticate"), HasSubstr("scope=\"mcp\""));
  EXPECT_THAT(anonymous.Header("www-authenticate"), Not(HasSubstr("error=")));

  for (const std::string& secret : secrets_) {
    if (!secret.empty()) {
      EXPECT_THAT(GatewayLog(), Not(HasSubstr(secret)));
    }
  }
}

TEST_F(McpOAuthRefusalTest, AConfidentialClientShowsItsSecretAndTheHumanMayCreateTheAgent) {
  SetUpWorld();
  HttpOptions json_body;
  json_body.headers = {"Content-Type: application/json"};
  HttpResponse registered = HttpRequest(
      "POST", Origin() + "/oauth/register",
      json{{"redirect_uris", {kRedirect}}, {"token_endpoint_auth_method", "client_secret_basic"}}.dump(),
      json_body);
  ASSERT_EQ(registered.status, 201) << registered.body;
  const json client = json::parse(registered.body);
  const std::string id = client["client_id"];
  const std::string secret = client.value("client_secret", "");
  ASSERT_FALSE(secret.empty());
  secrets_.push_back(secret);

  // The human creates agent "reader" on the consent page, with its rules.
  SignIn();
  const std::string csrf = Csrf(Page(Request(id)));
  ASSERT_FALSE(csrf.empty());
  Params form = Request(id);
  form.insert(form.end(), {{"csrf", csrf},
                           {"agent", "bot"},
                           {"new_agent", "reader"},
                           {"new_agent_rules", "work:GET:/read\n"},
                           {"admin_token", AdminToken()},
                           {"decision", "allow"}});
  HttpResponse allowed = HttpPostForm(Origin() + "/oauth/authorize", form, Browser());
  ASSERT_EQ(allowed.status, 303) << allowed.body;
  std::smatch code;
  const std::string location = allowed.Header("location");
  ASSERT_TRUE(std::regex_search(location, code, std::regex("[?&]code=([^&]+)"))) << location;
  secrets_.push_back(code[1].str());
  EXPECT_THAT(MustRun({"agent", "list"}), HasSubstr("reader"));

  const Params exchange = {{"grant_type", "authorization_code"},
                           {"code", code[1].str()},
                           {"redirect_uri", kRedirect},
                           {"code_verifier", kVerifier}};
  HttpResponse no_secret = Token(With(exchange, "client_id", id));
  EXPECT_EQ(no_secret.status, 401) << "a confidential client must authenticate";
  EXPECT_THAT(no_secret.body, HasSubstr("invalid_client"));
  HttpOptions wrong;
  wrong.basic_auth = id + ":lkcs_wrong";
  EXPECT_EQ(HttpPostForm(Origin() + "/oauth/token", exchange, wrong).status, 401);
  HttpOptions basic;
  basic.basic_auth = id + ":" + secret;
  json tokens = Tokens(HttpPostForm(Origin() + "/oauth/token", exchange, basic));
  ASSERT_TRUE(tokens.contains("access_token")) << tokens;
  EXPECT_EQ(Initialize(tokens["access_token"]).status, 200) << "acting as reader";

  // RFC 7009: the client ends its grant.
  HttpResponse revoked =
      HttpPostForm(Origin() + "/oauth/revoke", {{"token", tokens["refresh_token"]}}, basic);
  EXPECT_EQ(revoked.status, 200) << revoked.body;
  EXPECT_EQ(Initialize(tokens["access_token"]).status, 401);
}

TEST_F(McpOAuthRefusalTest, DenyAnswersAccessDeniedAndGrantsNothing) {
  SetUpWorld();
  const std::string client = Register();
  SignIn();
  HttpResponse page = Page(Request(client));
  const std::string csrf = Csrf(page);
  ASSERT_FALSE(csrf.empty());
  Params form = Request(client);
  // Allow with no agent chosen (the page preselects none) grants nothing.
  Params unchosen = Request(client);
  unchosen.insert(unchosen.end(),
                  {{"csrf", csrf}, {"agent", ""}, {"admin_token", AdminToken()}, {"decision", "allow"}});
  HttpResponse nothing = HttpPostForm(Origin() + "/oauth/authorize", unchosen, Browser());
  EXPECT_EQ(nothing.status, 400) << nothing.body;
  EXPECT_EQ(nothing.Header("location"), "");
  EXPECT_THAT(page.body, HasSubstr("<option value=\"\">Choose an agent</option>"));

  form.insert(form.end(), {{"csrf", csrf}, {"agent", "bot"}, {"decision", "deny"}});
  HttpResponse denied = HttpPostForm(Origin() + "/oauth/authorize", form, Browser());
  ASSERT_EQ(denied.status, 303) << denied.body;
  const std::string location = denied.Header("location");
  EXPECT_THAT(location, ::testing::StartsWith(std::string(kRedirect) + "?error=access_denied"));
  EXPECT_THAT(location, HasSubstr("state=st-1"));
  EXPECT_THAT(location, HasSubstr("iss=" + UrlEncode(Origin())));
  EXPECT_THAT(location, Not(HasSubstr("code=")));
  HttpOptions admin;
  admin.headers = {"Authorization: Bearer " + AdminToken()};
  HttpResponse consents = HttpGet(Origin() + "/v1/mcp-consents", admin);
  EXPECT_EQ(consents.status, 200);
  EXPECT_THAT(consents.body, Not(HasSubstr(client))) << "no consent recorded";
}

TEST_F(McpOAuthRefusalTest, RegistrationIsRateLimited) {
  SetUpWorld();
  HttpOptions options;
  options.headers = {"Content-Type: application/json"};
  // A refused registration is a JSON error a client can read (and counts, as any attempt).
  HttpResponse bad =
      HttpRequest("POST", Origin() + "/oauth/register", R"({"redirect_uris": ["javascript:x"]})", options);
  EXPECT_EQ(bad.status, 400);
  EXPECT_THAT(bad.body, HasSubstr("invalid_redirect_uri"));
  const std::string body =
      json{{"redirect_uris", {kRedirect}}, {"token_endpoint_auth_method", "none"}}.dump();
  int created = 0;
  int slowed = 0;
  for (int i = 0; i < 25; ++i) {
    HttpResponse answer = HttpRequest("POST", Origin() + "/oauth/register", body, options);
    created += answer.status == 201 ? 1 : 0;
    slowed += answer.status == 429 ? 1 : 0;
  }
  EXPECT_EQ(created, 19) << "twenty attempts a minute";
  EXPECT_EQ(slowed, 6);
}

class McpOAuthDocumentTest : public McpOAuthRefusalTest {
 protected:
  void StartDocuments() {
    documents_ = std::make_unique<NodeServer>("client_documents.js", EnvMap{{"CERT", cert_}, {"KEY", key_}});
  }
  int DocumentRequests() {
    RunResult got = ::latchkey::testing::Run(
        {"/usr/bin/curl", "-s", "--cacert", cert_, documents_->base_url() + "/__requests"});
    return json::parse(got.out, nullptr, false).value("requests", -1);
  }
  std::unique_ptr<NodeServer> documents_;
};

TEST_F(McpOAuthDocumentTest, ADocumentThatNamesAnotherClientIdIsRefused) {
  SetUpWorld();
  StartDocuments();
  SignIn();
  Params good =
      With(Request(documents_->base_url() + "/good.json"), "redirect_uri", "http://127.0.0.1/callback");
  HttpResponse page = Page(good);
  EXPECT_EQ(page.status, 200) << page.body;
  EXPECT_THAT(page.body, HasSubstr("document test client"));
  HttpResponse mismatch = Page(
      With(Request(documents_->base_url() + "/mismatch.json"), "redirect_uri", "http://127.0.0.1/callback"));
  EXPECT_EQ(mismatch.status, 400);
  EXPECT_EQ(mismatch.Header("location"), "");
  EXPECT_THAT(mismatch.body, HasSubstr("client_id"));
}

TEST_F(McpOAuthDocumentTest, ADocumentAtAPrivateAddressIsNeverFetched) {
  // As shipped: no allow_private_metadata_hosts.
  StartOAuthServers();
  CreateAgent("bot", {"work:GET:/**"});
  cert_ = certs_.path() + "/cert.pem";
  key_ = certs_.path() + "/key.pem";
  RunResult made = ::latchkey::testing::Run({"/usr/bin/openssl", "req", "-x509", "-newkey", "rsa:2048",
                                             "-nodes", "-days", "1", "-subj", "/CN=localhost", "-addext",
                                             "subjectAltName=IP:127.0.0.1", "-keyout", key_, "-out", cert_});
  ASSERT_EQ(made.exit_code, 0) << made.err;
  StartGateway("[mcp_oauth]\nmetadata_ca_file = \"" + cert_ + "\"\n");
  StartDocuments();
  SignIn();
  HttpResponse refused =
      Page(With(Request(documents_->base_url() + "/good.json"), "redirect_uri", "http://127.0.0.1/callback"));
  EXPECT_EQ(refused.status, 400);
  EXPECT_EQ(refused.Header("location"), "");
  EXPECT_THAT(refused.body, HasSubstr("public address"));
  EXPECT_EQ(DocumentRequests(), 0) << "refused before connecting";
}

}  // namespace
}  // namespace latchkey::testing
