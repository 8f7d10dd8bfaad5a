#include "cli/loopback_callback.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <system_error>

#include "common/secret_string.h"
#include "gateway/admin/html_page.h"
#include "oauth/form_encoding.h"

namespace latchkey::cli {
namespace {

using Steady = std::chrono::steady_clock;

// A callback URL with a code, state and iss fits easily; browsers add a few headers.
constexpr std::size_t kMaxRequestBytes = std::size_t{16} * 1024;
// One browser connection may not hold the listener longer than this.
constexpr std::chrono::milliseconds kPerRequestTimeout{10000};

std::string Errno(std::string_view what) {
  return std::string(what) + ": " + std::error_code(errno, std::generic_category()).message();
}

int RemainingMs(Steady::time_point deadline) {
  auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Steady::now()).count();
  return left < 0 ? 0 : static_cast<int>(left);
}

void WriteAll(int fd, std::string_view data) {
  while (!data.empty()) {
    ssize_t n = ::send(fd, data.data(), data.size(), MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;  // the browser went away; nothing to tell it
    data.remove_prefix(static_cast<std::size_t>(n));
  }
}

void SendAndClose(int fd, int status, std::string_view reason, std::string_view html) {
  std::string response =
      "HTTP/1.1 " + std::to_string(status) + " " + std::string(reason) +
      "\r\nContent-Type: text/html; charset=utf-8\r\nContent-Length: " + std::to_string(html.size()) +
      "\r\nCache-Control: no-store\r\nReferrer-Policy: no-referrer\r\nConnection: close\r\n\r\n";
  response += html;
  WriteAll(fd, response);
  ::close(fd);
}

using gateway::Page;

// Reads one request head (up to the blank line) within the per-request time and size caps.
// Returns false when the client sent nothing usable.
bool ReadHead(int fd, std::string& head) {
  const auto deadline = Steady::now() + kPerRequestTimeout;
  char buffer[2048];
  while (head.find("\r\n\r\n") == std::string::npos) {
    if (head.size() >= kMaxRequestBytes) return false;
    pollfd pfd{fd, POLLIN, 0};
    int ready = ::poll(&pfd, 1, RemainingMs(deadline));
    if (ready < 0 && errno == EINTR) continue;
    if (ready <= 0) return false;
    ssize_t n = ::recv(fd, buffer, sizeof buffer, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    head.append(buffer, static_cast<std::size_t>(n));
  }
  return true;
}

}  // namespace

std::string CallbackQuery::Get(std::string_view name) const {
  for (const auto& [key, value] : params) {
    if (key == name) return value;
  }
  return {};
}

StatusOr<RequestTarget> ParseRequestLine(std::string_view head) {
  std::string_view line = head.substr(0, head.find("\r\n"));
  auto first = line.find(' ');
  auto second = first == std::string_view::npos ? first : line.find(' ', first + 1);
  if (second == std::string_view::npos || !line.substr(second + 1).starts_with("HTTP/")) {
    return InvalidArgumentError("malformed HTTP request line");
  }
  std::string_view target = line.substr(first + 1, second - first - 1);
  RequestTarget out;
  out.method = std::string(line.substr(0, first));
  auto q = target.find('?');
  out.path = std::string(target.substr(0, q));
  if (q != std::string_view::npos) out.query = std::string(target.substr(q + 1));
  return out;
}

StatusOr<std::unique_ptr<LoopbackCallback>> LoopbackCallback::Start() {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return UnavailableError(Errno("cannot open the loopback callback socket"));
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  address.sin_port = 0;  // ephemeral (RFC 8252 §7.3)
  // NOLINTNEXTLINE(cppcoreguidelines-pro-type-reinterpret-cast): the sockets API
  if (::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0 || ::listen(fd, 8) != 0) {
    Status error = UnavailableError(Errno("cannot listen on 127.0.0.1 for the authorization callback"));
    ::close(fd);
    return error;
  }
  socklen_t length = sizeof address;
  // NOLINTNEXTLINE(cppcoreguidelines-pro-type-reinterpret-cast): the sockets API
  if (::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) != 0) {
    Status error = UnavailableError(Errno("cannot read the loopback callback port"));
    ::close(fd);
    return error;
  }
  return std::unique_ptr<LoopbackCallback>(new LoopbackCallback(fd, ntohs(address.sin_port)));
}

LoopbackCallback::~LoopbackCallback() {
  if (pending_fd_ >= 0) Respond({.success = false, .message = "latchkey stopped before it finished."});
  if (listen_fd_ >= 0) ::close(listen_fd_);
}

std::string LoopbackCallback::redirect_uri() const {
  return "http://127.0.0.1:" + std::to_string(port_) + "/callback";
}

StatusOr<CallbackQuery> LoopbackCallback::Accept(std::chrono::milliseconds timeout) {
  if (pending_fd_ >= 0) Respond({.success = false, .message = "This request was superseded."});
  const auto deadline = Steady::now() + timeout;
  while (true) {
    pollfd pfd{listen_fd_, POLLIN, 0};
    int ready = ::poll(&pfd, 1, RemainingMs(deadline));
    if (ready < 0 && errno == EINTR) continue;
    if (ready < 0) return UnavailableError(Errno("waiting for the authorization callback"));
    if (ready == 0) {
      return DeadlineExceededError(
          "no authorization callback arrived within " +
          std::to_string(std::chrono::duration_cast<std::chrono::seconds>(timeout).count()) +
          " s; run `latchkey connect` again");
    }
    int client = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (client < 0) continue;
    std::string head;
    if (!ReadHead(client, head)) {
      SendAndClose(client, 400, "Bad Request",
                   Page("Bad request", "The request was too large or incomplete."));
      continue;
    }
    StatusOr<RequestTarget> target = ParseRequestLine(head);
    WipeString(head);  // it holds the authorization code
    if (!target.ok()) {
      SendAndClose(client, 400, "Bad Request", Page("Bad request", target.status().message()));
      continue;
    }
    if (target->path != "/callback") {  // favicon.ico and friends
      SendAndClose(client, 404, "Not Found", Page("Not found", "latchkey listens only for /callback here."));
      continue;
    }
    if (target->method != "GET") {
      SendAndClose(client, 405, "Method Not Allowed", Page("Method not allowed", "Use GET."));
      continue;
    }
    auto params = oauth::ParseFormEncoded(target->query);
    WipeString(target->query);
    if (!params) {
      SendAndClose(client, 400, "Bad Request",
                   Page("Bad request", "The callback's query could not be parsed."));
      continue;
    }
    pending_fd_ = client;
    return CallbackQuery{.params = std::move(*params)};
  }
}

void LoopbackCallback::Respond(const CallbackPage& page) {
  if (pending_fd_ < 0) return;
  int fd = pending_fd_;
  pending_fd_ = -1;
  if (page.success) {
    SendAndClose(fd, 200, "OK", Page("Connected", page.message + " You can close this tab."));
  } else {
    SendAndClose(fd, 400, "Bad Request", Page("Not connected", page.message));
  }
}

}  // namespace latchkey::cli
