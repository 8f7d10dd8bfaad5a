#include "vault/mcp_client_metadata.h"

#include <algorithm>
#include <array>
#include <nlohmann/json.hpp>

#include "common/ascii.h"
#include "common/encoding.h"
#include "common/url.h"
#include "provider/provider.h"

namespace latchkey::vault {
namespace {

using nlohmann::json;

constexpr std::size_t kMaxRedirectUris = 10;
constexpr std::size_t kMaxTextField = 200;
constexpr std::array<std::string_view, 3> kAuthMethods = {"none", "client_secret_basic",
                                                          "client_secret_post"};

Status Refused(std::string_view field, std::string_view why) {
  return InvalidArgumentError("client metadata: " + std::string(field) + " " + std::string(why));
}

// Schemes a browser or the system acts on itself (script, local files, other protocols):
// never an app's redirect.
constexpr std::array<std::string_view, 22> kNotAppSchemes = {
    "javascript", "data",  "vbscript", "file", "about",       "blob",   "filesystem", "ftp",
    "ws",         "wss",   "mailto",   "tel",  "view-source", "chrome", "intent",     "jar",
    "search-ms",  "shell", "res",      "mk",   "its",         "smb"};

// RFC 8252 §7.1: a native app's private-use URI scheme ("cursor://anysphere.cursor-mcp/cb",
// "com.example.app:/callback"): a scheme of letters, digits, "+", "-" and ".", then ":/",
// printable ASCII without spaces or a fragment, and no scheme a browser acts on itself.
bool IsPrivateUseRedirect(std::string_view text) {
  const size_t colon = text.find(':');
  if (colon == std::string_view::npos || colon == 0 || text.size() > 2000) return false;
  const std::string scheme = AsciiLower(text.substr(0, colon));
  const bool scheme_ok =
      std::isalpha(static_cast<unsigned char>(scheme[0])) != 0 && std::ranges::all_of(scheme, [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '+' || c == '-' || c == '.';
      });
  // ms-*: Windows protocol handlers (ms-officecmd:, ms-msdt:, ...) that open local programs.
  if (!scheme_ok || scheme == "http" || scheme == "https" || scheme.starts_with("ms-") ||
      std::ranges::find(kNotAppSchemes, scheme) != kNotAppSchemes.end()) {
    return false;
  }
  return text.substr(colon + 1).starts_with('/') &&
         std::ranges::all_of(text, [](char c) { return c > ' ' && c < 0x7f && c != '#'; });
}

// https, http on a loopback host, or an app's private-use scheme (RFC 8252 native
// clients); never user info or a fragment (ParseHttpUrl refuses both).
Status CheckRedirectUri(const json& value) {
  if (!value.is_string()) return Refused("redirect_uris", "must hold strings");
  const std::string& text = value.get_ref<const std::string&>();
  if (IsPrivateUseRedirect(text)) return Status::Ok();
  StatusOr<Url> url = ParseHttpUrl(text);
  if (!url.ok())
    return Refused("redirect_uris", "holds '" + ToDisplayText(text, 200) + "', which is no http(s) URL");
  if (!url->https() && !provider::IsLoopbackHost(url->host)) {
    return Refused("redirect_uris",
                   "holds '" + ToDisplayText(text, 200) + "': http:// only on a loopback host");
  }
  return Status::Ok();
}

StatusOr<std::string> TextField(const json& document, const char* field) {
  auto found = document.find(field);
  if (found == document.end() || found->is_null()) return std::string();
  if (!found->is_string()) return Refused(field, "must be a string");
  const std::string& text = found->get_ref<const std::string&>();
  if (text.size() > kMaxTextField || ToDisplayText(text, kMaxTextField) != text) {
    return Refused(field, "must be one line of at most 200 characters");
  }
  return text;
}

// `field`, when present, is an array of strings each within `allowed`.
Status CheckList(const json& document, const char* field, std::initializer_list<std::string_view> allowed) {
  auto found = document.find(field);
  if (found == document.end()) return Status::Ok();
  if (!found->is_array()) return Refused(field, "must be an array");
  for (const json& item : *found) {
    if (!item.is_string() ||
        std::find(allowed.begin(), allowed.end(), item.get<std::string>()) == allowed.end()) {
      return Refused(field, "may hold only what this server offers");
    }
  }
  return Status::Ok();
}

}  // namespace

StatusOr<store::McpClientRecord> ParseClientMetadata(std::string_view text, std::string_view document_url) {
  if (text.size() > kMaxClientMetadataBytes) return Refused("document", "is larger than 5 KiB");
  const json document = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (!document.is_object()) return Refused("document", "is not a JSON object");

  store::McpClientRecord client;
  client.metadata_document = !document_url.empty();
  auto client_id = document.find("client_id");
  if (client.metadata_document) {
    // The CIMD draft: the document names itself, exactly.
    if (client_id == document.end() || !client_id->is_string() ||
        client_id->get<std::string>() != document_url) {
      return Refused("client_id", "must equal the URL the document was fetched from");
    }
    client.client_id = std::string(document_url);
  } else if (client_id != document.end()) {
    return Refused("client_id", "is assigned by this server, not chosen by the client");
  }

  auto redirects = document.find("redirect_uris");
  if (redirects == document.end() || !redirects->is_array() || redirects->empty() ||
      redirects->size() > kMaxRedirectUris) {
    return Refused("redirect_uris", "must be an array of 1 to 10 URLs");
  }
  for (const json& uri : *redirects) {
    LATCHKEY_RETURN_IF_ERROR(CheckRedirectUri(uri));
    client.redirect_uris.push_back(uri.get<std::string>());
  }

  client.token_endpoint_auth_method = "client_secret_basic";  // RFC 7591 §2's default
  if (auto method = document.find("token_endpoint_auth_method"); method != document.end()) {
    if (!method->is_string() || std::find(kAuthMethods.begin(), kAuthMethods.end(),
                                          method->get<std::string>()) == kAuthMethods.end()) {
      return Refused("token_endpoint_auth_method", "must be none, client_secret_basic or client_secret_post");
    }
    client.token_endpoint_auth_method = method->get<std::string>();
  } else if (client.metadata_document) {
    client.token_endpoint_auth_method = "none";
  }
  if (client.metadata_document && client.token_endpoint_auth_method != "none") {
    return Refused("token_endpoint_auth_method", "must be none in a public document (it holds no secret)");
  }
  LATCHKEY_RETURN_IF_ERROR(CheckList(document, "grant_types", {"authorization_code", "refresh_token"}));
  LATCHKEY_RETURN_IF_ERROR(CheckList(document, "response_types", {"code"}));
  LATCHKEY_ASSIGN_OR_RETURN(client.name, TextField(document, "client_name"));
  LATCHKEY_ASSIGN_OR_RETURN(client.logo_uri, TextField(document, "logo_uri"));
  return client;
}

}  // namespace latchkey::vault
