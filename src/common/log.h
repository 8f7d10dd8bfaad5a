// Logging: spdlog to standard error, so standard output stays for command results
// (and, for `latchkey mcp`, for protocol messages only). Secrets cannot be logged:
// SecretString has no formatter. Thread-safe.
#pragma once

#include <spdlog/spdlog.h>

#include <string_view>

namespace latchkey {

// level: "trace" | "debug" | "info" | "warn" | "error" | "off". Unknown names mean "info".
void InitLogging(std::string_view level);

}  // namespace latchkey
