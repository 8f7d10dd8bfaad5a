#include "mcp/streamable_http.h"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/experimental/concurrent_channel.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <deque>
#include <mutex>
#include <unordered_map>

#include "common/ascii.h"
#include "common/json_text.h"
#include "common/log.h"
#include "common/url.h"
#include "mcp/session.h"

namespace latchkey::mcp {

namespace asio = boost::asio;
using namespace boost::asio::experimental::awaitable_operators;

namespace {

// Rung when a stream has something new for its reader (capacity 1: rings coalesce).
using Doorbell = asio::experimental::concurrent_channel<void(boost::system::error_code)>;

// Transport-level errors, as the reference SDK words them.
constexpr int kTransportError = -32000;
constexpr int kSessionNotFound = -32001;

HttpAnswer Refuse(int status, int code, std::string message) {
  HttpAnswer answer;
  answer.status = status;
  answer.headers.emplace_back("Content-Type", "application/json");
  answer.body = DumpJson(MakeError(nullptr, {.code = code, .message = std::move(message), .data = nullptr}));
  return answer;
}

// The host a Host header names, as allowed_hosts lists it ("example.com", "[::1]"; the
// port dropped); "" when the header is not a host and port.
std::string HostName(std::string_view host) {
  StatusOr<Url> url = ParseHttpUrl("http://" + std::string(host));
  return url.ok() && url->path.empty() && !url->has_query ? url->HostForUrl() : std::string();
}

// The host an Origin header names ("http://example.com:8080" → "example.com"); "" when it
// is not an origin ("null", a path).
std::string OriginHost(std::string_view origin) {
  StatusOr<Url> url = ParseOrigin(origin);
  return url.ok() ? url->HostForUrl() : std::string();
}

bool Accepts(std::string_view accept, std::string_view type) {
  return AsciiLower(accept).find(type) != std::string::npos || accept.find("*/*") != std::string_view::npos;
}

}  // namespace

// One stream of events: the messages of one POSTed request (it ends with the request's
// response), or a session's standalone stream (it ends with the session). Events stay
// until the stream is dropped, so a reader can start again from any of them. One reader at
// a time; a new one displaces the old.
class EventLog final : public Outlet {
 public:
  EventLog(std::string id, json request_id, size_t max_events)
      : id_(std::move(id)), request_id_(std::move(request_id)), max_events_(max_events) {}

  const std::string& id() const { return id_; }

  void Send(json message) override {
    const bool last = !request_id_.is_null() && message.contains("id") && !message.contains("method") &&
                      message["id"] == request_id_;
    std::lock_guard lock(mu_);
    if (closed_ || finished_) return;
    events_.push_back({.seq = next_seq_++, .data = DumpJson(message)});
    if (max_events_ != 0 && events_.size() > max_events_) events_.pop_front();
    finished_ = last;
    Ring();
  }

  void EndConnection() override {
    std::lock_guard lock(mu_);
    ++generation_;
    Ring();
  }

  // The request ended without a response (it was cancelled): the stream ends too.
  void Finish() {
    std::lock_guard lock(mu_);
    finished_ = true;
    Ring();
  }

  // The session ended: readers stop.
  void Close() {
    std::lock_guard lock(mu_);
    closed_ = true;
    Ring();
  }

  bool finished() const {
    std::lock_guard lock(mu_);
    return finished_;
  }

  uint64_t next_seq() const {
    std::lock_guard lock(mu_);
    return next_seq_;
  }

  // A new reader: the one before it (if any) ends. Returns the reader's generation.
  uint64_t Attach(std::shared_ptr<Doorbell> doorbell) {
    std::lock_guard lock(mu_);
    ++generation_;
    Ring();
    doorbell_ = std::move(doorbell);
    return generation_;
  }

  void Detach(const std::shared_ptr<Doorbell>& doorbell) {
    std::lock_guard lock(mu_);
    if (doorbell_ == doorbell) doorbell_.reset();
  }

  bool has_reader() const {
    std::lock_guard lock(mu_);
    return doorbell_ != nullptr;
  }

  enum class Shape { kWaiting, kJson, kStream };

