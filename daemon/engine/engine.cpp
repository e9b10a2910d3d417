#include "engine/engine.hpp"

#include <sys/stat.h>
#include <time.h>

#include <algorithm>
#include <set>

#include "catalog/architectures.hpp"
#include "error.hpp"

namespace binfmtd::engine {

namespace {

std::uint64_t nowRealtimeUsec() {
  struct timespec ts {};
  clock_gettime(CLOCK_REALTIME, &ts);
  return static_cast<std::uint64_t>(ts.tv_sec) * 1000000u +
         static_cast<std::uint64_t>(ts.tv_nsec) / 1000u;
}

// The catalogue architecture whose handler name this is ("qemu-aarch64" -> aarch64).
// The inverse of catalog::handlerName(), without building a name per catalogue entry: it
// runs for every handler on every status().
const catalog::Architecture* architectureForHandler(std::string_view name) {
  constexpr std::string_view kPrefix = "qemu-";
  if (!name.starts_with(kPrefix)) return nullptr;
  name.remove_prefix(kPrefix.size());
  for (const auto& arch : catalog::all())
    if (arch.name == name) return &arch;
  return nullptr;
}

const config::ArchitectureRequest* findRequest(const config::Config& config,
                                               std::string_view name) {
  for (const auto& r : config.architectures)
    if (r.name == name) return &r;
  return nullptr;
}

const config::HandlerSpec* findSpec(const config::Config& config, const std::string& name) {
  for (const auto& h : config.handlers)
    if (h.entry.name == name) return &h;
  return nullptr;
}

PlanOptions planOptions(const config::LoadResult& loaded, const DesiredSet& desired) {
  PlanOptions options;
  options.allowRemovals = loaded.brokenFiles.empty();
  for (const auto& p : desired.problems)
    if (!p.handler.empty()) options.keep.insert(p.handler);
  return options;
}

// Back-off against a program that keeps undoing an entry: this many repairs within the
// window start a hold, which doubles with every round up to the cap. A program in a loop
// undoes within milliseconds and reaches it at once; flushes by package upgrades and
// service restarts, a few a minute at worst, never do.
constexpr std::uint64_t kSecond = 1000000;
constexpr std::uint64_t kFightWindow = 30 * kSecond;
constexpr std::size_t kRepairsBeforeHold = 5;
constexpr std::uint64_t kFirstHold = 5 * kSecond;
constexpr std::uint64_t kMaxHold = 600 * kSecond;

// What the other program did, for the conflict message.
std::string undoneHow(const Action& a) {
  switch (a.kind) {
    case ActionKind::Register: return "it keeps being removed";
    case ActionKind::Replace:
      return "it keeps being replaced by an entry with interpreter " + a.previous.interpreter +
             " and flags '" + a.previous.flags + "'";
    case ActionKind::Enable: return "it keeps being disabled";
    case ActionKind::Disable: return "it keeps being enabled";
    case ActionKind::Reorder: return "another entry keeps being registered after it";
    default: return "it keeps being changed";
  }
}

const char* stepName(ActionKind kind) {
  switch (kind) {
    case ActionKind::Register: return "register";
    case ActionKind::Replace: return "replace";
    case ActionKind::Enable: return "enable";
    case ActionKind::Disable: return "disable";
    case ActionKind::Reorder: return "reorder";
    case ActionKind::Remove: return "remove";
    case ActionKind::Adopt: return "adopt";
    case ActionKind::Forget: return "forget";
  }
  return "?";
}

}  // namespace

Engine::Engine(kernel::KernelTable& table, config::Paths paths, std::filesystem::path stateDir,
               Host host)
    : table_(table),
      paths_(std::move(paths)),
      host_(std::move(host)),
      ownership_(std::move(stateDir) / "owned") {}

const ReconcileReport& Engine::reconcile() {
  ReconcileReport report;
  report.time = nowRealtimeUsec();
  loaded_ = config::load(paths_, &lastGood_);
  desired_ = desiredHandlers(loaded_.config, host_);
  for (const auto& w : ownership_.load()) report.errors.push_back(w);
  plan_ = {};  // a run that stops early must not leave the previous run's verdicts behind
  failures_.clear();
  fights_.clear();
  lastHealError_.clear();
  std::string fatal;

  try {
    table_.ensureMounted();
    kernel::Table actual = table_.list();
    plan_ = plan(desired_.handlers, actual.entries, ownership_.entries(),
                 planOptions(loaded_, desired_));
    ApplyResult applied = apply(plan_, table_, ownership_);
    if (!plan_.empty()) ownership_.save();
    failures_ = std::move(applied.failures);
    report.writes = applied.writes;
    report.changes = std::move(applied.changes);
    for (const auto& [name, why] : failures_) report.errors.push_back(why);
    for (const auto& c : plan_.conflicts) report.errors.push_back(c.message);
  } catch (const Error& e) {
    // binfmt_misc unusable (not mounted, unreadable) or the state file unwritable.
    report.errors.push_back(e.what());
    report.result = "failed";
    fatal = e.what();
    lastFatalCode_ = e.code();
  }
  for (const auto& p : desired_.problems) report.errors.push_back(p.message);
  for (const auto& a : desired_.ambiguities) report.errors.push_back(a);
  report.warnings = desired_.warnings;
  for (const auto& d : loaded_.errors) report.errors.push_back(d.toString());
  if (report.result.empty()) report.result = report.errors.empty() ? "ok" : "partial";
  last_ = std::move(report);
  lastFatal_ = std::move(fatal);
  return last_;
}

HealResult Engine::heal(std::uint64_t now) {
  HealResult result;
  if (!loaded_.config.healing.enabled) return result;
  try {
    table_.ensureMounted();
    checkGlobalStatus(result);
    PlanOptions options;
    options.allowRemovals = false;  // removing is the config's business, not a repair
    options.hold = holds(now);
    Plan repair = plan(desired_.handlers, table_.list().entries, ownership_.entries(), options);
    plan_.conflicts = repair.conflicts;
    if (!repair.empty()) {
      ApplyResult applied = apply(repair, table_, ownership_);
      ownership_.save();
      result.writes += applied.writes;
      result.repairs.insert(result.repairs.end(), applied.changes.begin(), applied.changes.end());
      for (const auto& action : repair.actions) {
        const std::string& name = action.entry.name;
        auto failed = applied.failures.find(name);
        // A repair that keeps failing (an interpreter deleted) is retried, but told once.
        if (failed != applied.failures.end() && failures_[name] != failed->second)
          result.problems.push_back(failed->second);
        if (failed == applied.failures.end()) failures_.erase(name);
        else failures_[name] = failed->second;
      }
      recordRepairs(repair, applied, now, result);
    }
    lastHealError_.clear();
  } catch (const Error& e) {
    // Not mounted and not mountable, unreadable: say it once, try again next time.
    if (e.what() != lastHealError_) result.problems.push_back(e.what());
    lastHealError_ = e.what();
  }
  if (!result.empty()) {
    last_.time = nowRealtimeUsec();
    last_.writes = result.writes;
    last_.changes = result.repairs;
  }
  return result;
}

std::set<std::string> Engine::holds(std::uint64_t now) {
  std::set<std::string> held;
  for (auto it = fights_.begin(); it != fights_.end();) {
    auto& [name, fight] = *it;
    std::erase_if(fight.repairs, [&](auto t) { return t + kFightWindow < now; });
    if (fight.holdUntil > now) held.insert(name);
    else fight.holdUntil = 0;
    it = fight.holdUntil == 0 && fight.repairs.empty() ? fights_.erase(it) : std::next(it);
  }
  return held;
}

void Engine::checkGlobalStatus(HealResult& result) {
  if (table_.globalEnabled()) {
    globalDisabledReported_ = false;
    return;
  }
  if (loaded_.config.healing.enableGlobal) {
    table_.setGlobalEnabled(true);
    ++result.writes;
    result.repairs.push_back("binfmt_misc: enabled again (someone disabled it as a whole; "
                             "\"globalStatus\": \"enable\")");
  } else if (!globalDisabledReported_) {
    globalDisabledReported_ = true;
    result.problems.push_back(
        "binfmt_misc is disabled as a whole (someone wrote 0 to its status file): no handler "
        "runs until it is enabled again with 'echo 1 > status' in the binfmt_misc directory, "
        "or set \"healing\": {\"globalStatus\": \"enable\"} to have binfmtd do it");
  }
}

void Engine::recordRepairs(const Plan& done, const ApplyResult& applied, std::uint64_t now,
                           HealResult& result) {
  for (const auto& action : done.actions) {
    if (action.kind == ActionKind::Adopt || action.kind == ActionKind::Forget) continue;
    const std::string& name = action.entry.name;
    if (applied.failures.count(name) != 0) continue;
    Fight& fight = fights_[name];
    fight.repairs.push_back(now);
    if (fight.repairs.size() < kRepairsBeforeHold) continue;
    const std::uint64_t hold = std::min(kFirstHold << std::min(fight.rounds, 16u), kMaxHold);
    ++fight.rounds;
    fight.holdUntil = now + hold;
    fight.message = "'" + name + "': " + undoneHow(action) + " by another program; binfmtd " +
                    "repaired it " + std::to_string(fight.repairs.size()) +
                    " times within 30 s and leaves it alone for " +
                    std::to_string(hold / kSecond) + " s (a reload or a config change retries "
                    "at once)";
    result.problems.push_back(fight.message);
  }
}

std::uint64_t Engine::nextHoldEnd() const {
  std::uint64_t next = 0;
  for (const auto& [name, fight] : fights_)
    if (fight.holdUntil != 0 && (next == 0 || fight.holdUntil < next)) next = fight.holdUntil;
  return next;
}

std::vector<PlannedStep> Engine::preview() const {
  std::vector<PlannedStep> steps;
  auto lastGood = lastGood_;  // a dry run must not change what counts as last good
  const config::LoadResult loaded = config::load(paths_, &lastGood);
  const DesiredSet desired = desiredHandlers(loaded.config, host_);
  kernel::Table actual;
  if (table_.isMounted()) actual = table_.list();
  const Plan p = plan(desired.handlers, actual.entries, ownership_.entries(),
                      planOptions(loaded, desired));
  for (const auto& a : p.actions)
    if (a.kind != ActionKind::Forget) steps.push_back({stepName(a.kind), a.entry.name, a.reason});
  for (const auto& c : p.conflicts) steps.push_back({"conflict", c.name, c.message});
  for (const auto& sh : p.shadows) steps.push_back({"shadowed", sh.name, sh.message});
  for (const auto& pr : desired.problems) steps.push_back({"error", pr.handler, pr.message});
  for (const auto& d : loaded.errors) steps.push_back({"error", "", d.toString()});
  return steps;
}

namespace {

// The inode of the user namespace a process is in: /proc/<pid>/ns/user of binfmtd itself.
std::uint64_t ownUserNamespace() {
  struct stat st {};
  return ::stat("/proc/self/ns/user", &st) == 0 ? st.st_ino : 0;
}

// The device of the binfmt_misc mounted at dir: one per instance, so per user namespace.
std::uint64_t instanceDevice(const std::filesystem::path& dir) {
  struct stat st {};
  return ::stat(dir.c_str(), &st) == 0 ? st.st_dev : 0;
}

}  // namespace

CheckResult Engine::check(const std::string& path, const std::string& header,
                          const CallerView& caller,
                          const std::filesystem::path& binfmtDir) const {
  CheckInput in;
  in.header = header.substr(0, kernel::kBinprmBufSize);
  in.path = path;
  in.caller = caller;
  in.mounted = table_.isMounted();
  in.binfmtDir = binfmtDir.string();
  in.owned = ownership_.entries();
  in.desired = desired_.handlers;
  in.host = host_;
  in.userNamespace = ownUserNamespace();
  if (in.mounted) {
    try {
      in.globalEnabled = table_.globalEnabled();
      in.actual = table_.list();
      in.binfmtDevice = instanceDevice(binfmtDir);
    } catch (const Error&) {
      in.mounted = false;  // unreadable is as good as absent for running programs
    }
  }
  return engine::check(in);
}

Engine::Targets Engine::resolveNames(const std::vector<std::string>& names, bool enabling) const {
  Targets targets;
  const auto& config = loaded_.config;
  std::set<std::string> foreign;
  if (!enabling) {
    try {
      for (const auto& e : table_.list().entries)
        if (!ownership_.owns(e.name)) foreign.insert(e.name);
    } catch (const Error&) {
      // Not mounted: nothing is foreign then.
    }
  }
  for (const auto& name : names) {
    const catalog::Architecture* arch = catalog::find(name);
    if (arch == nullptr) arch = architectureForHandler(name);
    if (arch != nullptr) {
      if (enabling) resolveArchitecture(*arch, host_, findRequest(config, arch->name));
      targets.architectures.emplace_back(arch->name);
      continue;
    }
    if (findSpec(config, name) != nullptr) {
      targets.handlers.push_back(name);
      continue;
    }
    if (foreign.count(name) != 0) {
      throw Error(Errc::ForeignEntry,
                  "'" + name + "' was registered by another program, not by binfmtd; "
                  "binfmtd leaves other programs' entries alone");
    }
    throw Error(Errc::NoSuchHandler,
                "'" + name + "' is neither a known architecture nor a configured handler; "
                "see 'binfmtctl archs' for architectures, or define a handler in "
                "/etc/binfmtd/binfmtd.json");
  }
  return targets;
}

std::vector<std::string> Engine::change(const std::vector<std::string>& names, bool enabled,
                                        bool runtime) {
  if (names.empty()) throw Error(Errc::NoSuchHandler, "No architecture or handler given");
  // Work against the current config so that overrides (interpreter, flags) are honoured.
  loaded_ = config::load(paths_, &lastGood_);
  Targets targets = resolveNames(names, enabled);
  config::setEnabled(paths_, targets.architectures, targets.handlers, enabled, runtime);
  const ReconcileReport& report = reconcile();
  if (report.result == "failed") throw Error(lastFatalCode_, lastFatal_);
  // Report a refusal of one of the handlers asked for, not somebody else's problem.
  std::vector<std::string> handlerNames = targets.handlers;
  for (const auto& a : targets.architectures)
    handlerNames.push_back(catalog::handlerName(*catalog::find(a)));
  for (const auto& h : handlerNames) {
    if (auto it = failures_.find(h); it != failures_.end())
      throw Error(Errc::KernelRejected, it->second);
    for (const auto& c : plan_.conflicts)
      if (c.name == h) throw Error(Errc::ForeignEntry, c.message);
    for (const auto& p : desired_.problems)
      if (p.handler == h && enabled) throw Error(p.code, p.message);
  }
  return report.changes;
}

std::vector<std::string> Engine::enable(const std::vector<std::string>& names, bool runtime) {
  return change(names, true, runtime);
}

std::vector<std::string> Engine::disable(const std::vector<std::string>& names, bool runtime) {
  return change(names, false, runtime);
}

Status Engine::status() const {
  Status s;
  s.mounted = table_.isMounted();
  s.configFiles = loaded_.config.files;
  for (const auto& d : loaded_.errors) s.configErrors.push_back(d.toString());
  s.last = last_;
  kernel::Table actual;
  if (s.mounted) {
    try {
      s.globalEnabled = table_.globalEnabled();
      actual = table_.list();
    } catch (const Error&) {
      // Reported by the next reconcile; the view shows nothing in the kernel meanwhile.
    }
  }
  std::map<std::string, HandlerStatus> byName;
  for (const auto& e : actual.entries) {
    HandlerStatus h;
    h.entry = e;
    h.inKernel = true;
    h.owned = ownership_.owns(e.name);
    h.state = e.enabled ? "registered" : "disabled";
    if (const auto* arch = architectureForHandler(e.name)) h.architecture = arch->name;
    byName[e.name] = h;
  }
  auto markWanted = [&](const std::string& name, const std::string& arch,
                        const kernel::Entry& entry, const config::Location& where) {
    HandlerStatus& h = byName[name];
    if (!h.inKernel) {
      h.entry = entry;
      h.entry.name = name;
      h.entry.enabled = false;
      h.owned = true;  // configured for binfmtd to own, even if not registered yet
      h.state = "missing";
    }
    h.architecture = arch;
    h.source = where.toString();
  };
  for (const auto& d : desired_.inactive) {
    HandlerStatus& h = byName[d.entry.name];
    if (h.inKernel) continue;  // still registered (kept while the config is broken)
    h.entry = d.entry;
    h.entry.enabled = false;
    h.architecture = d.architecture;
    h.owned = true;
    h.state = "inactive";
    h.source = d.source.toString();
  }
  for (const auto& d : desired_.handlers) {
    markWanted(d.entry.name, d.architecture, d.entry, d.source);
    HandlerStatus& h = byName[d.entry.name];
    h.priority = d.priority;
    if (h.inKernel && h.owned && !h.entry.sameDefinition(d.entry)) {
      h.state = "missing";
    } else if (h.inKernel && !d.standbyFor.empty() && !h.entry.enabled) {
      h.state = "standby";
      h.lastError = "standing by for '" + d.standbyFor + "', which has a higher priority";
    }
  }
  const MatchOrder matchOrder(actual.entries, ownership_.entries());
  for (auto& [name, h] : byName) {
    if (!h.inKernel || !h.owned || !h.entry.enabled) continue;
    if (const auto* by = matchOrder.shadowing(h.entry)) {
      h.state = "shadowed";
      h.shadowedBy = by->name;
      h.lastError = shadowMessage(name, *by);
    }
  }
  for (const auto& p : desired_.problems) {
    if (p.handler.empty()) continue;
    kernel::Entry placeholder;
    markWanted(p.handler, p.architecture, placeholder, p.source);
    byName[p.handler].state = "error";
    byName[p.handler].lastError = p.message;
  }
  for (const auto& c : plan_.conflicts) {
    HandlerStatus& h = byName[c.name];
    h.state = "conflict";
    h.lastError = c.message;
  }
  for (const auto& [name, fight] : fights_) {
    if (fight.holdUntil == 0) continue;
    HandlerStatus& h = byName[name];
    if (h.entry.name.empty()) h.entry.name = name;
    h.state = "conflict";
    h.lastError = fight.message;
  }
  for (const auto& [name, why] : failures_) {
    HandlerStatus& h = byName[name];
    if (h.entry.name.empty()) h.entry.name = name;
    h.state = "error";
    h.lastError = why;
  }
  for (auto& [name, h] : byName) s.handlers.push_back(std::move(h));
  return s;
}

std::vector<ArchitectureInfo> Engine::architectures() const {
  std::vector<ArchitectureInfo> out;
  for (const auto& arch : catalog::all()) {
    ArchitectureInfo info;
    info.name = arch.name;
    info.aliases.assign(arch.aliases.begin(), arch.aliases.end());
    info.ociPlatforms.assign(arch.ociPlatforms.begin(), arch.ociPlatforms.end());
    info.handler = catalog::handlerName(arch);
    info.hostFamily = catalog::isHostFamily(arch, host_.machine);
    if (auto emulator = catalog::discover(arch, host_.emulators)) {
      info.interpreter = emulator->interpreter.string();
      info.isStatic = emulator->isStatic;
      info.defaultFlags = emulator->defaultFlags;
    }
    const auto* request = findRequest(loaded_.config, arch.name);
    info.configured = request != nullptr && request->enabled;
    out.push_back(std::move(info));
  }
  return out;
}

}  // namespace binfmtd::engine
