#include "oauth/token_fields.h"

#include <algorithm>
#include <charconv>

#include "common/ascii.h"
#include "common/encoding.h"
#include "oauth/form_encoding.h"

namespace latchkey::oauth {

std::vector<std::string> SplitScopes(std::string_view scopes, std::string_view separator) {
  std::vector<std::string> out;
  std::string current;
  auto flush = [&] {
    if (!current.empty() && std::find(out.begin(), out.end(), current) == out.end()) out.push_back(current);
    current.clear();
  };
  for (char c : scopes) {
    bool is_separator = c == ' ' || c == ',' || (separator.size() == 1 && c == separator[0]);
    if (is_separator) {
      flush();
    } else {
      current.push_back(c);
    }
  }
  flush();
  return out;
}

bool IsScopeToken(std::string_view scope) {
  constexpr size_t kMaxScopeLength = 200;
  if (scope.empty() || scope.size() > kMaxScopeLength) return false;
  return std::all_of(scope.begin(), scope.end(), [](char c) {
    const auto u = static_cast<unsigned char>(c);
    return u >= 0x21 && u <= 0x7e && c != '"' && c != '\\' && c != ',';
  });
}

std::string JoinScopes(const std::vector<std::string>& scopes, std::string_view separator) {
  std::string out;
  for (const std::string& scope : scopes) {
    if (!out.empty()) out += separator;
    out += scope;
  }
  return out;
}

std::optional<std::chrono::seconds> ParseExpiresIn(std::string_view text) {
  long long seconds = 0;
  auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), seconds);
  if (error != std::errc() || end != text.data() + text.size() || seconds <= 0) return std::nullopt;
  std::chrono::seconds value(seconds);
  if (value > kLongestPlausibleLifetime) return std::nullopt;
  return value;
}

std::optional<std::chrono::seconds> ExpiresInFromJson(const nlohmann::json& value) {
  if (value.is_number_integer() || value.is_number_unsigned()) {
    return ParseExpiresIn(value.dump());
  }
  if (value.is_number_float()) {
    double seconds = value.get<double>();
    if (!(seconds >= 1 && seconds <= static_cast<double>(kLongestPlausibleLifetime.count()))) {
      return std::nullopt;
    }
    return std::chrono::seconds(static_cast<long long>(seconds));
  }
  if (value.is_string()) return ParseExpiresIn(value.get<std::string>());
  return std::nullopt;
}

std::optional<TimePoint> RefreshExpiresAtFromJson(const nlohmann::json& tokens, TimePoint now) {
  if (!tokens.is_object()) return std::nullopt;
  for (const char* name : {"refresh_token_expires_in", "x_refresh_token_expires_in", "refresh_expires_in"}) {
    auto field = tokens.find(name);
    if (field == tokens.end()) continue;
    if (std::optional<std::chrono::seconds> in = ExpiresInFromJson(*field)) return now + *in;
  }
  for (const char* name : {"refresh_token_expires_at", "refresh_expires_at"}) {
    auto field = tokens.find(name);
    if (field == tokens.end()) continue;
    const std::optional<int64_t> epoch = field->is_number_integer() || field->is_number_unsigned()
                                             ? ParseDecimal(field->dump())
                                         : field->is_string() ? ParseDecimal(field->get<std::string>())
                                                              : std::nullopt;
    if (!epoch) continue;
    const int64_t from_now = *epoch - ToUnixMillis(now) / 1000;
    if (from_now > 0 && from_now <= kLongestPlausibleLifetime.count())
      return now + std::chrono::seconds(from_now);
  }
  return std::nullopt;
}

std::string NormalizeTokenType(std::string_view token_type) {
  if (token_type.empty() || AsciiEqualsIgnoreCase(token_type, "bearer")) return "Bearer";
  return std::string(token_type);
}

SecretString AuthorizationValue(std::string_view token_type, const SecretString& access_token) {
  return SecretString::Join({NormalizeTokenType(token_type), " ", access_token.reveal()});
}

SecretString BasicAuthorizationValue(std::string_view user, const SecretString& password) {
  const SecretString joined = SecretString::Join({user, ":", password.reveal()});
  std::string encoded = Base64Encode(joined.reveal());
  SecretString value = SecretString::Join({"Basic ", encoded});
  WipeString(encoded);
  return value;
}

std::optional<BasicCredential> ParseBasicAuthorization(std::string_view authorization) {
  constexpr std::string_view kScheme = "basic ";
  if (!AsciiStartsWithIgnoreCase(authorization, kScheme)) return std::nullopt;
  std::string_view encoded = authorization.substr(kScheme.size());
  while (encoded.starts_with(' ')) encoded.remove_prefix(1);
  std::optional<Bytes> decoded = Base64Decode(encoded);
  if (!decoded) return std::nullopt;
  SecretString joined(std::string(decoded->begin(), decoded->end()));
  std::fill(decoded->begin(), decoded->end(), 0);
  const std::string_view text = joined.reveal();
  const size_t colon = text.find(':');
  if (colon == std::string_view::npos) return std::nullopt;
  // Form-decoding "user=...&password=..." decodes both halves the way §2.3.1 encodes them.
  auto pairs = ParseFormEncoded(
      SecretString::Join({"u=", text.substr(0, colon), "&p=", text.substr(colon + 1)}).reveal());
  if (!pairs || pairs->size() != 2) return std::nullopt;
  BasicCredential credential{.user = std::move((*pairs)[0].second),
                             .password = SecretString(std::move((*pairs)[1].second))};
  return credential;
}

}  // namespace latchkey::oauth
