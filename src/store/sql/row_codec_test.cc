#include "store/sql/row_codec.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace latchkey::store {
namespace {

AuditRecord Row(std::string agent, std::string path) {
  AuditRecord row;
  row.at = FromUnixMillis(1'700'000'000'123);
  row.agent = std::move(agent);
  row.client = "https://client.example/m.json";
  row.connection = "work-gmail";
  row.method = "POST";
  row.path = std::move(path);
  row.upstream_status = 403;
  row.code = "scope_insufficient";
  row.latency_ms = 41;
  row.refreshed = true;
  return row;
}

TEST(AuditRowsTest, RoundTripNumberedFromTheFirstIdWithEveryFieldAndAnyText) {
  static constexpr char kControls[] = "/nul\0tab\tnewline\n\x1f\x7f";
  std::vector<AuditRecord> rows = {Row("claude", "/gmail/v1/messages?q=***"),
                                   Row("quote\"back\\slash", std::string(kControls, sizeof(kControls) - 1)),
                                   Row("caf\xC3\xA9 \xF0\x9F\x94\x91", "/\u2028")};
  rows[1].refreshed = false;
  rows[1].upstream_status = 0;
  rows[2].code = "";
  rows[2].client = "";
  const std::string json = EncodeAuditRows(41, rows);
  auto read = DecodeAuditRows(json, "batch 41");
  ASSERT_TRUE(read.ok()) << read.status().ToString() << "\n" << json;
  ASSERT_EQ(read->size(), rows.size());
  for (size_t i = 0; i < rows.size(); ++i) {
    rows[i].id = 41 + static_cast<int64_t>(i);
    EXPECT_EQ((*read)[i], rows[i]) << "row " << i;
  }
  EXPECT_EQ(EncodeStoredAuditRows(*read), json) << "rows read back write the same text";
}

TEST(AuditRowsTest, TextThatIsNotUtf8IsRepairedNotRefused) {
  auto read = DecodeAuditRows(EncodeAuditRows(1, {Row("a", "/caf\xC3\xA9/\xFF")}), "batch 1");
  ASSERT_TRUE(read.ok()) << read.status().ToString();
  EXPECT_EQ(read->front().path, "/caf\xC3\xA9/\xEF\xBF\xBD");
}

// What migration 13's SQL writes: SQLite's json_group_array in its own order and 0 / 1
// for `refreshed`; PostgreSQL's json_agg with spaces between values.
TEST(AuditRowsTest, RowsAsSqlWroteThemReadInIdOrder) {
  auto read = DecodeAuditRows(
      R"([[9,3000,"other","","gmail","GET","/c",403,"scope_insufficient",9,0], [1, 1000, "claude", "", "gmail", "GET", "/a", 200, "", 5, 1]])",
      "batch 1");
  ASSERT_TRUE(read.ok()) << read.status().ToString();
  ASSERT_EQ(read->size(), 2u);
  EXPECT_EQ((*read)[0].id, 1);
  EXPECT_TRUE((*read)[0].refreshed);
  EXPECT_EQ((*read)[0].at, FromUnixMillis(1000));
  EXPECT_EQ((*read)[1].id, 9);
  EXPECT_FALSE((*read)[1].refreshed);
  EXPECT_EQ((*read)[1].code, "scope_insufficient");
}

TEST(AuditRowsTest, AnythingElseIsDataLossNamingTheBatch) {
  for (const char* json : {
           "", "{}", "[1]",
           R"([[1,1,"a","","c","GET","/",200,"",1]])",                       // a field short
           R"([[1,1,"a","","c","GET","/",200,"",1,true,7]])",                // one too many
           R"([["1",1,"a","","c","GET","/",200,"",1,true]])",                // an id as text
           R"([[1,1,"a",null,"c","GET","/",200,"",1,true]])",                // no client
           R"([[1,1,"a","","c","GET","/",200.5,"",1,true]])",                // a fraction
           R"([[1,1,"a","","c","GET","/",200,"",1,"yes"]])",                 // refreshed as text
           R"([[1,1,"a","","c","GET","/",9999999999,"",1,true]])",           // a status past int
           R"([[1,99999999999999999,"a","","c","GET","/",200,"",1,true]])",  // a time past the clock's
           R"([[1,1,"a","","c","GET","/",200,"",1,true],[1,2,"a","","c","GET","/",200,"",1,true]])",  // id
                                                                                                      // twice
           R"([[1,1,"a","","c","GET","/",200,"",1,true])",  // cut short
       }) {
    auto read = DecodeAuditRows(json, "audit batch 7");
    EXPECT_EQ(read.status().code(), StatusCode::kDataLoss) << json;
    EXPECT_THAT(read.status().message(), ::testing::HasSubstr("audit batch 7")) << json;
  }
  auto empty = DecodeAuditRows("[]", "audit batch 8");
  ASSERT_TRUE(empty.ok());
  EXPECT_TRUE(empty->empty());
}

}  // namespace
}  // namespace latchkey::store
