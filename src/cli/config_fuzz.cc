// Fuzzes latchkey.toml, which an operator (or a local user who can write the data dir)
// controls. Properties: an error names the file; what parses keeps every limit positive.
#include <cstddef>
#include <cstdint>

#include "cli/context.h"
#include "support/fuzz_check.h"
#include "support/fuzz_input.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace latchkey;
  auto config = cli::ParseConfig(fuzz::AsText(data, size), "/data/latchkey.toml");
  if (!config.ok()) {
    FUZZ_CHECK(config.status().code() == StatusCode::kInvalidArgument);
    FUZZ_CHECK(config.status().message().starts_with("/data/latchkey.toml"));
    return 0;
  }
  FUZZ_CHECK(config->oauth_timeout.count() > 0);
  FUZZ_CHECK(config->webhook_first_backoff.count() > 0 && config->webhook_poll_interval.count() > 0);
  FUZZ_CHECK(config->audit_retention_days >= 0);
  return 0;
}
