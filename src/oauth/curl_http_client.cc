#include "oauth/curl_http_client.h"

#include <curl/curl.h>
#include <sodium.h>
#include <sys/socket.h>

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <memory>
#include <mutex>

#include "common/ascii.h"
#include "oauth/public_address.h"

namespace latchkey::oauth {
namespace {

void InitCurlOnce() {
  static std::once_flag once;
  std::call_once(once, [] {
    // Without a working libcurl nothing in the OAuth engine can run; fail at start-up.
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) std::abort();
  });
}

struct Transfer {
  HttpResponse response;
  std::size_t max_bytes = 0;
  bool too_large = false;
  bool address_refused = false;  // public_addresses_only turned an address down
};

std::size_t OnBody(char* data, std::size_t size, std::size_t count, void* user) {
  auto* transfer = static_cast<Transfer*>(user);
  std::size_t bytes = size * count;
  if (transfer->response.body.size() + bytes > transfer->max_bytes) {
    transfer->too_large = true;
    return 0;  // anything but `bytes` aborts the transfer with CURLE_WRITE_ERROR
  }
  transfer->response.body.append(data, bytes);
  return bytes;
}

std::string Trim(std::string_view text) {
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.front())) != 0) text.remove_prefix(1);
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.back())) != 0) text.remove_suffix(1);
  return std::string(text);
}

std::size_t OnHeader(char* data, std::size_t size, std::size_t count, void* user) {
  auto* transfer = static_cast<Transfer*>(user);
  std::size_t bytes = size * count;
  std::string_view line(data, bytes);
  if (line.starts_with("HTTP/")) {
    // A new response (after 100 Continue, say): keep only the final one's headers.
    transfer->response.headers.clear();
    return bytes;
  }
  std::size_t colon = line.find(':');
  if (colon == std::string_view::npos) return bytes;
  std::string name = AsciiLower(Trim(line.substr(0, colon)));
  transfer->response.headers.emplace_back(std::move(name), Trim(line.substr(colon + 1)));
  return bytes;
}

// curl's socket factory when only public addresses may be reached: it sees each address
// curl is about to connect to (after DNS, per attempt), so the check and the connection
// use the same address. CURL_SOCKET_BAD makes curl try its next address, if any.
curl_socket_t OpenPublicSocket(void* user, curlsocktype purpose, curl_sockaddr* address) {
  if (purpose != CURLSOCKTYPE_IPCXN || !IsPublicAddress(&address->addr, address->addrlen)) {
    static_cast<Transfer*>(user)->address_refused = true;
    return CURL_SOCKET_BAD;
  }
  // CLOEXEC: a child process started meanwhile must not inherit the connection.
  return socket(address->family, address->socktype | SOCK_CLOEXEC, address->protocol);
}

// curl_slist_append copies each header with strdup; the Authorization line is a
// credential, so every copy is wiped before the list is freed.
struct HeaderList {
  curl_slist* list = nullptr;
  bool ok = true;
  void Append(const std::string& line) {
    curl_slist* appended = curl_slist_append(list, line.c_str());
    if (appended == nullptr) {
      ok = false;
      return;
    }
    list = appended;
  }
  ~HeaderList() {
    for (curl_slist* node = list; node != nullptr; node = node->next) {
      sodium_memzero(node->data, std::char_traits<char>::length(node->data));
    }
    curl_slist_free_all(list);
  }
};

struct EasyDeleter {
  void operator()(CURL* handle) const { curl_easy_cleanup(handle); }
};

Status TransferError(CURLcode code, const Transfer& transfer, const std::string& host,
                     const HttpLimits& limits) {
  if (transfer.address_refused && code == CURLE_COULDNT_CONNECT) {
    return PermissionDeniedError(
        "refused to connect to " + host +
        ": it has no public address (loopback, private and reserved ones are not reached)");
  }
  if (transfer.too_large || code == CURLE_FILESIZE_EXCEEDED) {
    return ResourceExhaustedError("the response from " + host + " is larger than " +
                                  std::to_string(limits.max_response_bytes) + " bytes");
  }
  switch (code) {
    case CURLE_OPERATION_TIMEDOUT:
      return DeadlineExceededError(host + " did not answer within " +
                                   std::to_string(limits.total_timeout.count()) + " ms");
    case CURLE_URL_MALFORMAT:
    case CURLE_UNSUPPORTED_PROTOCOL:
      return InvalidArgumentError("the URL for " + (host.empty() ? std::string("(no host)") : host) +
                                  " is not a valid http(s) URL");
    default: return UnavailableError("could not reach " + host + ": " + curl_easy_strerror(code));
  }
}

}  // namespace

