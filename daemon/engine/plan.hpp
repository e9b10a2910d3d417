// plan(desired, actual, owned) -> actions: the whole reconcile policy as a pure function,
// so every case is a unit test. apply() carries a plan out against a kernel table.
// "actual" is in the kernel's match order (newest first), which decides shadowing.
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
  Register,  // not in the kernel: write it (then 0 if it stands by)
  Replace,   // in the kernel with another definition: remove, then register
  Enable,    // ours and as configured, but disabled: write 1
  Disable,   // ours, standing by for a higher priority handler, but enabled: write 0
  Reorder,   // ours, shadowed by a newer foreign entry but preferred: remove, register again
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

/// An entry of ours that a newer foreign entry matching the same binaries hides: the
/// kernel tries the foreign one first. Reported, not fought (priority <= 0).
struct Shadow {
  std::string name;
  std::string by;           // the foreign entry's name
  std::string message;
};

/// The sentence for a Shadow: what happens and what to do about it.
std::string shadowMessage(const std::string& name, const kernel::Entry& by);

struct Plan {
  /// Removals first, then the rest by priority (lowest first, so that the preferred
  /// handler is registered last and tried first) and name.
  std::vector<Action> actions;
  std::vector<Conflict> conflicts;
  std::vector<Shadow> shadows;
  bool empty() const { return actions.empty(); }
};

struct PlanOptions {
  /// False while part of the config could not be read at all: then nothing owned is
  /// removed, because its absence from the config may be the broken file's fault.
  bool allowRemovals = true;
  /// Names that must not be removed (items whose config is currently invalid).
  std::set<std::string> keep;
  /// Names not to repair for now: another program keeps undoing them (back-off).
  std::set<std::string> hold;
};

/// The kernel's match order (newest first), prepared to answer "which entry of another
/// program does the kernel try before this one" in time proportional to the number of
/// foreign entries, so that planning stays linear in the number of handlers.
class MatchOrder {
 public:
  MatchOrder(const std::vector<kernel::Entry>& actual,
             const std::map<std::string, kernel::Entry>& owned);

  /// The foreign, enabled entry registered after `entry` that matches every binary
  /// `entry` matches (the one the kernel uses instead), or nullptr.
  const kernel::Entry* shadowing(const kernel::Entry& entry) const;

 private:
  std::map<std::string, std::size_t> position_;  // name -> index, 0 = newest
  std::vector<std::pair<std::size_t, const kernel::Entry*>> foreign_;
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
