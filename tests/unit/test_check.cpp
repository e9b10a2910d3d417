// binfmtctl check's diagnosis: the file's format, the handler the kernel would use, and
// otherwise the cause and the fix, for every state a handler can be in.
#include <catch2/catch.hpp>

#include <string>

#include "catalog/architectures.hpp"
#include "catalog/binary_format.hpp"
#include "common/files.hpp"
#include "engine/check.hpp"
#include "engine_env.hpp"

using namespace binfmtd;
namespace fs = std::filesystem;

namespace {

// The first bytes of a binary for `arch`: QEMU's magic is the ELF header prefix itself.
std::string elfHeader(const char* arch) {
  const auto* a = catalog::find(arch);
  REQUIRE(a != nullptr);
  std::string h = a->magic;
  h.resize(64, '\0');
  return h;
}

kernel::Entry qemuEntry(const char* arch, const std::string& interpreter, const std::string& flags) {
  const auto* a = catalog::find(arch);
  kernel::Entry e;
  e.name = catalog::handlerName(*a);
  e.magic = a->magic;
  e.mask = a->mask;
  e.interpreter = interpreter;
  e.flags = flags;
  return e;
}

struct Fixture {
  testfiles::TempDir emulators;  // an empty emulator root: nothing installed
  engine::CheckInput in;
  Fixture() {
    in.host.machine = "x86_64";
    in.host.emulators.root = emulators.path;
    in.path = "/home/user/prog";
  }
  void install(const char* relative) {
    testfiles::writeFile(emulators.path / relative, "\x7f" "ELF");
    fs::permissions(emulators.path / relative, fs::perms(0755));
  }
  engine::CheckResult check(const std::string& header) {
    in.header = header;
    return engine::check(in);
  }
};

}  // namespace

TEST_CASE("identify: ELF class, byte order and architecture; scripts; other programs") {
  auto f = catalog::identify(elfHeader("aarch64"));
  CHECK(f.kind == catalog::FileKind::Elf);
  CHECK(f.description == "ELF 64-bit LSB, aarch64");
  CHECK(f.machine == 183);
  f = catalog::identify(elfHeader("s390x"));
  CHECK(f.description == "ELF 64-bit MSB, s390x");
  CHECK(f.machine == 22);
  CHECK(catalog::identify(elfHeader("arm")).description == "ELF 32-bit LSB, arm");
  CHECK(catalog::identify(elfHeader("ppc64le")).architecture->name == "ppc64le");
  CHECK(catalog::identify(elfHeader("riscv64")).architecture->name == "riscv64");
  f = catalog::identify("#! /bin/sh -e\necho hi\n");
  CHECK(f.kind == catalog::FileKind::Script);
  CHECK(f.interpreter == "/bin/sh");
  CHECK(catalog::identify("MZ\x90\x00").kind == catalog::FileKind::Windows);
  CHECK(catalog::identify("\xca\xfe\xba\xbe\x00\x00\x00\x34").kind == catalog::FileKind::Java);
  CHECK(catalog::identify("\x7f" "ELF\x02\x01").kind == catalog::FileKind::Truncated);
  CHECK(catalog::identify("ab").kind == catalog::FileKind::Truncated);
  CHECK(catalog::identify("plain text here").kind == catalog::FileKind::Unknown);
}

TEST_CASE("check: a native binary and a script run without a handler") {
  Fixture f;
  auto r = f.check(elfHeader("x86_64"));
  CHECK(r.verdict == "native");
  CHECK(r.reason == "it runs natively on this x86_64 machine");
  CHECK(f.check(elfHeader("i386")).verdict == "native");  // same family
  r = f.check("#!/bin/sh\n");
  CHECK(r.verdict == "native");
  CHECK(r.interpreter == "/bin/sh");
  f.in.caller.hiddenInterpreter = "/bin/sh";  // binfmtctl did not find it in the caller's root
  r = f.check("#!/bin/sh\n");
  CHECK(r.verdict == "broken");
  CHECK(r.cause == "interpreter-missing");
  CHECK(r.error == "No such file or directory");
}

