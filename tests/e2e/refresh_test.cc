// The OAuth engine end to end against the real authorization server (as.js, refresh
// token rotation on: reusing a consumed refresh token revokes the whole grant) and the
// fault injector (fault.js): rotation storms, revoked grants, and every fault kind.
#include <csignal>
#include <nlohmann/json.hpp>
#include <random>
#include <set>
#include <sstream>
#include <thread>

#include "common/clock.h"
#include "e2e/cli_fixture.h"
#include "e2e/sqlite_peek.h"
#include "support/oauth_flows.h"
#include "support/oauth_servers.h"

namespace latchkey::testing {
namespace {

using nlohmann::json;
using ::testing::HasSubstr;

std::string Provider(const std::string& name, const std::string& token_url) {
  return "name = \"" + name + "\"\nauth = \"oauth2\"\ntoken_url = \"" + token_url +
         "\"\nclient_id = \"agent-client\"\nclient_secret = \"agent-secret\"\n"
         "token_auth = \"client_secret_basic\"\napi_base_url = \"http://127.0.0.1:1\"\n";
}

std::string TokenDocument(const json& tokens, int expires_in) {
  json doc = tokens;
  doc["expires_in"] = expires_in;
  return doc.dump();
}

// Waits until an imported token with a 1 s lifetime is past its refresh point.
void WaitUntilStale() { std::this_thread::sleep_for(std::chrono::milliseconds(1200)); }

class RefreshTest : public CliTest {
 protected:
  void StartAuthorization(const EnvMap& env = {{"ROTATE", "1"}}) {
    as_ = StartAuthorizationServer(env);
    MustRun({"provider", "add", "--file", "-"}, Provider("acme", as_->base_url() + "/token"));
  }

  // A real grant for `user`, imported as connection `name` with an access token that
  // goes stale within a second.
  void ImportLiveGrant(const std::string& name, const std::string& user) {
    json tokens = AuthorizationCodeFlow(*as_, user);
    ASSERT_TRUE(tokens.contains("refresh_token")) << tokens.dump();
    MustRun({"connection", "import", name, "--provider", "acme"}, TokenDocument(tokens, 1));
    HttpRequest("POST", as_->base_url() + "/__reset", "", {});
  }

  long long Alerts(const std::string& type) {
    SqlitePeek db(data_dir() + "/latchkey.db");
    return db.Int("SELECT COUNT(*) FROM alert_outbox WHERE type = '" + type + "'");
  }

  json Show(const std::string& name) { return json::parse(MustRun({"--json", "connection", "show", name})); }

