// The probe programs that generate-probes writes into the build tree (PROBE_DIR):
//   [rules]  each is the expected ELF image, mode 0755, and binfmt_misc would hand it to its
//            own catalogue rule and to no other;
//   [qemu]   each exits with status 42 under its /usr/bin/qemu-<arch>-static;
//   [binfmt] through a private binfmt_misc instance (run by private-binfmt): registered as
//            binfmtd would, with Debian's interpreter, a probe run directly exits with 42.
// A missing qemu-user-static skips [qemu] and [binfmt] (exit 77) unless CI is set.
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "catalog/architectures.hpp"
#include "catalog/binary_format.hpp"
#include "kernel/entry.hpp"
#include "probe_programs.hpp"

namespace fs = std::filesystem;
namespace catalog = binfmtd::catalog;
namespace kernel = binfmtd::kernel;
namespace probes = binfmtd::probes;

extern char** environ;

namespace {

const fs::path kProbeDir = PROBE_DIR;

bool inCi() {
  const char* ci = std::getenv("CI");
  return ci != nullptr && *ci != '\0' && std::string(ci) != "false";
}

// A missing prerequisite fails in CI; elsewhere the test is skipped (exit 77 is meson's
// "skipped"), so that it never passes without having run anything.
void require(bool present, const std::string& what) {
  if (present) return;
  if (inCi()) FAIL(what + " missing: run scripts/setup.sh");
  std::fprintf(stderr, "skipping: %s missing (run scripts/setup.sh)\n", what.c_str());
  std::exit(77);
}

std::string readFile(const fs::path& file) {
  std::ifstream in(file, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

kernel::Entry ruleOf(const catalog::Architecture& arch) {
  kernel::Entry e;
  e.name = catalog::handlerName(arch);
  e.magic = arch.magic;
  e.mask = arch.mask;
  return e;
}

bool isExecutable(const fs::path& file) { return ::access(file.c_str(), X_OK) == 0; }

struct Outcome {
  int spawnError = 0;  // errno from posix_spawn (ENOEXEC when no handler takes the file)
  int status = 0;      // wait status
};

// Runs a program and waits for it, for at most 20 seconds: a wrongly encoded probe may
// loop instead of trapping.
Outcome run(const std::vector<std::string>& args) {
  std::vector<char*> argv;
  for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  Outcome out;
  pid_t pid = 0;
  out.spawnError = ::posix_spawn(&pid, argv[0], nullptr, nullptr, argv.data(), environ);
  if (out.spawnError != 0) return out;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (::waitpid(pid, &out.status, WNOHANG) == 0) {
    if (std::chrono::steady_clock::now() > deadline) {
      ::kill(pid, SIGKILL);
      ::waitpid(pid, &out.status, 0);
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return out;
}

std::string describe(const Outcome& o) {
  if (o.spawnError != 0) return std::string("not started: ") + std::strerror(o.spawnError);
  if (WIFEXITED(o.status)) return "exit status " + std::to_string(WEXITSTATUS(o.status));
  if (WIFSIGNALED(o.status)) return "killed by signal " + std::to_string(WTERMSIG(o.status));
  return "wait status " + std::to_string(o.status);
}

bool exitedWith42(const Outcome& o) {
  return o.spawnError == 0 && WIFEXITED(o.status) && WEXITSTATUS(o.status) == probes::kExitStatus;
}

fs::path qemuFor(const catalog::Architecture& arch) {
  return "/usr/bin/qemu-" + std::string(arch.qemuBinary) + "-static";
}

// Refuses to run in the initial user namespace, where a binfmt_misc mount would be the
// machine's global table. Its namespace inode is a fixed kernel constant (PROC_USER_INIT_INO).
bool inChildUserNamespace() {
  constexpr ino_t kInitUserNamespaceInode = 0xEFFFFFFDU;
  struct stat st {};
  return ::stat("/proc/self/ns/user", &st) == 0 && st.st_ino != kInitUserNamespaceInode;
}

void writeKernelFile(const fs::path& file, const std::string& text) {
  std::ofstream out(file);
  out << text;
  out.flush();
  INFO("writing '" << text << "' to " << file.string());
  REQUIRE(out.good());
}

}  // namespace

TEST_CASE("every catalogue architecture has a probe or a reason for having none", "[rules]") {
  for (const auto& arch : catalog::all()) {
    INFO(arch.name);
    bool missing = false;
    for (const auto& m : probes::missing()) missing = missing || m.arch == arch.name;
    CHECK((probes::find(arch.name) != nullptr) != missing);
    CHECK(fs::exists(kProbeDir / arch.name) != missing);
  }
  for (const auto& m : probes::missing()) {
    INFO(m.arch);
    CHECK(catalog::find(m.arch) != nullptr);
    CHECK(!m.reason.empty());
  }
}

TEST_CASE("each probe matches its own catalogue rule and no other", "[rules]") {
  for (const auto& probe : probes::all()) {
    const fs::path file = kProbeDir / probe.arch;
    INFO(file.string());
    const catalog::Architecture* own = catalog::find(probe.arch);
    REQUIRE(own != nullptr);
    REQUIRE(own->name == probe.arch);  // the file is named by the canonical name

    struct stat st {};
    REQUIRE(::stat(file.c_str(), &st) == 0);
    CHECK((st.st_mode & 07777) == 0755);
    const std::string image = readFile(file);
    CHECK(kernel::toHex(image) == kernel::toHex(probes::elfImage(probe)));  // hex: readable

    // The kernel compares at most its first 256 bytes; the probes are shorter.
    for (const auto& arch : catalog::all()) {
      INFO("rule of " << arch.name);
      CHECK(kernel::matches(ruleOf(arch), image, file.string()) == (&arch == own));
    }
    const auto format = catalog::identify(image);
    CHECK(format.kind == catalog::FileKind::Elf);
    CHECK(format.architecture == own);
  }
}

TEST_CASE("each probe exits with 42 under its qemu-user-static", "[qemu]") {
  for (const auto& probe : probes::all()) {
    require(isExecutable(qemuFor(*catalog::find(probe.arch))), "qemu-user-static");
  }
  for (const auto& probe : probes::all()) {
    const fs::path qemu = qemuFor(*catalog::find(probe.arch));
    const Outcome o = run({qemu.string(), (kProbeDir / probe.arch).string()});
    INFO(probe.arch << " (" << probe.syscall << ") under " << qemu.string() << ": " << describe(o));
    CHECK(exitedWith42(o));
  }
}

TEST_CASE("a probe run directly goes through binfmt_misc to QEMU and exits with 42", "[binfmt]") {
  const char* dir = std::getenv("BINFMTD_TEST_BINFMT_DIR");
  INFO("run this test through private-binfmt, which sets BINFMTD_TEST_BINFMT_DIR");
  REQUIRE(dir != nullptr);
  REQUIRE(inChildUserNamespace());
  const fs::path instance = dir;
  REQUIRE(fs::exists(instance / "register"));

  for (const char* name : {"aarch64", "arm", "riscv64", "s390x", "ppc64le"}) {
    const catalog::Architecture* arch = catalog::find(name);
    REQUIRE(arch != nullptr);
    // Debian's wrapper expects the P flag's argv (it refuses to start without it); F opens
    // it now, so the exec does not depend on the caller's mount namespace.
    const fs::path interpreter = "/usr/libexec/qemu-binfmt/" + std::string(name) + "-binfmt-P";
    require(isExecutable(interpreter), interpreter.string());
    const std::string probe = (kProbeDir / name).string();
    INFO(name);

    // Not an x86 program: without a handler the kernel refuses it.
    CHECK(run({probe}).spawnError == ENOEXEC);

    kernel::Entry entry = ruleOf(*arch);
    entry.interpreter = interpreter.string();
    entry.flags = "PF";
    REQUIRE(!kernel::validate(entry));
    writeKernelFile(instance / "register", kernel::registerString(entry));
    const Outcome o = run({probe});
    INFO(describe(o));
    CHECK(exitedWith42(o));
    writeKernelFile(instance / entry.name, "-1");
  }
}
