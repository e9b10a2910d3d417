#include "doctor_command.hpp"

#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>

#include "binfmtd-client/client.hpp"
#include "catalog/emulators.hpp"
#include "local_facts.hpp"
#include "table.hpp"
#include "terminal.hpp"

namespace binfmtctl {

namespace {

namespace client = binfmtd::client;
using binfmtd::HandlerState;

using Json = nlohmann::ordered_json;

std::string str(std::string_view v) { return std::string(v); }

// --- What binfmtd reports ------------------------------------------------------------

enum class VerifyStatus { NotRun, Ran, TooOld, Failed };

struct DaemonFacts {
  bool running = false;
  std::string unreachable;  // why not, when not running
  std::string notRunning;   // the problem to list then
  std::optional<client::NoBusDaemon> noBus;  // the status of a bus-less binfmtd, if one runs
  client::Manager manager;
  std::vector<client::Architecture> archs;
  std::vector<client::Handler> handlers;
  VerifyStatus verify = VerifyStatus::NotRun;
  std::string verifyError;
  std::map<std::string, std::pair<std::string, std::string>> results;  // name -> (verdict, detail)

  const client::Handler* handler(const std::string& name) const {
    for (const auto& h : handlers)
      if (h.name == name) return &h;
    return nullptr;
  }
};

void callVerify(client::Client& c, DaemonFacts& d) {
  try {
    for (const auto& r : c.verify({}))
      d.results[r.handler] = {str(binfmtd::toString(r.verification)), r.detail};
    d.verify = VerifyStatus::Ran;
  } catch (const client::Error& e) {
    // A binfmtd from before verified emulation has no Verify: say so, do not fail.
    if (e.kind() == client::ErrorKind::UnknownMethod) {
      d.verify = VerifyStatus::TooOld;
    } else {
      d.verify = VerifyStatus::Failed;
      d.verifyError = e.message();
    }
  }
}

DaemonFacts collectDaemonFacts() {
  DaemonFacts d;
  try {
    client::Client c;
    d.manager = c.manager();
    d.archs = c.architectures();
    d.handlers = c.handlers();
    d.running = true;
    callVerify(c, d);
  } catch (const client::Error& e) {
    d.running = false;
    d.unreachable = e.reason();
    d.notRunning = client::notRunningSentence(e);
    // Not on the bus, perhaps because it runs without it (binfmtd --no-bus).
    if (e.noBusDaemon() != nullptr) d.noBus = *e.noBusDaemon();
  }
  return d;
}

// --- The report ------------------------------------------------------------------------

enum class Mark { Ok, None, Fail };

const char* markJson(Mark m) { return m == Mark::Ok ? "ok" : m == Mark::Fail ? "fail" : "none"; }
std::string markPainted(Mark m) {
  if (m == Mark::Ok) return term::paint("ok", term::Style::Good);
  if (m == Mark::Fail) return term::paint("FAIL", term::Style::Bad);
  return "--";
}

struct Finding {
  std::string text;
  std::string fix;  // a command, or ""
};

struct ArchRow {
  std::string arch, handler, emulator;
  bool isStatic = false, configured = false;
  std::vector<std::string> platforms;
  Mark registered = Mark::None, enabled = Mark::None, interpreter = Mark::None,
       executes = Mark::None;
  std::string verification;  // passed, failed, unverified, no-probe, not-verified, binfmtd-too-old
  std::string detail;
  std::vector<std::string> notes;
};

struct Report {
  LocalFacts local;
  DaemonFacts daemon;
  std::vector<ArchRow> archs;
  std::vector<Finding> problems, notes;
  std::string systemdBinfmtEffect, binfmtSupportEffect, containerEffect;
};

// The package that provides an interpreter, for fix lines.
std::string installFix(const std::string& interpreter) {
  if (interpreter.empty() || interpreter.find("qemu") != std::string::npos)
    return "apt install qemu-user-static";
  return "install the program " + interpreter;
}

std::string binfmtPath(const Report& r) {
  if (!r.daemon.manager.binfmtMiscPath.empty()) return r.daemon.manager.binfmtMiscPath;
  return r.local.viewPath.empty() ? kDefaultBinfmtMisc : r.local.viewPath;
}

// A handler as a bus-less binfmtd reports it in its status file.
const client::Handler* noBusHandler(const DaemonFacts& d, const std::string& name) {
  return d.running || !d.noBus ? nullptr : d.noBus->handler(name);
}

void verificationOf(const DaemonFacts& d, const client::Handler* h, ArchRow& row) {
  std::string verdict, detail;
  if (h != nullptr && d.results.count(h->name)) {
    std::tie(verdict, detail) = d.results.at(h->name);
  } else if (h != nullptr && h->verification) {
    verdict = str(binfmtd::toString(*h->verification));
    detail = h->verificationDetail;
  } else if (d.verify == VerifyStatus::TooOld) {
    verdict = "binfmtd-too-old";
    detail = "not verified (binfmtd too old)";
  } else if (const client::Handler* v = noBusHandler(d, row.handler)) {
    verdict = v->verification ? str(binfmtd::toString(*v->verification)) : "not-verified";
    detail = v->verificationDetail;
  } else if (!d.running) {
    verdict = "not-verified";
    detail = "not verified (binfmtd is not running)";
  } else {
    verdict = "not-verified";
    detail = d.verify == VerifyStatus::Failed ? "not verified: " + d.verifyError : "not verified";
  }
  row.verification = verdict;
  row.detail = detail;
  // binfmtd's verdicts, and doctor's own words for none ("not-verified", ...).
  const auto v = binfmtd::kVerifications.parse(verdict);
  row.executes = v == binfmtd::Verification::Passed   ? Mark::Ok
                 : v == binfmtd::Verification::Failed ? Mark::Fail
                                                      : Mark::None;
}

// One architecture as binfmtd reports it.
std::optional<ArchRow> rowFromDaemon(const Report& r, const client::Architecture& a) {
  const DaemonFacts& d = r.daemon;
  const client::Handler* h = d.handler(a.handler);
  const bool inKernel = h != nullptr && h->inKernel();
  if (a.native || (a.interpreter.empty() && !a.configured && !inKernel)) return std::nullopt;
  ArchRow row;
  row.arch = a.name;
  row.handler = a.handler;
  row.configured = a.configured;
  row.platforms = h != nullptr && !h->platforms.empty() ? h->platforms : a.ociPlatforms;
  row.emulator = inKernel ? h->interpreter : a.interpreter;
  row.isStatic = inKernel ? binfmtd::catalog::isStaticElf(h->interpreter) : a.isStatic;

  row.registered = inKernel ? Mark::Ok : a.configured ? Mark::Fail : Mark::None;
  if (inKernel) {
    // Disabled on purpose (standby, or by the owner of an entry nobody configured here)
    // is not a failure; disabled although configured is.
    row.enabled = h->enabled && d.manager.globalEnabled               ? Mark::Ok
                  : a.configured && h->state != HandlerState::Standby ? Mark::Fail
                                                                      : Mark::None;
    if (!h->enabled && !a.configured) row.notes.push_back("disabled by the program that registered it");
    if (h->state == HandlerState::Standby)
      row.notes.push_back("standby: a handler with a higher priority takes its binaries");
    if (h->state == HandlerState::Shadowed)
      row.notes.push_back("shadowed: a newer foreign entry takes its binaries");
    if (h->foreign()) row.notes.push_back("registered by another program (foreign)");
    const bool present = ::access(h->interpreter.c_str(), X_OK) == 0;
    if (present) {
      row.interpreter = Mark::Ok;
    } else if (h->flags.find('F') != std::string::npos) {
      row.interpreter = Mark::Ok;  // the kernel holds the file it opened at registration
      row.notes.push_back(h->interpreter + " is not on this host's disk; the kernel holds the file it opened at registration (F flag)");
    } else {
      row.interpreter = Mark::Fail;
    }
  } else {
    row.interpreter = !a.interpreter.empty() ? Mark::Ok : a.configured ? Mark::Fail : Mark::None;
  }
  verificationOf(d, inKernel ? h : nullptr, row);
  return row;
}

// One architecture from this shell's view alone, when binfmtd is not running.
std::optional<ArchRow> rowFromLocal(const Report& r, const binfmtd::catalog::Architecture& a) {
  if (binfmtd::catalog::isHostFamily(a, r.local.machine)) return std::nullopt;
  const std::string handler = binfmtd::catalog::handlerName(a);
  const LocalEntry* entry = nullptr;
  for (const auto& e : r.local.entries)
    if (e.entry.name == handler) entry = &e;
  for (const auto& e : r.local.entries)
    if (entry == nullptr && binfmtd::kernel::matches(e.entry, a.magic, "")) entry = &e;
  auto emulator = binfmtd::catalog::discover(a);
  if (entry == nullptr && !emulator) return std::nullopt;
  ArchRow row;
  row.arch = std::string(a.name);
  row.handler = entry != nullptr ? entry->entry.name : handler;
  for (auto p : a.ociPlatforms) row.platforms.emplace_back(p);
  row.emulator = entry != nullptr ? entry->entry.interpreter
                                  : emulator->interpreter.string();
  row.isStatic = binfmtd::catalog::isStaticElf(row.emulator);
  row.registered = entry != nullptr ? Mark::Ok : Mark::None;
  if (entry != nullptr) {
    row.enabled = entry->entry.enabled && r.local.globalEnabled.value_or(false) ? Mark::Ok : Mark::Fail;
    row.interpreter = entry->interpreterExists || entry->entry.flags.find('F') != std::string::npos
                          ? Mark::Ok
                          : Mark::Fail;
  } else {
    row.interpreter = Mark::Ok;
  }
  verificationOf(r.daemon, nullptr, row);
  return row;
}

void addArchProblems(Report& r, const ArchRow& row) {
  const std::string path = binfmtPath(r);
  const client::Handler* h = r.daemon.handler(row.handler);
  const std::string why = h != nullptr && !h->lastError.empty() ? ": " + h->lastError : "";
  // In the kernel, but not what the configuration asks (an older definition that could not
  // be replaced, a fight with another program): as much a problem as not registered.
  const bool stale = row.registered == Mark::Ok && row.configured && h != nullptr &&
                     (h->state == HandlerState::Missing || h->state == HandlerState::Error ||
                      h->state == HandlerState::Conflict);
  if (row.registered == Mark::Fail || stale) {
    Finding f{row.arch + " is enabled in the configuration, but " + row.handler +
                  (stale ? " is not registered as configured" : " is not registered") +
                  (h != nullptr ? " (state " + str(binfmtd::toString(h->state)) + ")" : "") + why,
              "binfmtctl reload"};
    if (row.emulator.empty()) f.fix = installFix("");
    if (h != nullptr && h->state == HandlerState::Conflict)
      f.fix = "echo -1 | sudo tee " + path + "/" + row.handler + " && binfmtctl reload";
    r.problems.push_back(f);
  } else if (row.enabled == Mark::Fail && r.daemon.manager.globalEnabled != false &&
             r.local.globalEnabled.value_or(true)) {
    const bool foreign = h == nullptr || h->foreign();
    r.problems.push_back({row.handler + " is registered but disabled: " + row.arch +
                              " binaries fail with \"Exec format error\"",
                          foreign ? "echo 1 | sudo tee " + path + "/" + row.handler
                                  : "binfmtctl enable " + row.arch});
  } else if (row.interpreter == Mark::Fail) {
    if (row.registered == Mark::Ok) {
      r.problems.push_back({"the interpreter " + row.emulator + " of " + row.handler +
                                " does not exist: " + row.arch +
                                " binaries fail with \"No such file or directory\"",
                            installFix(row.emulator)});
    } else {
      r.problems.push_back({row.arch + " is enabled in the configuration, but no emulator for it is installed",
                            installFix("")});
    }
  } else if (row.executes == Mark::Fail) {
    r.problems.push_back({"the " + row.arch + " probe did not run through " + row.handler + ": " +
                              row.detail,
                          row.emulator.find("qemu") != std::string::npos
                              ? "apt install --reinstall qemu-user-static"
                              : ""});
  }
}

// Where this shell's view and binfmtd's differ, in a sentence with the fix.
void compareViews(Report& r) {
  const LocalFacts& l = r.local;
  const DaemonFacts& d = r.daemon;
  if (!d.running || !d.manager.mounted) return;
  if (l.viewPath.empty()) {
    std::string text =
        "binfmt_misc is not mounted in this shell's mount namespace (binfmtd has it at " +
        d.manager.binfmtMiscPath +
        " in its own): programs started here still use binfmtd's entries, "
        "but this shell and the tools run in it cannot list or change them";
    if (!l.initialUserNamespace)
      text += "; this shell is also in a user namespace, whose own binfmt_misc, if one was "
              "mounted in it elsewhere, would decide instead";
    r.notes.push_back({text, "sudo mount -t binfmt_misc binfmt_misc " + std::string(kDefaultBinfmtMisc)});
    return;
  }
  std::set<std::string> here, there;
  for (const auto& e : l.entries) here.insert(e.entry.name);
  for (const auto& h : d.handlers)
    if (h.inKernel()) there.insert(h.name);
  if (here == there) return;
  if (!l.initialUserNamespace) {
    r.problems.push_back(
        {"this shell is in a user namespace whose binfmt_misc (mounted at " + l.viewPath +
             ") is an instance of its own: programs started here use its " +
             std::to_string(here.size()) + " entries, not the " + std::to_string(there.size()) +
             " binfmtd manages",
         "run the program from a shell outside this user namespace (for example a new login "
         "on the host)"});
  } else {
    r.problems.push_back({"this shell sees " + std::to_string(here.size()) + " entries at " +
                              l.viewPath + ", binfmtd " + std::to_string(there.size()) + " at " +
                              d.manager.binfmtMiscPath +
                              ": they are not the same binfmt_misc table",
                          "systemctl restart binfmtd"});
  }
}

void describeManagers(Report& r) {
  const LocalFacts& l = r.local;
  if (l.binfmtDFiles.empty()) {
    r.systemdBinfmtEffect = "no binfmt.d files: nothing for it to register";
  } else if (!l.systemdPid1) {
    r.systemdBinfmtEffect = "systemd is not PID 1 here, so systemd-binfmt does not run";
  } else if (l.systemdBinfmtState == "masked") {
    r.systemdBinfmtEffect = "masked: it does not run";
  } else {
    r.systemdBinfmtEffect =
        "registers these rules at boot; restarting it (package installs do: systemctl "
        "restart systemd-binfmt) first removes every entry, binfmtd's and others': binfmtd "
        "registers its own again within seconds, the others stay gone until their owner "
        "registers them again";
  }
  if (!l.updateBinfmts && l.binfmtSupportFormats.empty()) {
    r.binfmtSupportEffect = "not installed";
  } else {
    r.binfmtSupportEffect =
        "update-binfmts registers its " + std::to_string(l.binfmtSupportFormats.size()) +
        " format(s) at boot; an entry of the same name as one of binfmtd's is adopted or "
        "reported as a conflict; to move them to binfmtd: binfmtctl import --from=binfmt-support";
  }
  std::size_t fromContainer = 0;
  for (const auto& e : l.entries) fromContainer += e.fromContainer;
  r.containerEffect =
      fromContainer == 0
          ? "none"
          : "registered from a container image (tonistiigi/binfmt, multiarch/qemu-user-static): "
            "they work until the next reboot; binfmtctl enable ARCH replaces them with "
            "binfmtd's, which persist";
  if (l.wslKernel && l.systemdPid1 && !l.binfmtDFiles.empty() && l.systemdBinfmtState != "masked")
    r.notes.push_back({"under WSL a restart of systemd-binfmt also removes WSLInterop, which "
                       "runs Windows programs; binfmtd restores only its own entries",
                       "sudo systemctl mask systemd-binfmt"});
}

Report buildReport() {
  Report r;
  r.daemon = collectDaemonFacts();
  r.local = collectLocalFacts(r.daemon.manager.binfmtMiscPath);
  const LocalFacts& l = r.local;
  const DaemonFacts& d = r.daemon;

  if (!d.running) {
    if (d.noBus)
      r.notes.push_back({d.unreachable + ": binfmtctl cannot query or change it; this report "
                         "is what this shell sees of the kernel",
                         ""});
    else
      r.problems.push_back({d.notRunning, "systemctl enable --now binfmtd"});
    if (l.viewPath.empty())
      r.problems.push_back({"binfmt_misc is not mounted: no foreign binary can run",
                            "sudo mount -t binfmt_misc binfmt_misc " + std::string(kDefaultBinfmtMisc)});
    else if (l.globalEnabled == false)
      r.problems.push_back({"binfmt_misc is disabled as a whole: no entry is used",
                            "echo 1 | sudo tee " + l.viewPath + "/status"});
  } else if (!d.manager.mounted) {
    std::string text =
        "binfmt_misc is not mounted at " + d.manager.binfmtMiscPath + ", where binfmtd manages it";
    for (const auto& e : d.manager.lastReconcileErrors) text += "; " + e;
    r.problems.push_back({text, "sudo modprobe binfmt_misc && sudo systemctl restart binfmtd"});
  } else if (!d.manager.globalEnabled) {
    r.problems.push_back({"binfmt_misc is disabled as a whole: no entry is used",
                          "echo 1 | sudo tee " + d.manager.binfmtMiscPath + "/status"});
  }
  for (const auto& e : d.manager.configErrors)
    r.problems.push_back({"configuration error: " + e, "binfmtctl reload (after correcting the file)"});
  compareViews(r);

  if (d.running) {
    for (const auto& a : d.archs)
      if (auto row = rowFromDaemon(r, a)) r.archs.push_back(std::move(*row));
  } else {
    for (const auto& a : binfmtd::catalog::all())
      if (auto row = rowFromLocal(r, a)) r.archs.push_back(std::move(*row));
  }
  for (const auto& row : r.archs) addArchProblems(r, row);
  describeManagers(r);
  return r;
}

// --- Output -----------------------------------------------------------------------------

void line(const char* label, const std::string& text) {
  std::printf("  %-16s %s\n", label, text.c_str());
}

std::string joined(const std::vector<std::string>& v, const char* sep = ", ") {
  std::string s;
  for (const auto& x : v) s += (s.empty() ? "" : sep) + x;
  return s;
}

void printText(const Report& r) {
  const LocalFacts& l = r.local;
  const DaemonFacts& d = r.daemon;
  auto heading = [](const char* t) { std::printf("%s\n", term::paint(t, term::Style::Bold).c_str()); };

  heading("This shell");
  line("kernel:", l.kernelRelease + " (" + l.machine + ")");
  line("user namespace:", l.initialUserNamespace ? "the initial one"
                                                 : "not the initial one (a binfmt_misc mounted "
                                                   "in it is an instance of its own)");
  line("binfmt_misc:", l.viewPath.empty()
                           ? term::paint("not mounted", term::Style::Warn)
                           : "mounted at " + joined(l.binfmtMounts) + "; read " + l.viewPath +
                                 ": " + (l.globalEnabled == false ? "DISABLED as a whole" : "enabled") +
                                 ", " + std::to_string(l.entries.size()) + " entries");
  line("WSL:", l.wslKernel || !l.wslInterop.empty()
                   ? "yes" + (l.wslInterop.empty() ? std::string(", WSLInterop not registered")
                                                   : ", " + joined(l.wslInterop) + " registered") +
                         ", systemd " + (l.systemdPid1 ? "is" : "is not") + " PID 1" +
                         (l.systemdBinfmtState.empty() ? "" : ", systemd-binfmt " + l.systemdBinfmtState)
                   : "no");

  heading("binfmtd");
  if (!d.running && d.noBus) {
    const client::Manager& m = d.noBus->manager;
    line("running:", "without D-Bus (binfmtd --no-bus, pid " + std::to_string(d.noBus->pid) + ")");
    line("binfmt_misc:", m.binfmtMiscPath);
    line("last reconcile:", m.lastReconcileResult == binfmtd::ReconcileResult::None
                                ? "-"
                                : str(binfmtd::toString(m.lastReconcileResult)));
    line("configuration:", m.configErrors.empty()
                               ? "no errors"
                               : std::to_string(m.configErrors.size()) + " error(s)");
  } else if (!d.running) {
    line("running:", term::paint("no", term::Style::Bad) + " (" + d.unreachable + ")");
  } else {
    line("running:", "yes, version " + d.manager.version);
    line("binfmt_misc:", d.manager.binfmtMiscPath + " (" +
                             (d.manager.mounted ? "mounted" : "NOT mounted") + ", " +
                             (d.manager.globalEnabled ? "enabled" : "DISABLED") + ")");
    line("configuration:", d.manager.configErrors.empty()
                               ? "no errors"
                               : std::to_string(d.manager.configErrors.size()) + " error(s)");
    line("verification:", d.verify == VerifyStatus::Ran      ? "probes ran (Verify)"
                          : d.verify == VerifyStatus::TooOld ? "not verified (binfmtd too old)"
                                                             : "not verified: " + d.verifyError);
  }

  heading("Other managers");
  line("systemd-binfmt:", std::to_string(l.binfmtDRules) + " rule(s) in " +
                              std::to_string(l.binfmtDFiles.size()) + " binfmt.d file(s): " +
                              r.systemdBinfmtEffect);
  line("binfmt-support:", r.binfmtSupportEffect);
  std::vector<std::string> containerEntries;
  for (const auto& e : l.entries)
    if (e.fromContainer) containerEntries.push_back(e.entry.name);
  line("from containers:", containerEntries.empty() ? r.containerEffect
                                                    : joined(containerEntries) + ": " + r.containerEffect);

  if (!l.entries.empty()) {
    heading("Entries seen here");
    Table t({"NAME", "ENABLED", "FLAGS", "INTERPRETER"});
    for (const auto& e : l.entries)
      t.add({e.entry.name, e.entry.enabled ? "yes" : "no", e.entry.flags.empty() ? "-" : e.entry.flags,
             e.entry.interpreter + (e.interpreterExists ? "" : " (not on disk)") +
                 (e.fromContainer ? " (from a container)" : "")});
    t.print(stdout, 2);
  }

  heading("Architectures");
  if (r.archs.empty()) {
    std::printf("  no emulator installed, none configured or registered: apt install qemu-user-static\n");
  } else {
    Table t({"ARCH", "REGISTERED", "ENABLED", "INTERPRETER", "EXECUTES", "EMULATOR"});
    for (const auto& a : r.archs)
      t.add({a.arch, markPainted(a.registered), markPainted(a.enabled), markPainted(a.interpreter),
             markPainted(a.executes),
             a.emulator.empty()                          ? "-"
             : ::access(a.emulator.c_str(), F_OK) != 0  ? a.emulator + " (not on disk)"
                                                         : a.emulator + (a.isStatic ? " (static)" : " (dynamic)")});
    t.print(stdout, 2);
    std::size_t idle = 0;
    for (const auto& a : r.archs) {
      // Why a registered architecture is not "ok" in EXECUTES, when binfmtd could say.
      if (a.executes == Mark::Fail ||
          (d.verify == VerifyStatus::Ran && a.registered == Mark::Ok && a.executes != Mark::Ok))
        std::printf("  %s: %s\n", a.arch.c_str(), a.detail.c_str());
      for (const auto& n : a.notes) std::printf("  %s: %s\n", a.arch.c_str(), n.c_str());
      idle += a.registered == Mark::None && !a.configured;
    }
    if (idle > 0)
      std::printf("  %zu architecture(s) with an emulator are not enabled: binfmtctl enable NAME\n", idle);
    if (d.verify == VerifyStatus::TooOld)
      std::printf("  executes: not verified (binfmtd too old)\n");
  }

  for (const auto& n : r.notes) {
    std::printf("%s %s\n", term::paint("note:", term::Style::Warn).c_str(), n.text.c_str());
    if (!n.fix.empty()) std::printf("  to change it: %s\n", n.fix.c_str());
  }
  if (r.problems.empty()) {
    std::printf("%s\n", term::paint("No problem found.", term::Style::Good).c_str());
    return;
  }
  for (const auto& p : r.problems)
    std::printf("%s %s\n", term::paint("problem:", term::Style::Bad).c_str(), p.text.c_str());
  const auto& first = r.problems.front();
  if (!first.fix.empty()) std::printf("fix: %s\n", first.fix.c_str());
}

Json findingsJson(const std::vector<Finding>& findings) {
  Json j = Json::array();
  for (const auto& f : findings) j.push_back({{"text", f.text}, {"fix", f.fix}});
  return j;
}

void printJson(const Report& r) {
  const LocalFacts& l = r.local;
  const DaemonFacts& d = r.daemon;
  Json j;
  j["ok"] = r.problems.empty();
  Json entries = Json::array();
  std::vector<std::string> containerEntries;
  for (const auto& e : l.entries) {
    entries.push_back({{"name", e.entry.name}, {"enabled", e.entry.enabled},
                       {"interpreter", e.entry.interpreter}, {"flags", e.entry.flags},
                       {"interpreter_exists", e.interpreterExists},
                       {"from_container", e.fromContainer}});
    if (e.fromContainer) containerEntries.push_back(e.entry.name);
  }
  j["local"] = {{"kernel_release", l.kernelRelease},
                {"machine", l.machine},
                {"initial_user_namespace", l.initialUserNamespace},
                {"binfmt_misc_mounts", l.binfmtMounts},
                {"binfmt_misc_path", l.viewPath.empty() ? Json(nullptr) : Json(l.viewPath)},
                {"global_enabled", l.globalEnabled ? Json(*l.globalEnabled) : Json(nullptr)},
                {"entries", entries},
                {"unreadable_entries", l.unreadable}};
  j["wsl"] = {{"detected", l.wslKernel || !l.wslInterop.empty()},
              {"microsoft_kernel", l.wslKernel},
              {"interop_entries", l.wslInterop}};
  j["managers"] = {
      {"systemd_binfmt",
       {{"systemd_pid1", l.systemdPid1}, {"state", l.systemdBinfmtState},
        {"files", l.binfmtDFiles}, {"rules", l.binfmtDRules}, {"effect", r.systemdBinfmtEffect}}},
      {"binfmt_support",
       {{"installed", l.updateBinfmts}, {"formats", l.binfmtSupportFormats},
        {"effect", r.binfmtSupportEffect}}},
      {"containers", {{"entries", containerEntries}, {"effect", r.containerEffect}}}};
  Json daemon = {{"running", d.running}};
  if (d.running) {
    daemon["version"] = d.manager.version;
    daemon["binfmt_misc_path"] = d.manager.binfmtMiscPath;
    daemon["mounted"] = d.manager.mounted;
    daemon["global_enabled"] = d.manager.globalEnabled;
    daemon["config_errors"] = d.manager.configErrors;
    daemon["reconcile_errors"] = d.manager.lastReconcileErrors;
    daemon["verify"] = d.verify == VerifyStatus::Ran      ? "ran"
                       : d.verify == VerifyStatus::TooOld ? "binfmtd-too-old"
                                                          : "failed";
  } else {
    daemon["error"] = d.unreachable;
    // The status file as the bus-less binfmtd wrote it, also with fields newer than this.
    if (d.noBus) daemon["no_bus"] = Json::parse(d.noBus->document);
  }
  j["daemon"] = daemon;
  Json archs = Json::array();
  for (const auto& a : r.archs) {
    archs.push_back({{"name", a.arch},
                     {"handler", a.handler},
                     {"platforms", a.platforms},
                     {"configured", a.configured},
                     {"emulator", a.emulator},
                     {"static", a.isStatic},
                     {"registered", markJson(a.registered)},
                     {"enabled", markJson(a.enabled)},
                     {"interpreter", markJson(a.interpreter)},
                     {"executes", markJson(a.executes)},
                     {"verification", a.verification},
                     {"detail", a.detail},
                     {"notes", a.notes}});
  }
  j["architectures"] = archs;
  j["problems"] = findingsJson(r.problems);
  j["notes"] = findingsJson(r.notes);
  std::printf("%s\n", j.dump(2).c_str());
}

}  // namespace

int runDoctor(const Invocation& inv) {
  if (!inv.args.empty()) {
    std::fprintf(stderr, "binfmtctl: 'doctor' takes no arguments; see 'binfmtctl doctor --help'\n");
    return kExitUsage;
  }
  const Report r = buildReport();
  if (inv.json) {
    printJson(r);
  } else {
    printText(r);
  }
  // A bus-less binfmtd runs: as with one on the bus, the problems found decide.
  if (!r.daemon.running && !r.daemon.noBus) return binfmtd::client::kExitNotReachable;
  return r.problems.empty() ? 0 : 1;
}

}  // namespace binfmtctl
