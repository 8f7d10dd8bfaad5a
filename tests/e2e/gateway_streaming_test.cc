// End-to-end: bodies stream through the gateway both ways. A download reaches the agent
// while the upstream is still sending it, an upload reaches the upstream while the agent
// is still sending it, and a body far larger than memory would allow for buffering passes
// without the daemon's memory growing with it.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sodium.h>

#include <fstream>
#include <string>

#include "e2e/gateway_fixture.h"

namespace latchkey::testing {
namespace {

using ::testing::HasSubstr;

// The body rs.js's /__download sends: each 64 KiB write is bytes i % 251.
char PatternByte(size_t offset) { return static_cast<char>((offset % 65536) % 251); }

std::string Sha256Hex(std::string_view data) {
  unsigned char digest[crypto_hash_sha256_BYTES];
  crypto_hash_sha256(digest, reinterpret_cast<const unsigned char*>(data.data()), data.size());
  static const char* kHex = "0123456789abcdef";
  std::string hex;
  for (unsigned char b : digest) {
    hex += kHex[b >> 4];
    hex += kHex[b & 15];
  }
  return hex;
}

// The daemon's peak resident memory (VmHWM), in KiB.
long PeakResidentKiB(int pid) {
  std::ifstream status("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("VmHWM:", 0) == 0) return std::stol(line.substr(6));
  }
  return -1;
}

size_t HeaderEnd(const std::string& raw) {
  size_t end = raw.find("\r\n\r\n");
  return end == std::string::npos ? std::string::npos : end + 4;
}

class GatewayStreamingTest : public GatewayTest {
 protected:
  void SetUp() override {
    GatewayTest::SetUp();
    StartOAuthServers();
    ImportGrant("api", "alice");
    key_ = CreateAgent("bot", {"api"});
  }

  std::string Header(const std::string& method, const std::string& target, const std::string& extra) {
    return method + " " + target + " HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer " + key_ + "\r\n" +
           extra + "Connection: close\r\n\r\n";
  }

  nlohmann::json Progress(const std::string& id) {
    HttpResponse r = HttpGet(rs_->base_url() + "/__progress/" + id);
    return nlohmann::json::parse(r.body, nullptr, false);
  }

