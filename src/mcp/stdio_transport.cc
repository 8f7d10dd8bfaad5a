#include "mcp/stdio_transport.h"

#include <unistd.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <cerrno>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <system_error>
#include <thread>

#include "common/json_text.h"
#include "common/log.h"

namespace latchkey::mcp {
namespace {

namespace asio = boost::asio;

// Standard output: messages are queued by any thread and written, one per line, by one
// writer thread, so a slow reader on the other end never blocks a handler.
class LineWriter final : public Outlet {
 public:
  explicit LineWriter(int fd) : fd_(fd), thread_([this] { Run(); }) {}
  ~LineWriter() override { Finish(); }
  LineWriter(const LineWriter&) = delete;
  LineWriter& operator=(const LineWriter&) = delete;

  void Send(json message) override {
    std::string line = DumpJson(message);
    line += '\n';
    std::lock_guard lock(mu_);
    if (broken_ || finishing_) return;
    queue_.push_back(std::move(line));
    wake_.notify_one();
  }

  // Writes what is queued, then stops the thread.
  void Finish() {
    {
      std::lock_guard lock(mu_);
      finishing_ = true;
    }
    wake_.notify_one();
    if (thread_.joinable()) thread_.join();
  }

 private:
  void Run() {
    std::unique_lock lock(mu_);
    for (;;) {
      wake_.wait(lock, [this] { return !queue_.empty() || finishing_; });
      if (queue_.empty()) return;
      std::string line = std::move(queue_.front());
      queue_.pop_front();
      lock.unlock();
      const bool written = WriteAll(line);
      lock.lock();
      if (!written) {
        broken_ = true;
        queue_.clear();
      }
    }
  }

  bool WriteAll(std::string_view data) const {
    while (!data.empty()) {
      ssize_t n = ::write(fd_, data.data(), data.size());
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) {
        spdlog::warn("mcp: standard output is closed; further messages are dropped");
        return false;
      }
      data.remove_prefix(static_cast<size_t>(n));
    }
    return true;
  }

  const int fd_;
  std::mutex mu_;
  std::condition_variable wake_;
  std::deque<std::string> queue_;  // guarded by mu_
  bool finishing_ = false;         // guarded by mu_
  bool broken_ = false;            // guarded by mu_
  std::thread thread_;
};

// Counts requests still running, so the end of input can wait for them.
class InFlightCount {
 public:
  void Add() {
    std::lock_guard lock(mu_);
    ++count_;
  }
  void Done() {
    std::lock_guard lock(mu_);
    if (--count_ == 0) idle_.notify_all();
  }
  bool WaitIdle(std::chrono::milliseconds timeout) {
    std::unique_lock lock(mu_);
    return idle_.wait_for(lock, timeout, [this] { return count_ == 0; });
  }

 private:
  std::mutex mu_;
  std::condition_variable idle_;
  int count_ = 0;  // guarded by mu_
};

}  // namespace

StdioTransport::StdioTransport(std::shared_ptr<const Server> server, std::string principal,
                               StdioOptions options, std::any caller)
    : server_(std::move(server)),
      options_(options),
      session_(std::make_shared<Session>(server_, std::move(principal))),
      caller_(std::move(caller)) {}

Status StdioTransport::Run(const asio::any_io_executor& executor, int in_fd, int out_fd) {
  auto out = std::make_shared<LineWriter>(out_fd);
  session_->SetUnrelatedOutlet(out);
  auto in_flight = std::make_shared<InFlightCount>();

  auto deliver = [&](std::string_view line) {
    if (line.find_first_not_of(" \t\r") == std::string_view::npos) return;  // blank lines separate nothing
    auto parsed = Parse(line);
    if (auto* refusal = std::get_if<RpcRefusal>(&parsed)) {
      out->Send(std::move(refusal->response));
      return;
    }
    in_flight->Add();
    asio::co_spawn(executor, session_->Handle(std::get<RpcMessage>(std::move(parsed)), out, caller_),
                   [in_flight](const std::exception_ptr&) { in_flight->Done(); });
  };

  Status status = Status::Ok();
  std::string line;
  bool oversized = false;  // discarding the rest of a line past the limit
  std::vector<char> buffer(size_t{64} * 1024);
  for (;;) {
    ssize_t n = ::read(in_fd, buffer.data(), buffer.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      status = UnavailableError("mcp: reading standard input failed: " +
                                std::error_code(errno, std::generic_category()).message());
      break;
    }
    if (n == 0) break;
    std::string_view chunk(buffer.data(), static_cast<size_t>(n));
    while (!chunk.empty()) {
      const size_t newline = chunk.find('\n');
      std::string_view piece = chunk.substr(0, newline);
      if (!oversized) {
        if (line.size() + piece.size() > options_.max_message_bytes) {
          oversized = true;
          line.clear();
          line.shrink_to_fit();
          out->Send(MakeError(nullptr, {.code = rpc_code::kInvalidRequest,
                                        .message = "Invalid Request: the message is larger than " +
                                                   std::to_string(options_.max_message_bytes) + " bytes",
                                        .data = nullptr}));
        } else {
          line.append(piece);
        }
      }
      if (newline == std::string_view::npos) break;
      if (!oversized) deliver(line);
      line.clear();
      oversized = false;
      chunk.remove_prefix(newline + 1);
    }
  }
  if (!oversized && !line.empty()) deliver(line);  // a last message without its newline

  if (!in_flight->WaitIdle(options_.drain_timeout)) {
    spdlog::warn("mcp: standard input ended with requests still running; they are abandoned");
  }
  session_->Close();
  out->Finish();
  return status;
}

}  // namespace latchkey::mcp
