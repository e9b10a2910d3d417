// What binfmtctl doctor learns on its own, with the user's rights and in the user's
// namespaces (which is what the user's programs get when they exec): the kernel, the
// binfmt_misc mounts and entries visible here, WSL, and the other programs that manage
// binfmt_misc. Only reads; the parsing functions are pure so they can be tested alone.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "kernel/entry.hpp"

namespace binfmtctl {

inline constexpr const char* kDefaultBinfmtMisc = "/proc/sys/fs/binfmt_misc";

struct LocalEntry {
  binfmtd::kernel::Entry entry;
  bool interpreterExists = false;
  /// Registered from a container image (tonistiigi/binfmt, multiarch/qemu-user-static):
  /// a qemu-* entry with F whose interpreter does not exist on this host.
  bool fromContainer = false;
};

struct LocalFacts {
  std::string kernelRelease;
  std::string machine;                    // uname -m
  bool initialUserNamespace = true;
  std::vector<std::string> binfmtMounts;  // every binfmt_misc mount point here
  std::string viewPath;                   // the one read below; "" when none is mounted
  std::optional<bool> globalEnabled;      // its `status`; nullopt when unreadable
  std::vector<LocalEntry> entries;
  std::vector<std::string> unreadable;    // "name: reason"

  bool wslKernel = false;                 // "microsoft" in the kernel's osrelease
  std::vector<std::string> wslInterop;    // WSLInterop, WSLInterop-late entries

  bool systemdPid1 = false;               // /run/systemd/system exists
  std::string systemdBinfmtState;         // "masked", "active", "inactive", ... or ""
  std::vector<std::string> binfmtDFiles;  // the *.conf files systemd-binfmt applies
  std::size_t binfmtDRules = 0;

  bool updateBinfmts = false;             // binfmt-support's /usr/sbin/update-binfmts
  std::vector<std::string> binfmtSupportFormats;  // names in /var/lib/binfmts
};

/// Collects the facts. `daemonPath` is the binfmt_misc directory binfmtd manages (normally
/// /proc/sys/fs/binfmt_misc): it is read when mounted here, else /proc/sys/fs/binfmt_misc,
/// else the first binfmt_misc mount found.
LocalFacts collectLocalFacts(const std::string& daemonPath);

/// Mount points of binfmt_misc filesystems in a /proc/self/mountinfo text, in its order.
std::vector<std::string> binfmtMountPoints(std::string_view mountinfo);

/// True when /proc/self/ns/user is the initial user namespace (Linux gives it the fixed
/// inode 0xEFFFFFFD). uid_map cannot tell: a root parent may map "0 0 4294967295" too.
bool inInitialUserNamespace();

/// Whether an entry looks installed from a container image (see LocalEntry).
bool looksInstalledFromContainer(const binfmtd::kernel::Entry& entry, bool interpreterExists);

}  // namespace binfmtctl
