#include "vault/consent_flow.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <map>

#include "oauth/fake_http_client.h"
#include "oauth/form_encoding.h"
#include "oauth/pkce.h"
#include "vault/vault_test_support.h"

namespace latchkey::vault {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

constexpr char kTokenUrl[] = "https://id.acme.example/token";
constexpr char kDeviceUrl[] = "https://id.acme.example/device";
constexpr char kRedirect[] = "http://127.0.0.1:49152/callback";
constexpr char kTokens[] =
    R"({"access_token":"at-1","refresh_token":"rt-1","expires_in":3600,"token_type":"Bearer","scope":"openid api:read"})";

constexpr char kProvider[] = R"(
name = "acme"
auth = "oauth2"
issuer = "https://id.acme.example"
authorization_url = "https://id.acme.example/authorize"
token_url = "https://id.acme.example/token"
device_authorization_url = "https://id.acme.example/device"
client_id = "acme-client"
client_secret = "acme-secret"
scopes = ["openid", "offline_access", "api:read"]
api_base_url = "https://api.acme.example"

[authorization_params]
access_type = "offline"
prompt = "consent"
)";

AuthorizationCallback MakeCallback(std::string state, std::string code, std::string iss = "",
                                   std::string error = "", std::string description = "") {
  AuthorizationCallback callback;
  callback.state = std::move(state);
  callback.code = SecretString(std::move(code));
  callback.iss = std::move(iss);
  callback.error = std::move(error);
  callback.error_description = std::move(description);
  return callback;
}

std::map<std::string, std::string> Query(const std::string& url_or_body) {
  std::string_view query = url_or_body;
  if (auto q = query.find('?'); q != std::string_view::npos) query.remove_prefix(q + 1);
  auto pairs = oauth::ParseFormEncoded(query);
  EXPECT_TRUE(pairs.has_value()) << url_or_body;
  std::map<std::string, std::string> out;
  if (pairs) out.insert(pairs->begin(), pairs->end());
  return out;
}

class ConsentFlowTest : public VaultTest {
 protected:
  void SetUp() override {
    VaultTest::SetUp();
    ASSERT_TRUE(vault_->providers().Add(kProvider, "acme.toml").ok());
    clients_ = std::make_unique<OAuthClients>(vault_->providers(), http_, clock_);
    flows_ = std::make_unique<ConsentFlows>(*vault_, *clients_, clock_, SystemRandom::Instance());
  }

  AuthorizationStart Begin(const std::vector<std::string>& scopes = {}) {
    auto start = flows_->BeginAuthorization("acme", "work", scopes, kRedirect);
    EXPECT_TRUE(start.ok()) << start.status().ToString();
    return start.ok() ? *start : AuthorizationStart{};
  }

  // The browser (or CLI) that began the flow comes back: it holds the binding secret.
  static AuthorizationCallback Callback(const AuthorizationStart& start) {
    AuthorizationCallback callback = MakeCallback(start.state, "code-1", "https://id.acme.example");
    callback.binding = start.binding;
    return callback;
  }

  std::size_t TokenRequests() const {
    std::size_t n = 0;
    for (const auto& r : http_.requests()) n += r.url == kTokenUrl ? 1 : 0;
    return n;
  }

  // Runs the device flow with a fake sleep that records each wait and advances the clock.
  StatusOr<store::ConnectionRecord> RunDevice() {
    return flows_->RunDeviceFlow(
        "acme", "work", {}, [this](const oauth::DeviceAuthorization& d) { shown_code_ = d.user_code; },
        [this](Duration d) {
          sleeps_.push_back(std::chrono::duration_cast<std::chrono::seconds>(d));
          clock_.Advance(d);
        });
  }

  oauth::FakeHttpClient http_;
  std::unique_ptr<OAuthClients> clients_;
  std::unique_ptr<ConsentFlows> flows_;
  std::vector<std::chrono::seconds> sleeps_;
  std::string shown_code_;
};

