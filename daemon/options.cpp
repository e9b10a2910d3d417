#include "options.hpp"

#include <getopt.h>

#include <cstdio>
#include <cstdlib>

#include "build_config.hpp"
#include "probe_config.hpp"

namespace binfmtd {

namespace {

void usage(FILE* out) {
  std::fprintf(out,
               "Usage: binfmtd [OPTIONS]\n"
               "\n"
               "Keeps the kernel's binfmt_misc handlers equal to /etc/binfmtd and serves\n"
               "org.binfmtd.Binfmt1 on the system bus.\n"
               "\n"
               "  --apply                 reconcile once without D-Bus, then exit\n"
               "  --no-bus                run as a daemon without D-Bus (binfmtctl cannot\n"
               "                          reach it; it writes STATE-DIR/no-bus.json)\n"
               "  --binfmt-dir=DIR        binfmt_misc mount point [/proc/sys/fs/binfmt_misc]\n"
               "  --config-dir=DIR        admin configuration directory [/etc/binfmtd]\n"
               "  --runtime-config-dir=DIR  runtime configuration directory [/run/binfmtd]\n"
               "  --vendor-config-dir=DIR vendor configuration directory [/usr/lib/binfmtd]\n"
               "  --state-dir=DIR         where ownership is recorded [/run/binfmtd]\n"
               "  --emulator-root=DIR     look for emulators under DIR [/]\n"
               "  --probe-dir=DIR         the probe programs, one per architecture\n"
               "                          [" BINFMTD_PROBE_DIR "]\n"
               "  -h, --help              show this help\n"
               "      --version           show the version\n"
               "\n"
               "See binfmtd(8) and binfmtd.json(5).\n");
}

// systemd passes ConfigurationDirectory= and RuntimeDirectory= as colon-separated
// lists; the first entry is ours.
std::optional<std::filesystem::path> firstOf(const char* env) {
  const char* value = std::getenv(env);
  if (value == nullptr || *value == '\0') return std::nullopt;
  std::string s(value);
  return std::filesystem::path(s.substr(0, s.find(':')));
}

}  // namespace

std::optional<Options> parseOptions(int argc, char** argv, int* exitCode) {
  Options o;
  o.probeDir = BINFMTD_PROBE_DIR;
  if (auto dir = firstOf("CONFIGURATION_DIRECTORY")) o.config.adminDir = *dir;
  if (auto dir = firstOf("RUNTIME_DIRECTORY")) {
    o.config.runtimeDir = *dir;
    o.stateDir = *dir;
  }
  enum { kApply = 256, kNoBus, kBinfmt, kConfig, kRuntime, kVendor, kState, kEmu, kProbes, kVersion };
  static const struct option longOptions[] = {
      {"apply", no_argument, nullptr, kApply},
      {"no-bus", no_argument, nullptr, kNoBus},
      {"binfmt-dir", required_argument, nullptr, kBinfmt},
      {"config-dir", required_argument, nullptr, kConfig},
      {"runtime-config-dir", required_argument, nullptr, kRuntime},
      {"vendor-config-dir", required_argument, nullptr, kVendor},
      {"state-dir", required_argument, nullptr, kState},
      {"emulator-root", required_argument, nullptr, kEmu},
      {"probe-dir", required_argument, nullptr, kProbes},
      {"help", no_argument, nullptr, 'h'},
      {"version", no_argument, nullptr, kVersion},
      {nullptr, 0, nullptr, 0},
  };
  int c;
  while ((c = getopt_long(argc, argv, "h", longOptions, nullptr)) != -1) {
    switch (c) {
      case kApply: o.apply = true; break;
      case kNoBus: o.noBus = true; break;
      case kBinfmt: o.binfmtDir = optarg; break;
      case kConfig: o.config.adminDir = optarg; break;
      case kRuntime: o.config.runtimeDir = optarg; break;
      case kVendor: o.config.vendorDir = optarg; break;
      case kState: o.stateDir = optarg; break;
      case kEmu: o.emulatorRoot = optarg; break;
      case kProbes: o.probeDir = optarg; break;
      case 'h': usage(stdout); *exitCode = 0; return std::nullopt;
      case kVersion: std::printf("binfmtd %s\n", BINFMTD_VERSION); *exitCode = 0; return std::nullopt;
      default: usage(stderr); *exitCode = 2; return std::nullopt;
    }
  }
  if (optind < argc) {
    std::fprintf(stderr, "binfmtd: unexpected argument '%s'\n", argv[optind]);
    *exitCode = 2;
    return std::nullopt;
  }
  return o;
}

}  // namespace binfmtd
