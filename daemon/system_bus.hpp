// The daemon's connection to the system bus, with an error that says where it looked and
// what to do when there is none.
#pragma once

#include <sdbus-c++/sdbus-c++.h>

#include <memory>
#include <string>

namespace binfmtd {

/// The address sd-bus tries for the system bus: $DBUS_SYSTEM_BUS_ADDRESS (ignored for
/// setuid execs, as sd-bus does), else the default socket.
std::string systemBusAddress();

/// Connects to the system bus. Throws std::runtime_error naming the address tried, the
/// reason, and the two ways out (start D-Bus, or run with --no-bus).
std::unique_ptr<sdbus::IConnection> connectSystemBus();

}  // namespace binfmtd