TEST_F(ConsentFlowTest, ConsentBeginBuildsAuthorizationUrl) {
  AuthorizationStart start = Begin();
  ASSERT_THAT(start.url, ::testing::StartsWith("https://id.acme.example/authorize?"));
  auto q = Query(start.url);
  EXPECT_EQ(q["response_type"], "code");
  EXPECT_EQ(q["client_id"], "acme-client");
  EXPECT_EQ(q["redirect_uri"], kRedirect);
  EXPECT_EQ(q["scope"], "openid offline_access api:read");
  EXPECT_EQ(q["state"], start.state);
  EXPECT_EQ(q["code_challenge_method"], "S256");
  EXPECT_EQ(q["code_challenge"].size(), 43U);
  EXPECT_FALSE(q["nonce"].empty());  // "openid" was asked for
  EXPECT_EQ(q["access_type"], "offline");
  EXPECT_EQ(q["prompt"], "consent");
  EXPECT_EQ(start.expires_at, clock_.Now() + kPendingAuthorizationLifetime);
  // The store keys the row by the hash of state, never by the state itself.
  EXPECT_EQ(vault_->store().ConsumePendingAuthorization(start.state, clock_.Now()).status().code(),
            StatusCode::kNotFound);
}

TEST_F(ConsentFlowTest, ConsentNoNonceWithoutOpenid) {
  auto q = Query(Begin({"api:read"}).url);
  EXPECT_EQ(q["scope"], "api:read");
  EXPECT_EQ(q.count("nonce"), 0U);
}

TEST_F(ConsentFlowTest, ConsentCompleteExchangesCodeWithVerifierAndStoresGrant) {
  AuthorizationStart start = Begin();
  std::string challenge = Query(start.url)["code_challenge"];
  http_.Respond(kTokenUrl, 200, kTokens);
  auto connection = flows_->CompleteAuthorization(Callback(start));
  ASSERT_TRUE(connection.ok()) << connection.status().ToString();
  EXPECT_EQ(connection->name, "work");
  EXPECT_EQ(connection->provider, "acme");
  EXPECT_EQ(connection->status, store::ConnectionStatus::kActive);
  EXPECT_EQ(connection->kind, store::CredentialKind::kOAuth2);
  EXPECT_TRUE(connection->refresh_token.has_value());
  EXPECT_THAT(connection->scopes, ElementsAre("openid", "api:read"));

  auto body = Query(std::string(http_.last_request().body.reveal()));
  EXPECT_EQ(body["grant_type"], "authorization_code");
  EXPECT_EQ(body["code"], "code-1");
  EXPECT_EQ(body["redirect_uri"], kRedirect);
  EXPECT_EQ(oauth::S256Challenge(body["code_verifier"]), challenge);

  auto secrets = vault_->connections().ReadSecrets(*connection);
  ASSERT_TRUE(secrets.ok());
  EXPECT_EQ(secrets->refresh_token.reveal(), "rt-1");
}

