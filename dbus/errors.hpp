// The one table of binfmtd's domain errors, shared by the daemon (which raises them)
// and its clients (which turn them back into exit codes). No D-Bus library here: the
// service layer names its error replies with errorName(), clients read them back with
// errorFromName().
#pragma once

#include <array>
#include <optional>
#include <string>
#include <string_view>

namespace binfmtd {

enum class Errc {
  ConfigInvalid,         // a config file could not be parsed or holds an invalid entry
  NoSuchHandler,         // no handler or architecture by that name
  UnknownArchitecture,   // an architecture name the catalogue does not know
  EmulatorNotFound,      // no interpreter installed for an architecture
  NativeArchitecture,    // the host runs this architecture family natively
  ForeignEntry,          // the kernel entry belongs to someone else
  InvalidEntry,          // a handler definition breaks a kernel rule
  KernelRejected,        // binfmt_misc refused a write
  NotMounted,            // binfmt_misc is not mounted and could not be mounted
  InterpreterUntrusted,  // interpreter path fails the trust checks
  AccessDenied,          // caller may not do this
  Io,                    // reading or writing a file failed
};

inline constexpr std::string_view kErrorPrefix = "org.binfmtd.Binfmt1.Error.";

struct ErrorInfo {
  Errc code;
  std::string_view name;  // appended to kErrorPrefix
  int exitCode;           // what binfmtctl exits with
};

// Exit codes follow the LSB init-script convention where one fits (4 = insufficient
// privilege), otherwise small distinct numbers documented in binfmtctl(1).
inline constexpr std::array<ErrorInfo, 12> kErrors{{
    {Errc::ConfigInvalid, "ConfigInvalid", 6},
    {Errc::NoSuchHandler, "NoSuchHandler", 5},
    {Errc::UnknownArchitecture, "UnknownArchitecture", 5},
    {Errc::EmulatorNotFound, "EmulatorNotFound", 7},
    {Errc::NativeArchitecture, "NativeArchitecture", 8},
    {Errc::ForeignEntry, "ForeignEntry", 9},
    {Errc::InvalidEntry, "InvalidEntry", 6},
    {Errc::KernelRejected, "KernelRejected", 10},
    {Errc::NotMounted, "NotMounted", 11},
    {Errc::InterpreterUntrusted, "InterpreterUntrusted", 12},
    {Errc::AccessDenied, "AccessDenied", 4},
    {Errc::Io, "Io", 1},
}};

constexpr const ErrorInfo& errorInfo(Errc code) {
  for (const auto& e : kErrors)
    if (e.code == code) return e;
  return kErrors.back();
}

/// The D-Bus error name of a domain error: "org.binfmtd.Binfmt1.Error.NoSuchHandler".
inline std::string errorName(Errc code) {
  return std::string(kErrorPrefix) + std::string(errorInfo(code).name);
}

/// The domain error a D-Bus error name stands for; nullopt for names that are not
/// binfmtd's (the bus's own, org.freedesktop.DBus.Error.*) or not in this table.
constexpr std::optional<Errc> errorFromName(std::string_view name) {
  if (name.substr(0, kErrorPrefix.size()) != kErrorPrefix) return std::nullopt;
  name.remove_prefix(kErrorPrefix.size());
  for (const auto& e : kErrors)
    if (e.name == name) return e.code;
  return std::nullopt;
}

}  // namespace binfmtd