CurlHttpClient::CurlHttpClient() { InitCurlOnce(); }

StatusOr<HttpResponse> CurlHttpClient::Send(const HttpRequest& request, const HttpLimits& limits) {
  InitCurlOnce();
  const std::string host = UrlHostForMessages(request.url);
  std::unique_ptr<CURL, EasyDeleter> easy(curl_easy_init());
  if (!easy) return InternalError("libcurl could not create a handle for " + host);
  CURL* h = easy.get();

  Transfer transfer;
  transfer.max_bytes = limits.max_response_bytes;
  transfer.response.body.reserve(std::min<std::size_t>(limits.max_response_bytes, std::size_t{16} * 1024));

  HeaderList headers;
  for (const auto& [name, value] : request.headers) headers.Append(name + ": " + value);
  if (!request.authorization.empty()) {
    std::string line = "Authorization: ";
    line.append(request.authorization.reveal());
    headers.Append(line);
    WipeString(line);
  }
  if (!headers.ok) return InternalError("libcurl could not build the request headers for " + host);

  bool options_ok =
      curl_easy_setopt(h, CURLOPT_URL, request.url.c_str()) == CURLE_OK &&
      curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https") == CURLE_OK &&
      curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L) == CURLE_OK &&
      curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 1L) == CURLE_OK &&
      curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 2L) == CURLE_OK &&
      curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L) == CURLE_OK &&
      curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(limits.connect_timeout.count())) ==
          CURLE_OK &&
      curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, static_cast<long>(limits.total_timeout.count())) == CURLE_OK &&
      curl_easy_setopt(h, CURLOPT_MAXFILESIZE_LARGE, static_cast<curl_off_t>(limits.max_response_bytes)) ==
          CURLE_OK &&
      curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers.list) == CURLE_OK &&
      curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, &OnBody) == CURLE_OK &&
      curl_easy_setopt(h, CURLOPT_WRITEDATA, &transfer) == CURLE_OK &&
      curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, &OnHeader) == CURLE_OK &&
      curl_easy_setopt(h, CURLOPT_HEADERDATA, &transfer) == CURLE_OK;
  if (limits.public_addresses_only) {
    options_ok = options_ok &&
                 curl_easy_setopt(h, CURLOPT_OPENSOCKETFUNCTION, &OpenPublicSocket) == CURLE_OK &&
                 curl_easy_setopt(h, CURLOPT_OPENSOCKETDATA, &transfer) == CURLE_OK &&
                 curl_easy_setopt(h, CURLOPT_PROXY, "") == CURLE_OK;
  }
  if (!limits.ca_file.empty()) {
    // CAPATH off as well: the system's CA directory would be trusted beside the file.
    options_ok = options_ok && curl_easy_setopt(h, CURLOPT_CAINFO, limits.ca_file.c_str()) == CURLE_OK &&
                 curl_easy_setopt(h, CURLOPT_CAPATH, static_cast<char*>(nullptr)) == CURLE_OK;
  }
  if (request.method == "POST") {
    // POSTFIELDS (not COPYPOSTFIELDS): curl reads the caller's SecretString in place,
    // so no unwiped copy of the body is made on our side.
    options_ok = options_ok && curl_easy_setopt(h, CURLOPT_POST, 1L) == CURLE_OK &&
                 curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE,
                                  static_cast<curl_off_t>(request.body.size())) == CURLE_OK &&
                 curl_easy_setopt(h, CURLOPT_POSTFIELDS, request.body.reveal().data()) == CURLE_OK;
  } else if (request.method == "GET") {
    options_ok = options_ok && curl_easy_setopt(h, CURLOPT_HTTPGET, 1L) == CURLE_OK;
  } else {
    return InvalidArgumentError("HTTP method " + request.method + " is not supported for " + host);
  }
  if (!options_ok) return InternalError("libcurl refused the transfer options for " + host);

  CURLcode code = curl_easy_perform(h);
  if (code != CURLE_OK) {
    WipeString(transfer.response.body);
    return TransferError(code, transfer, host, limits);
  }
  long status = 0;
  curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
  transfer.response.status = static_cast<int>(status);
  return std::move(transfer.response);
}

}  // namespace latchkey::oauth
