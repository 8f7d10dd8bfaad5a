// Backup and restore (issue 24) with the real daemon, the real authorization server
// (refresh-token rotation and reuse detection on) and both stores: a backup taken while
// agents call through the gateway and tokens expire every few seconds, restored into a
// fresh SQLite data dir and from there, the same way, into a fresh PostgreSQL database.
// Every connection refreshes, hands out a token and serves a proxied call afterwards,
// without a human consenting again and without presenting a spent refresh token.
#include <sys/stat.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <regex>
#include <thread>

#include "e2e/gateway_fixture.h"
#include "store/postgres_test_cluster.h"

namespace latchkey::testing {
namespace {

using nlohmann::json;
using ::testing::HasSubstr;
using namespace std::chrono_literals;

class BackupTest : public GatewayTest {
 protected:
  // Runs `latchkey --data-dir DIR args...` with the master key of DIR's file.
  static RunResult In(const std::string& dir, std::vector<std::string> args) {
    args.insert(args.begin(), {LatchkeyBinary(), "--data-dir", dir});
    RunOptions options;
    options.unset_env = {"LATCHKEY_MASTER_KEY", "LATCHKEY_NEW_MASTER_KEY", "LATCHKEY_DATA_DIR"};
    return ::latchkey::testing::Run(args, options);
  }

  // A new data dir holding the source's master key (as an operator copies it), and
  // `toml` as its latchkey.toml.
  std::string NewDataDir(const std::string& toml) {
    dirs_.push_back(std::make_unique<TempDir>());
    const std::string dir = dirs_.back()->path();
    std::filesystem::copy_file(data_dir() + "/master.key", dir + "/master.key");
    std::filesystem::permissions(dir + "/master.key",
                                 std::filesystem::perms::owner_read | std::filesystem::perms::owner_write);
    WriteFile(dir + "/latchkey.toml", "log_level = \"debug\"\n" + toml);
    return dir;
  }

  // `latchkey serve` on `dir`; returns its port.
  int Serve(const std::string& dir) {
    RunOptions options;
    options.unset_env = {"LATCHKEY_MASTER_KEY", "LATCHKEY_DATA_DIR"};
    servers_.push_back(std::make_unique<Background>(
        std::vector<std::string>{LatchkeyBinary(), "--data-dir", dir, "serve", "--listen", "127.0.0.1:0"},
        options));
    const std::regex serving(R"(serving on http://127\.0\.0\.1:(\d+))");
    for (int i = 0; i < 400; ++i) {
      std::smatch m;
      const std::string log = ReadFile(servers_.back()->stderr_path());
      if (std::regex_search(log, m, serving)) return std::stoi(m[1]);
      std::this_thread::sleep_for(25ms);
    }
    ADD_FAILURE() << ReadFile(servers_.back()->stderr_path());
    return 0;
  }

  // What a restored store must do for each connection, without a human: refresh (the
  // refresh token it holds is the latest one), hand out its token, and serve a call.
  void ExpectEveryConnectionWorks(const std::string& dir, const std::string& key) {
    for (const std::string name : {"work", "home"}) {
      SCOPED_TRACE(dir + ": " + name);
      RunResult refreshed = In(dir, {"connection", "refresh", name});
      EXPECT_EQ(refreshed.exit_code, 0) << refreshed.err;
      RunResult token = In(dir, {"token", name});
      EXPECT_EQ(token.exit_code, 0) << token.err;
      EXPECT_GT(token.out.size(), 10U);
    }
    RunResult listed = In(dir, {"--json", "connection", "list"});
    ASSERT_EQ(listed.exit_code, 0) << listed.err;
    for (const json& connection : json::parse(listed.out)) {
      EXPECT_EQ(connection["status"], "active") << connection.dump();
    }
    const int port = Serve(dir);
    ASSERT_GT(port, 0);
    for (const std::string name : {"work", "home"}) {
      RawReply reply = RawExchange(
          port, BuildRequest("GET", "/proxy/" + name + "/read", {{"Authorization", "Bearer " + key}}));
      EXPECT_EQ(reply.status, 200) << dir << " " << name << ": " << reply.raw.substr(0, 400);
    }
    EXPECT_EQ(servers_.back()->Stop(SIGTERM), 0);
  }

