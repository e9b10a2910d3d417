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
  CHECK(r.notes[0].find("has no F flag") != std::string::npos);
  CHECK(r.notes[0].find("containers and chroots") != std::string::npos);
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
  CHECK(r.fix == "echo 1 > /proc/sys/fs/binfmt_misc/qemu-ppc64le");
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
  CHECK(r.handler == "s390x-other");
  REQUIRE(r.notes.size() == 1);
  CHECK(r.notes[0].find("shadows it") != std::string::npos);
  CHECK(r.fix.find("\"priority\" above 0") != std::string::npos);
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
  CHECK(r.reason.find("not mounted") != std::string::npos);
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
