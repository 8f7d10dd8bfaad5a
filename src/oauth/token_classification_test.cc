// Table-driven: what a token endpoint answers → the TokenErrorKind the vault acts on.
#include <gtest/gtest.h>

#include <optional>
#include <string>

#include "oauth/fake_http_client.h"
#include "oauth/token_client.h"

namespace latchkey::oauth {
namespace {

using std::chrono::seconds;

constexpr char kTokenUrl[] = "https://id.example.com/token";

enum class Quirk { kNone, kSlack, kEntra, kGithub };

struct Case {
  const char* name;
  Quirk quirk;
  int status;
  const char* content_type;
  const char* body;
  const char* retry_after;  // header value or nullptr
  bool device_poll;
  std::optional<TokenErrorKind> kind;  // nullopt: success expected
  const char* code;
  std::optional<seconds> expected_retry_after;
};

provider::ProviderDefinition ProviderFor(Quirk quirk) {
  provider::ProviderDefinition p;
  p.name = "acme";
  p.token_url = kTokenUrl;
  p.token_auth = provider::TokenAuthMethod::kClientSecretPost;
  switch (quirk) {
    case Quirk::kNone: break;
    case Quirk::kSlack:
      p.scope_separator = ",";
      p.quirks.error_in_ok_body = true;
      p.quirks.terminal_errors = {"invalid_refresh_token", "token_revoked", "token_expired"};
      break;
    case Quirk::kEntra:
      p.quirks.terminal_errors = {"interaction_required"};
      p.quirks.terminal_error_descriptions = {"AADSTS70008", "AADSTS700082", "AADSTS50173"};
      break;
    case Quirk::kGithub:
      p.quirks.token_response_format = "auto";
      p.quirks.terminal_errors = {"bad_refresh_token"};
      break;
  }
  return p;
}

constexpr auto kTerminal = TokenErrorKind::kTerminal;
constexpr auto kMisconfigured = TokenErrorKind::kMisconfigured;
constexpr auto kTransient = TokenErrorKind::kTransient;
constexpr auto kProtocol = TokenErrorKind::kProtocol;

const char kJson[] = "application/json";
const char kHtml[] = "text/html; charset=utf-8";
const char kForm[] = "application/x-www-form-urlencoded";

const Case kCases[] = {
    {"plain_success", Quirk::kNone, 200, kJson,
     R"({"access_token":"at","token_type":"bearer","expires_in":3600})", nullptr, false, std::nullopt, "",
     std::nullopt},
    {"invalid_grant", Quirk::kNone, 400, kJson, R"({"error":"invalid_grant","error_description":"revoked"})",
     nullptr, false, kTerminal, "invalid_grant", std::nullopt},
    {"invalid_grant_with_401", Quirk::kNone, 401, kJson, R"({"error":"invalid_grant"})", nullptr, false,
     kTerminal, "invalid_grant", std::nullopt},
    {"invalid_client_401", Quirk::kNone, 401, kJson, R"({"error":"invalid_client"})", nullptr, false,
     kMisconfigured, "invalid_client", std::nullopt},
    {"unauthorized_client", Quirk::kNone, 400, kJson, R"({"error":"unauthorized_client"})", nullptr, false,
     kMisconfigured, "unauthorized_client", std::nullopt},
    {"invalid_scope", Quirk::kNone, 400, kJson, R"({"error":"invalid_scope"})", nullptr, false,
     kMisconfigured, "invalid_scope", std::nullopt},
    {"unknown_code_4xx", Quirk::kNone, 400, kJson, R"({"error":"something_new"})", nullptr, false,
     kMisconfigured, "something_new", std::nullopt},
    {"temporarily_unavailable_400", Quirk::kNone, 400, kJson, R"({"error":"temporarily_unavailable"})",
     nullptr, false, kTransient, "temporarily_unavailable", std::nullopt},
    {"server_error_500_json", Quirk::kNone, 500, kJson, R"({"error":"server_error"})", nullptr, false,
     kTransient, "server_error", std::nullopt},
    {"invalid_grant_in_503_is_not_trusted", Quirk::kNone, 503, kJson, R"({"error":"invalid_grant"})", nullptr,
     false, kTransient, "invalid_grant", std::nullopt},
    {"html_502", Quirk::kNone, 502, kHtml, "<html><body><h1>502 Bad Gateway</h1></body></html>", nullptr,
     false, kTransient, "http_502", std::nullopt},
    {"html_403_from_waf", Quirk::kNone, 403, kHtml, "<html>Access denied</html>", nullptr, false, kTransient,
     "http_403", std::nullopt},
    {"empty_401", Quirk::kNone, 401, "", "", nullptr, false, kMisconfigured, "http_401", std::nullopt},
    {"redirect_302", Quirk::kNone, 302, kHtml, "", nullptr, false, kMisconfigured, "http_302", std::nullopt},
    {"rate_limited_seconds", Quirk::kNone, 429, kJson, R"({"error":"rate_limited"})", "30", false, kTransient,
     "rate_limited", seconds(30)},
    {"rate_limited_http_date", Quirk::kNone, 429, "text/plain", "slow down", "Thu, 01 Jan 2026 00:01:40 GMT",
     false, kTransient, "http_429", seconds(100)},
    {"unavailable_retry_after_past_date", Quirk::kNone, 503, kHtml, "<html/>",
     "Wed, 31 Dec 2025 23:00:00 GMT", false, kTransient, "http_503", seconds(0)},
    {"success_not_json", Quirk::kNone, 200, kHtml, "<html>login</html>", nullptr, false, kProtocol,
     "malformed_response", std::nullopt},
    {"success_truncated_json", Quirk::kNone, 200, kJson, R"({"access_token":"at")", nullptr, false, kProtocol,
     "malformed_response", std::nullopt},
    {"success_without_access_token", Quirk::kNone, 200, kJson, R"({"token_type":"Bearer"})", nullptr, false,
     kProtocol, "missing_access_token", std::nullopt},
    {"success_json_array", Quirk::kNone, 200, kJson, "[]", nullptr, false, kProtocol, "malformed_response",
     std::nullopt},
    {"slack_ok_false_terminal", Quirk::kSlack, 200, kJson, R"({"ok":false,"error":"invalid_refresh_token"})",
     nullptr, false, kTerminal, "invalid_refresh_token", std::nullopt},
    {"slack_ok_false_revoked", Quirk::kSlack, 200, kJson, R"({"ok":false,"error":"token_revoked"})", nullptr,
     false, kTerminal, "token_revoked", std::nullopt},
    {"slack_ok_false_bad_secret", Quirk::kSlack, 200, kJson, R"({"ok":false,"error":"bad_client_secret"})",
     nullptr, false, kMisconfigured, "bad_client_secret", std::nullopt},
    {"slack_ok_false_without_code", Quirk::kSlack, 200, kJson, R"({"ok":false})", nullptr, false,
     kMisconfigured, "unknown_error", std::nullopt},
    {"slack_ok_true", Quirk::kSlack, 200, kJson, R"({"ok":true,"access_token":"xoxb","scope":"a,b"})",
     nullptr, false, std::nullopt, "", std::nullopt},
    {"entra_aadsts70008", Quirk::kEntra, 400, kJson,
     R"({"error":"invalid_grant","error_description":"AADSTS70008: The refresh token has expired"})", nullptr,
     false, kTerminal, "invalid_grant", std::nullopt},
    {"entra_aadsts50173_under_invalid_request", Quirk::kEntra, 400, kJson,
     R"({"error":"invalid_request","error_description":"AADSTS50173: The provided grant has expired"})",
     nullptr, false, kTerminal, "invalid_request", std::nullopt},
    {"entra_interaction_required", Quirk::kEntra, 400, kJson,
     R"({"error":"interaction_required","error_description":"AADSTS50076: MFA"})", nullptr, false, kTerminal,
     "interaction_required", std::nullopt},
    {"entra_other_invalid_request", Quirk::kEntra, 400, kJson,
     R"({"error":"invalid_request","error_description":"AADSTS900144: missing parameter"})", nullptr, false,
     kMisconfigured, "invalid_request", std::nullopt},
    {"github_form_200_error", Quirk::kGithub, 200, kForm, "error=bad_refresh_token&error_description=bad",
     nullptr, false, kTerminal, "bad_refresh_token", std::nullopt},
    {"github_json_200_error", Quirk::kGithub, 200, kJson, R"({"error":"incorrect_client_credentials"})",
     nullptr, false, kMisconfigured, "incorrect_client_credentials", std::nullopt},
    {"github_form_success", Quirk::kGithub, 200, kForm,
     "access_token=gho_x&scope=repo%2Cuser&token_type=bearer", nullptr, false, std::nullopt, "",
     std::nullopt},
    {"device_pending", Quirk::kNone, 400, kJson, R"({"error":"authorization_pending"})", nullptr, true,
     TokenErrorKind::kDevicePending, "authorization_pending", std::nullopt},
    {"device_slow_down", Quirk::kNone, 400, kJson, R"({"error":"slow_down"})", nullptr, true,
     TokenErrorKind::kDeviceSlowDown, "slow_down", std::nullopt},
    {"device_expired", Quirk::kNone, 400, kJson, R"({"error":"expired_token"})", nullptr, true,
     TokenErrorKind::kDeviceExpired, "expired_token", std::nullopt},
    {"device_denied", Quirk::kNone, 400, kJson, R"({"error":"access_denied"})", nullptr, true,
     TokenErrorKind::kDeviceDenied, "access_denied", std::nullopt},
    {"device_invalid_grant_is_terminal", Quirk::kNone, 400, kJson, R"({"error":"invalid_grant"})", nullptr,
     true, kTerminal, "invalid_grant", std::nullopt},
    {"slow_down_outside_device_flow", Quirk::kNone, 400, kJson, R"({"error":"slow_down"})", nullptr, false,
     kTransient, "slow_down", std::nullopt},
    {"error_code_sanitized", Quirk::kNone, 400, kJson, "{\"error\":\"inva<script>lid\\n\"}", nullptr, false,
     kMisconfigured, "invascriptlid", std::nullopt},
};

class TokenClassificationTest : public testing::TestWithParam<Case> {};

TEST_P(TokenClassificationTest, Classifies) {
  const Case& c = GetParam();
  FakeHttpClient http;
  std::vector<std::pair<std::string, std::string>> extra;
  if (c.retry_after != nullptr) extra.emplace_back("retry-after", c.retry_after);
  http.Respond(kTokenUrl, c.status, c.body, c.content_type, extra);
  // 2026-01-01T00:00:00Z
  SimulatedClock clock(FromUnixMillis(1767225600000));
  TokenClient client(ProviderFor(c.quirk), "client-id", SecretString("client-secret"), http, clock);
  TokenResult result = c.device_poll ? client.PollDevice(SecretString("device-code"))
                                     : client.Refresh(SecretString("refresh-token"));
  if (!c.kind) {
    ASSERT_TRUE(result.ok()) << result.error().ToString();
    EXPECT_FALSE(result->access_token.empty());
    return;
  }
  ASSERT_FALSE(result.ok()) << "expected an error";
  EXPECT_EQ(TokenErrorKindName(result.error().kind), TokenErrorKindName(*c.kind))
      << result.error().ToString();
  EXPECT_EQ(result.error().code, c.code);
  EXPECT_EQ(result.error().http_status, c.status);
  EXPECT_EQ(result.error().retry_after, c.expected_retry_after);
}

INSTANTIATE_TEST_SUITE_P(TokenEndpointResponses, TokenClassificationTest, testing::ValuesIn(kCases),
                         [](const testing::TestParamInfo<Case>& param) {
                           return std::string(param.param.name);
                         });

TEST(TokenTransportTest, NetworkErrorsAreTransientAndTimeoutsNamed) {
  provider::ProviderDefinition p = ProviderFor(Quirk::kNone);
  SimulatedClock clock(FromUnixMillis(0));
  struct Row {
    Status failure;
    TokenErrorKind kind;
    const char* code;
  } rows[] = {
      {UnavailableError("could not reach id.example.com: Couldn't connect"), kTransient, "network"},
      {DeadlineExceededError("id.example.com did not answer within 30000 ms"), kTransient, "timeout"},
      {ResourceExhaustedError("the response from id.example.com is larger than 1048576 bytes"), kProtocol,
       "response_too_large"},
      {InvalidArgumentError("the URL for id.example.com is not a valid http(s) URL"), kMisconfigured,
       "bad_endpoint_url"},
  };
  for (const Row& row : rows) {
    FakeHttpClient http;
    http.Fail(kTokenUrl, row.failure);
    TokenClient client(p, "id", SecretString("secret"), http, clock);
    TokenResult result = client.Refresh(SecretString("rt"));
    ASSERT_FALSE(result.ok());
    EXPECT_EQ(result.error().kind, row.kind);
    EXPECT_EQ(result.error().code, row.code);
    EXPECT_EQ(result.error().http_status, 0);
    EXPECT_EQ(result.error().description, row.failure.message());
  }
}

TEST(TokenErrorTest, StatusMapping) {
  TokenError terminal{TokenErrorKind::kTerminal, "invalid_grant", "gone", std::nullopt, 400};
  EXPECT_EQ(TokenErrorToStatus(terminal).code(), StatusCode::kNeedsHuman);
  EXPECT_EQ(TokenErrorToStatus(terminal).message(), "terminal: invalid_grant (HTTP 400): gone");
  TokenError transient{TokenErrorKind::kTransient, "http_503", "", seconds(5), 503};
  EXPECT_EQ(TokenErrorToStatus(transient).code(), StatusCode::kUnavailable);
}

}  // namespace
}  // namespace latchkey::oauth
