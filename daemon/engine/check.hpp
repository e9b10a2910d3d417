// `binfmtctl check FILE`: which handler the kernel would use for a file, and if none,
// why not and what fixes it. A pure function of the file's first bytes and name, of what
// binfmtctl saw in the caller's own namespaces, and of the kernel table, so every case is
// a unit test; the daemon never opens the file or anything in the caller's root.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "engine/desired.hpp"
#include "kernel/binfmt_fs.hpp"

namespace binfmtd::engine {

/// What binfmtctl found out in the caller's own root and namespaces, where the kernel
/// will look when the program starts: hints the daemon takes as given, since it cannot
/// (and must not) look there itself.
struct CallerView {
  std::uint64_t size = 0;  // the file's size, 0 when not known
  std::vector<std::string> arguments;  // what follows the file on the command line
  /// An interpreter path that does not exist (or is not executable) in the caller's root.
  std::string hiddenInterpreter;
  /// The caller's root directory is not PID 1's: a chroot or a container.
  bool otherRoot = false;
  std::uint64_t userNamespace = 0;  // inode of the caller's user namespace, 0 when unknown
  /// Device of the binfmt_misc mounted at /proc/sys/fs/binfmt_misc in the caller's mount
  /// namespace (0: none), and how many entries it holds.
  std::uint64_t binfmtDevice = 0;
  std::uint32_t binfmtEntries = 0;
};

struct CheckInput {
  std::string header;  // the file's first bytes (256 are used)
  std::string path;    // as the user would run it (extensions are matched on it)
  bool mounted = true;
  bool globalEnabled = true;
  std::string binfmtDir = "/proc/sys/fs/binfmt_misc";
  kernel::Table actual;                        // match order, newest first
  std::map<std::string, kernel::Entry> owned;  // binfmtd's entries
  std::vector<DesiredHandler> desired;         // what the config asks for
  Host host;
  CallerView caller;
  std::uint64_t userNamespace = 0;  // binfmtd's own user namespace (inode), 0 when unknown
  std::uint64_t binfmtDevice = 0;   // device of the binfmt_misc binfmtd manages, 0 unknown
};

struct CheckResult {
  std::string format;        // what the file is: "ELF 64-bit LSB, aarch64"
  std::string architecture;  // catalogue name, "" when none
  /// "native" (the kernel runs it itself), "handled" (by `handler`), "broken" (a handler
  /// takes it but it cannot run), "unhandled" (exec fails: "Exec format error"), or
  /// "unknown" (a binfmt_misc table binfmtd cannot see decides).
  std::string verdict;
  /// Why, as one word: native, script, handled, no-handler, no-emulator, not-registered,
  /// disabled, no-fix-binary, interpreter-missing, shadowed, not-mounted, binfmt-disabled,
  /// user-namespace, truncated, unknown-format.
  std::string cause;
  std::string handler;
  std::string interpreter;
  std::string flags;              // the handler's flags
  std::string reason;             // one sentence
  std::string fix;                // the command or step that fixes it; "" when none
  std::vector<std::string> notes; // caveats: no F flag, shadowing, ...
  /// What exec reports when it fails ("Exec format error", "No such file or directory"),
  /// "" when it starts something.
  std::string error;
  /// The command line the kernel runs: the interpreter, the file and the arguments as
  /// binfmt_misc (or the script loader) arranges them; empty when exec fails.
  std::vector<std::string> command;
};

CheckResult check(const CheckInput& in);

}  // namespace binfmtd::engine
