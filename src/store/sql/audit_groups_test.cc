#include <gtest/gtest.h>

#include <bit>
#include <cstddef>
#include <numeric>
#include <set>
#include <vector>

#include "store/sql/sql_store.h"

namespace latchkey::store::sql {
namespace {

TEST(AuditInsertGroupsTest, FullGroupsThenTheRestInFallingPowersOfTwo) {
  EXPECT_EQ(AuditInsertGroups(300, 128), (std::vector<size_t>{128, 128, 32, 8, 4}));
  EXPECT_EQ(AuditInsertGroups(128, 128), (std::vector<size_t>{128}));
  EXPECT_EQ(AuditInsertGroups(127, 128), (std::vector<size_t>{64, 32, 16, 8, 4, 2, 1}));
  EXPECT_EQ(AuditInsertGroups(1, 500), (std::vector<size_t>{1}));
  EXPECT_TRUE(AuditInsertGroups(0, 128).empty());
  EXPECT_EQ(AuditInsertGroups(3, 0), (std::vector<size_t>{1, 1, 1}));  // a group of at least one row
}

// Whatever the batch sizes, every row goes in exactly once, and the statements a store
// prepares for them are a handful: the group size and the powers of two below it. (A
// group of "whatever is left" would be a new statement for nearly every batch; the SQLite
// store keeps 128 statements, so those pushed every other statement out of its cache.)
TEST(AuditInsertGroupsTest, EveryRowOnceAndFewDistinctStatementsOverAllBatchSizes) {
  for (const size_t most : {size_t{1}, size_t{32}, size_t{100}, size_t{128}, size_t{500}}) {
    std::set<size_t> sizes;
    for (size_t rows = 0; rows <= 2000; ++rows) {
      const std::vector<size_t> groups = AuditInsertGroups(rows, most);
      EXPECT_EQ(std::accumulate(groups.begin(), groups.end(), size_t{0}), rows)
          << rows << " rows, most " << most;
      for (const size_t group : groups) {
        EXPECT_TRUE(group == most || (std::has_single_bit(group) && group < most)) << group;
      }
      sizes.insert(groups.begin(), groups.end());
    }
    EXPECT_LE(sizes.size(), static_cast<size_t>(std::bit_width(most)) + 1) << "most " << most;
  }
}

}  // namespace
}  // namespace latchkey::store::sql
