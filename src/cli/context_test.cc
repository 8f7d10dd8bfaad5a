// The CLI in this process: latchkey.toml as ParseConfig reads it, the data dir and
// --store as Context takes them, and whole commands through cli::Run, with their exit
// codes and the one sentence they print.
#include "cli/context.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "crypto/master_key.h"
#include "support/temp_dir.h"

namespace latchkey::cli {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

// A [gateway] setting takes a positive integer. A float there is refused as such; reading
// 8.9e96 through toml++'s integer conversion was undefined behaviour (found by config_fuzz).
TEST(ConfigTest, AGatewaySettingThatIsAFloatIsRefusedWithoutConvertingIt) {
  for (const std::string value : {"8.9e96", "2.5", "-1.0e300", "nan", "inf"}) {
    SCOPED_TRACE(value);
    StatusOr<Config> config = ParseConfig("[gateway]\nmax_connections = " + value + "\n", "latchkey.toml");
    ASSERT_FALSE(config.ok());
    EXPECT_NE(config.status().message().find("takes a positive integer"), std::string::npos)
        << config.status().ToString();
  }
  StatusOr<Config> config = ParseConfig("[gateway]\nmax_connections = 64\n", "latchkey.toml");
  ASSERT_TRUE(config.ok()) << config.status().ToString();
}

TEST(ConfigTest, EverySettingReachesTheConfig) {
  StatusOr<Config> config = ParseConfig(R"(listen = "0.0.0.0:9000"
store = "postgres://db.internal/latchkey"
public_url = "https://vault.example"
log_level = "debug"
env_secret_prefixes = ["ACME_", "LATCHKEY_SECRET_"]
[oauth]
timeout_ms = 2500
[gateway]
workers = 3
max_body_bytes = 1000
upstream_timeout_ms = 7000
upstream_ca_file = "/etc/ca.pem"
[mcp_oauth]
enabled = false
access_token_lifetime_s = 5
refresh_reuse_grace_s = 0
allow_private_metadata_hosts = true
metadata_ca_file = "/etc/test-ca.pem"
[audit]
retention_days = 0
[alerts]
webhook_url = "https://hooks.example/in"
webhook_secret = "env:HOOK"
first_backoff_ms = 50
poll_interval_ms = 60
expiring_days = 10
)",
                                        "latchkey.toml");
  ASSERT_TRUE(config.ok()) << config.status().ToString();
  EXPECT_EQ(config->listen, "0.0.0.0:9000");
  EXPECT_EQ(config->store, "postgres://db.internal/latchkey");
  EXPECT_EQ(config->public_url, "https://vault.example");
  EXPECT_EQ(config->log_level, "debug");
  EXPECT_EQ(config->env_secret_prefixes, (std::vector<std::string>{"ACME_", "LATCHKEY_SECRET_"}));
  EXPECT_EQ(config->oauth_timeout, std::chrono::milliseconds(2500));
  EXPECT_EQ(config->gateway.http.workers, 3);
  EXPECT_EQ(config->gateway.http.max_body_bytes, 1000U);
  EXPECT_EQ(config->gateway.proxy.deadline, std::chrono::milliseconds(7000));
  EXPECT_EQ(config->gateway.upstream.body_stall_timeout, std::chrono::milliseconds(7000));
  EXPECT_EQ(config->gateway.upstream_ca_file, "/etc/ca.pem");
  EXPECT_FALSE(config->gateway.mcp_oauth.enabled);
  EXPECT_EQ(config->gateway.mcp_oauth.access_token_lifetime, std::chrono::seconds(5));
  EXPECT_EQ(config->gateway.mcp_oauth.refresh_reuse_grace, std::chrono::seconds(0));
  EXPECT_TRUE(config->gateway.mcp_oauth.allow_private_metadata_hosts);
  EXPECT_EQ(config->gateway.mcp_oauth.metadata_ca_file, "/etc/test-ca.pem");
  EXPECT_EQ(config->audit_retention_days, 0);
  EXPECT_EQ(config->webhook_url, "https://hooks.example/in");
  EXPECT_EQ(config->webhook_secret_env, "env:HOOK");
  EXPECT_EQ(config->webhook_first_backoff, std::chrono::milliseconds(50));
  EXPECT_EQ(config->webhook_poll_interval, std::chrono::milliseconds(60));
  EXPECT_EQ(config->expiring_within, std::chrono::hours(240));
}

