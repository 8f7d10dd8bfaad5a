#include "vault/backup.h"

#include <gmock/gmock.h>

#include <nlohmann/json.hpp>
#include <sstream>

#include "crypto/hmac.h"
#include "vault/vault_test_support.h"

namespace latchkey::vault {
namespace {

using ::testing::HasSubstr;

class BackupTest : public VaultTest {
 protected:
  void SetUp() override {
    VaultTest::SetUp();
    ASSERT_NE(vault_, nullptr);
    ASSERT_TRUE(vault_->providers()
                    .Add("name = \"acme\"\nauth = \"oauth2\"\ntoken_url = \"https://id.acme.example/token\"\n"
                         "api_base_url = \"https://api.acme.example\"\nclient_id = \"cid\"\n"
                         "client_secret = \"acme-client-secret\"\n",
                         "acme.toml")
                    .ok());
    for (auto [name, provider, document] :
         {std::tuple{
              "work", "acme",
              R"({"access_token":"access-token-1","refresh_token":"refresh-token-1","expires_in":3600})"},
          std::tuple{"k", "example-api-key", R"({"api_key":"key-1"})"}}) {
      auto imported = vault_->connections().Import(
          {.name = name, .provider = provider, .document = document, .source = "test", .replace = false});
      ASSERT_TRUE(imported.ok()) << imported.status().ToString();
    }
    ASSERT_TRUE(vault_->agents().Create("claude", {"work"}).ok());
    ASSERT_TRUE(vault_->admin_tokens().Create().ok());
  }

  std::string Backup(bool final = false) {
    std::ostringstream out;
    Status written = WriteBackup(vault_->store(), vault_->keys(), clock_, {.final = final}, out);
    EXPECT_TRUE(written.ok()) << written.ToString();
    return out.str();
  }

  std::shared_ptr<store::Store> EmptyStore(const std::string& file) {
    auto store = store::OpenSqliteStore(
        {.path = (dir_.path() / file).string(), .busy_wait = std::chrono::milliseconds(10000)}, clock_);
    EXPECT_TRUE(store.ok()) << store.status().ToString();
    return store.ok() ? *store : nullptr;
  }

  MasterKeySource KeySource(std::optional<SecretString> env_key = std::nullopt) {
    return {.env_value = std::move(env_key), .key_file = dir_.path() / "master.key", .read_only = false};
  }

  // Restores `file` into `target` as `latchkey restore` does: keys opened without a data key.
  StatusOr<RestoredBackup> Restore(std::string_view file, const std::shared_ptr<store::Store>& target,
                                   std::optional<SecretString> env_key = std::nullopt) {
    LATCHKEY_ASSIGN_OR_RETURN(std::unique_ptr<KeyManager> keys,
                              KeyManager::OpenForRestore(target, KeySource(std::move(env_key)), clock_));
    return RestoreBackup(file, *target, *keys);
  }

  static std::vector<store::SnapshotRow> Rows(store::Store& store) {
    std::vector<store::SnapshotRow> rows;
    Status exported = store.ExportSnapshot({.begin = [](const store::SnapshotInfo&) { return Status::Ok(); },
                                            .row =
                                                [&](const store::SnapshotRow& row) {
                                                  rows.push_back(row);
                                                  return Status::Ok();
                                                }});
    EXPECT_TRUE(exported.ok()) << exported.ToString();
    return rows;
  }

  // `file` with its MAC line made again over the lines before it, as only the holder of
  // the master key can.
  std::string Resigned(const std::vector<std::string>& lines_before_mac) {
    std::string body;
    for (const std::string& line : lines_before_mac) body += line + "\n";
    crypto::HmacSha256 mac(vault_->keys().DeriveKey("latchkey backup mac v1").bytes());
    mac.Update(body);
    nlohmann::ordered_json last = {{"mac", std::move(mac).FinishHex()},
                                   {"rows", static_cast<int64_t>(lines_before_mac.size()) - 1}};
    return body + last.dump() + "\n";
  }

