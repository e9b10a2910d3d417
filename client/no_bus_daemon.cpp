#include "no_bus_daemon.hpp"

#include <cstdlib>

#include "commands.hpp"
#include "no_bus_status.hpp"

namespace binfmtctl {

std::optional<nlohmann::json> findNoBusDaemon() {
  const char* dir = std::getenv("BINFMTD_STATE_DIR");
  return binfmtd::nobus::readRunning(dir != nullptr && *dir != '\0' ? dir : "/run/binfmtd");
}

std::string describeNoBusDaemon(const nlohmann::json& s) {
  unsigned owned = 0;
  for (const auto& h : s.value("handlers", nlohmann::json::array()))
    owned += h.value("ownership", "") == "owned" && h.value("enabled", false);
  const auto last = s.value("last_reconcile", nlohmann::json::object());
  std::string line = "binfmtd runs without D-Bus (binfmtd --no-bus, pid " +
                     std::to_string(s.value("pid", 0)) + "): last reconcile " +
                     last.value("result", std::string("not done yet")) + ", " +
                     std::to_string(owned) + " handler(s) of its own registered";
  const auto errors = s.value("config_errors", nlohmann::json::array());
  if (!errors.empty()) line += ", " + std::to_string(errors.size()) + " configuration error(s)";
  return line;
}

int reportNoBusDaemon(const nlohmann::json& s) {
  const auto dirs = s.value("config_dirs", nlohmann::json::array());
  const std::string admin = dirs.empty() ? "/etc/binfmtd" : dirs.front().get<std::string>();
  std::fprintf(stderr,
               "binfmtctl: %s.\n"
               "Without D-Bus nobody can query or change it: edit %s/binfmtd.json or a file in "
               "%s/conf.d/ and it applies the change at once.\n"
               "Its state is in %s/%s; 'binfmtctl doctor' reports the kernel side.\n",
               describeNoBusDaemon(s).c_str(), admin.c_str(), admin.c_str(),
               s.value("state_dir", std::string("/run/binfmtd")).c_str(),
               binfmtd::nobus::kFileName);
  return kExitNoDaemon;
}

}  // namespace binfmtctl
