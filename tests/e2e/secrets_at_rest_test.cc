// Secrets at rest: never in plaintext on disk, bound to their place, rotatable.
#include <filesystem>

#include "e2e/cli_fixture.h"
#include "e2e/sqlite_peek.h"

namespace latchkey::testing {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

std::string TokenJson(const std::string& access, const std::string& refresh) {
  return R"({"access_token":")" + access + R"(","refresh_token":")" + refresh +
         R"(","expires_in":3600,"token_type":"Bearer","scope":"api.read api.write"})";
}

// Every byte of every file under `dir` (WAL, SHM and journals included).
std::string AllBytes(const std::string& dir) {
  std::string all;
  for (const auto& entry : std::filesystem::recursive_directory_iterator(dir)) {
    if (entry.is_regular_file()) all += ReadFile(entry.path().string());
  }
  return all;
}

std::string Db(const std::string& dir) { return dir + "/latchkey.db"; }

class SecretsAtRestTest : public CliTest {
 protected:
  void ImportToken(const std::string& name, const std::string& access, const std::string& refresh) {
    MustRun({"connection", "import", name, "--provider", "google"}, TokenJson(access, refresh));
  }
  std::string Column(const std::string& name, const std::string& column) {
    SqlitePeek db(Db(data_dir()));
    auto blob = db.Blob("SELECT " + column + " FROM connections WHERE name = '" + name + "'");
    return std::string(blob.begin(), blob.end());
  }
};

TEST_F(SecretsAtRestTest, NoSecretAppearsInPlaintextInAnyFileOfTheDataDir) {
  const std::string access = UniqueSecret("access"), refresh = UniqueSecret("refresh");
  const std::string api_key = UniqueSecret("apikey"), password = UniqueSecret("password");
  const std::string client_secret = UniqueSecret("clientsecret");
  ImportToken("work", access, refresh);
  MustRun({"connection", "import", "keys", "--provider", "example-api-key"},
          R"({"api_key":")" + api_key + R"("})");
  const std::string provider_file = data_dir() + ".acme.toml";
  WriteFile(provider_file,
            "name = \"acme\"\nauth = \"oauth2\"\ntoken_url = \"https://id.acme.example/token\"\n"
            "api_base_url = \"https://api.acme.example\"\nclient_id = \"acme-client\"\n"
            "client_secret = \"" +
                client_secret + "\"\n");
  MustRun({"provider", "add", "--file", provider_file});
  std::filesystem::remove(provider_file);
  const std::string agent_key = MustRun({"agent", "create", "bot", "--allow", "work:GET"});
  ASSERT_THAT(agent_key, HasSubstr("lk_"));

  // Reading secrets back must not leave plaintext behind either.
  EXPECT_EQ(MustRun({"token", "work"}), access + "\n");
  EXPECT_EQ(MustRun({"token", "keys"}), api_key + "\n");

  std::string bytes = AllBytes(data_dir());
  ASSERT_GT(bytes.size(), 4096u);
  for (const std::string& secret :
       {access, refresh, api_key, client_secret, agent_key.substr(0, agent_key.size() - 1)}) {
    EXPECT_EQ(bytes.find(secret), std::string::npos) << "plaintext found on disk: " << secret.substr(0, 8);
  }
  // The agent key's secret part alone is not on disk either (only its hash is).
  const std::string agent_secret = agent_key.substr(agent_key.rfind('_') + 1, 40);
  EXPECT_EQ(bytes.find(agent_secret), std::string::npos);
  // And the files were checked where the secrets would be: the WAL holds recent writes.
  EXPECT_TRUE(std::filesystem::exists(data_dir() + "/latchkey.db-wal") ||
              std::filesystem::exists(data_dir() + "/latchkey.db"));
}

