// Upstream TLS: certificates are verified (chain and host name); a private CA can be
// trusted with [gateway] upstream_ca_file. A self-signed certificate made at test time.
#include "e2e/gateway_fixture.h"

namespace latchkey::testing {
namespace {

using ::testing::HasSubstr;

class GatewayTlsTest : public GatewayTest {
 protected:
  void SetUp() override {
    cert_ = certs_.path() + "/cert.pem";
    const std::string key = certs_.path() + "/key.pem";
    RunResult made = ::latchkey::testing::Run(
        {"/usr/bin/openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj",
         "/CN=localhost", "-addext", "subjectAltName=DNS:localhost", "-keyout", key, "-out", cert_});
    ASSERT_EQ(made.exit_code, 0) << made.err;
    upstream_ = std::make_unique<NodeServer>("tls_upstream.js", EnvMap{{"CERT", cert_}, {"KEY", key}});
  }

  // An API-key connection `name` to https://HOST:<port>.
  void AddConnection(const std::string& name, const std::string& host) {
    MustRun({"provider", "add", "--file", "-"},
            "name = \"tls-" + name + "\"\nauth = \"api_key\"\napi_base_url = \"https://" + host + ":" +
                std::to_string(upstream_->port()) + "\"\napi_key_header = \"X-Api-Key\"\n");
    MustRun({"connection", "import", name, "--provider", "tls-" + name}, R"({"api_key":"k-123456789"})");
  }

  TempDir certs_;
  std::string cert_;
  std::unique_ptr<NodeServer> upstream_;
};

TEST_F(GatewayTlsTest, UntrustedCertificateIsRefused) {
  AddConnection("named", "localhost");
  const std::string key = CreateAgent("bot", {"named"});
  StartGateway();
  RawReply reply = Call("GET", "/proxy/named/x", key);
  EXPECT_EQ(reply.status, 502) << reply.raw;
  EXPECT_EQ(reply.Header("latchkey-error"), "upstream_unavailable");
  EXPECT_THAT(reply.Json()["detail"].get<std::string>(), HasSubstr("TLS handshake"));
}

TEST_F(GatewayTlsTest, TrustedPrivateCaWorksAndTheHostNameIsChecked) {
  AddConnection("named", "localhost");
  AddConnection("byip", "127.0.0.1");
  const std::string key = CreateAgent("bot", {"named", "byip"});
  StartGateway("[gateway]\nupstream_ca_file = \"" + cert_ + "\"\n");
  RawReply ok = Call("GET", "/proxy/named/x", key);
  ASSERT_EQ(ok.status, 200) << ok.raw << GatewayLog();
  EXPECT_EQ(ok.Json()["tls"], true);
  // The certificate names localhost, not 127.0.0.1.
  RawReply mismatch = Call("GET", "/proxy/byip/x", key);
  EXPECT_EQ(mismatch.status, 502) << mismatch.raw;
  EXPECT_THAT(mismatch.Json()["detail"].get<std::string>(), HasSubstr("TLS handshake"));
}

TEST_F(GatewayTlsTest, UnreadableCaFileStopsTheDaemonWithAClearError) {
  WriteFile(data_dir() + "/latchkey.toml", "[gateway]\nupstream_ca_file = \"/nonexistent/ca.pem\"\n");
  RunResult serve = Latchkey({"serve", "--listen", "127.0.0.1:0"});
  EXPECT_EQ(serve.exit_code, 2) << serve.err;
  EXPECT_THAT(serve.err, HasSubstr("/nonexistent/ca.pem"));
}

}  // namespace
}  // namespace latchkey::testing
