// Byte-exact HTTP/1.1 over loopback for gateway tests: the request goes out exactly as
// written (curl would normalize hostile paths), one connection per exchange. Safe from
// any thread.
#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <utility>
#include <vector>

namespace latchkey::testing {

struct RawReply {
  int status = 0;                              // 0: no parsable answer (see error)
  std::map<std::string, std::string> headers;  // lower-cased names
  std::string body;
  std::string raw;
  std::string error;
  std::string Header(const std::string& lower_name) const;
  nlohmann::json Json() const;  // null when the body is not JSON
};

// "METHOD TARGET HTTP/1.1" + Host (127.0.0.1 unless `headers` has one) + headers + Content-Length (when body
// is set) + Connection: close.
std::string BuildRequest(const std::string& method, const std::string& target,
                         const std::vector<std::pair<std::string, std::string>>& headers = {},
                         const std::string& body = "");

// Sends `request` as is to 127.0.0.1:port and reads until the server closes or `timeout`.
// `pause_between_bytes` > 0 sends one byte at a time with that pause (slow clients).
RawReply RawExchange(int port, const std::string& request,
                     std::chrono::milliseconds timeout = std::chrono::seconds(20),
                     std::chrono::milliseconds pause_between_bytes = std::chrono::milliseconds(0));

// Parses a whole answer as received (a chunked body is decoded; cut short → error).
RawReply ParseReply(std::string raw);

// One loopback connection driven step by step, to watch a body while it streams.
class RawConnection {
 public:
  explicit RawConnection(int port);
  ~RawConnection();
  RawConnection(const RawConnection&) = delete;
  RawConnection& operator=(const RawConnection&) = delete;

  bool Send(std::string_view bytes);
  // Reads until `done(received())` holds (true), or the peer closes or `timeout` passes
  // (then whether `done` holds at that point).
  bool ReceiveUntil(const std::function<bool(const std::string&)>& done,
                    std::chrono::milliseconds timeout = std::chrono::seconds(20));
  const std::string& received() const { return received_; }

 private:
  int fd_ = -1;
  std::string received_;
};

}  // namespace latchkey::testing