  std::unique_ptr<NodeServer> as_;
};

TEST_F(RefreshTest, RotationStormMakesExactlyOneRefreshAndEveryCallerGetsTheSameToken) {
  StartAuthorization();
  ImportLiveGrant("work", "storm-user");
  WaitUntilStale();

  // 4 processes × 50 threads, released together inside each process.
  constexpr int kProcesses = 4, kThreads = 50;
  std::vector<RunResult> results(kProcesses);
  std::vector<std::thread> launchers;
  for (int p = 0; p < kProcesses; ++p) {
    launchers.emplace_back([&, p] {
      results[p] =
          ::latchkey::testing::Run({TOKEN_STORM_BINARY, data_dir(), "work", std::to_string(kThreads)});
    });
  }
  for (auto& t : launchers) t.join();

  std::set<std::string> tokens;
  int callers = 0;
  for (const RunResult& r : results) {
    ASSERT_EQ(r.exit_code, 0) << r.err;
    std::istringstream lines(r.out);
    for (std::string line; std::getline(lines, line); ++callers) tokens.insert(line);
  }
  EXPECT_EQ(callers, kProcesses * kThreads);
  ASSERT_EQ(tokens.size(), 1u) << "every caller must get the same token; got e.g. " << *tokens.begin();
  json stats = Stats(*as_);
  EXPECT_EQ(stats["refresh_requests"], 1) << stats.dump();
  EXPECT_EQ(stats["reused_refresh_tokens"], 0) << stats.dump();

  // The token is valid at the server, and the stored refresh token is the rotated one:
  // a forced refresh works (a reused one would revoke the grant).
  auto rs = StartResourceServer(as_->base_url());
  HttpOptions bearer;
  bearer.headers.push_back("Authorization: Bearer " + *tokens.begin());
  HttpResponse read = HttpGet(rs->base_url() + "/read", bearer);
  EXPECT_EQ(read.status, 200) << read.body;
  MustRun({"connection", "refresh", "work"});
  EXPECT_EQ(Stats(*as_)["reused_refresh_tokens"], 0);
}

TEST_F(RefreshTest, GrantRevokedAtTheServerStopsAfterOneAttemptWithOneAlert) {
  StartAuthorization();
  ImportLiveGrant("work", "leaver");
  HttpRequest("POST", as_->base_url() + "/__revoke_grant?sub=leaver", "", {});
  WaitUntilStale();

  RunResult first = Latchkey({"token", "work"});
  EXPECT_EQ(first.exit_code, 3) << first.err;
  EXPECT_THAT(first.err, HasSubstr("needs re-consent"));
  EXPECT_THAT(first.err, HasSubstr("latchkey connect acme --name work"));
  EXPECT_TRUE(first.out.empty());
  const json after_first = Stats(*as_);
  EXPECT_EQ(after_first["refresh_requests"], 1);

  for (int i = 0; i < 100; ++i) {
    RunResult again = Latchkey({"token", "work"});
    ASSERT_EQ(again.exit_code, 3) << again.err;
  }
  EXPECT_EQ(Stats(*as_)["token_requests"], after_first["token_requests"]) << "terminal means stop";
  EXPECT_EQ(Alerts("connection.needs_reauth"), 1);
  EXPECT_EQ(Show("work")["status"], "needs_reauth");
  RunResult doctor = Latchkey({"doctor"});
  EXPECT_EQ(doctor.exit_code, 3);
  EXPECT_THAT(doctor.out, HasSubstr("needs_human"));
}

// One fault of fault.js per case: the refresh token's value picks the behaviour.
struct Fault {
  std::string refresh_token;
  int exit_code;        // of `latchkey token` with an expired access token
  std::string message;  // part of stderr (or "" for success)
  std::string status;   // connection status afterwards
  std::string health;   // "healthy" | "degraded" | status
};

class FaultTest : public CliTest, public ::testing::WithParamInterface<Fault> {};

void PrintTo(const Fault& f, std::ostream* os) { *os << f.refresh_token; }

TEST_P(FaultTest, IsClassifiedWithAClearMessage) {
  const Fault& fault = GetParam();
  auto server = StartFaultServer({{"RETRY_AFTER", "30"}, {"SLOW_MS", "5000"}, {"HUGE_BYTES", "10485760"}});
  WriteFile(data_dir() + "/latchkey.toml", "[oauth]\ntimeout_ms = 1500\n");
  MustRun({"provider", "add", "--file", "-"}, Provider("faulty", server->base_url() + "/token"));
  MustRun({"connection", "import", "c", "--provider", "faulty"},
          R"({"access_token":"old-at","refresh_token":")" + fault.refresh_token +
              R"(","expires_in":1,"scope":"api:read api:write"})");
  WaitUntilStale();

  RunResult r = Latchkey({"token", "c"});
  EXPECT_EQ(r.exit_code, fault.exit_code) << r.err;
  if (!fault.message.empty()) {
    EXPECT_THAT(r.err, HasSubstr(fault.message));
  }
  EXPECT_EQ(r.err.find(fault.refresh_token), std::string::npos) << "no token in messages";
  json shown = json::parse(MustRun({"--json", "connection", "show", "c"}));
  EXPECT_EQ(shown["status"], fault.status) << shown.dump();
  EXPECT_EQ(shown["health"], fault.health) << shown.dump();
  if (fault.exit_code == 0) {
    EXPECT_EQ(r.out.find("old-at"), std::string::npos) << "a refreshed token is printed";
    EXPECT_TRUE(shown["has_refresh_token"].get<bool>())
        << "the old refresh token is kept when none comes back";
  }
  if (fault.refresh_token == "fault-scope") {
    EXPECT_EQ(shown["scopes"], json::array({"api:read"})) << "the narrowed grant is stored";
  }
  if (fault.refresh_token == "fault-no-expires") {
    EXPECT_FALSE(shown["expires_at"].is_null()) << "a default lifetime is assumed";
  }
}