TEST_F(ConsentFlowTest, ConsentStateIsSingleUse) {
  AuthorizationStart start = Begin();
  http_.Respond(kTokenUrl, 200, kTokens);
  ASSERT_TRUE(flows_->CompleteAuthorization(Callback(start)).ok());
  auto again = flows_->CompleteAuthorization(Callback(start));
  EXPECT_EQ(again.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_THAT(again.status().message(), HasSubstr("already used"));
  EXPECT_EQ(TokenRequests(), 1U);
}

TEST_F(ConsentFlowTest, ConsentUnknownStateIsRefused) {
  Begin();
  auto done = flows_->CompleteAuthorization(MakeCallback("forged", "c"));
  EXPECT_EQ(done.status().code(), StatusCode::kNotFound);
  EXPECT_EQ(TokenRequests(), 0U);
}

TEST_F(ConsentFlowTest, ConsentExpiredPendingIsRefused) {
  AuthorizationStart start = Begin();
  clock_.Advance(kPendingAuthorizationLifetime + std::chrono::seconds(1));
  auto done = flows_->CompleteAuthorization(Callback(start));
  EXPECT_EQ(done.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_THAT(done.status().message(), HasSubstr("expired"));
  EXPECT_EQ(TokenRequests(), 0U);
}

TEST_F(ConsentFlowTest, ConsentWrongIssuerIsRefused) {
  AuthorizationStart start = Begin();
  AuthorizationCallback callback = Callback(start);
  callback.iss = "https://evil.example";
  auto done = flows_->CompleteAuthorization(callback);
  EXPECT_EQ(done.status().code(), StatusCode::kPermissionDenied);
  EXPECT_THAT(done.status().message(), HasSubstr("mix-up"));
  EXPECT_EQ(TokenRequests(), 0U);
  EXPECT_EQ(vault_->connections().Get("work").status().code(), StatusCode::kNotFound);
}

// The acme entry names its endpoints, so nothing says its server sends `iss` (RFC 9207).
TEST_F(ConsentFlowTest, ConsentMissingIssIsAcceptedWhenTheServerDoesNotPromiseIt) {
  AuthorizationStart start = Begin();
  http_.Respond(kTokenUrl, 200, kTokens);
  AuthorizationCallback callback = Callback(start);
  callback.iss.clear();
  EXPECT_TRUE(flows_->CompleteAuthorization(callback).ok());
}

TEST_F(ConsentFlowTest, ConsentMissingIssIsRefusedWhenTheServerPromisesIt) {
  ASSERT_TRUE(vault_->providers()
                  .Add("name = \"beta\"\nauth = \"oauth2\"\nissuer = \"https://id.beta.example\"\n"
                       "client_id = \"beta-client\"\nclient_secret = \"s\"\nscopes = [\"api:read\"]\n"
                       "api_base_url = \"https://api.beta.example\"\n",
                       "beta.toml")
                  .ok());
  http_.Respond("https://id.beta.example/.well-known/oauth-authorization-server", 200,
                R"({"issuer":"https://id.beta.example","authorization_endpoint":"https://id.beta.example/a",
                    "token_endpoint":"https://id.beta.example/t",
                    "authorization_response_iss_parameter_supported":true})");
  auto start = flows_->BeginAuthorization("beta", "b", {}, kRedirect);
  ASSERT_TRUE(start.ok()) << start.status().ToString();
  AuthorizationCallback callback = MakeCallback(start->state, "code-1");
  callback.binding = start->binding;
  auto done = flows_->CompleteAuthorization(callback);
  EXPECT_EQ(done.status().code(), StatusCode::kPermissionDenied);
  EXPECT_THAT(done.status().message(), HasSubstr("has no 'iss' parameter"));
  EXPECT_EQ(vault_->connections().Get("b").status().code(), StatusCode::kNotFound);
}

// A `state` that reached someone else (an agent, a log) is worth nothing without the
// secret the flow's starter kept: the callback stores nothing and asks no token.
TEST_F(ConsentFlowTest, ConsentCallbackWithoutTheStartersBindingStoresNothing) {
  for (const std::string binding : {"", "someone-elses-secret"}) {
    AuthorizationStart start = Begin();
    http_.Respond(kTokenUrl, 200, kTokens);
    AuthorizationCallback callback = Callback(start);
    callback.binding = SecretString(binding);
    auto done = flows_->CompleteAuthorization(callback);
    EXPECT_EQ(done.status().code(), StatusCode::kPermissionDenied) << binding;
    EXPECT_THAT(done.status().message(), HasSubstr("did not come from the browser")) << binding;
    EXPECT_EQ(TokenRequests(), 0U) << binding;
    EXPECT_EQ(vault_->connections().Get("work").status().code(), StatusCode::kNotFound) << binding;
  }
}

TEST_F(ConsentFlowTest, ConsentErrorCallbackIsRefusedWithASentence) {
  AuthorizationStart start = Begin();
  AuthorizationCallback refused = MakeCallback(start.state, "", "", "access_denied", "User said no\n");
  refused.binding = start.binding;
  auto done = flows_->CompleteAuthorization(refused);
  EXPECT_EQ(done.status().code(), StatusCode::kNeedsHuman);
  EXPECT_THAT(done.status().message(), HasSubstr("consent was denied for connection 'work' (User said no)"));
  EXPECT_EQ(TokenRequests(), 0U);
  // The pending authorization is spent either way.
  http_.Respond(kTokenUrl, 200, kTokens);
  EXPECT_FALSE(flows_->CompleteAuthorization(Callback(start)).ok());
}

TEST_F(ConsentFlowTest, ConsentRejectedCodeIsReported) {
  AuthorizationStart start = Begin();
  http_.Respond(kTokenUrl, 400, R"({"error":"invalid_grant","error_description":"code expired"})");
  auto done = flows_->CompleteAuthorization(Callback(start));
  EXPECT_EQ(done.status().code(), StatusCode::kNeedsHuman);
  EXPECT_THAT(done.status().message(), HasSubstr("exchanging the authorization code"));
  EXPECT_THAT(done.status().message(), ::testing::Not(HasSubstr("code-1")));
}

TEST_F(ConsentFlowTest, ConsentDeviceFlowPendingSlowDownSuccess) {
  http_.Respond(
      kDeviceUrl, 200,
      R"({"device_code":"dev-1","user_code":"ABCD-EFGH","verification_uri":"https://id.acme.example/activate",
                    "expires_in":600,"interval":5})");
  http_.Respond(kTokenUrl, 400, R"({"error":"authorization_pending"})");
  http_.Respond(kTokenUrl, 400, R"({"error":"slow_down"})");
  http_.Respond(kTokenUrl, 400, R"({"error":"authorization_pending"})");
  http_.Respond(kTokenUrl, 200, kTokens);
  auto connection = RunDevice();
  ASSERT_TRUE(connection.ok()) << connection.status().ToString();
  EXPECT_EQ(shown_code_, "ABCD-EFGH");
  using std::chrono::seconds;
  EXPECT_THAT(sleeps_, ElementsAre(seconds(5), seconds(5), seconds(10), seconds(10)));
  EXPECT_EQ(TokenRequests(), 4U);  // nothing after the success
  EXPECT_EQ(connection->status, store::ConnectionStatus::kActive);
  EXPECT_TRUE(connection->refresh_token.has_value());
  auto body = Query(std::string(http_.last_request().body.reveal()));
  EXPECT_EQ(body["grant_type"], "urn:ietf:params:oauth:grant-type:device_code");
  EXPECT_EQ(body["device_code"], "dev-1");
}

