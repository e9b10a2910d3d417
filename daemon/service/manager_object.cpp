#include "service/manager_object.hpp"

#include "build_config.hpp"
#include "error.hpp"
#include "log.hpp"
#include "service/authorization.hpp"
#include "service/object_path.hpp"

namespace binfmtd::service {

namespace {

constexpr const char* kManageAction = "org.binfmtd.manage";

[[noreturn]] void rethrowAsDbus(const Error& e) {
  throw sdbus::Error(std::string(kErrorPrefix) + std::string(errorInfo(e.code()).name),
                     e.what());
}

std::string joined(const std::vector<std::string>& items, const char* sep = ", ") {
  std::string out;
  for (const auto& i : items) out += (out.empty() ? "" : sep) + i;
  return out;
}

}  // namespace

ManagerObject::ManagerObject(sdbus::IConnection& connection, engine::Engine& engine,
                             std::string binfmtDir,
                             std::function<void(const engine::Status&)> onChange)
    : AdaptorInterfaces(connection, kManagerPath),
      connection_(connection),
      engine_(engine),
      binfmtDir_(std::move(binfmtDir)),
      onChange_(std::move(onChange)) {
  registerAdaptor();
}

ManagerObject::~ManagerObject() {
  handlers_.clear();
  unregisterAdaptor();
}

void ManagerObject::refresh() { publish(engine_.status()); }

void ManagerObject::repaired(const engine::HealResult& result) {
  emitRepaired(result.repairs, result.problems);
  refresh();
}

void ManagerObject::publish(const engine::Status& status) {
  // Handler objects: drop the vanished, update the known, add the new.
  for (auto it = handlers_.begin(); it != handlers_.end();) {
    bool present = std::any_of(status.handlers.begin(), status.handlers.end(),
                               [&](const auto& h) { return h.entry.name == it->first; });
    it = present ? std::next(it) : handlers_.erase(it);
  }
  for (const auto& h : status.handlers) {
    if (auto it = handlers_.find(h.entry.name); it != handlers_.end()) {
      it->second->update(h);
    } else {
      handlers_.emplace(h.entry.name, std::make_unique<HandlerObject>(connection_, h));
    }
  }

  std::vector<std::string> changed;
  auto check = [&](bool differs, const char* name) {
    if (differs) changed.emplace_back(name);
  };
  check(status.mounted != status_.mounted, "Mounted");
  check(status.globalEnabled != status_.globalEnabled, "GlobalEnabled");
  check(status.configFiles != status_.configFiles, "ConfigFiles");
  check(status.configErrors != status_.configErrors, "ConfigErrors");
  check(status.last.time != status_.last.time, "LastReconcileTime");
  check(status.last.result != status_.last.result, "LastReconcileResult");
  check(status.last.writes != status_.last.writes, "LastReconcileWrites");
  check(status.last.errors != status_.last.errors, "LastReconcileErrors");
  status_ = status;
  if (!changed.empty()) emitPropertiesChangedSignal(kManagerInterface, changed);
  if (onChange_) onChange_(status_);
}

std::vector<sdbus::Struct<std::string, std::string, std::string, std::string, std::string, bool,
                          sdbus::ObjectPath>>
ManagerObject::ListHandlers() {
  refresh();
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

std::vector<std::string> ManagerObject::change(const char* verb,
                                               const std::vector<std::string>& names,
                                               const std::map<std::string, sdbus::Variant>& options) {
  const Caller caller = callerOf(*getObject().getCurrentlyProcessedMessage());
  authorize(caller, kManageAction);
  bool runtime = false;
  if (auto it = options.find("runtime"); it != options.end()) {
    try {
      runtime = it->second.get<bool>();
    } catch (const sdbus::Error&) {
      throw sdbus::Error("org.freedesktop.DBus.Error.InvalidArgs",
                         "option 'runtime' must be a boolean");
    }
  }
  const std::string what = std::string(verb) + " " + joined(names, " ") +
                           (runtime ? " (runtime)" : "");
  log::Fields who = {{"CALLER_UID", std::to_string(caller.uid)},
                     {"CALLER_PID", std::to_string(caller.pid)},
                     {"CALLER_COMM", caller.command}};
  try {
    auto changes = std::string(verb) == "enable" ? engine_.enable(names, runtime)
                                                 : engine_.disable(names, runtime);
    log::notice(what + " by uid " + std::to_string(caller.uid) + " (pid " +
                    std::to_string(caller.pid) + ", " + caller.command + "): " +
                    (changes.empty() ? "no change" : joined(changes, "; ")),
                who);
    refresh();
    return changes;
  } catch (const Error& e) {
    log::warning(what + " by uid " + std::to_string(caller.uid) + " failed: " + e.what(), who);
    refresh();
    rethrowAsDbus(e);
  }
}

std::vector<std::string> ManagerObject::Enable(
    const std::vector<std::string>& names, const std::map<std::string, sdbus::Variant>& options) {
  return change("enable", names, options);
}

std::vector<std::string> ManagerObject::Disable(
    const std::vector<std::string>& names, const std::map<std::string, sdbus::Variant>& options) {
  return change("disable", names, options);
}

std::vector<std::string> ManagerObject::Reload() {
  const Caller caller = callerOf(*getObject().getCurrentlyProcessedMessage());
  authorize(caller, kManageAction);
  log::info("Reload requested by uid " + std::to_string(caller.uid) + " (pid " +
            std::to_string(caller.pid) + ", " + caller.command + ")");
  auto changes = engine_.reconcile().changes;
  refresh();
  return changes;
}

std::vector<sdbus::Struct<std::string, std::string, std::string>> ManagerObject::Plan() {
  std::vector<sdbus::Struct<std::string, std::string, std::string>> out;
  try {
    for (auto& step : engine_.preview()) out.emplace_back(step.action, step.name, step.reason);
  } catch (const Error& e) {
    rethrowAsDbus(e);  // binfmt_misc unreadable
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
