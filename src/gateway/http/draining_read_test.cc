// DrainingRead (draining_read.h) on real TCP sockets over loopback: its operation's verdict
// on each kind of read (the one rule of its own), with and without the kernel's note of
// what is left, then reads through the io_context with the peer's bytes arriving at each
// moment that matters to a reader that skips its first recv: while it waits, between two
// reads with and without the reactor having seen them, together with the peer's FIN, and
// more than the buffer holds with nothing arriving after.
#include "gateway/http/draining_read.h"

#include <gtest/gtest.h>
#include <poll.h>

#include <array>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/write.hpp>
#include <chrono>
#include <optional>
#include <string>

#include "support/send_with_fin.h"

namespace latchkey::gateway {
namespace {

namespace asio = boost::asio;
using asio::ip::tcp;

// A connected pair; the reader is accepted, as the gateway's are, from a listening socket
// that asks for the kernel's note of what each read left (`hints`), or not.
struct Pair {
  asio::io_context io;
  tcp::socket reader{io};
  tcp::socket writer{io};

  explicit Pair(bool hints = true) {
    tcp::acceptor acceptor(io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
    if (hints) acceptor.set_option(ReadQueueHint(true));
    writer.connect(acceptor.local_endpoint());
    acceptor.accept(reader);
    writer.set_option(tcp::no_delay(true));
  }

  void Send(const std::string& bytes) { asio::write(writer, asio::buffer(bytes)); }

  // The bytes and the end of the stream in one TCP segment: the reader's socket gets both at once.
  void SendWithFin(const std::string& bytes) {
    ASSERT_TRUE(latchkey::testing::SendWithFin(writer.native_handle(), bytes));
  }

  // Waits (poll(2), bounded) until the reader's socket holds `bytes`, for the tests that
  // must not run the reactor meanwhile. (Loopback has them queued by the time the write
  // returns, as a rule; this does not count on it.)
  void AwaitQueued(size_t bytes) {
    for (int i = 0; i < 100 && reader.available() < bytes; ++i) AwaitReadable();
    ASSERT_GE(reader.available(), bytes);
  }

  // Waits until the reader's socket is readable (bytes or the end), at most 20 ms.
  void AwaitReadable() {
    pollfd fd{.fd = reader.native_handle(), .events = POLLIN, .revents = 0};
    ::poll(&fd, 1, 20);
  }
};

struct Read {
  boost::system::error_code ec;
  size_t bytes = 0;
};

// Starts one DrainingRead into `into`; the result lands in `out` when the io_context runs it.
void StartRead(Pair& pair, asio::mutable_buffer into, std::optional<Read>& out) {
  out.reset();
  DrainingRead(pair.reader, into, [&out](boost::system::error_code ec, size_t bytes) {
    out = Read{ec, bytes};
  });
}

// Starts a read of an empty socket and runs what is ready: the read must still be waiting.
void StartWaitingRead(Pair& pair, asio::mutable_buffer into, std::optional<Read>& out) {
  StartRead(pair, into, out);
  pair.io.poll();
  EXPECT_FALSE(out) << "a read of an empty socket completed";
}

// Runs the io_context until `out` is set, for at most two seconds of polls.
void RunUntil(Pair& pair, const std::optional<Read>& out) {
  const auto limit = std::chrono::steady_clock::now() + std::chrono::seconds(2);
  while (!out && std::chrono::steady_clock::now() < limit) {
    pair.io.run_one_for(std::chrono::milliseconds(10));
    pair.io.restart();
  }
}

// Sends `bytes`, waits until the reader's socket holds them, and reads once into `into`
// through the io_context.
Read SendAndRead(Pair& pair, const std::string& bytes, asio::mutable_buffer into) {
  pair.Send(bytes);
  pair.AwaitQueued(bytes.size());
  std::optional<Read> out;
  StartRead(pair, into, out);
  RunUntil(pair, out);
  EXPECT_TRUE(out) << "a read of bytes already queued did not complete";
  return out.value_or(Read{});
}

// Starts a read of the empty socket, then sends `bytes` and the FIN in one segment while
// it waits, and runs until the read completes.
Read ReadWhileTheLastBytesArrive(Pair& pair, const std::string& bytes, asio::mutable_buffer into) {
  std::optional<Read> out;
  StartWaitingRead(pair, into, out);
  pair.SendWithFin(bytes);
  RunUntil(pair, out);
  EXPECT_TRUE(out) << "a read did not complete when bytes and the FIN arrived";
  return out.value_or(Read{});
}

// The operation's own rule, on one recv each: what Asio's reactor keeps or stops trying.
using Status = asio::detail::reactor_op::status;
Status PerformOnce(Pair& pair, asio::mutable_buffer into, Read& read) {
  auto handler = [](boost::system::error_code, size_t) {};
  using Op = draining_read_detail::Op<decltype(handler), tcp::socket::executor_type>;
  pair.reader.non_blocking(true);
  typename Op::ptr p = {asio::detail::addressof(handler), Op::ptr::allocate(handler), nullptr};
  p.p = new (p.v) Op(pair.reader.native_handle(), into, handler, pair.reader.get_executor());
  const Status status = Op::Perform(p.p);
  read = Read{p.p->ec_, p.p->bytes_transferred_};
  return status;  // p frees the operation without running its handler
}

TEST(DrainingReadTest, AReadEmptiesTheSocketWhenTheKernelNotesNothingLeftAndAnEmptySocketWaits) {
  Pair pair;
  std::array<char, 8> buffer{};
  Read read;
  EXPECT_EQ(PerformOnce(pair, asio::buffer(buffer), read), Status::not_done);  // nothing sent: EAGAIN

  pair.Send("abc");
  pair.AwaitQueued(3);
  EXPECT_EQ(PerformOnce(pair, asio::buffer(buffer), read), Status::done_and_exhausted);
  EXPECT_EQ(read.bytes, 3u);
  EXPECT_FALSE(read.ec);

  pair.Send("0123456789");
  pair.AwaitQueued(10);
  EXPECT_EQ(PerformOnce(pair, asio::buffer(buffer), read), Status::done);  // 8 of 10: more may wait
  EXPECT_EQ(read.bytes, 8u);
  EXPECT_EQ(PerformOnce(pair, asio::buffer(buffer), read), Status::done_and_exhausted);
  EXPECT_EQ(read.bytes, 2u);

  pair.Send("01234567");  // exactly the buffer: full, and nothing left
  pair.AwaitQueued(8);
  EXPECT_EQ(PerformOnce(pair, asio::buffer(buffer), read), Status::done_and_exhausted);
  EXPECT_EQ(read.bytes, 8u);

  pair.writer.close();
  for (int i = 0; i < 100 && PerformOnce(pair, asio::buffer(buffer), read) == Status::not_done; ++i)
    pair.AwaitReadable();
  EXPECT_EQ(read.ec, asio::error::eof);
  EXPECT_EQ(read.bytes, 0u);
}

TEST(DrainingReadTest, AReadThatTookTheBytesBeforeThePeersFinLeavesTheEndToTheNextRead) {
  Pair pair;
  std::array<char, 64> buffer{};
  Read read;
  pair.SendWithFin("last");
  pair.AwaitQueued(4);
  EXPECT_EQ(PerformOnce(pair, asio::buffer(buffer), read), Status::done);  // short, but the end is left
  EXPECT_EQ(read.bytes, 4u);
  EXPECT_EQ(PerformOnce(pair, asio::buffer(buffer), read), Status::done_and_exhausted);
  EXPECT_EQ(read.ec, asio::error::eof);
}

TEST(DrainingReadTest, WithoutTheKernelsNoteOnlyTheEndOfTheStreamEmptiesTheSocket) {
  Pair pair(/*hints=*/false);
  std::array<char, 8> buffer{};
  Read read;
  pair.Send("abc");
  pair.AwaitQueued(3);
  EXPECT_EQ(PerformOnce(pair, asio::buffer(buffer), read), Status::done);  // Asio's own rule
  EXPECT_EQ(read.bytes, 3u);
  pair.SendWithFin("de");
  pair.AwaitQueued(2);
  EXPECT_EQ(PerformOnce(pair, asio::buffer(buffer), read), Status::done);
  EXPECT_EQ(PerformOnce(pair, asio::buffer(buffer), read), Status::done_and_exhausted);
  EXPECT_EQ(read.ec, asio::error::eof);
}

TEST(DrainingReadTest, AListeningSocketsHintIsInheritedByTheSocketsItAccepts) {
  ReadQueueHint hint;
  Pair with;
  with.reader.get_option(hint);
  EXPECT_TRUE(hint.value());
  Pair without(/*hints=*/false);
  without.reader.get_option(hint);
  EXPECT_FALSE(hint.value());
}

// The bytes and the FIN reach the socket together while a read waits: the reactor's one
// readiness event for both is used up by that read, so the next read must not wait for
// another. (It did, until the read timed out, when a short read counted as an empty
// socket: found by http_server_fuzz, a request sent a byte at a time and then the FIN.)
TEST(DrainingReadTest, TheEndOfTheStreamThatCameWithTheLastBytesIsReadWithoutAnotherEvent) {
  for (bool hints : {true, false}) {
    SCOPED_TRACE(hints ? "with the kernel's note" : "without it");
    Pair pair(hints);
    std::array<char, 64> buffer{};
    const Read last = ReadWhileTheLastBytesArrive(pair, "request", asio::buffer(buffer));
    EXPECT_EQ(std::string(buffer.data(), last.bytes), "request");
    std::optional<Read> out;
    StartRead(pair, asio::buffer(buffer), out);
    pair.io.poll();  // no event is coming: the end must be found by the read itself
    ASSERT_TRUE(out) << "the read after the last bytes waited for an event that had already come";
    EXPECT_EQ(out->ec, asio::error::eof);
  }
}

// NothingSinceEmptied, what the upstream pool asks of an idle connection instead of a
// peek: true only between a read the kernel noted as emptying the socket and the reactor's
// next readiness event of it, whatever that event brings (bytes or the end).
TEST(DrainingReadTest, NothingSinceEmptiedHoldsFromAnEmptyingReadUntilTheNextEvent) {
  for (const bool fin : {false, true}) {
    SCOPED_TRACE(fin ? "the peer then closes" : "the peer then sends");
    Pair pair;
    std::array<char, 64> buffer{};
    EXPECT_EQ(SendAndRead(pair, "answer", asio::buffer(buffer)).bytes, 6u);
    EXPECT_TRUE(NothingSinceEmptied(pair.reader));
    pair.io.poll();
    EXPECT_TRUE(NothingSinceEmptied(pair.reader)) << "no event came: nothing arrived";
    if (fin) {
      pair.writer.shutdown(tcp::socket::shutdown_send);
    } else {
      pair.Send("x");
    }
    pair.AwaitReadable();
    // The reactor looks only while the io_context has work (a worker's always has).
    auto work = asio::make_work_guard(pair.io);
    pair.io.restart();
    pair.io.poll();  // it takes the event; no read waits for it
    EXPECT_FALSE(NothingSinceEmptied(pair.reader));
  }
}

TEST(DrainingReadTest, NothingSinceEmptiedIsFalseWhenTheReadLeftSomethingOrCouldNotTell) {
  {
    Pair pair;  // bytes left behind the read
    std::array<char, 4> buffer{};
    EXPECT_EQ(SendAndRead(pair, "more than four", asio::buffer(buffer)).bytes, 4u);
    EXPECT_FALSE(NothingSinceEmptied(pair.reader));
  }
  {
    Pair pair;  // the end of the stream left behind the bytes
    std::array<char, 64> buffer{};
    EXPECT_EQ(ReadWhileTheLastBytesArrive(pair, "last", asio::buffer(buffer)).bytes, 4u);
    EXPECT_FALSE(NothingSinceEmptied(pair.reader));
  }
  {
    Pair pair(/*hints=*/false);  // no note from the kernel
    std::array<char, 64> buffer{};
    EXPECT_EQ(SendAndRead(pair, "answer", asio::buffer(buffer)).bytes, 6u);
    EXPECT_FALSE(NothingSinceEmptied(pair.reader));
  }
  asio::io_context io;
  tcp::socket closed(io);
  EXPECT_FALSE(NothingSinceEmptied(closed));
}

TEST(DrainingReadTest, BytesArrivingAtEachMomentAfterAShortReadAreRead) {
  Pair pair;
  std::array<char, 64> buffer{};
  std::optional<Read> out;

  // A read that waits; the bytes arrive while it does.
  StartWaitingRead(pair, asio::buffer(buffer), out);
  pair.Send("one");
  RunUntil(pair, out);
  ASSERT_TRUE(out);
  EXPECT_EQ(std::string(buffer.data(), out->bytes), "one");  // short: the socket is now empty

  // Bytes arrive between two reads and the reactor sees them before the next read starts.
  pair.Send("two");
  pair.AwaitQueued(3);
  pair.io.poll();  // the readiness event comes with no read waiting
  StartRead(pair, asio::buffer(buffer), out);
  RunUntil(pair, out);
  ASSERT_TRUE(out);
  EXPECT_EQ(std::string(buffer.data(), out->bytes), "two");

  // Bytes arrive between two reads and the next read starts before the reactor looks.
  pair.Send("three");
  pair.AwaitQueued(5);
  StartRead(pair, asio::buffer(buffer), out);
  RunUntil(pair, out);
  ASSERT_TRUE(out);
  EXPECT_EQ(std::string(buffer.data(), out->bytes), "three");

  // An empty socket again: the read waits until the peer sends, then gets it.
  StartWaitingRead(pair, asio::buffer(buffer), out);
  pair.Send("four");
  RunUntil(pair, out);
  ASSERT_TRUE(out);
  EXPECT_EQ(std::string(buffer.data(), out->bytes), "four");
}

TEST(DrainingReadTest, MoreThanTheBufferIsReadToTheEndWithNothingArrivingAfter) {
  Pair pair;
  const std::string sent(1000, 'x');
  pair.Send(sent);
  pair.AwaitQueued(sent.size());
  std::array<char, 300> buffer{};
  std::string got;
  std::optional<Read> out;
  while (got.size() < sent.size()) {
    StartRead(pair, asio::buffer(buffer), out);
    RunUntil(pair, out);
    ASSERT_TRUE(out) << "a read waited for bytes already in the socket, after " << got.size();
    ASSERT_FALSE(out->ec);
    got.append(buffer.data(), out->bytes);
  }
  EXPECT_EQ(got, sent);
}

TEST(DrainingReadTest, AWaitingReadEndsOnCancelAndOnThePeersClose) {
  Pair pair;
  std::array<char, 16> buffer{};
  std::optional<Read> out;
  StartWaitingRead(pair, asio::buffer(buffer), out);
  pair.reader.cancel();  // what the gateway's watchdog does at a deadline
  RunUntil(pair, out);
  ASSERT_TRUE(out);
  EXPECT_EQ(out->ec, asio::error::operation_aborted);

  pair.Send("x");
  StartRead(pair, asio::buffer(buffer), out);
  RunUntil(pair, out);
  ASSERT_TRUE(out);
  EXPECT_EQ(out->bytes, 1u);
  StartWaitingRead(pair, asio::buffer(buffer), out);  // the socket is empty; the peer then closes
  pair.writer.close();
  RunUntil(pair, out);
  ASSERT_TRUE(out);
  EXPECT_EQ(out->ec, asio::error::eof);
}

TEST(DrainingReadTest, AnEmptyBufferCompletesAtOnceWithNothing) {
  Pair pair;
  std::optional<Read> out;
  StartRead(pair, asio::mutable_buffer(), out);
  RunUntil(pair, out);
  ASSERT_TRUE(out);
  EXPECT_FALSE(out->ec);
  EXPECT_EQ(out->bytes, 0u);
}

}  // namespace
}  // namespace latchkey::gateway