  std::string key_;
};

TEST_F(GatewayStreamingTest, DownloadReachesTheAgentWhileTheUpstreamIsStillSending) {
  StartGateway();
  RawConnection agent(port_);
  ASSERT_TRUE(agent.Send(Header("GET", "/proxy/api/__download?bytes=1000000&hold=d1", "")));
  // rs.js sent its first 64 KiB and now waits for the release: a buffering proxy would
  // show the agent nothing at all.
  ASSERT_TRUE(agent.ReceiveUntil([](const std::string& raw) {
    size_t start = HeaderEnd(raw);
    return start != std::string::npos && raw.size() - start >= 60000;
  })) << agent.received().substr(0, 300)
      << GatewayLog();
  EXPECT_EQ(agent.received().rfind("HTTP/1.1 200", 0), 0u);
  HttpResponse released = HttpPostForm(rs_->base_url() + "/__release/d1", {});
  ASSERT_EQ(released.status, 200);
  EXPECT_THAT(released.body, HasSubstr("true"));
  agent.ReceiveUntil([](const std::string&) { return false; });
  RawReply reply = ParseReply(agent.received());
  ASSERT_TRUE(reply.error.empty()) << reply.error;
  EXPECT_EQ(reply.Header("transfer-encoding"), "chunked");
  ASSERT_EQ(reply.body.size(), 1000000u);
  for (size_t i = 0; i < reply.body.size(); i += 4999) ASSERT_EQ(reply.body[i], PatternByte(i)) << i;
}

TEST_F(GatewayStreamingTest, LargeDownloadPassesWithoutTheDaemonHoldingIt) {
  constexpr size_t kBytes = size_t{256} * 1024 * 1024;
  StartGateway("[gateway]\nmax_response_bytes = 1073741824\n");
  // Warm up (pools, caches, the first refresh) before taking the baseline.
  ASSERT_EQ(Call("GET", "/proxy/api/__download?bytes=1000000&length=1", key_).status, 200);
  const long before = PeakResidentKiB(gateway_->pid());
  ASSERT_GT(before, 0);

  RawConnection agent(port_);
  ASSERT_TRUE(
      agent.Send(Header("GET", "/proxy/api/__download?bytes=" + std::to_string(kBytes) + "&length=1", "")));
  agent.ReceiveUntil([](const std::string&) { return false; }, std::chrono::seconds(60));
  const std::string& raw = agent.received();
  size_t start = HeaderEnd(raw);
  ASSERT_NE(start, std::string::npos) << raw.substr(0, 300);
  EXPECT_THAT(raw.substr(0, start), HasSubstr("Content-Length: " + std::to_string(kBytes)));
  ASSERT_EQ(raw.size() - start, kBytes);
  for (size_t i = 0; i < kBytes; i += 1000003) ASSERT_EQ(raw[start + i], PatternByte(i)) << i;

  const long after = PeakResidentKiB(gateway_->pid());
  std::printf("daemon peak RSS: %ld KiB before, %ld KiB after passing %zu MiB\n", before, after,
              kBytes / (1024 * 1024));
  if (RunsTheBuiltBinary()) {  // the ASan build's allocator pads and quarantines
    EXPECT_LT(after - before, 32 * 1024) << "the daemon's memory grew with the body";
  }
}

TEST_F(GatewayStreamingTest, ResponsePastTheCapIsRefusedOrCutShort) {
  StartGateway("[gateway]\nmax_response_bytes = 1048576\n");
  // Declared too large: refused before anything is sent.
  RawReply declared = Call("GET", "/proxy/api/__download?bytes=2000000&length=1", key_);
  EXPECT_EQ(declared.status, 502) << declared.raw.substr(0, 500);
  EXPECT_EQ(declared.Header("latchkey-error"), "upstream_unavailable");
  // Of unknown length: cut off at the cap, so the agent sees an incomplete body, never a
  // complete-looking one.
  RawReply chunked = Call("GET", "/proxy/api/__download?bytes=2000000", key_);
  EXPECT_EQ(chunked.status, 200);  // the header went out first
  EXPECT_THAT(chunked.error, HasSubstr("cut short"));
  EXPECT_THAT(GatewayLog(), HasSubstr("cut short"));
}

TEST_F(GatewayStreamingTest, UploadReachesTheUpstreamWhileTheAgentIsStillSending) {
  StartGateway();
  std::string body(4 * 1024 * 1024, '\0');
  for (size_t i = 0; i < body.size(); ++i) body[i] = static_cast<char>((i * 7) % 256);
  RawConnection agent(port_);
  ASSERT_TRUE(agent.Send(Header("POST", "/proxy/api/__upload?id=u1",
                                "Content-Length: " + std::to_string(body.size()) + "\r\n")));
  ASSERT_TRUE(agent.Send(std::string_view(body).substr(0, body.size() / 2)));
  // Half the body is out; the upstream must already be receiving it.
  nlohmann::json progress;
  for (int i = 0; i < 400; ++i) {
    progress = Progress("u1");
    if (progress.value("bytes", 0) >= 1024 * 1024) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(25));
  }
  EXPECT_GE(progress.value("bytes", 0), 1024 * 1024) << progress.dump() << GatewayLog();
  EXPECT_EQ(progress.value("done", true), false);
  ASSERT_TRUE(agent.Send(std::string_view(body).substr(body.size() / 2)));
  agent.ReceiveUntil([](const std::string&) { return false; });
  RawReply reply = ParseReply(agent.received());
  ASSERT_EQ(reply.status, 200) << reply.raw.substr(0, 500);
  EXPECT_EQ(reply.Json()["bytes"], body.size());
  EXPECT_EQ(reply.Json()["sha256"], Sha256Hex(body));
  EXPECT_EQ(reply.Json()["chunked"], false);
}

TEST_F(GatewayStreamingTest, ChunkedUploadStaysChunked) {
  StartGateway();
  std::string chunked;
  std::string payload;
  for (int i = 0; i < 40; ++i) {
    std::string piece(50000, static_cast<char>('a' + i % 26));
    payload += piece;
    char size[16];
    std::snprintf(size, sizeof size, "%zx\r\n", piece.size());
    chunked += size + piece + "\r\n";
  }
  chunked += "0\r\n\r\n";
  RawReply reply = RawExchange(
      port_, Header("POST", "/proxy/api/__upload?id=u2", "Transfer-Encoding: chunked\r\n") + chunked);
  ASSERT_EQ(reply.status, 200) << reply.raw.substr(0, 500);
  EXPECT_EQ(reply.Json()["bytes"], payload.size());
  EXPECT_EQ(reply.Json()["sha256"], Sha256Hex(payload));
  EXPECT_EQ(reply.Json()["chunked"], true);
}

TEST_F(GatewayStreamingTest, UploadPastTheCapIsRefusedAndTheUpstreamNeverGetsAWholeRequest) {
  StartGateway("[gateway]\nmax_body_bytes = 2097152\n");
  std::string chunked;
  for (int i = 0; i < 60; ++i) chunked += "c350\r\n" + std::string(50000, 'z') + "\r\n";
  chunked += "0\r\n\r\n";
  RawReply reply = RawExchange(
      port_, Header("PUT", "/proxy/api/__upload?id=u3", "Transfer-Encoding: chunked\r\n") + chunked);
  EXPECT_EQ(reply.status, 413) << reply.raw.substr(0, 500);
  EXPECT_EQ(reply.Header("latchkey-error"), "bad_request");
  EXPECT_THAT(reply.Json()["detail"].get<std::string>(), HasSubstr("NOT carried out"));
  EXPECT_EQ(Progress("u3").value("done", true), false);
}

TEST_F(GatewayStreamingTest, MalformedChunkedUploadIsABadRequestAndTheUpstreamNeverGetsAWholeBody) {
  StartGateway();
  // A good first chunk (the upload is under way), then a chunk size that is not hex.
  const std::string chunked = "c350\r\n" + std::string(50000, 'm') + "\r\nzz\r\nnot a chunk\r\n0\r\n\r\n";
  RawReply reply = RawExchange(
      port_, Header("PUT", "/proxy/api/__upload?id=u4", "Transfer-Encoding: chunked\r\n") + chunked);
  EXPECT_EQ(reply.status, 400) << reply.raw.substr(0, 500);
  EXPECT_EQ(reply.Header("latchkey-error"), "bad_request");
  EXPECT_THAT(reply.Json()["detail"].get<std::string>(), HasSubstr("NOT carried out"));
  EXPECT_EQ(Progress("u4").value("done", true), false);
}

TEST_F(GatewayStreamingTest, StreamedUploadRefusedWith401IsNotSentTwice) {
  StartGateway();
  const long long before = ResourceRequests();
  const std::string body(2 * 1024 * 1024, 'u');
  RawReply reply = RawExchange(port_, Header("POST", "/proxy/api/__status/401",
                                             "Content-Length: " + std::to_string(body.size()) + "\r\n") +
                                          body);
  // The token was refreshed, but the body is gone: the agent is told to send it again.
  EXPECT_EQ(reply.status, 502) << reply.raw.substr(0, 500);
  EXPECT_EQ(reply.Header("latchkey-refreshed"), "1");
  EXPECT_THAT(reply.Json()["detail"].get<std::string>(), HasSubstr("send it again"));
  EXPECT_EQ(ResourceRequests() - before, 1);
}

TEST_F(GatewayStreamingTest, LargeRefusalBodyIsInspectedAndForwardedWhole) {
  StartGateway();
  // A 403 that is not about scopes, with a body past what is read whole: the scope
  // decoder reads its front, and the agent still gets all of it.
  RawReply reply = Call("GET", "/proxy/api/__status/403?pad=300000", key_);
  ASSERT_EQ(reply.status, 403) << reply.raw.substr(0, 500);
  EXPECT_EQ(reply.Header("latchkey-error"), "");
  EXPECT_EQ(reply.Json()["pad"].get<std::string>().size(), 300000u);
}

}  // namespace
}  // namespace latchkey::testing
