// Fuzzes the reader of stored audit batches (DecodeAuditRows, row_codec.h): whatever text a
// batch's row_json holds (a damaged or hand-edited store), it gives rows or kDataLoss, never
// a crash. Properties: what it accepts has ascending, distinct ids and writes back
// (EncodeStoredAuditRows) as text it reads again the same; and rows made from the input's
// bytes (any text, control characters and invalid UTF-8 included) survive the round trip,
// their text repaired to UTF-8 and nothing else changed.
#include <cstddef>
#include <cstdint>

#include "common/encoding.h"
#include "store/sql/row_codec.h"
#include "support/fuzz_check.h"
#include "support/fuzz_input.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace latchkey;
  using store::AuditRecord;
  const std::string_view text = fuzz::AsText(data, size);

  auto decoded = store::DecodeAuditRows(text, "fuzzed batch");
  if (decoded.ok()) {
    for (size_t i = 1; i < decoded->size(); ++i) FUZZ_CHECK((*decoded)[i - 1].id < (*decoded)[i].id);
    auto again = store::DecodeAuditRows(store::EncodeStoredAuditRows(*decoded), "written back");
    FUZZ_CHECK(again.ok());
    FUZZ_CHECK(*again == *decoded);
  } else {
    FUZZ_CHECK(decoded.status().code() == StatusCode::kDataLoss);
  }

  // The input as the text fields of two rows.
  std::string_view rest = text;
  AuditRecord row;
  row.at = FromUnixMillis(static_cast<int64_t>(size) * 1000);
  row.agent = fuzz::NextLine(rest);
  row.client = fuzz::NextLine(rest);
  row.connection = fuzz::NextLine(rest);
  row.method = fuzz::NextLine(rest);
  row.code = fuzz::NextLine(rest);
  row.path = rest;
  row.upstream_status = static_cast<int>(size % 600);
  row.latency_ms = static_cast<int64_t>(size);
  row.refreshed = size % 2 == 0;
  const std::vector<AuditRecord> rows = {row, row};
  auto read = store::DecodeAuditRows(store::EncodeAuditRows(7, rows), "encoded batch");
  FUZZ_CHECK(read.ok());
  FUZZ_CHECK(read->size() == 2);
  for (size_t i = 0; i < 2; ++i) {
    AuditRecord want = row;
    want.id = 7 + static_cast<int64_t>(i);
    for (std::string* field :
         {&want.agent, &want.client, &want.connection, &want.method, &want.path, &want.code}) {
      *field = ToValidUtf8(*field);
    }
    FUZZ_CHECK((*read)[i] == want);
  }
  return 0;
}
