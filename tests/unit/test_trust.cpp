// Trusted interpreters: only files that root alone can change, on a path root alone can
// change, are registered. The cases need real files with other owners, so they run as
// root (as in CI); elsewhere they are skipped.
#include <catch2/catch.hpp>
#include <unistd.h>

#include <filesystem>
#include <string>

#include "common/files.hpp"
#include "engine/trust.hpp"
#include "engine_env.hpp"
#include "error.hpp"

using namespace binfmtd;
namespace fs = std::filesystem;
using testfiles::TempDir;
using testfiles::writeFile;

namespace {

constexpr uid_t kNobody = 65534;

bool asRoot() {
  if (geteuid() == 0) return true;
  const char* ci = std::getenv("CI");
  if (ci != nullptr && *ci != '\0' && std::string(ci) != "false") FAIL("trust tests need root in CI");
  WARN("skipping: the trust tests create files owned by other users and need root");
  return false;
}

kernel::Entry entryFor(const fs::path& interpreter, const std::string& flags = "") {
  kernel::Entry e;
  e.name = "test";
  e.magic = "T";
  e.interpreter = interpreter.string();
  e.flags = flags;
  return e;
}

// The error checkInterpreter throws, or nullopt when the interpreter is trusted.
std::optional<Error> verdict(const fs::path& interpreter, bool allowMissing = false,
                             const std::string& flags = "") {
  try {
    engine::checkInterpreter(entryFor(interpreter, flags), allowMissing);
  } catch (const Error& e) {
    return e;
  }
  return std::nullopt;
}

// A root-owned 0755 directory tree with one executable, like /usr/bin.
struct Tree {
  TempDir tmp;
  fs::path dir, program;
  Tree() {
    dir = tmp.path / "bin";
    fs::create_directories(dir);
    fs::permissions(dir, fs::perms(0755));
    program = dir / "emulator";
    writeFile(program, "#!/bin/sh\n");
    fs::permissions(program, fs::perms(0755));
  }
};

std::string messageOf(const std::optional<Error>& e) { return e ? e->what() : "<trusted>"; }

}  // namespace

TEST_CASE("trust: root-owned executables on a root-only path are trusted") {
  if (!asRoot()) return;
  Tree t;
  CHECK_FALSE(verdict(t.program));
  CHECK_FALSE(verdict("/bin/sh"));  // /bin is a symlink to usr/bin on Debian: followed
  fs::create_directories(t.tmp.path / "libexec");
  fs::create_symlink("../bin/emulator", t.tmp.path / "libexec" / "link");
  CHECK_FALSE(verdict(t.tmp.path / "libexec" / "link"));  // resolved from the link's directory
  if (fs::exists("/usr/libexec/qemu-binfmt/aarch64-binfmt-P"))
    CHECK_FALSE(verdict("/usr/libexec/qemu-binfmt/aarch64-binfmt-P"));
  // /tmp's sticky bit: others cannot replace what root put there.
  CHECK((fs::status(fs::temp_directory_path()).permissions() & fs::perms::sticky_bit) !=
        fs::perms::none);
}

TEST_CASE("trust: what is not a root-owned executable file is refused") {
  if (!asRoot()) return;
  Tree t;
  auto e = verdict("relative/qemu");
  REQUIRE(e);
  CHECK(e->code() == Errc::InterpreterUntrusted);
  CHECK(messageOf(e).find("not an absolute path") != std::string::npos);

  fs::permissions(t.program, fs::perms(0644));
  e = verdict(t.program);
  REQUIRE(e);
  CHECK(e->code() == Errc::InterpreterUntrusted);
  CHECK(messageOf(e).find(t.program.string() + " is not executable") != std::string::npos);

  e = verdict(t.dir);
  REQUIRE(e);
  CHECK(messageOf(e).find("is not a regular file") != std::string::npos);

  fs::permissions(t.program, fs::perms(0755));
  REQUIRE(::chown(t.program.c_str(), kNobody, kNobody) == 0);
  e = verdict(t.program);
  REQUIRE(e);
  CHECK(e->code() == Errc::InterpreterUntrusted);
  CHECK(messageOf(e).find(t.program.string() + " is owned by uid 65534, not root") !=
        std::string::npos);
  CHECK(messageOf(e).find("'test'") != std::string::npos);
}

TEST_CASE("trust: writable by group or others, the file or any directory, is refused") {
  if (!asRoot()) return;
  Tree t;
  fs::permissions(t.program, fs::perms(0757));
  CHECK(messageOf(verdict(t.program)).find("is writable by others (mode 0757)") !=
        std::string::npos);
  fs::permissions(t.program, fs::perms(0775));
  CHECK(messageOf(verdict(t.program)).find("is writable by its group (mode 0775)") !=
        std::string::npos);
  fs::permissions(t.program, fs::perms(0755));
  fs::permissions(t.dir, fs::perms(0775));
  CHECK(messageOf(verdict(t.program)).find(t.dir.string() + " is writable by its group") !=
        std::string::npos);
  fs::permissions(t.dir, fs::perms(0755));
  REQUIRE(::chown(t.dir.c_str(), kNobody, 0) == 0);
  CHECK(messageOf(verdict(t.program)).find(t.dir.string() + " is owned by uid 65534") !=
        std::string::npos);
}

