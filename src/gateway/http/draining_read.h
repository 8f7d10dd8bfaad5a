// DrainingRead: a socket read that knows when it emptied the socket, so the next read
// waits for the socket's next readiness event instead of first trying a recv that finds
// nothing. What nginx does with its `ready` flag.
//
// Why: Asio (1.81) reads a socket at once when an operation starts, and stops doing that
// only after a read that returned 0 bytes. On the gateway's hot path the next bytes almost
// never are there yet (the upstream's answer right after the request went out, the agent's
// next request right after the answer), so each such read is a recv that fails with
// EAGAIN: 1.2 to 1.5 of them a proxied call, on a machine where a system call is the
// largest cost of a call (bench/gateway/RESULTS.md, stop 47).
//
// How: the epoll reactor keeps, per socket and direction, whether to try an operation
// before waiting (`try_speculative_`): it sets it on every readiness event, also one no
// operation waited for, and clears it when an operation reports `done_and_exhausted`.
// Asio's own receive reports that only for 0 bytes; this one also for a read after which
// the kernel says nothing is left: with TCP_INQ on the socket (ReadQueueHint below), each
// recvmsg comes with a note of the bytes still queued, and the kernel counts an unread end
// of the stream as one. Bytes that arrive later raise a new edge-triggered event, which sets
// the flag again (or completes the waiting read), so nothing is missed.
//
// A short read is not enough to know: the read that takes a peer's last bytes also takes
// its FIN when both were queued, and returns them short; the FIN's one readiness event is
// then spent, and a read that waited for another would wait until its timeout (which
// stop 47's first version of this did: http_server_fuzz found it). Without the kernel's
// note (a socket without the option, a kernel before 4.18) the read follows Asio's rule.
//
// It uses Asio's detail layer (the reactor operation, the socket service's start_op), which
// Boost 1.81 (Debian 12's, the only one this builds with) has; a build with another Boost
// fails to compile here rather than misbehave (the static_assert below). Everything else of
// the read is Asio's: errors, cancellation by close() or cancel(), the handler's allocator
// and executor. A read with per-operation cancellation (a connected cancellation slot) or
// an empty buffer is left to the socket's own async_read_some.
#pragma once

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include <array>
#include <boost/asio/associated_cancellation_slot.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/buffer.hpp>
#include <boost/asio/detail/bind_handler.hpp>
#include <boost/asio/detail/epoll_reactor.hpp>
#include <boost/asio/detail/fenced_block.hpp>
#include <boost/asio/detail/handler_alloc_helpers.hpp>
#include <boost/asio/detail/handler_cont_helpers.hpp>
#include <boost/asio/detail/handler_work.hpp>
#include <boost/asio/detail/memory.hpp>
#include <boost/asio/detail/reactive_socket_service_base.hpp>
#include <boost/asio/detail/reactor_op.hpp>
#include <boost/asio/detail/socket_option.hpp>
#include <boost/asio/error.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/system/error_code.hpp>
#include <boost/version.hpp>
#include <cerrno>
#include <cstddef>
#include <cstring>
#include <optional>
#include <type_traits>
#include <utility>

namespace latchkey::gateway {

static_assert(BOOST_VERSION / 100 == 1081,
              "draining_read.h uses Boost.Asio 1.81's reactor internals: check them against this Boost");

namespace draining_read_detail {

namespace asio_detail = boost::asio::detail;
using Socket = boost::asio::ip::tcp::socket;

// The socket's service and implementation (protected in basic_socket and the service).
struct SocketAccess : Socket {
  static auto& Impl(Socket& socket) { return socket.*(&SocketAccess::impl_); }
};
struct ServiceAccess : asio_detail::reactive_socket_service_base {
  using Base = asio_detail::reactive_socket_service_base;
  static void StartRead(Base& service, Base::base_implementation_type& impl, asio_detail::reactor_op* op,
                        bool is_continuation) {
    (service.*(&ServiceAccess::start_op))(impl, asio_detail::reactor::read_op, op, is_continuation,
                                          /*is_non_blocking=*/true, /*noop=*/false);
  }
};

// The reactor's per-socket flag that says whether to try a read before waiting
// (`try_speculative_`, private to epoll_reactor's descriptor_state). An explicit
// instantiation may name a private member (C++20 [temp.spec.general]/6); the friend
// function it defines hands the member pointer out.
struct SpeculativeTag {
  friend constexpr auto MemberOf(SpeculativeTag);
};
template <auto Member>
struct Expose {
  friend constexpr auto MemberOf(SpeculativeTag) { return Member; }
};
static_assert(std::is_same_v<asio_detail::reactor, asio_detail::epoll_reactor>,
              "draining_read.h relies on the epoll reactor's rule for trying reads");
template struct Expose<&asio_detail::epoll_reactor::descriptor_state::try_speculative_>;

// Asio's reactive_socket_recv_op for one buffer, but exhausted by a short read.
template <typename Handler, typename IoExecutor>
class Op : public asio_detail::reactor_op {
 public:
  BOOST_ASIO_DEFINE_HANDLER_PTR(Op);

  Op(asio_detail::socket_type socket, boost::asio::mutable_buffer buffer, Handler& handler,
     const IoExecutor& io_ex)
      : reactor_op(boost::system::error_code(), &Op::Perform, &Op::Complete),
        socket_(socket),
        buffer_(buffer),
        handler_(std::move(handler)),
        work_(handler_, io_ex) {}