TEST_CASE("check: no handler, with or without an emulator installed") {
  Fixture f;
  auto r = f.check(elfHeader("aarch64"));
  CHECK(r.verdict == "unhandled");
  CHECK(r.architecture == "aarch64");
  CHECK(r.reason == "no handler for aarch64 is registered, and no emulator for it is installed");
  CHECK(r.fix == "apt install qemu-user-static, then binfmtctl enable aarch64");
  f.install("usr/bin/qemu-aarch64-static");
  r = f.check(elfHeader("aarch64"));
  CHECK(r.reason == "no handler for aarch64 is registered");
  CHECK(r.fix == "binfmtctl enable aarch64");
}

TEST_CASE("check: handled, and the caveat of an entry without the F flag") {
  Fixture f;
  f.in.actual.entries = {qemuEntry("aarch64", "/bin/true", "PF")};
  auto r = f.check(elfHeader("aarch64"));
  CHECK(r.verdict == "handled");
  CHECK(r.handler == "qemu-aarch64");
  CHECK(r.interpreter == "/bin/true");
  CHECK(r.notes.empty());
  f.in.actual.entries = {qemuEntry("aarch64", "/bin/true", "P")};
  r = f.check(elfHeader("aarch64"));
  CHECK(r.verdict == "handled");
  REQUIRE(r.notes.size() == 1);
  CHECK(r.notes[0] == "this entry has no F flag, so it cannot work inside containers or "
                      "chroots that lack /bin/true");
}

TEST_CASE("check: a handler whose interpreter is gone is broken") {
  Fixture f;
  f.in.actual.entries = {qemuEntry("riscv64", "/nonexistent/qemu-riscv64", "P")};
  auto r = f.check(elfHeader("riscv64"));
  CHECK(r.verdict == "broken");
  CHECK(r.reason.find("/nonexistent/qemu-riscv64 does not exist") != std::string::npos);
  // With F the kernel holds the interpreter open: deleting the file does not matter.
  f.in.actual.entries = {qemuEntry("riscv64", "/nonexistent/qemu-riscv64", "F")};
  CHECK(f.check(elfHeader("riscv64")).verdict == "handled");
}

TEST_CASE("check: a disabled handler, binfmtd's or another program's") {
  Fixture f;
  auto e = qemuEntry("ppc64le", "/bin/true", "PF");
  e.enabled = false;
  f.in.actual.entries = {e};
  auto r = f.check(elfHeader("ppc64le"));
  CHECK(r.verdict == "unhandled");
  CHECK(r.reason == "'qemu-ppc64le' matches it but is disabled");
  // The catalogue's name: binfmtd takes another program's entry over on enable.
  CHECK(r.fix == "binfmtctl enable ppc64le");
  f.in.actual.entries[0].name = "ppc64le-other";
  CHECK(f.check(elfHeader("ppc64le")).fix == "echo 1 > /proc/sys/fs/binfmt_misc/ppc64le-other");
  f.in.actual.entries[0].name = e.name;
  f.in.owned[e.name] = e;
  engine::DesiredHandler d;
  d.entry = e;
  d.architecture = "ppc64le";
  f.in.desired = {d};
  CHECK(f.check(elfHeader("ppc64le")).fix == "binfmtctl enable ppc64le");
}