TEST(ConfigTest, TheExpiringWindowIsAWeekUnlessSetInDaysOrAsADuration) {
  EXPECT_EQ(ParseConfig("", "latchkey.toml")->expiring_within, std::chrono::hours(24 * 7));
  EXPECT_EQ(ParseConfig("[alerts]\nexpiring_days = \"30s\"\n", "latchkey.toml")->expiring_within,
            std::chrono::seconds(30));
  EXPECT_EQ(ParseConfig("[alerts]\nexpiring_days = \"12h\"\n", "latchkey.toml")->expiring_within,
            std::chrono::hours(12));
}

TEST(ConfigTest, ABadSettingIsRefusedNamingTheFileTheLineAndTheSetting) {
  struct Case {
    std::string text;
    std::string message;
  };
  for (const Case& c : {
           Case{"colour = \"red\"\n", "/d/latchkey.toml:1: unknown setting 'colour'"},
           Case{"listen = 8787\n", "/d/latchkey.toml:1: 'listen' must be a string"},
           Case{"\n[gateway]\nthreads = 4\n", "/d/latchkey.toml:3: unknown setting 'gateway.threads'"},
           Case{"[gateway]\nworkers = 0\n", "'gateway.workers' takes a positive integer"},
           Case{"[oauth]\ntimeout_ms = -1\n", "'oauth.timeout_ms'"},
           Case{"[audit]\nretention_days = 36501\n", "'audit.retention_days'"},
           Case{"[mcp_oauth]\nenabled = 1\n", "'mcp_oauth.enabled' takes true or false"},
           Case{"[mcp_oauth]\naccess_token_lifetime_s = 0\n", "'mcp_oauth.access_token_lifetime_s'"},
           Case{"[mcp_oauth]\nissuer = \"x\"\n", "unknown setting 'mcp_oauth.issuer'"},
           Case{"[mcp_oauth]\nrefresh_reuse_grace_s = 61\n", "0 to 60"},
           Case{"[alerts]\nwebhook = \"x\"\n", "unknown setting 'alerts.webhook'"},
           Case{"[alerts]\nexpiring_days = 0\n", "'alerts.expiring_days' takes a whole number of days"},
           Case{"[alerts]\nexpiring_days = \"7 days\"\n", "'alerts.expiring_days'"},
           Case{"[alerts]\nexpiring_days = 3651\n", "from 1 to 3650"},
           Case{"env_secret_prefixes = [\"AB\"]\n", "at least four"},
           Case{"env_secret_prefixes = [\"AB-CD\"]\n", "at least four"},
           Case{"listen = \"127.0.0.1:1\nstore", "/d/latchkey.toml:1:"},
       }) {
    SCOPED_TRACE(c.text);
    StatusOr<Config> config = ParseConfig(c.text, "/d/latchkey.toml");
    ASSERT_FALSE(config.ok());
    EXPECT_EQ(config.status().code(), StatusCode::kInvalidArgument);
    EXPECT_THAT(std::string(config.status().message()), HasSubstr(c.message));
  }
}

class ContextTest : public ::testing::Test {
 protected:
  void WriteConfig(const std::string& text) { std::ofstream(dir_.path() / "latchkey.toml") << text; }
  testing::ScopedTempDir dir_;
  Context context_ = [this] {
    Context context;
    context.data_dir_option = dir_.path().string();
    return context;
  }();
};

TEST_F(ContextTest, TheDataDirIsCreatedPrivateAndAFileInItsPlaceIsRefused) {
  context_.data_dir_option = (dir_.path() / "new" / "data").string();
  StatusOr<std::filesystem::path> made = context_.DataDir();
  ASSERT_TRUE(made.ok()) << made.status().ToString();
  struct stat info {};
  ASSERT_EQ(::stat(made->c_str(), &info), 0);
  EXPECT_EQ(info.st_mode & 0777, 0700U);

  std::ofstream(dir_.path() / "plain") << "x";
  context_.data_dir_option = (dir_.path() / "plain").string();
  StatusOr<std::filesystem::path> file = context_.DataDir();
  ASSERT_FALSE(file.ok());
  EXPECT_THAT(std::string(file.status().message()), HasSubstr("is not a directory"));
}

