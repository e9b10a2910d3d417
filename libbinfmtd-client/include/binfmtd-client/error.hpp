// binfmtd-client: the one translation of what goes wrong on the way to binfmtd into what a
// user is told: every D-Bus error (the bus's own and binfmtd's org.binfmtd.Binfmt1.Error.*)
// becomes a client::Error with a kind, the domain error when there is one, the sentence
// to show and the exit code binfmtctl(1) documents.
#pragma once

#include <sdbus-c++/Error.h>

#include <optional>
#include <stdexcept>
#include <string>

#include "errors.hpp"  // the contract's error table (dbus/errors.hpp)

namespace binfmtd::client {

/// binfmtctl(1)'s exit status when binfmtd cannot be reached (no system bus, or nobody
/// owns org.binfmtd.Binfmt1 on it). The other codes come from the contract's error table.
inline constexpr int kExitNotReachable = 3;

enum class ErrorKind {
  NoBus,          // the system bus itself cannot be reached
  NoDaemon,       // the bus answers, but nobody owns org.binfmtd.Binfmt1
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
///   BusDenied: "permission denied by the bus policy: MESSAGE"
///   otherwise: binfmtd's (or the bus's) own sentence.
class Error : public std::runtime_error {
 public:
  Error(ErrorKind kind, std::string dbusName, std::string message);

  ErrorKind kind() const noexcept { return kind_; }
  /// binfmtd's domain error, for kind() == Domain.
  std::optional<Errc> code() const noexcept { return code_; }
  /// The D-Bus error name ("org.binfmtd.Binfmt1.Error.NoSuchHandler").
  const std::string& dbusName() const noexcept { return dbusName_; }
  /// The sentence that came with it, unchanged.
  const std::string& message() const noexcept { return message_; }

  /// binfmtd cannot be reached at all (NoBus or NoDaemon).
  bool unreachable() const noexcept;
  /// The reason in one phrase, without advice: for NoDaemon "nobody owns
  /// org.binfmtd.Binfmt1 on the system bus", for NoBus "cannot reach the system bus:
  /// MESSAGE", else what().
  std::string reason() const;
  /// binfmtctl's exit status: 3 when unreachable, the contract's code for a domain error
  /// (and 4 for BusDenied, as for AccessDenied), else 1.
  int exitCode() const noexcept;

 private:
  ErrorKind kind_;
  std::optional<Errc> code_;
  std::string dbusName_;
  std::string message_;
};

/// The one sentence for a binfmtd that cannot be reached, as a problem to list:
/// "binfmtd is not running (REASON)".
std::string notRunningSentence(const Error& e);

/// Classifies an error from a call to binfmtd (names of the bus and of the contract).
Error fromDbus(const sdbus::Error& e);

/// An error from opening the bus connection: always NoBus.
Error noBus(const sdbus::Error& e);

}  // namespace binfmtd::client
