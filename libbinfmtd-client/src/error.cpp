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

}  // namespace

Error::Error(ErrorKind kind, std::string dbusName, std::string message)
    : std::runtime_error(sentence(kind, message)),
      kind_(kind),
      code_(kind == ErrorKind::Domain ? errorFromName(dbusName) : std::nullopt),
      dbusName_(std::move(dbusName)),
      message_(std::move(message)) {}

bool Error::unreachable() const noexcept {
  return kind_ == ErrorKind::NoBus || kind_ == ErrorKind::NoDaemon;
}

std::string Error::reason() const {
  if (kind_ == ErrorKind::NoDaemon)
    return "nobody owns " + std::string(kBusName) + " on the system bus";
  return what();
}

int Error::exitCode() const noexcept {
  if (unreachable()) return kExitNotReachable;
  if (kind_ == ErrorKind::BusDenied) return errorInfo(Errc::AccessDenied).exitCode;
  if (code_) return errorInfo(*code_).exitCode;
  return 1;
}

std::string notRunningSentence(const Error& e) {
  return "binfmtd is not running (" + e.reason() + ")";
}

Error fromDbus(const sdbus::Error& e) {
  const std::string& name = e.getName();
  ErrorKind kind = ErrorKind::Other;
  if (name == "org.freedesktop.DBus.Error.ServiceUnknown" ||
      name == "org.freedesktop.DBus.Error.NameHasNoOwner") {
    kind = ErrorKind::NoDaemon;
  } else if (name == "org.freedesktop.DBus.Error.AccessDenied") {
    kind = ErrorKind::BusDenied;
  } else if (name == "org.freedesktop.DBus.Error.UnknownMethod") {
    kind = ErrorKind::UnknownMethod;
  } else if (errorFromName(name)) {
    kind = ErrorKind::Domain;
  }
  return Error(kind, name, e.getMessage());
}

Error noBus(const sdbus::Error& e) { return Error(ErrorKind::NoBus, e.getName(), e.getMessage()); }

}  // namespace binfmtd::client
