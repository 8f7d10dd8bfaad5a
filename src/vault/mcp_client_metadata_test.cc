#include "vault/mcp_client_metadata.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace latchkey::vault {
namespace {

using ::testing::HasSubstr;

constexpr char kUrl[] = "https://client.example/oauth/metadata.json";

TEST(ClientMetadataTest, ARegistrationAndADocumentAreReadAlike) {
  auto registered = ParseClientMetadata(
      R"({"client_name":"VS Code","redirect_uris":["http://127.0.0.1/callback","https://vscode.dev/redirect"],
          "grant_types":["authorization_code","refresh_token"],"response_types":["code"],
          "token_endpoint_auth_method":"none"})",
      "");
  ASSERT_TRUE(registered.ok()) << registered.status().ToString();
  EXPECT_FALSE(registered->metadata_document);
  EXPECT_TRUE(registered->client_id.empty()) << "latchkey assigns it";
  EXPECT_EQ(registered->name, "VS Code");
  EXPECT_EQ(registered->redirect_uris.size(), 2U);
  EXPECT_EQ(registered->token_endpoint_auth_method, "none");

  // Cursor's registration, as it sends it: an app scheme (RFC 8252 §7.1) among the others.
  auto cursor = ParseClientMetadata(
      R"({"client_name":"Cursor","redirect_uris":["cursor://anysphere.cursor-mcp/oauth/callback",
          "https://www.cursor.com/agents/mcp/oauth/callback","http://localhost:8787/callback"],
          "token_endpoint_auth_method":"none"})",
      "");
  ASSERT_TRUE(cursor.ok()) << cursor.status().ToString();
  EXPECT_EQ(cursor->redirect_uris.front(), "cursor://anysphere.cursor-mcp/oauth/callback");
  EXPECT_TRUE(ParseClientMetadata(R"({"redirect_uris":["com.example.app:/oauth2redirect"]})", "").ok());

  auto confidential = ParseClientMetadata(R"({"redirect_uris":["https://app.example/cb"]})", "");
  ASSERT_TRUE(confidential.ok());
  EXPECT_EQ(confidential->token_endpoint_auth_method, "client_secret_basic") << "RFC 7591's default";

  auto document =
      ParseClientMetadata(std::string(R"({"client_id":")") + kUrl +
                              R"(","client_name":"Claude","redirect_uris":["http://localhost/cb"]})",
                          kUrl);
  ASSERT_TRUE(document.ok()) << document.status().ToString();
  EXPECT_TRUE(document->metadata_document);
  EXPECT_EQ(document->client_id, kUrl);
  EXPECT_EQ(document->token_endpoint_auth_method, "none") << "a public document holds no secret";
}

TEST(ClientMetadataTest, WhatCouldSendACodeElsewhereOrMisleadAHumanIsRefused) {
  struct Case {
    const char* what;
    std::string json;
    std::string url;
    const char* says;
  };
  const std::string id = std::string(R"("client_id":")") + kUrl + R"(",)";
  const Case cases[] = {
      {"no redirect", R"({})", "", "redirect_uris"},
      {"empty redirects", R"({"redirect_uris":[]})", "", "redirect_uris"},
      {"http elsewhere", R"({"redirect_uris":["http://evil.example/cb"]})", "", "loopback"},
      {"user info", R"({"redirect_uris":["https://a.example@evil.example/cb"]})", "", "no http(s) URL"},
      {"fragment", R"({"redirect_uris":["https://app.example/cb#x"]})", "", "no http(s) URL"},
      {"script scheme", R"j({"redirect_uris":["javascript:alert(1)"]})j", "", "no http(s) URL"},
      {"script scheme with a slash", R"j({"redirect_uris":["JavaScript://%0aalert(1)"]})j", "",
       "no http(s) URL"},
      {"data scheme", R"j({"redirect_uris":["data:/text/html,x"]})j", "", "no http(s) URL"},
      {"file scheme", R"j({"redirect_uris":["file:///etc/passwd"]})j", "", "no http(s) URL"},
      {"windows handler", R"j({"redirect_uris":["ms-officecmd:/x"]})j", "", "no http(s) URL"},
      {"android intent", R"j({"redirect_uris":["intent://x#Intent;end"]})j", "", "no http(s) URL"},
      {"app scheme with a fragment", R"j({"redirect_uris":["cursor://app/cb#x"]})j", "", "no http(s) URL"},
      {"app scheme with a space", R"j({"redirect_uris":["cursor://app/c b"]})j", "", "no http(s) URL"},
      {"a number", R"({"redirect_uris":[1]})", "", "strings"},
      {"too many",
       R"({"redirect_uris":[)" + std::string(R"("https://a.example/1",)") + R"("https://a.example/2",)" +
           R"("https://a.example/3","https://a.example/4","https://a.example/5","https://a.example/6",)" +
           R"("https://a.example/7","https://a.example/8","https://a.example/9","https://a.example/10",)" +
           R"("https://a.example/11"]})",
       "", "1 to 10"},
      {"client_id chosen by a registrant",
       R"({"client_id":"lkc_x","redirect_uris":["https://a.example/cb"]})", "", "assigned by this server"},
      {"document naming another URL",
       R"({"client_id":"https://evil.example/m.json","redirect_uris":["https://a.example/cb"]})", kUrl,
       "must equal the URL"},
      {"document naming its URL with a trailing slash",
       std::string(R"({"client_id":")") + kUrl + R"(/","redirect_uris":["https://a.example/cb"]})", kUrl,
       "must equal the URL"},
      {"document without client_id", R"({"redirect_uris":["https://a.example/cb"]})", kUrl,
       "must equal the URL"},
      {"document with a secret method",
       "{" + id +
           R"("redirect_uris":["https://a.example/cb"],"token_endpoint_auth_method":"client_secret_post"})",
       kUrl, "must be none"},
      {"unknown auth method",
       R"({"redirect_uris":["https://a.example/cb"],"token_endpoint_auth_method":"tls"})", "",
       "token_endpoint_auth_method"},
      {"implicit grant", R"({"redirect_uris":["https://a.example/cb"],"grant_types":["implicit"]})", "",
       "grant_types"},
      {"token response type", R"({"redirect_uris":["https://a.example/cb"],"response_types":["token"]})", "",
       "response_types"},
      {"a name with a line break",
       R"({"redirect_uris":["https://a.example/cb"],"client_name":"Claude\nAllow"})", "", "client_name"},
      {"a name with a bidi override",
       R"({"redirect_uris":["https://a.example/cb"],"client_name":"Claude \u202egnp.exe"})", "",
       "client_name"},
      {"not an object", R"(["https://a.example/cb"])", "", "not a JSON object"},
      {"not JSON", "redirect_uris=https://a.example/cb", "", "not a JSON object"},
      {"too large",
       R"({"redirect_uris":["https://a.example/cb"],"client_name":")" + std::string(6000, 'a') + "\"}", "",
       "larger than 5 KiB"},
  };
  for (const Case& c : cases) {
    auto refused = ParseClientMetadata(c.json, c.url);
    ASSERT_FALSE(refused.ok()) << c.what;
    EXPECT_EQ(refused.status().code(), StatusCode::kInvalidArgument) << c.what;
    EXPECT_THAT(refused.status().message(), HasSubstr(c.says)) << c.what;
  }
}

}  // namespace
}  // namespace latchkey::vault
