#include "gateway/admin/oauth_callback.h"

#include "common/log.h"
#include "common/secret_string.h"
#include "gateway/admin/consent_pages.h"
#include "gateway/admin/dashboard.h"
#include "gateway/admin/html_page.h"
#include "oauth/form_encoding.h"

namespace latchkey::gateway {

namespace http = boost::beast::http;

Response FinishAuthorization(vault::ConsentFlows& flows, const Request& request) {
  const std::string_view target = request.target();
  const size_t question = target.find('?');
  auto params =
      oauth::ParseFormEncoded(question == std::string_view::npos ? "" : target.substr(question + 1));
  if (!params) {
    return ConsentPage(http::status::bad_request,
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
  const std::string cookie = callback.state.empty() ? "" : ConsentCookieName(callback.state);
  if (!cookie.empty()) {
    callback.binding = SecretString(std::string(CookieValue(request[http::field::cookie], cookie)));
  }
  auto connected = flows.CompleteAuthorization(callback);
  Response res;
  if (!connected.ok()) {
    spdlog::warn("oauth callback: {}", connected.status().message());
    res = ConsentPage(http::status::bad_request, Page("Not connected", connected.status().message(),
                                                      "Back to the dashboard", "/#/connections"));
  } else {
    spdlog::info("oauth callback: connection '{}' is connected", connected->name);
    res =
        ConsentPage(http::status::ok,
                    Page("Connected",
                         "latchkey connected '" + connected->name + "' (account " +
                             vault::DescribeAccount(connected->account_id, connected->account) +
                             "). You can close this tab.",
                         "Open the connection in the dashboard", "/#/connections?focus=" + connected->name));
  }
  // The pending authorization is used up either way: its cookie is of no further use.
  if (!cookie.empty())
    res.set(http::field::set_cookie, cookie + "=; Path=/oauth/callback; HttpOnly; Max-Age=0");
  return res;
}

}  // namespace latchkey::gateway
