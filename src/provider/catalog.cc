#include "provider/catalog.h"

#include <utility>

namespace latchkey::provider {

StatusOr<std::vector<ProviderDefinition>> LoadBuiltinProviders() {
  std::vector<ProviderDefinition> providers;
  for (const EmbeddedFile& file : BuiltinProviderFiles()) {
    LATCHKEY_ASSIGN_OR_RETURN(ProviderDefinition definition,
                              ParseProvider(file.contents, "built-in:" + std::string(file.name)));
    definition.source = "built-in";
    providers.push_back(std::move(definition));
  }
  return providers;
}

std::optional<std::string_view> BuiltinProviderText(std::string_view name) {
  for (const EmbeddedFile& file : BuiltinProviderFiles()) {
    if (file.name.size() == name.size() + 5 && file.name.starts_with(name) && file.name.ends_with(".toml")) {
      return file.contents;
    }
  }
  return std::nullopt;
}

void Catalog::Add(ProviderDefinition definition) {
  std::string name = definition.name;
  entries_.insert_or_assign(std::move(name), std::move(definition));
}

StatusOr<ProviderDefinition> Catalog::Get(std::string_view name) const {
  auto it = entries_.find(name);
  if (it == entries_.end()) {
    return NotFoundError("unknown provider '" + std::string(name) +
                         "' (run `latchkey provider list` to see the known ones)");
  }
  return it->second;
}

std::vector<ProviderDefinition> Catalog::List() const {
  std::vector<ProviderDefinition> out;
  out.reserve(entries_.size());
  for (const auto& [name, definition] : entries_) out.push_back(definition);
  return out;
}

}  // namespace latchkey::provider
