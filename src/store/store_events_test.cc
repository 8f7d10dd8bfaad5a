// Contract tests: audit, alert outbox, pending authorizations, ping.
#include <mutex>
#include <set>
#include <thread>

#include "store/store_contract_test.h"

namespace latchkey::store::testing {
namespace {

AuditRecord Audit(std::string agent, std::string connection, std::string code, std::string client = "") {
  return {0,
          At(100),
          std::move(agent),
          std::move(client),
          std::move(connection),
          "GET",
          "/v1/x?q=REDACTED",
          200,
          std::move(code),
          12,
          true};
}

TEST_P(StoreContractTest, AuditBatchIsAppendedWhole) {
  std::vector<AuditRecord> batch;
  batch.reserve(50);
  for (int i = 0; i < 50; ++i) batch.push_back(Audit("a" + std::to_string(i), "gmail", ""));
  ASSERT_TRUE(store().AppendAudit(batch).ok());
  AuditFilter all;
  all.limit = 1000;
  auto rows = store().QueryAudit(all);
  ASSERT_TRUE(rows.ok());
  ASSERT_EQ(rows->size(), 50u);
  EXPECT_EQ(rows->front().agent, "a49");
  EXPECT_TRUE(store().AppendAudit(std::vector<AuditRecord>{}).ok());
}

// A batch of several insert groups and a partial one (the SQLite store writes up to 128
// rows per statement, PostgreSQL up to 500): every row arrives, in order, each field in
// its column.
TEST_P(StoreContractTest, AuditRowsOfALargeBatchKeepTheirOrderAndFields) {
  std::vector<AuditRecord> batch;
  for (int i = 0; i < 1100; ++i) {
    AuditRecord row{0,
                    At(1000 + i),
                    "agent-" + std::to_string(i),
                    i % 4 == 0 ? "https://client.example/" + std::to_string(i) + ".json" : "",
                    "conn-" + std::to_string(i % 3),
                    i % 2 == 0 ? "GET" : "POST",
                    "/items/" + std::to_string(i),
                    200 + i,
                    i % 5 == 0 ? "policy_denied" : "",
                    i,
                    i % 2 == 1};
    batch.push_back(row);
  }
  ASSERT_TRUE(store().AppendAudit(batch).ok());
  AuditFilter all;
  all.limit = 2000;
  auto rows = store().QueryAudit(all);
  ASSERT_TRUE(rows.ok());
  ASSERT_EQ(rows->size(), batch.size());
  for (size_t i = 0; i < batch.size(); ++i) {
    const AuditRecord& got = (*rows)[batch.size() - 1 - i];  // newest first
    AuditRecord want = batch[i];
    want.id = got.id;
    EXPECT_EQ(got, want) << "row " << i;
    if (i > 0) {
      EXPECT_GT(got.id, (*rows)[batch.size() - i].id);
    }
  }
}

TEST_P(StoreContractTest, AdminTokensAreStoredFoundAndRevoked) {
  AdminTokenRecord token{
      .id = "0123456789abcdef", .key_hash = {1, 2, 3}, .created_at = At(5), .revoked_at = std::nullopt};
  ASSERT_TRUE(store().InsertAdminToken(token).ok());
  EXPECT_EQ(store().InsertAdminToken(token).code(), StatusCode::kAlreadyExists);
  auto found = store().GetAdminToken(token.id);
  ASSERT_TRUE(found.ok()) << found.status().ToString();
  EXPECT_EQ(*found, token);
  EXPECT_EQ(store().GetAdminToken("ffffffffffffffff").status().code(), StatusCode::kNotFound);
  ASSERT_TRUE(store().RevokeAdminToken(token.id, At(9)).ok());
  EXPECT_EQ(store().GetAdminToken(token.id)->revoked_at, At(9));
  EXPECT_EQ(store().RevokeAdminToken("ffffffffffffffff", At(9)).code(), StatusCode::kNotFound);
  EXPECT_EQ(store().ListAdminTokens()->size(), 1u);
}

TEST_P(StoreContractTest, AuditIsNewestFirstAndFiltered) {
  ASSERT_TRUE(store().AppendAudit(Audit("a1", "gmail", "")).ok());
  ASSERT_TRUE(store().AppendAudit(Audit("a2", "gmail", "policy_denied")).ok());
  ASSERT_TRUE(store().AppendAudit(Audit("a1", "jira", "")).ok());
  auto all = store().QueryAudit({});
  ASSERT_TRUE(all.ok()) << all.status().ToString();
  ASSERT_EQ(all->size(), 3u);
  EXPECT_GT((*all)[0].id, (*all)[1].id);
  EXPECT_EQ((*all)[0].connection, "jira");
  AuditRecord expected = Audit("a1", "jira", "");
  expected.id = (*all)[0].id;
  EXPECT_EQ((*all)[0], expected);

  AuditFilter by_agent;
  by_agent.agent = "a1";
  EXPECT_EQ(store().QueryAudit(by_agent)->size(), 2u);
  AuditFilter by_conn;
  by_conn.connection = "gmail";
  by_conn.code = "policy_denied";
  ASSERT_EQ(store().QueryAudit(by_conn)->size(), 1u);
  AuditFilter after;
  after.after_id = (*all)[1].id;
  ASSERT_EQ(store().QueryAudit(after)->size(), 1u);
  AuditFilter limited;
  limited.limit = 2;
  EXPECT_EQ(store().QueryAudit(limited)->size(), 2u);
  limited.limit = 0;
  EXPECT_EQ(store().QueryAudit(limited).status().code(), StatusCode::kInvalidArgument);
}

// A call an MCP client made as its agent names the client; agent keys' calls name none,
// and either can be picked out by it.
TEST_P(StoreContractTest, AuditRowsNameTheMcpClientACallCameThrough) {
  const std::string client = "https://client.example/m.json";
  ASSERT_TRUE(store().AppendAudit(Audit("bot", "gmail", "", client)).ok());
  ASSERT_TRUE(store().AppendAudit(Audit("bot", "gmail", "")).ok());
  ASSERT_TRUE(store().AppendAudit(Audit("bot", "jira", "policy_denied", "lkc_registered")).ok());
  auto all = store().QueryAudit({});
  ASSERT_TRUE(all.ok()) << all.status().ToString();
  ASSERT_EQ(all->size(), 3u);
  EXPECT_EQ((*all)[0].client, "lkc_registered");
  EXPECT_EQ((*all)[1].client, "");
  AuditRecord expected = Audit("bot", "gmail", "", client);
  expected.id = (*all)[2].id;
  EXPECT_EQ((*all)[2], expected);

  AuditFilter by_client;
  by_client.client = client;
  auto through = store().QueryAudit(by_client);
  ASSERT_TRUE(through.ok()) << through.status().ToString();
  ASSERT_EQ(through->size(), 1u);
  EXPECT_EQ(through->front().id, (*all)[2].id);
  AuditFilter without_client;
  without_client.client = "";
  auto direct = store().QueryAudit(without_client);
  ASSERT_TRUE(direct.ok());
  ASSERT_EQ(direct->size(), 1u);
  EXPECT_EQ(direct->front().id, (*all)[1].id);
}

TEST_P(StoreContractTest, EnqueueAlertIsIdempotent) {
  ASSERT_TRUE(store().EnqueueAlert(Alert("ev1", At(10))).ok());
  AlertEvent again = Alert("ev1", At(20));
  again.payload = "{}";
  Status s = store().EnqueueAlert(again);
  EXPECT_EQ(s.code(), StatusCode::kAlreadyExists);
  auto all = store().ListAlerts(10);
  ASSERT_EQ(all->size(), 1u);
  EXPECT_EQ((*all)[0], Alert("ev1", At(10)));
}

TEST_P(StoreContractTest, OutboxDueDeliveredFailed) {
  ASSERT_TRUE(store().EnqueueAlert(Alert("ev1", At(10))).ok());
  ASSERT_TRUE(store().EnqueueAlert(Alert("ev2", At(20))).ok());
  ASSERT_TRUE(store().EnqueueAlert(Alert("ev3", At(30))).ok());
  EXPECT_EQ(*store().CountUndeliveredAlerts(), 3);
  auto due = store().DueAlerts(At(100), 10);
  ASSERT_EQ(due->size(), 3u);
  EXPECT_EQ((*due)[0].event_id, "ev1");  // oldest first
  EXPECT_EQ(store().DueAlerts(At(100), 2)->size(), 2u);

  ASSERT_TRUE(store().MarkAlertDelivered("ev1", At(101)).ok());
  ASSERT_TRUE(store().MarkAlertFailed("ev2", "HTTP 502 from the webhook", At(500)).ok());
  EXPECT_EQ(*store().CountUndeliveredAlerts(), 2);  // a failed one is still undelivered
  due = store().DueAlerts(At(200), 10);
  ASSERT_EQ(due->size(), 1u);
  EXPECT_EQ((*due)[0].event_id, "ev3");
  due = store().DueAlerts(At(500), 10);
  ASSERT_EQ(due->size(), 2u);
  EXPECT_EQ((*due)[0].event_id, "ev2");
  EXPECT_EQ((*due)[0].attempts, 1);
  EXPECT_EQ((*due)[0].last_error, "HTTP 502 from the webhook");
  EXPECT_EQ((*due)[0].next_attempt_at, At(500));

  auto listed = store().ListAlerts(10);
  ASSERT_EQ(listed->size(), 3u);
  EXPECT_EQ((*listed)[0].event_id, "ev3");  // newest first
  EXPECT_EQ((*listed)[2].delivered_at, At(101));
  EXPECT_EQ((*listed)[2].attempts, 1);

  // A late failure report does not undo a delivery; a repeat delivery keeps the first time.
  ASSERT_TRUE(store().MarkAlertFailed("ev1", "late", At(900)).ok());
  ASSERT_TRUE(store().MarkAlertDelivered("ev1", At(999)).ok());
  EXPECT_EQ((*store().ListAlerts(10))[2].delivered_at, At(101));

  EXPECT_EQ(store().MarkAlertDelivered("nope", At(1)).code(), StatusCode::kNotFound);
  EXPECT_EQ(store().MarkAlertFailed("nope", "x", At(1)).code(), StatusCode::kNotFound);
  EXPECT_EQ(store().DueAlerts(At(1), 0).status().code(), StatusCode::kInvalidArgument);
}

TEST_P(StoreContractTest, ClaimedAlertsAreHiddenFromOtherClaimantsUntilTheLeaseEnds) {
  for (int i = 1; i <= 3; ++i)
    ASSERT_TRUE(store().EnqueueAlert(Alert("ev" + std::to_string(i), At(i * 10))).ok());
  auto other = env().Open();
  ASSERT_TRUE(other.ok());
  auto first = store().ClaimDueAlerts(At(100), 2, At(400));
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  ASSERT_EQ(first->size(), 2u);
  EXPECT_EQ((*first)[0].event_id, "ev1");
  EXPECT_EQ((*first)[0].next_attempt_at, At(400));
  auto second = (*other)->ClaimDueAlerts(At(100), 10, At(400));
  ASSERT_EQ(second->size(), 1u);
  EXPECT_EQ((*second)[0].event_id, "ev3");
  EXPECT_TRUE(store().ClaimDueAlerts(At(399), 10, At(700))->empty());
  EXPECT_TRUE(store().DueAlerts(At(399), 10)->empty());

  // A delivered event is done; a failed one is due at its own next attempt; a claimant
  // that went quiet loses its claim when the lease ends.
  ASSERT_TRUE(store().MarkAlertDelivered("ev1", At(150)).ok());
  ASSERT_TRUE(store().MarkAlertFailed("ev2", "HTTP 502", At(900)).ok());
  auto after_lease = (*other)->ClaimDueAlerts(At(400), 10, At(1000));
  ASSERT_EQ(after_lease->size(), 1u);
  EXPECT_EQ((*after_lease)[0].event_id, "ev3");
  auto retry = store().ClaimDueAlerts(At(900), 10, At(1200));
  ASSERT_EQ(retry->size(), 1u);
  EXPECT_EQ((*retry)[0].event_id, "ev2");
  EXPECT_EQ((*retry)[0].attempts, 1);
  EXPECT_EQ(store().ClaimDueAlerts(At(1), 0, At(2)).status().code(), StatusCode::kInvalidArgument);
}

TEST_P(StoreContractTest, ConcurrentClaimantsNeverShareAnAlert) {
  constexpr int kEvents = 60, kClaimants = 4;
  for (int i = 0; i < kEvents; ++i)
    ASSERT_TRUE(store().EnqueueAlert(Alert("e" + std::to_string(i), At(i))).ok());
  std::vector<std::shared_ptr<Store>> stores;
  for (int c = 0; c < kClaimants; ++c) {
    auto opened = env().Open();
    ASSERT_TRUE(opened.ok());
    stores.push_back(*opened);
  }
  std::mutex mu;
  std::vector<std::string> claimed;
  std::vector<std::thread> claimants;
  for (int c = 0; c < kClaimants; ++c) {
    claimants.emplace_back([&, c] {
      for (int round = 0; round < 10; ++round) {
        auto got = stores[static_cast<size_t>(c)]->ClaimDueAlerts(At(1000), 3, At(100000));
        ASSERT_TRUE(got.ok()) << got.status().ToString();
        std::lock_guard lock(mu);
        for (const AlertEvent& event : *got) claimed.push_back(event.event_id);
      }
    });
  }
  for (auto& t : claimants) t.join();
  std::set<std::string> distinct(claimed.begin(), claimed.end());
  EXPECT_EQ(distinct.size(), claimed.size()) << "an event was claimed twice";
  EXPECT_EQ(claimed.size(), static_cast<size_t>(kEvents));
}

TEST_P(StoreContractTest, PendingAuthorizationIsSingleUse) {
  ASSERT_TRUE(store().InitializeDataKey(DataKey(1)).ok());
  PendingAuthorization p = Pending("state-hash", 1, At(9000));
  ASSERT_TRUE(store().InsertPendingAuthorization(p).ok());
  EXPECT_EQ(store().InsertPendingAuthorization(p).code(), StatusCode::kAlreadyExists);

  auto consumed = store().ConsumePendingAuthorization("state-hash", At(5000));
  ASSERT_TRUE(consumed.ok()) << consumed.status().ToString();
  PendingAuthorization expected = p;
  expected.consumed_at = At(5000);
  EXPECT_EQ(*consumed, expected);

  auto twice = store().ConsumePendingAuthorization("state-hash", At(5001));
  EXPECT_EQ(twice.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(store().ConsumePendingAuthorization("unknown", At(5001)).status().code(), StatusCode::kNotFound);
}

TEST_P(StoreContractTest, ExpiredPendingAuthorizationIsRefused) {
  ASSERT_TRUE(store().InitializeDataKey(DataKey(1)).ok());
  ASSERT_TRUE(store().InsertPendingAuthorization(Pending("s", 1, At(9000))).ok());
  auto expired = store().ConsumePendingAuthorization("s", At(9000));
  EXPECT_EQ(expired.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_THAT(expired.status().message(), ::testing::HasSubstr("expired"));
}

// An agent can ask for one pending authorization per scope set (each with a sealed PKCE
// verifier): the expired ones, used or not, are deleted; the live ones stay usable.
TEST_P(StoreContractTest, ExpiredPendingAuthorizationsAreDeleted) {
  ASSERT_TRUE(store().InitializeDataKey(DataKey(1)).ok());
  for (int i = 0; i < 5; ++i) {
    ASSERT_TRUE(store().InsertPendingAuthorization(Pending("old-" + std::to_string(i), 1, At(2000))).ok());
  }
  ASSERT_TRUE(store().ConsumePendingAuthorization("old-0", At(1500)).ok());
  ASSERT_TRUE(store().InsertPendingAuthorization(Pending("live", 1, At(9000))).ok());
  auto deleted = store().DeleteExpiredPendingAuthorizations(At(3000));
  ASSERT_TRUE(deleted.ok()) << deleted.status().ToString();
  EXPECT_EQ(*deleted, 5);
  EXPECT_EQ(store().ConsumePendingAuthorization("old-1", At(3000)).status().code(), StatusCode::kNotFound);
  EXPECT_TRUE(store().ConsumePendingAuthorization("live", At(3000)).ok());
  EXPECT_EQ(*store().DeleteExpiredPendingAuthorizations(At(3000)), 0);
}

// Retention deletes rows by age but always keeps the newest row, so the next id stays above
// every id handed out (SQLite reuses max(id) + 1) and `after_id` cursors stay valid.
TEST_P(StoreContractTest, AuditRetentionDeletesOldRowsButKeepsTheNewest) {
  std::vector<AuditRecord> batch;
  for (int i = 0; i < 10; ++i) {
    AuditRecord row = Audit("a" + std::to_string(i), "gmail", "");
    row.at = At(1000 + 100 * i);
    batch.push_back(row);
  }
  ASSERT_TRUE(store().AppendAudit(batch).ok());
  auto deleted = store().DeleteAuditBefore(At(1500), At(2000));  // a0 … a4
  ASSERT_TRUE(deleted.ok()) << deleted.status().ToString();
  EXPECT_EQ(*deleted, 5);
  AuditFilter all;
  all.limit = 100;
  auto rows = store().QueryAudit(all);
  ASSERT_TRUE(rows.ok());
  ASSERT_EQ(rows->size(), 5U);
  EXPECT_EQ(rows->back().agent, "a5");
  const int64_t newest = rows->front().id;

  EXPECT_EQ(*store().DeleteAuditBefore(At(99999), At(99999)), 4) << "all but the newest";
  ASSERT_TRUE(store().AppendAudit(Audit("after", "gmail", "")).ok());
  all.after_id = newest;
  rows = store().QueryAudit(all);
  ASSERT_TRUE(rows.ok());
  ASSERT_EQ(rows->size(), 1U);
  EXPECT_EQ(rows->front().agent, "after");
  EXPECT_GT(rows->front().id, newest);
}

// Retention reads rows in the order they were written, up to the first that is not old: an
// old row written after it (a long call's, dated when it began) waits for a later pass, a
// row not yet old is never deleted, and a row dated in the future (the clock ran ahead)
// holds back nothing but itself.
TEST_P(StoreContractTest, AuditRetentionGoesInWriteOrderAndNoFutureDateHoldsItBack) {
  const std::vector<std::pair<std::string, int>> written = {{"old", 1000},      {"future", 5000},
                                                            {"old-too", 1100},  {"young", 2500},
                                                            {"old-late", 1200}, {"younger", 2600}};
  std::vector<AuditRecord> batch;
  for (const auto& [agent, at] : written) {
    AuditRecord row = Audit(agent, "gmail", "");
    row.at = At(at);
    batch.push_back(row);
  }
  ASSERT_TRUE(store().AppendAudit(batch).ok());
  auto agents = [&] {
    AuditFilter all;
    all.limit = 100;
    std::vector<std::string> left;
    auto rows = store().QueryAudit(all);  // held: a loop over *QueryAudit(…) reads a destroyed vector
    EXPECT_TRUE(rows.ok()) << rows.status().ToString();
    if (rows.ok()) {
      for (const AuditRecord& row : *rows) left.insert(left.begin(), row.agent);
    }
    return left;
  };
  // Cutoff 2000 at 3000: up to "young"; "future" stays, "old-late" waits.
  auto deleted = store().DeleteAuditBefore(At(2000), At(3000));
  ASSERT_TRUE(deleted.ok()) << deleted.status().ToString();
  EXPECT_EQ(*deleted, 2);
  EXPECT_THAT(agents(), ::testing::ElementsAre("future", "young", "old-late", "younger"));
  // Cutoff 2550 at 3100: up to "younger"; "young" and "old-late" go.
  EXPECT_EQ(*store().DeleteAuditBefore(At(2550), At(3100)), 2);
  EXPECT_THAT(agents(), ::testing::ElementsAre("future", "younger"));
  // Once its date is past the cutoff, the future-dated row goes too; the newest stays.
  EXPECT_EQ(*store().DeleteAuditBefore(At(6000), At(7000)), 1);
  EXPECT_THAT(agents(), ::testing::ElementsAre("younger"));
  EXPECT_EQ(*store().DeleteAuditBefore(At(6000), At(7000)), 0);
}

// Audit rows are stored a batch at a time (one AppendAudit, one batch): a query reads
// batches newest first, more than it reads at a time (16), those that name its agent or
// connection only, and stops at its limit; a tail takes the rows after its cursor.
TEST_P(StoreContractTest, AuditQueriesReadAcrossManyBatchesNewestFirst) {
  for (int b = 0; b < 40; ++b) {
    std::vector<AuditRecord> batch;
    batch.reserve(3);
    for (int r = 0; r < 3; ++r) {
      batch.push_back(
          Audit(b % 2 == 0 ? "even" : "odd", "c" + std::to_string((b + r) % 3), r == 2 ? "denied" : ""));
    }
    ASSERT_TRUE(store().AppendAudit(batch).ok());
  }
  AuditFilter all;
  all.limit = 1000;
  auto every = store().QueryAudit(all);
  ASSERT_TRUE(every.ok()) << every.status().ToString();
  ASSERT_EQ(every->size(), 120u);
  for (size_t i = 1; i < every->size(); ++i) ASSERT_GT((*every)[i - 1].id, (*every)[i].id);
  // What a filter should give: the rows of `every` it matches, newest first, at most `limit`.
  auto expected = [&](const AuditFilter& filter) {
    std::vector<int64_t> ids;
    for (const AuditRecord& row : *every) {
      if ((filter.agent && row.agent != *filter.agent) ||
          (filter.connection && row.connection != *filter.connection) ||
          (filter.code && row.code != *filter.code) || (filter.after_id && row.id <= *filter.after_id)) {
        continue;
      }
      if (ids.size() < static_cast<size_t>(filter.limit)) ids.push_back(row.id);
    }
    return ids;
  };
  auto ids = [&](const AuditFilter& filter) {
    std::vector<int64_t> out;
    auto rows = store().QueryAudit(filter);
    EXPECT_TRUE(rows.ok()) << rows.status().ToString();
    if (rows.ok()) {
      for (const AuditRecord& row : *rows) out.push_back(row.id);
    }
    return out;
  };
  std::vector<AuditFilter> filters;
  AuditFilter odd;
  odd.agent = "odd";
  odd.limit = 1000;
  filters.push_back(odd);
  AuditFilter c1_even;
  c1_even.agent = "even";
  c1_even.connection = "c1";
  c1_even.limit = 1000;
  filters.push_back(c1_even);
  AuditFilter c2_denied;
  c2_denied.connection = "c2";
  c2_denied.code = "denied";
  c2_denied.limit = 5;
  filters.push_back(c2_denied);
  AuditFilter tail = odd;
  tail.after_id = (*every)[70].id;
  filters.push_back(tail);
  AuditFilter few = odd;
  few.limit = 7;
  filters.push_back(few);
  AuditFilter nobody;
  nobody.agent = "nobody";
  filters.push_back(nobody);
  for (const AuditFilter& filter : filters) {
    EXPECT_EQ(ids(filter), expected(filter))
        << "agent " << filter.agent.value_or("-") << ", connection " << filter.connection.value_or("-")
        << ", after " << filter.after_id.value_or(0) << ", limit " << filter.limit;
  }
  EXPECT_EQ(expected(odd).size(), 60u);
  EXPECT_EQ(expected(tail).size(), 36u);  // the odd batches 39, 37, …, 17 are newer than row 70
}

// Retention over several batches: batches of old rows only go whole, the batch holding the
// first young row is written again without the old rows before it, and what is left is
// still found by agent; later rows get ids above every row before.
TEST_P(StoreContractTest, AuditRetentionDeletesWholeBatchesAndRewritesTheOneItStopsIn) {
  auto append = [&](const std::vector<std::pair<std::string, int>>& rows) {
    std::vector<AuditRecord> batch;
    batch.reserve(rows.size());
    for (const auto& [agent, at] : rows) {
      AuditRecord row = Audit(agent, "gmail", "");
      row.at = At(at);
      batch.push_back(row);
    }
    ASSERT_TRUE(store().AppendAudit(batch).ok());
  };
  append({{"gone-1", 100}, {"gone-2", 110}});
  append({{"gone-3", 200}, {"gone-4", 210}});
  append({{"gone-5", 300}, {"young", 2500}, {"old-late", 310}});
  append({{"younger", 2600}});
  auto count_of = [&](std::string agent) {
    AuditFilter by_agent;
    by_agent.agent = std::move(agent);
    auto rows = store().QueryAudit(by_agent);
    EXPECT_TRUE(rows.ok()) << rows.status().ToString();
    return rows.ok() ? rows->size() : size_t{999};
  };
  auto deleted = store().DeleteAuditBefore(At(2000), At(3000));
  ASSERT_TRUE(deleted.ok()) << deleted.status().ToString();
  EXPECT_EQ(*deleted, 5);
  for (const char* agent : {"gone-1", "gone-2", "gone-3", "gone-4", "gone-5"})
    EXPECT_EQ(count_of(agent), 0u) << agent;
  EXPECT_EQ(count_of("young"), 1u);
  EXPECT_EQ(count_of("old-late"), 1u);
  EXPECT_EQ(count_of("younger"), 1u);

  EXPECT_EQ(*store().DeleteAuditBefore(At(2550), At(3100)), 2);  // that batch, emptied, goes
  EXPECT_EQ(count_of("young"), 0u);
  EXPECT_EQ(count_of("old-late"), 0u);
  AuditFilter all;
  auto left = store().QueryAudit(all);
  ASSERT_TRUE(left.ok());
  ASSERT_EQ(left->size(), 1u);
  const int64_t newest = left->front().id;
  EXPECT_EQ(newest, 8) << "ids are the rows' own after a batch is written again";
  append({{"later", 4000}});
  auto after = store().QueryAudit(all);
  ASSERT_TRUE(after.ok());
  EXPECT_EQ(after->front().agent, "later");
  EXPECT_EQ(after->front().id, newest + 1);
}

TEST_P(StoreContractTest, EndedSessionsAreKnownUntilTheirCookiesExpire) {
  EXPECT_FALSE(*store().IsSessionEnded("s1"));
  ASSERT_TRUE(store().EndSession("s1", At(5000)).ok());
  ASSERT_TRUE(store().EndSession("s1", At(5000)).ok()) << "idempotent";
  ASSERT_TRUE(store().EndSession("s2", At(9000)).ok());
  EXPECT_TRUE(*store().IsSessionEnded("s1"));
  EXPECT_FALSE(*store().IsSessionEnded("s3"));
  EXPECT_EQ(*store().DeleteEndedSessionsBefore(At(6000)), 1);
  EXPECT_FALSE(*store().IsSessionEnded("s1"));
  EXPECT_TRUE(*store().IsSessionEnded("s2"));
}

}  // namespace
}  // namespace latchkey::store::testing
