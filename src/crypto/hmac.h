// HMAC-SHA256 (RFC 2104) for signing webhook deliveries. Pure; any thread.
#pragma once

#include <string>
#include <string_view>

#include "common/secret_string.h"

namespace latchkey::crypto {

// Lower-case hex of HMAC-SHA256(key, message).
std::string HmacSha256Hex(const SecretString& key, std::string_view message);

}  // namespace latchkey::crypto
