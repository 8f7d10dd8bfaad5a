// Every way a provider document can be wrong, each asserting that the message names
// the source, the exact line and the field, so an operator can fix it without guessing.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "provider/provider.h"

namespace latchkey::provider {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;

struct BadDocument {
  std::string_view label;
  std::string_view toml;
  std::string_view where;  // "bad.toml:LINE:" or "bad.toml:LINE:COL:" or "bad.toml:"
  std::string_view field;  // must appear in the message
  std::string_view detail = "";
};

// Line 1: name, 2: auth, 3: token_url, 4: api_base_url.
#define OAUTH_HEAD                                  \
  "name = \"acme\"\n"                               \
  "auth = \"oauth2\"\n"                             \
  "token_url = \"https://id.acme.example/token\"\n" \
  "api_base_url = \"https://api.acme.example\"\n"

const BadDocument kBadDocuments[] = {
    {"syntax error", "name = \"acme\"\nauth = oauth2\n", "bad.toml:2:8:", "TOML syntax error"},
    {"unterminated string", "name = \"acme\n", "bad.toml:1:", "TOML syntax error"},
    {"unknown top-level field", OAUTH_HEAD "tokn_url = \"https://x.example\"\n", "bad.toml:5:", "'tokn_url'",
     "did you mean 'token_url'"},
    {"unknown quirk", OAUTH_HEAD "[quirks]\nrotates_refresh_token = true\ntoken_pth = \"x\"\n",
     "bad.toml:7:", "'quirks.token_pth'"},
    {"scopes not an array", OAUTH_HEAD "scopes = \"read write\"\n", "bad.toml:5:", "'scopes'",
     "must be an array of strings"},
    {"scopes with a number", OAUTH_HEAD "scopes = [\"read\", 7]\n", "bad.toml:5:", "'scopes'",
     "must be an array of strings"},
    {"name not a string", "name = 12\nauth = \"basic\"\napi_base_url = \"https://a.example\"\n",
     "bad.toml:1:", "'name'", "must be a string"},
    {"quirk of wrong type", OAUTH_HEAD "[quirks]\nerror_in_ok_body = \"yes\"\n",
     "bad.toml:6:", "'quirks.error_in_ok_body'", "true or false"},
    {"param value not a string",
     OAUTH_HEAD "[authorization_params]\naccess_type = \"offline\"\nmax_age = 5\n",
     "bad.toml:7:", "'authorization_params'", "'max_age'"},
    {"missing token_url", "name = \"acme\"\nauth = \"oauth2\"\napi_base_url = \"https://api.acme.example\"\n",
     "bad.toml:2:", "'token_url'", "required"},
    {"missing api_base_url",
     "name = \"acme\"\nauth = \"oauth2\"\ntoken_url = \"https://id.acme.example/t\"\n",
     "bad.toml:2:", "'api_base_url'", "required"},
    {"http off loopback",
     "name = \"acme\"\nauth = \"oauth2\"\ntoken_url = \"http://id.acme.example/token\"\n"
     "api_base_url = \"https://api.acme.example\"\n",
     "bad.toml:3:", "'token_url'", "http:// is allowed only for loopback hosts (127.0.0.1, ::1, localhost)"},
    {"http api base off loopback",
     "name = \"acme\"\nauth = \"basic\"\napi_base_url = \"http://10.1.2.3:80\"\n",
     "bad.toml:3:", "'api_base_url'", "loopback"},
    {"userinfo in url", OAUTH_HEAD "revocation_url = \"https://me:pw@id.acme.example/revoke\"\n",
     "bad.toml:5:", "'revocation_url'", "user info"},
    {"fragment in url", OAUTH_HEAD "authorization_url = \"https://id.acme.example/auth#x\"\n",
     "bad.toml:5:", "'authorization_url'", "fragment"},
    {"relative url", OAUTH_HEAD "userinfo_url = \"/userinfo\"\n", "bad.toml:5:", "'userinfo_url'",
     "absolute"},
    {"bad extra api base",
     OAUTH_HEAD "extra_api_base_urls = [\"https://ok.example\", \"http://up.example\"]\n",
     "bad.toml:5:", "'extra_api_base_urls'", "http://up.example"},
    {"bad slug", "name = \"Acme_Corp\"\nauth = \"basic\"\napi_base_url = \"https://a.example\"\n",
     "bad.toml:1:", "'name'", "slug"},
    {"slug starting with dash", "name = \"-acme\"\nauth = \"basic\"\napi_base_url = \"https://a.example\"\n",
     "bad.toml:1:", "'name'", "slug"},
    {"missing name", "auth = \"basic\"\napi_base_url = \"https://a.example\"\n", "bad.toml: ", "'name'",
     "required"},
    {"missing auth", "name = \"acme\"\napi_base_url = \"https://a.example\"\n", "bad.toml: ", "'auth'",
     "required"},
    {"bad auth value", "name = \"acme\"\nauth = \"oauth\"\napi_base_url = \"https://a.example\"\n",
     "bad.toml:2:", "'auth'", "allowed: oauth2, api_key, basic"},
    {"bad token_auth", OAUTH_HEAD "token_auth = \"private_key_jwt\"\n", "bad.toml:5:", "'token_auth'",
     "allowed: client_secret_basic, client_secret_post, none"},
    {"api key with header and query",
     "name = \"k\"\nauth = \"api_key\"\napi_base_url = \"https://a.example\"\napi_key_header = \"X-Key\"\n"
     "api_key_query = \"key\"\n",
     "bad.toml:5:", "'api_key_query'", "exclusive"},
    {"api key with neither", "name = \"k\"\nauth = \"api_key\"\napi_base_url = \"https://a.example\"\n",
     "bad.toml:2:", "'api_key_header'", "required"},
    {"api key header not a token",
     "name = \"k\"\nauth = \"api_key\"\napi_base_url = \"https://a.example\"\napi_key_header = \"X Key:\"\n",
     "bad.toml:4:", "'api_key_header'", "header name"},
    {"oauth field on api key",
     "name = \"k\"\nauth = \"api_key\"\napi_base_url = \"https://a.example\"\napi_key_header = \"X-Key\"\n"
     "token_url = \"https://a.example/t\"\n",
     "bad.toml:5:", "'token_url'", "only to auth = \"oauth2\""},
    {"refresh token lifetime on api key",
     "name = \"k\"\nauth = \"api_key\"\napi_base_url = \"https://a.example\"\napi_key_header = \"X-Key\"\n"
     "refresh_token_idle_lifetime = \"90d\"\n",
     "bad.toml:5:", "'refresh_token_idle_lifetime'", "only to auth = \"oauth2\""},
    {"api key field on oauth", OAUTH_HEAD "api_key_header = \"X-Key\"\n", "bad.toml:5:", "'api_key_header'",
     "only to auth = \"api_key\""},
    {"api key field on basic",
     "name = \"b\"\nauth = \"basic\"\napi_base_url = \"https://a.example\"\napi_key_query = \"key\"\n",
     "bad.toml:4:", "'api_key_query'", "only to auth = \"api_key\", not \"basic\""},
    {"oauth quirk on basic",
     "name = \"b\"\nauth = \"basic\"\napi_base_url = \"https://a.example\"\n[quirks]\n"
     "token_request_headers = { X = \"1\" }\n",
     "bad.toml:5:", "'quirks.token_request_headers'", "only to auth = \"oauth2\""},
    {"bad env reference", OAUTH_HEAD "client_secret = \"env:ACME-SECRET\"\n",
     "bad.toml:5:", "'client_secret'", "environment variable"},
    {"secret with token_auth none", OAUTH_HEAD "token_auth = \"none\"\nclient_secret = \"env:S\"\n",
     "bad.toml:6:", "'client_secret'", "none"},
    {"scope with a space", OAUTH_HEAD "scopes = [\"read write\"]\n", "bad.toml:5:", "'scopes'",
     "single scope"},
    {"reserved authorization param", OAUTH_HEAD "[authorization_params]\nstate = \"fixed\"\n",
     "bad.toml:5:", "'authorization_params'", "'state'"},
    {"bad token_response_format", OAUTH_HEAD "[quirks]\ntoken_response_format = \"xml\"\n",
     "bad.toml:6:", "'quirks.token_response_format'", "allowed: json, form, auto"},
    {"bad scope_error_format", OAUTH_HEAD "[quirks]\nscope_error_format = \"aws\"\n", "bad.toml:6:",
     "'quirks.scope_error_format'", "allowed: rfc6750, google, slack, github, microsoft_graph"},
    {"zero default_expires_in", OAUTH_HEAD "[quirks]\ndefault_expires_in = 0\n",
     "bad.toml:6:", "'quirks.default_expires_in'", "positive"},
    {"float default_expires_in", OAUTH_HEAD "[quirks]\ndefault_expires_in = 3600.0\n",
     "bad.toml:6:", "'quirks.default_expires_in'", "integer"},
    {"negative refresh_token_lifetime", OAUTH_HEAD "[quirks]\nrefresh_token_lifetime = -1\n",
     "bad.toml:6:", "'quirks.refresh_token_lifetime'", "positive"},
    {"refresh_token_lifetime past ten years", OAUTH_HEAD "[quirks]\nrefresh_token_lifetime = 315360001\n",
     "bad.toml:6:", "'quirks.refresh_token_lifetime'", "at most 3650d"},
    {"both spellings of refresh_token_lifetime",
     OAUTH_HEAD "refresh_token_lifetime = \"90d\"\n[quirks]\nrefresh_token_lifetime = 7776000\n",
     "bad.toml:7:", "'quirks.refresh_token_lifetime'", "old spelling"},
    {"lifetime without a unit", OAUTH_HEAD "refresh_token_idle_lifetime = \"90\"\n",
     "bad.toml:5:", "'refresh_token_idle_lifetime'", "\"90d\""},
    {"lifetime as a number", OAUTH_HEAD "refresh_token_lifetime = 90\n",
     "bad.toml:5:", "'refresh_token_lifetime'", "string"},
    {"reuse grace of zero", OAUTH_HEAD "refresh_token_reuse_grace = \"0m\"\n",
     "bad.toml:5:", "'refresh_token_reuse_grace'", "whole number and a unit"},
    {"docs_url over plain http", OAUTH_HEAD "docs_url = \"http://docs.acme.example/oauth\"\n",
     "bad.toml:5:", "'docs_url'", "https://"},
    {"docs_url that is no URL", OAUTH_HEAD "docs_url = \"see the wiki\"\n", "bad.toml:5:", "'docs_url'",
     "https://"},
    {"docs_url with a space in its fragment", OAUTH_HEAD "docs_url = \"https://d.example/#a b\"\n",
     "bad.toml:5:", "'docs_url'", "https://"},
    {"empty terminal error", OAUTH_HEAD "[quirks]\nterminal_errors = [\"token_revoked\", \"\"]\n",
     "bad.toml:6:", "'quirks.terminal_errors'", "empty"},
    {"bad token_path", OAUTH_HEAD "[quirks]\ntoken_path = \"authed_user.\"\n",
     "bad.toml:6:", "'quirks.token_path'", "field path"},
    {"reserved token header", OAUTH_HEAD "[quirks.token_request_headers]\nHost = \"evil.example\"\n",
     "bad.toml:5:", "'quirks.token_request_headers'", "'Host'"},
    {"quirks not a table", OAUTH_HEAD "quirks = \"none\"\n", "bad.toml:5:", "'quirks'", "must be a table"},
};

class BadDocumentTest : public ::testing::TestWithParam<BadDocument> {};

TEST_P(BadDocumentTest, NamesLineAndField) {
  const BadDocument& c = GetParam();
  auto parsed = ParseProvider(c.toml, "bad.toml");
  ASSERT_FALSE(parsed.ok()) << c.label << " was accepted";
  EXPECT_EQ(parsed.status().code(), StatusCode::kInvalidArgument);
  const std::string message = parsed.status().message();
  EXPECT_THAT(message, StartsWith(std::string(c.where))) << c.label;
  EXPECT_THAT(message, HasSubstr(std::string(c.field))) << c.label;
  EXPECT_THAT(message, HasSubstr(std::string(c.detail))) << c.label;
}

INSTANTIATE_TEST_SUITE_P(AllBadDocuments, BadDocumentTest, ::testing::ValuesIn(kBadDocuments),
                         [](const ::testing::TestParamInfo<BadDocument>& param_info) {
                           std::string name(param_info.param.label);
                           for (char& c : name) {
                             if (std::isalnum(static_cast<unsigned char>(c)) == 0) c = '_';
                           }
                           return name;
                         });

// Found by provider_toml_fuzz (tests/fuzz/corpus/provider_toml_fuzz/crlf_header).
TEST(BadDocumentMessageTest, AValueWithLineBreaksCannotForgeALineOfTheMessage) {
  auto parsed = ParseProvider(
      "name = \"k\"\nauth = \"api_key\"\napi_key_header = \"X-Key\\r\\nHost: evil\"\n"
      "api_base_url = \"https://api.example\"\n",
      "k.toml");
  ASSERT_FALSE(parsed.ok());
  EXPECT_EQ(parsed.status().message().find_first_of("\r\n"), std::string::npos) << parsed.status().message();
  EXPECT_TRUE(parsed.status().message().starts_with("k.toml:3:")) << parsed.status().message();
}

TEST(BadDocumentMessageTest, HttpRefusalIsOneExactSentence) {
  auto parsed = ParseProvider(
      "name = \"acme\"\nauth = \"oauth2\"\n\n\n\n\ntoken_url = \"http://id.acme.example/token\"\n"
      "api_base_url = \"https://api.acme.example\"\n",
      "acme.toml");
  EXPECT_EQ(parsed.status().message(),
            "acme.toml:7: field 'token_url': http:// is allowed only for loopback hosts (127.0.0.1, ::1, "
            "localhost)");
}

TEST(BadDocumentMessageTest, UnknownFieldIsOneExactSentence) {
  auto parsed = ParseProvider("name = \"acme\"\nauth = \"basic\"\nzzz = 1\n", "acme.toml");
  EXPECT_EQ(parsed.status().message(), "acme.toml:3: unknown field 'zzz'");
}

TEST(BadDocumentMessageTest, FirstUnknownFieldInTheFileIsReported) {
  // toml::table is ordered by key; the operator expects the first one they wrote.
  auto parsed = ParseProvider("name = \"acme\"\nzz_late = 1\naa_later = 2\n", "acme.toml");
  EXPECT_THAT(parsed.status().message(), StartsWith("acme.toml:2: unknown field 'zz_late'"));
}

}  // namespace
}  // namespace latchkey::provider