INSTANTIATE_TEST_SUITE_P(
    EveryFault, FaultTest,
    ::testing::Values(Fault{"fault-invalid_grant", 3, "needs re-consent", "needs_reauth", "needs_reauth"},
                      Fault{"fault-invalid_client", 3, "client id or secret", "active", "degraded"},
                      Fault{"fault-503", 1, "retry after 30 s", "active", "degraded"},
                      Fault{"fault-html", 1, "failed for now", "active", "degraded"},
                      Fault{"fault-slow", 1, "failed for now", "active", "degraded"},
                      Fault{"fault-nonjson", 1, "failed for now", "active", "degraded"},
                      Fault{"fault-huge", 1, "failed for now", "active", "degraded"},
                      Fault{"fault-no-expires", 0, "", "active", "healthy"},
                      Fault{"fault-expires-string", 0, "", "active", "healthy"},
                      Fault{"fault-no-rt", 0, "", "active", "healthy"},
                      Fault{"fault-scope", 0, "", "active", "healthy"}),
    [](const ::testing::TestParamInfo<Fault>& param_info) {
      std::string name = param_info.param.refresh_token.substr(6);
      for (char& c : name) {
        if (c == '-') c = '_';
      }
      return name;
    });

}  // namespace
}  // namespace latchkey::testing

namespace latchkey::testing {
namespace {

// SIGKILL at random points of a refresh, 20 times. Afterwards each connection either
// refreshes normally, or — when the kill fell between the server's rotation and the
// durable commit — ends in needs_reauth with a reason that says the refresh was
// interrupted. Never a retry loop, never a silently stale token.
TEST_F(RefreshTest, CrashMidRefreshLeavesEitherAWorkingOrAnHonestlyBrokenConnection) {
  StartAuthorization();
  constexpr int kRuns = 20;
  for (int i = 0; i <= kRuns; ++i)
    ImportLiveGrant("crash-" + std::to_string(i), "crash-user-" + std::to_string(i));
  WaitUntilStale();

  // Calibrate: how long one whole `latchkey token` with a refresh takes here.
  const auto started = std::chrono::steady_clock::now();
  MustRun({"token", "crash-" + std::to_string(kRuns)});
  const auto full =
      std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - started);
  HttpRequest("POST", as_->base_url() + "/__reset", "", {});

  std::mt19937 random(20261129);
  int refreshed_normally = 0, interrupted_in_window = 0, finished_before_kill = 0;
  for (int i = 0; i < kRuns; ++i) {
    const std::string name = "crash-" + std::to_string(i);
    const auto delay = std::chrono::microseconds(random() % static_cast<unsigned>(full.count() + 1));
    Background child({LatchkeyBinary(), "--data-dir", data_dir(), "token", name});
    std::this_thread::sleep_for(delay);
    int killed = child.Stop(SIGKILL);
    if (killed == 0) ++finished_before_kill;

    RunResult after = Latchkey({"token", name});
    if (after.exit_code == 0) {
      ++refreshed_normally;
      EXPECT_EQ(Show(name)["status"], "active");
    } else {
      EXPECT_EQ(after.exit_code, 3) << name << ": " << after.err;
      EXPECT_THAT(after.err, HasSubstr("interrupted")) << name << " broke without saying why: " << after.err;
      EXPECT_EQ(Show(name)["status"], "needs_reauth");
      ++interrupted_in_window;
      // Terminal means stop: asking again does not call the server.
      const json before = Stats(*as_);
      EXPECT_EQ(Latchkey({"token", name}).exit_code, 3);
      EXPECT_EQ(Stats(*as_)["token_requests"], before["token_requests"]);
    }
  }
  // Every reuse the server saw is one of the honestly reported interrupted refreshes.
  EXPECT_EQ(Stats(*as_)["reused_refresh_tokens"], interrupted_in_window);
  std::cout << "crash runs: " << refreshed_normally << " refreshed normally afterwards ("
            << finished_before_kill << " had finished before the kill), " << interrupted_in_window
            << " were killed between rotation and commit and ended in needs_reauth; one refresh took "
            << full.count() / 1000 << " ms\n";
  RecordProperty("refreshed_normally", refreshed_normally);
  RecordProperty("interrupted_in_window", interrupted_in_window);
  EXPECT_EQ(refreshed_normally + interrupted_in_window, kRuns);
}

}  // namespace
}  // namespace latchkey::testing

