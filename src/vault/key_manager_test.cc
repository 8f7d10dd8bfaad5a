#include "vault/key_manager.h"

#include <gmock/gmock.h>

#include <fstream>
#include <iterator>

#include "crypto/master_key.h"
#include "vault/vault_test_support.h"

namespace latchkey::vault {
namespace {

const SecretAddress kWhere{"connections", "row-1", "access_token"};

TEST_F(VaultTest, SealedValuesOpenOnlyAtTheirAddress) {
  auto sealed = vault_->keys().Seal("secret-value", kWhere);
  ASSERT_TRUE(sealed.ok());
  auto opened = vault_->keys().Unseal(*sealed, kWhere);
  ASSERT_TRUE(opened.ok());
  EXPECT_EQ(opened->reveal(), "secret-value");
  for (const SecretAddress& other : {SecretAddress{"connections", "row-2", "access_token"},
                                     SecretAddress{"connections", "row-1", "refresh_token"},
                                     SecretAddress{"providers", "row-1", "access_token"}}) {
    auto wrong = vault_->keys().Unseal(*sealed, other);
    ASSERT_FALSE(wrong.ok());
    EXPECT_EQ(wrong.status().code(), StatusCode::kDataLoss);
  }
}

TEST_F(VaultTest, ReopeningWithTheSameKeyFileReadsOldSecrets) {
  auto sealed = vault_->keys().Seal("kept", kWhere);
  ASSERT_TRUE(sealed.ok());
  auto again = OpenVault();
  ASSERT_NE(again, nullptr);
  auto opened = again->keys().Unseal(*sealed, kWhere);
  ASSERT_TRUE(opened.ok()) << opened.status().ToString();
  EXPECT_EQ(opened->reveal(), "kept");
}

TEST_F(VaultTest, WrongMasterKeyOpensTheStoreButNoSecret) {
  auto sealed = vault_->keys().Seal("kept", kWhere);
  ASSERT_TRUE(sealed.ok());
  auto other = OpenVault(crypto::EncodeMasterKey(crypto::SymmetricKey::Generate()));
  ASSERT_NE(other, nullptr);
  auto opened = other->keys().Unseal(*sealed, kWhere);
  ASSERT_FALSE(opened.ok());
  EXPECT_EQ(opened.status().code(), StatusCode::kDataLoss);
  EXPECT_NE(opened.status().message().find("LATCHKEY_MASTER_KEY"), std::string::npos);
  EXPECT_FALSE(other->keys().Seal("new", kWhere).ok()) << "nothing may be sealed under a stray key";
  auto wrappers = other->store().ListWrappedDataKeys();
  ASSERT_TRUE(wrappers.ok());
  EXPECT_EQ(wrappers->size(), 1u) << "a wrong key must not create a second data key";
}

TEST_F(VaultTest, MasterRotationRewrapsAndTheOldKeyStopsWorking) {
  auto sealed = vault_->keys().Seal("kept", kWhere);
  ASSERT_TRUE(sealed.ok());
  auto before = vault_->store().ListWrappedDataKeys();
  ASSERT_TRUE(before.ok());
  auto rotated = vault_->keys().RotateMasterKey(std::nullopt);
  ASSERT_TRUE(rotated.ok()) << rotated.status().ToString();
  auto after = vault_->store().ListWrappedDataKeys();
  ASSERT_TRUE(after.ok());
  ASSERT_EQ(after->size(), 1u);
  EXPECT_NE(after->front().master_key_id, before->front().master_key_id);
  EXPECT_NE(after->front().wrapped, before->front().wrapped);
  EXPECT_EQ(vault_->keys().Unseal(*sealed, kWhere)->reveal(), "kept");
  auto reopened = OpenVault();  // reads the rewritten key file
  ASSERT_NE(reopened, nullptr);
  EXPECT_EQ(reopened->keys().Unseal(*sealed, kWhere)->reveal(), "kept");
}

// A key file given read-only (a systemd credential) is never made and never rewritten:
// rotation takes the new key from the operator, as with LATCHKEY_MASTER_KEY.
TEST_F(VaultTest, AReadOnlyKeyFileIsNeverCreatedNorRewrittenByRotation) {
  auto store = store::OpenSqliteStore({.path = (dir_.path() / "given.db").string()}, clock_);
  ASSERT_TRUE(store.ok());
  const std::filesystem::path missing = dir_.path() / "credentials" / "master.key";
  auto none = Vault::Open(*store, {.env_value = std::nullopt, .key_file = missing, .read_only = true}, clock_,
                          SystemRandom::Instance());
  ASSERT_FALSE(none.ok());
  EXPECT_EQ(none.status().code(), StatusCode::kNotFound) << none.status().ToString();
  EXPECT_FALSE(std::filesystem::exists(missing));

  const std::filesystem::path given = dir_.path() / "master.key";  // made by SetUp's vault
  std::ifstream in(given);
  const std::string before((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  auto vault = Vault::Open(*store, {.env_value = std::nullopt, .key_file = given, .read_only = true}, clock_,
                           SystemRandom::Instance());
  ASSERT_TRUE(vault.ok()) << vault.status().ToString();
  auto refused = (*vault)->keys().RotateMasterKey(std::nullopt);
  ASSERT_FALSE(refused.ok());
  EXPECT_THAT(std::string(refused.status().message()), ::testing::HasSubstr("LATCHKEY_NEW_MASTER_KEY"));

  auto sealed = (*vault)->keys().Seal("kept", kWhere);
  ASSERT_TRUE(sealed.ok());
  const SecretString next = crypto::EncodeMasterKey(crypto::SymmetricKey::Generate());
  auto rotated = (*vault)->keys().RotateMasterKey(next);
  ASSERT_TRUE(rotated.ok()) << rotated.status().ToString();
  EXPECT_THAT(*rotated, ::testing::HasSubstr("into key file " + given.string()));
  std::ifstream again(given);
  EXPECT_EQ(std::string((std::istreambuf_iterator<char>(again)), std::istreambuf_iterator<char>()), before)
      << "the given file is not rewritten";
  EXPECT_EQ((*vault)->keys().Unseal(*sealed, kWhere)->reveal(), "kept");
}

TEST_F(VaultTest, CrashBetweenRotationStepsLeavesAStoreThatOpens) {
  // Step 1 done (new wrappers added), step 2 not (key file unchanged): the old key works.
  auto sealed = vault_->keys().Seal("kept", kWhere);
  ASSERT_TRUE(sealed.ok());
  auto wrappers = vault_->store().ListWrappedDataKeys();
  ASSERT_TRUE(wrappers.ok());
  store::WrappedDataKey stray = wrappers->front();
  stray.master_key_id = "0000000000000000";
  ASSERT_TRUE(vault_->store().AddDataKeyWrappers({stray}).ok());
  auto reopened = OpenVault();
  ASSERT_NE(reopened, nullptr);
  EXPECT_EQ(reopened->keys().Unseal(*sealed, kWhere)->reveal(), "kept");
}

TEST_F(VaultTest, DataKeyRotationResealsEverySecret) {
  ASSERT_TRUE(vault_->connections()
                  .Import({.name = "work",
                           .provider = "google",
                           .document = R"({"access_token":"at","refresh_token":"rt","expires_in":3600})",
                           .source = "test"})
                  .ok());
  auto cells_before = vault_->store().ListSecretCells();
  ASSERT_TRUE(cells_before.ok());
  ASSERT_EQ(cells_before->size(), 2u);
  auto count = vault_->keys().RotateDataKey();
  ASSERT_TRUE(count.ok()) << count.status().ToString();
  EXPECT_EQ(*count, 2u);
  auto cells_after = vault_->store().ListSecretCells();
  ASSERT_TRUE(cells_after.ok());
  for (std::size_t i = 0; i < cells_after->size(); ++i)
    EXPECT_NE((*cells_after)[i].value, (*cells_before)[i].value);
  auto token = vault_->connections().CurrentCredential("work");
  ASSERT_TRUE(token.ok()) << token.status().ToString();
  EXPECT_EQ(token->reveal(), "at");
}

TEST_F(VaultTest, AProcessStillHoldingTheRotatedDataKeyNeverWritesUnderIt) {
  auto stale = OpenVault();  // e.g. a daemon that loaded its keys before the rotation
  ASSERT_NE(stale, nullptr);
  auto old_key = stale->keys().ActiveDataKeyId();
  ASSERT_TRUE(old_key.ok());
  ASSERT_TRUE(vault_->keys().RotateDataKey().ok());
  // The store refuses the row sealed under the retired key; the vault reloads and re-seals.
  auto imported = stale->connections().Import(
      {.name = "late", .provider = "google", .document = R"({"access_token":"x"})", .source = "test"});
  ASSERT_TRUE(imported.ok()) << imported.status().ToString();
  EXPECT_NE(imported->data_key_id, *old_key);
  EXPECT_EQ(vault_->connections().CurrentCredential("late")->reveal(), "x");
}

}  // namespace
}  // namespace latchkey::vault
