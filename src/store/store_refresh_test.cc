// Store support for the refresh coordinator: refresh state, state change + alert in one
// transaction, and the per-connection lock across threads and processes.
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <thread>

#include "store/store_contract_test.h"

namespace latchkey::store::testing {
namespace {

using std::chrono::milliseconds;

TEST_P(StoreContractTest, RefreshStateRoundTrips) {
  ASSERT_TRUE(store().InitializeDataKey(DataKey(1)).ok());
  ConnectionRecord c = Connection("work", "c1", 1);
  c.token_obtained_at = At(4000);
  c.refresh_failures = 3;
  c.next_refresh_attempt_at = At(9000);
  c.refresh_started_at = At(8000);
  ASSERT_TRUE(store().InsertConnection(c).ok());
  auto read = store().GetConnection("work");
  ASSERT_TRUE(read.ok());
  EXPECT_EQ(read->token_obtained_at, At(4000));
  EXPECT_EQ(read->refresh_failures, 3);
  EXPECT_EQ(read->next_refresh_attempt_at, At(9000));
  EXPECT_EQ(read->refresh_started_at, At(8000));

  c.refresh_failures = 0;
  c.refresh_started_at.reset();
  ASSERT_TRUE(store().UpdateConnection(c, 0).ok());
  read = store().GetConnection("work");
  EXPECT_EQ(read->refresh_failures, 0);
  EXPECT_EQ(read->refresh_started_at, std::nullopt);
}

TEST_P(StoreContractTest, AlertCommitsWithTheStateChangeOrNotAtAll) {
  ASSERT_TRUE(store().InitializeDataKey(DataKey(1)).ok());
  ConnectionRecord c = Connection("work", "c1", 1);
  ASSERT_TRUE(store().InsertConnection(c).ok());
  c.status = ConnectionStatus::kNeedsReauth;

  // A lost compare-and-swap writes neither the state nor the alert.
  Status lost = store().UpdateConnection(c, 7, Alert("e-lost", At(1)));
  EXPECT_EQ(lost.code(), StatusCode::kAborted);
  EXPECT_TRUE(store().ListAlerts(10)->empty());

  ASSERT_TRUE(store().UpdateConnection(c, 0, Alert("e-1", At(1))).ok());
  EXPECT_EQ(store().GetConnection("work")->status, ConnectionStatus::kNeedsReauth);
  ASSERT_EQ(store().ListAlerts(10)->size(), 1u);

  // A duplicate event id rolls the state change back too.
  c.status = ConnectionStatus::kActive;
  EXPECT_EQ(store().UpdateConnection(c, 1, Alert("e-1", At(2))).code(), StatusCode::kAlreadyExists);
  EXPECT_EQ(store().GetConnection("work")->status, ConnectionStatus::kNeedsReauth);
  EXPECT_EQ(store().GetConnection("work")->token_version, 1);
}

TEST_P(StoreContractTest, ConnectionLockExcludesOtherHoldersUntilReleased) {
  auto first = store().LockConnection("c1", milliseconds(1000));
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  auto second = store().LockConnection("c1", milliseconds(50));
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.status().code(), StatusCode::kDeadlineExceeded);
  EXPECT_TRUE(store().LockConnection("c2", milliseconds(50)).ok()) << "locks are per connection";
  first->reset();
  EXPECT_TRUE(store().LockConnection("c1", milliseconds(50)).ok());
}

TEST_P(StoreContractTest, ConnectionLockSerializesThreads) {
  std::atomic<int> inside{0}, max_inside{0}, done{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 20; ++i) {
        auto lock = store().LockConnection("shared", milliseconds(10000));
        if (!lock.ok()) continue;
        int now = ++inside;
        int seen = max_inside.load();
        while (now > seen && !max_inside.compare_exchange_weak(seen, now)) {
        }
        std::this_thread::yield();
        --inside;
        ++done;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(done.load(), 160);
  EXPECT_EQ(max_inside.load(), 1);
}

TEST_P(StoreContractTest, ConnectionLockIsReleasedWhenTheHolderDies) {
  CloseStore();
  int ready[2];
  ASSERT_EQ(pipe(ready), 0);
  pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    auto own = env().Open();
    if (!own.ok()) _exit(2);
    auto lock = (*own)->LockConnection("c1", milliseconds(1000));
    if (!lock.ok()) _exit(3);
    char byte = 'x';
    (void)write(ready[1], &byte, 1);
    pause();  // killed while holding the lock
    _exit(0);
  }
  char byte = 0;
  ASSERT_EQ(read(ready[0], &byte, 1), 1);
  ReopenStore();
  EXPECT_EQ(store().LockConnection("c1", milliseconds(50)).status().code(), StatusCode::kDeadlineExceeded)
      << "the other process holds it";
  kill(child, SIGKILL);
  int wstatus = 0;
  waitpid(child, &wstatus, 0);
  EXPECT_TRUE(store().LockConnection("c1", milliseconds(2000)).ok()) << "a dead holder's lock is released";
  close(ready[0]);
  close(ready[1]);
}

TEST_P(StoreContractTest, ConnectionLockRefusesUnsafeIds) {
  EXPECT_EQ(store().LockConnection("../etc/passwd", milliseconds(10)).status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(store().LockConnection("", milliseconds(10)).status().code(), StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace latchkey::store::testing