TEST_F(ConsentFlowTest, ConsentDeviceFlowExpiredToken) {
  http_.Respond(kDeviceUrl, 200,
                R"({"device_code":"d","user_code":"U","verification_uri":"https://x.example/a",
                    "expires_in":600,"interval":5})");
  http_.Respond(kTokenUrl, 400, R"({"error":"authorization_pending"})");
  http_.Respond(kTokenUrl, 400, R"({"error":"expired_token"})");
  auto done = RunDevice();
  EXPECT_EQ(done.status().code(), StatusCode::kDeadlineExceeded);
  EXPECT_THAT(done.status().message(), HasSubstr("expired"));
  EXPECT_EQ(TokenRequests(), 2U);
}

TEST_F(ConsentFlowTest, ConsentDeviceFlowAccessDenied) {
  http_.Respond(kDeviceUrl, 200,
                R"({"device_code":"d","user_code":"U","verification_uri":"https://x.example/a",
                    "expires_in":600,"interval":5})");
  http_.Respond(kTokenUrl, 400, R"({"error":"access_denied"})");
  auto done = RunDevice();
  EXPECT_EQ(done.status().code(), StatusCode::kNeedsHuman);
  EXPECT_THAT(done.status().message(), HasSubstr("consent was denied"));
  EXPECT_EQ(TokenRequests(), 1U);
  EXPECT_EQ(vault_->connections().Get("work").status().code(), StatusCode::kNotFound);
}

