// What the daemon's loop tells the part that presents the engine's state: the D-Bus
// manager object (service/manager_object.hpp), or, with --no-bus, the status file
// (no_bus_frontend.hpp). Both verify binfmtd's own entries the same way after a change.
#pragma once

#include <string>
#include <vector>

#include "engine/engine.hpp"

namespace binfmtd {

class Frontend {
 public:
  virtual ~Frontend() = default;

  /// After a reconcile: show the new state, and verify again the handlers it wrote
  /// ("name: ..." change lines), even when they look as before.
  virtual void reconciled(const std::vector<std::string>& changes) = 0;

  /// After a repair pass that did or found something (already logged).
  virtual void repaired(const engine::HealResult& result) = 0;

  /// The verifier has news (a probe ended, a version became known).
  virtual void verificationChanged() = 0;

  /// The first reconcile is done and the daemon is about to send READY=1: from now on,
  /// clients may look (on D-Bus: signals are sent from now on).
  virtual void announce() = 0;
};

}  // namespace binfmtd
