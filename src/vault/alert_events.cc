#include "vault/alert_events.h"

#include <nlohmann/json.hpp>

#include "common/json_text.h"

namespace latchkey::vault {

store::AlertEvent MakeAlert(std::string_view type, const store::ConnectionRecord& connection, int64_t version,
                            TimePoint now, const std::map<std::string, std::string>& details) {
  nlohmann::json payload = {
      {"type", type},
      {"connection", connection.name},
      {"provider", connection.provider},
      {"at", FormatRfc3339(now)},
  };
  for (const auto& [key, value] : details) payload[key] = value;
  store::AlertEvent event;
  event.event_id = std::string(type) + ":" + connection.id + ":" + std::to_string(version);
  event.type = std::string(type);
  event.connection = connection.name;
  event.payload = DumpJson(payload);
  event.created_at = now;
  return event;
}

store::AlertEvent MakeProviderAlert(std::string_view type, std::string_view provider,
                                    std::string_view revision, TimePoint now,
                                    const std::map<std::string, std::string>& details) {
  nlohmann::json payload = {
      {"type", type}, {"connection", ""}, {"provider", provider}, {"at", FormatRfc3339(now)}};
  for (const auto& [key, value] : details) payload[key] = value;
  store::AlertEvent event;
  event.event_id = std::string(type) + ":" + std::string(provider) + ":" + std::to_string(ToUnixMillis(now)) +
                   ":" + std::string(revision);
  event.type = std::string(type);
  event.payload = DumpJson(payload);
  event.created_at = now;
  return event;
}

store::AlertEvent MakeAgentAlert(std::string_view type, std::string_view agent, std::string_view subject,
                                 TimePoint now, const std::map<std::string, std::string>& details) {
  nlohmann::json payload = {{"type", type}, {"connection", ""}, {"agent", agent}, {"at", FormatRfc3339(now)}};
  for (const auto& [key, value] : details) payload[key] = value;
  store::AlertEvent event;
  event.event_id = std::string(type) + ":" + std::string(agent) + ":" + std::string(subject);
  event.type = std::string(type);
  event.payload = DumpJson(payload);
  event.created_at = now;
  return event;
}

}  // namespace latchkey::vault
