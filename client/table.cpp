#include "table.hpp"

#include <algorithm>

#include "terminal.hpp"

namespace binfmtctl {

void Table::print(FILE* out, std::size_t indent) const {
  std::vector<std::size_t> width(header_.size(), 0);
  auto measure = [&](const std::vector<std::string>& row) {
    for (std::size_t i = 0; i < row.size() && i < width.size(); ++i)
      width[i] = std::max(width[i], term::visibleWidth(row[i]));
  };
  measure(header_);
  for (const auto& r : rows_) measure(r);
  auto line = [&](const std::vector<std::string>& row) {
    std::string text(indent, ' ');
    for (std::size_t i = 0; i < row.size(); ++i) {
      text += row[i];
      if (i + 1 < row.size()) text += std::string(width[i] - term::visibleWidth(row[i]) + 1, ' ');
    }
    std::fprintf(out, "%s\n", text.c_str());
  };
  line(header_);
  for (const auto& r : rows_) line(r);
}

}  // namespace binfmtctl
