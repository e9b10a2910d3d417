// What reading another tool's handler definitions yields: the entries, each with the place
// it came from, and one message per thing that was skipped. A problem never stops the rest.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "kernel/entry.hpp"

namespace binfmtd::interop {

struct Imported {
  kernel::Entry entry;
  std::string source;  // "file:line" for binfmt.d, "file" for binfmt-support
};

struct ImportResult {
  std::vector<Imported> entries;
  /// "file:line: message" (or "file: message"), worded to end in ", ignoring".
  std::vector<std::string> problems;

  void append(ImportResult other);
};

/// Why binfmtd could not take this entry over as a handler (a kernel rule it breaks, or an
/// interpreter that is not an absolute path, which binfmtd.json(5) requires), or nullopt.
std::optional<std::string> importProblem(const kernel::Entry& entry);

/// Keeps only the last definition of each name, where it stands, as applying the
/// definitions one after the other would (systemd-binfmt removes a name before
/// registering it again); every dropped one is reported.
void keepLastDefinitions(ImportResult& result);

}  // namespace binfmtd::interop
