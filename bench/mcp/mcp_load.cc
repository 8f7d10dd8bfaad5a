// Load generator for latchkey's MCP server: tools/call http_request in a closed loop with
// a fixed number of requests in flight, over Streamable HTTP (one session and connection
// per client) or stdio (one `latchkey mcp` process, requests pipelined on its stdin).
// Prints one line: "calls=N seconds=S rps=R p50_ms=A p99_ms=B errors=E".
//
//   mcp_load http  URL AGENT_KEY CONCURRENCY SECONDS
//   mcp_load stdio LATCHKEY_BINARY DATA_DIR AGENT_KEY CONCURRENCY SECONDS
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstring>
#include <iostream>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using Clock = std::chrono::steady_clock;

const std::string kCall =
    R"("method":"tools/call","params":{"name":"http_request","arguments":{"connection":"fast","method":"GET","path":"/"}}})";

struct Tally {
  std::mutex mu;
  std::vector<double> latencies_ms;
  long errors = 0;
  void Add(double ms, bool ok) {
    std::lock_guard lock(mu);
    if (ok) {
      latencies_ms.push_back(ms);
    } else {
      ++errors;
    }
  }
  void Print(double seconds) {
    std::sort(latencies_ms.begin(), latencies_ms.end());
    auto at = [&](double q) {
      return latencies_ms.empty()
                 ? 0.0
                 : latencies_ms[std::min(latencies_ms.size() - 1, size_t(q * latencies_ms.size()))];
    };
    std::printf("calls=%zu seconds=%.1f rps=%.0f p50_ms=%.2f p99_ms=%.2f errors=%ld\n", latencies_ms.size(),
                seconds, latencies_ms.size() / seconds, at(0.5), at(0.99), errors);
  }
};

bool IsOk(const std::string& body) { return body.find("\"status\":200") != std::string::npos; }

int RunHttp(const std::string& url, const std::string& key, int concurrency, double seconds) {
  const size_t host_at = url.find("://") + 3;
  const size_t port_at = url.find(':', host_at);
  const size_t path_at = url.find('/', port_at);
  const std::string host = url.substr(host_at, port_at - host_at);
  const std::string port = url.substr(port_at + 1, path_at - port_at - 1);
  const std::string path = url.substr(path_at);
  Tally tally;
  const auto end = Clock::now() + std::chrono::duration<double>(seconds);
  std::vector<std::thread> clients;
  for (int c = 0; c < concurrency; ++c) {
    clients.emplace_back([&] {
      asio::io_context io;
      beast::tcp_stream stream(io);
      stream.connect(asio::ip::tcp::resolver(io).resolve(host, port));
      beast::flat_buffer buffer;
      std::string session;
      auto post = [&](const std::string& body, std::string* answer) {
        http::request<http::string_body> request(http::verb::post, path, 11);
        request.set(http::field::host, host + ":" + port);
        request.set(http::field::content_type, "application/json");
        request.set(http::field::accept, "application/json, text/event-stream");
        request.set(http::field::authorization, "Bearer " + key);
        if (!session.empty()) request.set("Mcp-Session-Id", session);
        request.body() = body;
        request.prepare_payload();
        http::write(stream, request);
        http::response<http::string_body> response;
        http::read(stream, buffer, response);
        if (session.empty()) session = std::string(response["Mcp-Session-Id"]);
        if (answer != nullptr) *answer = std::move(response.body());
        return response.result_int();
      };
      post(
          R"({"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{}}})",
          nullptr);
      post(R"({"jsonrpc":"2.0","method":"notifications/initialized"})", nullptr);
      for (long id = 1; Clock::now() < end; ++id) {
        std::string answer;
        const auto sent = Clock::now();
        const int status = post(R"({"jsonrpc":"2.0","id":)" + std::to_string(id) + "," + kCall, &answer);
        tally.Add(std::chrono::duration<double, std::milli>(Clock::now() - sent).count(),
                  status == 200 && IsOk(answer));
      }
    });
  }
  for (auto& client : clients) client.join();
  tally.Print(seconds);
  return 0;
}

