// The manager object, /org/binfmtd/Binfmt1: translates D-Bus calls into engine calls and
// engine errors into org.binfmtd.Binfmt1.Error.* replies, and keeps the handler objects
// in step with the engine's view. No policy of its own beyond checking its arguments and
// asking the Authority.
#pragma once

#include <sdbus-c++/sdbus-c++.h>

#include <functional>
#include <map>
#include <memory>

#include "binfmt1-adaptor.hpp"
#include "engine/engine.hpp"
#include "frontend.hpp"
#include "service/authorization.hpp"
#include "service/handler_object.hpp"
#include "verify/verifier.hpp"

namespace binfmtd::service {

class ManagerObject final
    : public sdbus::AdaptorInterfaces<org::binfmtd::Binfmt1::Manager_adaptor,
                                      sdbus::Properties_adaptor, sdbus::ObjectManager_adaptor>,
      public Frontend {
 public:
  /// onChange is called after every refresh (the daemon updates sd_notify STATUS=).
  /// kernelGeneration moves whenever binfmt_misc may have changed (EventLoop).
  ManagerObject(sdbus::IConnection& connection, engine::Engine& engine, std::string binfmtDir,
                verify::Verifier& verifier,
                std::function<void(const engine::Status&)> onChange,
                std::function<std::uint64_t()> kernelGeneration);
  ~ManagerObject();
  ManagerObject(const ManagerObject&) = delete;
  ManagerObject& operator=(const ManagerObject&) = delete;

  /// Re-reads the engine's view, updates the handler objects and emits PropertiesChanged.
  void refresh();

  /// From now on, signal new objects and changed properties: call it once the bus name
  /// is ours. Before, nobody can be listening, and signals only cost start-up time.
  void announce() override { announced_ = true; }

  /// After a reconcile: refresh, and verify again the handlers it wrote ("name: ..."
  /// change lines), even when they look as before (registered again after a flush).
  void reconciled(const std::vector<std::string>& changes) override;

  /// Announces a repair pass that did or found something (the Repaired signal), then
  /// refreshes.
  void repaired(const engine::HealResult& result) override;

  /// The verifier has news (a probe ended, a version became known): the handler objects
  /// show it, and a handler whose entry changed meanwhile is verified again.
  void verificationChanged() override;

 private:
  std::vector<sdbus::Struct<std::string, std::string, std::string, std::string, std::string, bool,
                            sdbus::ObjectPath>>
  ListHandlers() override;
  std::vector<sdbus::Struct<std::string, std::vector<std::string>, std::string, bool, bool,
                            std::map<std::string, sdbus::Variant>>>
  ListArchitectures() override;
  // The mutating methods reply later (Method.Async): after polkit has answered.
  using Changes = sdbus::Result<std::vector<std::string>>;
  void Enable(Changes&& result, std::vector<std::string> names,
              std::map<std::string, sdbus::Variant> options) override;
  void Disable(Changes&& result, std::vector<std::string> names,
               std::map<std::string, sdbus::Variant> options) override;
  void Reload(Changes&& result) override;
  std::vector<sdbus::Struct<std::string, std::string, std::string>> Plan() override;
  using VerifyResults = sdbus::Result<std::vector<sdbus::Struct<std::string, std::string, std::string>>>;
  void Verify(VerifyResults&& result, std::vector<std::string> names) override;
  std::map<std::string, sdbus::Variant> Check(
      const std::string& path, const std::vector<uint8_t>& header,
      const std::map<std::string, sdbus::Variant>& options) override;

  std::string Version() override;
  std::string BinfmtMiscPath() override;
  bool Mounted() override;
  bool GlobalEnabled() override;
  std::vector<std::string> ConfigFiles() override;
  std::vector<std::string> ConfigErrors() override;
  uint64_t LastReconcileTime() override;
  std::string LastReconcileResult() override;
  uint32_t LastReconcileWrites() override;
  std::vector<std::string> LastReconcileErrors() override;

  void change(bool enable, Changes&& result, std::vector<std::string> names,
              const std::map<std::string, sdbus::Variant>& options);
  /// Once authorized: runs `work`, logs what it changed (or why it failed), refreshes
  /// and replies.
  void perform(Changes& result, const Caller& caller, const std::string& what,
               const std::function<std::vector<std::string>()>& work);
  void publish(const engine::Status& status);
  /// Whether status_ may be served as it is: the kernel has not changed since it was
  /// read, and it is younger than kMaxStatusAge (interpreters can come and go unseen).
  bool fresh() const;
  verify::Subject subjectOf(const engine::HandlerStatus& h) const;
  /// The handler names Verify is about, checked; throws the error reply.
  std::vector<std::string> verifyTargets(const std::vector<std::string>& names) const;

  sdbus::IConnection& connection_;
  engine::Engine& engine_;
  std::string binfmtDir_;
  verify::Verifier& verifier_;
  std::function<void(const engine::Status&)> onChange_;
  std::function<std::uint64_t()> kernelGeneration_;
  engine::Status status_;
  std::uint64_t statusGeneration_ = 0;
  std::uint64_t statusTime_ = 0;  // CLOCK_MONOTONIC, microseconds
  bool announced_ = false;
  std::map<std::string, std::unique_ptr<HandlerObject>> handlers_;
  Authority authority_;  // last: destroyed first, dropping checks still waiting for polkit
};

}  // namespace binfmtd::service
