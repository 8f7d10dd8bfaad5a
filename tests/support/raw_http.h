// Byte-exact HTTP/1.1 over loopback for gateway tests: the request goes out exactly as
// written (curl would normalize hostile paths), one connection per exchange. Safe from
// any thread.
#pragma once

#include <chrono>
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

// "METHOD TARGET HTTP/1.1" + Host + headers + Content-Length (when body is set) + Connection: close.
std::string BuildRequest(const std::string& method, const std::string& target,
                         const std::vector<std::pair<std::string, std::string>>& headers = {},
                         const std::string& body = "");

// Sends `request` as is to 127.0.0.1:port and reads until the server closes or `timeout`.
// `pause_between_bytes` > 0 sends one byte at a time with that pause (slow clients).
RawReply RawExchange(int port, const std::string& request,
                     std::chrono::milliseconds timeout = std::chrono::seconds(20),
                     std::chrono::milliseconds pause_between_bytes = std::chrono::milliseconds(0));

}  // namespace latchkey::testing
