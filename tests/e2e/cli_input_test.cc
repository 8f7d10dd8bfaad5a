// Every command answers bad input with exit code 2 (usage) or 1 (failure) and one
// clear sentence on stderr, and changes nothing.
#include <filesystem>

#include "e2e/cli_fixture.h"

namespace latchkey::testing {
namespace {

using ::testing::HasSubstr;

struct BadInput {
  std::string label;
  std::vector<std::string> args;
  std::string stdin_data;
  int exit_code;
  std::string message;  // a part of the sentence on stderr
};

// Test names carry the label; keep gtest from dumping the struct's bytes.
void PrintTo(const BadInput& c, std::ostream* os) { *os << c.label; }

class CliInputTest : public CliTest, public ::testing::WithParamInterface<BadInput> {};

TEST_P(CliInputTest, RefusedWithOneClearSentence) {
  const BadInput& c = GetParam();
  // A known-good connection and agent, so "exists already" cases have something to clash with.
  MustRun({"connection", "import", "existing", "--provider", "google"},
          R"({"access_token":"t1","expires_in":3600})");
  MustRun({"agent", "create", "existing-agent", "--allow", "existing"});
  const std::string before = MustRun({"--json", "connection", "list"});

  std::vector<std::string> args = c.args;
  for (auto& a : args) {
    if (a == "@dir") a = data_dir();
  }
  RunResult r = Latchkey(args, c.stdin_data);
  EXPECT_EQ(r.exit_code, c.exit_code) << "stderr: " << r.err;
  EXPECT_THAT(r.err, HasSubstr(c.message));
  EXPECT_THAT(r.err, HasSubstr("latchkey: error: "));
  EXPECT_TRUE(r.out.empty()) << "stdout: " << r.out;
  // Never a C++ exception text or a library's internal code.
  EXPECT_THAT(r.err, ::testing::Not(HasSubstr("terminate called")));
  EXPECT_THAT(r.err, ::testing::Not(HasSubstr("SQLITE")));
  EXPECT_EQ(MustRun({"--json", "connection", "list"}), before) << "nothing changed";
}

const std::string kToken = R"({"access_token":"tok","expires_in":3600})";

INSTANTIATE_TEST_SUITE_P(
    AllCommands, CliInputTest,
    ::testing::Values(
        BadInput{"NoCommand", {}, "", 2, "A subcommand is required"},
        BadInput{"UnknownCommand", {"frobnicate"}, "", 2, "unknown command 'frobnicate'"},
        BadInput{"ImportWithoutName", {"connection", "import", "--provider", "google"}, kToken, 2, "NAME"},
        BadInput{"ImportWithoutProvider", {"connection", "import", "x"}, kToken, 2, "--provider"},
        BadInput{"ImportUnknownProvider",
                 {"connection", "import", "x", "--provider", "nope"},
                 kToken,
                 1,
                 "unknown provider 'nope'"},
        BadInput{"ImportUnreadableFile",
                 {"connection", "import", "x", "--provider", "google", "--file", "/nonexistent/t.json"},
                 "",
                 1,
                 "cannot read token file '/nonexistent/t.json'"},
        BadInput{"ImportDirectoryAsFile",
                 {"connection", "import", "x", "--provider", "google", "--file", "@dir"},
                 "",
                 1,
                 "cannot read token file"},
        BadInput{"ImportNotJson",
                 {"connection", "import", "x", "--provider", "google"},
                 "access_token=abc",
                 2,
                 "is not valid JSON"},
        BadInput{"ImportEmptyStdin",
                 {"connection", "import", "x", "--provider", "google"},
                 "",
                 2,
                 "is not valid JSON"},
        BadInput{"ImportJsonArray",
                 {"connection", "import", "x", "--provider", "google"},
                 "[1,2]",
                 2,
                 "must hold a JSON object"},
        BadInput{"ImportWithoutAccessToken",
                 {"connection", "import", "x", "--provider", "google"},
                 R"({"refresh_token":"r"})",
                 2,
                 "has no 'access_token'"},
        BadInput{"ImportAccessTokenNotString",
                 {"connection", "import", "x", "--provider", "google"},
                 R"({"access_token":42})",
                 2,
                 "'access_token' must be a string"},
        BadInput{"ImportApiKeyWithoutKey",
                 {"connection", "import", "x", "--provider", "example-api-key"},
                 kToken,
                 2,
                 "has no 'api_key'"},
        BadInput{"ImportBadName",
                 {"connection", "import", "Bad Name", "--provider", "google"},
                 kToken,
                 2,
                 "not a valid connection name"},
        BadInput{"ImportExisting",
                 {"connection", "import", "existing", "--provider", "google"},
                 kToken,
                 1,
                 "exists already"},
        BadInput{"ShowUnknown", {"connection", "show", "ghost"}, "", 1, "connection 'ghost'"},
        BadInput{"ShowWithoutName", {"connection", "show"}, "", 2, "NAME"},
        BadInput{"DisconnectUnknown", {"connection", "disconnect", "ghost"}, "", 1, "connection 'ghost'"},
        BadInput{"TokenUnknown", {"token", "ghost"}, "", 1, "connection 'ghost'"},
        BadInput{"TokenWithoutName", {"token"}, "", 2, "CONNECTION"},
        BadInput{"AgentWithoutRule", {"agent", "create", "bot"}, "", 2, "--allow"},
        BadInput{"AgentBadRule",
                 {"agent", "create", "bot", "--allow", "gmail:FETCH"},
                 "",
                 2,
                 "unknown method 'FETCH'"},
        BadInput{"AgentBadName", {"agent", "create", "-x", "--allow", "a"}, "", 2, ""},
        BadInput{
            "AgentExisting", {"agent", "create", "existing-agent", "--allow", "a"}, "", 1, "exists already"},
        BadInput{"RevokeUnknownAgent", {"agent", "revoke", "ghost"}, "", 1, "agent 'ghost'"},
        BadInput{"ProviderShowUnknown", {"provider", "show", "nope"}, "", 1, "unknown provider 'nope'"},
        BadInput{"ProviderAddWithoutFile", {"provider", "add"}, "", 2, "--file"},
        BadInput{"ProviderAddUnreadable",
                 {"provider", "add", "--file", "/nonexistent.toml"},
                 "",
                 1,
                 "cannot read provider file"},
        BadInput{"ProviderAddMalformedToml",
                 {"provider", "add", "--file", "-"},
                 "name = \"x\nauth=",
                 2,
                 "stdin:1"},
        BadInput{
            "ProviderAddUnknownField",
            {"provider", "add", "--file", "-"},
            "name = \"x\"\nauth = \"api_key\"\napi_base_url = \"https://a.example\"\napi_key_header = \"X\"\n"
            "colour = \"red\"\n",
            2,
            "stdin:5: unknown field 'colour'"},
        BadInput{"ProviderAddPlainHttp",
                 {"provider", "add", "--file", "-"},
                 "name = \"x\"\nauth = \"oauth2\"\ntoken_url = \"http://id.example/token\"\n"
                 "api_base_url = \"https://a.example\"\n",
                 2,
                 "stdin:3: field 'token_url'"},
        BadInput{"KeyRotateUnknownFlag", {"key", "rotate", "--everything"}, "", 2, "--everything"},
        BadInput{"ServeBadListen", {"serve", "--listen", "nowhere"}, "", 2, "HOST:PORT"}),
    [](const ::testing::TestParamInfo<BadInput>& param_info) { return param_info.param.label; });

TEST_F(CliTest, DataDirThatIsAFileIsRefused) {
  const std::string file = data_dir() + "/plain-file";
  WriteFile(file, "x");
  RunResult r = ::latchkey::testing::Run({LatchkeyBinary(), "--data-dir", file, "connection", "list"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.err, HasSubstr("is not a directory"));
}

TEST_F(CliTest, AgentKeyIsPrintedAloneAndOnlyOnce) {
  MustRun({"connection", "import", "work", "--provider", "google"}, kToken);
  std::string key =
      MustRun({"agent", "create", "bot", "--allow", "work:GET,POST:/v1/**", "--allow", "other"});
  ASSERT_EQ(key.back(), '\n');
  key.pop_back();
  EXPECT_EQ(key.find_first_of(" \t\n"), std::string::npos) << "stdout holds the key alone";
  EXPECT_EQ(key.rfind("lk_", 0), 0u);
  std::string list = MustRun({"--json", "agent", "list"});
  // lk_<public id>_<secret>: the secret is base64url and may itself hold '_', so it starts
  // after the second '_', not the last (a short tail could occur in the list by chance).
  const std::string secret = key.substr(key.find('_', 3) + 1);
  ASSERT_EQ(secret.size(), 43U) << key;
  EXPECT_EQ(list.find(secret), std::string::npos) << "list never shows the key";
  EXPECT_THAT(list, HasSubstr("work:GET,POST:/v1/**"));
  MustRun({"agent", "revoke", "bot"});
  EXPECT_THAT(MustRun({"agent", "list"}), HasSubstr("revoked"));
}

TEST_F(CliTest, ProviderAddOverridesABuiltinAndShowsNoSecret) {
  const std::string secret = UniqueSecret("cs");
  MustRun({"provider", "add", "--file", "-"},
          "name = \"google\"\nauth = \"oauth2\"\ntoken_url = \"https://oauth2.googleapis.com/token\"\n"
          "api_base_url = \"https://www.googleapis.com\"\nclient_id = \"mine\"\nclient_secret = \"" +
              secret + "\"\n");
  std::string shown = MustRun({"--json", "provider", "show", "google"});
  EXPECT_THAT(shown, HasSubstr("\"source\": \"store\""));
  EXPECT_THAT(shown, HasSubstr("(stored encrypted)"));
  EXPECT_EQ(shown.find(secret), std::string::npos);
  EXPECT_THAT(MustRun({"provider", "list"}), HasSubstr("slack"));
}

// Freshdesk's built-in entry is a template (the account's subdomain is in its URL) whose
// key is imported: import takes --param as connect does, and lists the template with them.
TEST_F(CliTest, ImportIntoATemplateEntryMakesItsInstanceFirst) {
  EXPECT_THAT(MustRun({"provider", "list"}), HasSubstr("Freshdesk (template: --param domain)"));
  const std::string document = R"({"username": "key-of-acme", "password": "X"})";
  RunResult unasked = Latchkey({"connection", "import", "desk", "--provider", "freshdesk"}, document);
  EXPECT_EQ(unasked.exit_code, 1) << unasked.err;
  EXPECT_THAT(unasked.err, HasSubstr("latchkey connection import NAME --provider freshdesk --param domain="));
  RunResult moved = Latchkey(
      {"connection", "import", "desk", "--provider", "freshdesk", "--param", "domain=acme.evil.example"},
      document);
  EXPECT_NE(moved.exit_code, 0);
  EXPECT_THAT(moved.err, HasSubstr("must be one DNS label"));

  std::string out = MustRun(
      {"connection", "import", "desk", "--provider", "freshdesk", "--param", "domain=acme"}, document);
  EXPECT_THAT(out, HasSubstr("connection 'desk' imported (freshdesk-acme, active)"));
  std::string shown = MustRun({"--json", "provider", "show", "freshdesk-acme"});
  EXPECT_THAT(shown, HasSubstr("\"api_base_url\": \"https://acme.freshdesk.com/api/v2\""));
  RunResult not_template =
      Latchkey({"connection", "import", "g", "--provider", "google", "--param", "x=y"}, kToken);
  EXPECT_NE(not_template.exit_code, 0);
  EXPECT_THAT(not_template.err, HasSubstr("is not a template"));
}

TEST_F(CliTest, ImportReadsTheTokenFileAndShowsMetadataOnly) {
  const std::string file = data_dir() + "/../tokens-" + UniqueSecret("f") + ".json";
  const std::string access = UniqueSecret("at");
  WriteFile(file,
            R"({"access_token":")" + access + R"(","refresh_token":"rt","expires_in":"7200","scope":"a b"})");
  MustRun({"connection", "import", "work", "--provider", "google", "--file", file});
  std::filesystem::remove(file);
  std::string shown = MustRun({"--json", "connection", "show", "work"});
  EXPECT_THAT(shown, HasSubstr("\"has_refresh_token\": true"));
  EXPECT_THAT(shown, HasSubstr("\"status\": \"active\""));
  EXPECT_EQ(shown.find(access), std::string::npos);
  EXPECT_EQ(MustRun({"token", "work"}), access + "\n");
  MustRun({"connection", "disconnect", "work"});
  RunResult r = Latchkey({"token", "work"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.err, HasSubstr("disconnected"));
  // The name can be used again after a disconnect.
  MustRun({"connection", "import", "work", "--provider", "google"}, kToken);
}

}  // namespace
}  // namespace latchkey::testing
