// Issue 19's attacks, each tried against the real daemon (`latchkey serve`), the real
// authorization server (as.js) and the test API (rs.js), and each refused. A compromised
// agent and a hostile (or merely unusual) upstream are the adversaries; the promises and
// the tests that show them are listed in docs/threat-model.md.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <iostream>
#include <set>
#include <sstream>
#include <tuple>

#include "e2e/gateway_fixture.h"
#include "e2e/sqlite_peek.h"

namespace latchkey::testing {
namespace {

using nlohmann::json;
using ::testing::HasSubstr;

class AdversaryTest : public GatewayTest {
 protected:
  // Provider "keyed": an API-key service on rs.js; `extra` adds lines to its entry.
  void AddKeyedProvider(const std::string& extra = "") {
    MustRun({"provider", "add", "--file", "-"}, "name = \"keyed\"\nauth = \"api_key\"\napi_base_url = \"" +
                                                    rs_->base_url() + "\"\napi_key_header = \"X-Api-Key\"\n" +
                                                    extra);
    MustRun({"connection", "import", "keyed", "--provider", "keyed"}, R"({"api_key": "keyed-secret"})");
  }

  // PostgreSQL refuses text that is not UTF-8. A path such as /proxy/x/%ff (no key needed)
  // put its decoded byte into an audit batch, which was then retried forever: no later call
  // was audited until a restart.
  void AuditKeepsRecordingAfterAPathThatIsNotUtf8(const std::string& key) {
    RawReply odd = Call("GET", "/proxy/x/%ff/caf%C3%A9%00?q=%ff", "");
    EXPECT_EQ(odd.status, 400) << odd.raw;  // %00 is an encoded control character
    RawReply unauthenticated = Call("GET", "/proxy/x/%ff", "");
    EXPECT_EQ(unauthenticated.status, 401) << unauthenticated.raw;
    for (int i = 0; i < 3; ++i) {
      RawReply ok = Call("GET", "/proxy/work/read?after=" + std::to_string(i), key);
      EXPECT_EQ(ok.status, 200) << ok.raw;
    }
    std::set<std::string> paths;
    json rows;
    for (int attempt = 0; attempt < 100; ++attempt) {  // the writer's batches land within 50 ms
      rows = json::parse(MustRun({"audit", "--json", "--limit", "50"}));
      paths.clear();
      for (const json& row : rows) paths.insert(row.value("path", ""));
      if (paths.size() >= 3 && rows.size() >= 5) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    EXPECT_EQ(rows.size(), 5U) << rows.dump(1);
    EXPECT_TRUE(paths.contains("/%ff")) << rows.dump(1);
    EXPECT_TRUE(paths.contains("/read?after=***")) << rows.dump(1);
  }
};

// Many APIs honour X-HTTP-Method-Override and its cousins: a POST that says DELETE deletes.
// Forwarded, they let a rule allowing GET,POST send any method.
// Consent takeover: an agent that holds a consent link must not be able to switch the
// connection to an account it controls. Links point to latchkey's consent page (a
// signed-in human, a click); the callback needs the cookie of the browser that clicked;
// and a re-consent that comes back as another account stores nothing and revokes the new
// grant, unless the human ticked "switch account", which raises an alert.
TEST_F(AdversaryTest, AConsentLinkCannotSwitchTheConnectionToAnotherAccount) {
  StartOAuthServers();
  MustRun({"provider", "add", "--file", "-"},
          "name = \"native\"\nauth = \"oauth2\"\nissuer = \"" + as_->base_url() +
              "\"\nclient_id = \"agent-native\"\nclient_secret = \"native-secret\"\n"
              "scopes = [\"openid\", \"offline_access\", \"api:read\"]\napi_base_url = \"" +
              rs_->base_url() + "\"\n[authorization_params]\nprompt = \"consent\"\n");
  StartGateway();
  const std::string admin = AdminToken();
  const std::string origin = "http://127.0.0.1:" + std::to_string(port_);
  RawReply started = Admin("POST", "/v1/connections/team/connect", admin, R"({"provider":"native"})");
  ASSERT_EQ(started.status, 201) << started.raw;
  TempDir alice_browser;
  HttpResponse connected = CompleteConsent(started.Json()["consent_url"], alice_browser, "alice");
  ASSERT_EQ(connected.status, 200) << connected.body << GatewayLog();
  EXPECT_THAT(connected.body, HasSubstr("(account id alice)"));
  const std::string key = CreateAgent("bot", {"team"});
  auto acting_as = [&] { return Call("GET", "/proxy/team/read", key).Json().value("sub", ""); };
  ASSERT_EQ(acting_as(), "alice");

  // The agent's link: latchkey's page, no provider URL, no state.
  RawReply denied = Call("POST", "/proxy/team/write", key, "{}");
  ASSERT_EQ(denied.status, 403) << denied.raw;
  const std::string link = denied.Json()["reconsent_url"];
  ASSERT_EQ(link.rfind(origin + "/consent/", 0), 0U) << link;
  EXPECT_EQ(link.find("state"), std::string::npos);
  // Opened by the agent itself (no session): never a provider URL, nothing started.
  const std::string path = link.substr(origin.size());
  for (const std::string& target : {path, path + "?again"}) {
    RawReply page = Call("GET", target, "");
    EXPECT_EQ(page.status, 200) << page.raw;
    EXPECT_EQ(page.raw.find(as_->base_url()), std::string::npos) << page.raw;
  }
  RawReply forced =
      Call("POST", path, "", "switch_account=1", {{"Content-Type", "application/x-www-form-urlencoded"}});
  EXPECT_EQ(forced.status, 401) << forced.raw;
  EXPECT_EQ(forced.raw.find(as_->base_url()), std::string::npos) << forced.raw;
  RawReply with_key = Call("POST", path, key, "");
  EXPECT_EQ(with_key.status, 401) << "an agent key is not a dashboard session: " << with_key.raw;

  // A human opens it, but the provider sign-in is someone else's account: nothing stored,
  // the new grant revoked, every agent still acts as alice.
  const int revocations = Stats(*as_)["revocations"].get<int>();
  TempDir other_browser;
  HttpResponse taken = CompleteConsent(link, other_browser, "mallory");
  EXPECT_EQ(taken.status, 400) << taken.body;
  EXPECT_THAT(taken.body,
              HasSubstr("came back as account id mallory, but the connection belongs to id alice"));
  EXPECT_THAT(taken.body, HasSubstr("the grant was revoked at the provider"));
  EXPECT_EQ(Stats(*as_)["revocations"].get<int>(), revocations + 1);
  EXPECT_EQ(acting_as(), "alice");

  // The state of a started consent reaches the agent anyway (a log, a screen): completed
  // in any browser but the one that started it, the callback stores nothing.
  TempDir human;
  HttpResponse start = StartConsent(link, human);
  ASSERT_TRUE(start.headers.count("location")) << start.body;
  const int codes_before = Stats(*as_)["token_requests"].value("authorization_code", 0);
  TempDir attacker;
  HttpResponse stolen = HttpGet(start.headers.at("location") + "&login_hint=mallory", Browser(attacker));
  EXPECT_EQ(stolen.status, 400) << stolen.body;
  EXPECT_THAT(stolen.body, HasSubstr("did not come from the browser"));
  EXPECT_EQ(Stats(*as_)["token_requests"].value("authorization_code", 0), codes_before)
      << "no code exchanged";
  EXPECT_EQ(acting_as(), "alice");

  // The human chooses to switch: the connection moves, and an alert says so.
  TempDir switching;
  HttpResponse switched = CompleteConsent(link, switching, "bob", /*switch_account=*/true);
  EXPECT_EQ(switched.status, 200) << switched.body;
  EXPECT_THAT(switched.body, HasSubstr("(account id bob)"));
  EXPECT_EQ(acting_as(), "bob");
  EXPECT_THAT(Admin("GET", "/v1/alerts", admin).raw, HasSubstr("connection.account_changed"));
  EXPECT_EQ(Admin("GET", "/v1/connections/team", admin).Json()["account_id"], "bob");
}

// A caller without a valid credential cannot make the daemon read, buffer or wait for a
// body: the request is refused on its header (no 100 Continue), audited, and the
// connection closes. Each request below announces a body and sends none; the daemon would
// otherwise wait 30 s for it (read_timeout_ms).
TEST_F(AdversaryTest, ABodyIsNeverReadBeforeTheCallerIsAuthenticated) {
  StartOAuthServers();
  ImportGrant("work", "alice");
  const std::string key = CreateAgent("bot", {"work"});
  StartGateway();
  auto announce = [&](const std::string& target, const std::string& credential) {
    std::string request = "POST " + target +
                          " HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 900000\r\n"
                          "Expect: 100-continue\r\nContent-Type: application/json\r\n";
    if (!credential.empty()) request += "Authorization: Bearer " + credential + "\r\n";
    return RawExchange(port_, request + "\r\n", std::chrono::seconds(10));
  };
  for (const auto& [target, credential, status] : std::vector<std::tuple<std::string, std::string, int>>{
           {"/proxy/work/write", "", 401},
           {"/proxy/work/write", "lk_0000000000000000_forged-key-forged-key-forged-key-forged-ke", 401},
           {"/mcp", "", 401},
           {"/v1/agents", "lka_0000000000000000_forged", 401},
           {"/consent/anything", "", 401},
           {"/login", "", 413},
           {"/healthz", "", 413}}) {
    RawReply refused = announce(target, credential);
    EXPECT_EQ(refused.status, status) << target << "\n" << refused.raw << refused.error;
    EXPECT_EQ(refused.raw.find("100 Continue"), std::string::npos) << target;
    EXPECT_EQ(refused.Header("connection"), "close") << target;
  }
  // The refused proxy calls are audited like any other.
  json rows;
  for (int attempt = 0; attempt < 100 && rows.size() < 2; ++attempt) {
    rows = json::parse(MustRun({"audit", "--json", "--code", "agent_unauthenticated"}));
    if (rows.size() < 2) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  EXPECT_EQ(rows.size(), 2U) << rows.dump(1);
  // With the key, the body is read and the call goes through as before.
  RawReply allowed =
      Call("POST", "/proxy/work/__upload", key, R"({"a":1})", {{"Content-Type", "application/json"}});
  EXPECT_EQ(allowed.status, 200) << allowed.raw;
  EXPECT_EQ(allowed.Json()["bytes"], 7) << allowed.raw;
}

TEST_F(AdversaryTest, AMethodOverrideHeaderNeverSmugglesAForbiddenMethod) {
  StartOAuthServers();
  ImportGrant("work", "alice");
  AddKeyedProvider("method_override_header = \"X-HTTP-Method-Override\"\n");
  const std::string key = CreateAgent("bot", {"work:GET,POST", "keyed:GET,POST"});
  StartGateway();

  // A provider that declares none: every override header stays behind.
  RawReply echo = Call("POST", "/proxy/work/__echo/items/1", key, "{}",
                       {{"X-HTTP-Method-Override", "DELETE"},
                        {"X-HTTP-Method", "DELETE"},
                        {"x-method-override", "DELETE"},
                        {"Content-Type", "application/json"}});
  ASSERT_EQ(echo.status, 200) << echo.raw;
  const json seen = echo.Json()["headers"];
  EXPECT_FALSE(seen.contains("x-http-method-override")) << seen;
  EXPECT_FALSE(seen.contains("x-http-method")) << seen;
  EXPECT_FALSE(seen.contains("x-method-override")) << seen;
  EXPECT_EQ(echo.Json()["method"], "POST");

  // A provider that declares one: the method it names must be one the policy allows, and
  // a refused one never reaches the API.
  const long long before = ResourceRequests();
  for (const std::string& method : std::vector<std::string>{"DELETE", "delete", " PATCH "}) {
    RawReply refused =
        Call("POST", "/proxy/keyed/__echo/items/1", key, "{}", {{"X-HTTP-Method-Override", method}});
    EXPECT_EQ(refused.status, 403) << refused.raw;
    EXPECT_EQ(refused.Header("latchkey-error"), "policy_denied");
    std::string upper = method;
    std::erase(upper, ' ');
    for (char& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    EXPECT_EQ(refused.Json()["method"], upper) << refused.raw;
  }
  EXPECT_EQ(ResourceRequests(), before) << "a refused override reached the API";
  RawReply allowed =
      Call("POST", "/proxy/keyed/__echo/items/1", key, "{}", {{"X-HTTP-Method-Override", "GET"}});
  ASSERT_EQ(allowed.status, 200) << allowed.raw;
  EXPECT_EQ(allowed.Json()["headers"]["x-http-method-override"], "GET");
  EXPECT_EQ(allowed.Json()["headers"]["x-api-key"], "keyed-secret");
  // Its cousins are still stripped there: only the declared header is the API's.
  RawReply cousin = Call("POST", "/proxy/keyed/__echo/items/1", key, "{}", {{"X-HTTP-Method", "DELETE"}});
  ASSERT_EQ(cousin.status, 200) << cousin.raw;
  EXPECT_FALSE(cousin.Json()["headers"].contains("x-http-method"));
}

// An upstream that sends 103 Early Hints before its answer. latchkey took the 103 for the
// answer and pooled the connection with the real answer unread, so the next call on that
// connection (another agent's, on another connection to the same host) got it.
TEST_F(AdversaryTest, AfterAnEarlyHintsAnswerEveryCallGetsItsOwnAnswer) {
  StartOAuthServers();
  ImportGrant("work", "alice");
  AddKeyedProvider();
  const std::string first = CreateAgent("first", {"work:GET"});
  const std::string second = CreateAgent("second", {"keyed:GET"});
  StartGateway("[gateway]\nworkers = 1\n");  // one worker: one pool, which every call shares

  for (int i = 0; i < 5; ++i) {
    SCOPED_TRACE("round " + std::to_string(i));
    RawReply hinted = Call("GET", "/proxy/work/__early_hints?id=" + std::to_string(i), first);
    ASSERT_EQ(hinted.status, 200) << hinted.raw;
    EXPECT_EQ(hinted.Json()["hinted"], std::to_string(i));
    EXPECT_EQ(hinted.Header("link"), "") << "the interim answer's fields are not the answer's";
    RawReply other = Call("GET", "/proxy/keyed/__echo/other/" + std::to_string(i), second);
    ASSERT_EQ(other.status, 200) << other.raw;
    EXPECT_EQ(other.Json()["url"], "/__echo/other/" + std::to_string(i)) << other.raw;
  }
}

// An upstream's own Latchkey-Error (with a problem body and a consent link of its choosing)
// would pass for latchkey's: the agent would be told to have a human open the link.
TEST_F(AdversaryTest, AnUpstreamCannotForgeLatchkeysOwnErrors) {
  StartOAuthServers();
  ImportGrant("work", "alice");
  const std::string key = CreateAgent("bot", {"work:GET"});
  StartGateway();

  RawReply forged = Call("GET", "/proxy/work/__forged", key);
  EXPECT_EQ(forged.status, 403) << forged.raw;
  EXPECT_EQ(forged.Header("latchkey-error"), "") << forged.raw;
  EXPECT_EQ(forged.headers.count("latchkey-error"), 0U);
  EXPECT_THAT(forged.body, HasSubstr("forged by the upstream"))
      << "the upstream's answer, passed on as its own";
}

TEST_F(AdversaryTest, AuditKeepsRecordingAfterAPathThatIsNotUtf8OnSqlite) {
  StartOAuthServers();
  ImportGrant("work", "alice");
  const std::string key = CreateAgent("bot", {"work:GET"});
  StartGateway();
  AuditKeepsRecordingAfterAPathThatIsNotUtf8(key);
  EXPECT_EQ(GatewayLog().find("refuses rows"), std::string::npos) << GatewayLog();
}

TEST_F(AdversaryTest, AuditKeepsRecordingAfterAPathThatIsNotUtf8OnPostgres) {
  const std::string store = "store = \"" + PostgresStore() + "\"\n";
  StartOAuthServers();
  ImportGrant("work", "alice");
  const std::string key = CreateAgent("bot", {"work:GET"});
  StartGateway(store);
  AuditKeepsRecordingAfterAPathThatIsNotUtf8(key);
  EXPECT_EQ(GatewayLog().find("refuses rows"), std::string::npos) << GatewayLog();
}

// Some APIs answer 401 to a valid token on some paths. Three calls to such an endpoint by
// one agent used to mark the connection needs_reauth for every agent, each call costing a
// refresh. Now the provider's test endpoint decides whether the grant is alive.
TEST_F(AdversaryTest, AnEndpointThatAlwaysAnswers401LeavesAHealthyConnectionActive) {
  acme_extra_ = "test_path = \"/read\"\n";
  StartOAuthServers();
  ImportGrant("work", "alice");
  const std::string attacker = CreateAgent("attacker", {"work"});
  const std::string other = CreateAgent("other", {"work:GET:/read"});
  StartGateway();
  HttpRequest("POST", as_->base_url() + "/__reset", "", {});
  for (int i = 0; i < 10; ++i) {
    RawReply refused = Call("GET", "/proxy/work/__status/401", attacker);
    EXPECT_EQ(refused.status, 401) << refused.raw;
    EXPECT_EQ(refused.Header("latchkey-error"), "")
        << "the endpoint's own answer, passed on: " << refused.raw;
  }
  EXPECT_EQ(json::parse(MustRun({"--json", "connection", "show", "work"}))["status"], "active");
  EXPECT_LE(Stats(*as_)["refresh_requests"].get<int>(), 1) << "one refresh, then the token is known good";
  RawReply served = Call("GET", "/proxy/work/read", other);
  EXPECT_EQ(served.status, 200) << served.raw;
}

// A provider entry (from the CLI or the admin API) names the environment variable its client
// secret comes from, and its token endpoint receives the value: the master key must not be
// one of them, nor any variable the operator did not allow.
TEST_F(AdversaryTest, AProviderEntryCannotReadTheMasterKeyOrAnyVariableFromTheEnvironment) {
  StartOAuthServers();
  const std::string entry = "name = \"exfil\"\nauth = \"oauth2\"\nauthorization_url = \"" + as_->base_url() +
                            "/auth\"\ntoken_url = \"" + as_->base_url() +
                            "/token\"\nclient_id = \"agent-client\"\napi_base_url = \"" + rs_->base_url() +
                            "\"\n";
  for (const std::string& variable :
       std::vector<std::string>{"LATCHKEY_MASTER_KEY", "HOME", "PGPASSWORD", "LATCHKEY_ACME_CLIENT_SECRET"}) {
    RunResult added =
        Latchkey({"provider", "add", "--file", "-"}, entry + "client_secret = \"env:" + variable + "\"\n");
    EXPECT_EQ(added.exit_code, 2) << variable << ": " << added.out;
    EXPECT_THAT(added.err, HasSubstr("env:" + variable)) << added.err;
    EXPECT_THAT(added.err,
                HasSubstr(variable == "LATCHKEY_MASTER_KEY" ? "master key" : "env_secret_prefixes"))
        << added.err;
  }
  // Allowed: the default prefix, the entry's own LATCHKEY_<NAME>_CLIENT_SECRET, and any
  // prefix the operator lists in latchkey.toml.
  MustRun({"provider", "add", "--file", "-"}, entry + "client_secret = \"env:LATCHKEY_SECRET_EXFIL\"\n");
  MustRun({"provider", "add", "--file", "-"},
          entry + "client_secret = \"env:LATCHKEY_EXFIL_CLIENT_SECRET\"\n");
  MustRun({"provider", "add", "--file", "-"},
          entry + "client_secret = \"env:EXFIL_CLIENT_SECRET\"\n");  // SPEC §9's form
  WriteFile(data_dir() + "/latchkey.toml", "env_secret_prefixes = [\"ACME_\"]\n");
  MustRun({"provider", "add", "--file", "-"}, entry + "client_secret = \"env:ACME_SECRET\"\n");
  RunResult master =
      Latchkey({"provider", "add", "--file", "-"}, entry + "client_secret = \"env:LATCHKEY_MASTER_KEY\"\n");
  EXPECT_EQ(master.exit_code, 2) << "no setting opens the master key";
  WriteFile(data_dir() + "/latchkey.toml", "env_secret_prefixes = [\"\"]\n");
  RunResult open_all = Latchkey({"provider", "list"});
  EXPECT_EQ(open_all.exit_code, 2) << open_all.out;
  EXPECT_THAT(open_all.err, HasSubstr("env_secret_prefixes"));
  std::filesystem::remove(data_dir() + "/latchkey.toml");

  // The admin API refuses it the same way.
  StartGateway();
  RawReply refused =
      RawExchange(port_, BuildRequest("POST", "/v1/providers", {{"Authorization", "Bearer " + AdminToken()}},
                                      entry + "client_secret = \"env:LATCHKEY_MASTER_KEY\"\n"));
  EXPECT_EQ(refused.status, 400) << refused.raw;
  EXPECT_THAT(refused.body, HasSubstr("master key"));
}

// Whoever can add provider entries (the CLI's user, an admin-token holder) could repoint a
// provider that has connections: the next refresh would post their refresh tokens, and
// every call their access tokens, to a host of the changer's choosing. That now needs an
// explicit flag, is audited, and raises provider.changed.
TEST_F(AdversaryTest, RepointingAProviderThatHasConnectionsNeedsTheFlagAndIsAuditedAndAlerted) {
  StartOAuthServers();
  ImportGrant("work", "alice");
  const std::string original = MustRun({"provider", "show", "acme", "--json"});
  const std::string entry = "name = \"acme\"\nauth = \"oauth2\"\nauthorization_url = \"" + as_->base_url() +
                            "/auth\"\nclient_id = \"agent-client\"\nclient_secret = \"agent-secret\"\n"
                            "scopes = [\"openid\", \"offline_access\", \"api:read\"]\n";
  const std::string repointed =
      entry + "token_url = \"http://127.0.0.1:9/token\"\napi_base_url = \"http://127.0.0.1:9\"\n";

  RunResult refused = Latchkey({"provider", "add", "--file", "-"}, repointed);
  EXPECT_EQ(refused.exit_code, 1) << refused.out;
  EXPECT_THAT(refused.err, HasSubstr("is used by 1 connection(s) (work)"));
  EXPECT_THAT(refused.err, HasSubstr("token_url, api_base_url"));
  EXPECT_THAT(refused.err, HasSubstr("--change-endpoints"));
  EXPECT_EQ(MustRun({"provider", "show", "acme", "--json"}), original) << "nothing was stored";

  // A change that moves no endpoint needs no flag.
  MustRun({"provider", "add", "--file", "-"}, entry + "display_name = \"Acme Inc\"\ntoken_url = \"" +
                                                  as_->base_url() + "/token\"\napi_base_url = \"" +
                                                  rs_->base_url() + "\"\n");
  StartGateway();
  RawReply through_api = RawExchange(
      port_, BuildRequest("POST", "/v1/providers", {{"Authorization", "Bearer " + AdminToken()}}, repointed));
  EXPECT_EQ(through_api.status, 409) << through_api.raw;
  EXPECT_THAT(through_api.body, HasSubstr("change_endpoints=true"));

  RawReply changed =
      RawExchange(port_, BuildRequest("POST", "/v1/providers?change_endpoints=true",
                                      {{"Authorization", "Bearer " + AdminToken()}}, repointed));
  EXPECT_EQ(changed.status, 201) << changed.raw;
  const json audit = json::parse(MustRun({"audit", "--json", "--limit", "10"}));
  ASSERT_FALSE(audit.empty());
  EXPECT_EQ(audit[0]["code"], "provider_changed") << audit.dump(1);
  EXPECT_EQ(audit[0]["agent"], "admin-api");
  EXPECT_THAT(audit[0]["path"].get<std::string>(), HasSubstr("token_url, api_base_url"));
  gateway_->Stop(SIGTERM);
  SqlitePeek db(data_dir() + "/latchkey.db");
  EXPECT_EQ(db.Int("SELECT COUNT(*) FROM alert_outbox WHERE type = 'provider.changed'"), 1);
  EXPECT_EQ(db.Int("SELECT COUNT(*) FROM alert_outbox WHERE type = 'provider.changed' AND payload LIKE "
                   "'%\"connections\":\"work\"%'"),
            1);
}

// The master key leaves the environment once read: no child process inherits it, and
// /proc/PID/environ (the initial environment block) no longer holds it.
TEST_F(AdversaryTest, TheMasterKeyLeavesTheDaemonsEnvironmentOnceRead) {
  std::string master = MustRun({"key", "generate"});
  while (!master.empty() && master.back() == '\n') master.pop_back();
  ASSERT_GT(master.size(), 20U);
  StartGateway("", {{"LATCHKEY_MASTER_KEY", master}});
  const std::string environ = ReadFile("/proc/" + std::to_string(gateway_->pid()) + "/environ");
  EXPECT_THAT(environ, HasSubstr("PATH=")) << "the file was read";
  EXPECT_EQ(environ.find(master), std::string::npos) << "the master key is still in /proc/PID/environ";
  EXPECT_FALSE(std::filesystem::exists(data_dir() + "/master.key"))
      << "the key from the environment was used";
}

// The daemon's resident memory, in KiB (VmRSS).
long ResidentKib(int pid) {
  std::istringstream status(ReadFile("/proc/" + std::to_string(pid) + "/status"));
  for (std::string line; std::getline(status, line);) {
    if (line.starts_with("VmRSS:")) return std::stol(line.substr(6));
  }
  return -1;
}

// With 1,024 file descriptors (a usual limit for a service), 1,500 idle connections opened
// without any key stopped the daemon answering anything, /healthz included, until they
// closed. Now the oldest connection waiting for a request makes room for a new one.
TEST_F(AdversaryTest, TenThousandIdleConnectionsNeitherStopHealthzNorGrowMemoryPastTheBound) {
  gateway_wrapper_ = {"/usr/bin/prlimit", "--nofile=1024:1024"};
  StartGateway();
  EXPECT_THAT(GatewayLog(), HasSubstr("at most 448 client connections at once"));  // (1,024 − 128) / 2
  const long before_kib = ResidentKib(gateway_->pid());

  rlimit own{};
  ASSERT_EQ(::getrlimit(RLIMIT_NOFILE, &own), 0);
  own.rlim_cur = own.rlim_max;
  ASSERT_EQ(::setrlimit(RLIMIT_NOFILE, &own), 0);
  ASSERT_GE(own.rlim_cur, 10100U) << "this test holds 10,000 sockets: raise the hard limit on open files";
  std::vector<int> idle;
  sockaddr_in to{};
  to.sin_family = AF_INET;
  to.sin_port = htons(static_cast<uint16_t>(port_));
  to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(120);
  while (idle.size() < 10000 && std::chrono::steady_clock::now() < until) {
    const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    ASSERT_GE(fd, 0);
    // NOLINTNEXTLINE(cppcoreguidelines-pro-type-reinterpret-cast): the sockets API
    if (::connect(fd, reinterpret_cast<const sockaddr*>(&to), sizeof to) != 0) {
      ::close(fd);
      continue;
    }
    idle.push_back(fd);
  }
  EXPECT_EQ(idle.size(), 10000U);

  RawReply health = RawExchange(port_, BuildRequest("GET", "/healthz", {}, ""), std::chrono::seconds(10));
  EXPECT_EQ(health.status, 200) << health.raw << health.error;
  RawReply ready = RawExchange(port_, BuildRequest("GET", "/readyz", {}, ""), std::chrono::seconds(10));
  EXPECT_EQ(ready.status, 200) << ready.raw << ready.error;
  const long after_kib = ResidentKib(gateway_->pid());
  // README (Limits): each open connection costs the release daemon at most about 20 KiB.
  if (RunsTheBuiltBinary()) {
    EXPECT_LT(after_kib - before_kib, 448 * 20)
        << "before " << before_kib << " KiB, after " << after_kib << " KiB";
  }
  std::cout << "[ memory   ] " << before_kib << " KiB before, " << after_kib
            << " KiB with 10,000 idle connections\n";
  for (int fd : idle) ::close(fd);
  EXPECT_THAT(GatewayLog(), HasSubstr("the oldest waiting for a request make room"));
}

}  // namespace
}  // namespace latchkey::testing
