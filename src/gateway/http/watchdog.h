// Watchdog: deadlines for the socket operations of one worker without a timer per
// operation. Each connection is a Watched entry with a deadline; one ticker per worker
// walks the entries every `tick` and expires those past due (which cancels their
// socket's pending operations). Arming is a clock read and a store, so a proxied call
// no longer arms and cancels a handful of asio timers, each a heap operation and a
// handler run. Deadlines fire up to one tick late; every timeout here is seconds long.
// Deadlines are on the watchdog's MonotonicClock (a simulated one in tests), the tick on
// the real one.
//
// Single-threaded: the Watchdog and its entries live on one worker's io_context.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/error.hpp>
#include <boost/beast/core/error.hpp>
#include <boost/intrusive/list.hpp>
#include <chrono>
#include <memory>

#include "common/clock.h"

namespace latchkey::gateway {

class Watchdog;

class Watched
    : public boost::intrusive::list_base_hook<boost::intrusive::link_mode<boost::intrusive::auto_unlink>> {
 public:
  using Clock = std::chrono::steady_clock;

  virtual ~Watched() = default;

  // Now, on the clock of the watchdog that watches this entry.
  Clock::time_point Now() const { return clock_->Now(); }
  // The pending operation must finish within `timeout` (or by `deadline`).
  void Arm(Clock::duration timeout) { ArmUntil(Now() + timeout); }
  void ArmUntil(Clock::time_point deadline) {
    deadline_ = deadline;
    expired_ = false;
  }
  void Disarm() { deadline_ = Clock::time_point::max(); }

  // After the armed operation completed with `ec`: disarms, and reports an operation the
  // watchdog cut off as beast::error::timeout.
  boost::beast::error_code Settle(boost::beast::error_code ec) {
    Disarm();
    if (ec == boost::asio::error::operation_aborted && expired_) return boost::beast::error::timeout;
    return ec;
  }

  // Whether the watchdog cut the last armed operation off.
  bool expired() const { return expired_; }

 protected:
  // Cancels what is pending (e.g. the socket's operations); runs on the worker.
  virtual void OnExpired() = 0;

 private:
  friend class Watchdog;
  const MonotonicClock* clock_ = &SteadyClock::Instance();  // the watchdog's, once added
  Clock::time_point deadline_ = Clock::time_point::max();
  bool expired_ = false;
};

class Watchdog {
 public:
  // Starts ticking on `executor` (it stops when its io_context stops); each tick sweeps
  // at `clock`'s now.
  Watchdog(const boost::asio::any_io_executor& executor, std::chrono::milliseconds tick,
           const MonotonicClock& clock = SteadyClock::Instance());
  ~Watchdog();  // unlinks every entry still watched
  Watchdog(const Watchdog&) = delete;
  Watchdog& operator=(const Watchdog&) = delete;

  // Watches `entry` until it is destroyed.
  void Add(Watched& entry) {
    entry.clock_ = &clock_;
    entries_.push_back(entry);
  }

  // Expires the entries past due (what each tick does; public for tests).
  void Sweep(Watched::Clock::time_point now);

 private:
  struct Ticker;  // watchdog.cc
  const MonotonicClock& clock_;
  boost::intrusive::list<Watched, boost::intrusive::constant_time_size<false>> entries_;
  std::shared_ptr<Ticker> ticker_;
};

}  // namespace latchkey::gateway
