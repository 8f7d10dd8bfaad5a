// Test entry point shared by the unit and end-to-end suites.
#include <gtest/gtest.h>

#include <csignal>

#include "common/random.h"

int main(int argc, char** argv) {
  // A child that exits before reading all of its stdin (a usage error) must not kill
  // the test binary: writes then fail with EPIPE, which the harness handles.
  std::signal(SIGPIPE, SIG_IGN);
  latchkey::EnsureLibsodium();
  testing::InitGoogleTest(&argc, argv);
  return RUN_ALL_TESTS();
}
