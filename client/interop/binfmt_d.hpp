// systemd's binfmt.d(5) format: one kernel register string per line. Pure functions on
// text; reading the directories is in sources.hpp.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "interop/imported.hpp"
#include "kernel/entry.hpp"

namespace binfmtd::interop {

/// Reads one binfmt.d file the way systemd-binfmt does: every line is stripped of
/// surrounding whitespace; empty lines and lines starting with '#' or ';' are skipped; every
/// other line is a register string. A line that is not a valid rule (or that binfmtd could
/// not own, see importProblem) is reported as "file:line: ..." and the rest still counts.
ImportResult parseBinfmtD(std::string_view text, const std::string& file);

/// The rules for `entries`, one per line after a comment header. A disabled entry is
/// written as a comment (binfmt.d has no disabled rules); one that cannot be written
/// is left out and reported in `problems`.
std::string writeBinfmtD(const std::vector<kernel::Entry>& entries,
                         std::vector<std::string>& problems);

}  // namespace binfmtd::interop
