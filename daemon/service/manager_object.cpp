#include "service/manager_object.hpp"

#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <set>

#include "build_config.hpp"
#include "catalog/architectures.hpp"
#include "error.hpp"
#include "log.hpp"
#include "service/object_path.hpp"
#include "verification_subject.hpp"

namespace binfmtd::service {

namespace {

constexpr const char* kManageAction = "org.binfmtd.manage";
constexpr const char* kInvalidArgs = "org.freedesktop.DBus.Error.InvalidArgs";
constexpr std::size_t kMaxNames = 256;      // far more than there are architectures
constexpr std::size_t kMaxNameBytes = 255;  // the kernel's limit for an entry name
// How long ListHandlers may answer from the last reading when binfmt_misc itself has not
// changed: what it cannot watch (an emulator installed or removed) shows within this.
constexpr std::uint64_t kMaxStatusAgeUsec = 1000000;

std::uint64_t monotonicUsec() {
  struct timespec ts {};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<std::uint64_t>(ts.tv_sec) * 1000000u +
         static_cast<std::uint64_t>(ts.tv_nsec) / 1000u;
}

sdbus::Error toDbus(const Error& e) { return sdbus::Error(errorName(e.code()), e.what()); }

std::string joined(const std::vector<std::string>& items, const char* sep = ", ") {
  std::string out;
  for (const auto& i : items) out += (out.empty() ? "" : sep) + i;
  return out;
}

// Names go on to the engine, the drop-in and the journal: what cannot be a handler or
// architecture name is refused here, with the reason, before anything looks it up.
void checkNames(const std::vector<std::string>& names) {
  auto refuse = [](const std::string& why) {
    throw toDbus(Error(Errc::NoSuchHandler, why));
  };
  if (names.empty()) refuse("No architecture or handler given");
  if (names.size() > kMaxNames)
    throw sdbus::Error(kInvalidArgs, "Too many names (" + std::to_string(names.size()) +
                                         "); at most " + std::to_string(kMaxNames) +
                                         " per call");
  for (const auto& name : names) {
    if (name.empty()) refuse("An empty string is not an architecture or handler name");
    if (name.size() > kMaxNameBytes)
      refuse("'" + name.substr(0, 32) + "...' is longer than 255 bytes, the kernel's limit "
             "for a handler name");
    for (unsigned char c : name)  // NUL included, though D-Bus strings cannot carry it
      if (c < 0x20 || c == 0x7f)
        refuse("An architecture or handler name cannot contain control characters");
    // '/' only separates the parts of an OCI platform ("linux/arm/v7"), never a path.
    for (std::size_t start = 0, end = 0; end != std::string::npos; start = end + 1) {
      end = name.find('/', start);
      const std::string part = name.substr(start, end - start);
      if (part.empty() || part == "." || part == "..")
        refuse("'" + name + "' is not an architecture or handler name: names are not '.' "
               "or '..', and '/' only separates the parts of a platform such as "
               "linux/arm/v7");
    }
  }
}

bool runtimeOption(const std::map<std::string, sdbus::Variant>& options) {
  bool runtime = false;
  for (const auto& [key, value] : options) {
    if (key != "runtime")
      throw sdbus::Error(kInvalidArgs,
                         "Unknown option '" + key + "'; the only option is 'runtime' (b)");
    if (!value.containsValueOfType<bool>())
      throw sdbus::Error(kInvalidArgs, "Option 'runtime' must be a boolean (b)");
    runtime = value.get<bool>();
  }
  return runtime;
}

}  // namespace

ManagerObject::ManagerObject(sdbus::IConnection& connection, engine::Engine& engine,
                             std::string binfmtDir, verify::Verifier& verifier,
                             std::function<void(const engine::Status&)> onChange,
                             std::function<std::uint64_t()> kernelGeneration)
    : AdaptorInterfaces(connection, kManagerPath),
      connection_(connection),
      engine_(engine),
      binfmtDir_(std::move(binfmtDir)),
      verifier_(verifier),
      onChange_(std::move(onChange)),
      kernelGeneration_(std::move(kernelGeneration)),
      authority_(connection) {
  registerAdaptor();
}

ManagerObject::~ManagerObject() {
  handlers_.clear();
  unregisterAdaptor();
}

void ManagerObject::refresh() {
  // The generation first: a change while reading makes the next call read again.
  if (kernelGeneration_) statusGeneration_ = kernelGeneration_();
  statusTime_ = monotonicUsec();
  publish(engine_.status());
}

bool ManagerObject::fresh() const {
  return kernelGeneration_ && statusTime_ != 0 &&
         monotonicUsec() - statusTime_ < kMaxStatusAgeUsec &&
         kernelGeneration_() == statusGeneration_;
}

void ManagerObject::reconciled(const std::vector<std::string>& changes) {
  for (const auto& c : changes) verifier_.renew(c.substr(0, c.find(':')));
  refresh();
}

void ManagerObject::repaired(const engine::HealResult& result) {
  emitRepaired(result.repairs, result.problems);
  reconciled(result.repairs);
}

void ManagerObject::publish(const engine::Status& status) {
  // Handler objects: drop the vanished, update the known, add the new.
  std::vector<std::string_view> names;
  names.reserve(status.handlers.size());
  for (const auto& h : status.handlers) names.emplace_back(h.entry.name);
  std::sort(names.begin(), names.end());
  for (auto it = handlers_.begin(); it != handlers_.end();) {
    const bool present = std::binary_search(names.begin(), names.end(), it->first);
    it = present ? std::next(it) : handlers_.erase(it);
  }
  const bool globalChanged = status.globalEnabled != status_.globalEnabled;
  status_.globalEnabled = status.globalEnabled;  // subjectOf() reads it
  for (const auto& h : status.handlers) {
    const verify::Subject subject = subjectOf(h);
    const std::string version = verifier_.emulatorVersion(h.entry.interpreter);
    if (auto it = handlers_.find(h.entry.name); it != handlers_.end()) {
      it->second->update(h, announced_);
      it->second->setVerification(verifier_.view(subject), version, announced_);
    } else {
      handlers_.emplace(h.entry.name,
                        std::make_unique<HandlerObject>(connection_, h, verifier_.view(subject),
                                                        version, announced_));
    }
    // binfmtd's own entries are verified whenever a reconcile or repair registered,
    // replaced or enabled them; others' entries when someone calls Verify.
    if (h.owned) verifier_.notice(subject);
  }

  std::vector<std::string> changed;
  auto check = [&](bool differs, const char* name) {
    if (differs) changed.emplace_back(name);
  };
  check(status.mounted != status_.mounted, "Mounted");
  check(globalChanged, "GlobalEnabled");
  check(status.configFiles != status_.configFiles, "ConfigFiles");
  check(status.configErrors != status_.configErrors, "ConfigErrors");
  check(status.last.time != status_.last.time, "LastReconcileTime");
  check(status.last.result != status_.last.result, "LastReconcileResult");
  check(status.last.writes != status_.last.writes, "LastReconcileWrites");
  check(status.last.errors != status_.last.errors, "LastReconcileErrors");
  status_ = status;
  if (announced_ && !changed.empty()) emitPropertiesChangedSignal(kManagerInterface, changed);
  if (onChange_) onChange_(status_);
}

verify::Subject ManagerObject::subjectOf(const engine::HandlerStatus& h) const {
  return verificationSubject(h, status_.globalEnabled);
}

void ManagerObject::verificationChanged() {
  for (const auto& h : status_.handlers) {
    auto it = handlers_.find(h.entry.name);
    if (it == handlers_.end()) continue;
    const verify::Subject subject = subjectOf(h);
    it->second->setVerification(verifier_.view(subject),
                                verifier_.emulatorVersion(h.entry.interpreter), announced_);
    if (h.owned) verifier_.notice(subject);
  }
}

std::vector<std::string> ManagerObject::verifyTargets(const std::vector<std::string>& names) const {
  std::vector<std::string> targets;
  std::set<std::string> seen;
  auto add = [&](const std::string& name) {
    if (seen.insert(name).second) targets.push_back(name);
  };
  if (names.empty()) {
    for (const auto& h : status_.handlers)
      if (h.inKernel && !h.architecture.empty() &&
          ::access(verifier_.probeFor(h.architecture).c_str(), R_OK) == 0)
        add(h.entry.name);
    return targets;
  }
  checkNames(names);
  for (const auto& name : names) {
    const bool isHandler = std::any_of(status_.handlers.begin(), status_.handlers.end(),
                                       [&](const auto& h) { return h.entry.name == name; });
    if (isHandler) {
      add(name);
    } else if (const auto* arch = catalog::find(name)) {
      add(catalog::handlerName(*arch));
    } else {
      throw toDbus(Error(Errc::NoSuchHandler,
                         "'" + name + "' is neither a known architecture nor a handler; see "
                         "'binfmtctl archs' and 'binfmtctl status'"));
    }
  }
  return targets;
}

void ManagerObject::Verify(VerifyResults&& result, std::vector<std::string> names) {
  refresh();  // the kernel table as it is now
  const std::vector<std::string> targets = verifyTargets(names);
  using Record = sdbus::Struct<std::string, std::string, std::string>;
  struct Pending {
    VerifyResults reply;
    std::vector<Record> records;
    std::size_t left = 0;
    void settle() {
      if (--left == 0) reply.returnResults(records);
    }
  };
  auto pending = std::make_shared<Pending>();
  pending->reply = std::move(result);
  pending->records.resize(targets.size());
  pending->left = targets.size() + 1;  // + this function: no reply while still asking
  for (std::size_t i = 0; i < targets.size(); ++i) {
    const std::string& name = targets[i];
    auto h = std::find_if(status_.handlers.begin(), status_.handlers.end(),
                          [&](const auto& s) { return s.entry.name == name; });
    auto record = [pending, i, name](const verify::Verdict& v) {
      pending->records[i] = Record(name, v.verification, v.detail);
      pending->settle();
    };
    if (h == status_.handlers.end()) {
      // An architecture asked for by name that has no handler.
      record({std::string(verify::kUnverified),
              "no handler '" + name + "' is registered; 'binfmtctl enable' registers it"});
      continue;
    }
    verifier_.verify(subjectOf(*h), record);
  }
  pending->settle();
}

std::vector<sdbus::Struct<std::string, std::string, std::string, std::string, std::string, bool,
                          sdbus::ObjectPath>>
ManagerObject::ListHandlers() {
  // Re-reading every entry file per call would cost more than the call itself.
  if (!fresh()) refresh();
  std::vector<sdbus::Struct<std::string, std::string, std::string, std::string, std::string, bool,
                            sdbus::ObjectPath>>
      out;
  for (const auto& h : status_.handlers) {
    out.emplace_back(h.entry.name, h.architecture, h.entry.interpreter,
                     h.owned ? "owned" : "foreign", h.state, h.inKernel && h.entry.enabled,
                     sdbus::ObjectPath(handlerPath(h.entry.name)));
  }
  return out;
}

std::vector<sdbus::Struct<std::string, std::vector<std::string>, std::string, bool, bool,
                          std::map<std::string, sdbus::Variant>>>
ManagerObject::ListArchitectures() {
  std::vector<sdbus::Struct<std::string, std::vector<std::string>, std::string, bool, bool,
                            std::map<std::string, sdbus::Variant>>>
      out;
  for (const auto& a : engine_.architectures()) {
    std::map<std::string, sdbus::Variant> extra;
    extra["oci-platforms"] = sdbus::Variant(a.ociPlatforms);
    extra["default-flags"] = sdbus::Variant(a.defaultFlags);
    extra["configured"] = sdbus::Variant(a.configured);
    extra["handler"] = sdbus::Variant(a.handler);
    out.emplace_back(a.name, a.aliases, a.interpreter, a.isStatic, a.hostFamily, extra);
  }
  return out;
}

void ManagerObject::change(bool enable, Changes&& result, std::vector<std::string> names,
                           const std::map<std::string, sdbus::Variant>& options) {
  // A malformed call is answered at once, whoever makes it (sdbus-c++ turns the throw
  // into the error reply): nobody is asked for a password for a call that cannot work.
  checkNames(names);
  const bool runtime = runtimeOption(options);
  const Caller caller = callerOf(*getObject().getCurrentlyProcessedMessage());
  const std::string what = std::string(enable ? "enable " : "disable ") + joined(names, " ") +
                           (runtime ? " (runtime)" : "");
  // The verdict may come from a later loop iteration; std::function needs a copyable
  // callable, so the pending reply is shared.
  auto reply = std::make_shared<Changes>(std::move(result));
  authority_.authorize(caller, kManageAction, what, [=, this](const sdbus::Error* refusal) {
    if (refusal != nullptr) return reply->returnError(*refusal);
    perform(*reply, caller, what, [&] {
      return enable ? engine_.enable(names, runtime) : engine_.disable(names, runtime);
    });
  });
}

void ManagerObject::perform(Changes& result, const Caller& caller, const std::string& what,
                            const std::function<std::vector<std::string>()>& work) {
  try {
    auto changes = work();
    logRequest(log::Level::Notice,
               what + " by " + describe(caller) + ": " +
                   (changes.empty() ? "no change" : joined(changes, "; ")),
               caller);
    reconciled(changes);
    result.returnResults(changes);
  } catch (const Error& e) {
    logRequest(log::Level::Warning, what + " by " + describe(caller) + " failed: " + e.what(),
               caller);
    refresh();
    result.returnError(toDbus(e));
  } catch (const std::exception& e) {
    // Running from polkit's reply, nothing above would turn this into an error reply.
    logRequest(log::Level::Error, what + " by " + describe(caller) + " failed: " + e.what(),
               caller);
    result.returnError(sdbus::Error("org.freedesktop.DBus.Error.Failed", e.what()));
  }
}

void ManagerObject::Enable(Changes&& result, std::vector<std::string> names,
                           std::map<std::string, sdbus::Variant> options) {
  change(true, std::move(result), std::move(names), options);
}

void ManagerObject::Disable(Changes&& result, std::vector<std::string> names,
                            std::map<std::string, sdbus::Variant> options) {
  change(false, std::move(result), std::move(names), options);
}

void ManagerObject::Reload(Changes&& result) {
  const Caller caller = callerOf(*getObject().getCurrentlyProcessedMessage());
  auto reply = std::make_shared<Changes>(std::move(result));
  authority_.authorize(caller, kManageAction, "reload", [=, this](const sdbus::Error* refusal) {
    if (refusal != nullptr) return reply->returnError(*refusal);
    perform(*reply, caller, "reload", [&] { return engine_.reconcile().changes; });
  });
}

namespace {

// One of Check's options, of the type the interface documents.
template <typename T>
T checkOption(const std::string& key, const sdbus::Variant& value) {
  if (!value.containsValueOfType<T>())
    throw sdbus::Error("org.freedesktop.DBus.Error.InvalidArgs",
                       "Check option '" + key +
                           "' has the wrong type (see org.binfmtd.Binfmt1(5))");
  return value.get<T>();
}

// What binfmtctl saw in the caller's namespaces: taken as given, never looked up here.
engine::CallerView callerView(const std::map<std::string, sdbus::Variant>& options) {
  engine::CallerView v;
  for (const auto& [key, value] : options) {
    if (key == "size") v.size = checkOption<uint64_t>(key, value);
    else if (key == "arguments") v.arguments = checkOption<std::vector<std::string>>(key, value);
    else if (key == "hidden-interpreter")
      v.hiddenInterpreter = checkOption<std::string>(key, value);
    else if (key == "other-root") v.otherRoot = checkOption<bool>(key, value);
    else if (key == "user-namespace") v.userNamespace = checkOption<uint64_t>(key, value);
    else if (key == "binfmt-misc-device") v.binfmtDevice = checkOption<uint64_t>(key, value);
    else if (key == "binfmt-misc-entries") v.binfmtEntries = checkOption<uint32_t>(key, value);
    else
      throw sdbus::Error("org.freedesktop.DBus.Error.InvalidArgs",
                         "unknown Check option '" + key + "'");
  }
  return v;
}

}  // namespace

std::map<std::string, sdbus::Variant> ManagerObject::Check(
    const std::string& path, const std::vector<uint8_t>& header,
    const std::map<std::string, sdbus::Variant>& options) {
  if (path.empty() || path.find('\0') != std::string::npos || path.size() > 4096)
    throw sdbus::Error("org.freedesktop.DBus.Error.InvalidArgs",
                       "the path must be a non-empty file name of at most 4096 bytes");
  const auto r = engine_.check(path, std::string(header.begin(), header.end()),
                               callerView(options), binfmtDir_);
  return {{"format", sdbus::Variant(r.format)},
          {"architecture", sdbus::Variant(r.architecture)},
          {"verdict", sdbus::Variant(r.verdict)},
          {"cause", sdbus::Variant(r.cause)},
          {"handler", sdbus::Variant(r.handler)},
          {"interpreter", sdbus::Variant(r.interpreter)},
          {"flags", sdbus::Variant(r.flags)},
          {"reason", sdbus::Variant(r.reason)},
          {"fix", sdbus::Variant(r.fix)},
          {"notes", sdbus::Variant(r.notes)},
          {"error", sdbus::Variant(r.error)},
          {"command", sdbus::Variant(r.command)}};
}

std::vector<sdbus::Struct<std::string, std::string, std::string>> ManagerObject::Plan() {
  std::vector<sdbus::Struct<std::string, std::string, std::string>> out;
  try {
    for (auto& step : engine_.preview()) out.emplace_back(step.action, step.name, step.reason);
  } catch (const Error& e) {
    throw toDbus(e);  // binfmt_misc unreadable
  }
  return out;
}

std::string ManagerObject::Version() { return BINFMTD_VERSION; }
std::string ManagerObject::BinfmtMiscPath() { return binfmtDir_; }
bool ManagerObject::Mounted() { return status_.mounted; }
bool ManagerObject::GlobalEnabled() { return status_.globalEnabled; }
std::vector<std::string> ManagerObject::ConfigFiles() { return status_.configFiles; }
std::vector<std::string> ManagerObject::ConfigErrors() { return status_.configErrors; }
uint64_t ManagerObject::LastReconcileTime() { return status_.last.time; }
std::string ManagerObject::LastReconcileResult() { return status_.last.result; }
uint32_t ManagerObject::LastReconcileWrites() { return status_.last.writes; }
std::vector<std::string> ManagerObject::LastReconcileErrors() { return status_.last.errors; }

}  // namespace binfmtd::service
