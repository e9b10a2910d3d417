// binfmtd-container: the entry point of the binfmtd container image (deploy/container).
//
//   binfmtd-container [--install LIST] [--uninstall LIST] [--mount DIR] [--version]
//       one-shot, with tonistiigi/binfmt's flags (oneshot.hpp)
//   binfmtd-container daemon [BINFMTD-OPTIONS...]
//       long-running: exec binfmtd --no-bus with the configuration from /etc/binfmtd
//   binfmtd-container health [--live] [--state-dir DIR]
//       for readiness and liveness probes: reads the daemon's status file
//
// Flags are parsed as Go's flag package does (tonistiigi/binfmt is a Go program): one or
// two dashes, and the value after '=' or as the next argument.
#include <signal.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <optional>
#include <string>
#include <vector>

#include "build_config.hpp"
#include "no_bus_status.hpp"
#include "oneshot.hpp"
#include "probe_config.hpp"

using namespace binfmtd;

namespace {

void usage(FILE* out) {
  std::fprintf(out,
               "Usage: binfmtd-container [--install LIST] [--uninstall LIST] [--mount DIR]\n"
               "       binfmtd-container --version\n"
               "       binfmtd-container daemon [BINFMTD-OPTIONS...]\n"
               "       binfmtd-container health [--live] [--state-dir DIR]\n"
               "\n"
               "One-shot (tonistiigi/binfmt's flags): registers QEMU emulators with the F flag,\n"
               "removes entries, then prints the platforms that execute and the entries as JSON.\n"
               "  --install LIST    all, or architectures: arm64,riscv64,linux/arm/v7,...\n"
               "  --uninstall LIST  entries to remove: qemu-aarch64, 'qemu-*', arm64,...\n"
               "  --mount DIR       binfmt_misc mount point [/proc/sys/fs/binfmt_misc]\n"
               "  --version         show the versions\n"
               "daemon: binfmtd --no-bus: keeps, heals and verifies the entries configured in\n"
               "  /etc/binfmtd; keep /run/binfmtd on a host path (see binfmtd(8)).\n"
               "health: exit 0 when that daemon is ready (--live: when it is alive).\n");
}

// One flag of Go's syntax: -name, --name, -name=value, --name value.
struct FlagParser {
  explicit FlagParser(std::vector<std::string> a) : args(std::move(a)) {}
  std::vector<std::string> args;
  std::size_t i = 0;
  std::string error;

