#include "binfmtd-client/error.hpp"

#include "names.hpp"

namespace binfmtd::client {

namespace {

std::string sentence(ErrorKind kind, const std::string& message) {
  switch (kind) {
    case ErrorKind::NoDaemon:
      return "binfmtd is not running (nobody owns " + std::string(kBusName) +
             " on the system bus).\nStart it with: systemctl start binfmtd";
    case ErrorKind::NoBus:
      return "cannot reach the system bus: " + message;
    case ErrorKind::BusDenied:
      return "permission denied by the bus policy: " + message;
    default:
      return message;
  }
}

// Nobody can ask a bus-less binfmtd anything: say what it is doing, and what to do instead.
std::string sentence(const NoBusDaemon& d) {
  const std::string admin = d.adminConfigDir();
  return d.summary() + ".\nWithout D-Bus nobody can query or change it: edit " + admin +
         "/binfmtd.json or a file in " + admin +
         "/conf.d/ and it applies the change at once.\nIts state is in " + d.statusFile() +
         "; 'binfmtctl doctor' reports the kernel side.";
}

// An unreachable binfmtd may be one that runs without D-Bus.
Error unreachable(ErrorKind kind, const sdbus::Error& e) {
  if (auto daemon = findNoBusDaemon())
    return Error(e.getName(), e.getMessage(), std::move(*daemon));
  return Error(kind, e.getName(), e.getMessage());
}

}  // namespace

Error::Error(ErrorKind kind, std::string dbusName, std::string message)
    : std::runtime_error(sentence(kind, message)),
      kind_(kind),
      code_(kind == ErrorKind::Domain ? errorFromName(dbusName) : std::nullopt),
      dbusName_(std::move(dbusName)),
      message_(std::move(message)) {}

Error::Error(std::string dbusName, std::string message, NoBusDaemon daemon)
    : std::runtime_error(sentence(daemon)),
      kind_(ErrorKind::NoBusDaemon),
      dbusName_(std::move(dbusName)),
      message_(std::move(message)),
      noBusDaemon_(std::make_shared<const NoBusDaemon>(std::move(daemon))) {}

bool Error::unreachable() const noexcept {
  return kind_ == ErrorKind::NoBus || kind_ == ErrorKind::NoDaemon ||
         kind_ == ErrorKind::NoBusDaemon;
}

std::string Error::reason() const {
  if (kind_ == ErrorKind::NoDaemon)
    return "nobody owns " + std::string(kBusName) + " on the system bus";
  if (noBusDaemon_) return noBusDaemon_->summary();
  return what();
}

int Error::exitCode() const noexcept {
  if (unreachable()) return kExitNotReachable;
  if (kind_ == ErrorKind::BusDenied) return errorInfo(Errc::AccessDenied).exitCode;
  if (code_) return errorInfo(*code_).exitCode;
  return 1;
}

std::string notRunningSentence(const Error& e) {
  if (e.kind() == ErrorKind::NoBusDaemon) return e.reason();
  return "binfmtd is not running (" + e.reason() + ")";
}

Error fromDbus(const sdbus::Error& e) {
  const std::string& name = e.getName();
  if (name == "org.freedesktop.DBus.Error.ServiceUnknown" ||
      name == "org.freedesktop.DBus.Error.NameHasNoOwner")
    return unreachable(ErrorKind::NoDaemon, e);
  ErrorKind kind = ErrorKind::Other;
  if (name == "org.freedesktop.DBus.Error.AccessDenied") {
    kind = ErrorKind::BusDenied;
  } else if (name == "org.freedesktop.DBus.Error.UnknownMethod") {
    kind = ErrorKind::UnknownMethod;
  } else if (errorFromName(name)) {
    kind = ErrorKind::Domain;
  }
  return Error(kind, name, e.getMessage());
}

Error noBus(const sdbus::Error& e) { return unreachable(ErrorKind::NoBus, e); }

}  // namespace binfmtd::client
