// binfmtctl: the command-line client of binfmtd. It only speaks D-Bus: no kernel and
// no config access of its own, so it works the same for root and (later) polkit users.
#include <getopt.h>

#include <cstdio>
#include <cstring>

#include "build_config.hpp"
#include "commands.hpp"

namespace {

constexpr const char* kUsage =
    "Usage: binfmtctl [OPTIONS] COMMAND [NAME...]\n"
    "\n"
    "Control binfmtd, the daemon that keeps binfmt_misc handlers (QEMU, Wine, ...)\n"
    "registered in the kernel.\n"
    "\n"
    "Commands:\n"
    "  status               daemon, kernel and configuration state\n"
    "  list                 every binfmt_misc handler, binfmtd's and foreign ones\n"
    "  show NAME            one handler in detail (a handler or architecture name)\n"
    "  enable NAME...       enable architectures (arm64, riscv64, linux/arm/v7, ...)\n"
    "                       or configured handlers, persistently\n"
    "  disable NAME...      disable them again (removes their kernel entries)\n"
    "  reload               re-read the configuration and reconcile now\n"
    "  archs                the known architectures and their installed emulators\n"
    "\n"
    "Options:\n"
    "  --json               machine-readable output (status, list, show, archs)\n"
    "  --runtime            enable/disable until the next reboot only\n"
    "  -h, --help           show this help\n"
    "      --version        show the version\n"
    "\n"
    "Exit status: 0 success, 1 failure, 2 usage error, 3 binfmtd not running,\n"
    "4 permission denied, 5 unknown name, 6 invalid configuration, 7 emulator missing,\n"
    "8 native architecture; see binfmtctl(1) for the rest.\n";

}  // namespace

int main(int argc, char** argv) {
  binfmtctl::Invocation inv;
  enum { kJson = 256, kRuntime, kVersion };
  static const struct option longOptions[] = {
      {"json", no_argument, nullptr, kJson},
      {"runtime", no_argument, nullptr, kRuntime},
      {"help", no_argument, nullptr, 'h'},
      {"version", no_argument, nullptr, kVersion},
      {nullptr, 0, nullptr, 0},
  };
  int c;
  while ((c = getopt_long(argc, argv, "h", longOptions, nullptr)) != -1) {
    switch (c) {
      case kJson: inv.json = true; break;
      case kRuntime: inv.runtime = true; break;
      case 'h': std::fputs(kUsage, stdout); return 0;
      case kVersion: std::printf("binfmtctl %s\n", BINFMTD_VERSION); return 0;
      default: std::fputs(kUsage, stderr); return binfmtctl::kExitUsage;
    }
  }
  if (optind >= argc) {
    std::fputs(kUsage, stderr);
    return binfmtctl::kExitUsage;
  }
  inv.command = argv[optind++];
  for (; optind < argc; ++optind) inv.args.emplace_back(argv[optind]);
  if (inv.runtime && inv.command != "enable" && inv.command != "disable") {
    std::fprintf(stderr, "binfmtctl: --runtime only applies to enable and disable\n");
    return binfmtctl::kExitUsage;
  }

  try {
    auto bus = sdbus::createSystemBusConnection();
    return binfmtctl::runCommand(*bus, inv);
  } catch (const sdbus::Error& e) {
    if (e.getName() == "sdbus.Error" || e.getName().rfind("org.freedesktop.DBus.Error.FileNotFound", 0) == 0) {
      std::fprintf(stderr, "binfmtctl: cannot reach the system bus: %s\n", e.getMessage().c_str());
      return binfmtctl::kExitNoDaemon;
    }
    return binfmtctl::reportError(e);
  }
}
