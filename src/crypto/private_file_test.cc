#include "crypto/private_file.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/resource.h>

#include <csignal>
#include <fstream>
#include <iterator>
#include <sstream>
#include <string>
#include <vector>

#include "support/temp_dir.h"

namespace latchkey::crypto {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;

class PrivateFileTest : public ::testing::Test {
 protected:
  fs::path File() const { return dir_.path() / "state.backup"; }

  static std::string Contents(const fs::path& path) {
    std::ifstream in(path, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
  }

  // Every name in the folder: a writer that fails must leave no temporary file behind.
  std::vector<std::string> Names() const {
    std::vector<std::string> names;
    for (const auto& entry : fs::directory_iterator(dir_.path())) names.push_back(entry.path().filename());
    return names;
  }

  testing::ScopedTempDir dir_;
};

TEST_F(PrivateFileTest, AStreamedFileHoldsWhatWasWrittenAndOnlyItsOwnerMayReadIt) {
  // More than any stream buffer holds, so that the bytes reach the file in several writes.
  std::string expected;
  for (int i = 0; i < 200000; ++i) expected += std::to_string(i) + ",";
  ASSERT_TRUE(CreatePrivateFileOnce(File(), [&](std::ostream& out) {
                out << expected;
                return Status::Ok();
              }).ok());
  EXPECT_EQ(Contents(File()), expected);
  EXPECT_EQ(fs::status(File()).permissions() & fs::perms::mask,
            fs::perms::owner_read | fs::perms::owner_write);
  EXPECT_THAT(Names(), ::testing::ElementsAre("state.backup"));
}

TEST_F(PrivateFileTest, AStreamedFileNeverReplacesOneThatIsThere) {
  std::ofstream(File()) << "an earlier backup";
  Status created = CreatePrivateFileOnce(File(), [](std::ostream& out) {
    out << "a later one";
    return Status::Ok();
  });
  EXPECT_EQ(created.code(), StatusCode::kAlreadyExists) << created.ToString();
  EXPECT_EQ(Contents(File()), "an earlier backup");
  EXPECT_THAT(Names(), ::testing::ElementsAre("state.backup"));
}

TEST_F(PrivateFileTest, AWriterThatFailsHalfWayLeavesNoFile) {
  Status created = CreatePrivateFileOnce(File(), [](std::ostream& out) {
    out << "half a snapshot";
    return AbortedError("the store interrupted the snapshot");
  });
  EXPECT_EQ(created.code(), StatusCode::kAborted);
  EXPECT_THAT(created.message(), HasSubstr("interrupted"));
  EXPECT_TRUE(Names().empty()) << "left behind: " << ::testing::PrintToString(Names());
}

TEST_F(PrivateFileTest, AWriteTheDiskRefusesIsAnErrorAndLeavesNoFile) {
  // The process may write files of at most 64 KiB (RLIMIT_FSIZE): the kernel refuses the
  // write past it (EFBIG) as a full disk would (ENOSPC). SIGXFSZ, which would end the
  // process, is ignored meanwhile; both are restored after.
  rlimit before{};
  ASSERT_EQ(::getrlimit(RLIMIT_FSIZE, &before), 0);
  rlimit small = before;
  small.rlim_cur = 64 * 1024;
  void (*signal_before)(int) = std::signal(SIGXFSZ, SIG_IGN);
  ASSERT_EQ(::setrlimit(RLIMIT_FSIZE, &small), 0);
  Status created = CreatePrivateFileOnce(File(), [](std::ostream& out) {
    out << std::string(1024 * 1024, 'x');
    return Status::Ok();
  });
  ::setrlimit(RLIMIT_FSIZE, &before);
  std::signal(SIGXFSZ, signal_before);
  EXPECT_FALSE(created.ok());
  EXPECT_THAT(created.message(), HasSubstr("cannot write"));
  EXPECT_THAT(created.message(), HasSubstr("File too large"));
  EXPECT_TRUE(Names().empty()) << "left behind: " << ::testing::PrintToString(Names());
}

TEST_F(PrivateFileTest, AFolderThatIsNotThereIsNamedInTheError) {
  const fs::path file = dir_.path() / "missing" / "state.backup";
  Status created = CreatePrivateFileOnce(file, [](std::ostream& out) {
    out << "x";
    return Status::Ok();
  });
  EXPECT_EQ(created.code(), StatusCode::kNotFound) << created.ToString();
  EXPECT_THAT(created.message(), HasSubstr((dir_.path() / "missing").string()));
}

TEST_F(PrivateFileTest, SecretContentsAreCreatedOnceAndReplacedWhole) {
  ASSERT_TRUE(CreatePrivateFileOnce(File(), SecretString("first\n")).ok());
  EXPECT_EQ(CreatePrivateFileOnce(File(), SecretString("second\n")).code(), StatusCode::kAlreadyExists);
  EXPECT_EQ(ReadPrivateFile(File(), 64)->reveal(), "first\n");
  ASSERT_TRUE(ReplacePrivateFile(File(), SecretString("third\n")).ok());
  EXPECT_EQ(ReadPrivateFile(File(), 64)->reveal(), "third\n");
  EXPECT_THAT(Names(), ::testing::ElementsAre("state.backup"));
}

}  // namespace
}  // namespace latchkey::crypto