  std::vector<std::unique_ptr<TempDir>> dirs_;
  std::vector<std::unique_ptr<Background>> servers_;
};

TEST_F(BackupTest, AFinalBackupUnderLoadRestoresIntoSqliteThenPostgresWithoutConsentOrReuse) {
  constexpr int kTtl = 3;  // tokens expire during the load, so the source is refreshing
  StartOAuthServers(kTtl);
  ImportGrant("work", "alice", kTtl);
  ImportGrant("home", "bob", kTtl);
  const std::string key = CreateAgent("bot", {"work:GET:/read", "home:GET:/read"});
  StartGateway();

  std::atomic<bool> stop{false};
  std::atomic<int> ok{0};
  std::vector<std::thread> agents;
  for (int a = 0; a < 4; ++a) {
    agents.emplace_back([&, a] {
      const std::string target = a % 2 == 0 ? "/proxy/work/read" : "/proxy/home/read";
      for (int i = 0; i < 2000 && !stop; ++i) {
        // RawExchange, not Call: Call records every answer in the fixture, which is no place
        // for four threads at once (a double free in CI).
        RawReply reply =
            RawExchange(port_, BuildRequest("GET", target, {{"Authorization", "Bearer " + key}}));
        if (reply.status == 200) ++ok;
        std::this_thread::sleep_for(20ms);
      }
    });
  }
  std::this_thread::sleep_for(std::chrono::seconds(kTtl + 2));  // at least one refresh each
  const std::string file = data_dir() + "/state.backup";
  RunResult backup = Latchkey({"backup", "--final", file});
  EXPECT_EQ(backup.exit_code, 0) << backup.err;
  EXPECT_THAT(backup.out, HasSubstr("starts no token refresh from now on"));
  std::this_thread::sleep_for(std::chrono::seconds(kTtl + 1));  // the source meets expiries, fenced
  stop = true;
  for (auto& agent : agents) agent.join();
  EXPECT_GT(ok.load(), 20) << GatewayLog().substr(0, 3000);
  ASSERT_EQ(gateway_->Stop(SIGTERM), 0);
  EXPECT_THAT(GatewayLog(), HasSubstr("handed over")) << "an expiry after the backup met the fence";
  struct stat info {};
  ASSERT_EQ(::stat(file.c_str(), &info), 0);
  EXPECT_EQ(info.st_mode & 0777, 0600U);
  const std::string contents = ReadFile(file);
  for (const std::string& secret : secrets_) {
    if (!secret.empty()) {
      EXPECT_EQ(contents.find(secret), std::string::npos) << "a secret in the backup";
    }
  }
  const int refreshes_at_source = Stats(*as_)["refresh_requests"].get<int>();
  EXPECT_GE(refreshes_at_source, 2) << "the backup was taken while tokens were being refreshed";

  // Into a fresh SQLite store.
  const std::string sqlite_dir = NewDataDir("");
  RunResult restored = In(sqlite_dir, {"restore", file});
  ASSERT_EQ(restored.exit_code, 0) << restored.err;
  EXPECT_THAT(restored.out, HasSubstr("from a backup of a sqlite store"));
  EXPECT_EQ(restored.err, "") << "a final backup needs no warning";
  ExpectEveryConnectionWorks(sqlite_dir, key);

  // From there into a fresh PostgreSQL database, the migration the README describes.
  auto cluster = store::testing::PostgresTestCluster::Get();
  ASSERT_TRUE(cluster.ok()) << cluster.status().ToString();
  const std::string database = "latchkey_backup_" + SystemRandom::Instance().Hex(6);
  ASSERT_TRUE((*cluster)->Admin("CREATE DATABASE " + database).ok());
  const std::string pg_file = sqlite_dir + ".backup";
  RunResult moved = In(sqlite_dir, {"backup", "--final", pg_file});
  ASSERT_EQ(moved.exit_code, 0) << moved.err;
  const std::string pg_dir = NewDataDir("store = \"" + (*cluster)->Url(database) + "\"\n");
  RunResult into_pg = In(pg_dir, {"restore", pg_file});
  ASSERT_EQ(into_pg.exit_code, 0) << into_pg.err;
  EXPECT_THAT(into_pg.out, HasSubstr("from a backup of a sqlite store"));
  ExpectEveryConnectionWorks(pg_dir, key);

  const json stats = Stats(*as_);
  EXPECT_EQ(stats["reused_refresh_tokens"], 0) << stats.dump();
  EXPECT_GE(stats["refresh_requests"].get<int>(), refreshes_at_source + 4) << stats.dump();
}

// A damaged file, or the wrong master key, is refused before anything is written.
TEST_F(BackupTest, AFlippedByteOrAnotherMasterKeyIsRefusedAndNothingIsWritten) {
  StartOAuthServers();
  ImportGrant("work", "alice");
  CreateAgent("bot", {"work:GET:/read"});
  const std::string file = data_dir() + "/state.backup";
  MustRun({"backup", file});

  std::string flipped = ReadFile(file);
  flipped[flipped.size() / 2] = static_cast<char>(flipped[flipped.size() / 2] ^ 0x01);
  const std::string bad = data_dir() + "/flipped.backup";
  WriteFile(bad, flipped);
  const std::string dir = NewDataDir("");
  RunResult refused = In(dir, {"restore", bad});
  EXPECT_NE(refused.exit_code, 0);
  EXPECT_THAT(refused.err, HasSubstr("nothing was written"));
  RunResult none = In(dir, {"--json", "agent", "list"});
  EXPECT_EQ(json::parse(none.out).size(), 0U) << none.out;

  dirs_.push_back(std::make_unique<TempDir>());
  const std::string other = dirs_.back()->path();
  RunResult wrong_key = In(other, {"restore", file});  // no master key there: refused, none made
  EXPECT_NE(wrong_key.exit_code, 0);
  EXPECT_THAT(wrong_key.err, HasSubstr("no master key"));
  EXPECT_FALSE(std::filesystem::exists(other + "/master.key"));
  ASSERT_EQ(In(other, {"agent", "list"}).exit_code, 0);  // makes a master key of its own
  RunResult foreign = In(other, {"restore", file});
  EXPECT_NE(foreign.exit_code, 0);
  EXPECT_THAT(foreign.err, HasSubstr("master key"));
  EXPECT_THAT(foreign.err, HasSubstr("nothing was written"));
  EXPECT_EQ(json::parse(In(other, {"--json", "connection", "list"}).out).size(), 0U);

  RunResult good = In(NewDataDir(""), {"restore", file});
  EXPECT_EQ(good.exit_code, 0) << good.err;
  EXPECT_THAT(good.err, HasSubstr("was not made with --final")) << "a plain backup warns";
}

// After `backup --final` the old node must leave the load balancer's rotation and its
// operator must hear of it: /readyz answers 503 saying the store was handed over, and
// `doctor` asks for a human, until `backup --resume` lifts the fence.
TEST_F(BackupTest, AHandedOverStoreIsNotReadyAndDoctorSaysSoUntilResumed) {
  StartOAuthServers();
  ImportGrant("work", "alice");
  StartGateway();
  auto ready = [&] { return RawExchange(port_, BuildRequest("GET", "/readyz", {})); };
  EXPECT_EQ(ready().status, 200);
  EXPECT_EQ(Latchkey({"doctor"}).exit_code, 0);

  const std::string file = data_dir() + "/state.backup";
  MustRun({"backup", "--final", file});
  const RawReply fenced = ready();
  EXPECT_EQ(fenced.status, 503) << fenced.raw;
  EXPECT_THAT(fenced.raw, HasSubstr("handed over to another")) << fenced.raw;
  const RunResult doctor = Latchkey({"doctor"});
  EXPECT_EQ(doctor.exit_code, 3) << doctor.out << doctor.err;
  EXPECT_THAT(doctor.out, HasSubstr("handed over to another"));
  EXPECT_THAT(doctor.out, HasSubstr("backup --resume"));

  MustRun({"backup", "--resume"});
  EXPECT_EQ(ready().status, 200);
  EXPECT_EQ(Latchkey({"doctor"}).exit_code, 0);
}

}  // namespace
}  // namespace latchkey::testing
