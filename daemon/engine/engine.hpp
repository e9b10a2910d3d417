// The reconciler: reads the config and the kernel afresh, plans, applies, and keeps the
// report of the last run. Free of D-Bus: the daemon's service layer and `binfmtd --apply`
// both drive it.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "config/config.hpp"
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
};

struct HandlerStatus {
  kernel::Entry entry;     // the kernel's view when present, else the configured one
  std::string architecture;
  bool inKernel = false;
  bool owned = false;
  std::string state;       // registered | disabled | missing | conflict | error
  std::string lastError;
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
  /// in the report (and in the handlers' LastError).
  const ReconcileReport& reconcile();

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

 private:
  struct Targets {
    std::vector<std::string> architectures;
    std::vector<std::string> handlers;
  };
  Targets resolveNames(const std::vector<std::string>& names, bool enabling) const;
  std::vector<std::string> change(const std::vector<std::string>& names, bool enabled,
                                  bool runtime);

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
};

}  // namespace binfmtd::engine
