// What one problem answer costs to write (ProblemDetails::ToResponse), beside the way it
// was written until 2026-11-30 (copy the members into a json object, add the fixed ones,
// dump it): every refused or failed proxied call pays for one.
#include <benchmark/benchmark.h>

#include <string>

#include "common/json_text.h"
#include "gateway/http/problem.h"

namespace latchkey::gateway {
namespace {

namespace http = boost::beast::http;
using nlohmann::json;

// The earlier ToResponse, kept here as the reference.
Response ThroughJsonObject(const ProblemDetails& problem) {
  json body = problem.members;
  body["type"] = "urn:latchkey:problem:" + problem.code;
  body["title"] = std::string(http::obsolete_reason(problem.status));
  body["status"] = static_cast<int>(problem.status);
  body["code"] = problem.code;
  body["detail"] = problem.detail;
  Response res(problem.status, 11);
  res.set(http::field::server, "latchkey");
  res.set(http::field::content_type, "application/problem+json");
  res.set(http::field::cache_control, "no-store");
  res.set("Latchkey-Error", problem.code);
  res.body() = DumpJson(body);
  res.prepare_payload();
  return res;
}

const ProblemDetails& Denied() {
  static const ProblemDetails problem = PolicyDenied("work-gmail", "DELETE", "/gmail/v1/users/me/messages/1");
  return problem;
}

void BM_ToResponse(benchmark::State& state) {
  for (auto _ : state) benchmark::DoNotOptimize(Denied().ToResponse(11));
}
BENCHMARK(BM_ToResponse);

void BM_ThroughJsonObject(benchmark::State& state) {
  for (auto _ : state) benchmark::DoNotOptimize(ThroughJsonObject(Denied()));
}
BENCHMARK(BM_ThroughJsonObject);

}  // namespace
}  // namespace latchkey::gateway

BENCHMARK_MAIN();
