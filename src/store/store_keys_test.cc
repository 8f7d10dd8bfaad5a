// Contract tests: data keys, wrappers, rotation, secret cells.
#include <algorithm>

#include "store/store_contract_test.h"

namespace latchkey::store::testing {
namespace {

using ::testing::HasSubstr;

TEST_P(StoreContractTest, InitializeDataKeyInsertsOnlyTheFirst) {
  auto first = store().InitializeDataKey(DataKey(7));
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  EXPECT_EQ(*first, std::vector<WrappedDataKey>{DataKey(7)});
  auto second = store().InitializeDataKey(DataKey(8));
  ASSERT_TRUE(second.ok());
  EXPECT_EQ(*second, std::vector<WrappedDataKey>{DataKey(7)});  // the winner's key
  auto listed = store().ListWrappedDataKeys();
  ASSERT_TRUE(listed.ok());
  EXPECT_EQ(*listed, std::vector<WrappedDataKey>{DataKey(7)});
}

TEST_P(StoreContractTest, MasterKeyRotationAddsThenDeletesWrappers) {
  ASSERT_TRUE(store().InitializeDataKey(DataKey(7, "old")).ok());
  ASSERT_TRUE(store().AddDataKeyWrappers({DataKey(7, "new")}).ok());
  ASSERT_TRUE(store().AddDataKeyWrappers({DataKey(7, "new")}).ok());  // re-run after a crash
  EXPECT_EQ(store().ListWrappedDataKeys()->size(), 2u);
  ASSERT_TRUE(store().DeleteDataKeyWrappersExcept("new").ok());
  EXPECT_EQ(*store().ListWrappedDataKeys(), std::vector<WrappedDataKey>{DataKey(7, "new")});
}

TEST_P(StoreContractTest, WrapperOfUnknownDataKeyIsRefused) {
  Status s = store().AddDataKeyWrappers({DataKey(99)});
  EXPECT_EQ(s.code(), StatusCode::kFailedPrecondition) << s.ToString();
  EXPECT_THAT(s.message(), HasSubstr("data key 99"));
}

TEST_P(StoreContractTest, DeletingWrappersNeverStrandsADataKey) {
  ASSERT_TRUE(store().InitializeDataKey(DataKey(7, "old")).ok());
  Status s = store().DeleteDataKeyWrappersExcept("new");
  EXPECT_EQ(s.code(), StatusCode::kFailedPrecondition) << s.ToString();
  EXPECT_EQ(store().ListWrappedDataKeys()->size(), 1u);
}

// Seeds one secret of every kind under data key 1.
void SeedSecrets(Store& store) {
  ASSERT_TRUE(store.InitializeDataKey(DataKey(1)).ok());
  ConnectionRecord oauth = Connection("work-gmail", "c1", 1);
  ASSERT_TRUE(store.InsertConnection(oauth).ok());
  ConnectionRecord basic = Connection("jira", "c2", 1);
  basic.kind = CredentialKind::kBasic;
  basic.access_token.reset();
  basic.refresh_token.reset();
  basic.api_key = B("sealed-key");
  basic.password = B("sealed-password");
  ASSERT_TRUE(store.InsertConnection(basic).ok());
  ASSERT_TRUE(store.UpsertProvider({"acme", "[provider]", B("sealed-client-secret"), 1, At(1), At(1)}).ok());
  ASSERT_TRUE(store.InsertPendingAuthorization(Pending("p1", 1, At(9000))).ok());
}

TEST_P(StoreContractTest, ListSecretCellsCoversEverySecretColumn) {
  SeedSecrets(store());
  auto cells = store().ListSecretCells();
  ASSERT_TRUE(cells.ok()) << cells.status().ToString();
  std::vector<std::string> names;
  for (const SecretCell& c : *cells) names.push_back(c.table + "/" + c.row_id + "/" + c.column);
  std::sort(names.begin(), names.end());
  EXPECT_EQ(names, (std::vector<std::string>{"connections/c1/access_token", "connections/c1/refresh_token",
                                             "connections/c2/api_key", "connections/c2/password",
                                             "pending_authorizations/p1/pkce_verifier",
                                             "providers/acme/client_secret"}));
}

TEST_P(StoreContractTest, RotateDataKeyResealsEveryCellAndRetiresOldKeys) {
  SeedSecrets(store());
  size_t calls = 0;
  Status s = store().RotateDataKey(DataKey(2), [&](const SecretCell& cell) -> StatusOr<Ciphertext> {
    ++calls;
    Bytes out = B("v2:");
    out.insert(out.end(), cell.value.begin(), cell.value.end());
    return out;
  });
  ASSERT_TRUE(s.ok()) << s.ToString();
  EXPECT_EQ(calls, 6u);
  auto cells = store().ListSecretCells();
  ASSERT_TRUE(cells.ok());
  for (const SecretCell& c : *cells) {
    EXPECT_EQ(Bytes(c.value.begin(), c.value.begin() + 3), B("v2:")) << c.table << "/" << c.column;
  }
  EXPECT_EQ(*store().ListWrappedDataKeys(), std::vector<WrappedDataKey>{DataKey(2)});
  EXPECT_EQ(store().GetConnection("work-gmail")->data_key_id, 2);
  EXPECT_EQ(store().GetProvider("acme")->data_key_id, 2);
  EXPECT_EQ(*store().GetConnection("work-gmail")->access_token, B("v2:sealed-access-c1"));
  // Old key gone: a row still sealed under it is refused.
  Status stale = store().InsertConnection(Connection("late", "c9", 1));
  EXPECT_EQ(stale.code(), StatusCode::kFailedPrecondition) << stale.ToString();
}

TEST_P(StoreContractTest, RotateDataKeyChangesNothingWhenOneResealFails) {
  SeedSecrets(store());
  auto before = store().ListSecretCells();
  Status s = store().RotateDataKey(DataKey(2), [](const SecretCell& cell) -> StatusOr<Ciphertext> {
    if (cell.column == "password") return DataLossError("cannot open connections/c2/password");
    return B("resealed");
  });
  EXPECT_EQ(s.code(), StatusCode::kDataLoss);
  EXPECT_EQ(*store().ListSecretCells(), *before);
  EXPECT_EQ(*store().ListWrappedDataKeys(), std::vector<WrappedDataKey>{DataKey(1)});
  EXPECT_EQ(store().GetConnection("jira")->data_key_id, 1);
}

TEST_P(StoreContractTest, RotateDataKeyRefusesAnExistingKeyId) {
  SeedSecrets(store());
  Status s = store().RotateDataKey(DataKey(1, "other"),
                                   [](const SecretCell&) -> StatusOr<Ciphertext> { return B("x"); });
  EXPECT_EQ(s.code(), StatusCode::kAlreadyExists) << s.ToString();
}

TEST_P(StoreContractTest, RowsSealedUnderUnknownDataKeyAreRefused) {
  ASSERT_TRUE(store().InitializeDataKey(DataKey(1)).ok());
  Status c = store().InsertConnection(Connection("work-gmail", "c1", 42));
  EXPECT_EQ(c.code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(
      c.message(),
      "connection 'work-gmail' is sealed under a data key that no longer exists; reload keys and retry");
  Status p = store().UpsertProvider({"acme", "[provider]", B("s"), 42, At(1), At(1)});
  EXPECT_EQ(p.code(), StatusCode::kFailedPrecondition) << p.ToString();
  Status q = store().InsertPendingAuthorization(Pending("p1", 42, At(9000)));
  EXPECT_EQ(q.code(), StatusCode::kFailedPrecondition) << q.ToString();
  ASSERT_TRUE(store().InsertConnection(Connection("work-gmail", "c1", 1)).ok());
  ConnectionRecord update = *store().GetConnection("work-gmail");
  update.data_key_id = 42;
  EXPECT_EQ(store().UpdateConnection(update, 0).code(), StatusCode::kFailedPrecondition);
}

}  // namespace
}  // namespace latchkey::store::testing
