#include "gateway/http/message.h"

namespace latchkey::gateway {

namespace http = boost::beast::http;

std::string_view FieldLines::Find(std::string_view name) const {
  std::string_view found;
  bool seen = false;
  ForEach([&](std::string_view field, std::string_view value) {
    if (seen || !AsciiEqualsIgnoreCase(field, name)) return;
    found = value;
    seen = true;
  });
  return found;
}

std::string_view ResponseMessage::Field(http::field name) const {
  if (auto field = FindField(base(), name); field != base().end()) return field->value();
  return lines.Find(http::to_string(name));
}

std::string_view ResponseMessage::Field(std::string_view name) const {
  for (const auto& field : base()) {
    if (AsciiEqualsIgnoreCase(field.name_string(), name)) return field.value();
  }
  return lines.Find(name);
}

}  // namespace latchkey::gateway