  // How a POST should be answered so far: still waiting, JSON (the response is all there
  // is, given in `only`), or a stream.
  Shape Decide(uint64_t generation, std::string& only) const {
    std::lock_guard lock(mu_);
    if (closed_ || generation != generation_) return Shape::kStream;
    if (events_.empty()) return finished_ ? Shape::kStream : Shape::kWaiting;
    if (finished_ && events_.size() == 1) {
      only = events_.front().data;
      return Shape::kJson;
    }
    return Shape::kStream;
  }

  // The SSE frames of events from `from` on (advancing it), and whether the reader is done.
  std::pair<std::string, bool> Take(uint64_t& from, uint64_t generation) const {
    std::lock_guard lock(mu_);
    if (closed_ || generation != generation_) return {{}, true};
    std::string frames;
    for (const Event& event : events_) {
      if (event.seq < from) continue;
      frames += "id: " + id_ + "_" + std::to_string(event.seq) + "\ndata: " + event.data + "\n\n";
      from = event.seq + 1;
    }
    const bool done = frames.empty() && finished_;
    return {std::move(frames), done};
  }

 private:
  struct Event {
    uint64_t seq;
    std::string data;
  };

  void Ring() {  // with mu_ held
    if (doorbell_) doorbell_->try_send(boost::system::error_code());
  }

  const std::string id_;
  const json request_id_;    // null for a standalone stream
  const size_t max_events_;  // 0: no limit
  mutable std::mutex mu_;
  std::deque<Event> events_;            // guarded by mu_
  uint64_t next_seq_ = 1;               // guarded by mu_; 0 is the priming event
  uint64_t generation_ = 0;             // guarded by mu_
  bool finished_ = false;               // guarded by mu_
  bool closed_ = false;                 // guarded by mu_
  std::shared_ptr<Doorbell> doorbell_;  // guarded by mu_
};

namespace {

// Reads one EventLog onto one HTTP response.
class Reader final : public EventSource {
 public:
  Reader(std::shared_ptr<EventLog> log, const asio::any_io_executor& executor, uint64_t from,
         std::chrono::milliseconds keepalive)
      : log_(std::move(log)),
        doorbell_(std::make_shared<Doorbell>(executor, 1)),
        generation_(log_->Attach(doorbell_)),
        from_(from),
        keepalive_(keepalive) {}
  ~Reader() override { log_->Detach(doorbell_); }
  Reader(const Reader&) = delete;
  Reader& operator=(const Reader&) = delete;

  // Starts the stream with an event that has an id and no data (a client that loses the
  // connection before any message can still resume) and the reconnection delay.
  void Prime(std::chrono::milliseconds retry) {
    priming_ = "id: " + log_->id() + "_0\nretry: " + std::to_string(retry.count()) + "\ndata: \n\n";
  }

  // Waits until a POST's answer can take its shape.
  asio::awaitable<EventLog::Shape> Decide(std::string& only) {
    for (;;) {
      EventLog::Shape shape = log_->Decide(generation_, only);
      if (shape != EventLog::Shape::kWaiting) co_return shape;
      co_await doorbell_->async_receive(asio::as_tuple(asio::use_awaitable));
    }
  }

  asio::awaitable<std::optional<std::string>> Next() override {
    if (!priming_.empty()) co_return std::exchange(priming_, {});
    for (;;) {
      auto [frames, done] = log_->Take(from_, generation_);
      if (!frames.empty()) co_return std::move(frames);
      if (done) co_return std::nullopt;
      asio::steady_timer quiet(co_await asio::this_coro::executor, keepalive_);
      auto woke = co_await (doorbell_->async_receive(asio::as_tuple(asio::use_awaitable)) ||
                            quiet.async_wait(asio::as_tuple(asio::use_awaitable)));
      if (woke.index() == 1)
        co_return std::string(":\n\n");  // a comment keeps the stream (and its check) alive
    }
  }

 private:
  std::shared_ptr<EventLog> log_;
  std::shared_ptr<Doorbell> doorbell_;
  const uint64_t generation_;
  uint64_t from_;
  const std::chrono::milliseconds keepalive_;
  std::string priming_;
};

}  // namespace

// One session as HTTP sees it: the protocol Session and its streams.
struct HttpSession {
  std::string id;
  std::string principal;
  std::shared_ptr<Session> session;
  std::shared_ptr<EventLog> standalone;

  std::mutex mu;
  std::unordered_map<std::string, std::shared_ptr<EventLog>> streams;  // guarded by mu
  std::deque<std::string> finished;                                    // guarded by mu, oldest first
  uint64_t next_stream = 1;                                            // guarded by mu; 0 is standalone
  MonoTime last_used;                                                  // guarded by mu

