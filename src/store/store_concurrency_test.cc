// Contract tests: many threads on one Store; many processes on one database.
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <thread>

#include "store/store_contract_test.h"

namespace latchkey::store::testing {
namespace {

// A mixed workload for worker `w`: inserts, CAS updates with reload on kAborted,
// reads, audit appends and alerts. Returns the number of unexpected errors.
int RunWorkload(Store& store, const std::string& worker, int ops) {
  int errors = 0;
  auto check = [&](const Status& s) {
    if (!s.ok()) {
      ++errors;
      ADD_FAILURE() << worker << ": " << s.ToString();
    }
  };
  for (int i = 0; i < ops; ++i) {
    std::string name = worker + "-" + std::to_string(i / 4);
    switch (i % 4) {
      case 0: check(store.InsertConnection(Connection(name, "id-" + name, 1))); break;
      case 1: {
        // Every worker also bumps one shared row: lost races are kAborted, then retried.
        for (;;) {
          auto shared = store.GetConnection("shared");
          if (!shared.ok()) {
            check(shared.status());
            break;
          }
          shared->access_token = B("by-" + worker);
          Status s = store.UpdateConnection(*shared, shared->token_version);
          if (s.code() == StatusCode::kAborted) continue;
          check(s);
          break;
        }
        break;
      }
      case 2: {
        auto got = store.GetConnection(name);
        check(got.status());
        check(store.QueryAudit({}).status());
        break;
      }
      default:
        check(store.AppendAudit({0, At(i), worker, "", name, "GET", "/", 200, "", 1, false}));
        check(store.EnqueueAlert(Alert(name, At(i))));
        break;
    }
  }
  return errors;
}

TEST_P(StoreContractTest, ManyThreadsOnOneStore) {
  ASSERT_TRUE(store().InitializeDataKey(DataKey(1)).ok());
  ASSERT_TRUE(store().InsertConnection(Connection("shared", "shared", 1)).ok());
  constexpr int kThreads = 8, kOps = 200;
  std::atomic<int> errors{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] { errors += RunWorkload(store(), "t" + std::to_string(t), kOps); });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(errors.load(), 0);
  EXPECT_EQ(store().ListConnections()->size(), 1u + kThreads * kOps / 4);
  EXPECT_EQ(store().GetConnection("shared")->token_version, kThreads * kOps / 4);
  AuditFilter all;
  all.limit = 100000;
  EXPECT_EQ(store().QueryAudit(all)->size(), static_cast<size_t>(kThreads * kOps / 4));
}

TEST_P(StoreContractTest, ManyProcessesOnOneDatabase) {
  ASSERT_TRUE(store().InitializeDataKey(DataKey(1)).ok());
  ASSERT_TRUE(store().InsertConnection(Connection("shared", "shared", 1)).ok());
  CloseStore();  // no open handle may cross fork()
  constexpr int kProcesses = 2, kOps = 300;
  std::vector<pid_t> children;
  for (int p = 0; p < kProcesses; ++p) {
    pid_t pid = fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      auto own = env().Open();
      int errors = own.ok() ? RunWorkload(**own, "p" + std::to_string(p), kOps) : 100;
      own = Status(StatusCode::kInternal, "closed");
      _exit(std::min(errors, 100));
    }
    children.push_back(pid);
  }
  for (pid_t pid : children) {
    int wstatus = 0;
    ASSERT_EQ(waitpid(pid, &wstatus, 0), pid);
    ASSERT_TRUE(WIFEXITED(wstatus));
    EXPECT_EQ(WEXITSTATUS(wstatus), 0) << "errors in child " << pid;
  }
  ReopenStore();
  EXPECT_EQ(store().ListConnections()->size(), 1u + kProcesses * kOps / 4);
  EXPECT_EQ(store().GetConnection("shared")->token_version, kProcesses * kOps / 4);
  EXPECT_EQ(store().ListAlerts(100000)->size(), static_cast<size_t>(kProcesses * kOps / 4));
}

}  // namespace
}  // namespace latchkey::store::testing
