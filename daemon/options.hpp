// Command line and environment of binfmtd. Every path the daemon touches comes from
// here, so tests (and binfmtd(8) users) can move all of them.
#pragma once

#include <filesystem>
#include <optional>
#include <string>

#include "config/config.hpp"

namespace binfmtd {

struct Options {
  bool apply = false;  // reconcile once without a bus, then exit
  bool noBus = false;  // run as a daemon without D-Bus (no_bus_frontend.hpp)
  std::filesystem::path binfmtDir = "/proc/sys/fs/binfmt_misc";
  config::Paths config;
  std::filesystem::path stateDir = "/run/binfmtd";
  std::filesystem::path emulatorRoot = "/";
  std::filesystem::path probeDir;  // where the probe programs are; set from the build
};

/// Parses argv (and systemd's CONFIGURATION_DIRECTORY / RUNTIME_DIRECTORY). Returns
/// nullopt with *exitCode set when the program should exit now (--help, --version, or a
/// usage error, which is printed).
std::optional<Options> parseOptions(int argc, char** argv, int* exitCode);

}  // namespace binfmtd
