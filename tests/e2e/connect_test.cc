// `latchkey connect` end to end against the real authorization server (as.js): the
// browser flow through the loopback listener, the device flow (with slow_down) and the
// client credentials grant. The "browser" is curl with a cookie jar.
#include <csignal>
#include <nlohmann/json.hpp>
#include <regex>
#include <sstream>
#include <thread>

#include "e2e/cli_fixture.h"
#include "support/oauth_servers.h"

namespace latchkey::testing {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;

std::string ProviderToml(const std::string& name, const std::string& issuer, const std::string& client_id,
                         const std::string& secret, const std::string& scopes) {
  return "name = \"" + name + "\"\nauth = \"oauth2\"\nissuer = \"" + issuer + "\"\nclient_id = \"" +
         client_id + "\"\nclient_secret = \"" + secret +
         "\"\ntoken_auth = \"client_secret_basic\"\nscopes = " + scopes +
         "\napi_base_url = \"http://127.0.0.1:1\"\n\n[authorization_params]\n"
         "prompt = \"consent\"  # as.js issues a refresh token (offline_access) only with it\n";
}

// The first line of the file at `path` that starts with `prefix`, waiting up to 30 s.
std::string WaitForLine(const std::string& path, const std::string& prefix) {
  for (int i = 0; i < 300; ++i) {
    std::istringstream lines(ReadFile(path));
    std::string line;
    while (std::getline(lines, line)) {
      if (line.rfind(prefix, 0) == 0) return line;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  ADD_FAILURE() << "no line starting with '" << prefix << "' in:\n" << ReadFile(path);
  return "";
}

nlohmann::json Json(const std::string& text) {
  auto j = nlohmann::json::parse(text, nullptr, false);
  EXPECT_FALSE(j.is_discarded()) << text;
  return j;
}

class ConnectTest : public CliTest {
 protected:
  void SetUp() override {
    as_ = StartAuthorizationServer();
    MustRun({"provider", "add", "--file", "-"},
            ProviderToml("acme", as_->base_url(), "agent-native", "native-secret",
                         R"(["openid", "offline_access", "api:read"])"));
  }

  std::unique_ptr<Background> StartConnect(std::vector<std::string> args) {
    std::vector<std::string> argv = {LatchkeyBinary(), "--data-dir", data_dir(), "connect"};
    argv.insert(argv.end(), args.begin(), args.end());
    RunOptions options;
    options.unset_env = {"LATCHKEY_MASTER_KEY", "LATCHKEY_DATA_DIR", "DISPLAY", "WAYLAND_DISPLAY"};
    return std::make_unique<Background>(argv, options);
  }

  // Waits for the child to exit (signal 0 only checks it is there) and returns its code.
  static int WaitForExit(Background& child) { return child.Stop(0); }

  // Runs `latchkey connect ARGS` with the browser signing in as `user` (as.js: login_hint);
  // returns the exit code, and the child's stderr in `log`.
  int ConnectAs(const std::vector<std::string>& args, const std::string& user, std::string* log) {
    std::vector<std::string> argv = args;
    argv.insert(argv.end(), {"--no-browser", "--timeout", "60"});
    auto child = StartConnect(argv);
    std::string line = WaitForLine(child->stderr_path(), "Open this URL");
    TempDir browser;  // a fresh one: the server's sign-in session would otherwise keep the last account
    HttpOptions options;
    options.cookie_jar = browser.path() + "/cookies";
    options.follow_redirects = true;
    HttpGet(line.substr(line.find(": http") + 2) + "&login_hint=" + UrlEncode(user), options);
    const int code = WaitForExit(*child);
    *log = ReadFile(child->stderr_path());
    return code;
  }

  nlohmann::json Stats() const { return Json(HttpGet(as_->base_url() + "/__stats").body); }

  HttpOptions Browser() const {
    HttpOptions options;
    options.cookie_jar = jar_.path() + "/cookies";
    options.follow_redirects = true;
    return options;
  }

  std::unique_ptr<NodeServer> as_;
  TempDir jar_;
};

TEST_F(ConnectTest, ConnectBrowserFlowThroughLoopback) {
  auto child = StartConnect({"acme", "--name", "work", "--no-browser", "--timeout", "60"});
  std::string line = WaitForLine(child->stderr_path(), "Open this URL");
  EXPECT_THAT(line, StartsWith("Open this URL to connect work: "));
  std::string url = line.substr(line.find(": http") + 2);
  EXPECT_THAT(url, HasSubstr("code_challenge_method=S256"));
  EXPECT_THAT(url, HasSubstr("redirect_uri=http%3A%2F%2F127.0.0.1%3A"));

  HttpResponse page = HttpGet(url, Browser());
  EXPECT_EQ(page.status, 200) << page.error << page.body << "\n" << as_->Stderr();
  EXPECT_THAT(page.body, HasSubstr("You can close this tab"));
  ASSERT_EQ(WaitForExit(*child), 0) << ReadFile(child->stderr_path());
  EXPECT_THAT(ReadFile(child->stderr_path()), HasSubstr("connection 'work' connected (acme, scopes: "));

  auto shown = Json(MustRun({"--json", "connection", "show", "work"}));
  EXPECT_EQ(shown["status"], "active");
  EXPECT_EQ(shown["kind"], "oauth2");
  EXPECT_EQ(shown["has_refresh_token"], true);
  std::string token = MustRun({"token", "work"});
  EXPECT_GT(token.size(), 20U);
  EXPECT_EQ(Stats()["token_requests"].value("authorization_code", 0), 1);
  // The code and tokens never reach the terminal.
  EXPECT_THAT(ReadFile(child->stderr_path()), ::testing::Not(HasSubstr(token.substr(0, token.size() - 1))));
}

TEST_F(ConnectTest, ConnectBrowserFlowDeniedExitsThree) {
  auto child = StartConnect({"acme", "--name", "work", "--no-browser", "--timeout", "60"});
  std::string line = WaitForLine(child->stderr_path(), "Open this URL");
  std::string url = line.substr(line.find(": http") + 2) + "&login_hint=deny";
  HttpResponse page = HttpGet(url, Browser());
  EXPECT_EQ(page.status, 400) << page.error << page.body;
  EXPECT_THAT(page.body, HasSubstr("consent was denied"));
  EXPECT_EQ(WaitForExit(*child), 3) << ReadFile(child->stderr_path());
  EXPECT_THAT(ReadFile(child->stderr_path()), HasSubstr("consent was denied for connection 'work'"));
  EXPECT_EQ(Latchkey({"connection", "show", "work"}).exit_code, 1);
  EXPECT_EQ(Stats()["token_requests"].value("authorization_code", 0), 0);
}

TEST_F(ConnectTest, ConnectBrowserFlowIgnoresStrayRequests) {
  auto child = StartConnect({"acme", "--name", "work", "--no-browser", "--timeout", "60"});
  std::string line = WaitForLine(child->stderr_path(), "Open this URL");
  std::string url = line.substr(line.find(": http") + 2);
  std::smatch port;
  ASSERT_TRUE(std::regex_search(url, port, std::regex("127\\.0\\.0\\.1%3A([0-9]+)%2Fcallback")));
  const std::string loopback = "http://127.0.0.1:" + port[1].str();
  EXPECT_EQ(HttpGet(loopback + "/favicon.ico").status, 404);
  EXPECT_EQ(HttpGet(loopback + "/callback?state=forged&code=x").status, 400);
  HttpResponse page = HttpGet(url, Browser());
  EXPECT_EQ(page.status, 200) << page.error << page.body;
  EXPECT_EQ(WaitForExit(*child), 0) << ReadFile(child->stderr_path());
}

TEST_F(ConnectTest, ConnectDeviceFlowWithSlowDown) {
  // as.js asks for a 2 s interval; polling every 1 s earns a slow_down (+5 s).
  auto child = StartConnect({"acme", "--name", "headless", "--device", "--poll-interval", "1"});
  std::string line = WaitForLine(child->stderr_path(), "To connect headless, open ");
  std::smatch m;
  ASSERT_TRUE(std::regex_search(line, m, std::regex("open (\\S+) and enter code (\\S+)$"))) << line;
  const std::string verification_uri = m[1].str();
  const std::string user_code = m[2].str();
  WaitForLine(child->stderr_path(), "The provider asked latchkey to poll more slowly");

  // Approve as the user would in a browser: the code form, then the confirmation.
  HttpResponse form = HttpGet(verification_uri + "?user_code=" + UrlEncode(user_code), Browser());
  std::smatch xsrf;
  ASSERT_TRUE(std::regex_search(form.body, xsrf, std::regex("name=\"xsrf\" value=\"([^\"]+)\"")))
      << form.body;
  HttpResponse done = HttpPostForm(
      verification_uri, {{"xsrf", xsrf[1].str()}, {"user_code", user_code}, {"confirm", "yes"}}, Browser());
  EXPECT_EQ(done.status, 200) << done.body << "\n" << as_->Stderr();

  ASSERT_EQ(WaitForExit(*child), 0) << ReadFile(child->stderr_path());
  auto shown = Json(MustRun({"--json", "connection", "show", "headless"}));
  EXPECT_EQ(shown["status"], "active");
  EXPECT_FALSE(MustRun({"token", "headless"}).empty());
  const int polls = Stats()["token_requests"].value("urn:ietf:params:oauth:grant-type:device_code", 0);
  EXPECT_GE(polls, 3);  // pending, slow_down, ..., success: and none after it
  std::this_thread::sleep_for(std::chrono::seconds(2));
  EXPECT_EQ(Stats()["token_requests"].value("urn:ietf:params:oauth:grant-type:device_code", 0), polls);
}

TEST_F(ConnectTest, ConnectClientCredentials) {
  MustRun({"provider", "add", "--file", "-"},
          ProviderToml("acme-m2m", as_->base_url(), "agent-client", "agent-secret", R"(["api:read"])"));
  std::string out = MustRun({"connect", "acme-m2m", "--name", "robot", "--client-credentials"});
  EXPECT_THAT(out, HasSubstr("connection 'robot' connected (acme-m2m, scopes: api:read)"));
  auto shown = Json(MustRun({"--json", "connection", "show", "robot"}));
  EXPECT_EQ(shown["kind"], "client_credentials");
  EXPECT_EQ(shown["status"], "active");
  EXPECT_EQ(shown["has_refresh_token"], false);
  EXPECT_FALSE(MustRun({"token", "robot"}).empty());
  EXPECT_EQ(Stats()["token_requests"].value("client_credentials", 0), 1);

  // --json prints the same object as `connection show --json`.
  auto printed = Json(MustRun({"--json", "connect", "acme-m2m", "--name", "robot2", "--client-credentials"}));
  EXPECT_EQ(printed, Json(MustRun({"--json", "connection", "show", "robot2"})));
}

// A template entry (provider_template.h): connect asks for the tenant, refuses a value
// that would move the entry's host, and connects through the instance it makes, which
// reads its own client variables.
TEST_F(ConnectTest, ATemplateEntryConnectsThroughTheInstanceItsValuesMake) {
  MustRun(
      {"provider", "add", "--file", "-"},
      "name = \"tenant\"\nauth = \"oauth2\"\nissuer = \"http://{host}\"\n"
      "client_id = \"env:LATCHKEY_TENANT_CLIENT_ID\"\nclient_secret = \"env:LATCHKEY_TENANT_CLIENT_SECRET\"\n"
      "scopes = [\"api:read\"]\napi_base_url = \"http://{host}/api\"\n"
      "[template]\nhost = \"the server (host:port)\"\n");
  RunResult unasked = Latchkey({"connect", "tenant", "--client-credentials"});
  EXPECT_NE(unasked.exit_code, 0);
  EXPECT_THAT(unasked.err, HasSubstr("latchkey connect tenant --param host=... (the server (host:port))"));
  RunResult moved = Latchkey({"connect", "tenant", "--param", "host=127.0.0.1/evil", "--client-credentials"});
  EXPECT_NE(moved.exit_code, 0);
  EXPECT_THAT(moved.err, HasSubstr("the value of 'host' must be a host name"));

  const std::string host = as_->base_url().substr(std::string("http://").size());
  std::string instance = "tenant-" + host;
  for (char& c : instance) c = (c == '.' || c == ':') ? '-' : c;
  std::string variable = "LATCHKEY_" + instance + "_";
  for (char& c : variable) c = c == '-' ? '_' : static_cast<char>(std::toupper(c));
  RunResult connected =
      Latchkey({"connect", "tenant", "--param", "host=" + host, "--name", "robot", "--client-credentials"},
               "", {{variable + "CLIENT_ID", "agent-client"}, {variable + "CLIENT_SECRET", "agent-secret"}});
  ASSERT_EQ(connected.exit_code, 0) << connected.err;
  EXPECT_THAT(connected.out, HasSubstr("connection 'robot' connected (" + instance + ", scopes: api:read)"));
  auto shown = Json(MustRun({"--json", "provider", "show", instance}));
  EXPECT_EQ(shown["issuer"], as_->base_url());
  EXPECT_EQ(shown["api_base_url"], as_->base_url() + "/api");
  EXPECT_FALSE(MustRun({"token", "robot"}).empty());
}

TEST_F(ConnectTest, ConnectUsageErrors) {
  EXPECT_EQ(Latchkey({"connect"}).exit_code, 2);
  EXPECT_EQ(Latchkey({"connect", "acme", "--device", "--client-credentials"}).exit_code, 2);
  RunResult bad_name = Latchkey({"connect", "acme", "--name", "Bad Name", "--client-credentials"});
  EXPECT_EQ(bad_name.exit_code, 2) << bad_name.err;
}

// Every connection made by consent records its account: for an OIDC provider, the `sub`
// of the ID token, verified against the issuer's keys (here oidc-provider's). A re-consent
// that comes back as another account stores nothing and revokes the new grant, unless the
// operator says --switch-account.
TEST_F(ConnectTest, ConnectRecordsTheAccountAndAReconsentAsAnotherAccountIsRefused) {
  std::string log;
  ASSERT_EQ(ConnectAs({"acme", "--name", "work"}, "alice", &log), 0) << log;
  auto shown = Json(MustRun({"--json", "connection", "show", "work"}));
  EXPECT_EQ(shown["account_id"], "alice");
  EXPECT_EQ(shown["account_description"], "id alice");
  EXPECT_THAT(MustRun({"connection", "list"}), HasSubstr("id alice"));
  const std::string before = MustRun({"token", "work"});
  const int revocations = Stats()["revocations"].get<int>();

  EXPECT_NE(ConnectAs({"acme", "--name", "work"}, "mallory", &log), 0);
  EXPECT_THAT(log, HasSubstr("came back as account id mallory, but the connection belongs to id alice"));
  EXPECT_THAT(log, HasSubstr("the grant was revoked at the provider"));
  EXPECT_EQ(Stats()["revocations"].get<int>(), revocations + 1);
  EXPECT_EQ(Json(MustRun({"--json", "connection", "show", "work"}))["account_id"], "alice");
  EXPECT_EQ(MustRun({"token", "work"}), before) << "the stored grant is untouched";

  ASSERT_EQ(ConnectAs({"acme", "--name", "work", "--switch-account"}, "mallory", &log), 0) << log;
  EXPECT_EQ(Json(MustRun({"--json", "connection", "show", "work"}))["account_id"], "mallory");
}

// The ID token checks against a real signer (oauth2-mock-server behind fault.js, which
// alters the ID token of a code whose authorization request named a fault): each
// forgery is refused with a message naming the check, and nothing is stored.
TEST_F(ConnectTest, AnIdTokenThatFailsACheckIsRefusedAndNothingIsStored) {
  auto fault = StartFaultServer();
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"", ""},
      {"fault-id-sig", "signature does not verify"},
      {"fault-id-aud", "does not include client id 'mock-client'"},
      {"fault-id-iss", "issuer 'https://evil.example' is not '" + fault->base_url() + "'"},
      {"fault-id-nonce", "nonce does not match"},
  };
  for (const auto& [word, expected] : cases) {
    const std::string name = word.empty() ? "plain" : word;
    MustRun({"provider", "add", "--file", "-"},
            ProviderToml(name, fault->base_url(), "mock-client", "mock-secret",
                         word.empty() ? R"(["openid"])" : R"(["openid", ")" + word + R"("])"));
    std::string log;
    const int code = ConnectAs({name, "--name", name}, "anyone", &log);
    if (word.empty()) {
      ASSERT_EQ(code, 0) << log;
      EXPECT_EQ(Json(MustRun({"--json", "connection", "show", name}))["account_id"], "johndoe");
      continue;
    }
    EXPECT_NE(code, 0) << word << "\n" << log;
    EXPECT_THAT(log, HasSubstr(expected)) << word;
    EXPECT_THAT(log, HasSubstr("nothing was stored")) << word;
    EXPECT_EQ(Latchkey({"connection", "show", name}).exit_code, 1) << word;
  }
}

// RFC 9207: oidc-provider says in its metadata that every authorization response names
// its issuer. A response that comes back without `iss` (a mix-up attacker's, which strips
// it) is refused: no code is exchanged and nothing is stored.
TEST_F(ConnectTest, ACallbackWithoutIssIsRefusedWhereTheServerPromisesIt) {
  const HttpResponse metadata = HttpGet(as_->base_url() + "/.well-known/openid-configuration");
  ASSERT_EQ(Json(metadata.body).value("authorization_response_iss_parameter_supported", false), true);
  auto child = StartConnect({"acme", "--name", "work", "--no-browser", "--timeout", "60"});
  std::string line = WaitForLine(child->stderr_path(), "Open this URL");
  std::string url = line.substr(line.find(": http") + 2);
  std::smatch port;
  ASSERT_TRUE(std::regex_search(url, port, std::regex("127\\.0\\.0\\.1%3A([0-9]+)%2Fcallback")));
  const std::string loopback = "http://127.0.0.1:" + port[1].str() + "/callback";
  // The browser's way through the server, one redirect at a time, up to the callback.
  TempDir browser;
  HttpOptions step;
  step.cookie_jar = browser.path() + "/cookies";
  for (int hop = 0; hop < 10 && url.rfind(loopback, 0) != 0; ++hop) {
    HttpResponse answer = HttpGet(url, step);
    ASSERT_TRUE(answer.headers.count("location")) << answer.status << answer.body;
    url = answer.headers.at("location");
    if (url.rfind("/", 0) == 0) url = as_->base_url() + url;
  }
  ASSERT_EQ(url.rfind(loopback, 0), 0U) << url;
  ASSERT_NE(url.find("iss="), std::string::npos) << "the server does send it: " << url;
  const std::string stripped = std::regex_replace(url, std::regex("&iss=[^&]*|iss=[^&]*&"), "");
  HttpResponse page = HttpGet(stripped, step);
  EXPECT_EQ(page.status, 400) << page.body;
  EXPECT_NE(WaitForExit(*child), 0);
  EXPECT_THAT(ReadFile(child->stderr_path()), HasSubstr("has no 'iss' parameter"));
  EXPECT_EQ(Stats()["token_requests"].value("authorization_code", 0), 0);
  EXPECT_EQ(Latchkey({"connection", "show", "work"}).exit_code, 1);
}

}  // namespace
}  // namespace latchkey::testing
