#include "interop/binfmt_d.hpp"

namespace binfmtd::interop {

namespace {

// systemd's strstrip(): the WHITESPACE set " \t\n\r".
std::string_view strip(std::string_view s) {
  constexpr std::string_view kWhitespace = " \t\n\r";
  const auto first = s.find_first_not_of(kWhitespace);
  if (first == std::string_view::npos) return {};
  return s.substr(first, s.find_last_not_of(kWhitespace) - first + 1);
}

}  // namespace

ImportResult parseBinfmtD(std::string_view text, const std::string& file) {
  ImportResult result;
  int number = 0;
  while (!text.empty()) {
    const auto end = text.find('\n');
    const std::string_view line = strip(text.substr(0, end));
    text.remove_prefix(end == std::string_view::npos ? text.size() : end + 1);
    ++number;
    if (line.empty() || line.front() == '#' || line.front() == ';') continue;

    const std::string where = file + ":" + std::to_string(number);
    std::string why;
    auto entry = kernel::parseRegisterString(line, &why);
    if (entry) {
      if (auto problem = importProblem(*entry)) why = "'" + entry->name + "': " + *problem;
    }
    if (!why.empty()) {
      result.problems.push_back(where + ": invalid rule: " + why + ", ignoring");
      continue;
    }
    result.entries.push_back({std::move(*entry), where});
  }
  return result;
}

std::string writeBinfmtD(const std::vector<kernel::Entry>& entries,
                         std::vector<std::string>& problems) {
  std::string out =
      "# binfmt.d(5) rules written by 'binfmtctl export'.\n"
      "# Format: :name:type:offset:magic:mask:interpreter:flags\n";
  for (const auto& e : entries) {
    if (auto problem = kernel::validate(e)) {
      problems.push_back("'" + e.name + "': " + *problem + ", ignoring");
      continue;
    }
    const std::string rule = kernel::registerString(e);
    // The delimiter is ':' unless the name or interpreter contain one; systemd-binfmt
    // would take a rule starting with one of its comment characters for a comment.
    if (rule.front() == '#' || rule.front() == ';') {
      problems.push_back("'" + e.name + "': needs the delimiter '" + std::string(1, rule.front()) +
                         "', which binfmt.d takes for a comment, ignoring");
      continue;
    }
    out += e.enabled ? rule + "\n" : "# disabled: " + rule + "\n";
  }
  return out;
}

}  // namespace binfmtd::interop
