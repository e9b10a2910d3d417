#include "engine/check.hpp"

#include <unistd.h>

#include "catalog/binary_format.hpp"
#include "catalog/emulators.hpp"

namespace binfmtd::engine {

namespace {

constexpr const char* kNoExec = "Exec format error";
constexpr const char* kNoEntry = "No such file or directory";

std::string inQuotes(const std::string& s) { return "'" + s + "'"; }

// For a shell: 'text', with every ' written as '\''.
std::string shellQuoted(const std::string& s) {
  std::string out = "'";
  for (char c : s) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

bool hasFlag(const std::string& flags, char flag) {
  return flags.find(flag) != std::string::npos;
}

// The wanted handler of this name, if binfmtd's config asks for one.
const DesiredHandler* wanted(const CheckInput& in, const std::string& name) {
  for (const auto& d : in.desired)
    if (d.entry.name == name) return &d;
  return nullptr;
}

bool owned(const CheckInput& in, const kernel::Entry& e) { return in.owned.count(e.name) != 0; }

// The catalogue architecture whose handler has this name (qemu-aarch64 -> aarch64): such
// an entry, even another program's, is one binfmtd takes over on `binfmtctl enable`.
std::string architectureNamed(const CheckInput& in, const kernel::Entry& e,
                              const catalog::BinaryFormat& format) {
  if (const DesiredHandler* d = wanted(in, e.name); d != nullptr && owned(in, e))
    return d->architecture.empty() ? e.name : d->architecture;
  if (format.architecture != nullptr && catalog::handlerName(*format.architecture) == e.name)
    return std::string(format.architecture->name);
  return "";
}

// argv as the kernel builds it for a binfmt_misc handler: the interpreter, the file as it
// was executed, the original argv[0] only with P, then the arguments.
std::vector<std::string> handlerCommand(const CheckInput& in, const kernel::Entry& e) {
  std::vector<std::string> argv{e.interpreter, in.path};
  if (hasFlag(e.flags, 'P')) argv.push_back(in.path);
  argv.insert(argv.end(), in.caller.arguments.begin(), in.caller.arguments.end());
  return argv;
}

std::vector<std::string> nativeCommand(const CheckInput& in) {
  std::vector<std::string> argv{in.path};
  argv.insert(argv.end(), in.caller.arguments.begin(), in.caller.arguments.end());
  return argv;
}

// The kernel's script loader: the interpreter, its one optional argument, the file.
std::vector<std::string> scriptCommand(const CheckInput& in, const catalog::BinaryFormat& f) {
  std::vector<std::string> argv{f.interpreter};
  if (!f.interpreterArgument.empty()) argv.push_back(f.interpreterArgument);
  argv.push_back(in.path);
  argv.insert(argv.end(), in.caller.arguments.begin(), in.caller.arguments.end());
  return argv;
}

void fail(CheckResult& r, const char* verdict, const char* cause, const char* error) {
  r.verdict = verdict;
  r.cause = cause;
  r.error = error;
  r.command.clear();
}

// How the user switches a disabled entry on: binfmtctl for binfmtd's and for the
// catalogue's handler names (binfmtd takes those over), by hand for others.
std::string enableCommand(const CheckInput& in, const kernel::Entry& e,
                          const catalog::BinaryFormat& format) {
  const std::string arch = architectureNamed(in, e, format);
  if (!arch.empty()) return "binfmtctl enable " + arch;
  return "echo 1 > " + in.binfmtDir + "/" + e.name;
}

// What gives an entry the F flag: the configuration's flags for binfmtd's own (unless
// the emulator is dynamic, which needs its libraries in every root anyway), binfmtctl
// enable for a catalogue name binfmtd can take over, the owner's tool otherwise.
std::string fixBinaryCommand(const CheckInput& in, const kernel::Entry& e,
                             const catalog::BinaryFormat& format) {
  const std::string arch = architectureNamed(in, e, format);
  const bool staticEmulator = catalog::isStaticElf(e.interpreter);
  if (owned(in, e)) {
    const DesiredHandler* d = wanted(in, e.name);
    if (!staticEmulator) return "apt install qemu-user-static, then binfmtctl reload";
    const std::string file = d != nullptr && !d->source.file.empty() ? d->source.file
                                                                      : "the configuration";
    return "add F to the \"flags\" of " + (arch.empty() ? e.name : arch) + " in " + file +
           ", then binfmtctl reload";
  }
  if (!arch.empty() && format.architecture != nullptr) {
    const auto emulator = catalog::discover(*format.architecture, in.host.emulators);
    if (emulator && hasFlag(emulator->defaultFlags, 'F')) return "binfmtctl enable " + arch;
    return "apt install qemu-user-static, then binfmtctl enable " + arch;
  }
  return "register " + inQuotes(e.name) + " again with the F flag, or remove it: echo -1 > " +
         in.binfmtDir + "/" + e.name;
}

// The enabled entry binfmtd owns (or is configured to own) that `chosen`, registered
// later by someone else, hides: the kernel tries the newest entry first.
const kernel::Entry* shadowedBy(const CheckInput& in, const kernel::Entry& chosen) {
  if (owned(in, chosen)) return nullptr;
  bool seenChosen = false;
  for (const auto& e : in.actual.entries) {
    if (e.name == chosen.name) {
      seenChosen = true;
      continue;
    }
    if (seenChosen && e.enabled && owned(in, e) && kernel::matches(e, in.header, in.path))
      return &e;
  }
  return nullptr;
}

void handledBy(const CheckInput& in, const kernel::Entry& e, const catalog::BinaryFormat& format,
               CheckResult& r) {
  r.handler = e.name;
  r.interpreter = e.interpreter;
  r.flags = e.flags;
  r.command = handlerCommand(in, e);
  const bool fixBinary = hasFlag(e.flags, 'F');
  const kernel::Entry* hidden = shadowedBy(in, e);
  const std::string shadowing =
      hidden == nullptr ? std::string()
                        : " (it shadows binfmtd's " + inQuotes(hidden->name) +
                              ": it was registered later, and the kernel tries the newest "
                              "entry first)";
  // Without F the kernel opens the interpreter when the program starts, in the root of
  // the process that runs it; with F it opened it at registration and holds it.
  if (!fixBinary && in.caller.hiddenInterpreter == e.interpreter) {
    fail(r, "broken", "no-fix-binary", kNoEntry);
    r.reason = inQuotes(e.name) + " takes it, but this entry has no F flag, so it cannot work "
               "inside containers or chroots: the kernel looks for " + e.interpreter +
               " when the program starts, and " +
               (in.caller.otherRoot ? "this chroot or container" : "this root") +
               " does not have it" + shadowing;
    r.fix = fixBinaryCommand(in, e, format);
    return;
  }
  if (!fixBinary && ::access(e.interpreter.c_str(), X_OK) != 0) {
    fail(r, "broken", hidden != nullptr ? "shadowed" : "interpreter-missing", kNoEntry);
    if (hidden != nullptr) {
      r.reason = "shadowed by " + inQuotes(e.name) + " registered later, whose interpreter " +
                 e.interpreter + " does not exist or is not executable; binfmtd's " +
                 inQuotes(hidden->name) + " would run it, but the kernel tries the newest entry "
                 "first";
      r.fix = "echo -1 > " + in.binfmtDir + "/" + e.name;
      r.notes.push_back("alternatively, give " + inQuotes(hidden->name) +
                        " a \"priority\" above 0 in the configuration: binfmtd then registers "
                        "it again after " + inQuotes(e.name));
      return;
    }
    r.reason = inQuotes(e.name) + " takes it, but its interpreter " + e.interpreter +
               " does not exist or is not executable";
    if (owned(in, e))
      r.fix = "apt install qemu-user-static, then binfmtctl reload";
    else
      r.fix = "install " + e.interpreter + ", or remove the entry: echo -1 > " + in.binfmtDir +
              "/" + e.name;
    return;
  }
  r.verdict = "handled";
  r.cause = "handled";
  r.reason = "handled by " + inQuotes(e.name) + " via " + e.interpreter + " (flags '" + e.flags +
             "')" + shadowing;
  if (hidden != nullptr)
    r.notes.push_back("shadowed: " + inQuotes(e.name) + ", registered later by another program, "
                      "takes it before binfmtd's " + inQuotes(hidden->name) + "; give " +
                      inQuotes(hidden->name) + " a \"priority\" above 0 to win again");
  if (!fixBinary)
    r.notes.push_back("this entry has no F flag, so it cannot work inside containers or "
                      "chroots that lack " + e.interpreter);
}

void unhandledElf(const CheckInput& in, const catalog::BinaryFormat& format, CheckResult& r) {
  if (format.architecture == nullptr) {
    r.cause = "unknown-format";
    r.reason = "no handler matches it, and no emulator is known for ELF machine " +
               std::to_string(format.machine);
    return;
  }
  const catalog::Architecture& arch = *format.architecture;
  const std::string name(arch.name);
  if (const DesiredHandler* d = wanted(in, catalog::handlerName(arch))) {
    r.cause = "not-registered";
    r.reason = "binfmtd is configured to register " + inQuotes(d->entry.name) +
               " for it, but it is not in the kernel";
    r.fix = "binfmtctl status (it says why), then binfmtctl reload";
    return;
  }
  if (catalog::discover(arch, in.host.emulators)) {
    r.cause = "no-handler";
    r.reason = "no handler for " + name + " is registered";
    r.fix = "binfmtctl enable " + name;
  } else {
    r.cause = "no-emulator";
    r.reason = "no handler for " + name + " is registered, and no emulator for it is installed";
    r.fix = "apt install qemu-user-static, then binfmtctl enable " + name;
  }
}

void unhandled(const CheckInput& in, const catalog::BinaryFormat& format, CheckResult& r) {
  fail(r, "unhandled", "no-handler", kNoExec);
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
      r.cause = "truncated";
      r.reason = "the file is too short to be a program; it may be damaged or incompletely "
                 "copied";
      r.fix = "copy or download it again";
      break;
    default:
      r.cause = "unknown-format";
      r.reason = "no handler matches its first bytes or its name";
      break;
  }
}

// An ELF file smaller than its own header tables say: a download or copy cut short.
// Whatever runs it (the kernel's loader or an emulator) fails to load it.
bool cutShort(const CheckInput& in, const catalog::BinaryFormat& format) {
  return format.kind == catalog::FileKind::Elf && in.caller.size != 0 &&
         format.minimumSize > in.caller.size;
}

void truncated(const CheckInput& in, const catalog::BinaryFormat& format, CheckResult& r) {
  const std::string size = std::to_string(in.caller.size);
  const std::string needed = std::to_string(format.minimumSize);
  if (r.verdict == "broken") {  // exec fails before the missing part matters
    r.notes.push_back("the file is also truncated (" + size + " bytes, its ELF header needs at "
                      "least " + needed + "): copy or download it again");
    return;
  }
  const std::string cut =
      "the file is truncated (" + size + " bytes, its ELF header needs at least " + needed + ")";
  if (r.verdict == "handled" || r.verdict == "native") {
    // exec succeeds: the emulator or the program itself starts, then dies loading the rest
    const std::string starter = r.verdict == "handled" ? inQuotes(r.handler) : "the kernel";
    const auto started = r.command;
    fail(r, "broken", "truncated", "");
    r.command = started;
    r.reason = cut + ": " + starter + " starts it, but it crashes on the missing part";
  } else {
    fail(r, "unhandled", "truncated", kNoExec);
    r.reason = cut + "; it was damaged or incompletely copied";
  }
  r.fix = "copy or download it again";
}

// A caller in another user namespace, whose mount of binfmt_misc is not the instance
// binfmtd manages: since Linux 6.7 such a namespace has a table of its own, and the
// kernel looks only there for programs started inside it.
bool ownInstance(const CheckInput& in) {
  return in.caller.userNamespace != 0 && in.userNamespace != 0 &&
         in.caller.userNamespace != in.userNamespace && in.caller.binfmtDevice != 0 &&
         in.caller.binfmtDevice != in.binfmtDevice;
}

// The table binfmtd sees is not the one that decides: say so, and how to fill this one.
void otherInstance(const CheckInput& in, const kernel::Entry* wouldMatch, CheckResult& r) {
  if (in.caller.binfmtEntries != 0) {
    fail(r, "unknown", "user-namespace", "");
    r.reason = "you are in a user namespace with its own binfmt_misc instance (" +
               std::to_string(in.caller.binfmtEntries) + " entries), which binfmtd does not "
               "see: those entries decide whether it runs";
    r.fix = "cat /proc/sys/fs/binfmt_misc/* in this namespace to see them";
    return;
  }
  fail(r, "unhandled", "user-namespace", kNoExec);
  r.reason = "you are in a user namespace with its own empty binfmt_misc instance: the kernel "
             "looks only there, not at the handlers binfmtd manages";
  if (wouldMatch != nullptr) {
    r.handler = wouldMatch->name;
    r.interpreter = wouldMatch->interpreter;
    r.flags = wouldMatch->flags;
    r.reason += "; register " + inQuotes(wouldMatch->name) + " in this namespace's own table";
    r.fix = "printf '%s' " + shellQuoted(kernel::registerString(*wouldMatch)) +
            " > /proc/sys/fs/binfmt_misc/register";
  } else {
    r.fix = "register a handler in this namespace's /proc/sys/fs/binfmt_misc/register, or run "
            "it outside the namespace";
  }
}

// The entry the kernel would choose in binfmtd's table, and the first disabled one that
// would have matched: newest first, enabled only, nothing while disabled as a whole.
struct Lookup {
  const kernel::Entry* chosen = nullptr;
  const kernel::Entry* disabled = nullptr;
};

Lookup lookUp(const CheckInput& in) {
  Lookup l;
  if (!in.mounted || !in.globalEnabled) return l;
  for (const auto& e : in.actual.entries) {
    if (!kernel::matches(e, in.header, in.path)) continue;
    if (e.enabled) {
      l.chosen = &e;
      break;
    }
    if (l.disabled == nullptr) l.disabled = &e;
  }
  return l;
}

}  // namespace

CheckResult check(const CheckInput& in) {
  const catalog::BinaryFormat format = catalog::identify(in.header);
  CheckResult r;
  r.format = format.description;
  if (format.architecture != nullptr) r.architecture = std::string(format.architecture->name);
  const bool native = format.kind == catalog::FileKind::Elf && format.architecture != nullptr &&
                      catalog::isHostFamily(*format.architecture, in.host.machine);
  const bool own = ownInstance(in);

  // The kernel asks binfmt_misc before its own ELF and script loaders.
  const Lookup found = lookUp(in);
  if (found.chosen != nullptr && !own) {
    handledBy(in, *found.chosen, format, r);
    if (cutShort(in, format)) truncated(in, format, r);
    return r;
  }
  if (native || format.kind == catalog::FileKind::Script) {
    r.verdict = "native";
    if (native) {
      r.cause = "native";
      r.reason = "it runs natively on this " + in.host.machine + " machine";
      r.command = nativeCommand(in);
    } else {
      r.cause = "script";
      r.interpreter = format.interpreter;
      r.reason = "a script: the kernel runs " +
                 (format.interpreter.empty() ? std::string("its interpreter")
                                             : format.interpreter) +
                 " with it (check that program the same way if it fails)";
      r.command = scriptCommand(in, format);
      if (!format.interpreter.empty() && in.caller.hiddenInterpreter == format.interpreter) {
        fail(r, "broken", "interpreter-missing", kNoEntry);
        r.reason = "a script for " + format.interpreter + ", which does not exist here";
        r.fix = "install " + format.interpreter + ", or change the script's first line";
      }
    }
    if (own && in.caller.binfmtEntries != 0)
      r.notes.push_back("this user namespace has a binfmt_misc instance of its own, which "
                        "binfmtd does not see; an entry there could take this file");
    if (native && cutShort(in, format)) truncated(in, format, r);
    return r;
  }
  if (cutShort(in, format)) {
    truncated(in, format, r);
    return r;
  }
  if (own) {
    otherInstance(in, found.chosen, r);
    return r;
  }
  if (!in.mounted) {
    fail(r, "unhandled", "not-mounted", kNoExec);
    r.reason = "binfmt_misc is not mounted at " + in.binfmtDir + ", so no handler is registered "
               "at all; binfmtd mounts it again and registers its handlers on reload";
    r.fix = "binfmtctl reload";
    return r;
  }
  if (!in.globalEnabled) {
    fail(r, "unhandled", "binfmt-disabled", kNoExec);
    r.reason = "binfmt_misc is disabled as a whole, so no handler runs";
    r.fix = "echo 1 > " + in.binfmtDir + "/status";
    return r;
  }
  if (found.disabled != nullptr) {
    fail(r, "unhandled", "disabled", kNoExec);
    r.handler = found.disabled->name;
    r.interpreter = found.disabled->interpreter;
    r.flags = found.disabled->flags;
    r.reason = inQuotes(found.disabled->name) + " matches it but is disabled";
    r.fix = enableCommand(in, *found.disabled, format);
    return r;
  }
  unhandled(in, format, r);
  return r;
}

}  // namespace binfmtd::engine
