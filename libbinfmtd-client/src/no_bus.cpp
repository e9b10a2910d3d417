#include "binfmtd-client/no_bus.hpp"

#include <cstdlib>
#include <nlohmann/json.hpp>

#include "no_bus_status.hpp"

namespace binfmtd::client {

namespace {

using Json = nlohmann::json;

// Sets `out` from the field when it is there with a type that converts; otherwise (an
// older or newer binfmtd) leaves the default.
template <typename T>
void take(const Json& j, const char* key, T& out) {
  const auto it = j.find(key);
  if (it == j.end() || it->is_null()) return;
  try {
    out = it->get<T>();
  } catch (const Json::exception&) {
  }
}

template <typename T>
T value(const Json& j, const char* key) {
  T out{};
  take(j, key, out);
  return out;
}

// The field names are those daemon/no_bus_frontend.cpp writes (binfmtd(8), WITHOUT D-BUS).
Handler decodeHandler(const Json& j) {
  Handler h;
  take(j, "name", h.name);
  take(j, "architecture", h.architecture);
  take(j, "interpreter", h.interpreter);
  take(j, "flags", h.flags);
  if (j.contains("ownership")) h.ownership = kOwnerships.parse(value<std::string>(j, "ownership"));
  if (j.contains("state")) h.state = kHandlerStates.parse(value<std::string>(j, "state"));
  take(j, "enabled", h.enabled);
  take(j, "last_error", h.lastError);
  if (j.contains("verification"))
    h.verification = kVerifications.parse(value<std::string>(j, "verification"));
  take(j, "verification_detail", h.verificationDetail);
  take(j, "emulator_version", h.emulatorVersion);
  return h;
}

NoBusDaemon decode(const Json& j) {
  NoBusDaemon d;
  take(j, "pid", d.pid);
  take(j, "started", d.started);
  take(j, "updated", d.updated);
  take(j, "config_dirs", d.configDirs);
  take(j, "state_dir", d.stateDir);
  Manager& m = d.manager;
  take(j, "version", m.version);
  take(j, "binfmt_misc", m.binfmtMiscPath);
  take(j, "mounted", m.mounted);
  take(j, "global_enabled", m.globalEnabled);
  take(j, "config_files", m.configFiles);
  take(j, "config_errors", m.configErrors);
  if (const auto last = j.find("last_reconcile"); last != j.end() && last->is_object()) {
    take(*last, "time", m.lastReconcileTime);
    if (last->contains("result"))
      m.lastReconcileResult = kReconcileResults.parse(value<std::string>(*last, "result"));
    take(*last, "writes", m.lastReconcileWrites);
    take(*last, "errors", m.lastReconcileErrors);
  }
  if (const auto handlers = j.find("handlers"); handlers != j.end() && handlers->is_array())
    for (const auto& h : *handlers)
      if (h.is_object()) d.handlers.push_back(decodeHandler(h));
  d.document = j.dump(2);
  return d;
}

}  // namespace

const Handler* NoBusDaemon::handler(const std::string& name) const {
  for (const auto& h : handlers)
    if (h.name == name) return &h;
  return nullptr;
}

unsigned NoBusDaemon::ownRegistered() const {
  unsigned n = 0;
  for (const auto& h : handlers) n += !h.foreign() && h.enabled;
  return n;
}

std::string NoBusDaemon::adminConfigDir() const {
  return configDirs.empty() || configDirs.front().empty() ? "/etc/binfmtd" : configDirs.front();
}

std::string NoBusDaemon::statusFile() const {
  const std::filesystem::path dir = stateDir.empty() ? "/run/binfmtd" : stateDir;
  return (dir / nobus::kFileName).string();
}

std::string NoBusDaemon::summary() const {
  const std::string result = manager.lastReconcileResult == ReconcileResult::None
                                 ? "not done yet"
                                 : std::string(toString(manager.lastReconcileResult));
  std::string line = "binfmtd runs without D-Bus (binfmtd --no-bus, pid " + std::to_string(pid) +
                     "): last reconcile " + result + ", " + std::to_string(ownRegistered()) +
                     " handler(s) of its own registered";
  if (!manager.configErrors.empty())
    line += ", " + std::to_string(manager.configErrors.size()) + " configuration error(s)";
  return line;
}

std::filesystem::path stateDirectory() {
  const char* dir = std::getenv("BINFMTD_STATE_DIR");
  return dir != nullptr && *dir != '\0' ? dir : "/run/binfmtd";
}

std::optional<NoBusDaemon> findNoBusDaemon(const std::filesystem::path& stateDir) {
  const auto doc = nobus::readRunning(stateDir);
  if (!doc) return std::nullopt;
  return decode(*doc);
}

std::optional<NoBusDaemon> decodeNoBusDaemon(std::string_view text) {
  const Json j = Json::parse(text, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return std::nullopt;
  return decode(j);
}

}  // namespace binfmtd::client
