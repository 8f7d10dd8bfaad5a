// Shared fixture for end-to-end tests of the `latchkey` binary: a fresh data dir per
// test and a helper that runs one command in it.
#pragma once

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "common/random.h"
#include "support/subprocess.h"

namespace latchkey::testing {

class CliTest : public ::testing::Test {
 protected:
  // Runs `latchkey --data-dir DIR args...`.
  RunResult Latchkey(std::vector<std::string> args, const std::string& stdin_data = "",
                     std::map<std::string, std::string> env = {}) const {
    std::vector<std::string> argv = {LatchkeyBinary(), "--data-dir", dir_.path()};
    argv.insert(argv.end(), args.begin(), args.end());
    RunOptions options;
    options.stdin_data = stdin_data;
    options.env = std::move(env);
    options.unset_env = {"LATCHKEY_MASTER_KEY", "LATCHKEY_NEW_MASTER_KEY", "LATCHKEY_DATA_DIR"};
    return ::latchkey::testing::Run(argv, options);
  }

  // Runs a command that must succeed; returns its stdout.
  std::string MustRun(std::vector<std::string> args, const std::string& stdin_data = "",
                      std::map<std::string, std::string> env = {}) const {
    RunResult r = Latchkey(args, stdin_data, std::move(env));
    EXPECT_EQ(r.exit_code, 0) << "latchkey " << ::testing::PrintToString(args) << "\nstderr: " << r.err;
    return r.out;
  }

  const std::string& data_dir() const { return dir_.path(); }

 private:
  TempDir dir_;
};

// Random-looking, unmistakable secret values for leak scans.
inline std::string UniqueSecret(const std::string& label) {
  return label + "-" + SystemRandom::Instance().Hex(12);
}

}  // namespace latchkey::testing
