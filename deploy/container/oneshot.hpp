// The one-shot mode of the container image: a drop-in for tonistiigi/binfmt's command
// line. Registers (--install) and removes (--uninstall) QEMU entries in binfmt_misc, with
// the F flag so that they keep working after the container exits, then prints the status
// tonistiigi/binfmt prints: the platforms that really execute (each proven by running its
// probe program) and the entries. Never flushes binfmt_misc, never unmounts it, and never
// touches WSLInterop.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

namespace binfmtd::container {

struct OneShotOptions {
  std::string install;    // "all" or a comma-separated list of names (OCI, aliases)
  std::string uninstall;  // comma-separated entry names, globs or architecture names
  std::filesystem::path mount = "/proc/sys/fs/binfmt_misc";
  std::filesystem::path probeDir;
};

/// Both run programs from an sd-event loop: SIGCHLD must be blocked (main does it).

/// Runs the one-shot: uninstall, install, then the JSON status on stdout; the progress
/// ("installing: arm64 OK") on stderr. Returns 0 when every step worked, 1 otherwise.
int runOneShot(const OneShotOptions& options);

/// The architectures `--install all` means here: every catalogue architecture with an
/// OCI platform name whose emulator is installed, other than the host's own family.
std::vector<std::string> allArchitectures();

/// "binfmt/binfmtd-0.1.0 qemu/v7.2.18 (...)": the versions, as tonistiigi/binfmt prints.
std::string versionLine();

}  // namespace binfmtd::container
