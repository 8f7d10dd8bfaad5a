#include "crypto/master_key.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <fstream>
#include <latch>
#include <set>
#include <thread>
#include <vector>

#include "support/temp_dir.h"

namespace latchkey::crypto {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;
using ::testing::Not;

class MasterKeyTest : public ::testing::Test {
 protected:
  fs::path KeyFile() const { return dir_.path() / "master.key"; }

  void WriteFile(const fs::path& path, std::string_view contents, fs::perms perms) {
    std::ofstream(path) << contents;
    fs::permissions(path, perms);
  }

  static fs::perms Perms(const fs::path& path) { return fs::status(path).permissions() & fs::perms::mask; }

  std::size_t FilesInDir() const {
    return static_cast<std::size_t>(
        std::distance(fs::directory_iterator(dir_.path()), fs::directory_iterator()));
  }

  testing::ScopedTempDir dir_;
};

constexpr fs::perms k0600 = fs::perms::owner_read | fs::perms::owner_write;
constexpr fs::perms k0644 = k0600 | fs::perms::group_read | fs::perms::others_read;

TEST(MasterKeyCodecTest, EncodeParseRoundTripsWithIdAndSource) {
  SymmetricKey key = SymmetricKey::Generate();
  SecretString encoded = EncodeMasterKey(key);
  EXPECT_TRUE(encoded.reveal().starts_with("lkmk1."));
  EXPECT_EQ(encoded.size(), 6u + 43u);
  for (std::string suffix : {"", "\n", "\r\n", "  \n"}) {
    StatusOr<MasterKey> parsed = ParseMasterKey(std::string(encoded.reveal()) + suffix, "test");
    ASSERT_TRUE(parsed.ok()) << parsed.status().ToString();
    EXPECT_EQ(Bytes(parsed->key.bytes().begin(), parsed->key.bytes().end()),
              Bytes(key.bytes().begin(), key.bytes().end()));
    EXPECT_EQ(parsed->id, MasterKeyId(key));
    EXPECT_EQ(parsed->source, "test");
  }
}

TEST(MasterKeyCodecTest, IdIsStableShortHexAndDiffersPerKey) {
  SymmetricKey a = SymmetricKey::Generate();
  SymmetricKey b = SymmetricKey::Generate();
  std::string id = MasterKeyId(a);
  EXPECT_EQ(id.size(), 16u);
  EXPECT_EQ(id.find_first_not_of("0123456789abcdef"), std::string::npos);
  EXPECT_EQ(MasterKeyId(a), id);
  EXPECT_NE(MasterKeyId(b), id);
  EXPECT_THAT(HexEncode(a.bytes()), Not(HasSubstr(id)));
}

TEST(MasterKeyCodecTest, MalformedInputIsRefusedWithoutEchoingIt) {
  const std::string body = Base64UrlEncode(SymmetricKey::Generate().bytes());
  const std::string short_body = Base64UrlEncode(Bytes(31, 0xab));
  const std::string long_body = Base64UrlEncode(Bytes(33, 0xcd));
  struct Case {
    std::string input;
    std::string why;
  };
  for (const Case& c :
       std::vector<Case>{{"lkmk2." + body, "does not start"},
                         {"LKMK1." + body, "does not start"},
                         {" lkmk1." + body, "does not start"},
                         {body, "does not start"},
                         {"", "does not start"},
                         {"lkmk1." + body.substr(0, 20) + "!!" + body.substr(22), "base64url"},
                         {"lkmk1." + body + "\nextra", "base64url"},
                         {"lkmk1." + short_body, "31 bytes"},
                         {"lkmk1." + long_body, "33 bytes"},
                         {"lkmk1.", "0 bytes"}}) {
    StatusOr<MasterKey> parsed = ParseMasterKey(c.input, "LATCHKEY_MASTER_KEY");
    ASSERT_FALSE(parsed.ok()) << c.why;
    EXPECT_EQ(parsed.status().code(), StatusCode::kInvalidArgument);
    const std::string message = parsed.status().message();
    EXPECT_THAT(message, HasSubstr("LATCHKEY_MASTER_KEY"));
    EXPECT_THAT(message, HasSubstr(c.why));
    EXPECT_THAT(message, Not(HasSubstr(body.substr(0, 12))));
    EXPECT_THAT(message, Not(HasSubstr(short_body.substr(0, 12))));
    EXPECT_THAT(message, Not(HasSubstr(long_body.substr(0, 12))));
  }
}

TEST_F(MasterKeyTest, FirstLoadCreatesPrivateFileAndSecondLoadReadsIt) {
  StatusOr<MasterKey> first = LoadMasterKey(std::nullopt, KeyFile(), /*create_if_missing=*/true);
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  EXPECT_EQ(Perms(KeyFile()), k0600);
  EXPECT_EQ(first->source, "key file " + KeyFile().string());
  EXPECT_EQ(FilesInDir(), 1u) << "temporary file left behind";

  StatusOr<MasterKey> second = LoadMasterKey(std::nullopt, KeyFile(), /*create_if_missing=*/false);
  ASSERT_TRUE(second.ok()) << second.status().ToString();
  EXPECT_EQ(second->id, first->id);

  std::ifstream in(KeyFile());
  std::string contents((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_EQ(contents, std::string(EncodeMasterKey(first->key).reveal()) + "\n");
}

TEST_F(MasterKeyTest, MissingFileWithoutCreateIsNotFoundNamingThePath) {
  StatusOr<MasterKey> loaded = LoadMasterKey(std::nullopt, KeyFile(), /*create_if_missing=*/false);
  ASSERT_FALSE(loaded.ok());
  EXPECT_EQ(loaded.status().code(), StatusCode::kNotFound);
  EXPECT_THAT(loaded.status().message(), HasSubstr(KeyFile().string()));
  EXPECT_FALSE(fs::exists(KeyFile()));
}

TEST_F(MasterKeyTest, FileReadableByOthersIsRefused) {
  SecretString encoded = EncodeMasterKey(SymmetricKey::Generate());
  for (fs::perms perms : {k0644, k0600 | fs::perms::group_read, k0600 | fs::perms::others_write}) {
    WriteFile(KeyFile(), encoded.reveal(), perms);
    StatusOr<MasterKey> loaded = LoadMasterKey(std::nullopt, KeyFile(), /*create_if_missing=*/true);
    ASSERT_FALSE(loaded.ok());
    EXPECT_EQ(loaded.status().code(), StatusCode::kFailedPrecondition);
    EXPECT_THAT(loaded.status().message(), HasSubstr(KeyFile().string()));
    EXPECT_THAT(loaded.status().message(), HasSubstr("chmod 600"));
    EXPECT_THAT(loaded.status().message(), Not(HasSubstr(encoded.reveal().substr(6, 12))));
  }
}

TEST_F(MasterKeyTest, MalformedFileNamesTheFile) {
  WriteFile(KeyFile(), "not a key\n", k0600);
  StatusOr<MasterKey> loaded = LoadMasterKey(std::nullopt, KeyFile(), /*create_if_missing=*/true);
  ASSERT_FALSE(loaded.ok());
  EXPECT_EQ(loaded.status().code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(loaded.status().message(), HasSubstr("key file " + KeyFile().string()));
  EXPECT_THAT(loaded.status().message(), Not(HasSubstr("not a key")));
}

TEST_F(MasterKeyTest, EnvironmentValueWinsOverFile) {
  SymmetricKey file_key = SymmetricKey::Generate();
  SymmetricKey env_key = SymmetricKey::Generate();
  ASSERT_TRUE(WriteKeyFile(KeyFile(), file_key).ok());
  StatusOr<MasterKey> loaded = LoadMasterKey(EncodeMasterKey(env_key), KeyFile(), /*create_if_missing=*/true);
  ASSERT_TRUE(loaded.ok()) << loaded.status().ToString();
  EXPECT_EQ(loaded->id, MasterKeyId(env_key));
  EXPECT_EQ(loaded->source, "LATCHKEY_MASTER_KEY");

  // A broken env value is an error, not a reason to fall back to the file.
  StatusOr<MasterKey> broken = LoadMasterKey(SecretString("lkmk1.nope"), KeyFile(), true);
  ASSERT_FALSE(broken.ok());
  EXPECT_THAT(broken.status().message(), HasSubstr("LATCHKEY_MASTER_KEY"));
}

TEST_F(MasterKeyTest, EnvironmentValueNeedsNoFile) {
  SymmetricKey env_key = SymmetricKey::Generate();
  StatusOr<MasterKey> loaded = LoadMasterKey(EncodeMasterKey(env_key), KeyFile(), /*create_if_missing=*/true);
  ASSERT_TRUE(loaded.ok());
  EXPECT_FALSE(fs::exists(KeyFile()));
}

TEST_F(MasterKeyTest, ConcurrentFirstLoadsFromThreadsAgree) {
  constexpr int kThreads = 16;
  std::latch start(kThreads);
  std::vector<std::string> ids(kThreads);
  std::vector<std::thread> threads;
  for (int i = 0; i < kThreads; ++i) {
    threads.emplace_back([&, i] {
      start.arrive_and_wait();
      StatusOr<MasterKey> loaded = LoadMasterKey(std::nullopt, KeyFile(), /*create_if_missing=*/true);
      ids[static_cast<std::size_t>(i)] = loaded.ok() ? loaded->id : loaded.status().ToString();
    });
  }
  for (std::thread& t : threads) t.join();
  EXPECT_EQ(std::set<std::string>(ids.begin(), ids.end()).size(), 1u) << ids[0] << " vs others";
  EXPECT_EQ(ids[0].size(), 16u) << ids[0];
  EXPECT_EQ(FilesInDir(), 1u) << "temporary files left behind";
}

TEST_F(MasterKeyTest, ConcurrentFirstLoadsFromProcessesAgree) {
  constexpr int kProcesses = 8;
  int go[2];
  int results[2];
  ASSERT_EQ(::pipe(go), 0);
  ASSERT_EQ(::pipe(results), 0);
  std::vector<pid_t> children;
  for (int i = 0; i < kProcesses; ++i) {
    pid_t pid = ::fork();
    if (pid < 0) break;  // not ASSERT: the children forked so far must still be released
    if (pid == 0) {
      ::close(go[1]);
      char byte;
      (void)!::read(go[0], &byte, 1);  // returns 0 when the parent closes its end: everyone starts
      StatusOr<MasterKey> loaded = LoadMasterKey(std::nullopt, KeyFile(), /*create_if_missing=*/true);
      std::string line = (loaded.ok() ? loaded->id : std::string("error-----------")).substr(0, 16) + "\n";
      (void)!::write(results[1], line.data(), line.size());  // 17 bytes: one atomic pipe write
      ::_exit(loaded.ok() ? 0 : 1);
    }
    children.push_back(pid);
  }
  EXPECT_EQ(children.size(), static_cast<std::size_t>(kProcesses));
  ::close(go[0]);
  ::close(go[1]);
  ::close(results[1]);
  for (pid_t pid : children) {
    int status = 0;
    ASSERT_EQ(::waitpid(pid, &status, 0), pid);
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  }
  std::string output;
  char buffer[256];
  for (ssize_t n; (n = ::read(results[0], buffer, sizeof buffer)) > 0;)
    output.append(buffer, static_cast<std::size_t>(n));
  ::close(results[0]);

  StatusOr<MasterKey> mine = LoadMasterKey(std::nullopt, KeyFile(), /*create_if_missing=*/false);
  ASSERT_TRUE(mine.ok()) << mine.status().ToString();
  std::string expected;
  for (std::size_t i = 0; i < children.size(); ++i) expected += mine->id + "\n";
  EXPECT_EQ(output, expected);
  EXPECT_EQ(FilesInDir(), 1u) << "temporary files left behind";
}

TEST_F(MasterKeyTest, WriteKeyFileCreatesAndReplaces) {
  SymmetricKey a = SymmetricKey::Generate();
  SymmetricKey b = SymmetricKey::Generate();
  ASSERT_TRUE(WriteKeyFile(KeyFile(), a).ok());
  EXPECT_EQ(Perms(KeyFile()), k0600);
  EXPECT_EQ(LoadMasterKey(std::nullopt, KeyFile(), false)->id, MasterKeyId(a));

  ASSERT_TRUE(WriteKeyFile(KeyFile(), b).ok());
  EXPECT_EQ(Perms(KeyFile()), k0600);
  EXPECT_EQ(LoadMasterKey(std::nullopt, KeyFile(), false)->id, MasterKeyId(b));
  EXPECT_EQ(FilesInDir(), 1u) << "temporary file left behind";
}

TEST_F(MasterKeyTest, ReadersNeverSeeAHalfWrittenReplacement) {
  SymmetricKey a = SymmetricKey::Generate();
  SymmetricKey b = SymmetricKey::Generate();
  const std::set<std::string> valid = {MasterKeyId(a), MasterKeyId(b)};
  ASSERT_TRUE(WriteKeyFile(KeyFile(), a).ok());
  std::atomic<bool> done = false;
  std::atomic<int> bad_reads = 0;
  std::thread reader([&] {
    while (!done) {
      StatusOr<MasterKey> loaded = LoadMasterKey(std::nullopt, KeyFile(), false);
      if (!loaded.ok() || !valid.contains(loaded->id)) ++bad_reads;
    }
  });
  for (int i = 0; i < 200; ++i) ASSERT_TRUE(WriteKeyFile(KeyFile(), i % 2 == 0 ? b : a).ok());
  done = true;
  reader.join();
  EXPECT_EQ(bad_reads, 0);
}

TEST_F(MasterKeyTest, WriteKeyFileIntoMissingFolderFails) {
  Status status = WriteKeyFile(dir_.path() / "no-such-dir" / "master.key", SymmetricKey::Generate());
  EXPECT_FALSE(status.ok());
  EXPECT_EQ(status.code(), StatusCode::kNotFound);
}

}  // namespace
}  // namespace latchkey::crypto
