#include "system_bus.hpp"

#include <stdlib.h>

#include <stdexcept>

namespace binfmtd {

std::string systemBusAddress() {
  const char* address = secure_getenv("DBUS_SYSTEM_BUS_ADDRESS");
  return address != nullptr && *address != '\0' ? address
                                                 : "unix:path=/run/dbus/system_bus_socket";
}

std::unique_ptr<sdbus::IConnection> connectSystemBus() {
  try {
    return sdbus::createSystemBusConnection();
  } catch (const sdbus::Error& e) {
    // sdbus-c++ says only "Failed to open bus (No such file or directory)".
    std::string why = e.getMessage();
    if (const auto open = why.rfind('('); open != std::string::npos && why.back() == ')')
      why = why.substr(open + 1, why.size() - open - 2);
    throw std::runtime_error(
        "Cannot connect to the system bus at " + systemBusAddress() + ": " + why +
        ". Start D-Bus (for example 'service dbus start'), or run 'binfmtd --no-bus' to "
        "keep binfmt_misc in line with the configuration without D-Bus (binfmtctl cannot "
        "reach it then; see binfmtd(8))");
  }
}

}  // namespace binfmtd
