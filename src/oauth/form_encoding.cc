#include "oauth/form_encoding.h"

#include <cctype>

#include "common/secret_string.h"

namespace latchkey::oauth {
namespace {

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::optional<std::string> FormDecode(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (c == '+') {
      out.push_back(' ');
    } else if (c == '%') {
      int high = i + 2 < text.size() ? HexValue(text[i + 1]) : -1;
      int low = i + 2 < text.size() ? HexValue(text[i + 2]) : -1;
      if (high < 0 || low < 0) {
        WipeString(out);
        return std::nullopt;
      }
      out.push_back(static_cast<char>(high * 16 + low));
      i += 2;
    } else {
      out.push_back(c);
    }
  }
  return out;
}

}  // namespace

std::string FormUrlEncode(std::string_view value) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(value.size() * 3);
  for (char c : value) {
    auto byte = static_cast<unsigned char>(c);
    if (std::isalnum(byte) != 0 || c == '-' || c == '.' || c == '_' || c == '*') {
      out.push_back(c);
    } else if (c == ' ') {
      out.push_back('+');
    } else {
      out.push_back('%');
      out.push_back(kHex[byte >> 4]);
      out.push_back(kHex[byte & 0x0f]);
    }
  }
  return out;
}

std::string FormEncodePairs(const std::vector<std::pair<std::string, std::string>>& pairs) {
  std::string out;
  for (const auto& [name, value] : pairs) {
    if (!out.empty()) out.push_back('&');
    out += FormUrlEncode(name);
    out.push_back('=');
    std::string encoded = FormUrlEncode(value);
    out += encoded;
    WipeString(encoded);
  }
  return out;
}

std::optional<std::vector<std::pair<std::string, std::string>>> ParseFormEncoded(std::string_view body) {
  std::vector<std::pair<std::string, std::string>> out;
  auto wipe_all = [&out] {
    for (auto& [name, value] : out) WipeString(value);
  };
  while (!body.empty()) {
    std::size_t amp = body.find('&');
    std::string_view segment = body.substr(0, amp);
    body = amp == std::string_view::npos ? std::string_view() : body.substr(amp + 1);
    if (segment.empty()) continue;
    std::size_t eq = segment.find('=');
    if (eq == std::string_view::npos) {
      wipe_all();
      return std::nullopt;
    }
    std::optional<std::string> name = FormDecode(segment.substr(0, eq));
    std::optional<std::string> value = FormDecode(segment.substr(eq + 1));
    if (!name || !value || name->empty()) {
      if (value) WipeString(*value);
      wipe_all();
      return std::nullopt;
    }
    out.emplace_back(std::move(*name), std::move(*value));
  }
  return out;
}

}  // namespace latchkey::oauth
