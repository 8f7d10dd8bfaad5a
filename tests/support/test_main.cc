// Test entry point shared by the unit and end-to-end suites.
#include <gtest/gtest.h>

#include "common/random.h"

int main(int argc, char** argv) {
  latchkey::EnsureLibsodium();
  testing::InitGoogleTest(&argc, argv);
  return RUN_ALL_TESTS();
}