  // One recvmsg, with what Asio's non_blocking_recv1 does around its recv: EINTR retried,
  // EAGAIN not done, 0 bytes the end of the stream, an error reported with no bytes.
  static status Perform(reactor_op* base) {
    auto* op = static_cast<Op*>(base);
    iovec piece{.iov_base = op->buffer_.data(), .iov_len = op->buffer_.size()};
    alignas(cmsghdr) std::array<char, CMSG_SPACE(sizeof(int))> control;
    msghdr message{};
    message.msg_iov = &piece;
    message.msg_iovlen = 1;
    ssize_t bytes = 0;
    do {
      message.msg_control = control.data();
      message.msg_controllen = control.size();
      bytes = ::recvmsg(op->socket_, &message, 0);
    } while (bytes < 0 && errno == EINTR);
    if (bytes < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return not_done;  // wait for the socket
    if (bytes <= 0) {
      op->ec_ = bytes == 0 ? boost::system::error_code(boost::asio::error::eof)
                           : boost::system::error_code(errno, boost::asio::error::get_system_category());
      op->bytes_transferred_ = 0;
      return done_and_exhausted;  // as Asio's
    }
    op->bytes_transferred_ = static_cast<size_t>(bytes);
    const std::optional<int> left = QueuedAfter(message);
    return left == 0 ? done_and_exhausted : done;
  }

  // The kernel's note of the bytes left queued after a read (an unread FIN counts as one),
  // if the socket asked for it.
  static std::optional<int> QueuedAfter(msghdr& message) {
    for (cmsghdr* note = CMSG_FIRSTHDR(&message); note != nullptr; note = CMSG_NXTHDR(&message, note)) {
      if (note->cmsg_level == SOL_TCP && note->cmsg_type == TCP_CM_INQ) {
        int left = 0;
        std::memcpy(&left, CMSG_DATA(note), sizeof left);
        return left;
      }
    }
    return std::nullopt;
  }

  // As reactive_socket_recv_op::do_complete: the memory is freed before the upcall, which
  // is made only when the scheduler runs the operation (not when it destroys it).
  static void Complete(void* owner, asio_detail::operation* base, const boost::system::error_code& /*ec*/,
                       std::size_t /*bytes*/) {
    auto* op = static_cast<Op*>(base);
    ptr p = {asio_detail::addressof(op->handler_), op, op};
    asio_detail::handler_work<Handler, IoExecutor> work(std::move(op->work_));
    asio_detail::binder2<Handler, boost::system::error_code, std::size_t> handler(op->handler_, op->ec_,
                                                                                  op->bytes_transferred_);
    p.h = asio_detail::addressof(handler.handler_);
    p.reset();
    if (owner) {
      asio_detail::fenced_block block(asio_detail::fenced_block::half);
      work.complete(handler, handler.handler_);
    }
  }

 private:
  asio_detail::socket_type socket_;
  boost::asio::mutable_buffer buffer_;
  Handler handler_;
  asio_detail::handler_work<Handler, IoExecutor> work_;
};

struct Initiate {
  Socket* socket;

  using executor_type = Socket::executor_type;
  executor_type get_executor() const noexcept { return socket->get_executor(); }

  template <typename Handler>
  void operator()(Handler&& handler, boost::asio::mutable_buffer buffer) const {
    using Decayed = std::decay_t<Handler>;
    if (buffer.size() == 0 || boost::asio::get_associated_cancellation_slot(handler).is_connected()) {
      socket->async_read_some(buffer, std::forward<Handler>(handler));
      return;
    }
    auto& impl = SocketAccess::Impl(*socket);
    Decayed local(std::forward<Handler>(handler));
    const bool is_continuation = boost_asio_handler_cont_helpers::is_continuation(local);
    using ReadOp = Op<Decayed, executor_type>;
    typename ReadOp::ptr p = {asio_detail::addressof(local), ReadOp::ptr::allocate(local), nullptr};
    p.p = new (p.v) ReadOp(impl.get_implementation().socket_, buffer, local, impl.get_executor());
    ServiceAccess::StartRead(impl.get_service(), impl.get_implementation(), p.p, is_continuation);
    p.v = p.p = nullptr;
  }
};

}  // namespace draining_read_detail

// The socket option that makes the kernel note, with each read of a TCP socket, how much
// it left queued (TCP_INQ, Linux 4.18). Sockets accepted from a listening socket that has
// it inherit it.
using ReadQueueHint = boost::asio::detail::socket_option::boolean<IPPROTO_TCP, TCP_INQ>;

// Whether the last read of `socket` emptied it, as the kernel noted (DrainingRead), and
// the reactor has seen no readiness event of it since: no bytes and no end of the stream
// arrived, unless in the instant since the worker last asked epoll (an event not yet
// taken). False whenever that is not known (a read that left something, or Asio's own
// reads, which keep trying). No system call. Only on the thread that runs the socket's
// io_context (the reactor changes the flag there).
inline bool NothingSinceEmptied(boost::asio::ip::tcp::socket& socket) {
  auto& implementation = draining_read_detail::SocketAccess::Impl(socket).get_implementation();
  const auto* state = implementation.reactor_data_;
  if (state == nullptr) return false;  // not open
  constexpr auto kTrySpeculative = MemberOf(draining_read_detail::SpeculativeTag{});
  return !(state->*kTrySpeculative)[boost::asio::detail::epoll_reactor::read_op];
}

// Reads what `socket` has into `buffer`, as socket.async_read_some(buffer, token) does, but
// without a first recv when the previous read of this socket emptied it (as the kernel
// noted it: `socket` needs ReadQueueHint, its own or its listening socket's) and no
// readiness event came since. Completion: void(error_code, size_t).
template <typename Token>
auto DrainingRead(boost::asio::ip::tcp::socket& socket, boost::asio::mutable_buffer buffer, Token&& token) {
  return boost::asio::async_initiate<Token, void(boost::system::error_code, std::size_t)>(
      draining_read_detail::Initiate{&socket}, token, buffer);
}

}  // namespace latchkey::gateway
