#include "gateway/oauth_callback.h"

#include "common/log.h"
#include "common/secret_string.h"
#include "gateway/html_page.h"
#include "oauth/form_encoding.h"

namespace latchkey::gateway {

namespace http = boost::beast::http;

namespace {

Response HtmlResponse(http::status status, std::string body) {
  Response res(status, 11);
  res.set(http::field::server, "latchkey");
  res.set(http::field::content_type, "text/html; charset=utf-8");
  res.set(http::field::cache_control, "no-store");
  res.set("Referrer-Policy", "no-referrer");
  res.set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'");
  res.body() = std::move(body);
  return res;
}

}  // namespace

Response FinishAuthorization(vault::ConsentFlows& flows, std::string_view target) {
  size_t question = target.find('?');
  auto params =
      oauth::ParseFormEncoded(question == std::string_view::npos ? "" : target.substr(question + 1));
  if (!params) {
    return HtmlResponse(http::status::bad_request,
                        Page("Not connected", "The callback's query could not be parsed."));
  }
  vault::AuthorizationCallback callback;
  for (auto& [name, value] : *params) {
    if (name == "state" && callback.state.empty()) callback.state = value;
    if (name == "code" && callback.code.empty()) callback.code = SecretString(value);
    if (name == "error" && callback.error.empty()) callback.error = value;
    if (name == "error_description" && callback.error_description.empty()) callback.error_description = value;
    if (name == "iss" && callback.iss.empty()) callback.iss = value;
    WipeString(value);
  }
  auto connected = flows.CompleteAuthorization(callback);
  if (!connected.ok()) {
    spdlog::warn("oauth callback: {}", connected.status().message());
    return HtmlResponse(http::status::bad_request, Page("Not connected", connected.status().message(),
                                                        "Back to the dashboard", "/#/connections"));
  }
  spdlog::info("oauth callback: connection '{}' is connected", connected->name);
  return HtmlResponse(
      http::status::ok,
      Page("Connected", "latchkey connected '" + connected->name + "'. You can close this tab.",
           "Open the connection in the dashboard", "/#/connections?focus=" + connected->name));
}

}  // namespace latchkey::gateway
