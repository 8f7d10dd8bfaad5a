#include "support/raw_http.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <optional>
#include <thread>

namespace latchkey::testing {

std::string RawReply::Header(const std::string& lower_name) const {
  auto it = headers.find(lower_name);
  return it == headers.end() ? "" : it->second;
}

nlohmann::json RawReply::Json() const { return nlohmann::json::parse(body, nullptr, false); }

std::string BuildRequest(const std::string& method, const std::string& target,
                         const std::vector<std::pair<std::string, std::string>>& headers,
                         const std::string& body) {
  std::string out = method + " " + target + " HTTP/1.1\r\n";
  const bool has_host =
      std::ranges::any_of(headers, [](const auto& header) { return header.first == "Host"; });
  if (!has_host) out += "Host: 127.0.0.1\r\n";
  for (const auto& [name, value] : headers) out += name + ": " + value + "\r\n";
  if (!body.empty() || method == "POST" || method == "PUT")
    out += "Content-Length: " + std::to_string(body.size()) + "\r\n";
  out += "Connection: close\r\n\r\n" + body;
  return out;
}

namespace {

// The payload of a chunked body, or nothing when it is cut short or malformed.
std::optional<std::string> DecodeChunked(std::string_view encoded) {
  std::string out;
  for (;;) {
    size_t line_end = encoded.find("\r\n");
    if (line_end == std::string_view::npos) return std::nullopt;
    size_t size = 0;
    auto [ptr, ec] = std::from_chars(encoded.data(), encoded.data() + line_end, size, 16);
    if (ec != std::errc() || ptr == encoded.data()) return std::nullopt;
    encoded.remove_prefix(line_end + 2);
    if (size == 0) return out;  // trailers, if any, are ignored
    if (encoded.size() < size + 2) return std::nullopt;
    out.append(encoded.substr(0, size));
    encoded.remove_prefix(size + 2);
  }
}

int ConnectLoopback(int port) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

void Parse(RawReply& reply) {
  size_t end = reply.raw.find("\r\n\r\n");
  if (reply.raw.rfind("HTTP/1.", 0) != 0 || end == std::string::npos) {
    reply.error = "no HTTP response (" + std::to_string(reply.raw.size()) + " bytes)";
    return;
  }
  reply.status = std::atoi(reply.raw.c_str() + 9);
  size_t line = reply.raw.find("\r\n") + 2;
  while (line < end) {
    size_t next = reply.raw.find("\r\n", line);
    std::string header = reply.raw.substr(line, next - line);
    size_t colon = header.find(':');
    if (colon != std::string::npos) {
      std::string name = header.substr(0, colon);
      std::transform(name.begin(), name.end(), name.begin(), [](unsigned char c) { return std::tolower(c); });
      std::string value = header.substr(colon + 1);
      value.erase(0, value.find_first_not_of(' '));
      reply.headers[name] = value;
    }
    line = next + 2;
  }
  reply.body = reply.raw.substr(end + 4);
  if (reply.headers["transfer-encoding"].find("chunked") != std::string::npos) {
    std::optional<std::string> payload = DecodeChunked(reply.body);
    if (!payload) {
      reply.error = "the chunked body is cut short or malformed";
      return;
    }
    reply.body = std::move(*payload);
  }
}

}  // namespace

RawReply ParseReply(std::string raw) {
  RawReply reply;
  reply.raw = std::move(raw);
  Parse(reply);
  return reply;
}

RawReply RawExchange(int port, const std::string& request, std::chrono::milliseconds timeout,
                     std::chrono::milliseconds pause_between_bytes) {
  RawReply reply;
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  int fd = ConnectLoopback(port);
  if (fd < 0) {
    reply.error = std::string("connect failed: ") + std::strerror(errno);
    return reply;
  }
  if (pause_between_bytes.count() > 0) {
    for (char c : request) {
      if (::send(fd, &c, 1, MSG_NOSIGNAL) != 1 || std::chrono::steady_clock::now() > deadline) break;
      std::this_thread::sleep_for(pause_between_bytes);
    }
  } else {
    size_t sent = 0;
    while (sent < request.size()) {
      ssize_t n = ::send(fd, request.data() + sent, request.size() - sent, MSG_NOSIGNAL);
      if (n <= 0) break;  // the server may answer and close before reading everything
      sent += static_cast<size_t>(n);
    }
  }
  char buffer[16384];
  std::string ended;  // why the reading stopped, for a test's failure message
  for (;;) {
    auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    pollfd p{fd, POLLIN, 0};
    const int ready = left.count() <= 0 ? 0 : ::poll(&p, 1, static_cast<int>(left.count()));
    if (ready < 0 && errno == EINTR) continue;
    if (ready == 0) {
      ended = "no end of the answer within " + std::to_string(timeout.count()) + " ms";
      break;
    }
    ssize_t n = ::recv(fd, buffer, sizeof buffer, 0);
    if (n <= 0) {
      ended =
          n == 0 ? "the server closed the connection" : std::string("recv failed: ") + std::strerror(errno);
      break;
    }
    reply.raw.append(buffer, static_cast<size_t>(n));
  }
  ::close(fd);
  Parse(reply);
  if (reply.status == 0) reply.error += ": " + ended;
  return reply;
}

RawConnection::RawConnection(int port) : fd_(ConnectLoopback(port)) {}

RawConnection::~RawConnection() {
  if (fd_ >= 0) ::close(fd_);
}

bool RawConnection::Send(std::string_view bytes) {
  size_t sent = 0;
  while (fd_ >= 0 && sent < bytes.size()) {
    ssize_t n = ::send(fd_, bytes.data() + sent, bytes.size() - sent, MSG_NOSIGNAL);
    if (n <= 0) return false;
    sent += static_cast<size_t>(n);
  }
  return fd_ >= 0;
}

bool RawConnection::ReceiveUntil(const std::function<bool(const std::string&)>& done,
                                 std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  std::vector<char> buffer(256 * 1024);
  while (fd_ >= 0 && !done(received_)) {
    auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) break;
    pollfd p{fd_, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) break;
    ssize_t n = ::recv(fd_, buffer.data(), buffer.size(), 0);
    if (n <= 0) break;
    received_.append(buffer.data(), static_cast<size_t>(n));
  }
  return done(received_);
}

}  // namespace latchkey::testing
