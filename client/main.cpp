// binfmtctl: the command-line client of binfmtd. Everything it learns of binfmtd comes
// over D-Bus, through the client library (libbinfmtd-client), so it works the same for
// root and for users polkit allows. Some commands also read, never write, local files:
// import reads other tools' files (binfmtd is not needed for that), check reads the file
// it checks with the user's rights, doctor reads what this shell sees of binfmt_misc and
// the system; import and export write the file given with --output.
#include <getopt.h>

#include <cstdio>

#include "binfmtd-client/error.hpp"
#include "build_config.hpp"
#include "command_table.hpp"

int main(int argc, char** argv) {
  binfmtctl::Invocation inv;
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
      case kFrom: inv.interop.from = optarg; interopOption = true; break;
      case kFormat: inv.interop.format = optarg; interopOption = true; break;
      case kOutput: inv.interop.output = optarg; interopOption = true; break;
      case kAll: inv.interop.all = interopOption = true; break;
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
  // `binfmtctl COMMAND --help` is `binfmtctl help COMMAND`; help takes any option.
  if (help) inv.args.assign(1, inv.command);
  if (help || inv.command == "help") return binfmtctl::runHelp(inv);
  const binfmtctl::Command* command = binfmtctl::findCommand(inv.command);
  if (command == nullptr) {
    std::fprintf(stderr, "binfmtctl: unknown command '%s'; the commands are: %s\n",
                 inv.command.c_str(), binfmtctl::commandNames().c_str());
    return binfmtctl::kExitUsage;
  }
  if (inv.runtime && !command->takes("--runtime")) {
    std::fprintf(stderr, "binfmtctl: --runtime only applies to %s\n",
                 binfmtctl::commandsTaking("--runtime").c_str());
    return binfmtctl::kExitUsage;
  }
  if (interopOption && !command->takes("--output")) {
    std::fprintf(stderr, "binfmtctl: --from, --format, --output and --all apply to %s\n",
                 binfmtctl::commandsTaking("--output").c_str());
    return binfmtctl::kExitUsage;
  }
  try {
    return command->run(inv);
  } catch (const binfmtd::client::Error& e) {
    std::fprintf(stderr, "binfmtctl: %s\n", e.what());
    return e.exitCode();
  }
}
