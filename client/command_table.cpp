#include "command_table.hpp"

#include "check_command.hpp"
#include "commands.hpp"
#include "doctor_command.hpp"
#include "interop_commands.hpp"
#include "monitor_command.hpp"

namespace binfmtctl {

namespace {

constexpr OptionHelp kJson{"--json", "machine-readable output"};
constexpr OptionHelp kNoAsk{"--no-ask-password",
                            "do not let polkit ask for a password; fail instead"};

}  // namespace

const std::vector<Command>& commands() {
  static const std::vector<Command> table = {
      {"status", "", "daemon, kernel and configuration state",
       "binfmtd's version, the binfmt_misc mount and global switch, how many handlers\n"
       "binfmtd owns and how many are foreign, the last reconcile, the configuration\n"
       "files and their errors, and every handler of binfmtd's that is not simply\n"
       "registered, with the reason. Exits with 1 when something is wrong.",
       {kJson}, "binfmtctl status",
       Completes::Nothing, runStatus},
      {"list", "", "every binfmt_misc handler, binfmtd's and foreign ones",
       "One row per handler binfmtd knows: name, architecture, state, enabled, owner\n"
       "and interpreter.",
       {kJson}, "binfmtctl list",
       Completes::Nothing, runList},
      {"show", "NAME", "one handler in detail (a handler or architecture name)",
       "State, owner, interpreter, flags, magic and mask (or extension), where it is\n"
       "configured, its OCI platforms and whether it was verified to run.",
       {kJson}, "binfmtctl show arm64",
       Completes::HandlersFirst, runShow},
      {"enable", "NAME...", "enable architectures or configured handlers, persistently",
       "NAME is an architecture in any spelling (arm64, aarch64, linux/arm/v7,\n"
       "ppc64el) or a configured handler. The change is written to binfmtd's drop-in\n"
       "and applied at once.",
       {{"--runtime", "until the next reboot only (the drop-in under /run)"}, kNoAsk},
       "binfmtctl enable arm64 riscv64",
       Completes::ArchitecturesFirst, runEnable},
      {"disable", "NAME...", "disable them again (removes their kernel entries)",
       "The reverse of enable. Entries other programs registered cannot be disabled\n"
       "this way.",
       {{"--runtime", "until the next reboot only"}, kNoAsk}, "binfmtctl disable arm64",
       Completes::HandlersFirst, runDisable},
      {"reload", "", "re-read the configuration and reconcile now",
       "The same as `systemctl reload binfmtd`. Exits with 6 when the configuration\n"
       "has errors, which are printed on standard error.",
       {kNoAsk}, "binfmtctl reload",
       Completes::Nothing, runReload},
      {"archs", "", "the known architectures and their installed emulators",
       "Canonical name, aliases, whether the configuration enables it, and the\n"
       "emulator found on this host (static or dynamic).",
       {kJson}, "binfmtctl archs",
       Completes::Nothing, runArchs},
      {"plan", "", "what a reconcile would do now, without doing it",
       "One line per action (register, replace, enable, disable, reorder, remove,\n"
       "adopt, conflict, shadowed, error) with the handler and the reason.",
       {kJson}, "binfmtctl plan",
       Completes::Nothing, runPlan},
      {"check", "FILE [-- ARGS]", "would FILE run; through which handler; if not, why not",
       "Reads the first bytes of FILE with your rights and asks binfmtd which handler\n"
       "the kernel would choose; if none, says why and prints the command that fixes\n"
       "it. ARGS after -- are shown in the command line the kernel would run (the\n"
       "interpreter with FILE and ARGS). Exits with 1 when the file would not run.",
       {kJson}, "binfmtctl check ./hello-arm64 -- --version",
       Completes::Files, runCheck},
      {"doctor", "", "the whole environment in one report, and the first fix",
       "Kernel and binfmt_misc mount (here and as binfmtd sees it), user namespace,\n"
       "WSL, other programs that manage binfmt_misc (systemd-binfmt, binfmt-support,\n"
       "entries installed from a container), the emulators installed, and for each\n"
       "architecture four stages: registered, enabled, interpreter present, actually\n"
       "executes (binfmtd runs a probe). Works without binfmtd, for the local part.\n"
       "Exits with 0 when everything configured works, 1 when a problem was found,\n"
       "3 when binfmtd is not running.",
       {{"--json", "the same facts as one JSON object (keys in binfmtctl(1))"}},
       "binfmtctl doctor",
       Completes::Nothing, runDoctor},
      {"monitor", "", "follow binfmtd's changes live, one line per event",
       "Prints a line for every handler added, removed or changed, every property of\n"
       "binfmtd that changes, every repair, and binfmtd starting and stopping, until\n"
       "interrupted (SIGINT, SIGTERM). Each line is written at once, also to a pipe.",
       {{"--json", "one JSON object per line"}}, "binfmtctl monitor --json | jq .",
       Completes::Nothing, runMonitor},
      {"import", "[PATH...]", "print binfmtd.json handlers equal to other tools' entries",
       "From binfmt.d files (default: their directories), binfmt-support formats or\n"
       "the kernel's foreign entries (see --from). Needs binfmtd only for --from=kernel.",
       {{"--from=SOURCE", "binfmt.d (default), binfmt-support or kernel"},
        {"--output=PATH", "write PATH atomically instead of stdout"},
        {"--all", "with --from=kernel: binfmtd's own entries too"}},
       "binfmtctl import --output=/etc/binfmtd/conf.d/20-imported.json",
       Completes::Files, runImport},
      {"export", "", "print binfmtd's handlers in another tool's format",
       "As binfmt.d rules (default), binfmt-support format files or binfmtd.json.",
       {{"--format=FORMAT", "binfmt.d (default), binfmt-support or json"},
        {"--output=PATH", "write PATH atomically (a directory for binfmt-support)"},
        {"--all", "foreign entries too"}},
       "binfmtctl export --format=binfmt-support --output=/tmp/formats",
       Completes::Nothing, runExport},
      {"help", "[COMMAND]", "this help, or one command's",
       "Without COMMAND the list of commands; with it, that command's usage, options\n"
       "and an example (the same as `binfmtctl COMMAND --help`).",
       {}, "binfmtctl help doctor",
       Completes::Commands, runHelp},
  };
  return table;
}

bool Command::takes(std::string_view option) const {
  for (const auto& o : options) {
    const std::string_view name = o.option;
    if (name.substr(0, name.find('=')) == option) return true;
  }
  return false;
}

const Command* findCommand(std::string_view name) {
  for (const auto& c : commands())
    if (name == c.name) return &c;
  return nullptr;
}

std::string commandNames() {
  std::string names;
  for (const auto& c : commands()) names += (names.empty() ? "" : ", ") + std::string(c.name);
  return names;
}

std::string commandsTaking(std::string_view option) {
  std::vector<std::string> names;
  for (const auto& c : commands())
    if (c.takes(option)) names.emplace_back(c.name);
  std::string text;
  for (std::size_t i = 0; i < names.size(); ++i)
    text += (i == 0 ? "" : i + 1 == names.size() ? " and " : ", ") + names[i];
  return text;
}

void printUsage(FILE* out) {
  std::fputs(
      "Usage: binfmtctl [OPTIONS] COMMAND [NAME...]\n"
      "\n"
      "Control binfmtd, the daemon that keeps binfmt_misc handlers (QEMU, Wine, ...)\n"
      "registered in the kernel.\n"
      "\n"
      "Commands:\n",
      out);
  for (const auto& c : commands()) {
    std::string head = std::string(c.name) + (*c.arguments ? " " : "") + c.arguments;
    std::fprintf(out, "  %-20s %s\n", head.c_str(), c.summary);
  }
  std::fputs(
      "\n"
      "Options:\n"
      "  --json               machine-readable output (status, list, show, archs, plan,\n"
      "                       check, doctor, monitor)\n"
      "  --runtime            enable/disable until the next reboot only\n"
      "  --from=SOURCE        import from binfmt.d (default), binfmt-support or kernel\n"
      "  --format=FORMAT      export as binfmt.d (default), binfmt-support or json\n"
      "  --output=PATH        import/export: write PATH atomically, not stdout\n"
      "                       (a directory of NAME files for --format=binfmt-support)\n"
      "  --all                export: foreign entries too;\n"
      "                       import --from=kernel: binfmtd's own entries too\n"
      "  --no-ask-password    do not let polkit ask for a password (enable, disable,\n"
      "                       reload); fail instead when it would\n"
      "  -h, --help           show this help; after a command, that command's\n"
      "      --version        show the version\n"
      "\n"
      "Output is coloured only on a terminal, without NO_COLOR and with TERM other\n"
      "than dumb; binfmtctl never starts a pager.\n"
      "\n"
      "Exit status: 0 success, 1 failure, 2 usage error, 3 binfmtd not running,\n"
      "4 permission denied, 5 unknown name, 6 invalid configuration, 7 emulator missing,\n"
      "8 native architecture; see binfmtctl(1) for the rest.\n",
      out);
}

void printCommandHelp(FILE* out, const Command& c) {
  std::fprintf(out, "Usage: binfmtctl %s%s%s%s\n\n", c.name, c.options.empty() ? "" : " [OPTIONS]",
               *c.arguments ? " " : "", c.arguments);
  std::fprintf(out, "%s\n", c.details);
  if (!c.options.empty()) {
    std::fputs("\nOptions:\n", out);
    for (const auto& o : c.options) std::fprintf(out, "  %-20s %s\n", o.option, o.text);
  }
  std::fprintf(out, "\nExample:\n  %s\n\nSee binfmtctl(1).\n", c.example);
}

int runHelp(const Invocation& inv) {
  if (inv.args.empty()) {
    printUsage(stdout);
    return 0;
  }
  const Command* command = findCommand(inv.args.front());
  if (command == nullptr) {
    std::fprintf(stderr, "binfmtctl: unknown command '%s'; the commands are: %s\n",
                 inv.args.front().c_str(), commandNames().c_str());
    return kExitUsage;
  }
  printCommandHelp(stdout, *command);
  return 0;
}

}  // namespace binfmtctl
