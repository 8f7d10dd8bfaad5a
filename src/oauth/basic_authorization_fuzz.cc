// Fuzzes the client credentials a token endpoint reads from "Authorization: Basic ..."
// (latchkey's authorization server for /mcp). Properties: any input parses or is refused
// without a crash; a value BasicAuthorizationValue builds from form-encoded halves
// (RFC 6749 §2.3.1) parses back to the same user and password, whatever bytes they hold.
#include <cstddef>
#include <cstdint>

#include "oauth/form_encoding.h"
#include "oauth/token_fields.h"
#include "support/fuzz_check.h"
#include "support/fuzz_input.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace latchkey;
  const std::string_view text = fuzz::AsText(data, size);
  (void)oauth::ParseBasicAuthorization(text);
  const size_t half = text.size() / 2;
  const std::string user(text.substr(0, half));
  const std::string password(text.substr(half));
  const SecretString value = oauth::BasicAuthorizationValue(oauth::FormUrlEncode(user),
                                                            SecretString(oauth::FormUrlEncode(password)));
  auto parsed = oauth::ParseBasicAuthorization(value.reveal());
  FUZZ_CHECK(parsed.has_value());
  FUZZ_CHECK(parsed->user == user);
  FUZZ_CHECK(parsed->password.reveal() == password);
  return 0;
}
