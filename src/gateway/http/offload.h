// Offload: runs blocking work (store reads and writes, token refreshes over libcurl) on a
// thread pool and resumes the calling coroutine on its own executor afterwards, so the
// gateway's I/O threads never block. Exceptions propagate to the awaiting coroutine.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <utility>

namespace latchkey::gateway {

template <typename Work>
boost::asio::awaitable<void> Offload(boost::asio::thread_pool& pool, Work work) {
  co_await boost::asio::co_spawn(
      pool,
      [work = std::move(work)]() mutable -> boost::asio::awaitable<void> {
        work();
        co_return;
      },
      boost::asio::use_awaitable);
}

}  // namespace latchkey::gateway
