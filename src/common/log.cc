#include "common/log.h"

#include <spdlog/sinks/stdout_color_sinks.h>

#include <string>

namespace latchkey {

void InitLogging(std::string_view level) {
  // Called again when a subcommand changes the default level: replace, don't add.
  spdlog::drop("latchkey");
  auto logger = spdlog::stderr_color_mt("latchkey");
  logger->set_pattern("%Y-%m-%dT%H:%M:%S.%e%z %^%l%$ %v");
  auto parsed = spdlog::level::from_str(std::string(level));
  if (parsed == spdlog::level::off && level != "off") parsed = spdlog::level::info;
  logger->set_level(parsed);
  spdlog::set_default_logger(logger);
}

}  // namespace latchkey
