// The reconciler: reads the config and the kernel afresh, plans, applies, and keeps the
// report of the last run. Free of D-Bus: the daemon's service layer and `binfmtd --apply`
// both drive it.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "config/config.hpp"
#include "engine/check.hpp"
#include "engine/desired.hpp"
#include "engine/ownership.hpp"
#include "engine/plan.hpp"
#include "kernel/binfmt_fs.hpp"

namespace binfmtd::engine {

struct ReconcileReport {
  std::uint64_t time = 0;         // CLOCK_REALTIME, microseconds; 0 = never
  std::string result;             // "ok", "partial", "failed", "" before the first run
  unsigned writes = 0;
  std::vector<std::string> changes;
  std::vector<std::string> errors;  // one sentence each
  std::vector<std::string> warnings;  // for the log only; the result stays "ok"
};

/// What a repair pass (heal) did: empty when the kernel was as it should be.
struct HealResult {
  unsigned writes = 0;
  std::vector<std::string> repairs;   // change lines, as in ReconcileReport
  std::vector<std::string> problems;  // found by this pass and not reported before
  bool empty() const { return writes == 0 && repairs.empty() && problems.empty(); }
};

/// One line of a dry run: what a reconcile would do now, and why.
struct PlannedStep {
  std::string action;  // register, replace, enable, disable, reorder, remove, adopt,
                       // conflict, shadowed, error
  std::string name;
  std::string reason;
};

struct HandlerStatus {
  kernel::Entry entry;     // the kernel's view when present, else the configured one
  std::string architecture;
  bool inKernel = false;
  bool owned = false;
  /// registered | disabled | standby | shadowed | inactive | missing | conflict | error
  std::string state;
  std::string lastError;   // why it is not simply registered; "" when it is
  std::string shadowedBy;  // the newer foreign entry the kernel tries first, if any
  int priority = 0;
  std::string source;      // "file:line:col" of the config item; "" when foreign
};

struct Status {
  bool mounted = false;
  bool globalEnabled = false;
  std::vector<std::string> configFiles;
  std::vector<std::string> configErrors;
  ReconcileReport last;
  std::vector<HandlerStatus> handlers;  // sorted by name
};

/// The catalogue as seen on this host, for ListArchitectures.
struct ArchitectureInfo {
  std::string name;
  std::vector<std::string> aliases;
  std::vector<std::string> ociPlatforms;
  std::string handler;
  std::string interpreter;  // "" when no emulator is installed
  bool isStatic = false;
  bool hostFamily = false;
  std::string defaultFlags;
  bool configured = false;  // enabled in the config
};

class Engine {
 public:
  Engine(kernel::KernelTable& table, config::Paths paths, std::filesystem::path stateDir,
         Host host);

  /// Loads the config and brings the kernel in line with it. Never throws: failures are
  /// in the report (and in the handlers' LastError). Ends every back-off: the user or
  /// the config acted, so binfmtd tries again.
  const ReconcileReport& reconcile();

  /// Repairs what others did to binfmtd's entries since the last pass, against the
  /// config already loaded: entries removed, changed or disabled, the table flushed, a
  /// preferred entry shadowed; the global status is re-enabled only if the config says
  /// so. An entry that is undone again and again is left alone for a growing while
  /// (back-off) and reported as a conflict. `now` is CLOCK_MONOTONIC in microseconds.
  /// Does nothing when healing is off in the config. Never throws.
  HealResult heal(std::uint64_t now);

  /// When the earliest back-off ends (CLOCK_MONOTONIC, microseconds), 0 if none: the
  /// daemon checks again then.
  std::uint64_t nextHoldEnd() const;

  /// A dry run: what reconcile() would do with the config on disk now. Writes nothing
  /// and mounts nothing.
  std::vector<PlannedStep> preview() const;

  /// Which handler the kernel would use for a file (its first bytes and its path, as the
  /// caller read them, with what binfmtctl saw in the caller's namespaces), and otherwise
  /// why not and the fix. Reads the kernel table now; binfmtDir is where it is mounted
  /// (for the commands in the fixes, and to tell its instance from the caller's).
  CheckResult check(const std::string& path, const std::string& header,
                    const CallerView& caller = {},
                    const std::filesystem::path& binfmtDir = "/proc/sys/fs/binfmt_misc") const;

  /// Enables or disables architectures (any alias) or configured handlers, persisted in
  /// the binfmtctl drop-in (runtime: under /run), then reconciles. Every name is checked
  /// before anything is written. Throws Error naming the first bad name, or the first
  /// handler the kernel refused. Returns the change lines.
  std::vector<std::string> enable(const std::vector<std::string>& names, bool runtime);
  std::vector<std::string> disable(const std::vector<std::string>& names, bool runtime);

  /// A fresh view: reads the kernel table now, combined with the last reconcile.
  Status status() const;
  std::vector<ArchitectureInfo> architectures() const;

  const ReconcileReport& lastReport() const { return last_; }
  const config::LoadResult& lastConfig() const { return loaded_; }
  const config::Paths& paths() const { return paths_; }
  const config::Healing& healing() const { return loaded_.config.healing; }

 private:
  struct Targets {
    std::vector<std::string> architectures;
    std::vector<std::string> handlers;
  };
  Targets resolveNames(const std::vector<std::string>& names, bool enabling) const;
  std::vector<std::string> change(const std::vector<std::string>& names, bool enabled,
                                  bool runtime);
  void checkGlobalStatus(HealResult& result);
  /// The entries on hold at `now`; forgets repairs older than the window and ended holds.
  std::set<std::string> holds(std::uint64_t now);
  void recordRepairs(const Plan& done, const ApplyResult& applied, std::uint64_t now,
                     HealResult& result);

  /// An entry others keep undoing: when binfmtd repaired it, and how long it waits now.
  struct Fight {
    std::vector<std::uint64_t> repairs;  // monotonic times within the last window
    unsigned rounds = 0;                 // back-offs so far; each one doubles the wait
    std::uint64_t holdUntil = 0;
    std::string message;
  };

  kernel::KernelTable& table_;
  config::Paths paths_;
  Host host_;
  Ownership ownership_;
  std::map<std::string, std::string> lastGood_;  // config file -> last text that parsed
  config::LoadResult loaded_;
  DesiredSet desired_;
  Plan plan_;
  std::map<std::string, std::string> failures_;  // handler -> last error
  ReconcileReport last_;
  std::string lastFatal_;  // why the last reconcile failed as a whole, if it did
  Errc lastFatalCode_ = Errc::NotMounted;
  std::map<std::string, Fight> fights_;
  std::string lastHealError_;      // reported once, until it changes
  bool globalDisabledReported_ = false;
};

}  // namespace binfmtd::engine
