// Contract tests: the rows of latchkey's own OAuth authorization server for /mcp.
#include "store/store_contract_test.h"

namespace latchkey::store::testing {
namespace {

using ::testing::HasSubstr;

McpClientRecord Client(std::string id) {
  McpClientRecord c;
  c.client_id = std::move(id);
  c.metadata_document = true;
  c.name = "Example Client";
  c.logo_uri = "https://client.example/logo.png";
  c.redirect_uris = {"http://127.0.0.1/callback", "https://client.example/cb"};
  c.token_endpoint_auth_method = "none";
  c.document_expires_at = At(9000);
  c.created_at = c.updated_at = At(1000);
  return c;
}

McpTokenRecord Token(const std::string& value, McpTokenKind kind, std::string family,
                     std::string client = "c1", std::string agent = "bot") {
  McpTokenRecord t;
  t.token_hash = B("hash-of-" + value);
  t.kind = kind;
  t.family_id = std::move(family);
  t.client_id = std::move(client);
  t.agent = std::move(agent);
  t.resource = "https://latchkey.example/mcp";
  t.scopes = {"mcp"};
  if (kind == McpTokenKind::kCode) {
    t.redirect_uri = "http://127.0.0.1:5555/callback";
    t.code_challenge = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";
  }
  t.created_at = At(1000);
  t.expires_at = At(61000);
  return t;
}

TEST_P(StoreContractTest, McpClientsRoundTripAndAreUpdatedInPlace) {
  McpClientRecord document = Client("https://client.example/oauth/metadata.json");
  ASSERT_TRUE(store().UpsertMcpClient(document).ok());
  McpClientRecord registered = Client("lk_registered");
  registered.metadata_document = false;
  registered.token_endpoint_auth_method = "client_secret_basic";
  registered.client_secret_hash = B("secret-hash");
  registered.document_expires_at.reset();
  ASSERT_TRUE(store().UpsertMcpClient(registered).ok());
  EXPECT_EQ(*store().GetMcpClient(document.client_id), document);
  EXPECT_EQ(*store().GetMcpClient(registered.client_id), registered);

  document.name = "Renamed";
  document.redirect_uris = {"https://client.example/other"};
  document.updated_at = At(5000);
  ASSERT_TRUE(store().UpsertMcpClient(document).ok());
  EXPECT_EQ(*store().GetMcpClient(document.client_id), document) << "a fetched document replaces the last";
  EXPECT_EQ(store().GetMcpClient("lk_unknown").status().code(), StatusCode::kNotFound);
}

// A consent for client c1 to act as agent "bot", and the agent.
void Consent(Store& store, std::string agent = "bot") {
  AgentRecord record = Agent(agent, "id-" + agent);
  record.key_hash = B("hash-" + agent);
  ASSERT_TRUE(store.InsertAgent(record).ok());
  ASSERT_TRUE(store
                  .UpsertMcpConsent({.client_id = "c1",
                                     .agent = std::move(agent),
                                     .scopes = {"mcp"},
                                     .created_at = At(1000),
                                     .revoked_at = std::nullopt})
                  .ok());
}

TEST_P(StoreContractTest, ACodeIsSpentOnceForItsTokensAndAReplayRevokesTheFamily) {
  Consent(store());
  McpTokenRecord code = Token("code-1", McpTokenKind::kCode, "family-1");
  ASSERT_TRUE(store().InsertMcpToken(code).ok());
  EXPECT_EQ(store().InsertMcpToken(code).code(), StatusCode::kAlreadyExists);
  const McpTokenRecord access = Token("access-1", McpTokenKind::kAccess, "family-1");
  const McpTokenRecord refresh = Token("refresh-1", McpTokenKind::kRefresh, "family-1");
  auto spent = store().SpendMcpToken(code.token_hash, At(2000), {access, refresh});
  ASSERT_TRUE(spent.ok()) << spent.status().ToString();
  EXPECT_EQ(*spent, code) << "returned as it was before this use";
  EXPECT_EQ(*store().GetMcpToken(access.token_hash), access) << "stored with the spend";
  EXPECT_EQ(*store().GetMcpToken(refresh.token_hash), refresh);

  auto replay = store().SpendMcpToken(code.token_hash, At(3000),
                                      {Token("access-2", McpTokenKind::kAccess, "family-1")});
  EXPECT_EQ(replay.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_THAT(replay.status().message(), HasSubstr("was used already"));
  EXPECT_EQ(store().GetMcpToken(B("hash-of-access-2")).status().code(), StatusCode::kNotFound)
      << "a replay buys nothing";
  EXPECT_EQ(store().GetMcpToken(access.token_hash)->revoked_at, At(3000)) << "and ends what the code bought";
  EXPECT_EQ(store().GetMcpToken(refresh.token_hash)->revoked_at, At(3000));
  code.used_at = At(2000);
  code.revoked_at = At(3000);
  EXPECT_EQ(*store().GetMcpToken(code.token_hash), code) << "the first use's time stays";
  EXPECT_EQ(store().SpendMcpToken(B("hash-of-nothing"), At(3000), {}).status().code(), StatusCode::kNotFound);
}

TEST_P(StoreContractTest, ARefreshTokenPresentedAgainWithinTheGraceBuysTokensAgain) {
  Consent(store());
  const McpTokenRecord refresh = Token("refresh", McpTokenKind::kRefresh, "f");
  ASSERT_TRUE(store().InsertMcpToken(refresh).ok());
  const auto grace = std::chrono::seconds(10);
  ASSERT_TRUE(
      store()
          .SpendMcpToken(refresh.token_hash, At(2000), {Token("a1", McpTokenKind::kAccess, "f")}, grace)
          .ok());
  auto again =
      store().SpendMcpToken(refresh.token_hash, At(11000), {Token("a2", McpTokenKind::kAccess, "f")}, grace);
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  EXPECT_TRUE(store().GetMcpToken(B("hash-of-a2")).ok());
  EXPECT_EQ(store().GetMcpToken(refresh.token_hash)->used_at, At(2000)) << "the first use's time stays";
  auto late =
      store().SpendMcpToken(refresh.token_hash, At(12001), {Token("a3", McpTokenKind::kAccess, "f")}, grace);
  EXPECT_EQ(late.status().code(), StatusCode::kFailedPrecondition) << "past the grace, a replay";
  EXPECT_EQ(store().GetMcpToken(B("hash-of-a1"))->revoked_at, At(12001));
}

TEST_P(StoreContractTest, NothingIsSpentOrIssuedWhenTheTokenOrItsConsentNoLongerStands) {
  Consent(store());
  Consent(store(), "other-bot");
  const McpTokenRecord bought = Token("bought", McpTokenKind::kAccess, "f");
  auto refused = [&](const McpTokenRecord& token, TimePoint now, std::string_view why) {
    ASSERT_TRUE(store().InsertMcpToken(token).ok());
    auto spent = store().SpendMcpToken(token.token_hash, now, {bought});
    EXPECT_EQ(spent.status().code(), StatusCode::kPermissionDenied) << why;
    EXPECT_EQ(store().GetMcpToken(bought.token_hash).status().code(), StatusCode::kNotFound) << why;
    EXPECT_FALSE(store().GetMcpToken(token.token_hash)->used_at.has_value()) << why << ": not spent";
  };
  refused(Token("expired", McpTokenKind::kRefresh, "f1"), At(61000), "expired");
  McpTokenRecord revoked = Token("revoked", McpTokenKind::kRefresh, "f2");
  revoked.revoked_at = At(1500);
  refused(revoked, At(2000), "revoked");

  ASSERT_TRUE(store().RevokeMcpConsent("c1", "bot", At(2000)).ok());
  refused(Token("no-consent", McpTokenKind::kCode, "f3"), At(3000), "its consent revoked");

  ASSERT_TRUE(store().InsertMcpToken(Token("other", McpTokenKind::kRefresh, "f4", "c1", "other-bot")).ok());
  ASSERT_TRUE(store().RevokeAgent("other-bot", At(3000)).ok());
  EXPECT_EQ(store().GetMcpToken(B("hash-of-other"))->revoked_at, At(3000))
      << "revoking an agent ends its MCP tokens";
  EXPECT_EQ(store().ListMcpConsents()->back().revoked_at, At(3000)) << "and its consents";
  McpTokenRecord late = Token("late", McpTokenKind::kCode, "f5", "c1", "other-bot");
  refused(late, At(4000), "its agent revoked");
}

TEST_P(StoreContractTest, RevokingAFamilyEndsItsCodeAndTokensOnly) {
  for (const McpTokenRecord& t :
       {Token("code", McpTokenKind::kCode, "f1"), Token("access", McpTokenKind::kAccess, "f1"),
        Token("refresh", McpTokenKind::kRefresh, "f1"), Token("other", McpTokenKind::kAccess, "f2")}) {
    ASSERT_TRUE(store().InsertMcpToken(t).ok());
  }
  auto revoked = store().RevokeMcpFamily("f1", At(4000));
  ASSERT_TRUE(revoked.ok());
  EXPECT_EQ(*revoked, 3);
  EXPECT_EQ(store().GetMcpToken(B("hash-of-access"))->revoked_at, At(4000));
  EXPECT_EQ(store().GetMcpToken(B("hash-of-refresh"))->revoked_at, At(4000));
  EXPECT_FALSE(store().GetMcpToken(B("hash-of-other"))->revoked_at.has_value());
  EXPECT_EQ(*store().RevokeMcpFamily("f1", At(5000)), 0) << "a revocation keeps its first time";
  EXPECT_EQ(store().GetMcpToken(B("hash-of-code"))->revoked_at, At(4000));
}

TEST_P(StoreContractTest, RevokingAConsentEndsEveryTokenItIssued) {
  McpConsentRecord consent{.client_id = "c1",
                           .agent = "bot",
                           .scopes = {"mcp"},
                           .created_at = At(1000),
                           .revoked_at = std::nullopt};
  McpConsentRecord other{.client_id = "c1",
                         .agent = "other-bot",
                         .scopes = {"mcp"},
                         .created_at = At(1000),
                         .revoked_at = std::nullopt};
  ASSERT_TRUE(store().UpsertMcpConsent(consent).ok());
  ASSERT_TRUE(store().UpsertMcpConsent(other).ok());
  ASSERT_TRUE(store().InsertMcpToken(Token("a1", McpTokenKind::kAccess, "f1")).ok());
  ASSERT_TRUE(store().InsertMcpToken(Token("r2", McpTokenKind::kRefresh, "f2")).ok());
  ASSERT_TRUE(store().InsertMcpToken(Token("a3", McpTokenKind::kAccess, "f3", "c1", "other-bot")).ok());
  EXPECT_EQ(*store().ListMcpConsents(), (std::vector<McpConsentRecord>{consent, other}));

  ASSERT_TRUE(store().RevokeMcpConsent("c1", "bot", At(7000)).ok());
  EXPECT_EQ(store().GetMcpToken(B("hash-of-a1"))->revoked_at, At(7000));
  EXPECT_EQ(store().GetMcpToken(B("hash-of-r2"))->revoked_at, At(7000));
  EXPECT_FALSE(store().GetMcpToken(B("hash-of-a3"))->revoked_at.has_value()) << "another agent's consent";
  consent.revoked_at = At(7000);
  EXPECT_EQ(*store().ListMcpConsents(), (std::vector<McpConsentRecord>{consent, other}));
  EXPECT_EQ(store().RevokeMcpConsent("c1", "bot", At(8000)).code(), StatusCode::kNotFound);

  // Consenting again renews it.
  consent.revoked_at.reset();
  consent.created_at = At(9000);
  ASSERT_TRUE(store().UpsertMcpConsent(consent).ok());
  EXPECT_EQ(store().ListMcpConsents()->front(), consent);
}

// Retention: expired codes and tokens go whatever their state; a client goes only once
// nothing names it (no consent, no code or token) and it is older than the cut.
TEST_P(StoreContractTest, StaleMcpRowsGoAndEverythingStillInUseStays) {
  McpClientRecord consented = Client("c1");       // Consent() below names it
  McpClientRecord holding = Client("c-holding");  // only a live token names it
  McpClientRecord idle = Client("c-idle");        // nothing names it
  McpClientRecord young = Client("c-young");      // nothing names it, but stored after the cut
  young.created_at = young.updated_at = At(50000);
  for (const McpClientRecord& c : {consented, holding, idle, young})
    ASSERT_TRUE(store().UpsertMcpClient(c).ok());
  Consent(store());

  McpTokenRecord spent = Token("spent", McpTokenKind::kRefresh, "f1");
  spent.expires_at = At(20000);
  McpTokenRecord revoked = Token("revoked", McpTokenKind::kAccess, "f2");
  revoked.expires_at = At(20000);
  McpTokenRecord edge = Token("edge", McpTokenKind::kAccess, "f1");
  edge.expires_at = At(40000);  // expired, but not before the cut
  McpTokenRecord live = Token("live", McpTokenKind::kRefresh, "f3", "c-holding");
  live.expires_at = At(90000);
  McpTokenRecord old_of_holding = Token("old-of-holding", McpTokenKind::kCode, "f3", "c-holding");
  old_of_holding.expires_at = At(2000);
  for (const McpTokenRecord& t : {spent, revoked, edge, live, old_of_holding}) {
    ASSERT_TRUE(store().InsertMcpToken(t).ok());
  }
  ASSERT_TRUE(store().SpendMcpToken(spent.token_hash, At(3000), {}).ok());
  ASSERT_TRUE(store().RevokeMcpFamily("f2", At(3000)).ok());

  auto deleted = store().DeleteStaleMcpRows(/*expired_before=*/At(40000), /*unused_since=*/At(40000));
  ASSERT_TRUE(deleted.ok()) << deleted.status().ToString();
  EXPECT_EQ(deleted->tokens, 3);   // spent, revoked, old-of-holding
  EXPECT_EQ(deleted->clients, 1);  // c-idle
  for (const char* gone : {"hash-of-spent", "hash-of-revoked", "hash-of-old-of-holding"}) {
    EXPECT_EQ(store().GetMcpToken(B(gone)).status().code(), StatusCode::kNotFound) << gone;
  }
  EXPECT_TRUE(store().GetMcpToken(B("hash-of-edge")).ok());
  EXPECT_TRUE(store().GetMcpToken(B("hash-of-live")).ok());
  EXPECT_EQ(store().GetMcpClient("c-idle").status().code(), StatusCode::kNotFound);
  for (const McpClientRecord& kept : {consented, holding, young}) {
    EXPECT_TRUE(store().GetMcpClient(kept.client_id).ok()) << kept.client_id;
  }
  EXPECT_EQ(store().ListMcpConsents()->size(), 1U);

  // Once c-holding's last token has expired too, it goes with it (tokens first).
  deleted = store().DeleteStaleMcpRows(At(100000), At(40000));
  ASSERT_TRUE(deleted.ok());
  EXPECT_EQ(deleted->tokens, 2);  // edge, live
  EXPECT_EQ(deleted->clients, 1);
  EXPECT_EQ(store().GetMcpClient("c-holding").status().code(), StatusCode::kNotFound);
  EXPECT_TRUE(store().GetMcpClient("c1").ok()) << "a consent keeps its client, revoked or not";
  EXPECT_EQ(store().DeleteStaleMcpRows(At(100000), At(40000))->tokens, 0) << "idempotent";
}

}  // namespace
}  // namespace latchkey::store::testing
