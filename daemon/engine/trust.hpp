// Whether an interpreter may be registered. A binfmt_misc interpreter runs for every
// matching exec on the machine (with the C flag, with a setuid binary's credentials), so
// whoever can change the file, or any directory on the way to it, can run code as the
// users of those binaries: only what root alone controls is trusted.
#pragma once

#include <string>
#include <unordered_set>

#include "kernel/entry.hpp"

namespace binfmtd::engine {

/// Throws Error(InterpreterUntrusted) naming the problem when `entry`'s interpreter is
/// not an absolute path, is not a regular executable file, or when it, a symlink on the
/// way to it or a directory on its path (symlinks resolved, so that Debian's
/// /usr/libexec/qemu-binfmt/*-binfmt-P links are followed to the emulator) is not owned by
/// root or is writable by group or others. A world-writable directory with the sticky bit
/// (/tmp) is accepted: nobody but the owner can replace what root put in it. A missing
/// interpreter throws Error(EmulatorNotFound), unless `allowMissing` and the entry has no
/// F flag (the kernel then opens it only at exec time).
///
/// `trusted`, when given, holds the directories already found trusted in this pass and
/// gains the ones found now: the same few (/, /usr, /usr/libexec, ...) lead to every
/// interpreter. Keep it for one pass (one reconcile) only, since owners and modes change.
using TrustedDirs = std::unordered_set<std::string>;
void checkInterpreter(const kernel::Entry& entry, bool allowMissing,
                      TrustedDirs* trusted = nullptr);

}  // namespace binfmtd::engine
