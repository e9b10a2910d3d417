// Plain column output like `systemctl list-units`: a header, one row per item, columns
// padded to the widest cell (as shown: colour codes take no column), nothing clever,
// stable when piped: no truncation, no reordering.
#pragma once

#include <cstdio>
#include <string>
#include <vector>

namespace binfmtctl {

class Table {
 public:
  explicit Table(std::vector<std::string> header) : header_(std::move(header)) {}
  void add(std::vector<std::string> row) { rows_.push_back(std::move(row)); }
  bool empty() const { return rows_.empty(); }
  /// Prints header and rows, each line after `indent` spaces; the last column is not
  /// padded (it may be long: paths).
  void print(FILE* out, std::size_t indent = 0) const;

 private:
  std::vector<std::string> header_;
  std::vector<std::vector<std::string>> rows_;
};

}  // namespace binfmtctl
