#include "interop/imported.hpp"

#include <map>

namespace binfmtd::interop {

void ImportResult::append(ImportResult other) {
  for (auto& e : other.entries) entries.push_back(std::move(e));
  for (auto& p : other.problems) problems.push_back(std::move(p));
}

std::optional<std::string> importProblem(const kernel::Entry& entry) {
  if (auto reason = kernel::validate(entry)) return reason;
  if (entry.interpreter.front() != '/')
    return "interpreter '" + entry.interpreter + "' is not an absolute path";
  return std::nullopt;
}

void keepLastDefinitions(ImportResult& result) {
  std::map<std::string, std::size_t> last;
  for (std::size_t i = 0; i < result.entries.size(); ++i) last[result.entries[i].entry.name] = i;
  std::vector<Imported> kept;
  for (std::size_t i = 0; i < result.entries.size(); ++i) {
    Imported& e = result.entries[i];
    const std::size_t winner = last[e.entry.name];
    if (winner == i) {
      kept.push_back(std::move(e));
    } else {
      result.problems.push_back(e.source + ": '" + e.entry.name + "' is defined again at " +
                                result.entries[winner].source + ", ignoring this definition");
    }
  }
  result.entries = std::move(kept);
}

}  // namespace binfmtd::interop
