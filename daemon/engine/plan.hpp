// plan(desired, actual, owned) -> actions: the whole reconcile policy as a pure function,
// so every case is a unit test. apply() carries a plan out against a kernel table.
#pragma once

#include <map>
#include <set>
#include <string>
#include <vector>

#include "engine/desired.hpp"
#include "engine/ownership.hpp"
#include "kernel/binfmt_fs.hpp"

namespace binfmtd::engine {

enum class ActionKind {
  Register,  // not in the kernel: write it
  Replace,   // in the kernel with another definition: remove, then register
  Enable,    // ours and as configured, but disabled: write 1
  Remove,    // ours and no longer wanted: write -1
  Adopt,     // a foreign entry identical to the wanted one: take ownership, no write
  Forget,    // recorded as ours but gone or changed by someone else: drop the record
};

struct Action {
  ActionKind kind;
  kernel::Entry entry;   // the wanted entry (Register, Replace, Adopt) or the current one
  kernel::Entry previous;  // Replace: what is in the kernel now, restored if registering fails
  std::string reason;    // for the log: "interpreter changed", "disabled by someone else"
};

/// A wanted entry that binfmtd leaves alone because its name belongs to someone else.
struct Conflict {
  std::string name;
  std::string message;
};

struct Plan {
  std::vector<Action> actions;  // removals first, then the rest in name order
  std::vector<Conflict> conflicts;
  bool empty() const { return actions.empty(); }
};

struct PlanOptions {
  /// False while part of the config could not be read at all: then nothing owned is
  /// removed, because its absence from the config may be the broken file's fault.
  bool allowRemovals = true;
  /// Names that must not be removed (items whose config is currently invalid).
  std::set<std::string> keep;
};

Plan plan(const std::vector<DesiredHandler>& desired, const std::vector<kernel::Entry>& actual,
          const std::map<std::string, kernel::Entry>& owned, const PlanOptions& options = {});

struct ApplyResult {
  unsigned writes = 0;                   // writes made to binfmt_misc
  std::vector<std::string> changes;      // "qemu-aarch64: registered"
  std::map<std::string, std::string> failures;  // handler name -> sentence
};

/// Carries out the plan, one action at a time; a failed action is reported and the
/// others go on. A Replace whose register step fails puts the previous entry back.
/// Ownership is updated for every action that succeeded (the caller saves it).
ApplyResult apply(const Plan& plan, kernel::KernelTable& table, Ownership& ownership);

/// "registered", "replaced", ... for logs and change lines.
const char* describe(ActionKind kind);

}  // namespace binfmtd::engine