  void Close() {
    session->Close();
    standalone->Close();
    std::lock_guard lock(mu);
    for (auto& [name, stream] : streams) stream->Close();
    streams.clear();
  }
};

class StreamableHttp::Impl : public std::enable_shared_from_this<Impl> {
 public:
  Impl(std::shared_ptr<const Server> server, Random& random, const MonotonicClock& steady,
       StreamableHttpOptions options)
      : server_(std::move(server)),
        random_(random),
        steady_(steady),
        options_(std::move(options)),
        last_sweep_(steady.Now()) {}

  asio::awaitable<HttpAnswer> Handle(HttpCall call) {
    if (std::optional<HttpAnswer> refused = CheckHostAndOrigin(call)) co_return std::move(*refused);
    std::string version = call.header("MCP-Protocol-Version");
    if (!version.empty() && !IsSupportedVersion(version)) {
      co_return Refuse(400, kTransportError,
                       "Bad Request: Unsupported protocol version: " + version +
                           " (supported versions: 2025-11-25, 2025-06-18, 2025-03-26)");
    }
    if (call.method == "POST") co_return co_await Post(call);
    if (call.method == "GET") co_return co_await Get(call);
    if (call.method == "DELETE") co_return Delete(call);
    HttpAnswer refused = Refuse(405, kTransportError, "Method not allowed.");
    refused.headers.emplace_back("Allow", "GET, POST, DELETE");
    co_return refused;
  }

  void CloseAll() {
    std::unordered_map<std::string, std::shared_ptr<HttpSession>> sessions;
    {
      std::lock_guard lock(mu_);
      sessions.swap(sessions_);
      closed_ = true;
    }
    for (auto& [id, session] : sessions) session->Close();
  }

  size_t session_count() const {
    std::lock_guard lock(mu_);
    return sessions_.size();
  }

 private:
  std::optional<HttpAnswer> CheckHostAndOrigin(const HttpCall& call) const {
    auto allowed = [this](const std::string& host) {
      return std::ranges::find(options_.allowed_hosts, host) != options_.allowed_hosts.end();
    };
    const std::string host = call.header("Host");
    if (!host.empty() && !allowed(HostName(host))) {
      return Refuse(403, kTransportError, "Invalid Host header: " + host);
    }
    const std::string origin = call.header("Origin");
    if (!origin.empty() && !allowed(OriginHost(origin))) {
      return Refuse(403, kTransportError, "Invalid Origin header: " + origin);
    }
    return std::nullopt;
  }

  // The session a request names, or the answer that refuses it.
  std::variant<std::shared_ptr<HttpSession>, HttpAnswer> Find(const HttpCall& call) {
    const std::string id = call.header("Mcp-Session-Id");
    if (id.empty()) return Refuse(400, kTransportError, "Bad Request: Mcp-Session-Id header is required");
    std::lock_guard lock(mu_);
    Sweep();
    auto found = sessions_.find(id);
    if (found == sessions_.end() || found->second->principal != call.principal) {
      return Refuse(404, kSessionNotFound, "Session not found");
    }
    std::lock_guard session_lock(found->second->mu);
    found->second->last_used = steady_.Now();
    return found->second;
  }

  // Ends sessions nobody used for idle_session_timeout (at most once a minute). mu_ held.
  void Sweep() {
    const MonoTime now = steady_.Now();
    if (now - last_sweep_ < std::chrono::minutes(1)) return;
    last_sweep_ = now;
    for (auto it = sessions_.begin(); it != sessions_.end();) {
      bool idle = false;
      {
        std::lock_guard lock(it->second->mu);
        idle = now - it->second->last_used > options_.idle_session_timeout;
      }
      if (idle) {
        it->second->Close();
        it = sessions_.erase(it);
      } else {
        ++it;
      }
    }
  }

