// Secrets handed to the process in its environment (the master key, an agent key). Once
// read they are taken out: unset, and their bytes wiped where the process keeps its
// initial environment (what /proc/PID/environ shows), so no child process, no later
// getenv and no reader of that file finds them. Not thread-safe (the environment is
// not): call before other threads start.
#pragma once

#include "common/secret_string.h"

namespace latchkey {

// The value of `name` (empty when unset), which the environment no longer holds.
SecretString TakeFromEnvironment(const char* name);

}  // namespace latchkey