TEST_F(ConsentFlowTest, ConsentDeviceFlowIsBoundedByExpiresIn) {
  http_.Respond(kDeviceUrl, 200,
                R"({"device_code":"d","user_code":"U","verification_uri":"https://x.example/a",
                    "expires_in":30,"interval":5})");
  http_.Respond(kTokenUrl, 400, R"({"error":"authorization_pending"})");
  auto done = RunDevice();
  EXPECT_EQ(done.status().code(), StatusCode::kDeadlineExceeded);
  EXPECT_EQ(TokenRequests(), 6U);  // 30 s / 5 s, and not one more
}

TEST_F(ConsentFlowTest, ConsentClientCredentialsStoresKind) {
  http_.Respond(kTokenUrl, 200, R"({"access_token":"cc-1","expires_in":300,"token_type":"Bearer"})");
  auto connection = flows_->ObtainClientCredentials("acme", "m2m", {"api:read"});
  ASSERT_TRUE(connection.ok()) << connection.status().ToString();
  EXPECT_EQ(connection->kind, store::CredentialKind::kClientCredentials);
  EXPECT_FALSE(connection->refresh_token.has_value());
  EXPECT_THAT(connection->scopes, ElementsAre("api:read"));
  auto body = Query(std::string(http_.last_request().body.reveal()));
  EXPECT_EQ(body["grant_type"], "client_credentials");
  EXPECT_EQ(body["scope"], "api:read");
}

// An entry repointed while a consent is pending (it has no connection yet, so no flag is
// needed to change it) never receives that consent's code, verifier or client secret.
TEST_F(ConsentFlowTest, AProviderRepointedDuringAConsentNeverGetsItsCode) {
  AuthorizationStart start = Begin();
  std::string repointed = kProvider;
  repointed.replace(repointed.find("https://id.acme.example/token"),
                    std::string("https://id.acme.example/token").size(), "https://evil.example/token");
  ASSERT_TRUE(vault_->providers().Add(repointed, "acme.toml").ok());
  http_.Respond("https://evil.example/token", 200, kTokens);
  auto done = flows_->CompleteAuthorization(Callback(start));
  EXPECT_EQ(done.status().code(), StatusCode::kPermissionDenied);
  EXPECT_THAT(done.status().message(), HasSubstr("was changed (its endpoints) after the consent"));
  EXPECT_EQ(http_.request_count(), 0U) << "nothing sent anywhere";
  EXPECT_EQ(vault_->connections().Get("work").status().code(), StatusCode::kNotFound);
}

// A provider whose identity endpoint (userinfo_url) says which account a token is for.
class AccountConsentTest : public ConsentFlowTest {
 protected:
  static constexpr char kUserinfo[] = "https://id.acme.example/userinfo";
  static constexpr char kRevoke[] = "https://id.acme.example/revoke";

  void SetUp() override {
    ConsentFlowTest::SetUp();
    std::string entry = kProvider;
    entry.replace(
        entry.find("client_id"), 0,
        std::string("userinfo_url = \"") + kUserinfo + "\"\nrevocation_url = \"" + kRevoke + "\"\n");
    ASSERT_TRUE(vault_->providers().Add(entry, "acme.toml").ok());
    http_.Respond(kRevoke, 200, "");
  }