  asio::awaitable<HttpAnswer> Post(const HttpCall& call) {
    const std::string content_type = AsciiLower(call.header("Content-Type"));
    if (!content_type.starts_with("application/json")) {
      co_return Refuse(415, kTransportError, "Unsupported Media Type: Content-Type must be application/json");
    }
    const std::string accept = call.header("Accept");
    if (!Accepts(accept, "application/json") || !Accepts(accept, "text/event-stream")) {
      co_return Refuse(406, kTransportError,
                       "Not Acceptable: Client must accept both application/json and text/event-stream");
    }
    auto parsed = Parse(call.body);
    if (auto* refusal = std::get_if<RpcRefusal>(&parsed)) {
      HttpAnswer answer;
      answer.status = 400;
      answer.headers.emplace_back("Content-Type", "application/json");
      answer.body = DumpJson(refusal->response);
      co_return answer;
    }
    RpcMessage message = std::get<RpcMessage>(std::move(parsed));
    if (message.is_request() && message.method == "initialize")
      co_return co_await Open(call, std::move(message));

    auto found = Find(call);
    if (auto* refused = std::get_if<HttpAnswer>(&found)) co_return std::move(*refused);
    std::shared_ptr<HttpSession> session = std::get<std::shared_ptr<HttpSession>>(std::move(found));
    if (!message.is_request()) {
      co_await session->session->Handle(std::move(message), session->standalone);
      HttpAnswer accepted;
      accepted.status = 202;
      co_return accepted;
    }
    co_return co_await Serve(session, std::move(message), call.caller);
  }

  // initialize: a new session, answered with its id.
  asio::awaitable<HttpAnswer> Open(const HttpCall& call, RpcMessage message) {
    if (!call.header("Mcp-Session-Id").empty()) {
      co_return Refuse(400, rpc_code::kInvalidRequest,
                       "Invalid Request: initialize opens a new session; send it without Mcp-Session-Id");
    }
    auto session = std::make_shared<HttpSession>();
    session->id = random_.Hex(16);
    session->principal = call.principal;
    session->last_used = steady_.Now();
    session->session = std::make_shared<Session>(server_, call.principal);
    session->standalone = std::make_shared<EventLog>("0", nullptr, options_.max_standalone_events);
    session->session->SetUnrelatedOutlet(session->standalone);
    {
      std::lock_guard lock(mu_);
      Sweep();
      if (closed_ || sessions_.size() >= options_.max_sessions) {
        co_return Refuse(503, kTransportError,
                         "Service Unavailable: too many open MCP sessions; end one first");
      }
      const auto own = std::ranges::count_if(
          sessions_, [&](const auto& entry) { return entry.second->principal == call.principal; });
      if (static_cast<size_t>(own) >= options_.max_sessions_per_principal) {
        co_return Refuse(429, kTransportError,
                         "Too Many Requests: this agent holds " + std::to_string(own) +
                             " open MCP sessions, its limit; end one (DELETE with its Mcp-Session-Id) first");
      }
      sessions_[session->id] = session;
    }
    HttpAnswer answer = co_await Serve(session, std::move(message), call.caller);
    if (!session->session->initialized()) {  // initialize failed: no session to keep
      std::lock_guard lock(mu_);
      sessions_.erase(session->id);
    } else {
      answer.headers.emplace_back("Mcp-Session-Id", session->id);
    }
    co_return answer;
  }

  // One request: its handler runs, and the answer is JSON or a stream (see the header).
  asio::awaitable<HttpAnswer> Serve(const std::shared_ptr<HttpSession>& session, RpcMessage message,
                                    std::any caller) {
    std::shared_ptr<EventLog> log;
    {
      std::lock_guard lock(session->mu);
      log = std::make_shared<EventLog>(std::to_string(session->next_stream++), message.id, 0);
      session->streams[log->id()] = log;
    }
    const asio::any_io_executor executor = co_await asio::this_coro::executor;
    auto reader = std::make_unique<Reader>(log, executor, 1, options_.keepalive);
    asio::co_spawn(
        executor,
        [session, log, message = std::move(message),
         caller = std::move(caller)]() mutable -> asio::awaitable<void> {
          co_await session->session->Handle(std::move(message), log, std::move(caller));
        },
        [weak = weak_from_this(), session, log](const std::exception_ptr&) {
          log->Finish();
          if (auto self = weak.lock()) self->Retire(*session, log->id());
        });

    std::string only;
    EventLog::Shape shape = co_await reader->Decide(only);
    HttpAnswer answer;
    if (shape == EventLog::Shape::kJson) {
      answer.headers.emplace_back("Content-Type", "application/json");
      answer.body = std::move(only);
      co_return answer;
    }
    if (session->session->protocol_version() >= "2025-11-25") reader->Prime(options_.retry);
    answer.headers.emplace_back("Content-Type", "text/event-stream");
    answer.headers.emplace_back("Cache-Control", "no-cache");
    answer.events = std::move(reader);
    co_return answer;
  }

