#include "engine/check.hpp"

#include <unistd.h>

#include "catalog/binary_format.hpp"
#include "catalog/emulators.hpp"

namespace binfmtd::engine {

namespace {

std::string quoted(const std::string& s) { return "'" + s + "'"; }

bool hasFlag(const kernel::Entry& e, char flag) {
  return e.flags.find(flag) != std::string::npos;
}

// The wanted handler of this name, if binfmtd's config asks for one.
const DesiredHandler* wanted(const CheckInput& in, const std::string& name) {
  for (const auto& d : in.desired)
    if (d.entry.name == name) return &d;
  return nullptr;
}

// How the user would switch a handler on: by architecture for binfmtd's, by hand for others.
std::string enableCommand(const CheckInput& in, const kernel::Entry& e) {
  if (in.owned.count(e.name) != 0) {
    const DesiredHandler* d = wanted(in, e.name);
    return "binfmtctl enable " + (d != nullptr && !d->architecture.empty() ? d->architecture
                                                                           : e.name);
  }
  return "echo 1 > " + in.binfmtDir + "/" + e.name;
}

void handledBy(const CheckInput& in, const kernel::Entry& e, CheckResult& r) {
  r.handler = e.name;
  r.interpreter = e.interpreter;
  const bool fixBinary = hasFlag(e, 'F');
  // Without F the kernel opens the interpreter at exec time; with F it holds it open.
  if (!fixBinary && ::access(e.interpreter.c_str(), X_OK) != 0) {
    r.verdict = "broken";
    r.reason = quoted(e.name) + " takes it, but its interpreter " + e.interpreter +
               " does not exist or is not executable, so exec fails with \"No such file or "
               "directory\"";
    r.fix = in.owned.count(e.name) != 0 ? "apt install qemu-user-static (or the emulator it names)"
                                        : "install " + e.interpreter + ", or remove the entry: "
                                          "echo -1 > " + in.binfmtDir + "/" + e.name;
    return;
  }
  r.verdict = "handled";
  r.reason = "handled by " + quoted(e.name) + " (interpreter " + e.interpreter + ", flags '" +
             e.flags + "')";
  if (!fixBinary)
    r.notes.push_back(quoted(e.name) + " has no F flag: the kernel looks for " + e.interpreter +
                      " when the program starts, in the program's own file system, so it fails "
                      "inside containers and chroots that do not have it");
}

// A foreign entry that took the binary ahead of one of binfmtd's: say so, and how to win.
void noteShadowing(const CheckInput& in, const kernel::Entry& chosen, CheckResult& r) {
  if (in.owned.count(chosen.name) != 0) return;
  bool seenChosen = false;
  for (const auto& e : in.actual.entries) {
    if (e.name == chosen.name) {
      seenChosen = true;
      continue;
    }
    if (!seenChosen || !e.enabled || in.owned.count(e.name) == 0) continue;
    if (!kernel::matches(e, in.header, in.path)) continue;
    r.notes.push_back(quoted(chosen.name) + ", registered by another program after binfmtd's " +
                      quoted(e.name) + ", shadows it: the kernel tries the newest entry first");
    r.fix = "give " + quoted(e.name) + " a \"priority\" above 0 in the configuration, or remove " +
            quoted(chosen.name) + ": echo -1 > " + in.binfmtDir + "/" + chosen.name;
    return;
  }
}

void unhandledElf(const CheckInput& in, const catalog::BinaryFormat& format, CheckResult& r) {
  if (format.architecture == nullptr) {
    r.reason = "no handler matches it, and no emulator is known for ELF machine " +
               std::to_string(format.machine);
    return;
  }
  const catalog::Architecture& arch = *format.architecture;
  const std::string name(arch.name);
  if (const DesiredHandler* d = wanted(in, catalog::handlerName(arch))) {
    r.reason = "binfmtd is configured to register " + quoted(d->entry.name) +
               " for it, but it is not in the kernel";
    r.fix = "binfmtctl status (it says why), then binfmtctl reload";
    return;
  }
  if (catalog::discover(arch, in.host.emulators)) {
    r.reason = "no handler for " + name + " is registered";
    r.fix = "binfmtctl enable " + name;
  } else {
    r.reason = "no handler for " + name + " is registered, and no emulator for it is installed";
    r.fix = "apt install qemu-user-static, then binfmtctl enable " + name;
  }
}

void unhandled(const CheckInput& in, const catalog::BinaryFormat& format, CheckResult& r) {
  r.verdict = "unhandled";
  switch (format.kind) {
    case catalog::FileKind::Elf:
      unhandledElf(in, format, r);
      break;
    case catalog::FileKind::Windows:
      r.reason = "no handler for Windows programs is registered";
      r.fix = "install Wine and define a handler for it (see binfmtd.json(5))";
      break;
    case catalog::FileKind::Java:
      r.reason = "no handler for Java class files is registered";
      r.fix = "install a Java runtime and define a handler for it (see binfmtd.json(5))";
      break;
    case catalog::FileKind::Truncated:
      r.reason = "the file is too short to be a program; it may be damaged or incompletely "
                 "copied";
      break;
    default:
      r.reason = "no handler matches its first bytes or its name";
      break;
  }
}

}  // namespace

CheckResult check(const CheckInput& in) {
  const catalog::BinaryFormat format = catalog::identify(in.header);
  CheckResult r;
  r.format = format.description;
  if (format.architecture != nullptr) r.architecture = std::string(format.architecture->name);
  const bool native = format.kind == catalog::FileKind::Elf && format.architecture != nullptr &&
                      catalog::isHostFamily(*format.architecture, in.host.machine);

  // The kernel asks binfmt_misc before its own ELF and script loaders: newest entry first,
  // enabled ones only, and none at all while binfmt_misc is disabled as a whole.
  const kernel::Entry* chosen = nullptr;
  const kernel::Entry* disabled = nullptr;
  if (in.mounted && in.globalEnabled) {
    for (const auto& e : in.actual.entries) {
      if (!kernel::matches(e, in.header, in.path)) continue;
      if (e.enabled) {
        chosen = &e;
        break;
      }
      if (disabled == nullptr) disabled = &e;
    }
  }
  if (chosen != nullptr) {
    handledBy(in, *chosen, r);
    noteShadowing(in, *chosen, r);
    return r;
  }
  if (native) {
    r.verdict = "native";
    r.reason = "it runs natively on this " + in.host.machine + " machine";
    return r;
  }
  if (format.kind == catalog::FileKind::Script) {
    r.verdict = "native";
    r.interpreter = format.interpreter;
    r.reason = "a script: the kernel runs " +
               (format.interpreter.empty() ? std::string("its interpreter") : format.interpreter) +
               " with it (check that program the same way if it fails)";
    return r;
  }
  if (!in.mounted) {
    r.verdict = "unhandled";
    r.reason = "binfmt_misc is not mounted at " + in.binfmtDir + ", so no handler can run it";
    r.fix = "binfmtctl reload (binfmtd mounts it), or mount -t binfmt_misc binfmt_misc " +
            in.binfmtDir;
    return r;
  }
  if (!in.globalEnabled) {
    r.verdict = "unhandled";
    r.reason = "binfmt_misc is disabled as a whole, so no handler runs";
    r.fix = "echo 1 > " + in.binfmtDir + "/status";
    return r;
  }
  if (disabled != nullptr) {
    r.verdict = "unhandled";
    r.handler = disabled->name;
    r.interpreter = disabled->interpreter;
    r.reason = quoted(disabled->name) + " matches it but is disabled";
    r.fix = enableCommand(in, *disabled);
    return r;
  }
  unhandled(in, format, r);
  return r;
}

}  // namespace binfmtd::engine
