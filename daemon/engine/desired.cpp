#include "engine/desired.hpp"

#include <sys/utsname.h>

#include <algorithm>
#include <cstdio>
#include <map>

#include "catalog/architectures.hpp"
#include "engine/trust.hpp"
#include "error.hpp"

namespace binfmtd::engine {

namespace {

// Linux passes the binfmt flags to the interpreter in AT_FLAGS since 5.12; QEMU >= 6.0
// reads P from there, so P is safe for QEMU under any file name.
bool kernelPassesAtFlags(const char* release) {
  int major = 0, minor = 0;
  if (std::sscanf(release, "%d.%d", &major, &minor) != 2) return false;
  return major > 5 || (major == 5 && minor >= 12);
}

std::string joinPaths(const std::vector<std::filesystem::path>& paths) {
  std::string out;
  for (const auto& p : paths) out += (out.empty() ? "" : ", ") + p.string();
  return out;
}

// A disabled architecture as it would be registered, or with what is known when it
// could not be (no emulator installed): enough to list it.
DesiredHandler inactiveArchitecture(const catalog::Architecture& arch, const Host& host,
                                    const config::ArchitectureRequest& request,
                                    TrustedDirs& trusted) {
  try {
    return resolveArchitecture(arch, host, &request, &trusted);
  } catch (const Error&) {
    DesiredHandler d;
    d.architecture = arch.name;
    d.entry.name = catalog::handlerName(arch);
    d.entry.magic = arch.magic;
    d.entry.mask = arch.mask;
    d.source = request.source;
    return d;
  }
}

// Handlers for the same binaries: the highest priority wins (first by name on a tie, with
// a warning), the others stand by disabled.
void applyPriorities(DesiredSet& set) {
  std::map<std::string, std::vector<DesiredHandler*>> groups;
  for (auto& d : set.handlers) groups[kernel::matchKey(d.entry)].push_back(&d);
  for (auto& [key, group] : groups) {
    if (group.size() < 2) continue;
    std::stable_sort(group.begin(), group.end(),
                     [](const auto* a, const auto* b) { return a->priority > b->priority; });
    const DesiredHandler& winner = *group[0];
    if (group[1]->priority == winner.priority) {
      set.ambiguities.push_back("handlers '" + winner.entry.name + "' and '" +
                             group[1]->entry.name + "' match the same binaries with the same "
                             "priority " + std::to_string(winner.priority) + "; using '" +
                             winner.entry.name + "' (first by name); give the one you prefer a "
                             "higher \"priority\"");
    }
    for (std::size_t i = 1; i < group.size(); ++i) {
      group[i]->entry.enabled = false;
      group[i]->standbyFor = winner.entry.name;
    }
  }
}

}  // namespace

Host Host::detect() {
  Host host;
  struct utsname u {};
  if (uname(&u) == 0) {
    host.machine = u.machine;
    host.emulators.kernelAtFlags = kernelPassesAtFlags(u.release);
  }
  return host;
}

DesiredHandler resolveArchitecture(const catalog::Architecture& arch, const Host& host,
                                   const config::ArchitectureRequest* request,
                                   TrustedDirs* trusted) {
  const std::string name(arch.name);
  if (catalog::isHostFamily(arch, host.machine)) {
    throw Error(Errc::NativeArchitecture,
                "'" + name + "' is the native architecture family of this " + host.machine +
                    " machine; its binaries run without an emulator");
  }
  DesiredHandler d;
  d.architecture = name;
  d.adopt = true;
  d.entry.name = catalog::handlerName(arch);
  d.entry.type = kernel::MatchType::Magic;
  d.entry.magic = arch.magic;
  d.entry.mask = arch.mask;
  if (request != nullptr) d.source = request->source;

  if (request != nullptr && request->interpreter) {
    d.entry.interpreter = *request->interpreter;
  } else {
    auto emulator = catalog::discover(arch, host.emulators);
    if (!emulator) {
      throw Error(Errc::EmulatorNotFound,
                  "No emulator for '" + name + "' is installed (looked for " +
                      joinPaths(catalog::candidatePaths(arch)) +
                      "); install one, e.g. 'apt install qemu-user-static', or set "
                      "\"interpreter\" for it in the configuration");
    }
    d.entry.interpreter = emulator->interpreter.string();
    d.entry.flags = emulator->defaultFlags;
  }
  if (request != nullptr && request->flags) d.entry.flags = *request->flags;
  checkInterpreter(d.entry, request != nullptr && request->allowMissingInterpreter, trusted);
  return d;
}

DesiredSet desiredHandlers(const config::Config& config, const Host& host) {
  DesiredSet set;
  TrustedDirs trusted;  // this pass only
  for (const auto& request : config.architectures) {
    const auto* arch = catalog::find(request.name);
    if (!request.enabled) {
      if (arch != nullptr)
        set.inactive.push_back(inactiveArchitecture(*arch, host, request, trusted));
      continue;
    }
    if (arch == nullptr) {  // the loader resolves names; this guards against a stale one
      set.problems.push_back({"", request.name, Errc::UnknownArchitecture,
                              "unknown architecture '" + request.name + "'", request.source});
      continue;
    }
    try {
      DesiredHandler d = resolveArchitecture(*arch, host, &request, &trusted);
      d.priority = request.priority;
      d.adopt = request.foreign == config::ForeignPolicy::Adopt;
      set.handlers.push_back(std::move(d));
    } catch (const Error& e) {
      set.problems.push_back(
          {catalog::handlerName(*arch), request.name, e.code(), e.what(), request.source});
    }
  }
  for (const auto& spec : config.handlers) {
    DesiredHandler d;
    d.entry = spec.entry;
    d.entry.enabled = spec.enabled;
    d.source = spec.source;
    d.priority = spec.priority;
    d.adopt = spec.foreign == config::ForeignPolicy::Adopt;
    if (spec.enabled) {
      try {
        checkInterpreter(d.entry, spec.allowMissingInterpreter, &trusted);
      } catch (const Error& e) {
        set.problems.push_back({d.entry.name, "", e.code(), e.what(), spec.source});
        continue;
      }
    }
    (spec.enabled ? set.handlers : set.inactive).push_back(std::move(d));
  }
  std::sort(set.handlers.begin(), set.handlers.end(),
            [](const auto& a, const auto& b) { return a.entry.name < b.entry.name; });
  // An architecture and a custom handler may not claim the same kernel name.
  for (std::size_t i = 1; i < set.handlers.size();) {
    if (set.handlers[i].entry.name == set.handlers[i - 1].entry.name) {
      set.problems.push_back({set.handlers[i].entry.name, "", Errc::ConfigInvalid,
                              "handler name '" + set.handlers[i].entry.name +
                                  "' is defined twice (an architecture and a custom handler); "
                                  "using the architecture",
                              set.handlers[i].source});
      // Keep the architecture one (catalogue values are known good).
      if (set.handlers[i].architecture.empty()) {
        set.handlers.erase(set.handlers.begin() + static_cast<long>(i));
      } else {
        set.handlers.erase(set.handlers.begin() + static_cast<long>(i - 1));
      }
      continue;
    }
    ++i;
  }
  applyPriorities(set);
  for (const auto& d : set.handlers) {
    if (d.entry.flags.find('C') != std::string::npos)
      set.warnings.push_back("'" + d.entry.name + "' has the C flag, as its configuration asks (" +
                             d.source.toString() + "): setuid and setgid binaries it matches "
                             "run " + d.entry.interpreter + " with their credentials");
  }
  return set;
}

}  // namespace binfmtd::engine