int RunStdio(const std::string& binary, const std::string& data_dir, const std::string& key, int concurrency,
             double seconds) {
  int to_child[2];
  int from_child[2];
  if (::pipe(to_child) != 0 || ::pipe(from_child) != 0) return 1;
  ::setenv("LATCHKEY_AGENT_KEY", key.c_str(), 1);
  const pid_t child = ::fork();
  if (child == 0) {
    ::dup2(to_child[0], 0);
    ::dup2(from_child[1], 1);
    ::close(to_child[1]);
    ::close(from_child[0]);
    ::execl(binary.c_str(), binary.c_str(), "--data-dir", data_dir.c_str(), "mcp",
            static_cast<char*>(nullptr));
    _exit(127);
  }
  ::close(to_child[0]);
  ::close(from_child[1]);
  auto write_line = [&](const std::string& line) {
    std::string data = line + "\n";
    for (size_t off = 0; off < data.size();) {
      ssize_t n = ::write(to_child[1], data.data() + off, data.size() - off);
      if (n <= 0) return;
      off += size_t(n);
    }
  };
  std::mutex mu;
  std::condition_variable room;
  std::map<long, Clock::time_point> in_flight;
  Tally tally;
  bool initialized = false;
  std::thread reader([&] {
    std::string pending;
    char buffer[65536];
    for (;;) {
      ssize_t n = ::read(from_child[0], buffer, sizeof buffer);
      if (n <= 0) break;
      pending.append(buffer, size_t(n));
      for (size_t newline; (newline = pending.find('\n')) != std::string::npos;
           pending.erase(0, newline + 1)) {
        const std::string line = pending.substr(0, newline);
        const size_t id_at = line.find("\"id\":");
        if (id_at == std::string::npos) continue;
        const long id = std::atol(line.c_str() + id_at + 5);
        std::lock_guard lock(mu);
        if (id == 0) {
          initialized = true;
        } else if (auto found = in_flight.find(id); found != in_flight.end()) {
          tally.Add(std::chrono::duration<double, std::milli>(Clock::now() - found->second).count(),
                    IsOk(line));
          in_flight.erase(found);
        }
        room.notify_all();
      }
    }
  });
  write_line(
      R"({"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{}}})");
  {
    std::unique_lock lock(mu);
    room.wait(lock, [&] { return initialized; });
  }
  write_line(R"({"jsonrpc":"2.0","method":"notifications/initialized"})");
  const auto end = Clock::now() + std::chrono::duration<double>(seconds);
  for (long id = 1; Clock::now() < end; ++id) {
    {
      std::unique_lock lock(mu);
      room.wait(lock, [&] { return in_flight.size() < size_t(concurrency); });
      in_flight[id] = Clock::now();
    }
    write_line(R"({"jsonrpc":"2.0","id":)" + std::to_string(id) + "," + kCall);
  }
  {
    std::unique_lock lock(mu);
    room.wait_for(lock, std::chrono::seconds(10), [&] { return in_flight.empty(); });
  }
  ::close(to_child[1]);  // the server exits when its input ends
  reader.join();
  ::waitpid(child, nullptr, 0);
  tally.Print(seconds);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  if (args.size() == 5 && args[0] == "http")
    return RunHttp(args[1], args[2], std::stoi(args[3]), std::stod(args[4]));
  if (args.size() == 6 && args[0] == "stdio") {
    return RunStdio(args[1], args[2], args[3], std::stoi(args[4]), std::stod(args[5]));
  }
  std::cerr << "usage: mcp_load http URL KEY CONCURRENCY SECONDS | mcp_load stdio BINARY DATA_DIR KEY "
               "CONCURRENCY SECONDS\n";
  return 2;
}