  // One consent as `account` (the identity endpoint's `sub`), the human having chosen
  // "switch account" or not.
  StatusOr<store::ConnectionRecord> ConsentAs(const std::string& account, bool allow_switch = false,
                                              const std::string& refresh_token = "") {
    ConsentOptions options;
    options.allow_account_switch = allow_switch;
    options.asked_by = "claude";
    auto start = flows_->BeginAuthorization("acme", "work", {}, kRedirect, options);
    EXPECT_TRUE(start.ok()) << start.status().ToString();
    if (!start.ok()) return start.status();
    http_.Clear(kTokenUrl);
    http_.Clear(kUserinfo);
    http_.Respond(kTokenUrl, 200,
                  R"({"access_token":"at-)" + account + R"(","refresh_token":")" +
                      (refresh_token.empty() ? "rt-" + account : refresh_token) +
                      R"(","expires_in":3600,"token_type":"Bearer"})");
    if (account.empty()) {
      http_.Respond(kUserinfo, 503, "busy");
    } else {
      http_.Respond(kUserinfo, 200,
                    R"({"sub":")" + account + R"(","email":")" + account + R"(@example.com"})");
    }
    return flows_->CompleteAuthorization(Callback(*start));
  }

  std::size_t Revocations() const {
    std::size_t n = 0;
    for (const auto& r : http_.requests()) n += r.url == kRevoke ? 1 : 0;
    return n;
  }

  std::size_t AlertsOfType(const std::string& type) {
    auto alerts = vault_->store().ListAlerts(100);
    EXPECT_TRUE(alerts.ok());
    std::size_t n = 0;
    for (const auto& alert : alerts.ok() ? *alerts : std::vector<store::AlertEvent>{})
      n += alert.type == type;
    return n;
  }
};

TEST_F(AccountConsentTest, TheFirstConsentRecordsTheAccount) {
  auto connection = ConsentAs("alice");
  ASSERT_TRUE(connection.ok()) << connection.status().ToString();
  EXPECT_EQ(connection->account_id, "alice");
  EXPECT_EQ(connection->account, "alice@example.com");
  // The identity endpoint was asked with the new access token.
  bool asked = false;
  for (const auto& r : http_.requests()) {
    asked =
        asked || (r.url == kUserinfo && r.method == "GET" && r.authorization.reveal() == "Bearer at-alice");
  }
  EXPECT_TRUE(asked);
}

TEST_F(AccountConsentTest, AReconsentAsAnotherAccountStoresNothingAndRevokesTheNewGrant) {
  ASSERT_TRUE(ConsentAs("alice").ok());
  auto taken = ConsentAs("mallory");
  EXPECT_EQ(taken.status().code(), StatusCode::kPermissionDenied);
  EXPECT_THAT(taken.status().message(), HasSubstr("came back as account mallory@example.com (id mallory)"));
  EXPECT_THAT(taken.status().message(), HasSubstr("belongs to alice@example.com (id alice)"));
  EXPECT_THAT(taken.status().message(), HasSubstr("the grant was revoked at the provider"));
  EXPECT_EQ(Revocations(), 1U);
  EXPECT_THAT(std::string(http_.last_request().body.reveal()), HasSubstr("token=rt-mallory"));
  auto kept = vault_->connections().Get("work");
  ASSERT_TRUE(kept.ok());
  EXPECT_EQ(kept->account_id, "alice");
  auto secrets = vault_->connections().ReadSecrets(*kept);
  ASSERT_TRUE(secrets.ok());
  EXPECT_EQ(secrets->refresh_token.reveal(), "rt-alice");
  EXPECT_EQ(AlertsOfType("connection.account_changed"), 0U);
}

TEST_F(AccountConsentTest, AReconsentAsTheSameAccountReplacesTheGrant) {
  ASSERT_TRUE(ConsentAs("alice").ok());
  auto again = ConsentAs("alice");
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  EXPECT_EQ(Revocations(), 0U);
  EXPECT_EQ(AlertsOfType("connection.account_changed"), 0U);
}

