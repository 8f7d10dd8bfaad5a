// The heavy third-party headers of the gateway, MCP and CLI modules, parsed once per build
// instead of once per translation unit (LATCHKEY_PCH, cmake/Modules.cmake's PRECOMPILED).
// Only headers whose meaning no latchkey macro changes belong here (so not spdlog or fmt,
// whose configuration macros differ between targets): Boost.Asio, Boost.Beast, nlohmann/json.
// A source still includes what it uses; this only makes that cheaper.
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <nlohmann/json.hpp>
