// Fuzzes a client's metadata as latchkey's authorization server for /mcp reads it (a
// dynamic registration request, or a Client ID Metadata Document): outside input that
// decides where authorization codes go. The first byte picks the mode. Properties: an
// error is one kInvalidArgument line; a parsed client has 1 to 10 redirect URIs, each
// https, http on loopback, or an app's private-use scheme that no browser acts on itself;
// a document's client is its URL and public ("none"); what a human is shown (name, logo)
// is display text already.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "common/ascii.h"
#include "common/encoding.h"
#include "common/url.h"
#include "provider/provider.h"
#include "support/fuzz_check.h"
#include "support/fuzz_input.h"
#include "vault/mcp_client_metadata.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace latchkey;
  if (size == 0) return 0;
  const std::string_view url = (data[0] & 1) != 0 ? "https://client.example/oauth/metadata.json" : "";
  const std::string_view text = fuzz::AsText(data + 1, size - 1);
  auto client = vault::ParseClientMetadata(text, url);
  if (!client.ok()) {
    FUZZ_CHECK(client.status().code() == StatusCode::kInvalidArgument);
    FUZZ_CHECK(client.status().message().find('\n') == std::string::npos);
    return 0;
  }
  FUZZ_CHECK(!client->redirect_uris.empty() && client->redirect_uris.size() <= 10);
  for (const std::string& uri : client->redirect_uris) {
    auto parsed = ParseHttpUrl(uri);
    if (parsed.ok()) {
      FUZZ_CHECK(parsed->https() || provider::IsLoopbackHost(parsed->host));
      continue;
    }
    // Otherwise an app's private-use scheme: never one a browser acts on itself.
    const std::string scheme = AsciiLower(uri.substr(0, uri.find(':')));
    for (std::string_view refused : {"javascript", "data", "vbscript", "file", "http", "https"}) {
      FUZZ_CHECK(scheme != refused);
    }
    FUZZ_CHECK(uri.find_first_of("# \n\r") == std::string::npos);
  }
  FUZZ_CHECK(client->metadata_document == !url.empty());
  if (client->metadata_document) {
    FUZZ_CHECK(client->client_id == url);
    FUZZ_CHECK(client->token_endpoint_auth_method == "none");
  } else {
    FUZZ_CHECK(client->client_id.empty());
  }
  FUZZ_CHECK(ToDisplayText(client->name, 200) == client->name);
  FUZZ_CHECK(ToDisplayText(client->logo_uri, 200) == client->logo_uri);
  return 0;
}
