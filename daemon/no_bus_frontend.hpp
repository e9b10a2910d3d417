// The frontend of `binfmtd --no-bus`: where there is no system bus (a container, a
// Kubernetes node, WSL or a host without systemd), the daemon reconciles, heals, verifies
// and logs as usual, and what it would serve on D-Bus goes into its status file
// (no_bus_status.hpp), which it holds locked while it runs and removes when it stops.
#pragma once

#include <systemd/sd-event.h>

#include <functional>

#include "engine/engine.hpp"
#include "frontend.hpp"
#include "options.hpp"
#include "verify/verifier.hpp"

namespace binfmtd {

class NoBusFrontend final : public Frontend {
 public:
  /// Creates and locks STATE_DIR/no-bus.json. Throws std::runtime_error when another
  /// bus-less binfmtd holds it. onChange is called after every refresh (sd_notify STATUS=).
  NoBusFrontend(sd_event* event, engine::Engine& engine, verify::Verifier& verifier,
                const Options& options, std::function<void(const engine::Status&)> onChange);
  ~NoBusFrontend() override;
  NoBusFrontend(const NoBusFrontend&) = delete;
  NoBusFrontend& operator=(const NoBusFrontend&) = delete;

  void reconciled(const std::vector<std::string>& changes) override;
  void repaired(const engine::HealResult& result) override;
  void verificationChanged() override;
  /// Starts the heartbeat: the file is rewritten at least every nobus::kHeartbeatUsec.
  void announce() override;

 private:
  void refresh();
  /// Verifies binfmtd's own entries that changed, as the D-Bus frontend does.
  void noticeOwned();
  void write();
  static int onHeartbeat(sd_event_source* source, uint64_t, void* self);

  sd_event* event_;
  engine::Engine& engine_;
  verify::Verifier& verifier_;
  const Options& options_;
  std::function<void(const engine::Status&)> onChange_;
  engine::Status status_;
  std::filesystem::path file_;
  int fd_ = -1;
  std::uint64_t started_ = 0;
  sd_event_source* heartbeat_ = nullptr;
};

}  // namespace binfmtd
