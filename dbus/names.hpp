// The bus name, object paths and interfaces of org.binfmtd.Binfmt1, shared by the daemon
// and binfmtctl (dbus/org.binfmtd.Binfmt1.xml describes what is behind them).
#pragma once

namespace binfmtd {

inline constexpr const char* kBusName = "org.binfmtd.Binfmt1";
inline constexpr const char* kManagerPath = "/org/binfmtd/Binfmt1";
inline constexpr const char* kHandlerPrefix = "/org/binfmtd/Binfmt1/handler/";
inline constexpr const char* kManagerInterface = "org.binfmtd.Binfmt1.Manager";
inline constexpr const char* kHandlerInterface = "org.binfmtd.Binfmt1.Handler";

}  // namespace binfmtd
