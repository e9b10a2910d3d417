// The bus name, object paths and interfaces of org.binfmtd.Binfmt1, shared by the daemon
// and binfmtctl (dbus/org.binfmtd.Binfmt1.xml describes what is behind them).
#pragma once

namespace binfmtd {
// Inline: the daemon's code in namespace binfmtd sees the names as they are; binfmtctl
// takes them all with one `using namespace binfmtd::bus_names;`.
inline namespace bus_names {

inline constexpr const char* kBusName = "org.binfmtd.Binfmt1";
inline constexpr const char* kManagerPath = "/org/binfmtd/Binfmt1";
inline constexpr const char* kHandlerPrefix = "/org/binfmtd/Binfmt1/handler/";
inline constexpr const char* kManagerInterface = "org.binfmtd.Binfmt1.Manager";
inline constexpr const char* kHandlerInterface = "org.binfmtd.Binfmt1.Handler";

}  // namespace bus_names
}  // namespace binfmtd