TEST_F(SecretsAtRestTest, CiphertextMovedToAnotherRowIsRefusedNamingTheConnection) {
  ImportToken("alpha", UniqueSecret("a"), UniqueSecret("ar"));
  ImportToken("beta", UniqueSecret("b"), UniqueSecret("br"));
  {
    SqlitePeek db(Db(data_dir()));
    auto alpha = db.Blob("SELECT access_token FROM connections WHERE name = 'alpha'");
    db.SetBlob("UPDATE connections SET access_token = ? WHERE name = 'beta'", alpha);
  }
  RunResult r = Latchkey({"token", "beta"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.err, HasSubstr("connection 'beta'"));
  EXPECT_THAT(r.err, HasSubstr("access_token"));
  EXPECT_TRUE(r.out.empty()) << "no garbage on stdout";
  EXPECT_EQ(MustRun({"token", "alpha"}).empty(), false);  // the source row is untouched
}

TEST_F(SecretsAtRestTest, CiphertextMovedToAnotherColumnIsRefused) {
  ImportToken("alpha", UniqueSecret("a"), UniqueSecret("ar"));
  {
    SqlitePeek db(Db(data_dir()));
    auto refresh = db.Blob("SELECT refresh_token FROM connections WHERE name = 'alpha'");
    db.SetBlob("UPDATE connections SET access_token = ? WHERE name = 'alpha'", refresh);
  }
  RunResult r = Latchkey({"token", "alpha"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.err, HasSubstr("connection 'alpha'"));
  EXPECT_TRUE(r.out.empty());
}

TEST_F(SecretsAtRestTest, EveryFlippedByteIsRefused) {
  const std::string access = UniqueSecret("a");
  ImportToken("alpha", access, UniqueSecret("ar"));
  std::vector<unsigned char> original;
  {
    SqlitePeek db(Db(data_dir()));
    original = db.Blob("SELECT access_token FROM connections WHERE name = 'alpha'");
  }
  ASSERT_GT(original.size(), 40u);
  // Header, nonce, ciphertext and tag: one position in each region, and the last byte.
  for (std::size_t position :
       {std::size_t{0}, std::size_t{4}, std::size_t{20}, std::size_t{40}, original.size() - 1}) {
    std::vector<unsigned char> flipped = original;
    flipped[position] ^= 0x01;
    {
      SqlitePeek db(Db(data_dir()));
      db.SetBlob("UPDATE connections SET access_token = ? WHERE name = 'alpha'", flipped);
    }
    RunResult r = Latchkey({"token", "alpha"});
    EXPECT_EQ(r.exit_code, 1) << "byte " << position;
    EXPECT_THAT(r.err, HasSubstr("connection 'alpha'")) << "byte " << position;
    EXPECT_TRUE(r.out.empty()) << "byte " << position;
  }
  {
    SqlitePeek db(Db(data_dir()));
    db.SetBlob("UPDATE connections SET access_token = ? WHERE name = 'alpha'", original);
  }
  EXPECT_EQ(MustRun({"token", "alpha"}), access + "\n");
}

TEST_F(SecretsAtRestTest, WrongMasterKeyIsRefusedNamingTheConnectionAndTheKeySource) {
  const std::string access = UniqueSecret("a");
  ImportToken("alpha", access, UniqueSecret("ar"));
  const std::string other_key = MustRun({"key", "generate"});
  RunResult r =
      Latchkey({"token", "alpha"}, "", {{"LATCHKEY_MASTER_KEY", other_key.substr(0, other_key.size() - 1)}});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.err, HasSubstr("connection 'alpha'"));
  EXPECT_THAT(r.err, HasSubstr("LATCHKEY_MASTER_KEY"));
  EXPECT_TRUE(r.out.empty());

  // Same with a replaced key file; nothing is written with the wrong key.
  const std::string key_file = data_dir() + "/master.key";
  const std::string real_key = ReadFile(key_file);
  WriteFile(key_file, other_key);
  r = Latchkey({"token", "alpha"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.err, HasSubstr("connection 'alpha'"));
  EXPECT_THAT(r.err, HasSubstr("master.key"));
  r = Latchkey({"connection", "import", "beta", "--provider", "google"}, TokenJson("x", "y"));
  EXPECT_NE(r.exit_code, 0);
  WriteFile(key_file, real_key);
  EXPECT_EQ(MustRun({"token", "alpha"}), access + "\n");
}

TEST_F(SecretsAtRestTest, MasterKeyRotationKeepsEverySecretReadable) {
  const std::string access = UniqueSecret("a");
  ImportToken("alpha", access, UniqueSecret("ar"));
  const std::string key_before = ReadFile(data_dir() + "/master.key");
  std::string wrapped_before;
  {
    SqlitePeek db(Db(data_dir()));
    auto w = db.Blob("SELECT wrapped FROM data_key_wrappers");
    wrapped_before.assign(w.begin(), w.end());
  }
  MustRun({"key", "rotate"});
  EXPECT_NE(ReadFile(data_dir() + "/master.key"), key_before);
  {
    SqlitePeek db(Db(data_dir()));
    auto w = db.Blob("SELECT wrapped FROM data_key_wrappers");
    EXPECT_NE(std::string(w.begin(), w.end()), wrapped_before) << "the wrapped data key must change";
  }
  EXPECT_EQ(MustRun({"token", "alpha"}), access + "\n");
  // The old master key no longer opens the store.
  RunResult r = Latchkey({"token", "alpha"}, "",
                         {{"LATCHKEY_MASTER_KEY", key_before.substr(0, key_before.find('\n'))}});
  EXPECT_EQ(r.exit_code, 1);
}

TEST_F(SecretsAtRestTest, MasterKeyFromEnvironmentRotatesToTheNewEnvironmentKey) {
  const std::string first = MustRun({"key", "generate"}), second = MustRun({"key", "generate"});
  auto strip = [](const std::string& s) { return s.substr(0, s.size() - 1); };
  const std::string access = UniqueSecret("a");
  MustRun({"connection", "import", "alpha", "--provider", "google"}, TokenJson(access, "r"),
          {{"LATCHKEY_MASTER_KEY", strip(first)}});
  EXPECT_FALSE(std::filesystem::exists(data_dir() + "/master.key"))
      << "no key file when the key is in the env";
  RunResult refused = Latchkey({"key", "rotate"}, "", {{"LATCHKEY_MASTER_KEY", strip(first)}});
  EXPECT_EQ(refused.exit_code, 2);
  EXPECT_THAT(refused.err, HasSubstr("LATCHKEY_NEW_MASTER_KEY"));
  MustRun({"key", "rotate"}, "",
          {{"LATCHKEY_MASTER_KEY", strip(first)}, {"LATCHKEY_NEW_MASTER_KEY", strip(second)}});
  EXPECT_EQ(MustRun({"token", "alpha"}, "", {{"LATCHKEY_MASTER_KEY", strip(second)}}), access + "\n");
  EXPECT_EQ(Latchkey({"token", "alpha"}, "", {{"LATCHKEY_MASTER_KEY", strip(first)}}).exit_code, 1);
}

TEST_F(SecretsAtRestTest, DataKeyRotationReencryptsEverySecret) {
  const std::string access = UniqueSecret("a"), refresh = UniqueSecret("r"), api_key = UniqueSecret("k");
  ImportToken("alpha", access, refresh);
  MustRun({"connection", "import", "keys", "--provider", "example-api-key"},
          R"({"api_key":")" + api_key + R"("})");
  const std::string a1 = Column("alpha", "access_token"), r1 = Column("alpha", "refresh_token");
  const std::string k1 = Column("keys", "api_key");
  std::string out = MustRun({"key", "rotate", "--data-key"});
  EXPECT_THAT(out, HasSubstr("3 secret(s)"));
  EXPECT_NE(Column("alpha", "access_token"), a1);
  EXPECT_NE(Column("alpha", "refresh_token"), r1);
  EXPECT_NE(Column("keys", "api_key"), k1);
  EXPECT_EQ(MustRun({"token", "alpha"}), access + "\n");
  EXPECT_EQ(MustRun({"token", "keys"}), api_key + "\n");
  {
    SqlitePeek db(Db(data_dir()));
    EXPECT_EQ(db.Int("SELECT COUNT(*) FROM data_keys"), 1) << "the old data key is deleted";
  }
  // A second rotation works too (the first left exactly one data key behind).
  MustRun({"key", "rotate", "--data-key"});
  EXPECT_EQ(MustRun({"token", "alpha"}), access + "\n");
}

}  // namespace
}  // namespace latchkey::testing