TEST_F(ContextTest, TheConfigComesFromTheDataDirAndStoreReplacesItsStore) {
  StatusOr<Config> defaults = context_.LoadConfig();
  ASSERT_TRUE(defaults.ok()) << defaults.status().ToString();
  EXPECT_EQ(defaults->store, "sqlite");
  EXPECT_EQ(defaults->listen, "127.0.0.1:8787");

  WriteConfig("listen = \"127.0.0.1:9999\"\nstore = \"postgres://db/one\"\n");
  context_.store_option = "postgres://db/two";
  StatusOr<Config> config = context_.LoadConfig();
  ASSERT_TRUE(config.ok()) << config.status().ToString();
  EXPECT_EQ(config->listen, "127.0.0.1:9999");
  EXPECT_EQ(config->store, "postgres://db/two");

  WriteConfig("listen = 1\n");
  StatusOr<Config> bad = context_.LoadConfig();
  ASSERT_FALSE(bad.ok());
  EXPECT_THAT(std::string(bad.status().message()),
              HasSubstr((dir_.path() / "latchkey.toml").string() + ":1:"));
}

// The packaged service reads /etc/latchkey/latchkey.toml and keeps its data in
// /var/lib/latchkey: --config (or $LATCHKEY_CONFIG) names the file, which must exist.
TEST_F(ContextTest, ConfigOrLatchkeyConfigNamesTheSettingsFileWhichMustExist) {
  WriteConfig("listen = \"127.0.0.1:1111\"\n");
  const std::filesystem::path etc = dir_.path() / "etc.toml";
  std::ofstream(etc) << "listen = \"127.0.0.1:2222\"\n";

  context_.config_option = etc.string();
  StatusOr<Config> named = context_.LoadConfig();
  ASSERT_TRUE(named.ok()) << named.status().ToString();
  EXPECT_EQ(named->listen, "127.0.0.1:2222") << "the data dir's latchkey.toml is not read";

  context_.config_option.clear();
  ASSERT_EQ(::setenv("LATCHKEY_CONFIG", etc.c_str(), 1), 0);
  StatusOr<Config> from_env = context_.LoadConfig();
  ::unsetenv("LATCHKEY_CONFIG");
  ASSERT_TRUE(from_env.ok()) << from_env.status().ToString();
  EXPECT_EQ(from_env->listen, "127.0.0.1:2222");

  context_.config_option = (dir_.path() / "missing.toml").string();
  StatusOr<Config> missing = context_.LoadConfig();
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.status().code(), StatusCode::kNotFound);
  EXPECT_THAT(std::string(missing.status().message()), HasSubstr("missing.toml does not exist"));
}

// systemd's LoadCredential= puts the master key in $CREDENTIALS_DIRECTORY/master.key: it is
// used as it is, and no key file is made in the data dir.
TEST_F(ContextTest, AMasterKeyCredentialIsUsedAndNoKeyFileIsMade) {
  testing::ScopedTempDir credentials;
  const std::filesystem::path credential = credentials.path() / "master.key";
  const crypto::SymmetricKey key = crypto::SymmetricKey::Generate();
  std::ofstream(credential) << crypto::EncodeMasterKey(key).reveal() << "\n";
  ::chmod(credential.c_str(), 0400);

  ASSERT_EQ(::setenv("CREDENTIALS_DIRECTORY", credentials.path().c_str(), 1), 0);
  StatusOr<vault::Vault*> vault = context_.Vault();
  ::unsetenv("CREDENTIALS_DIRECTORY");
  ASSERT_TRUE(vault.ok()) << vault.status().ToString();
  EXPECT_EQ((*vault)->keys().master_key_source(), "key file " + credential.string());
  EXPECT_FALSE(std::filesystem::exists(dir_.path() / "master.key"));
  auto sealed = (*vault)->keys().Seal("kept", {.table = "t", .row_id = "1", .column = "c"});
  EXPECT_TRUE(sealed.ok()) << sealed.status().ToString();
}

