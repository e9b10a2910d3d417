// binfmtd: wires the pieces together and does nothing else. The engine reconciles,
// the frontend presents its state (the service layer on D-Bus, or with --no-bus the
// status file), the event loop waits.
#include <signal.h>
#include <systemd/sd-daemon.h>

#include <cstdio>
#include <filesystem>
#include <functional>
#include <memory>
#include <system_error>

#include "apply.hpp"
#include "engine/engine.hpp"
#include "event_loop.hpp"
#include "kernel/binfmt_fs.hpp"
#include "frontend.hpp"
#include "log.hpp"
#include "no_bus_frontend.hpp"
#include "options.hpp"
#include "probe_config.hpp"
#include "service/manager_object.hpp"
#include "service/object_path.hpp"
#include "system_bus.hpp"
#include "verify/verifier.hpp"

using namespace binfmtd;

namespace {

void logHeal(const engine::HealResult& result) {
  for (const auto& c : result.repairs)
    log::notice("Repaired " + c, {{"HANDLER", c.substr(0, c.find(':'))}});
  for (const auto& p : result.problems) log::warning(p);
}

std::string statusLine(const engine::Status& s) {
  unsigned owned = 0, foreign = 0, problems = 0;
  for (const auto& h : s.handlers) {
    if (h.state == "error" || h.state == "conflict" || h.state == "missing" ||
        h.state == "shadowed")
      ++problems;
    (h.owned ? owned : foreign) += h.inKernel ? 1 : 0;
  }
  std::string line = std::to_string(owned) + " handler(s) registered, " +
                     std::to_string(foreign) + " foreign";
  if (problems != 0) line += ", " + std::to_string(problems) + " with problems";
  if (!s.configErrors.empty()) line += ", config errors";
  return line;
}

}  // namespace

int main(int argc, char** argv) {
  // The probe runner reaps its children with sd_event_add_child, which needs SIGCHLD
  // blocked in every thread: blocked here, before anything can start one.
  sigset_t chld;
  sigemptyset(&chld);
  sigaddset(&chld, SIGCHLD);
  sigprocmask(SIG_BLOCK, &chld, nullptr);

  int exitCode = 0;
  auto options = parseOptions(argc, argv, &exitCode);
  if (!options) return exitCode;
  log::init();
  if (options->apply) return applyOnce(*options);
  makeDirs(*options);

  kernel::BinfmtFs binfmt(options->binfmtDir);
  engine::Host host = engine::Host::detect();
  host.emulators.root = options->emulatorRoot;
  engine::Engine engine(binfmt, options->config, options->stateDir, host);

  try {
    std::unique_ptr<sdbus::IConnection> bus;  // none with --no-bus
    if (!options->noBus) bus = connectSystemBus();
    std::unique_ptr<Frontend> frontend;
    std::function<void()> scheduleCheck;  // set once the loop exists
    auto reconcile = [&](const char* why) {
      log::info(std::string("Reconciling: ") + why);
      const auto& report = engine.reconcile();
      logReport(report);
      frontend->reconciled(report.changes);
    };
    EventLoop loop({
        .reload =
            [&] {
              sd_notify(0, "RELOADING=1");
              reconcile("SIGHUP");
              sd_notify(0, "READY=1");
            },
        .configChanged = [&] { reconcile("configuration changed"); },
        .checkKernel =
            [&] {
              auto result = engine.heal(EventLoop::now());
              if (!result.empty()) {
                logHeal(result);
                frontend->repaired(result);
              }
              scheduleCheck();
            },
    });
    if (bus) loop.attachBus(*bus);
    // The next periodic check, or the end of a back-off, whichever comes first. Called
    // after every check and every change of the engine's view (reconcile, D-Bus call).
    scheduleCheck = [&] {
      const config::Healing& healing = engine.healing();
      std::uint64_t next = 0;
      if (healing.enabled && healing.interval > 0)
        next = EventLoop::now() + static_cast<std::uint64_t>(healing.interval * 1e6);
      const std::uint64_t holdEnd = engine.nextHoldEnd();
      if (holdEnd != 0 && (next == 0 || holdEnd < next)) next = holdEnd;
      if (next != 0) loop.checkAt(next);
    };
    verify::Verifier verifier(
        loop.event(), options->probeDir, BINFMTD_PROBE_EXIT_STATUS,
        {.probed =
             [&](const verify::Subject& s, const verify::Verdict& v) {
               log::write(v.verification == verify::kFailed ? log::Level::Warning
                                                            : log::Level::Info,
                          "Probe for " + s.handler + ": " + v.verification + ", " + v.detail,
                          {{"HANDLER", s.handler}});
               frontend->verificationChanged();
             },
         .versionKnown = [&] { frontend->verificationChanged(); }});
    auto onChange = [&](const engine::Status& s) {
      sd_notifyf(0, "STATUS=%s", statusLine(s).c_str());
      scheduleCheck();
    };
    if (bus)
      frontend = std::make_unique<service::ManagerObject>(
          *bus, engine, options->binfmtDir.string(), verifier, onChange,
          [&] { return loop.kernelGeneration(); });
    else
      frontend =
          std::make_unique<NoBusFrontend>(loop.event(), engine, verifier, *options, onChange);
    for (const auto& dir : options->config.watchDirs()) loop.watch(dir);

    reconcile("startup");
    loop.watchKernel(options->binfmtDir);
    // The name last: a client that sees it can rely on the first reconcile being done.
    if (bus) bus->requestName(kBusName);
    frontend->announce();
    sd_notify(0, "READY=1");
    int r = loop.run();
    sd_notify(0, "STOPPING=1");
    frontend.reset();
    return r < 0 ? 1 : 0;
  } catch (const sdbus::Error& e) {
    log::error("D-Bus: " + e.getMessage() + " (" + e.getName() + ")");
    return 1;
  } catch (const std::exception& e) {
    log::error(e.what());
    return 1;
  }
}