  static std::vector<std::string> LinesBeforeMac(const std::string& file) {
    std::vector<std::string> lines;
    std::istringstream in(file);
    for (std::string line; std::getline(in, line);) lines.push_back(line);
    lines.pop_back();
    return lines;
  }
};

TEST_F(BackupTest, ARestoredStoreHasTheSameRowsAndItsSecretsOpenWithTheSameMasterKey) {
  clock_.Advance(std::chrono::hours(1));
  const std::string file = Backup(/*final=*/true);
  EXPECT_EQ(Backup(/*final=*/true), file) << "the same store gives the same bytes";
  EXPECT_THAT(file, HasSubstr(R"({"format":"latchkey-backup","version":1,"schema_version":)"));
  EXPECT_EQ(file.find("access-token-1"), std::string::npos) << "secrets stay sealed";

  auto target = EmptyStore("restored.db");
  ASSERT_NE(target, nullptr);
  StatusOr<RestoredBackup> restored = Restore(file, target);
  ASSERT_TRUE(restored.ok()) << restored.status().ToString();
  EXPECT_EQ(restored->rows, static_cast<int64_t>(Rows(vault_->store()).size()));
  EXPECT_EQ(restored->source, "sqlite");
  EXPECT_TRUE(restored->final);
  EXPECT_EQ(restored->created_at, FormatRfc3339(clock_.Now()));
  EXPECT_EQ(Rows(*target), Rows(vault_->store()));

  auto reopened = Vault::Open(target, KeySource(), clock_, SystemRandom::Instance());
  ASSERT_TRUE(reopened.ok()) << reopened.status().ToString();
  EXPECT_EQ(*(*reopened)->store().ListWrappedDataKeys(), *vault_->store().ListWrappedDataKeys())
      << "no second data key was made";
  auto work = (*reopened)->connections().Get("work");
  ASSERT_TRUE(work.ok()) << work.status().ToString();
  auto secrets = (*reopened)->connections().ReadSecrets(*work);
  ASSERT_TRUE(secrets.ok()) << secrets.status().ToString();
  EXPECT_EQ(secrets->access_token.reveal(), "access-token-1");
  EXPECT_EQ(secrets->refresh_token.reveal(), "refresh-token-1");
  EXPECT_EQ((*reopened)->connections().CurrentCredential("k")->reveal(), "key-1");
  EXPECT_TRUE(*(*reopened)->providers().HasStoredClientSecret("acme"));
}

TEST_F(BackupTest, AFlippedByteAnywhereIsRefusedAndNothingIsWritten) {
  const std::string file = Backup();
  auto target = EmptyStore("restored.db");
  ASSERT_NE(target, nullptr);
  auto keys = KeyManager::OpenForRestore(target, KeySource(), clock_);
  ASSERT_TRUE(keys.ok()) << keys.status().ToString();
  for (size_t at = 0; at < file.size(); ++at) {
    std::string flipped = file;
    flipped[at] = static_cast<char>(flipped[at] ^ 0x01);
    StatusOr<RestoredBackup> restored = RestoreBackup(flipped, *target, **keys);
    ASSERT_FALSE(restored.ok()) << "byte " << at << " of " << file.size();
  }
  EXPECT_TRUE(Rows(*target).empty());

  // Where the file stays well formed, the MAC is what refuses it.
  const size_t header_digit = file.find(R"("created_at":")") + 14;
  const size_t row_char = file.find(R"("access_token":")") + 20;
  const size_t mac_digit = file.rfind(R"({"mac":")") + 10;
  for (size_t at : {header_digit, row_char, mac_digit}) {
    std::string flipped = file;
    flipped[at] = flipped[at] == 'a' ? 'b' : 'a';
    StatusOr<RestoredBackup> restored = RestoreBackup(flipped, *target, **keys);
    EXPECT_EQ(restored.status().code(), StatusCode::kDataLoss) << restored.status().ToString();
    EXPECT_THAT(restored.status().message(), HasSubstr("MAC does not match"));
  }
  std::vector<std::string> lines = LinesBeforeMac(file);
  StatusOr<RestoredBackup> cut =
      RestoreBackup(file.substr(0, file.rfind(lines.back()) + lines.back().size() + 1), *target, **keys);
  EXPECT_EQ(cut.status().code(), StatusCode::kDataLoss) << cut.status().ToString();
  StatusOr<RestoredBackup> other = RestoreBackup("name = \"not a backup\"\n", *target, **keys);
  EXPECT_EQ(other.status().code(), StatusCode::kInvalidArgument) << other.status().ToString();
  EXPECT_TRUE(Rows(*target).empty());
}

// A backup made by an earlier latchkey restores into a newer one while the tables a backup
// carries are the same in both (from store::kOldestSnapshotSchema on); one older than that,
// or one made by a newer latchkey, is refused with nothing written.
TEST_F(BackupTest, ABackupOfAnEarlierSchemaRestoresFromTheOldestSnapshotSchemaOn) {
  std::vector<std::string> lines = LinesBeforeMac(Backup());
  auto with_schema = [&](int version) {
    nlohmann::ordered_json header = nlohmann::ordered_json::parse(lines.front());
    header["schema_version"] = version;
    std::vector<std::string> changed = lines;
    changed.front() = header.dump();
    return Resigned(changed);
  };
  const int newest = *vault_->store().SchemaVersion();
  for (int refused : {store::kOldestSnapshotSchema - 1, newest + 1}) {
    auto target = EmptyStore("refused-" + std::to_string(refused) + ".db");
    ASSERT_NE(target, nullptr);
    StatusOr<RestoredBackup> restored = Restore(with_schema(refused), target);
    EXPECT_EQ(restored.status().code(), StatusCode::kFailedPrecondition) << restored.status().ToString();
    EXPECT_THAT(restored.status().message(), HasSubstr("schema version " + std::to_string(refused)));
    EXPECT_TRUE(Rows(*target).empty());
  }
  for (int version = store::kOldestSnapshotSchema; version <= newest; ++version) {
    auto target = EmptyStore("restored-" + std::to_string(version) + ".db");
    ASSERT_NE(target, nullptr);
    StatusOr<RestoredBackup> restored = Restore(with_schema(version), target);
    ASSERT_TRUE(restored.ok()) << "schema " << version << ": " << restored.status().ToString();
    EXPECT_EQ(Rows(*target), Rows(vault_->store()));
  }
}

TEST_F(BackupTest, AnotherMasterKeyIsRefusedAndNothingIsWritten) {
  const std::string file = Backup();
  auto target = EmptyStore("restored.db");
  ASSERT_NE(target, nullptr);
  auto other_key = crypto::SymmetricKey::Generate();
  StatusOr<RestoredBackup> restored = Restore(file, target, crypto::EncodeMasterKey(other_key));
  EXPECT_EQ(restored.status().code(), StatusCode::kFailedPrecondition) << restored.status().ToString();
  EXPECT_THAT(restored.status().message(),
              HasSubstr("made under master key '" + vault_->keys().master_key_id() + "', this one is '" +
                        crypto::MasterKeyId(other_key) + "'"));
  EXPECT_TRUE(Rows(*target).empty());
}

TEST_F(BackupTest, AValidMacOverATamperedOrMovedSealedCellIsRefused) {
  const std::vector<std::string> lines = LinesBeforeMac(Backup());
  auto find_connection = [&](const std::string& id) {
    for (size_t i = 0; i < lines.size(); ++i) {
      auto row = nlohmann::ordered_json::parse(lines[i]);
      if (row.value("t", "") == "connections" && row["r"]["name"] == id) return i;
    }
    ADD_FAILURE() << "no connection " << id;
    return size_t{0};
  };
  const size_t work = find_connection("work");
  const size_t key = find_connection("k");
  auto target = EmptyStore("restored.db");
  ASSERT_NE(target, nullptr);

  // One bit of the sealed access token, changed.
  std::vector<std::string> tampered = lines;
  auto row = nlohmann::ordered_json::parse(tampered[work]);
  Bytes sealed = *Base64Decode(row["r"]["access_token"].get<std::string>());
  sealed.back() ^= 0x01;
  row["r"]["access_token"] = Base64UrlEncode(sealed);
  tampered[work] = row.dump();
  StatusOr<RestoredBackup> restored = Restore(Resigned(tampered), target);
  EXPECT_EQ(restored.status().code(), StatusCode::kDataLoss) << restored.status().ToString();
  EXPECT_THAT(restored.status().message(), HasSubstr("access_token of connections row"));
  EXPECT_TRUE(Rows(*target).empty());

  // A whole sealed value moved to another row: sealed cells open only where they were sealed.
  std::vector<std::string> moved = lines;
  auto from = nlohmann::ordered_json::parse(moved[work]);
  auto to = nlohmann::ordered_json::parse(moved[key]);
  to["r"]["api_key"] = from["r"]["access_token"];
  moved[key] = to.dump();
  restored = Restore(Resigned(moved), target);
  EXPECT_EQ(restored.status().code(), StatusCode::kDataLoss) << restored.status().ToString();
  EXPECT_THAT(restored.status().message(), HasSubstr("api_key of connections row"));
  EXPECT_TRUE(Rows(*target).empty());

  // The control: re-signing alone changes nothing.
  EXPECT_TRUE(Restore(Resigned(lines), target).ok());
}

TEST_F(BackupTest, ANonEmptyTargetIsRefusedAndKeepsItsRows) {
  const std::string file = Backup();
  auto target = EmptyStore("used.db");
  ASSERT_NE(target, nullptr);
  ASSERT_TRUE(KeyManager::Open(target, KeySource(), clock_).ok());  // makes its first data key
  const std::vector<store::SnapshotRow> before = Rows(*target);
  ASSERT_EQ(before.size(), 2u);
  StatusOr<RestoredBackup> restored = Restore(file, target);
  EXPECT_EQ(restored.status().code(), StatusCode::kFailedPrecondition) << restored.status().ToString();
  EXPECT_THAT(restored.status().message(), HasSubstr("table data_keys has rows"));
  EXPECT_EQ(Rows(*target), before);
}

// A write that fails (a full disk) is kUnavailable, which the CLI reports at once; only a
// refresh in flight is kAborted, which it runs again (a full disk was retried for 150 s).
TEST_F(BackupTest, AFailedWriteIsReportedNotRunAgain) {
  std::ostringstream broken;
  broken.setstate(std::ios::badbit);
  const Status written = WriteBackup(vault_->store(), vault_->keys(), clock_, {}, broken);
  EXPECT_EQ(written.code(), StatusCode::kUnavailable) << written.ToString();
  EXPECT_THAT(std::string(written.message()), HasSubstr("cannot write the backup"));
}

// --final fences the source before it copies it, waits for a refresh in flight (a marker
// younger than `in_flight`), carries an older marker (an interrupted refresh) as it is, and
// the copy starts unfenced.
TEST_F(BackupTest, AFinalBackupFencesTheSourceAndWaitsForARefreshInFlight) {
  auto work = vault_->store().GetConnection("work");
  ASSERT_TRUE(work.ok());
  store::ConnectionRecord marked = *work;
  marked.refresh_started_at = clock_.Now() - std::chrono::seconds(30);
  ASSERT_TRUE(vault_->store().UpdateConnection(marked, marked.token_version).ok());

  std::ostringstream waiting;
  const Status in_flight = WriteBackup(vault_->store(), vault_->keys(), clock_,
                                       {.final = true, .in_flight = std::chrono::minutes(2)}, waiting);
  EXPECT_EQ(in_flight.code(), StatusCode::kAborted) << in_flight.ToString();  // the CLI runs it again
  EXPECT_THAT(std::string(in_flight.message()), HasSubstr("'work' is being refreshed right now"));
  EXPECT_EQ(*vault_->store().HandedOverAt(), std::optional<TimePoint>(clock_.Now())) << "fenced first";

  clock_.Advance(std::chrono::minutes(2));  // the marker is an interrupted refresh now
  const std::string file = Backup(/*final=*/true);
  EXPECT_EQ(*vault_->store().HandedOverAt(), std::optional<TimePoint>(clock_.Now() - std::chrono::minutes(2)))
      << "the first fence stands";
  store::ConnectionRecord again = *vault_->store().GetConnection("work");
  again.refresh_started_at = clock_.Now();
  EXPECT_EQ(vault_->store().UpdateConnection(again, again.token_version).code(),
            StatusCode::kFailedPrecondition)
      << "no refresh starts at the source after the copy";

  auto target = EmptyStore("copy.db");
  ASSERT_NE(target, nullptr);
  ASSERT_TRUE(Restore(file, target).ok());
  EXPECT_EQ(*target->HandedOverAt(), std::nullopt) << "the copy is not fenced";
  EXPECT_EQ(target->GetConnection("work")->refresh_started_at, marked.refresh_started_at)
      << "an interrupted refresh is carried, so the copy knows the refresh token may be spent";
}

}  // namespace
}  // namespace latchkey::vault