namespace latchkey::testing {
namespace {

// The daemon refreshes a token ahead of its expiry without any request asking for it.
TEST_F(RefreshTest, ServeRefreshesTokensBeforeTheyExpire) {
  StartAuthorization();
  json tokens = AuthorizationCodeFlow(*as_, "proactive-user");
  MustRun({"connection", "import", "work", "--provider", "acme"}, TokenDocument(tokens, 6));
  HttpRequest("POST", as_->base_url() + "/__reset", "", {});
  const std::string before = Show("work")["expires_at"];

  Background server({LatchkeyBinary(), "--data-dir", data_dir(), "serve", "--listen", "127.0.0.1:0"});
  // A 6 s token refreshes 3 s (half its lifetime, at most) before expiry, minus jitter.
  json stats;
  for (int i = 0; i < 100; ++i) {  // bounded: 10 s
    stats = Stats(*as_);
    if (stats["refresh_requests"] >= 1) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  EXPECT_EQ(stats["refresh_requests"], 1) << stats.dump() << ReadFile(server.stderr_path());
  EXPECT_EQ(stats["reused_refresh_tokens"], 0);
  EXPECT_NE(Show("work")["expires_at"], before) << "the new token is stored";
  EXPECT_EQ(server.Stop(SIGTERM), 0);
}

}  // namespace
}  // namespace latchkey::testing

namespace latchkey::testing {
namespace {

TEST_F(RefreshTest, DisconnectRevokesTheGrantAtTheProviderThenWipes) {
  StartAuthorization();
  MustRun({"provider", "add", "--file", "-"},
          "name = \"acme-revocable\"\nauth = \"oauth2\"\ntoken_url = \"" + as_->base_url() +
              "/token\"\nrevocation_url = \"" + as_->base_url() +
              "/token/revocation\"\nclient_id = \"agent-client\"\nclient_secret = \"agent-secret\"\n"
              "api_base_url = \"http://127.0.0.1:1\"\n");
  json tokens = AuthorizationCodeFlow(*as_, "disconnecting-user");
  MustRun({"connection", "import", "work", "--provider", "acme-revocable"}, TokenDocument(tokens, 3600));
  std::string out = MustRun({"connection", "disconnect", "work"});
  EXPECT_THAT(out, HasSubstr("the grant was revoked at the provider"));
  EXPECT_EQ(Stats(*as_)["revocations"], 1);
  // The refresh token is dead at the source.
  HttpOptions client;
  client.basic_auth = "agent-client:agent-secret";
  HttpResponse refresh =
      HttpPostForm(as_->base_url() + "/token",
                   {{"grant_type", "refresh_token"}, {"refresh_token", tokens["refresh_token"]}}, client);
  EXPECT_EQ(refresh.status, 400) << refresh.body;
  EXPECT_EQ(Show("work")["status"], "disconnected");
}

}  // namespace
}  // namespace latchkey::testing

namespace latchkey::testing {
namespace {

// as.js issues access tokens bound to the API resource, which its userinfo endpoint
// refuses: `connection test` must report that refusal as needing a human, after having
// refreshed the stale token first (never a silent success).
TEST_F(RefreshTest, ConnectionTestRefreshesThenReportsTheUserinfoAnswer) {
  StartAuthorization();
  MustRun({"provider", "add", "--file", "-"},
          "name = \"acme-oidc\"\nauth = \"oauth2\"\nissuer = \"" + as_->base_url() +
              "\"\nclient_id = \"agent-client\"\nclient_secret = \"agent-secret\"\n"
              "api_base_url = \"http://127.0.0.1:1\"\n");
  json tokens = AuthorizationCodeFlow(*as_, "tested-user");
  MustRun({"connection", "import", "work", "--provider", "acme-oidc"}, TokenDocument(tokens, 1));
  WaitUntilStale();
  RunResult tested = Latchkey({"connection", "test", "work"});
  EXPECT_EQ(tested.exit_code, 3) << tested.out << tested.err;
  EXPECT_THAT(tested.err, HasSubstr("at its userinfo endpoint (HTTP 401)"));
  EXPECT_EQ(Stats(*as_)["refresh_requests"], 1) << "the stale token was refreshed first";
  EXPECT_EQ(Show("work")["status"], "active") << "a refused userinfo call is not a revoked grant";
}

}  // namespace
}  // namespace latchkey::testing

namespace latchkey::testing {
namespace {

// Issue 22 must-show 1, on a scaled clock: oidc-provider gives each rotated refresh token
// 8 s (an idle lifetime) and each grant 30 s (an absolute one); latchkey's entry states
// the same. Two grants: "kept" lives in a data dir whose daemon runs (keep-alive), "idle"
// in one where nothing refreshes it.
//  - "idle" dies when forecast: doctor names the date ahead of it (exit 3), and a refresh
//    after it is refused by the server;
//  - "kept" outlives the idle limit by keep-alive refreshes, raises connection.expiring
//    once as its absolute end nears, and then dies at that end, as forecast.
// (The alert is counted in the outbox; its delivery is the dispatcher's, tested apart.)
TEST_F(RefreshTest, TheForecastMatchesWhatTheServerDoesAndAKeptAliveGrantOutlivesItsIdleLimit) {
  StartAuthorization({{"ROTATE", "1"}, {"AT_TTL", "120"}, {"RT_TTL", "8"}, {"GRANT_TTL", "30"}});
  const std::string rules = "refresh_token_idle_lifetime = \"8s\"\nrefresh_token_lifetime = \"30s\"\n";
  TempDir other;
  RunOptions in_other;
  in_other.unset_env = {"LATCHKEY_MASTER_KEY", "LATCHKEY_NEW_MASTER_KEY", "LATCHKEY_DATA_DIR"};
  auto idle_dir = [&](std::vector<std::string> args, const std::string& stdin_data = "") {
    args.insert(args.begin(), {LatchkeyBinary(), "--data-dir", other.path()});
    RunOptions options = in_other;
    options.stdin_data = stdin_data;
    return ::latchkey::testing::Run(args, options);
  };
  // "kept": this test's data dir, with the daemon; it warns 3 s ahead (under half the idle
  // lifetime, so a kept-alive grant's idle end never comes that near).
  MustRun({"provider", "add", "--file", "-"}, Provider("acme", as_->base_url() + "/token") + rules);
  WriteFile(data_dir() + "/latchkey.toml", "[alerts]\nexpiring_days = \"3s\"\n");
  MustRun({"connection", "import", "kept", "--provider", "acme"},
          TokenDocument(AuthorizationCodeFlow(*as_, "kept-user"), 120));
  // "idle": another data dir, no daemon; doctor there warns a minute ahead.
  ASSERT_EQ(idle_dir({"provider", "add", "--file", "-"}, Provider("acme", as_->base_url() + "/token") + rules)
                .exit_code,
            0);
  WriteFile(other.path() + "/latchkey.toml", "[alerts]\nexpiring_days = \"1m\"\n");
  ASSERT_EQ(idle_dir({"connection", "import", "idle", "--provider", "acme"},
                     TokenDocument(AuthorizationCodeFlow(*as_, "idle-user"), 120))
                .exit_code,
            0);
  const auto imported = std::chrono::system_clock::now();

  Background server({LatchkeyBinary(), "--data-dir", data_dir(), "serve", "--listen", "127.0.0.1:0"});

  // The idle grant's forecast: 8 s after its import, by the provider's idle rule.
  json idle = json::parse(idle_dir({"--json", "connection", "show", "idle"}).out);
  EXPECT_EQ(idle["refresh_expiry_source"], "provider_rule");
  const std::string idle_end = idle["refresh_expires_at"];
  RunResult doctor = idle_dir({"doctor"});
  EXPECT_EQ(doctor.exit_code, 3) << doctor.out << doctor.err;
  EXPECT_THAT(doctor.out, HasSubstr("forecast to stop working at " + idle_end));

  // Past the idle limit (bounded wait: 11 s after the imports).
  std::this_thread::sleep_until(imported + std::chrono::seconds(11));
  ASSERT_LT(idle_end, FormatRfc3339(std::chrono::system_clock::now())) << "the forecast end has passed";
  RunResult dead = idle_dir({"connection", "refresh", "idle"});
  EXPECT_EQ(dead.exit_code, 3) << "the server refused the idle refresh token, as forecast: " << dead.err;
  EXPECT_THAT(dead.err, HasSubstr("needs re-consent"));

  RunResult kept = Latchkey({"connection", "refresh", "kept"});
  EXPECT_EQ(kept.exit_code, 0) << "kept alive past the idle limit: " << kept.err
                               << ReadFile(server.stderr_path());
  json shown = Show("kept");
  EXPECT_EQ(shown["status"], "active");
  const std::string kept_end = shown["refresh_expires_at"];

  // The absolute end nears: connection.expiring comes 3 s ahead of it (keep-alives stop
  // once the absolute end is the nearer one: a refresh cannot move it). Bounded: 40 s
  // after the imports.
  const auto give_up = imported + std::chrono::seconds(40);
  while (std::chrono::system_clock::now() < give_up && Alerts("connection.expiring") == 0) {
    std::this_thread::sleep_for(std::chrono::milliseconds(250));
  }
  ASSERT_EQ(Alerts("connection.expiring"), 1) << ReadFile(server.stderr_path());
  SqlitePeek db(data_dir() + "/latchkey.db");
  const std::vector<unsigned char> payload =
      db.Blob("SELECT payload FROM alert_outbox WHERE type = 'connection.expiring'");
  json alert = json::parse(std::string(payload.begin(), payload.end()));
  EXPECT_EQ(alert["connection"], "kept");
  EXPECT_EQ(alert["refresh_expiry_source"], "provider_rule");
  const std::string absolute_end = alert["refresh_expires_at"];
  EXPECT_LT(alert["at"].get<std::string>(), absolute_end) << "ahead of the end";
  EXPECT_THAT(alert.value("reconnect_url", ""), HasSubstr("/consent/"));
  EXPECT_LE(kept_end, absolute_end);

  // Past the absolute end the server refuses the grant, as forecast.
  std::this_thread::sleep_until(imported + std::chrono::seconds(31));
  ASSERT_LT(absolute_end, FormatRfc3339(std::chrono::system_clock::now()));
  RunResult ended = Latchkey({"connection", "refresh", "kept"});
  EXPECT_EQ(ended.exit_code, 3) << ended.err;
  shown = Show("kept");
  EXPECT_EQ(shown["status"], "needs_reauth");
  EXPECT_EQ(Alerts("connection.expiring"), 1) << "once per forecast";
  EXPECT_GE(Stats(*as_)["refresh_requests"].get<int>(), 5) << "keep-alives every 4 s or so";
  EXPECT_EQ(Stats(*as_)["reused_refresh_tokens"], 0);
  EXPECT_EQ(server.Stop(SIGTERM), 0);
}

}  // namespace
}  // namespace latchkey::testing
