#include "gateway/http/health.h"

#include "gateway/http/offload.h"
#include "gateway/http/problem.h"

namespace latchkey::gateway {

namespace http = boost::beast::http;

bool IsHealthPath(std::string_view path) { return path == "/healthz" || path == "/readyz"; }

boost::asio::awaitable<Response> AnswerHealth(const Request& request, std::string_view path,
                                              boost::asio::thread_pool& blocking,
                                              const std::function<Status()>& ready) {
  if (request.method() != http::verb::get)
    co_return MethodNotAllowed(path, "GET").ToResponse(request.version());
  if (path == "/healthz") co_return JsonResponse(http::status::ok, {{"status", "ok"}});
  Status status;
  co_await Offload(blocking, [&] { status = ready(); });
  if (status.ok()) co_return JsonResponse(http::status::ok, {{"status", "ready"}});
  co_return JsonResponse(http::status::service_unavailable,
                         {{"status", "not_ready"}, {"detail", std::string(status.message())}});
}

}  // namespace latchkey::gateway