TEST_F(AccountConsentTest, SwitchingAccountsIsTheHumansChoiceAndRaisesAnAlert) {
  ASSERT_TRUE(ConsentAs("alice").ok());
  auto switched = ConsentAs("bob", /*allow_switch=*/true);
  ASSERT_TRUE(switched.ok()) << switched.status().ToString();
  EXPECT_EQ(switched->account_id, "bob");
  EXPECT_EQ(switched->account, "bob@example.com");
  EXPECT_EQ(Revocations(), 0U);
  ASSERT_EQ(AlertsOfType("connection.account_changed"), 1U);
  auto alerts = vault_->store().ListAlerts(1);
  ASSERT_TRUE(alerts.ok());
  EXPECT_THAT(alerts->front().payload, HasSubstr("alice@example.com (id alice)"));
  EXPECT_THAT(alerts->front().payload, HasSubstr("bob@example.com (id bob)"));
}

TEST_F(AccountConsentTest, AnAccountThatCannotBeConfirmedDoesNotReplaceAKnownOne) {
  ASSERT_TRUE(ConsentAs("alice").ok());
  auto start = flows_->BeginAuthorization("acme", "work", {}, kRedirect);
  ASSERT_TRUE(start.ok());
  http_.Clear(kTokenUrl);
  http_.Clear(kUserinfo);
  http_.Respond(kTokenUrl, 200, R"({"access_token":"at-x","refresh_token":"rt-x","expires_in":3600})");
  http_.Respond(kUserinfo, 503, "busy");
  auto done = flows_->CompleteAuthorization(Callback(*start));
  EXPECT_EQ(done.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_THAT(done.status().message(), HasSubstr("could not be confirmed"));
  EXPECT_THAT(done.status().message(), HasSubstr("answered HTTP 503"));
  EXPECT_THAT(done.status().message(), HasSubstr("the new grant was not revoked"));
  EXPECT_EQ(vault_->connections().Get("work")->account_id, "alice");
  EXPECT_EQ(Revocations(), 0U) << "it may be alice's own grant: revoking it could end the stored one";
}

// A connection whose account latchkey never learned (an identity endpoint that was down,
// a connection from an earlier version) cannot be taken over silently either: any new
// grant needs the human's "switch account", and learning the account raises the alert.
TEST_F(AccountConsentTest, AConnectionOfUnknownAccountTakesANewGrantOnlyWithTheSwitch) {
  ASSERT_TRUE(ConsentAs("").ok());  // the first consent: the identity endpoint was down
  ASSERT_EQ(vault_->connections().Get("work")->account_id, "");
  auto refused = ConsentAs("mallory");
  EXPECT_EQ(refused.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_THAT(refused.status().message(),
              HasSubstr("does not know which account connection 'work' belongs to"));
  EXPECT_EQ(Revocations(), 0U);
  auto accepted = ConsentAs("alice", /*allow_switch=*/true);
  ASSERT_TRUE(accepted.ok()) << accepted.status().ToString();
  EXPECT_EQ(accepted->account_id, "alice");
  EXPECT_EQ(AlertsOfType("connection.account_changed"), 1U);
}

// Slack answers a re-install with the bot token it already gave: revoking the refused
// grant would end the connection's own.
TEST_F(AccountConsentTest, ARefusedGrantHoldingTheStoredTokenIsNotRevoked) {
  ASSERT_TRUE(ConsentAs("alice").ok());
  auto taken = ConsentAs("mallory", false, "rt-alice");
  EXPECT_EQ(taken.status().code(), StatusCode::kPermissionDenied);
  EXPECT_THAT(taken.status().message(), HasSubstr("not revoked: it holds the connection's own token"));
  EXPECT_EQ(Revocations(), 0U);
}

TEST_F(ConsentFlowTest, ConsentPendingIdIsSha256Hex) {
  EXPECT_EQ(PendingAuthorizationId("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

}  // namespace
}  // namespace latchkey::vault