// argv is readable by every user of the machine: a password there is refused, unrepeated.
TEST_F(ContextTest, AStoreOptionThatCarriesAPasswordIsRefusedWithoutRepeatingIt) {
  for (const std::string url :
       {"postgres://u:hunter2@db/latchkey", "postgresql://db/latchkey?password=hunter2"}) {
    SCOPED_TRACE(url);
    context_.store_option = url;
    StatusOr<Config> config = context_.LoadConfig();
    ASSERT_FALSE(config.ok());
    EXPECT_EQ(config.status().code(), StatusCode::kInvalidArgument);
    EXPECT_THAT(std::string(config.status().message()), HasSubstr("must not carry a password"));
    EXPECT_THAT(std::string(config.status().message()), Not(HasSubstr("hunter2")));
  }
}

TEST_F(ContextTest, AStoreThatIsNeitherSqliteNorPostgresIsRefusedWithoutEchoingIt) {
  WriteConfig("store = \"mysql://u:hunter2@db/latchkey\"\n");
  StatusOr<vault::Vault*> vault = context_.Vault();
  ASSERT_FALSE(vault.ok());
  EXPECT_THAT(std::string(vault.status().message()), HasSubstr("not supported"));
  EXPECT_THAT(std::string(vault.status().message()), Not(HasSubstr("hunter2")));
  EXPECT_FALSE(std::filesystem::exists(dir_.path() / "master.key")) << "nothing was made";
}

// Whole commands, run in this process as the binary runs them.
class RunTest : public ContextTest {
 protected:
  struct Result {
    int exit_code;
    std::string out;
    std::string err;
  };
  Result Latchkey(std::vector<std::string> args) {
    args.insert(args.begin(), {"latchkey", "--data-dir", dir_.path().string()});
    std::vector<char*> argv;
    for (std::string& arg : args) argv.push_back(arg.data());
    ::testing::internal::CaptureStdout();
    ::testing::internal::CaptureStderr();
    const int code = cli::Run(static_cast<int>(argv.size()), argv.data());
    Result result{.exit_code = code, .out = "", .err = ""};
    result.out = ::testing::internal::GetCapturedStdout();
    result.err = ::testing::internal::GetCapturedStderr();
    return result;
  }
};

TEST_F(RunTest, ServeRefusesAListenAddressThatIsNotHostAndPortBeforeOpeningTheStore) {
  for (const std::string listen : {"nowhere", "127.0.0.1:65536", "127.0.0.1:8o", "[::1]", "u@127.0.0.1:80"}) {
    SCOPED_TRACE(listen);
    Result result = Latchkey({"serve", "--listen", listen});
    EXPECT_EQ(result.exit_code, kExitUsage);
    EXPECT_THAT(result.err, HasSubstr("latchkey: error: '" + listen + "' is not a usable listening address"));
  }
  WriteConfig("listen = \"0.0.0.0\"\n");
  Result result = Latchkey({"serve"});
  EXPECT_EQ(result.exit_code, kExitUsage);
  EXPECT_THAT(result.err, HasSubstr("names no port"));
  EXPECT_FALSE(std::filesystem::exists(dir_.path() / "latchkey.db")) << "the store was opened";
}

TEST_F(RunTest, VersionPrintsTheReleaseAndTheCommitAndNeedsNoCommand) {
  Result result = Latchkey({"--version"});
  EXPECT_EQ(result.exit_code, kExitOk) << result.err;
  EXPECT_THAT(result.out, ::testing::MatchesRegex("latchkey [0-9]+\\.[0-9]+\\.[0-9]+ \\(commit [^ )]+\\)\n"));
  EXPECT_FALSE(std::filesystem::exists(dir_.path() / "latchkey.db")) << "nothing was opened";
}

TEST_F(RunTest, AStoreWithAPasswordOnTheCommandLineIsAUsageErrorThatDoesNotRepeatIt) {
  Result result = Latchkey({"--store", "postgres://u:hunter2@127.0.0.1:1/x", "agent", "list"});
  EXPECT_EQ(result.exit_code, kExitUsage);
  EXPECT_THAT(result.err, HasSubstr("--store must not carry a password"));
  EXPECT_THAT(result.err, Not(HasSubstr("hunter2")));
  EXPECT_EQ(result.out, "");
}

