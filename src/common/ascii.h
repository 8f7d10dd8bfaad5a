// ASCII case helpers for protocol text: schemes, host names, header and parameter names,
// token types, media types. They touch only A-Z and a-z, whatever the process locale
// (std::tolower follows it, and in a Turkish locale 'I' does not lower to 'i'), and leave
// every other byte, UTF-8 included, as it is. Pure functions: any thread.
#pragma once

#include <algorithm>
#include <string>
#include <string_view>

namespace latchkey {

constexpr char AsciiLower(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; }
constexpr char AsciiUpper(char c) { return c >= 'a' && c <= 'z' ? static_cast<char>(c - 'a' + 'A') : c; }
constexpr bool IsAsciiAlnum(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

inline std::string AsciiLower(std::string_view text) {
  std::string out(text);
  for (char& c : out) c = AsciiLower(c);
  return out;
}

inline std::string AsciiUpper(std::string_view text) {
  std::string out(text);
  for (char& c : out) c = AsciiUpper(c);
  return out;
}

constexpr bool AsciiEqualsIgnoreCase(std::string_view a, std::string_view b) {
  return std::ranges::equal(a, b, [](char x, char y) { return AsciiLower(x) == AsciiLower(y); });
}

constexpr bool AsciiStartsWithIgnoreCase(std::string_view text, std::string_view prefix) {
  return text.size() >= prefix.size() && AsciiEqualsIgnoreCase(text.substr(0, prefix.size()), prefix);
}

// Whether `text` is `lower` but for the case of its letters, where `lower` holds only a-z
// and '-' (a header field name, "keep-alive") and `text` no control byte (a name or value
// a parser has checked): then OR-ing 0x20 into a byte of `text` gives a letter of `lower`
// only from that letter in either case, and '-' only from '-'. A byte at a time, without
// a branch on case: the hot path's name compare.
constexpr bool AsciiEqualsLowerWord(std::string_view text, std::string_view lower) {
  if (text.size() != lower.size()) return false;
  unsigned char differ = 0;
  for (size_t i = 0; i < text.size(); ++i) {
    differ |= static_cast<unsigned char>((static_cast<unsigned char>(text[i]) | 0x20) ^
                                         static_cast<unsigned char>(lower[i]));
  }
  return differ == 0;
}

}  // namespace latchkey
