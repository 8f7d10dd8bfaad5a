#include "gateway/http/watchdog.h"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

namespace latchkey::gateway {

namespace asio = boost::asio;

struct Watchdog::Ticker {
  explicit Ticker(const asio::any_io_executor& executor) : timer(executor) {}
  asio::steady_timer timer;
  Watchdog* owner = nullptr;  // null once the watchdog is gone

  static asio::awaitable<void> Run(std::shared_ptr<Ticker> self, std::chrono::milliseconds tick) {
    while (self->owner) {
      self->timer.expires_after(tick);
      co_await self->timer.async_wait(asio::as_tuple(asio::use_awaitable));  // cancelled: owner is gone
      if (!self->owner) co_return;
      self->owner->Sweep(self->owner->clock_.Now());
    }
  }
};

Watchdog::Watchdog(const asio::any_io_executor& executor, std::chrono::milliseconds tick,
                   const MonotonicClock& clock)
    : clock_(clock), ticker_(std::make_shared<Ticker>(executor)) {
  ticker_->owner = this;
  asio::co_spawn(executor, Ticker::Run(ticker_, tick), asio::detached);
}

Watchdog::~Watchdog() {
  ticker_->owner = nullptr;
  ticker_->timer.cancel();
  entries_.clear();  // auto-unlink entries outliving the watchdog then unlink from nothing
}

void Watchdog::Sweep(Watched::Clock::time_point now) {
  for (Watched& entry : entries_) {
    if (entry.deadline_ > now) continue;
    entry.deadline_ = Watched::Clock::time_point::max();
    entry.expired_ = true;
    entry.OnExpired();
  }
}

}  // namespace latchkey::gateway
