// The daemon's health routes, for load balancers and orchestrators:
//   GET /healthz  200 {"status":"ok"}: the process answers requests.
//   GET /readyz   200 {"status":"ready"}, or 503 {"status":"not_ready","detail":"..."}
//                 when `ready` fails (the daemon asks its store). `ready` runs on the
//                 blocking pool, never on the worker.
// Any other method gets 405 with Allow: GET; the query is ignored. No credential is
// needed and nothing is said beyond the status and the probe's message.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/asio/thread_pool.hpp>
#include <functional>
#include <string_view>

#include "common/status.h"
#include "gateway/http/message.h"

namespace latchkey::gateway {

// "/healthz" or "/readyz" (the path without its query).
bool IsHealthPath(std::string_view path);

boost::asio::awaitable<Response> AnswerHealth(const Request& request, std::string_view path,
                                              boost::asio::thread_pool& blocking,
                                              const std::function<Status()>& ready);

}  // namespace latchkey::gateway
