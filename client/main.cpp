// binfmtctl: the command-line client of binfmtd. It only speaks D-Bus: no kernel and
// no config access of its own, so it works the same for root and for users polkit allows.
// (import also reads other tools' files: that is its purpose, and binfmtd is not needed;
// doctor also reads, never writes, what this shell sees of binfmt_misc and the system.)
#include <getopt.h>

#include <cstdio>
#include <cstring>

#include "build_config.hpp"
#include "commands.hpp"
#include "doctor_command.hpp"
#include "help.hpp"
#include "monitor_command.hpp"
#include "no_bus_daemon.hpp"
#include "interop_commands.hpp"


int main(int argc, char** argv) {
  binfmtctl::Invocation inv;
  binfmtctl::InteropOptions interop;
  bool interopOption = false;
  enum { kJson = 256, kRuntime, kVersion, kFrom, kFormat, kOutput, kAll, kNoAskPassword };
  static const struct option longOptions[] = {
      {"json", no_argument, nullptr, kJson},
      {"runtime", no_argument, nullptr, kRuntime},
      {"from", required_argument, nullptr, kFrom},
      {"format", required_argument, nullptr, kFormat},
      {"output", required_argument, nullptr, kOutput},
      {"all", no_argument, nullptr, kAll},
      {"no-ask-password", no_argument, nullptr, kNoAskPassword},
      {"help", no_argument, nullptr, 'h'},
      {"version", no_argument, nullptr, kVersion},
      {nullptr, 0, nullptr, 0},
  };
  bool help = false;
  int c;
  while ((c = getopt_long(argc, argv, "h", longOptions, nullptr)) != -1) {
    switch (c) {
      case kJson: inv.json = true; break;
      case kRuntime: inv.runtime = true; break;
      case kFrom: interop.from = optarg; interopOption = true; break;
      case kFormat: interop.format = optarg; interopOption = true; break;
      case kOutput: interop.output = optarg; interopOption = true; break;
      case kAll: interop.all = interopOption = true; break;
      case kNoAskPassword: inv.askPassword = false; break;
      case 'h': help = true; break;
      case kVersion: std::printf("binfmtctl %s\n", BINFMTD_VERSION); return 0;
      default: binfmtctl::printUsage(stderr); return binfmtctl::kExitUsage;
    }
  }
  if (optind >= argc) {
    binfmtctl::printUsage(help ? stdout : stderr);
    return help ? 0 : binfmtctl::kExitUsage;
  }
  inv.command = argv[optind++];
  for (; optind < argc; ++optind) inv.args.emplace_back(argv[optind]);
  // `binfmtctl help [COMMAND]` and `binfmtctl COMMAND --help`.
  std::string helpFor = help ? inv.command : "";
  if (inv.command == "help" && !help) helpFor = inv.args.empty() ? "" : inv.args.front();
  if (help || inv.command == "help") {
    if (helpFor.empty()) {
      binfmtctl::printUsage(stdout);
      return 0;
    }
    const auto* command = binfmtctl::findCommand(helpFor);
    if (command == nullptr) {
      std::fprintf(stderr, "binfmtctl: unknown command '%s'; the commands are: %s\n",
                   helpFor.c_str(), binfmtctl::commandNames().c_str());
      return binfmtctl::kExitUsage;
    }
    binfmtctl::printCommandHelp(stdout, *command);
    return 0;
  }
  if (binfmtctl::findCommand(inv.command) == nullptr) {
    std::fprintf(stderr, "binfmtctl: unknown command '%s'; the commands are: %s\n",
                 inv.command.c_str(), binfmtctl::commandNames().c_str());
    return binfmtctl::kExitUsage;
  }
  if (inv.runtime && inv.command != "enable" && inv.command != "disable") {
    std::fprintf(stderr, "binfmtctl: --runtime only applies to enable and disable\n");
    return binfmtctl::kExitUsage;
  }

  if (interopOption && !binfmtctl::isInteropCommand(inv.command)) {
    std::fprintf(stderr,
                 "binfmtctl: --from, --format, --output and --all apply to import and export\n");
    return binfmtctl::kExitUsage;
  }

  try {
    // import and export connect only when they need binfmtd: importing files works without it.
    if (binfmtctl::isInteropCommand(inv.command))
      return binfmtctl::runInteropCommand(inv.command, inv.args, interop);
    // doctor reports on the machine also without a bus; monitor waits for binfmtd.
    if (inv.command == "doctor") return binfmtctl::runDoctor(inv);
    if (inv.command == "monitor") return binfmtctl::runMonitor(inv);
    auto bus = sdbus::createSystemBusConnection();
    return binfmtctl::runCommand(*bus, inv);
  } catch (const sdbus::Error& e) {
    if (e.getName() == "sdbus.Error" || e.getName().rfind("org.freedesktop.DBus.Error.FileNotFound", 0) == 0) {
      if (auto noBus = binfmtctl::findNoBusDaemon()) return binfmtctl::reportNoBusDaemon(*noBus);
      std::fprintf(stderr, "binfmtctl: cannot reach the system bus: %s\n", e.getMessage().c_str());
      return binfmtctl::kExitNoDaemon;
    }
    return binfmtctl::reportError(e);
  }
}
