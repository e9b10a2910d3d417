#include "oneshot.hpp"

#include <fnmatch.h>
#include <sys/utsname.h>
#include <systemd/sd-event.h>

#include <algorithm>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <set>

#include "build_config.hpp"
#include "catalog/architectures.hpp"
#include "catalog/emulators.hpp"
#include "engine/desired.hpp"
#include "error.hpp"
#include "kernel/binfmt_fs.hpp"
#include "probe_config.hpp"
#include "verify/process.hpp"
#include "verify/verdict.hpp"

namespace binfmtd::container {

namespace {

namespace catalog = binfmtd::catalog;

std::vector<std::string> splitList(const std::string& list) {
  std::vector<std::string> items;
  for (std::size_t start = 0, end = 0; end != std::string::npos; start = end + 1) {
    end = list.find(',', start);
    std::string item = list.substr(start, end - start);
    item.erase(0, item.find_first_not_of(" \t"));
    item.erase(item.find_last_not_of(" \t") + 1);
    if (!item.empty()) items.push_back(item);
  }
  return items;
}

std::string machine() {
  struct utsname u {};
  uname(&u);
  return u.machine;
}

// Entries that are not emulators of anyone's, or that binfmtd never touches.
bool untouchable(const std::string& name) {
  return name == "register" || name == "status" || name == "WSLInterop";
}

// What an entry removal says, tonistiigi/binfmt's way.
bool uninstallOne(kernel::BinfmtFs& fs, const std::string& item,
                  const std::vector<std::string>& present) {
  std::vector<std::string> targets;
  if (const auto* arch = catalog::find(item)) {
    const std::string handler = catalog::handlerName(*arch);
    if (std::find(present.begin(), present.end(), handler) != present.end())
      targets.push_back(handler);
  } else {
    for (const auto& name : present)
      if (!untouchable(name) && fnmatch(item.c_str(), name.c_str(), 0) == 0)
        targets.push_back(name);
  }
  if (targets.empty()) {
    std::fprintf(stderr, "uninstalling: %s ERROR: no such entry in %s (the entries are listed "
                 "under \"emulators\" in the status)\n",
                 item.c_str(), fs.dir().c_str());
    return false;
  }
  bool ok = true;
  for (const auto& name : targets) {
    try {
      fs.remove(name);
      std::fprintf(stderr, "uninstalling: %s OK\n", name.c_str());
    } catch (const Error& e) {
      std::fprintf(stderr, "uninstalling: %s ERROR: %s\n", name.c_str(), e.what());
      ok = false;
    }
  }
  return ok;
}

// Registers one architecture as binfmtd would, with F. An entry of the same name that is
// already there is left alone: identical, it is what was asked for; different, it is
// another program's, and replacing it would start a fight with that program.
bool installOne(kernel::BinfmtFs& fs, const std::string& item, const engine::Host& host,
                const kernel::Table& table) {
  const auto* arch = catalog::find(item);
  if (arch == nullptr) {
    std::fprintf(stderr, "installing: %s ERROR: unknown architecture; use an OCI platform "
                 "(linux/arm64), a name such as arm64, riscv64, arm, ppc64le, s390x, 386, or "
                 "all\n",
                 item.c_str());
    return false;
  }
  try {
    auto emulator = catalog::discover(*arch, host.emulators);
    config::ArchitectureRequest request;
    request.name = std::string(arch->name);
    if (emulator) {
      std::string flags = emulator->defaultFlags;
      if (flags.find('F') == std::string::npos) flags += 'F';
      request.flags = kernel::canonicalFlags(flags).value_or(flags);
    }
    const engine::DesiredHandler want = engine::resolveArchitecture(*arch, host, &request);
    for (const auto& have : table.entries) {
      if (have.name != want.entry.name) continue;
      if (have.sameDefinition(want.entry)) {
        std::fprintf(stderr, "installing: %s OK (already registered as %s)\n", item.c_str(),
                     have.name.c_str());
        return true;
      }
      std::fprintf(stderr, "installing: %s ERROR: %s is already registered, by another "
                   "program, with interpreter %s and flags '%s'; remove it first with "
                   "--uninstall %s\n",
                   item.c_str(), have.name.c_str(), have.interpreter.c_str(),
                   have.flags.c_str(), have.name.c_str());
      return false;
    }
    fs.add(want.entry);
    std::fprintf(stderr, "installing: %s OK (%s, interpreter %s, flags %s)\n", item.c_str(),
                 want.entry.name.c_str(), want.entry.interpreter.c_str(),
                 want.entry.flags.c_str());
    return true;
  } catch (const Error& e) {
    std::fprintf(stderr, "installing: %s ERROR: %s\n", item.c_str(), e.what());
    return false;
  }
}

// The OCI platforms whose probe program runs now, in catalogue order with the host's own
// family first, as tonistiigi/binfmt lists "supported".
std::vector<std::string> supportedPlatforms(const std::filesystem::path& probeDir) {
  struct Probe {
    const catalog::Architecture* arch;
    bool native;
    bool passed = false;
  };
  std::vector<Probe> probes;
  const std::string host = machine();
  for (const auto& a : catalog::all())
    if (!a.ociPlatforms.empty() && std::filesystem::exists(probeDir / std::string(a.name)))
      probes.push_back({&a, catalog::isHostFamily(a, host)});

  // The daemon's own runner, on a loop of our own: every probe at once, each bounded.
  sd_event* event = nullptr;
  if (sd_event_new(&event) < 0) return {};
  {
    verify::Spawner spawner(event, 8);
    std::size_t left = probes.size();
    for (auto& p : probes) {
      verify::Spawner::Request request;
      request.argv = {(probeDir / std::string(p.arch->name)).string()};
      spawner.run(request, [&, probe = &p](const verify::Spawner::Result& r) {
        probe->passed = verify::judge(probe->arch->name, "", r.outcome,
                                      BINFMTD_PROBE_EXIT_STATUS)
                            .verification == verify::kPassed;
        if (--left == 0) sd_event_exit(event, 0);
      });
    }
    if (left > 0) sd_event_loop(event);
  }
  sd_event_unref(event);

  std::stable_partition(probes.begin(), probes.end(), [](const Probe& p) { return p.native; });
  std::vector<std::string> out;
  for (const auto& p : probes)
    if (p.passed)
      for (auto platform : p.arch->ociPlatforms) out.emplace_back(platform);
  return out;
}

// The enabled entries, by name, as tonistiigi/binfmt lists "emulators".
std::vector<std::string> enabledEntries(const kernel::BinfmtFs& fs) {
  std::vector<std::string> names;
  try {
    for (const auto& e : fs.list().entries)
      if (e.enabled) names.push_back(e.name);
  } catch (const Error& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
  }
  std::sort(names.begin(), names.end());
  return names;
}

}  // namespace

std::vector<std::string> allArchitectures() {
  std::vector<std::string> names;
  const engine::Host host = engine::Host::detect();
  for (const auto& a : catalog::all())
    if (!a.ociPlatforms.empty() && !catalog::isHostFamily(a, host.machine) &&
        catalog::discover(a, host.emulators))
      names.emplace_back(a.name);
  return names;
}

int runOneShot(const OneShotOptions& options) {
  kernel::BinfmtFs fs(options.mount);
  try {
    fs.ensureMounted();  // and never unmounted: on Linux >= 6.7 that would drop every entry
  } catch (const Error& e) {
    std::fprintf(stderr, "error: %s (run the container with --privileged, or bind-mount the "
                 "host's binfmt_misc and name it with --mount)\n",
                 e.what());
    return 1;
  }
  bool ok = true;
  if (!options.uninstall.empty()) {
    std::vector<std::string> present;
    for (const auto& entry : std::filesystem::directory_iterator(options.mount))
      present.push_back(entry.path().filename().string());
    for (const auto& item : splitList(options.uninstall)) ok = uninstallOne(fs, item, present) && ok;
  }
  if (!options.install.empty()) {
    const engine::Host host = engine::Host::detect();
    const std::vector<std::string> items =
        options.install == "all" ? allArchitectures() : splitList(options.install);
    for (const auto& item : items) ok = installOne(fs, item, host, fs.list()) && ok;
  }
  nlohmann::ordered_json status = {{"supported", supportedPlatforms(options.probeDir)},
                                   {"emulators", enabledEntries(fs)}};
  std::printf("%s\n", status.dump(2).c_str());
  return ok ? 0 : 1;
}

std::string versionLine() {
  std::string line = std::string("binfmt/binfmtd-") + BINFMTD_VERSION;
  // The QEMU version, from the first emulator installed (all come from one package).
  const engine::Host host = engine::Host::detect();
  for (const auto& a : catalog::all()) {
    auto emulator = catalog::discover(a, host.emulators);
    if (!emulator) continue;
    sd_event* event = nullptr;
    if (sd_event_new(&event) < 0) break;
    std::string text;
    {
      verify::Spawner spawner(event, 1);
      spawner.run({{emulator->resolved.string(), "--version"}, verify::kProbeTimeout, true},
                  [&](const verify::Spawner::Result& r) {
                    text = verify::firstLine(r.stdoutText);
                    sd_event_exit(event, 0);
                  });
      sd_event_loop(event);
    }
    sd_event_unref(event);
    // "qemu-aarch64 version 7.2.18 (Debian 1:7.2+dfsg-7+deb12u18)"
    const auto at = text.find(" version ");
    if (at != std::string::npos) line += " qemu/v" + text.substr(at + 9);
    break;
  }
  return line;
}

}  // namespace binfmtd::container
