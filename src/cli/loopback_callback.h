// LoopbackCallback: the RFC 8252 §7.3 loopback redirect listener of `latchkey connect`.
// It binds 127.0.0.1 on an ephemeral port, waits for the browser's one
// GET /callback?code=...&state=... (answering anything else with 404, capping request
// size and time), and keeps that browser connection open until the caller knows the
// outcome and answers it with a small page. It owns its sockets and closes them when
// destroyed. Used by the single CLI thread only.
//
//   LATCHKEY_ASSIGN_OR_RETURN(auto listener, LoopbackCallback::Start());
//   ... send the browser to an authorization URL with listener->redirect_uri() ...
//   LATCHKEY_ASSIGN_OR_RETURN(auto query, listener->Accept(std::chrono::minutes(5)));
//   listener->Respond({.success = true, .message = "latchkey is connected."});
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/status.h"

namespace latchkey::cli {

struct CallbackQuery {
  std::vector<std::pair<std::string, std::string>> params;  // percent-decoded, in order

  // The first value of `name`, or empty.
  std::string Get(std::string_view name) const;
};

struct CallbackPage {
  bool success = false;
  std::string message;  // plain text; escaped into the page
};

class LoopbackCallback {
 public:
  // Binds 127.0.0.1:0 and listens.
  static StatusOr<std::unique_ptr<LoopbackCallback>> Start();
  ~LoopbackCallback();
  LoopbackCallback(const LoopbackCallback&) = delete;
  LoopbackCallback& operator=(const LoopbackCallback&) = delete;

  int port() const { return port_; }
  // "http://127.0.0.1:{port}/callback"
  std::string redirect_uri() const;

  // Waits up to `timeout` for a GET /callback and returns its query; the browser's
  // connection stays open for Respond. Other paths get 404, malformed requests 400, and
  // the wait goes on. kDeadlineExceeded when nothing came in time.
  StatusOr<CallbackQuery> Accept(std::chrono::milliseconds timeout);

  // Answers the connection Accept returned with a page, and closes it.
  void Respond(const CallbackPage& page);

 private:
  explicit LoopbackCallback(int listen_fd, int port) : listen_fd_(listen_fd), port_(port) {}

  int listen_fd_ = -1;
  int port_ = 0;
  int pending_fd_ = -1;  // the browser connection Accept returned, until Respond
};

// Exposed for tests: the path and query of an HTTP request head such as
// "GET /callback?a=1 HTTP/1.1\r\n...". kInvalidArgument for a malformed request line.
struct RequestTarget {
  std::string method;
  std::string path;
  std::string query;
};
StatusOr<RequestTarget> ParseRequestLine(std::string_view head);

}  // namespace latchkey::cli
