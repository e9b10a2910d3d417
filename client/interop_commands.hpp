// binfmtctl import and export: other tools' handler definitions (systemd's binfmt.d,
// Debian's binfmt-support) to binfmtd's JSON configuration, and binfmtd's handlers back to
// those formats. Importing files needs no daemon; the live kernel entries and the handlers
// to export come from binfmtd over D-Bus, so binfmtctl still never reads the kernel itself.
#pragma once

#include <string>
#include <vector>

namespace binfmtctl {

struct InteropOptions {
  std::string from;    // import: "binfmt.d" (default), "binfmt-support" or "kernel"
  std::string format;  // export: "binfmt.d" (default), "binfmt-support" or "json"
  std::string output;  // file to write (a directory for binfmt-support); "" for stdout
  bool all = false;    // export: foreign entries too; import --from=kernel: binfmtd's too
};

bool isInteropCommand(const std::string& command);

/// Runs import or export and returns the exit code. Connects to the system bus only when
/// it needs binfmtd; sdbus::Error propagates to the caller, which reports it.
int runInteropCommand(const std::string& command, const std::vector<std::string>& args,
                      const InteropOptions& options);

}  // namespace binfmtctl
