// FUZZ_CHECK: a property a fuzz target asserts about the code under test. Unlike assert()
// it holds in every build type; a failure prints the property and aborts, so libFuzzer
// saves the input as a crasher.
#pragma once

#include <cstdio>
#include <cstdlib>

#define FUZZ_CHECK(condition)                                                               \
  do {                                                                                      \
    if (!(condition)) {                                                                     \
      std::fprintf(stderr, "%s:%d: property failed: %s\n", __FILE__, __LINE__, #condition); \
      std::abort();                                                                         \
    }                                                                                       \
  } while (false)
