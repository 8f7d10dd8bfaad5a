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

// A TLS upstream's answer too long to read whole is streamed to the agent byte for byte,
// and the connection, read to the end of it, carries the next call (the TLS reads and
// the streamed body's reads take their own completion token: read_message.h).
TEST_F(GatewayTlsTest, ALongAnswerStreamsWholeAndItsConnectionCarriesTheNextCall) {
  AddConnection("named", "localhost");
  const std::string key = CreateAgent("bot", {"named"});
  // One worker: one pool of upstream connections for the three calls.
  StartGateway("[gateway]\nworkers = 1\nupstream_ca_file = \"" + cert_ + "\"\n");
  RawReply first = Call("GET", "/proxy/named/x", key);
  ASSERT_EQ(first.status, 200) << first.raw << GatewayLog();
  RawReply big = Call("GET", "/proxy/named/big", key);
  ASSERT_EQ(big.status, 200) << GatewayLog();
  std::string expected;
  for (int i = 0; i < 30000; ++i) expected += "0123456789";
  EXPECT_EQ(big.body.size(), expected.size());
  EXPECT_TRUE(big.body == expected) << "the streamed body differs from what the upstream sent";
  RawReply after = Call("GET", "/proxy/named/x", key);
  ASSERT_EQ(after.status, 200) << after.raw;
  EXPECT_EQ(after.Json()["on_connection"], first.Json()["on_connection"].get<int>() + 2) << after.raw;
}

TEST_F(GatewayTlsTest, UnreadableCaFileStopsTheDaemonWithAClearError) {
  WriteFile(data_dir() + "/latchkey.toml", "[gateway]\nupstream_ca_file = \"/nonexistent/ca.pem\"\n");
  RunResult serve = Latchkey({"serve", "--listen", "127.0.0.1:0"});
  EXPECT_EQ(serve.exit_code, 2) << serve.err;
  EXPECT_THAT(serve.err, HasSubstr("/nonexistent/ca.pem"));
}

}  // namespace
}  // namespace latchkey::testing
