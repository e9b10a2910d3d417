#include "apply.hpp"

#include <system_error>

#include "kernel/binfmt_fs.hpp"
#include "log.hpp"

namespace binfmtd {

void makeDirs(const Options& o) {
  for (const auto& dir : {o.config.adminDir / "conf.d", o.config.runtimeDir / "conf.d",
                          o.stateDir}) {
    std::error_code ec;  // a directory that cannot be made is reported when it is used
    std::filesystem::create_directories(dir, ec);
  }
}

void logReport(const engine::ReconcileReport& report) {
  for (const auto& c : report.changes) log::info(c, {{"HANDLER", c.substr(0, c.find(':'))}});
  for (const auto& e : report.errors) log::error(e);
  for (const auto& w : report.warnings) log::warning(w);
  log::info("Reconciled: " + report.result + ", " + std::to_string(report.writes) +
            " write(s) to binfmt_misc");
}

int applyOnce(const Options& options) {
  makeDirs(options);
  kernel::BinfmtFs binfmt(options.binfmtDir);
  engine::Host host = engine::Host::detect();
  host.emulators.root = options.emulatorRoot;
  engine::Engine engine(binfmt, options.config, options.stateDir, host);
  const auto& report = engine.reconcile();
  logReport(report);
  return report.result == "ok" ? 0 : 1;
}

}  // namespace binfmtd
