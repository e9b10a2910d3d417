// One D-Bus object per handler, under /org/binfmtd/Binfmt1/handler/. It holds a
// snapshot of the engine's view and emits PropertiesChanged when a new one differs.
#pragma once

#include <sdbus-c++/sdbus-c++.h>

#include "binfmt1-adaptor.hpp"
#include "engine/engine.hpp"
#include "verify/verdict.hpp"

namespace binfmtd::service {

class HandlerObject final
    : public sdbus::AdaptorInterfaces<org::binfmtd::Binfmt1::Handler_adaptor,
                                      sdbus::Properties_adaptor, sdbus::ManagedObject_adaptor> {
 public:
  /// `announce`: emit InterfacesAdded; false while the bus name is not ours yet, when
  /// nobody can be listening and GetManagedObjects lists the object anyway.
  HandlerObject(sdbus::IConnection& connection, engine::HandlerStatus status,
                verify::Verdict verdict, std::string emulatorVersion, bool announce);
  ~HandlerObject();
  HandlerObject(const HandlerObject&) = delete;
  HandlerObject& operator=(const HandlerObject&) = delete;

  /// Takes a new snapshot and, if `announce`, signals the properties that changed.
  void update(engine::HandlerStatus status, bool announce);
  const engine::HandlerStatus& status() const { return status_; }

  /// Takes the verifier's current view and signals what changed.
  void setVerification(verify::Verdict verdict, std::string emulatorVersion, bool announce);

 private:
  std::string Name() override;
  std::string Architecture() override;
  std::string Interpreter() override;
  std::string Flags() override;
  std::string Type() override;
  uint32_t Offset() override;
  std::vector<uint8_t> Magic() override;
  std::vector<uint8_t> Mask() override;
  std::string Extension() override;
  bool Enabled() override;
  std::string Ownership() override;
  std::string State() override;
  std::string LastError() override;
  int32_t Priority() override;
  std::string ShadowedBy() override;
  std::string SourceFile() override;
  std::vector<std::string> Platforms() override;
  std::string Verification() override;
  std::string VerificationDetail() override;
  std::string EmulatorVersion() override;

  engine::HandlerStatus status_;
  verify::Verdict verdict_;
  std::string emulatorVersion_;
};

}  // namespace binfmtd::service
