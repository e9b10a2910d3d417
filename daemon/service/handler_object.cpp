#include "service/handler_object.hpp"

#include "catalog/architectures.hpp"
#include "service/object_path.hpp"

namespace binfmtd::service {

namespace {

std::vector<uint8_t> bytes(const std::string& s) { return {s.begin(), s.end()}; }

// Property name -> whether it differs between two snapshots.
std::vector<std::string> changedProperties(const engine::HandlerStatus& a,
                                           const engine::HandlerStatus& b) {
  std::vector<std::string> names;
  auto check = [&](bool differs, const char* name) {
    if (differs) names.emplace_back(name);
  };
  check(a.architecture != b.architecture, "Architecture");
  check(a.architecture != b.architecture, "Platforms");
  check(a.entry.interpreter != b.entry.interpreter, "Interpreter");
  check(a.entry.flags != b.entry.flags, "Flags");
  check(a.entry.type != b.entry.type, "Type");
  check(a.entry.offset != b.entry.offset, "Offset");
  check(a.entry.magic != b.entry.magic, "Magic");
  check(a.entry.mask != b.entry.mask, "Mask");
  check(a.entry.extension != b.entry.extension, "Extension");
  check((a.inKernel && a.entry.enabled) != (b.inKernel && b.entry.enabled), "Enabled");
  check(a.owned != b.owned, "Ownership");
  check(a.state != b.state, "State");
  check(a.lastError != b.lastError, "LastError");
  check(a.priority != b.priority, "Priority");
  check(a.shadowedBy != b.shadowedBy, "ShadowedBy");
  check(a.source != b.source, "SourceFile");
  return names;
}

}  // namespace

HandlerObject::HandlerObject(sdbus::IConnection& connection, engine::HandlerStatus status,
                             verify::Verdict verdict, std::string emulatorVersion,
                             bool announce)
    : AdaptorInterfaces(connection, handlerPath(status.entry.name)),
      status_(std::move(status)),
      verdict_(std::move(verdict)),
      emulatorVersion_(std::move(emulatorVersion)) {
  registerAdaptor();
  if (announce) emitInterfacesAddedSignal({kHandlerInterface});
}

HandlerObject::~HandlerObject() {
  emitInterfacesRemovedSignal({kHandlerInterface});
  unregisterAdaptor();
}

void HandlerObject::update(engine::HandlerStatus status, bool announce) {
  auto changed = announce ? changedProperties(status_, status) : std::vector<std::string>{};
  status_ = std::move(status);
  if (!changed.empty()) emitPropertiesChangedSignal(kHandlerInterface, changed);
}

std::string HandlerObject::Name() { return status_.entry.name; }
std::string HandlerObject::Architecture() { return status_.architecture; }
std::string HandlerObject::Interpreter() { return status_.entry.interpreter; }
std::string HandlerObject::Flags() { return status_.entry.flags; }
std::string HandlerObject::Type() {
  return status_.entry.type == kernel::MatchType::Magic ? "magic" : "extension";
}
uint32_t HandlerObject::Offset() { return status_.entry.offset; }
std::vector<uint8_t> HandlerObject::Magic() { return bytes(status_.entry.magic); }
std::vector<uint8_t> HandlerObject::Mask() { return bytes(status_.entry.mask); }
std::string HandlerObject::Extension() { return status_.entry.extension; }
bool HandlerObject::Enabled() { return status_.inKernel && status_.entry.enabled; }
std::string HandlerObject::Ownership() { return status_.owned ? "owned" : "foreign"; }
std::string HandlerObject::State() { return status_.state; }
std::string HandlerObject::LastError() { return status_.lastError; }
int32_t HandlerObject::Priority() { return status_.priority; }
std::string HandlerObject::ShadowedBy() { return status_.shadowedBy; }
std::string HandlerObject::SourceFile() { return status_.source; }

void HandlerObject::setVerification(verify::Verdict verdict, std::string emulatorVersion,
                                    bool announce) {
  std::vector<std::string> changed;
  if (verdict.verification != verdict_.verification) changed.emplace_back("Verification");
  if (verdict.detail != verdict_.detail) changed.emplace_back("VerificationDetail");
  if (emulatorVersion != emulatorVersion_) changed.emplace_back("EmulatorVersion");
  verdict_ = std::move(verdict);
  emulatorVersion_ = std::move(emulatorVersion);
  if (announce && !changed.empty()) emitPropertiesChangedSignal(kHandlerInterface, changed);
}

std::vector<std::string> HandlerObject::Platforms() {
  const auto* arch = catalog::find(status_.architecture);
  if (arch == nullptr || status_.architecture.empty()) return {};
  return {arch->ociPlatforms.begin(), arch->ociPlatforms.end()};
}
std::string HandlerObject::Verification() { return verdict_.verification; }
std::string HandlerObject::VerificationDetail() { return verdict_.detail; }
std::string HandlerObject::EmulatorVersion() { return emulatorVersion_; }

}  // namespace binfmtd::service