TEST_F(RunTest, AnAgentMadeByOneCommandIsListedByTheNextAndItsKeyIsShownOnce) {
  Result created = Latchkey({"agent", "create", "bot", "--allow", "work:GET:/v1/**"});
  ASSERT_EQ(created.exit_code, kExitOk) << created.err;
  EXPECT_THAT(created.out, HasSubstr("lk_"));
  Result listed = Latchkey({"--json", "agent", "list"});
  ASSERT_EQ(listed.exit_code, kExitOk) << listed.err;
  nlohmann::json agents = nlohmann::json::parse(listed.out);
  ASSERT_EQ(agents.size(), 1U) << listed.out;
  EXPECT_EQ(agents[0]["name"], "bot");
  EXPECT_THAT(listed.out, Not(HasSubstr("lk_"))) << "a key is shown only when made";

  Result unknown = Latchkey({"frobnicate"});
  EXPECT_EQ(unknown.exit_code, kExitUsage);
  EXPECT_THAT(unknown.err, HasSubstr("unknown command 'frobnicate'"));
}

// A connection's forecast in show and doctor, and the operator's rule that replaces the
// provider's: Google's 180 idle days are far off; a 3-day lifetime (a Google app in
// "Testing" gets 7) is within doctor's week, so doctor exits 3 naming the date.
TEST_F(RunTest, AnOperatorsRuleChangesTheForecastThatShowAndDoctorReport) {
  std::ofstream(dir_.path() / "tokens.json")
      << R"({"access_token":"a1","refresh_token":"r1","expires_in":3600})";
  const TimePoint before = SystemClock::Instance().Now();
  Result imported = Latchkey({"connection", "import", "work", "--provider", "google", "--file",
                              (dir_.path() / "tokens.json").string()});
  ASSERT_EQ(imported.exit_code, kExitOk) << imported.err;

  Result shown = Latchkey({"--json", "connection", "show", "work"});
  ASSERT_EQ(shown.exit_code, kExitOk) << shown.err;
  nlohmann::json work = nlohmann::json::parse(shown.out);
  EXPECT_EQ(work["refresh_expiry_source"], "provider_rule");
  // 180 days from the import (RFC 3339 in UTC compares as text).
  const std::string forecast = work["refresh_expires_at"];
  EXPECT_GE(forecast, FormatRfc3339(before + std::chrono::hours(24 * 180) - std::chrono::seconds(1)));
  EXPECT_LE(forecast, FormatRfc3339(SystemClock::Instance().Now() + std::chrono::hours(24 * 180)));
  EXPECT_EQ(Latchkey({"doctor"}).exit_code, kExitOk);

  Result set = Latchkey({"connection", "set", "work", "--refresh-token-lifetime", "3d"});
  ASSERT_EQ(set.exit_code, kExitOk) << set.err;
  EXPECT_THAT(set.out, HasSubstr("(operator)"));
  Result doctor = Latchkey({"doctor"});
  EXPECT_EQ(doctor.exit_code, kExitNeedsHuman);
  EXPECT_THAT(doctor.out, HasSubstr("forecast to stop working at "));
  EXPECT_THAT(doctor.out, HasSubstr("(operator)"));
  shown = Latchkey({"--json", "connection", "show", "work"});
  work = nlohmann::json::parse(shown.out);
  EXPECT_EQ(work["refresh_token_lifetime"], "3d");
  EXPECT_EQ(work["refresh_expiry_source"], "operator");

  Result bad = Latchkey({"connection", "set", "work", "--refresh-token-idle-lifetime", "soon"});
  EXPECT_EQ(bad.exit_code, kExitUsage);
  EXPECT_THAT(bad.err, HasSubstr("takes a duration such as 7d"));
  ASSERT_EQ(Latchkey({"connection", "set", "work", "--refresh-token-lifetime", "provider"}).exit_code,
            kExitOk);
  EXPECT_EQ(Latchkey({"doctor"}).exit_code, kExitOk) << "the provider's rule again";
}

}  // namespace
}  // namespace latchkey::cli
