#include "binfmtd-client/records.hpp"

#include <systemd/sd-bus.h>

#include <algorithm>
#include <cstdlib>

#include "names.hpp"

namespace binfmtd::client {

namespace {

// The parent of the handler objects, as sd_bus_path_decode() wants it: no trailing '/'.
constexpr const char* kHandlerParent = "/org/binfmtd/Binfmt1/handler";

// Sets `out` from the property when it is there with the expected type; an absent one (an
// older binfmtd) or one of another type leaves the default.
template <typename T>
void take(const PropertyMap& p, const char* key, T& out) {
  const auto it = p.find(key);
  if (it != p.end() && it->second.containsValueOfType<T>()) out = it->second.get<T>();
}

template <typename T>
T value(const PropertyMap& p, const char* key) {
  T out{};
  take(p, key, out);
  return out;
}

void takeState(const PropertyMap& p, HandlerState& out) {
  if (p.count("State")) out = kHandlerStates.parse(value<std::string>(p, "State"));
}

void takeOwnership(const PropertyMap& p, Ownership& out) {
  if (p.count("Ownership")) out = kOwnerships.parse(value<std::string>(p, "Ownership"));
}

}  // namespace

bool HandlerSummary::inKernel() const {
  if (foreign() || enabled) return true;
  switch (state) {
    case HandlerState::Registered:
    case HandlerState::Disabled:
    case HandlerState::Standby:
    case HandlerState::Shadowed:
      return true;
    default:
      return false;
  }
}

bool HandlerSummary::asConfigured() const {
  return foreign() || state == HandlerState::Registered || state == HandlerState::Inactive ||
         state == HandlerState::Standby;
}

void Handler::apply(const PropertyMap& changed) {
  for (const auto& [key, v] : changed) properties[key] = v;
  const PropertyMap& p = changed;
  take(p, "Name", name);
  take(p, "Architecture", architecture);
  take(p, "Interpreter", interpreter);
  takeOwnership(p, ownership);
  takeState(p, state);
  take(p, "Enabled", enabled);
  take(p, "Flags", flags);
  if (p.count("Type")) extensionMatch = value<std::string>(p, "Type") == "extension";
  take(p, "Extension", extension);
  take(p, "Offset", offset);
  take(p, "Magic", magic);
  take(p, "Mask", mask);
  take(p, "LastError", lastError);
  take(p, "ShadowedBy", shadowedBy);
  take(p, "SourceFile", sourceFile);
  take(p, "Priority", priority);
  take(p, "Platforms", platforms);
  if (p.count("Verification"))
    verification = kVerifications.parse(value<std::string>(p, "Verification"));
  take(p, "VerificationDetail", verificationDetail);
  take(p, "EmulatorVersion", emulatorVersion);
}

void Manager::apply(const PropertyMap& changed) {
  for (const auto& [key, v] : changed) properties[key] = v;
  const PropertyMap& p = changed;
  take(p, "Version", version);
  take(p, "BinfmtMiscPath", binfmtMiscPath);
  take(p, "Mounted", mounted);
  take(p, "GlobalEnabled", globalEnabled);
  take(p, "ConfigFiles", configFiles);
  take(p, "ConfigErrors", configErrors);
  take(p, "LastReconcileTime", lastReconcileTime);
  if (p.count("LastReconcileResult"))
    lastReconcileResult = kReconcileResults.parse(value<std::string>(p, "LastReconcileResult"));
  take(p, "LastReconcileWrites", lastReconcileWrites);
  take(p, "LastReconcileErrors", lastReconcileErrors);
}

bool Architecture::answersTo(const std::string& n) const {
  return n == name || std::find(aliases.begin(), aliases.end(), n) != aliases.end();
}

std::string handlerNameFromPath(const std::string& objectPath) {
  char* decoded = nullptr;
  std::string name = objectPath;
  if (sd_bus_path_decode(objectPath.c_str(), kHandlerParent, &decoded) > 0 && decoded != nullptr)
    name = decoded;
  std::free(decoded);
  return name;
}

HandlerSummary decodeHandlerSummary(const HandlerRecord& r) {
  HandlerSummary h;
  h.name = r.get<0>();
  h.architecture = r.get<1>();
  h.interpreter = r.get<2>();
  h.ownership = kOwnerships.parse(r.get<3>());
  h.state = kHandlerStates.parse(r.get<4>());
  h.enabled = r.get<5>();
  h.objectPath = r.get<6>();
  return h;
}

std::vector<HandlerSummary> decodeHandlerSummaries(const std::vector<HandlerRecord>& records) {
  std::vector<HandlerSummary> out;
  out.reserve(records.size());
  for (const auto& r : records) out.push_back(decodeHandlerSummary(r));
  return out;
}

std::vector<Architecture> decodeArchitectures(const std::vector<ArchitectureRecord>& records) {
  std::vector<Architecture> out;
  out.reserve(records.size());
  for (const auto& r : records) {
    Architecture a;
    a.name = r.get<0>();
    a.aliases = r.get<1>();
    a.interpreter = r.get<2>();
    a.isStatic = r.get<3>();
    a.native = r.get<4>();
    const PropertyMap& extra = r.get<5>();
    take(extra, "handler", a.handler);
    take(extra, "oci-platforms", a.ociPlatforms);
    take(extra, "default-flags", a.defaultFlags);
    take(extra, "configured", a.configured);
    out.push_back(std::move(a));
  }
  return out;
}

std::vector<PlanStep> decodePlan(const std::vector<TripleRecord>& steps) {
  std::vector<PlanStep> out;
  out.reserve(steps.size());
  for (const auto& s : steps) out.push_back({s.get<0>(), s.get<1>(), s.get<2>()});
  return out;
}

std::vector<VerifyResult> decodeVerifyResults(const std::vector<TripleRecord>& results) {
  std::vector<VerifyResult> out;
  out.reserve(results.size());
  for (const auto& r : results)
    out.push_back({r.get<0>(), kVerifications.parse(r.get<1>()), r.get<2>()});
  return out;
}

Handler decodeHandler(const std::string& objectPath, const PropertyMap& properties) {
  Handler h;
  h.objectPath = objectPath;
  h.apply(properties);
  return h;
}

std::vector<Handler> decodeHandlers(const ManagedObjects& objects) {
  std::vector<Handler> handlers;
  for (const auto& [path, interfaces] : objects) {
    const auto it = interfaces.find(kHandlerInterface);
    if (it != interfaces.end()) handlers.push_back(decodeHandler(path, it->second));
  }
  std::sort(handlers.begin(), handlers.end(),
            [](const Handler& a, const Handler& b) { return a.name < b.name; });
  return handlers;
}

Manager decodeManager(const PropertyMap& properties) {
  Manager m;
  m.apply(properties);
  return m;
}

Change decodeChange(const std::string& line) { return {line, parseChange(line)}; }

std::vector<Change> decodeChanges(const std::vector<std::string>& lines) {
  std::vector<Change> changes;
  changes.reserve(lines.size());
  for (const auto& l : lines) changes.push_back(decodeChange(l));
  return changes;
}

CheckResult decodeCheckResult(const PropertyMap& r) {
  CheckResult c;
  take(r, "format", c.format);
  take(r, "architecture", c.architecture);
  take(r, "verdict", c.verdict);
  take(r, "cause", c.cause);
  take(r, "handler", c.handler);
  take(r, "interpreter", c.interpreter);
  take(r, "flags", c.flags);
  take(r, "reason", c.reason);
  take(r, "fix", c.fix);
  take(r, "error", c.error);
  take(r, "notes", c.notes);
  take(r, "command", c.command);
  return c;
}

PropertyMap checkOptions(const CheckRequest& q) {
  PropertyMap o{{"size", sdbus::Variant(q.size)},
                {"arguments", sdbus::Variant(q.arguments)},
                {"other-root", sdbus::Variant(q.otherRoot)},
                {"user-namespace", sdbus::Variant(q.userNamespace)},
                {"binfmt-misc-device", sdbus::Variant(q.binfmtMiscDevice)},
                {"binfmt-misc-entries", sdbus::Variant(q.binfmtMiscEntries)}};
  if (q.hiddenInterpreter) o["hidden-interpreter"] = sdbus::Variant(*q.hiddenInterpreter);
  return o;
}

}  // namespace binfmtd::client