TEST_CASE("check: a newer foreign entry shadows binfmtd's") {
  Fixture f;
  auto ours = qemuEntry("s390x", "/bin/true", "PF");
  auto theirs = ours;
  theirs.name = "s390x-other";
  theirs.interpreter = "/bin/false";
  f.in.actual.entries = {theirs, ours};  // newest first
  f.in.owned[ours.name] = ours;
  auto r = f.check(elfHeader("s390x"));
  CHECK(r.verdict == "handled");
  CHECK(r.cause == "handled");
  CHECK(r.handler == "s390x-other");
  CHECK(r.reason.find("it shadows binfmtd's 'qemu-s390x'") != std::string::npos);
  REQUIRE(r.notes.size() == 1);
  CHECK(r.notes[0].find("\"priority\" above 0") != std::string::npos);

  // The newer entry's interpreter is gone: exec fails, and removing it is the fix.
  f.in.actual.entries[0].interpreter = "/nonexistent/qemu-s390x";
  f.in.actual.entries[0].flags = "P";
  r = f.check(elfHeader("s390x"));
  CHECK(r.verdict == "broken");
  CHECK(r.cause == "shadowed");
  CHECK(r.handler == "s390x-other");
  CHECK(r.error == "No such file or directory");
  CHECK(r.reason.find("shadowed by 's390x-other' registered later") == 0);
  CHECK(r.fix == "echo -1 > /proc/sys/fs/binfmt_misc/s390x-other");
  REQUIRE(r.notes.size() == 1);
  CHECK(r.notes[0].find("alternatively, give 'qemu-s390x' a \"priority\" above 0") == 0);
}

TEST_CASE("check: binfmt_misc unmounted or disabled as a whole") {
  Fixture f;
  f.in.actual.entries = {qemuEntry("aarch64", "/bin/true", "PF")};
  f.in.globalEnabled = false;
  auto r = f.check(elfHeader("aarch64"));
  CHECK(r.verdict == "unhandled");
  CHECK(r.fix == "echo 1 > /proc/sys/fs/binfmt_misc/status");
  f.in.globalEnabled = true;
  f.in.mounted = false;
  r = f.check(elfHeader("aarch64"));
  CHECK(r.cause == "not-mounted");
  CHECK(r.reason.find("binfmt_misc is not mounted at /proc/sys/fs/binfmt_misc") == 0);
  CHECK(r.fix == "binfmtctl reload");
  CHECK(f.check(elfHeader("x86_64")).verdict == "native");  // native binaries do not care
}

TEST_CASE("check: configured but missing from the kernel") {
  Fixture f;
  engine::DesiredHandler d;
  d.entry = qemuEntry("aarch64", "/bin/true", "PF");
  d.architecture = "aarch64";
  f.in.desired = {d};
  auto r = f.check(elfHeader("aarch64"));
  CHECK(r.reason == "binfmtd is configured to register 'qemu-aarch64' for it, but it is not in "
                    "the kernel");
}

TEST_CASE("check: Windows, Java, truncated and unknown files; extension handlers") {
  Fixture f;
  CHECK(f.check("MZ\x90\x00\x03").fix.find("Wine") != std::string::npos);
  CHECK(f.check("\xca\xfe\xba\xbe\x00\x00\x00\x34").reason.find("Java") != std::string::npos);
  auto r = f.check("\x7f" "EL");
  CHECK(r.verdict == "unhandled");
  CHECK(r.reason.find("too short") != std::string::npos);
  CHECK(f.check("hello world").reason == "no handler matches its first bytes or its name");
  kernel::Entry exe;
  exe.name = "wine";
  exe.type = kernel::MatchType::Extension;
  exe.extension = "exe";
  exe.interpreter = "/bin/true";
  f.in.actual.entries = {exe};
  f.in.path = "/home/user/setup.exe";
  r = f.check("MZ\x90\x00\x03");
  CHECK(r.verdict == "handled");
  CHECK(r.handler == "wine");
}

TEST_CASE("check: the engine reads the kernel table and its own state") {
  enginetest::Env env;
  testfiles::writeFile(env.mainFile(), enginetest::kOneHandler);
  auto eng = env.make();
  REQUIRE(eng.reconcile().result == "ok");
  auto r = eng.check("/home/user/data.t1", "anything");
  CHECK(r.verdict == "handled");
  CHECK(r.handler == "t1");
  env.kernel.setEnabled("t1", false);
  r = eng.check("/home/user/data.t1", "anything");
  CHECK(r.verdict == "unhandled");
  CHECK(r.fix == "binfmtctl enable t1");
  env.kernel.mounted = false;
  CHECK(eng.check("/home/user/data.t1", "anything").reason.find("not mounted") !=
        std::string::npos);
}

