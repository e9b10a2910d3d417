// binfmtctl: the command-line client of binfmtd. It only speaks D-Bus: no kernel and
// no config access of its own, so it works the same for root and for users polkit allows.
// (import also reads other tools' files: that is its purpose, and binfmtd is not needed.)
#include <getopt.h>

#include <cstdio>
#include <cstring>

#include "build_config.hpp"
#include "commands.hpp"
#include "interop_commands.hpp"

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
    "  plan                 what a reconcile would do now, without doing it\n"
    "  check FILE           would FILE run; through which handler; if not, why\n"
    "                       not and the command that fixes it\n"
    "  import [PATH...]     print binfmtd.json handlers equal to binfmt.d files\n"
    "                       (default: its directories), binfmt-support formats or\n"
    "                       the kernel's foreign entries (see --from)\n"
    "  export               print binfmtd's handlers as binfmt.d rules (default),\n"
    "                       binfmt-support format files or binfmtd.json (--format)\n"
    "\n"
    "Options:\n"
    "  --json               machine-readable output (status, list, show, archs, plan,\n"
    "                       check)\n"
    "  --runtime            enable/disable until the next reboot only\n"
    "  --from=SOURCE        import from binfmt.d (default), binfmt-support or kernel\n"
    "  --format=FORMAT      export as binfmt.d (default), binfmt-support or json\n"
    "  --output=PATH        import/export: write PATH atomically, not stdout\n"
    "                       (a directory of NAME files for --format=binfmt-support)\n"
    "  --all                export: foreign entries too;\n"
    "                       import --from=kernel: binfmtd's own entries too\n"
    "  --no-ask-password    do not let polkit ask for a password (enable, disable,\n"
    "                       reload); fail instead when it would\n"
    "  -h, --help           show this help\n"
    "      --version        show the version\n"
    "\n"
    "Exit status: 0 success, 1 failure, 2 usage error, 3 binfmtd not running,\n"
    "4 permission denied, 5 unknown name, 6 invalid configuration, 7 emulator missing,\n"
    "8 native architecture; see binfmtctl(1) for the rest.\n";

}  // namespace

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

  if (interopOption && !binfmtctl::isInteropCommand(inv.command)) {
    std::fprintf(stderr,
                 "binfmtctl: --from, --format, --output and --all apply to import and export\n");
    return binfmtctl::kExitUsage;
  }

  try {
    // import and export connect only when they need binfmtd: importing files works without it.
    if (binfmtctl::isInteropCommand(inv.command))
      return binfmtctl::runInteropCommand(inv.command, inv.args, interop);
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