  // Returns the flag name at args[i] (and its inline value), or nullopt at the end.
  std::optional<std::pair<std::string, std::optional<std::string>>> next() {
    if (i >= args.size()) return std::nullopt;
    std::string a = args[i++];
    if (a.size() < 2 || a[0] != '-') {
      error = "unexpected argument '" + a + "'";
      return std::nullopt;
    }
    a.erase(0, a[1] == '-' ? 2 : 1);
    const auto eq = a.find('=');
    if (eq == std::string::npos) return std::pair{a, std::optional<std::string>()};
    return std::pair{a.substr(0, eq), std::optional<std::string>(a.substr(eq + 1))};
  }
  std::optional<std::string> value(const std::string& name, std::optional<std::string> inl) {
    if (inl) return inl;
    if (i < args.size()) return args[i++];
    error = "flag needs an argument: -" + name;
    return std::nullopt;
  }
};

int runDaemon(int argc, char** argv) {
  std::vector<char*> args{const_cast<char*>("binfmtd"), const_cast<char*>("--no-bus")};
  for (int i = 2; i < argc; ++i) args.push_back(argv[i]);
  args.push_back(nullptr);
  ::execv(BINFMTD_PROGRAM, args.data());
  std::fprintf(stderr, "binfmtd-container: cannot run %s: %s\n", BINFMTD_PROGRAM,
               std::strerror(errno));
  return 127;
}

// Alive: the daemon holds its status file and has rewritten it within three heartbeats.
// Ready: besides, the last reconcile was "ok", the configuration has no error, and every
// entry of its own is registered and verified (its probe ran through it).
int runHealth(const std::vector<std::string>& args) {
  bool liveOnly = false;
  std::string stateDir = "/run/binfmtd";
  FlagParser p(args);
  while (auto flag = p.next()) {
    if (flag->first == "live") {
      liveOnly = true;
    } else if (flag->first == "state-dir") {
      auto v = p.value(flag->first, flag->second);
      if (!v) break;
      stateDir = *v;
    } else {
      p.error = "flag provided but not defined: -" + flag->first;
      break;
    }
  }
  if (!p.error.empty()) {
    std::fprintf(stderr, "binfmtd-container health: %s\n", p.error.c_str());
    return 2;
  }
  const auto doc = nobus::readRunning(stateDir);
  if (!doc) {
    std::printf("not running: no binfmtd --no-bus holds %s/%s\n", stateDir.c_str(),
                nobus::kFileName);
    return 1;
  }
  const std::uint64_t updated = doc->value("updated", std::uint64_t{0});
  const std::uint64_t now = nobus::realtimeUsec();
  if (now > updated && now - updated > 3 * nobus::kHeartbeatUsec) {
    std::printf("not alive: the status file was last written %llu s ago\n",
                static_cast<unsigned long long>((now - updated) / 1000000));
    return 1;
  }
  if (liveOnly) {
    std::printf("alive: pid %d\n", doc->value("pid", 0));
    return 0;
  }
  const auto last = doc->value("last_reconcile", nlohmann::json::object());
  if (last.value("result", std::string()) != "ok") {
    std::printf("not ready: last reconcile '%s'\n", last.value("result", std::string()).c_str());
    for (const auto& e : last.value("errors", nlohmann::json::array()))
      std::printf("  %s\n", e.get<std::string>().c_str());
    return 1;
  }
  for (const auto& e : doc->value("config_errors", nlohmann::json::array())) {
    std::printf("not ready: configuration error: %s\n", e.get<std::string>().c_str());
    return 1;
  }
  unsigned verified = 0;
  for (const auto& h : doc->value("handlers", nlohmann::json::array())) {
    if (h.value("ownership", "") != "owned" || h.value("state", "") == "standby") continue;
    const std::string name = h.value("name", "");
    const std::string v = h.value("verification", "");
    if (h.value("state", "") != "registered") {
      std::printf("not ready: %s is %s: %s\n", name.c_str(), h.value("state", "").c_str(),
                  h.value("last_error", "").c_str());
      return 1;
    }
    if (v != "passed" && v != "no-probe") {
      std::printf("not ready: %s is %s: %s\n", name.c_str(), v.c_str(),
                  h.value("verification_detail", "").c_str());
      return 1;
    }
    ++verified;
  }
  std::printf("ready: %u entr%s registered and verified\n", verified, verified == 1 ? "y" : "ies");
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  // The probe runner reaps its children from an sd-event loop: SIGCHLD must be blocked.
  sigset_t chld;
  sigemptyset(&chld);
  sigaddset(&chld, SIGCHLD);
  sigprocmask(SIG_BLOCK, &chld, nullptr);

  const std::string first = argc > 1 ? argv[1] : "";
  if (first == "daemon") return runDaemon(argc, argv);
  if (first == "health") return runHealth(std::vector<std::string>(argv + 2, argv + argc));

  container::OneShotOptions options;
  options.probeDir = BINFMTD_PROBE_DIR;
  bool version = false;
  FlagParser p(std::vector<std::string>(argv + 1, argv + argc));
  while (auto flag = p.next()) {
    const std::string& name = flag->first;
    if (name == "version") {
      version = !flag->second || *flag->second == "true" || *flag->second == "1";
    } else if (name == "h" || name == "help") {
      usage(stdout);
      return 0;
    } else if (name == "install" || name == "uninstall" || name == "mount" ||
               name == "probe-dir") {
      auto v = p.value(name, flag->second);
      if (!v) break;
      if (name == "install") options.install = *v;
      if (name == "uninstall") options.uninstall = *v;
      if (name == "mount") options.mount = *v;
      if (name == "probe-dir") options.probeDir = *v;
    } else {
      p.error = "flag provided but not defined: -" + name;
      break;
    }
  }
  if (!p.error.empty()) {
    std::fprintf(stderr, "binfmtd-container: %s\n", p.error.c_str());
    usage(stderr);
    return 2;
  }
  if (version) {
    std::printf("%s\n", container::versionLine().c_str());
    return 0;
  }
  return container::runOneShot(options);
}