TEST_CASE("check: the command line the kernel runs, with the arguments after --") {
  Fixture f;
  f.in.path = "./prog";
  f.in.caller.arguments = {"-v", "two words"};
  auto r = f.check(elfHeader("x86_64"));
  CHECK(r.command == std::vector<std::string>{"./prog", "-v", "two words"});
  // The script loader: interpreter, its one optional argument, the script, the rest.
  r = f.check("#!/usr/bin/env  python3 -u \n");
  CHECK(r.cause == "script");
  CHECK(r.command ==
        std::vector<std::string>{"/usr/bin/env", "python3 -u", "./prog", "-v", "two words"});
  // binfmt_misc: the interpreter, the file, argv[0] again only with P.
  f.in.actual.entries = {qemuEntry("aarch64", "/bin/true", "PF")};
  r = f.check(elfHeader("aarch64"));
  CHECK(r.command == std::vector<std::string>{"/bin/true", "./prog", "./prog", "-v", "two words"});
  f.in.actual.entries = {qemuEntry("aarch64", "/bin/true", "F")};
  r = f.check(elfHeader("aarch64"));
  CHECK(r.command == std::vector<std::string>{"/bin/true", "./prog", "-v", "two words"});
  f.in.actual.entries.clear();
  CHECK(f.check(elfHeader("aarch64")).command.empty());  // exec fails
}

TEST_CASE("check: no F flag and an interpreter the caller's root lacks (chroot, container)") {
  Fixture f;
  auto e = qemuEntry("aarch64", "/bin/true", "P");
  f.in.actual.entries = {e};
  f.in.caller.hiddenInterpreter = "/bin/true";
  f.in.caller.otherRoot = true;
  // Another program's qemu-aarch64: binfmtd takes the name over on enable.
  auto r = f.check(elfHeader("aarch64"));
  CHECK(r.verdict == "broken");
  CHECK(r.cause == "no-fix-binary");
  CHECK(r.handler == "qemu-aarch64");
  CHECK(r.error == "No such file or directory");
  CHECK(r.reason == "'qemu-aarch64' takes it, but this entry has no F flag, so it cannot work "
                    "inside containers or chroots: the kernel looks for /bin/true when the "
                    "program starts, and this chroot or container does not have it");
  CHECK(r.fix == "apt install qemu-user-static, then binfmtctl enable aarch64");
  // binfmtd's own, with flags from its configuration and a static emulator.
  f.in.owned[e.name] = e;
  engine::DesiredHandler d;
  d.entry = e;
  d.architecture = "aarch64";
  d.source.file = "/etc/binfmtd/binfmtd.json";
  f.in.desired = {d};
  const bool staticTrue = catalog::isStaticElf("/bin/true");
  r = f.check(elfHeader("aarch64"));
  CHECK(r.fix == (staticTrue ? "add F to the \"flags\" of aarch64 in /etc/binfmtd/binfmtd.json, "
                               "then binfmtctl reload"
                             : "apt install qemu-user-static, then binfmtctl reload"));
  // A custom handler of someone else's: its owner's tool, or remove it.
  f.in.owned.clear();
  f.in.desired.clear();
  e.name = "their-arm";
  f.in.actual.entries = {e};
  CHECK(f.check(elfHeader("aarch64")).fix ==
        "register 'their-arm' again with the F flag, or remove it: echo -1 > "
        "/proc/sys/fs/binfmt_misc/their-arm");
  // With F, or when the caller's root has the interpreter, it works there.
  f.in.caller.hiddenInterpreter.clear();
  CHECK(f.check(elfHeader("aarch64")).verdict == "handled");
  f.in.caller.hiddenInterpreter = "/bin/true";
  f.in.actual.entries[0].flags = "PF";
  CHECK(f.check(elfHeader("aarch64")).verdict == "handled");
}

