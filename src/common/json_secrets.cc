#include "common/json_secrets.h"

#include <string>

#include "common/secret_string.h"

namespace latchkey {

void WipeJson(nlohmann::json& value) {
  if (value.is_string()) {
    WipeString(value.get_ref<std::string&>());
  } else if (value.is_structured()) {
    for (nlohmann::json& child : value) WipeJson(child);
  }
}

const nlohmann::json* FindJsonPath(const nlohmann::json& root, std::string_view dotted) {
  const nlohmann::json* node = &root;
  while (!dotted.empty()) {
    std::size_t dot = dotted.find('.');
    std::string key(dotted.substr(0, dot));
    if (!node->is_object() || !node->contains(key)) return nullptr;
    node = &(*node)[key];
    dotted = dot == std::string_view::npos ? std::string_view() : dotted.substr(dot + 1);
  }
  return node;
}

}  // namespace latchkey