TEST_CASE("trust: one pass remembers the directories it trusted, never the others") {
  if (!asRoot()) return;
  Tree t;
  engine::TrustedDirs trusted;
  CHECK_NOTHROW(engine::checkInterpreter(entryFor(t.program), false, &trusted));
  CHECK(trusted.count("/") == 1);
  CHECK(trusted.count(t.dir.string()) == 1);
  CHECK(trusted.count(t.program.string()) == 0);  // files are checked every time

  // A group-writable directory beside the trusted one is refused, and stays refused.
  const fs::path open = t.tmp.path / "open";
  fs::create_directories(open);
  fs::permissions(open, fs::perms(0775));
  writeFile(open / "emulator", "#!/bin/sh\n");
  fs::permissions(open / "emulator", fs::perms(0755));
  for (int pass = 0; pass < 2; ++pass) {
    try {
      engine::checkInterpreter(entryFor(open / "emulator"), false, &trusted);
      FAIL("an interpreter in a group-writable directory was trusted");
    } catch (const Error& e) {
      CHECK(std::string(e.what()).find(open.string() + " is writable by its group") !=
            std::string::npos);
    }
  }
  CHECK(trusted.count(open.string()) == 0);
  // The file in a remembered directory is still looked at.
  fs::permissions(t.program, fs::perms(0757));
  CHECK_THROWS_AS(engine::checkInterpreter(entryFor(t.program), false, &trusted), Error);
}

TEST_CASE("trust: symlinks are followed, and every link and directory on the way counts") {
  if (!asRoot()) return;
  Tree t;
  // A root-owned link into a directory someone else owns.
  const fs::path theirs = t.tmp.path / "theirs";
  fs::create_directories(theirs);
  writeFile(theirs / "qemu", "#!/bin/sh\n");
  fs::permissions(theirs / "qemu", fs::perms(0755));
  REQUIRE(::chown(theirs.c_str(), kNobody, kNobody) == 0);
  fs::create_symlink(theirs / "qemu", t.dir / "qemu-binfmt-P");
  CHECK(messageOf(verdict(t.dir / "qemu-binfmt-P")).find(theirs.string() + " is owned by uid 65534") !=
        std::string::npos);
  // A link that someone else owns (and could point elsewhere at any time).
  fs::create_symlink(t.program, t.dir / "their-link");
  REQUIRE(::lchown((t.dir / "their-link").c_str(), kNobody, kNobody) == 0);
  CHECK(messageOf(verdict(t.dir / "their-link")).find("their-link is owned by uid 65534") !=
        std::string::npos);
  // A loop ends.
  fs::create_symlink(t.dir / "loop", t.dir / "loop");
  CHECK(messageOf(verdict(t.dir / "loop")).find("too many levels of symbolic links") !=
        std::string::npos);
}

TEST_CASE("trust: a missing interpreter, allowed only when asked for and without F") {
  if (!asRoot()) return;
  Tree t;
  const fs::path missing = t.dir / "not-installed";
  auto e = verdict(missing);
  REQUIRE(e);
  CHECK(e->code() == Errc::EmulatorNotFound);
  CHECK(messageOf(e).find("\"allowMissingInterpreter\": true") != std::string::npos);
  CHECK_FALSE(verdict(missing, true));
  e = verdict(missing, true, "F");  // the kernel opens an F interpreter at registration
  REQUIRE(e);
  CHECK(e->code() == Errc::EmulatorNotFound);
  // Allowing it missing does not allow it untrusted: the path up to it is still checked.
  fs::permissions(t.dir, fs::perms(0777));
  e = verdict(missing, true);
  REQUIRE(e);
  CHECK(e->code() == Errc::InterpreterUntrusted);
}

TEST_CASE("trust: the engine registers nothing for an untrusted interpreter") {
  if (!asRoot()) return;
  enginetest::Env env;
  Tree t;
  fs::permissions(t.program, fs::perms(0777));
  writeFile(env.mainFile(), R"({"handlers":[{"name":"bad","extension":"bad","interpreter":")" +
                                t.program.string() + R"("},)" +
                                R"({"name":"good","extension":"good","interpreter":"/bin/cat"}]})");
  auto eng = env.make();
  const auto& r = eng.reconcile();
  CHECK(r.result == "partial");
  CHECK(env.kernel.get("bad") == nullptr);
  CHECK(env.kernel.get("good") != nullptr);  // one bad entry does not block the others
  auto s = eng.status();
  const auto* bad = enginetest::findStatus(s, "bad");
  REQUIRE(bad != nullptr);
  CHECK(bad->state == "error");
  CHECK(bad->lastError.find("is writable by others") != std::string::npos);

  // An architecture with an untrusted interpreter override cannot be enabled at all.
  writeFile(env.dropIn("10-arm.json"), R"({"architectures":[{"name":"arm64","enabled":false,)"
                                       R"("interpreter":")" + t.program.string() + R"("}]})");
  eng.reconcile();
  try {
    eng.enable({"arm64"}, false);
    FAIL("enable did not throw");
  } catch (const Error& e) {
    CHECK(e.code() == Errc::InterpreterUntrusted);
  }
  CHECK(env.kernel.get("qemu-aarch64") == nullptr);
  CHECK_FALSE(fs::exists(env.dropIn("50-binfmtctl.json")));
}

TEST_CASE("trust: the C flag is registered only as asked, with a warning") {
  if (!asRoot()) return;
  enginetest::Env env;
  writeFile(env.mainFile(), R"({"handlers":[{"name":"cred","extension":"cred",)"
                            R"("interpreter":"/bin/cat","flags":"C"}]})");
  auto eng = env.make();
  const auto& r = eng.reconcile();
  CHECK(r.result == "ok");
  REQUIRE(r.warnings.size() == 1);
  CHECK(r.warnings[0].find("'cred' has the C flag") == 0);
  CHECK(env.kernel.get("cred")->flags == "OC");
}