TEST_CASE("check: a user namespace with its own binfmt_misc instance") {
  Fixture f;
  f.in.actual.entries = {qemuEntry("aarch64", "/bin/true", "PF")};
  f.in.userNamespace = 4026531837;
  f.in.binfmtDevice = 42;
  f.in.caller.userNamespace = 4026532999;
  f.in.caller.binfmtDevice = 43;
  auto r = f.check(elfHeader("aarch64"));
  CHECK(r.verdict == "unhandled");
  CHECK(r.cause == "user-namespace");
  CHECK(r.reason == "you are in a user namespace with its own empty binfmt_misc instance: the "
                    "kernel looks only there, not at the handlers binfmtd manages; register "
                    "'qemu-aarch64' in this namespace's own table");
  CHECK(r.fix.find(" > /proc/sys/fs/binfmt_misc/register") == r.fix.size() - 36);
  CHECK(r.handler == "qemu-aarch64");
  INFO(r.fix);
  CHECK(r.fix.find("printf '%s' ':qemu-aarch64:M:0:\\x7fELF\\x02") == 0);
  CHECK(r.fix.find(":/bin/true:PF' > /proc/sys/fs/binfmt_misc/register") != std::string::npos);
  CHECK(f.check(elfHeader("x86_64")).verdict == "native");  // native programs do not care
  f.in.caller.binfmtEntries = 3;  // entries binfmtd cannot see decide
  r = f.check(elfHeader("aarch64"));
  CHECK(r.verdict == "unknown");
  CHECK(r.cause == "user-namespace");
  // The same user namespace, or a namespace that mounts binfmtd's instance: binfmtd's table.
  f.in.caller.binfmtDevice = 42;
  CHECK(f.check(elfHeader("aarch64")).verdict == "handled");
  f.in.caller.binfmtDevice = 43;
  f.in.caller.userNamespace = f.in.userNamespace;
  CHECK(f.check(elfHeader("aarch64")).verdict == "handled");
}

TEST_CASE("check: an ELF file shorter than its header tables is truncated") {
  Fixture f;
  std::string h = elfHeader("aarch64");
  h[40] = static_cast<char>(0xe8);  // e_shoff = 1000 (little endian)
  h[41] = 0x03;
  h[58] = 64;  // e_shentsize
  h[60] = 10;  // e_shnum: the section headers end at 1640
  CHECK(catalog::identify(h).minimumSize == 1640);
  f.in.caller.size = 1639;
  auto r = f.check(h);
  CHECK(r.verdict == "unhandled");
  CHECK(r.cause == "truncated");
  CHECK(r.error == "Exec format error");
  CHECK(r.reason.find("the file is truncated (1639 bytes, its ELF header needs at least 1640)") ==
        0);
  CHECK(r.fix == "copy or download it again");
  f.in.actual.entries = {qemuEntry("aarch64", "/bin/true", "PF")};
  r = f.check(h);
  CHECK(r.verdict == "broken");
  CHECK(r.cause == "truncated");
  CHECK(r.handler == "qemu-aarch64");
  CHECK(r.error.empty());  // the emulator starts, then fails
  // A handler that fails first: its cause stays, the truncation is a note.
  f.in.actual.entries[0].flags = "P";
  f.in.actual.entries[0].interpreter = "/nonexistent/qemu-aarch64";
  r = f.check(h);
  CHECK(r.cause == "interpreter-missing");
  REQUIRE(r.notes.size() == 1);
  CHECK(r.notes[0].find("the file is also truncated") == 0);
  f.in.actual.entries = {qemuEntry("aarch64", "/bin/true", "PF")};
  f.in.caller.size = 1640;
  CHECK(f.check(h).verdict == "handled");
  f.in.caller.size = 0;  // unknown: not judged
  CHECK(f.check(h).verdict == "handled");
  // A native program cut short starts and crashes.
  std::string native = elfHeader("x86_64");
  native[40] = static_cast<char>(0xe8);
  native[41] = 0x03;
  native[58] = 64;
  native[60] = 10;
  f.in.caller.size = 100;
  r = f.check(native);
  CHECK(r.verdict == "broken");
  CHECK(r.cause == "truncated");
}
