// ScriptedUpstream: an HTTP/1.1 upstream on loopback for unit tests, answering each
// request it reads with the next scripted answer, written as given (in segments), and
// keeping every request as it arrived.
#pragma once

#include <atomic>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/write.hpp>
#include <cctype>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "support/await_peer_read.h"
#include "support/send_with_fin.h"

namespace latchkey::testing {

// Wakes a thread blocked in acceptor.accept() with a connection of our own. (Closing the
// acceptor from another thread does not wake it, and is a data race with the accept that
// ThreadSanitizer reports.)
inline void WakeAccept(const boost::asio::ip::tcp::acceptor& acceptor) {
  boost::asio::io_context io;
  boost::asio::ip::tcp::socket poke(io);
  boost::system::error_code ignored;
  poke.connect(acceptor.local_endpoint(), ignored);
}

// Answers the i-th request it reads with `answers[i]`, written as the given segments,
// each once the client has read the one before. When the client closes a connection, the next request is
// awaited on the next connection.
class ScriptedUpstream {
  using tcp = boost::asio::ip::tcp;

 public:
  // A segment that ends the stream instead of sending bytes: the segment before it and the
  // FIN go in one TCP segment (SendWithFin), so the client's socket gets both at once.
  inline static const std::string kFin{"\0FIN", 4};

  explicit ScriptedUpstream(std::vector<std::vector<std::string>> answers)
      : acceptor_(io_, tcp::endpoint(boost::asio::ip::address_v4::loopback(), 0)),
        answers_(std::move(answers)) {
    thread_ = std::thread([this] { Serve(); });
  }
  ~ScriptedUpstream() {
    // A server still blocked in accept() (no client ever came) stops once woken; the
    // acceptor closes with this object.
    stopping_ = true;
    WakeAccept(acceptor_);
    thread_.join();
  }
  uint16_t port() const { return acceptor_.local_endpoint().port(); }
  int requests() const { return requests_; }
  // Answers written whole (every segment sent).
  int answered() const { return answered_; }
  int connections() const { return connections_; }
  // Each request as it arrived: its header, then as many bytes as its Content-Length said.
  std::vector<std::string> received() const {
    std::lock_guard lock(mu_);
    return received_;
  }

 private:
  void Serve() {
    size_t next = 0;
    while (next < answers_.size() && !stopping_) {
      tcp::socket socket(io_);
      boost::system::error_code ec;
      acceptor_.accept(socket, ec);
      if (ec || stopping_) return;
      ++connections_;
      if (!ServeConnection(socket, next)) return;
    }
  }

  // Answers requests on `socket` from answers_[next] on; false once every answer is given.
  bool ServeConnection(tcp::socket& socket, size_t& next) {
    boost::system::error_code ec;
    std::string in;
    for (; next < answers_.size(); ++next) {
      const std::vector<std::string>& segments = answers_[next];
      boost::asio::read_until(socket, boost::asio::dynamic_buffer(in), "\r\n\r\n", ec);
      if (ec) return true;
      const size_t head = in.find("\r\n\r\n") + 4;
      size_t length = 0;
      std::string header = in.substr(0, head);
      for (char& c : header) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      if (size_t at = header.find("\r\ncontent-length:"); at != std::string::npos) {
        length = std::stoul(header.substr(at + 17));
      }
      if (in.size() < head + length)
        boost::asio::read(socket, boost::asio::dynamic_buffer(in),
                          boost::asio::transfer_exactly(head + length - in.size()), ec);
      if (ec) return true;
      {
        std::lock_guard lock(mu_);
        received_.push_back(in.substr(0, head + length));
      }
      in.erase(0, head + length);
      ++requests_;
      for (size_t i = 0; i < segments.size(); ++i) {
        if (segments[i] == kFin) {
          socket.shutdown(tcp::socket::shutdown_send, ec);
          break;
        }
        // The client reads each segment before the next is sent, so it reads them apart.
        if (i > 0) AwaitPeerRead(socket.native_handle());
        if (i + 1 < segments.size() && segments[i + 1] == kFin) {
          if (!SendWithFin(socket.native_handle(), segments[i])) return true;
          break;
        }
        boost::asio::write(socket, boost::asio::buffer(segments[i]), ec);
        if (ec) return true;
      }
      ++answered_;
    }
    // Wait for the client to hang up, so no answer is cut short.
    char byte = 0;
    socket.read_some(boost::asio::buffer(&byte, 1), ec);
    return false;
  }

  boost::asio::io_context io_;
  tcp::acceptor acceptor_;
  std::vector<std::vector<std::string>> answers_;
  std::thread thread_;
  std::atomic<int> requests_ = 0;
  std::atomic<int> answered_ = 0;
  std::atomic<int> connections_ = 0;
  std::atomic<bool> stopping_ = false;
  mutable std::mutex mu_;
  std::vector<std::string> received_;
};

}  // namespace latchkey::testing
