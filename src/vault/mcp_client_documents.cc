#include "vault/mcp_client_documents.h"

#include <algorithm>
#include <charconv>
#include <cstdint>
#include <optional>
#include <utility>

#include "common/ascii.h"
#include "common/url.h"
#include "vault/mcp_client_metadata.h"

namespace latchkey::vault {
namespace {

using std::chrono::seconds;

constexpr std::size_t kMaxClientIdBytes = 2000;

// "." or "..", a dot also written "%2e": a server that decodes before it resolves the
// path would serve another document than the one the URL seems to name.
bool IsDotSegment(std::string_view segment) {
  int dots = 0;
  for (; !segment.empty(); ++dots) {
    if (segment.front() == '.') {
      segment.remove_prefix(1);
    } else if (AsciiStartsWithIgnoreCase(segment, "%2e")) {
      segment.remove_prefix(3);
    } else {
      return false;
    }
  }
  return dots == 1 || dots == 2;
}

std::string_view TrimSpace(std::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t')) text.remove_suffix(1);
  return text;
}

// RFC 9111 §1.2.2 delta-seconds, a value too large for us read as 2^31.
std::optional<seconds> DeltaSeconds(std::string_view text) {
  if (text.empty() || !std::ranges::all_of(text, [](char c) { return c >= '0' && c <= '9'; })) {
    return std::nullopt;
  }
  int64_t value = 0;
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (error != std::errc() || value > (int64_t{1} << 31)) value = int64_t{1} << 31;
  return seconds(value);
}

// How long RFC 9111 lets the response be used: max-age (no-store and no-cache: 0; an
// unreadable or repeated one: the smallest, or 0) less the Age a cache on the way added.
// nullopt when Cache-Control names no lifetime.
std::optional<seconds> FreshnessLifetime(const oauth::HttpResponse& response) {
  std::optional<seconds> lifetime;
  for (const auto& [name, value] : response.headers) {
    if (name != "cache-control") continue;
    std::string_view rest = value;
    while (!rest.empty()) {
      const std::size_t comma = rest.find(',');
      const std::string_view directive = TrimSpace(rest.substr(0, comma));
      rest = comma == std::string_view::npos ? std::string_view() : rest.substr(comma + 1);
      const std::size_t equals = directive.find('=');
      const std::string directive_name = AsciiLower(TrimSpace(directive.substr(0, equals)));
      std::optional<seconds> says;
      if (directive_name == "no-store" || directive_name == "no-cache") {
        says = seconds(0);
      } else if (directive_name == "max-age") {
        std::string_view argument =
            equals == std::string_view::npos ? "" : TrimSpace(directive.substr(equals + 1));
        if (argument.size() >= 2 && argument.front() == '"' && argument.back() == '"') {
          argument = argument.substr(1, argument.size() - 2);
        }
        says = DeltaSeconds(argument).value_or(seconds(0));
      }
      if (says) lifetime = std::min(lifetime.value_or(*says), *says);
    }
  }
  if (!lifetime) return std::nullopt;
  const seconds age = DeltaSeconds(TrimSpace(response.Header("age"))).value_or(seconds(0));
  return std::max(seconds(0), *lifetime - age);
}

std::string Described(std::string_view host) {
  return "the client metadata document at " + std::string(host);
}

// Send's errors, as Get documents them.
Status FetchError(const Status& error, std::string_view host) {
  switch (error.code()) {
    case StatusCode::kPermissionDenied:
      return PermissionDeniedError(Described(host) + " is not fetched: the host has no public address");
    case StatusCode::kResourceExhausted:
      return InvalidArgumentError(Described(host) + " is larger than " +
                                  std::to_string(kMaxClientMetadataBytes) + " bytes");
    case StatusCode::kInvalidArgument: return error;
    default: return UnavailableError("could not fetch " + Described(host) + " (" + error.message() + ")");
  }
}

}  // namespace

bool IsClientDocumentUrl(std::string_view client_id) {
  // Lower-case "https" only: the id is compared byte for byte, so one spelling per URL.
  if (client_id.size() > kMaxClientIdBytes || !client_id.starts_with("https://")) return false;
  StatusOr<Url> url = ParseHttpUrl(client_id);  // refuses user info and fragments
  if (!url.ok() || url->has_query || url->path.empty() || url->path == "/") return false;
  std::string_view path = std::string_view(url->path).substr(1);
  for (;;) {
    const std::size_t slash = path.find('/');
    if (IsDotSegment(path.substr(0, slash))) return false;
    if (slash == std::string_view::npos) return true;
    path.remove_prefix(slash + 1);
  }
}

ClientDocuments::ClientDocuments(store::Store& store, oauth::HttpClient& http, const Clock& clock,
                                 ClientDocumentOptions options)
    : store_(store), http_(http), clock_(clock), options_(std::move(options)) {}

StatusOr<store::McpClientRecord> ClientDocuments::Get(std::string_view client_id) {
  const std::string url(client_id);
  const std::string host = oauth::UrlHostForMessages(url);
  if (!IsClientDocumentUrl(url)) {
    return InvalidArgumentError("the client_id for " +
                                (host.empty() ? std::string("(no usable host)") : host) +
                                " is not a client metadata document URL (https, a path, no query)");
  }
  StatusOr<store::McpClientRecord> stored = store_.GetMcpClient(url);
  if (!stored.ok() && stored.status().code() != StatusCode::kNotFound) return stored.status();
  if (stored.ok() && stored->metadata_document && stored->document_expires_at &&
      *stored->document_expires_at > clock_.Now()) {
    return stored;
  }

  LATCHKEY_ASSIGN_OR_RETURN(const oauth::HttpResponse response, Fetch(url, host));
  StatusOr<store::McpClientRecord> client = ParseClientMetadata(response.body, url);
  if (!client.ok()) {
    return InvalidArgumentError(Described(host) + " is refused (" + client.status().message() + ")");
  }
  const TimePoint now = clock_.Now();
  client->document_expires_at = now + CacheLifetime(response);
  client->created_at = stored.ok() ? stored->created_at : now;
  client->updated_at = now;
  LATCHKEY_RETURN_IF_ERROR(store_.UpsertMcpClient(*client));
  return client;
}

// The document's response, 200 only: a redirect would let a hostile document point the
// fetch anywhere, and any other answer holds no document.
StatusOr<oauth::HttpResponse> ClientDocuments::Fetch(const std::string& url, std::string_view host) {
  oauth::HttpRequest request;
  request.method = "GET";
  request.url = url;
  request.headers.emplace_back("Accept", "application/json");
  oauth::HttpLimits limits;
  limits.connect_timeout = options_.timeout;
  limits.total_timeout = options_.timeout;
  limits.max_response_bytes = kMaxClientMetadataBytes;
  limits.public_addresses_only = !options_.allow_private_hosts;
  limits.ca_file = options_.ca_file;
  StatusOr<oauth::HttpResponse> response = http_.Send(request, limits);
  if (!response.ok()) return FetchError(response.status(), host);
  const std::string status = std::to_string(response->status);
  if (response->status == 429 || response->status >= 500) {
    return UnavailableError("could not fetch " + Described(host) + " (HTTP " + status + ")");
  }
  if (response->status >= 300 && response->status < 400) {
    return InvalidArgumentError(Described(host) + " answered with a redirect (HTTP " + status +
                                "), which is not followed");
  }
  if (response->status != 200) {
    return InvalidArgumentError(Described(host) + " answered HTTP " + status + ", not 200");
  }
  return response;
}

Duration ClientDocuments::CacheLifetime(const oauth::HttpResponse& response) const {
  const seconds lifetime = FreshnessLifetime(response).value_or(options_.default_cache);
  return std::min(std::max(lifetime, options_.min_cache), options_.max_cache);
}

}  // namespace latchkey::vault
