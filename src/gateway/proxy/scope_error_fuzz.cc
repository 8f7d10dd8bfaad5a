// Fuzzes the 403 scope decoder on what a hostile upstream answers: status, the
// WWW-Authenticate and X-Accepted-OAuth-Scopes fields and the body, in every provider
// format. Input: "STATUS FORMAT", fields, an empty line, the body. Properties: a decoded
// scope error names only scope tokens (they go into a consent link and the agent's
// problem), none of them already granted; a Bearer challenge's parameter names are
// lower case.
#include <charconv>
#include <cstddef>
#include <cstdint>

#include "gateway/proxy/scope_error_decoder.h"
#include "oauth/token_fields.h"
#include "support/fuzz_check.h"
#include "support/fuzz_input.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace latchkey;
  const fuzz::Message message = fuzz::SplitMessage(fuzz::AsText(data, size));
  gateway::UpstreamRefusal refusal;
  const std::string_view line = message.first_line;
  std::from_chars(line.data(), line.data() + line.size(), refusal.status);
  const size_t space = line.find(' ');
  const std::string_view format = space == std::string_view::npos ? "rfc6750" : line.substr(space + 1);
  for (const auto& [name, value] : message.headers) {
    if (name == "www-authenticate") refusal.www_authenticate = value;
    if (name == "x-accepted-oauth-scopes") refusal.accepted_oauth_scopes = value;
    if (name == "content-type") refusal.content_type = value;
  }
  refusal.body = message.body;
  const std::vector<std::string> granted = {"repo", "read:user",
                                            "https://www.googleapis.com/auth/gmail.readonly"};

  for (const auto& [name, value] : gateway::ParseBearerChallenge(refusal.www_authenticate)) {
    for (char c : name) FUZZ_CHECK(!(c >= 'A' && c <= 'Z'));
  }
  auto error = gateway::DecodeScopeError(format, refusal, granted);
  if (!error) return 0;
  for (const std::string& scope : error->required) {
    FUZZ_CHECK(oauth::IsScopeToken(scope));
  }
  return 0;
}
