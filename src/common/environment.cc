#include "common/environment.h"

#include <sodium.h>

#include <cstdlib>
#include <cstring>
#include <string>

namespace latchkey {

SecretString TakeFromEnvironment(const char* name) {
  char* value = std::getenv(name);  // NOLINT(concurrency-mt-unsafe): see the header
  if (value == nullptr) return SecretString();
  SecretString taken{std::string(value)};
  // The string lives in the process's environment block (or a copy setenv made); it is
  // ours to overwrite before the entry goes.
  sodium_memzero(value, std::strlen(value));
  ::unsetenv(name);  // NOLINT(concurrency-mt-unsafe): see the header
  return taken;
}

}  // namespace latchkey
