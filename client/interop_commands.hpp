// binfmtctl import and export: other tools' handler definitions (systemd's binfmt.d,
// Debian's binfmt-support) to binfmtd's JSON configuration, and binfmtd's handlers back to
// those formats (the parsers and writers are in interop/). Importing files needs no daemon;
// the live kernel entries and the handlers to export come from binfmtd over D-Bus, so
// binfmtctl still never reads the kernel itself.
#pragma once

#include "command_table.hpp"

namespace binfmtctl {

/// Both return the exit status; they connect to binfmtd only when they need it, and a
/// binfmtd::client::Error propagates to main(), which reports it.
int runImport(const Invocation& inv);
int runExport(const Invocation& inv);

}  // namespace binfmtctl
