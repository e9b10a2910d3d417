// binfmtd-client: the one translation of what goes wrong on the way to binfmtd into what a
// user is told: every D-Bus error (the bus's own and binfmtd's org.binfmtd.Binfmt1.Error.*)
// becomes a client::Error with a kind, the domain error when there is one, the sentence
// to show and the exit code binfmtctl(1) documents. When binfmtd cannot be reached on the
// bus because it runs without D-Bus (binfmtd --no-bus), the Error says so and carries its
// status (no_bus.hpp).
#pragma once

#include <sdbus-c++/Error.h>

#include <memory>
#include <optional>
#include <stdexcept>
#include <string>

#include "binfmtd-client/no_bus.hpp"
#include "errors.hpp"  // the contract's error table (dbus/errors.hpp)

namespace binfmtd::client {

/// binfmtctl(1)'s exit status when binfmtd cannot be reached (no system bus, nobody owns
/// org.binfmtd.Binfmt1 on it, or binfmtd runs without D-Bus). The other codes come from
/// the contract's error table.
inline constexpr int kExitNotReachable = 3;

enum class ErrorKind {
  NoBus,          // the system bus itself cannot be reached
  NoDaemon,       // the bus answers, but nobody owns org.binfmtd.Binfmt1
  NoBusDaemon,    // either of those, and binfmtd runs without D-Bus: noBusDaemon() says how
  BusDenied,      // the bus policy refused the call (not binfmtd)
  Domain,         // one of binfmtd's own errors: code() says which
  UnknownMethod,  // the binfmtd that answered is older and lacks the member
  Other,          // anything else (timeouts, invalid arguments, a reply of the wrong type)
};

/// What went wrong, ready to be shown. what() is the sentence binfmtctl prints after
/// "binfmtctl: ", exactly as it always has:
///   NoDaemon:  "binfmtd is not running (nobody owns org.binfmtd.Binfmt1 on the system
///               bus).\nStart it with: systemctl start binfmtd"
///   NoBus:     "cannot reach the system bus: MESSAGE"
///   NoBusDaemon: "binfmtd runs without D-Bus (binfmtd --no-bus, pid 812): last reconcile
///               ok, 2 handler(s) of its own registered.\nWithout D-Bus nobody can query
///               or change it: edit /etc/binfmtd/binfmtd.json or a file in
///               /etc/binfmtd/conf.d/ and it applies the change at once.\nIts state is in
///               /run/binfmtd/no-bus.json; 'binfmtctl doctor' reports the kernel side."
///   BusDenied: "permission denied by the bus policy: MESSAGE"
///   otherwise: binfmtd's (or the bus's) own sentence.
class Error : public std::runtime_error {
 public:
  Error(ErrorKind kind, std::string dbusName, std::string message);
  /// binfmtd could not be reached on the bus (the bus's error `dbusName`, `message`) and
  /// runs without D-Bus: kind NoBusDaemon.
  Error(std::string dbusName, std::string message, NoBusDaemon daemon);

  ErrorKind kind() const noexcept { return kind_; }
  /// binfmtd's domain error, for kind() == Domain.
  std::optional<Errc> code() const noexcept { return code_; }
  /// The D-Bus error name ("org.binfmtd.Binfmt1.Error.NoSuchHandler").
  const std::string& dbusName() const noexcept { return dbusName_; }
  /// The sentence that came with it, unchanged.
  const std::string& message() const noexcept { return message_; }
  /// The status of the binfmtd that runs without D-Bus, for kind() == NoBusDaemon; else null.
  const NoBusDaemon* noBusDaemon() const noexcept { return noBusDaemon_.get(); }

  /// binfmtd cannot be reached at all (NoBus, NoDaemon or NoBusDaemon).
  bool unreachable() const noexcept;
  /// The reason in one phrase, without advice: for NoDaemon "nobody owns
  /// org.binfmtd.Binfmt1 on the system bus", for NoBus "cannot reach the system bus:
  /// MESSAGE", for NoBusDaemon its summary() ("binfmtd runs without D-Bus (...): ..."),
  /// else what().
  std::string reason() const;
  /// binfmtctl's exit status: 3 when unreachable, the contract's code for a domain error
  /// (and 4 for BusDenied, as for AccessDenied), else 1.
  int exitCode() const noexcept;

 private:
  ErrorKind kind_;
  std::optional<Errc> code_;
  std::string dbusName_;
  std::string message_;
  std::shared_ptr<const NoBusDaemon> noBusDaemon_;  // shared: copying an exception must not throw
};

/// The one sentence for a binfmtd that cannot be reached, as a problem to list:
/// "binfmtd is not running (REASON)"; for one that runs without D-Bus, reason().
std::string notRunningSentence(const Error& e);

/// Classifies an error from a call to binfmtd (names of the bus and of the contract).
/// When nobody owns org.binfmtd.Binfmt1, it looks for a bus-less binfmtd
/// (findNoBusDaemon()): NoBusDaemon when one runs, else NoDaemon.
Error fromDbus(const sdbus::Error& e);

/// An error from opening the bus connection: NoBus, or NoBusDaemon when a bus-less
/// binfmtd runs (findNoBusDaemon()).
Error noBus(const sdbus::Error& e);

}  // namespace binfmtd::client
