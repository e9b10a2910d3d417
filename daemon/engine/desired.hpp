// Turning the configuration into the kernel entries it asks for: architectures are
// resolved through the catalogue and the installed emulators, custom handlers are
// taken as written. Whatever cannot be resolved becomes a Problem, never an exception,
// so one bad item does not block the others.
#pragma once

#include <string>
#include <vector>

#include "catalog/emulators.hpp"
#include "config/config.hpp"
#include "errors.hpp"
#include "engine/trust.hpp"
#include "kernel/entry.hpp"

namespace binfmtd::engine {

struct DesiredHandler {
  kernel::Entry entry;
  std::string architecture;  // canonical catalogue name, "" for custom handlers
  config::Location source;
  /// Whether a foreign entry with the same name may be replaced and taken over. True for
  /// architectures (the user asked for "arm64", not for somebody's qemu-aarch64), false
  /// for custom handlers, whose name the user chose.
  bool adopt = false;
  int priority = 0;
  /// Set when another wanted handler with a higher priority matches the same binaries:
  /// this one is registered but kept disabled (entry.enabled == false), ready to take over.
  std::string standbyFor;
};

struct Problem {
  std::string handler;       // handler name, when known
  std::string architecture;  // catalogue name, when an architecture
  Errc code;
  std::string message;
  config::Location source;
};

struct DesiredSet {
  std::vector<DesiredHandler> handlers;  // sorted by name
  /// Items the config names but switches off, resolved as far as possible: shown to
  /// users (state "inactive") so that they can be found and enabled again.
  std::vector<DesiredHandler> inactive;
  std::vector<Problem> problems;
  /// Two handlers for the same binaries with the same priority: reported as errors.
  std::vector<std::string> ambiguities;
  /// Worth a line in the log, not an error: the C flag, asked for by name.
  std::vector<std::string> warnings;
};

/// The machine binfmtd runs on: its uname(2) machine and where emulators are found.
struct Host {
  std::string machine;
  catalog::EmulatorSearch emulators;
  static Host detect();  // uname(2), root "/", AT_FLAGS from the kernel version
};

/// Resolves one architecture to the entry binfmtd would register for it, with the
/// interpreter and flags overrides applied. Throws Error(NativeArchitecture),
/// Error(EmulatorNotFound) or Error(InterpreterUntrusted) with the sentence that says
/// what to do.
/// `trusted` as for checkInterpreter().
DesiredHandler resolveArchitecture(const catalog::Architecture& arch, const Host& host,
                                   const config::ArchitectureRequest* request = nullptr,
                                   TrustedDirs* trusted = nullptr);

/// Every enabled item of the config, resolved, with priorities applied: of the handlers
/// that match the same binaries only the highest priority stays enabled.
DesiredSet desiredHandlers(const config::Config& config, const Host& host);

}  // namespace binfmtd::engine
