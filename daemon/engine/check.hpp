// `binfmtctl check FILE`: which handler the kernel would use for a file, and if none,
// why not and what fixes it. A pure function of the file's first bytes and name and of
// the kernel table, so every case is a unit test; the daemon never opens the file.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "engine/desired.hpp"
#include "kernel/binfmt_fs.hpp"

namespace binfmtd::engine {

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
};

struct CheckResult {
  std::string format;        // what the file is: "ELF 64-bit LSB, aarch64"
  std::string architecture;  // catalogue name, "" when none
  /// "native" (the kernel runs it itself), "handled" (by `handler`), "broken" (a
  /// handler takes it but cannot work), "unhandled" (exec fails: "Exec format error").
  std::string verdict;
  std::string handler;
  std::string interpreter;
  std::string reason;             // one sentence
  std::string fix;                // the command or step that fixes it; "" when none
  std::vector<std::string> notes; // caveats: no F flag, shadowing, ...
};

CheckResult check(const CheckInput& in);

}  // namespace binfmtd::engine
