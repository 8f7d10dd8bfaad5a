// Readable fuzz inputs: a target whose input is an HTTP-like message (a first line of
// options, "name: value" header lines, an empty line, then the body) splits it with
// SplitMessage, so that seed corpora stay small text files a reader understands.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace latchkey::fuzz {

struct Message {
  std::string_view first_line;
  std::vector<std::pair<std::string, std::string>> headers;  // names lower-cased
  std::string_view body;

  // True if the first line holds `word` as one of its space-separated words.
  bool Has(std::string_view word) const {
    size_t start = 0;
    while (start <= first_line.size()) {
      size_t end = first_line.find(' ', start);
      if (end == std::string_view::npos) end = first_line.size();
      if (first_line.substr(start, end - start) == word) return true;
      start = end + 1;
    }
    return false;
  }
};

inline std::string_view AsText(const uint8_t* data, size_t size) {
  return {reinterpret_cast<const char*>(data), size};  // NOLINT(cppcoreguidelines-pro-type-reinterpret-cast)
}

// The text up to the first newline (all of it when there is none); `text` keeps the rest.
inline std::string_view NextLine(std::string_view& text) {
  const size_t newline = text.find('\n');
  const std::string_view line = text.substr(0, newline);
  text = newline == std::string_view::npos ? std::string_view() : text.substr(newline + 1);
  return line;
}

// Splits "first line\nname: value\n...\n\nbody". Anything unlike that still yields a
// message: a header line without ':' ends the headers and starts the body.
inline Message SplitMessage(std::string_view text) {
  Message out;
  size_t end = text.find('\n');
  out.first_line = text.substr(0, end);
  text = end == std::string_view::npos ? std::string_view() : text.substr(end + 1);
  while (!text.empty()) {
    end = text.find('\n');
    std::string_view line = text.substr(0, end);
    size_t colon = line.find(':');
    if (line.empty() || colon == std::string_view::npos) {
      if (line.empty()) text = end == std::string_view::npos ? std::string_view() : text.substr(end + 1);
      break;
    }
    std::string name(line.substr(0, colon));
    for (char& c : name) c = (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
    std::string_view value = line.substr(colon + 1);
    if (!value.empty() && value.front() == ' ') value.remove_prefix(1);
    out.headers.emplace_back(std::move(name), std::string(value));
    text = end == std::string_view::npos ? std::string_view() : text.substr(end + 1);
  }
  out.body = text;
  return out;
}

}  // namespace latchkey::fuzz
