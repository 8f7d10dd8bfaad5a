// The row and transaction layer both backends implement (store/sql/tx.h), run on each:
// every parameter type goes in and comes back as written, `?` is a placeholder only
// outside quotes, a statement given the wrong number of values is refused, and SQLite's
// statement cache stays right past its size. The Store contract suite covers the methods
// written over this layer.
#include <gtest/gtest.h>

#include <functional>
#include <memory>
#include <string>

#include "store/postgres_pool.h"
#include "store/postgres_test_cluster.h"
#include "store/sqlite_pool.h"
#include "support/temp_dir.h"

namespace latchkey::store::testing {
namespace {

using sql::Params;
using sql::Row;
using sql::Tx;

// One backend's transactions on a scratch table `t (i, s, b, f)`: integer, text, bytes
// and boolean columns in that backend's types.
class TxBackend {
 public:
  virtual ~TxBackend() = default;
  virtual Status Run(const std::function<Status(Tx&)>& body) = 0;
};

class SqliteBackend final : public TxBackend {
 public:
  SqliteBackend() {
    auto pool = sqlite::SqlitePool::Open((dir_.path() / "tx.db").string(), std::chrono::milliseconds(5000));
    if (!pool.ok()) throw std::runtime_error(pool.status().ToString());
    pool_ = std::move(*pool);
    Status made =
        Run([](Tx& tx) { return tx.Exec("CREATE TABLE t (i INTEGER, s TEXT, b BLOB, f INTEGER)").status(); });
    if (!made.ok()) throw std::runtime_error(made.ToString());
  }
  Status Run(const std::function<Status(Tx&)>& body) override {
    return pool_->Run(sqlite::TxnKind::kWrite, [&](sqlite::SqliteDb& db) {
      sqlite::SqliteTx tx(db);
      return body(tx);
    });
  }

 private:
  latchkey::testing::ScopedTempDir dir_;
  std::unique_ptr<sqlite::SqlitePool> pool_;
};

class PostgresBackend final : public TxBackend {
 public:
  PostgresBackend() {
    if (env_.Url().empty()) return;
    auto pool = postgres::PostgresPool::Open(env_.Url(), std::chrono::milliseconds(5000));
    if (!pool.ok()) throw std::runtime_error(pool.status().ToString());
    pool_ = std::move(*pool);
    Status made =
        Run([](Tx& tx) { return tx.Exec("CREATE TABLE t (i BIGINT, s TEXT, b BYTEA, f BOOLEAN)").status(); });
    if (!made.ok()) throw std::runtime_error(made.ToString());
  }
  Status Run(const std::function<Status(Tx&)>& body) override {
    if (pool_ == nullptr) return UnavailableError("no PostgreSQL test cluster");
    return pool_->Run(postgres::TxnKind::kWrite, [&](postgres::PgTx& tx) { return body(tx); });
  }

 private:
  PostgresTestEnv env_;
  std::shared_ptr<postgres::PostgresPool> pool_;
};

struct Backend {
  std::string name;
  std::function<std::unique_ptr<TxBackend>()> make;
};
void PrintTo(const Backend& backend, std::ostream* out) { *out << backend.name; }

class SqlTxTest : public ::testing::TestWithParam<Backend> {
 protected:
  void SetUp() override { backend_ = GetParam().make(); }
  std::unique_ptr<TxBackend> backend_;
};

TEST_P(SqlTxTest, EveryParameterTypeComesBackAsWritten) {
  const Bytes binary = {0x00, 0xff, 0x27, 0x3f, 0x5c, 0x78};  // NUL, 0xff, ' ? \ x
  const std::string unowned = "kept by the caller";
  std::vector<Row> rows;
  ASSERT_TRUE(backend_
                  ->Run([&](Tx& tx) -> Status {
                    LATCHKEY_RETURN_IF_ERROR(
                        tx.Exec("INSERT INTO t (i, s, b, f) VALUES (?, ?, ?, ?), (?, ?, ?, ?), (?, ?, ?, ?)",
                                Params()
                                    .Add(int64_t{-9007199254740993})
                                    .Add("it's a '?' and \"?\"")
                                    .Add(binary)
                                    .AddBool(true)
                                    .Add(FromUnixMillis(1700000000123))
                                    .AddUnowned(unowned)
                                    .Add(Bytes{})
                                    .AddBool(false)
                                    .Add(std::optional<int64_t>())
                                    .AddNull()
                                    .Add(std::optional<Bytes>())
                                    .AddNull()));
                    LATCHKEY_ASSIGN_OR_RETURN(rows, tx.Query("SELECT i, s, b, f FROM t ORDER BY i"));
                    return Status::Ok();
                  })
                  .ok());
  ASSERT_EQ(rows.size(), 3u);
  // NULLs sort last in PostgreSQL and first in SQLite: find each row by its integer.
  auto row = [&](std::optional<int64_t> i) -> const Row& {
    for (const Row& r : rows) {
      if (r.OptInt(0) == i) return r;
    }
    throw std::runtime_error("row not found");
  };
  const Row& first = row(-9007199254740993);
  EXPECT_EQ(first.Text(1), "it's a '?' and \"?\"");
  EXPECT_EQ(first.Blob(2), binary);
  EXPECT_TRUE(first.Bool(3));
  const Row& second = row(1700000000123);
  EXPECT_EQ(second.Time(0), FromUnixMillis(1700000000123));
  EXPECT_EQ(second.Text(1), unowned);
  ASSERT_TRUE(second.OptBlob(2).has_value()) << "an empty blob is not NULL";
  EXPECT_TRUE(second.OptBlob(2)->empty());
  EXPECT_FALSE(second.Bool(3));
  EXPECT_FALSE(second.IsNull(3));
  const Row& third = row(std::nullopt);
  EXPECT_TRUE(third.IsNull(0) && third.IsNull(1) && third.IsNull(2) && third.IsNull(3));
  EXPECT_EQ(third.Int(0), 0);
  EXPECT_EQ(third.Text(1), "");
  EXPECT_FALSE(third.OptTime(0).has_value());
}

TEST_P(SqlTxTest, AQuestionMarkInsideQuotesIsNotAPlaceholder) {
  std::vector<Row> rows;
  ASSERT_TRUE(backend_
                  ->Run([&](Tx& tx) -> Status {
                    LATCHKEY_ASSIGN_OR_RETURN(
                        rows, tx.Query("SELECT '?', 'a''?', ? AS \"x?\"", Params().Add("value")));
                    return Status::Ok();
                  })
                  .ok());
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0].Text(0), "?");
  EXPECT_EQ(rows[0].Text(1), "a'?");
  EXPECT_EQ(rows[0].Text(2), "value");
}

