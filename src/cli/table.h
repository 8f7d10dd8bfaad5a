// A plain-text table for listings: columns padded to the widest cell. Single-threaded.
#pragma once

#include <ostream>
#include <string>
#include <vector>

namespace latchkey::cli {

class Table {
 public:
  explicit Table(std::vector<std::string> headers) : rows_{std::move(headers)} {}
  void AddRow(std::vector<std::string> row) { rows_.push_back(std::move(row)); }
  void Print(std::ostream& out) const;

 private:
  std::vector<std::vector<std::string>> rows_;
};

}  // namespace latchkey::cli
