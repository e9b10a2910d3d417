#include "engine/ownership.hpp"

#include <fstream>
#include <sstream>

#include "config/config.hpp"
#include "error.hpp"

namespace binfmtd::engine {

// Format: one register string per line, the same text binfmtd wrote to `register`.
// Plain text keeps it readable with cat and diffable against binfmt.d files.
std::vector<std::string> Ownership::load() {
  entries_.clear();
  std::vector<std::string> warnings;
  std::ifstream in(file_);
  if (!in) return warnings;
  std::string line;
  int number = 0;
  while (std::getline(in, line)) {
    ++number;
    if (line.empty() || line[0] == '#') continue;
    std::string why;
    if (auto entry = kernel::parseRegisterString(line, &why)) {
      entries_[entry->name] = *entry;
    } else {
      warnings.push_back(file_.string() + ":" + std::to_string(number) + ": " + why +
                         ", ignoring");
    }
  }
  return warnings;
}

void Ownership::save() const {
  std::ostringstream out;
  out << "# Kernel binfmt_misc entries registered by binfmtd. Do not edit.\n";
  for (const auto& [name, entry] : entries_) out << kernel::registerString(entry) << '\n';
  config::writeFileAtomically(file_, out.str());
}

}  // namespace binfmtd::engine
