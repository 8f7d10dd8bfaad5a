#include "mcp/server.h"

#include <algorithm>
#include <charconv>

namespace latchkey::mcp {

bool IsSupportedVersion(std::string_view version) {
  return std::ranges::find(kSupportedVersions, version) != std::end(kSupportedVersions);
}

Server::Server(ServerInfo info, ServerOptions options) : info_(std::move(info)), options_(options) {}

void Server::AddTool(Tool tool) {
  std::string name = tool.definition.at("name").get<std::string>();
  tool_list_.push_back(tool.definition);
  tools_.insert_or_assign(std::move(name), std::move(tool));
}

void Server::AddResource(Resource resource) {
  std::string uri = resource.definition.at("uri").get<std::string>();
  resource_list_.push_back(resource.definition);
  resources_.insert_or_assign(std::move(uri), std::move(resource));
}

void Server::AddResourceTemplate(ResourceTemplate resource_template) {
  template_list_.push_back(resource_template.definition);
  templates_.push_back(std::move(resource_template));
}

void Server::AddPrompt(Prompt prompt) {
  std::string name = prompt.definition.at("name").get<std::string>();
  prompt_list_.push_back(prompt.definition);
  prompts_.insert_or_assign(std::move(name), std::move(prompt));
}

void Server::SetCompletion(Handler complete) { complete_ = std::move(complete); }

json Server::Capabilities() const {
  json capabilities = {{"logging", json::object()}};
  if (!tools_.empty()) capabilities["tools"] = {{"listChanged", false}};
  if (!resources_.empty() || !templates_.empty()) {
    capabilities["resources"] = {{"subscribe", true}, {"listChanged", false}};
  }
  if (!prompts_.empty()) capabilities["prompts"] = {{"listChanged", false}};
  if (complete_) capabilities["completions"] = json::object();
  return capabilities;
}

const Tool* Server::FindTool(std::string_view name) const {
  auto found = tools_.find(name);
  return found == tools_.end() ? nullptr : &found->second;
}

const Resource* Server::FindResource(std::string_view uri) const {
  auto found = resources_.find(uri);
  return found == resources_.end() ? nullptr : &found->second;
}

std::optional<std::pair<const ResourceTemplate*, json>> Server::MatchTemplate(std::string_view uri) const {
  for (const ResourceTemplate& candidate : templates_) {
    if (auto variables = MatchUriTemplate(candidate.definition.at("uriTemplate").get<std::string>(), uri)) {
      return std::make_pair(&candidate, std::move(*variables));
    }
  }
  return std::nullopt;
}

const Prompt* Server::FindPrompt(std::string_view name) const {
  auto found = prompts_.find(name);
  return found == prompts_.end() ? nullptr : &found->second;
}

std::optional<json> MatchUriTemplate(std::string_view uri_template, std::string_view uri) {
  json variables = json::object();
  size_t t = 0;
  size_t u = 0;
  while (t < uri_template.size()) {
    if (uri_template[t] != '{') {
      if (u >= uri.size() || uri[u] != uri_template[t]) return std::nullopt;
      ++t;
      ++u;
      continue;
    }
    const size_t close = uri_template.find('}', t);
    if (close == std::string_view::npos) return std::nullopt;
    std::string_view name = uri_template.substr(t + 1, close - t - 1);
    const bool reserved = name.starts_with('+');
    if (reserved) name.remove_prefix(1);
    t = close + 1;
    // The variable runs up to the template's next literal character (or the end).
    const char stop = t < uri_template.size() ? uri_template[t] : '\0';
    size_t end = u;
    while (end < uri.size() && uri[end] != stop && (reserved || uri[end] != '/')) ++end;
    if (end == u) return std::nullopt;
    variables[std::string(name)] = std::string(uri.substr(u, end - u));
    u = end;
  }
  if (u != uri.size()) return std::nullopt;
  return variables;
}

Reply Page(const std::vector<json>& items, const json& params, std::string_view key, size_t page_size) {
  size_t offset = 0;
  if (params.is_object() && params.contains("cursor") && !params["cursor"].is_null()) {
    const json& cursor = params["cursor"];
    std::string text = cursor.is_string() ? cursor.get<std::string>() : std::string();
    auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), offset);
    if (text.empty() || error != std::errc() || end != text.data() + text.size() || offset > items.size()) {
      return Reply::Fail(rpc_code::kInvalidParams, "Invalid params: unknown cursor");
    }
  }
  const size_t stop = std::min(items.size(), offset + std::max<size_t>(1, page_size));
  json result = {{std::string(key), json::array()}};
  for (size_t i = offset; i < stop; ++i) result[std::string(key)].push_back(items[i]);
  if (stop < items.size()) result["nextCursor"] = std::to_string(stop);
  return Reply::Ok(std::move(result));
}

}  // namespace latchkey::mcp
