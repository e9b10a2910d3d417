// Verified emulation: runs an architecture's probe program (probes/, installed to
// libexecdir/binfmtd/probes/<arch>) through the binfmt_misc entry registered for it and
// keeps the verdict per handler, cached per entry definition; finds out the emulator's
// version for QEMU interpreters. Everything runs from the daemon's sd-event loop, in its
// own mount and user namespace, so the probe goes through the binfmt_misc instance the
// daemon manages. No D-Bus here: the service layer asks and publishes.
#pragma once

#include <systemd/sd-event.h>

#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "verify/process.hpp"
#include "verify/verdict.hpp"

namespace binfmtd::verify {

/// A handler as the verifier needs to see it.
struct Subject {
  std::string handler;       // the entry name
  std::string architecture;  // canonical catalogue name; "" for custom handlers
  std::string entry;         // register string of the kernel entry; "" when not registered
  std::string interpreter;
  /// Why a probe cannot run through this entry now ("the entry is disabled"); "" when
  /// it is registered and enabled and the kernel would choose it.
  std::string inactive;
};

class Verifier {
 public:
  struct Callbacks {
    /// A probe run ended (after the callers of verify() got the verdict).
    std::function<void(const Subject&, const Verdict&)> probed;
    /// An emulator's version became known.
    std::function<void()> versionKnown;
  };
  using Done = std::function<void(const Verdict&)>;

  Verifier(sd_event* event, std::filesystem::path probeDir, int expectedStatus,
           Callbacks callbacks);

  /// What to show for a handler now, without running anything: the last result if the
  /// entry and interpreter are still what it was measured against.
  Verdict view(const Subject& subject) const;

  /// Runs the probe unless a result for the same definition younger than kMaxAge exists;
  /// a run already under way for the same definition is shared. `done` may be called
  /// before this returns (nothing to run, or a cached result).
  void verify(const Subject& subject, Done done);

  /// Runs the probe when the handler became runnable, or its kernel entry changed, since
  /// the last call for it: after a reconcile or repair registered, replaced or enabled
  /// it. A changed interpreter file alone (a package upgrade under way) only makes the
  /// view "unverified" until the next Verify.
  void notice(const Subject& subject);

  /// Makes the next notice() for this handler run the probe even if its entry looks the
  /// same: a repair registered it again, or a reconcile wrote it.
  void renew(const std::string& handler);

  /// The first line of `INTERPRETER --version` for QEMU interpreters (the resolved file
  /// is named qemu-*), as last found for the file as it is now; "" when unknown. A
  /// probe run asks for it when it is not known.
  std::string emulatorVersion(const std::string& interpreter) const;

  /// The probe program for an architecture: <probeDir>/<arch>.
  std::filesystem::path probeFor(const std::string& architecture) const;

 private:
  struct HandlerState {
    std::optional<CachedResult> cached;
    std::optional<Key> running;  // the definition a run under way measures
    std::vector<Done> waiters;   // for the run under way
    std::vector<std::pair<Subject, Done>> later;  // for a newer definition
    std::optional<std::string> seen;  // notice(): the entry last seen runnable
  };
  struct VersionState {
    std::string identity;  // of the interpreter file the version belongs to
    std::string version;
    bool running = false;
  };

  /// no-probe / unverified for what cannot run; nullopt when the probe can run.
  std::optional<Verdict> notRunnable(const Subject& subject) const;
  void start(const Subject& subject, const Key& key);
  void finished(const Subject& subject, const Key& key, const Outcome& outcome);
  void askVersion(const std::string& interpreter);

  Spawner spawner_;
  std::filesystem::path probeDir_;
  int expectedStatus_;
  Callbacks callbacks_;
  std::map<std::string, HandlerState> handlers_;
  std::map<std::string, VersionState> versions_;  // by interpreter path
};

/// Whether an interpreter is QEMU: its resolved file name starts with "qemu-" (Debian's
/// /usr/libexec/qemu-binfmt/aarch64-binfmt-P is a link to qemu-aarch64-static).
bool isQemu(const std::string& interpreter);

}  // namespace binfmtd::verify