TEST_P(SqlTxTest, AStatementGivenTheWrongNumberOfValuesIsRefusedAndChangesNothing) {
  Status too_few = backend_->Run([](Tx& tx) {
    return tx.Exec("INSERT INTO t (i, s) VALUES (?, ?)", Params().Add(int64_t{1})).status();
  });
  EXPECT_EQ(too_few.code(), StatusCode::kInternal) << too_few.ToString();
  EXPECT_NE(too_few.message().find("placeholders"), std::string::npos) << too_few.ToString();
  Status too_many = backend_->Run([](Tx& tx) {
    return tx.Exec("INSERT INTO t (i) VALUES (?)", Params().Add(int64_t{1}).Add(int64_t{2})).status();
  });
  EXPECT_EQ(too_many.code(), StatusCode::kInternal) << too_many.ToString();
  int64_t count = -1;
  ASSERT_TRUE(backend_
                  ->Run([&](Tx& tx) -> Status {
                    LATCHKEY_ASSIGN_OR_RETURN(auto rows, tx.Query("SELECT COUNT(*) FROM t"));
                    count = rows.at(0).Int(0);
                    return Status::Ok();
                  })
                  .ok());
  EXPECT_EQ(count, 0);
}

TEST_P(SqlTxTest, ManyDistinctStatementsAndRepeatsAllRunRight) {
  // More distinct statements than SQLite's cache holds, each run twice, interleaved.
  ASSERT_TRUE(backend_
                  ->Run([](Tx& tx) -> Status {
                    for (int round = 0; round < 2; ++round) {
                      for (int n = 0; n < 300; ++n) {
                        const std::string sql = "SELECT ? + " + std::to_string(n);
                        LATCHKEY_ASSIGN_OR_RETURN(auto rows, tx.Query(sql, Params().Add(int64_t{round})));
                        if (rows.size() != 1 || rows[0].Int(0) != n + round) {
                          return InternalError(sql + " gave the wrong answer");
                        }
                      }
                    }
                    return Status::Ok();
                  })
                  .ok());
}

TEST_P(SqlTxTest, ExecCountsTheRowsItChanged) {
  StatusOr<int64_t> inserted = 0, updated = 0, none = 0;
  ASSERT_TRUE(backend_
                  ->Run([&](Tx& tx) -> Status {
                    inserted = tx.Exec("INSERT INTO t (i) VALUES (1), (2), (3)");
                    updated = tx.Exec("UPDATE t SET s = ? WHERE i >= ?", Params().Add("x").Add(int64_t{2}));
                    none = tx.Exec("DELETE FROM t WHERE i > ?", Params().Add(int64_t{9}));
                    return Status::Ok();
                  })
                  .ok());
  ASSERT_TRUE(inserted.ok() && updated.ok() && none.ok());
  EXPECT_EQ(*inserted, 3);
  EXPECT_EQ(*updated, 2);
  EXPECT_EQ(*none, 0);
}

TEST_P(SqlTxTest, EachStopsAtTheRowItsReaderRefusesAndTheStatementRunsAgainAfter) {
  const std::string sql = "SELECT i FROM t WHERE i > ? ORDER BY i";
  int read = 0;
  Status refused = Status::Ok();
  StatusOr<std::vector<int64_t>> again = std::vector<int64_t>();
  ASSERT_TRUE(
      backend_
          ->Run([&](Tx& tx) -> Status {
            LATCHKEY_RETURN_IF_ERROR(tx.Exec("INSERT INTO t (i) VALUES (1), (2), (3), (4), (5)").status());
            refused = tx.Each(sql, Params().Add(int64_t{0}), [&](const Row& row) -> Status {
              ++read;
              if (row.Int(0) == 3) return InvalidArgumentError("row 3 is refused");
              return Status::Ok();
            });
            // The same statement (SQLite's cached one, reset) runs whole afterwards.
            again = sql::Select(tx, sql, Params().Add(int64_t{0}), [](const Row& row) { return row.Int(0); });
            return Status::Ok();
          })
          .ok());
  EXPECT_EQ(refused.code(), StatusCode::kInvalidArgument) << refused.ToString();
  EXPECT_EQ(refused.message(), "row 3 is refused");
  EXPECT_EQ(read, 3) << "no row is read after the refused one";
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  EXPECT_EQ(*again, (std::vector<int64_t>{1, 2, 3, 4, 5}));
}

INSTANTIATE_TEST_SUITE_P(
    Backends, SqlTxTest,
    ::testing::Values(Backend{"sqlite", [] { return std::make_unique<SqliteBackend>(); }},
                      Backend{"postgres", [] { return std::make_unique<PostgresBackend>(); }}),
    [](const auto& test) { return test.param.name; });

}  // namespace
}  // namespace latchkey::store::testing