  // A finished stream stays for resumption, the newest max_kept_streams of them.
  void Retire(HttpSession& session, const std::string& stream) {
    std::lock_guard lock(session.mu);
    session.finished.push_back(stream);
    while (session.finished.size() > options_.max_kept_streams) {
      session.streams.erase(session.finished.front());
      session.finished.pop_front();
    }
  }

  asio::awaitable<HttpAnswer> Get(const HttpCall& call) {
    if (!Accepts(call.header("Accept"), "text/event-stream")) {
      co_return Refuse(406, kTransportError, "Not Acceptable: Client must accept text/event-stream");
    }
    auto found = Find(call);
    if (auto* refused = std::get_if<HttpAnswer>(&found)) co_return std::move(*refused);
    std::shared_ptr<HttpSession> session = std::get<std::shared_ptr<HttpSession>>(std::move(found));
    const asio::any_io_executor executor = co_await asio::this_coro::executor;

    std::unique_ptr<Reader> reader;
    const std::string last_event = call.header("Last-Event-ID");
    if (!last_event.empty()) {  // resumption: the rest of the stream that event belongs to
      const size_t underscore = last_event.rfind('_');
      const std::string stream = last_event.substr(0, underscore);
      uint64_t seen = 0;
      try {
        seen = underscore == std::string::npos ? 0 : std::stoull(last_event.substr(underscore + 1));
      } catch (const std::exception&) {
        co_return Refuse(400, kTransportError,
                         "Bad Request: Last-Event-ID is not an event id of this server");
      }
      std::shared_ptr<EventLog> log;
      {
        std::lock_guard lock(session->mu);
        auto it = session->streams.find(stream);
        if (it != session->streams.end()) log = it->second;
      }
      if (stream == "0") log = session->standalone;
      if (!log)
        co_return Refuse(404, kTransportError, "Not Found: that stream has ended and is no longer kept");
      reader = std::make_unique<Reader>(log, executor, seen + 1, options_.keepalive);
    } else {
      if (session->standalone->has_reader()) {
        co_return Refuse(409, kTransportError, "Conflict: Only one SSE stream is allowed per session");
      }
      reader = std::make_unique<Reader>(session->standalone, executor, session->standalone->next_seq(),
                                        options_.keepalive);
      if (session->session->protocol_version() >= "2025-11-25") reader->Prime(options_.retry);
    }
    HttpAnswer answer;
    answer.headers.emplace_back("Content-Type", "text/event-stream");
    answer.headers.emplace_back("Cache-Control", "no-cache");
    answer.events = std::move(reader);
    co_return answer;
  }

  HttpAnswer Delete(const HttpCall& call) {
    auto found = Find(call);
    if (auto* refused = std::get_if<HttpAnswer>(&found)) return std::move(*refused);
    std::shared_ptr<HttpSession> session = std::get<std::shared_ptr<HttpSession>>(std::move(found));
    {
      std::lock_guard lock(mu_);
      sessions_.erase(session->id);
    }
    session->Close();
    return HttpAnswer{};
  }

  const std::shared_ptr<const Server> server_;
  Random& random_;
  const MonotonicClock& steady_;
  const StreamableHttpOptions options_;
  mutable std::mutex mu_;
  std::unordered_map<std::string, std::shared_ptr<HttpSession>> sessions_;  // guarded by mu_
  MonoTime last_sweep_;                                                     // guarded by mu_
  bool closed_ = false;                                                     // guarded by mu_
};

StreamableHttp::StreamableHttp(std::shared_ptr<const Server> server, Random& random,
                               const MonotonicClock& steady, StreamableHttpOptions options)
    : impl_(std::make_shared<Impl>(std::move(server), random, steady, std::move(options))) {}

StreamableHttp::~StreamableHttp() { CloseAll(); }

asio::awaitable<HttpAnswer> StreamableHttp::Handle(HttpCall call) { return impl_->Handle(std::move(call)); }

void StreamableHttp::CloseAll() { impl_->CloseAll(); }

size_t StreamableHttp::session_count() const { return impl_->session_count(); }

}  // namespace latchkey::mcp
