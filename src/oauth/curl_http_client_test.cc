// CurlHttpClient against a tiny loopback server (one std::thread, POSIX sockets) that
// serves canned answers. Asserts outcomes only, never timings.
#include "oauth/curl_http_client.h"

#include <arpa/inet.h>
#include <curl/curl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <array>
#include <atomic>
#include <cstdlib>
#include <functional>
#include <mutex>
#include <thread>

namespace latchkey::oauth {
namespace {

using namespace std::chrono_literals;

class LoopbackServer {
 public:
  // `handle` gets each accepted connection and the stop flag; the server closes it.
  explicit LoopbackServer(std::function<void(int, const std::atomic<bool>&)> handle)
      : handle_(std::move(handle)) {
    listener_ = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = 0;
    bind(listener_, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
    listen(listener_, 8);
    socklen_t len = sizeof addr;
    getsockname(listener_, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
    if (pipe(wake_.data()) != 0) std::abort();
    thread_ = std::thread([this] { Run(); });
  }
  ~LoopbackServer() {
    stop_ = true;
    stop_.notify_all();  // a handler may be waiting on it
    const char wake = 1;
    (void)!write(wake_[1], &wake, 1);  // the accept loop may be waiting for a client
    thread_.join();
    close(listener_);
    close(wake_[0]);
    close(wake_[1]);
  }
  std::string Url(std::string_view scheme = "http", std::string_view path = "/token") const {
    return std::string(scheme) + "://127.0.0.1:" + std::to_string(port_) + std::string(path);
  }
  std::string received() {
    std::lock_guard lock(mu_);
    return received_;
  }

  // Reads one request (headers plus Content-Length bytes), keeping it for received().
  void ReadRequest(int fd) {
    std::string data;
    char buffer[4096];
    std::size_t expected = std::string::npos;
    while (expected == std::string::npos || data.size() < expected) {
      pollfd p{fd, POLLIN, 0};
      if (poll(&p, 1, 2000) <= 0) break;
      ssize_t n = recv(fd, buffer, sizeof buffer, 0);
      if (n <= 0) break;
      data.append(buffer, static_cast<std::size_t>(n));
      std::size_t end = data.find("\r\n\r\n");
      if (expected == std::string::npos && end != std::string::npos) {
        std::size_t length = 0;
        if (std::size_t at = data.find("Content-Length: "); at != std::string::npos) {
          length = std::stoul(data.substr(at + 16));
        }
        expected = end + 4 + length;
      }
    }
    std::lock_guard lock(mu_);
    received_ = data;
  }

  static void SendAll(int fd, std::string_view data) {
    while (!data.empty()) {
      ssize_t n = send(fd, data.data(), data.size(), MSG_NOSIGNAL);
      if (n <= 0) return;
      data.remove_prefix(static_cast<std::size_t>(n));
    }
  }

 private:
  void Run() {
    while (!stop_) {
      std::array<pollfd, 2> ready{pollfd{listener_, POLLIN, 0}, pollfd{wake_[0], POLLIN, 0}};
      if (poll(ready.data(), ready.size(), -1) <= 0 || ready[1].revents != 0) continue;
      int fd = accept(listener_, nullptr, nullptr);
      if (fd < 0) continue;
      handle_(fd, stop_);
      close(fd);
    }
  }

  std::function<void(int, const std::atomic<bool>&)> handle_;
  int listener_ = -1;
  std::array<int, 2> wake_{-1, -1};  // a pipe: the destructor writes a byte to end the accept loop
  int port_ = 0;
  std::atomic<bool> stop_{false};
  std::thread thread_;
  std::mutex mu_;
  std::string received_;
};

// Small bodies; deadlines long enough that only a test about deadlines meets one (under
// ThreadSanitizer on a loaded machine a TLS handshake attempt took over 300 ms).
HttpLimits SmallLimits() {
  HttpLimits limits;
  limits.connect_timeout = 10000ms;
  limits.total_timeout = 10000ms;
  limits.max_response_bytes = 1024;
  return limits;
}

HttpRequest Post(std::string url) {
  HttpRequest request;
  request.url = std::move(url);
  request.headers.emplace_back("Content-Type", "application/x-www-form-urlencoded");
  request.authorization = SecretString("Basic Y2xpZW50OnNlY3JldA==");
  request.body = SecretString("grant_type=refresh_token&refresh_token=abc");
  return request;
}

TEST(CurlHttpClientTest, PostsAndReadsResponse) {
  LoopbackServer* self = nullptr;
  LoopbackServer server([&self](int fd, const std::atomic<bool>&) {
    self->ReadRequest(fd);
    LoopbackServer::SendAll(fd,
                            "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nX-Mixed-Case: v\r\n"
                            "Content-Length: 21\r\nConnection: close\r\n\r\n{\"access_token\":\"at\"}");
  });
  self = &server;
  CurlHttpClient client;
  StatusOr<HttpResponse> response = client.Send(Post(server.Url()), SmallLimits());
  ASSERT_TRUE(response.ok()) << response.status().ToString();
  EXPECT_EQ(response->status, 200);
  EXPECT_EQ(response->body, R"({"access_token":"at"})");
  EXPECT_EQ(response->Header("content-type"), "application/json");
  EXPECT_EQ(response->Header("x-mixed-case"), "v");
  std::string received = server.received();
  EXPECT_NE(received.find("POST /token HTTP/1.1"), std::string::npos);
  EXPECT_NE(received.find("Authorization: Basic Y2xpZW50OnNlY3JldA=="), std::string::npos);
  EXPECT_NE(received.find("grant_type=refresh_token&refresh_token=abc"), std::string::npos);
}

TEST(CurlHttpClientTest, RedirectsAreNotFollowed) {
  LoopbackServer server([](int fd, const std::atomic<bool>&) {
    LoopbackServer::SendAll(fd,
                            "HTTP/1.1 302 Found\r\nLocation: http://127.0.0.1:1/elsewhere\r\n"
                            "Content-Length: 0\r\nConnection: close\r\n\r\n");
  });
  StatusOr<HttpResponse> response = CurlHttpClient().Send(Post(server.Url()), SmallLimits());
  ASSERT_TRUE(response.ok()) << response.status().ToString();
  EXPECT_EQ(response->status, 302);
}

TEST(CurlHttpClientTest, ServerThatNeverAnswersTimesOut) {
  LoopbackServer server([](int, const std::atomic<bool>& stop) { stop.wait(false); });
  HttpLimits limits = SmallLimits();
  limits.total_timeout = 300ms;
  StatusOr<HttpResponse> response = CurlHttpClient().Send(Post(server.Url()), limits);
  EXPECT_EQ(response.status().code(), StatusCode::kDeadlineExceeded) << response.status().ToString();
  EXPECT_NE(response.status().message().find("127.0.0.1"), std::string::npos);
}

TEST(CurlHttpClientTest, OversizedBodyWithContentLengthIsRefused) {
  LoopbackServer server([](int fd, const std::atomic<bool>&) {
    std::string body(64 * 1024, 'x');
    LoopbackServer::SendAll(fd, "HTTP/1.1 200 OK\r\nContent-Length: " + std::to_string(body.size()) +
                                    "\r\nConnection: close\r\n\r\n" + body);
  });
  StatusOr<HttpResponse> response = CurlHttpClient().Send(Post(server.Url()), SmallLimits());
  EXPECT_EQ(response.status().code(), StatusCode::kResourceExhausted) << response.status().ToString();
}

TEST(CurlHttpClientTest, OversizedStreamedBodyIsCutOff) {
  LoopbackServer server([](int fd, const std::atomic<bool>&) {
    LoopbackServer::SendAll(fd, "HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n");
    for (int i = 0; i < 64; ++i) LoopbackServer::SendAll(fd, std::string(1024, 'y'));
  });
  StatusOr<HttpResponse> response = CurlHttpClient().Send(Post(server.Url()), SmallLimits());
  EXPECT_EQ(response.status().code(), StatusCode::kResourceExhausted) << response.status().ToString();
}

TEST(CurlHttpClientTest, ConnectionRefusedIsUnavailable) {
  // A port bound but not listening refuses connections, and stays ours for the whole
  // test. (Binding, closing and then connecting raced with tests running beside this
  // one: one of them could take the freed port and answer.)
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  ASSERT_GE(fd, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  socklen_t len = sizeof addr;
  ASSERT_EQ(getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len), 0);
  const int port = ntohs(addr.sin_port);
  StatusOr<HttpResponse> response =
      CurlHttpClient().Send(Post("http://127.0.0.1:" + std::to_string(port) + "/token"), SmallLimits());
  close(fd);
  EXPECT_EQ(response.status().code(), StatusCode::kUnavailable) << response.status().ToString();
}

TEST(CurlHttpClientTest, HttpsToPlainHttpPortFailsCleanly) {
  LoopbackServer server([](int fd, const std::atomic<bool>&) {
    char buffer[1024];
    (void)recv(fd, buffer, sizeof buffer, 0);  // the TLS ClientHello
    LoopbackServer::SendAll(fd, "HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
  });
  StatusOr<HttpResponse> response = CurlHttpClient().Send(Post(server.Url("https")), SmallLimits());
  ASSERT_FALSE(response.ok());
  EXPECT_EQ(response.status().code(), StatusCode::kUnavailable) << response.status().ToString();
  EXPECT_EQ(response.status().message().find("refresh_token=abc"), std::string::npos);
}

TEST(CurlHttpClientTest, OtherSchemesAreRefused) {
  HttpRequest request = Post("ftp://127.0.0.1:21/token");
  EXPECT_EQ(CurlHttpClient().Send(request, SmallLimits()).status().code(), StatusCode::kInvalidArgument);
  request.url = "file:///etc/passwd";
  EXPECT_EQ(CurlHttpClient().Send(request, SmallLimits()).status().code(), StatusCode::kInvalidArgument);
}

HttpRequest Get(std::string url) {
  HttpRequest request;
  request.method = "GET";
  request.url = std::move(url);
  return request;
}

// The server counts connections; it takes them in order, so a count of 1 after the
// allowed request shows that none of the refused ones reached it.
TEST(CurlHttpClientTest, PublicAddressesOnlyRefusesLoopbackBeforeConnecting) {
  std::atomic<int> connections{0};
  LoopbackServer server([&connections](int fd, const std::atomic<bool>&) {
    ++connections;
    char buffer[4096];
    (void)recv(fd, buffer, sizeof buffer, 0);
    LoopbackServer::SendAll(fd, "HTTP/1.1 204 No Content\r\nConnection: close\r\n\r\n");
  });
  HttpLimits limits = SmallLimits();
  limits.public_addresses_only = true;
  std::string by_name = server.Url("http", "/doc");
  by_name.replace(by_name.find("127.0.0.1"), 9, "localhost");  // checked after resolving
  for (const std::string& url : {server.Url("http", "/doc"), server.Url("https", "/doc"), by_name}) {
    StatusOr<HttpResponse> response = CurlHttpClient().Send(Get(url), limits);
    EXPECT_EQ(response.status().code(), StatusCode::kPermissionDenied)
        << url << ": " << response.status().ToString();
    EXPECT_NE(response.status().message().find(UrlHostForMessages(url)), std::string::npos)
        << response.status().ToString();
  }
  EXPECT_EQ(connections, 0);

  limits.public_addresses_only = false;
  StatusOr<HttpResponse> allowed = CurlHttpClient().Send(Get(server.Url("http", "/doc")), limits);
  ASSERT_TRUE(allowed.ok()) << allowed.status().ToString();
  EXPECT_EQ(allowed->status, 204);
  EXPECT_EQ(connections, 1);
}

TEST(CurlHttpClientTest, CaFileReplacesTheSystemCertificates) {
  LoopbackServer server([](int fd, const std::atomic<bool>&) {
    char buffer[1024];
    (void)recv(fd, buffer, sizeof buffer, 0);
  });
  HttpLimits limits = SmallLimits();
  limits.ca_file = "/nonexistent/latchkey-test-ca.pem";
  StatusOr<HttpResponse> response = CurlHttpClient().Send(Get(server.Url("https")), limits);
  EXPECT_EQ(response.status().code(), StatusCode::kUnavailable);
  EXPECT_NE(response.status().message().find(curl_easy_strerror(CURLE_SSL_CACERT_BADFILE)), std::string::npos)
      << response.status().ToString();
}

TEST(CurlHttpClientTest, ConcurrentCallsAreSafe) {
  LoopbackServer server([](int fd, const std::atomic<bool>&) {
    char buffer[4096];
    (void)recv(fd, buffer, sizeof buffer, 0);
    LoopbackServer::SendAll(fd, "HTTP/1.1 204 No Content\r\nConnection: close\r\n\r\n");
  });
  CurlHttpClient client;
  std::atomic<int> ok{0};
  std::vector<std::thread> threads;
  const HttpLimits limits = SmallLimits();
  for (int i = 0; i < 4; ++i) {
    threads.emplace_back([&] {
      HttpRequest request;
      request.method = "GET";
      request.url = server.Url();
      if (auto r = client.Send(request, limits); r.ok() && r->status == 204) ++ok;
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(ok, 4);
}

}  // namespace
}  // namespace latchkey::oauth
