// The verifier's parts without binfmt_misc: what an outcome means (judge), when a cached
// result is reused, the process runner on an sd-event loop, and the Verifier's cache and
// sharing of runs, with shell scripts standing in for the probe programs (they run
// natively, so no emulator is involved).
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cerrno>
#include <filesystem>
#include <fstream>
#include <functional>

#include "verify/process.hpp"
#include "verify/verdict.hpp"
#include "verify/verifier.hpp"

namespace fs = std::filesystem;
using namespace binfmtd::verify;

namespace {

Outcome outcome(Outcome::Kind kind, int value, std::uint64_t elapsed = 31000,
                std::string err = "") {
  Outcome o;
  o.kind = kind;
  o.value = value;
  o.elapsed = elapsed;
  o.stderrText = std::move(err);
  return o;
}

struct TempDir {
  fs::path path;
  TempDir() {
    char name[] = "/tmp/binfmtd-unit-XXXXXX";
    path = mkdtemp(name);
  }
  ~TempDir() { fs::remove_all(path); }
};

void writeScript(const fs::path& file, const std::string& body) {
  const fs::path tmp = file.string() + ".new";
  {
    std::ofstream out(tmp);
    out << "#!/bin/sh\n" << body << "\n";
  }
  fs::permissions(tmp, fs::perms::owner_all);
  fs::rename(tmp, file);  // never exec a file open for writing (ETXTBSY)
}

// An sd-event loop for one test, with SIGCHLD blocked as the daemon's main() does.
struct Loop {
  sd_event* event = nullptr;
  Loop() {
    sigset_t chld;
    sigemptyset(&chld);
    sigaddset(&chld, SIGCHLD);
    sigprocmask(SIG_BLOCK, &chld, nullptr);
    REQUIRE(sd_event_new(&event) >= 0);
  }
  ~Loop() { sd_event_unref(event); }
  // Runs the loop until `done` holds, for at most 10 s.
  bool runUntil(const std::function<bool()>& done) {
    for (int i = 0; i < 1000 && !done(); ++i) sd_event_run(event, 10000);
    return done();
  }
};

}  // namespace

TEST_CASE("judge: what a probe run means") {
  using K = Outcome::Kind;
  SECTION("the expected exit status passes, with the time") {
    const auto v = judge("aarch64", "/usr/bin/qemu-aarch64", outcome(K::Exited, 42, 31400), 42);
    CHECK(v.verification == "passed");
    CHECK(v.detail == "the aarch64 probe exited with 42 in 31 ms");
    CHECK(judge("arm", "/x", outcome(K::Exited, 42, 200), 42).detail ==
          "the arm probe exited with 42 in 1 ms");
  }
  SECTION("another exit status fails, with what the emulator said") {
    const auto v = judge("arm", "/x",
                         outcome(K::Exited, 1, 5000,
                                 "\nqemu_mprotect__osdep: mprotect failed: Operation not "
                                 "permitted\nmore\n"),
                         42);
    CHECK(v.verification == "failed");
    CHECK(v.detail == "the arm probe exited with status 1 instead of 42: qemu_mprotect__osdep: "
                      "mprotect failed: Operation not permitted");
    CHECK(judge("arm", "/x", outcome(K::Exited, 0), 42).detail ==
          "the arm probe exited with status 0 instead of 42");
  }
  SECTION("signals, timeouts and exec errors fail") {
    CHECK(judge("s390x", "/x", outcome(K::Signaled, SIGSEGV), 42) ==
          Verdict{"failed", "the s390x probe was killed by SIGSEGV"});
    CHECK(judge("s390x", "/x", outcome(K::TimedOut, 0, 5000900), 42) ==
          Verdict{"failed", "the s390x probe timed out after 5 s and was killed"});
    CHECK(judge("riscv64", "/x", outcome(K::SpawnFailed, ENOEXEC), 42) ==
          Verdict{"failed", "exec of the riscv64 probe failed: Exec format error (no enabled "
                            "entry matched)"});
    CHECK(judge("riscv64", "/opt/qemu", outcome(K::SpawnFailed, ENOENT), 42) ==
          Verdict{"failed", "exec of the riscv64 probe failed: No such file or directory (the "
                            "interpreter /opt/qemu is missing)"});
    CHECK(judge("riscv64", "/x", outcome(K::SpawnFailed, ENOMEM), 42).detail ==
          "exec of the riscv64 probe failed: Cannot allocate memory");
  }
}

TEST_CASE("firstLine: one clean line of output") {
  CHECK(firstLine("") == "");
  CHECK(firstLine("\n \n") == "");
  CHECK(firstLine("qemu-aarch64 version 7.2.22 (Debian)  \r\nCopyright\n") ==
        "qemu-aarch64 version 7.2.22 (Debian)");
  CHECK(firstLine("a\tb\x1b[31m") == "a b [31m");  // no escape sequence reaches a terminal
  CHECK(firstLine(std::string(500, 'x')).size() == 200);
}

TEST_CASE("reusable: the cache answers for the same definition for 30 s") {
  const Key key{":qemu-aarch64:M::x::/usr/bin/qemu-aarch64-static:PF", "id1"};
  const CachedResult cached{key, {"passed", "..."}, 100 * kUsecPerSec};
  CHECK(reusable(cached, key, 100 * kUsecPerSec));
  CHECK(reusable(cached, key, 129 * kUsecPerSec));
  CHECK_FALSE(reusable(cached, key, 130 * kUsecPerSec));  // too old
  CHECK_FALSE(reusable(cached, Key{key.entry, "id2"}, 101 * kUsecPerSec));  // interpreter changed
  CHECK_FALSE(reusable(cached, Key{key.entry + "x", "id1"}, 101 * kUsecPerSec));  // entry changed
  CHECK_FALSE(reusable(std::nullopt, key, 101 * kUsecPerSec));
}

TEST_CASE("identify: replacing or deleting the interpreter changes its identity") {
  TempDir tmp;
  const fs::path file = tmp.path / "emulator", link = tmp.path / "link";
  writeScript(file, "exit 0");
  fs::create_symlink(file, link);
  const std::string first = identify(link.string());
  CHECK(first.rfind(file.string() + " ", 0) == 0);  // resolved
  CHECK(identify(file.string()) == first);
  writeScript(file, "exit 1");  // a new inode, as a package upgrade makes
  CHECK(identify(link.string()) != first);
  fs::remove(file);
  CHECK(identify(link.string()).rfind("unresolvable: ", 0) == 0);
}

TEST_CASE("Spawner: runs programs from the loop and reports how they ended") {
  Loop loop;
  Spawner spawner(loop.event, 2);
  TempDir tmp;
  std::vector<Spawner::Result> results(6);
  int finished = 0;
  auto collect = [&](std::size_t i) {
    return [&, i](const Spawner::Result& r) {
      results[i] = r;
      ++finished;
    };
  };
  const fs::path env = tmp.path / "env", killed = tmp.path / "killed", loops = tmp.path / "loops";
  writeScript(env, "env; echo oops >&2; exit 42");
  writeScript(killed, "kill -SEGV $$");
  writeScript(loops, "sleep 30");
  spawner.run({{env.string()}, kProbeTimeout, true}, collect(0));
  spawner.run({{killed.string()}, kProbeTimeout, false}, collect(1));
  spawner.run({{loops.string()}, kUsecPerSec / 5, false}, collect(2));  // a short timeout
  spawner.run({{(tmp.path / "missing").string()}, kProbeTimeout, false}, collect(3));
  spawner.run({{"/bin/sh", "-c", "read x; exit $?"}, kProbeTimeout, false}, collect(4));
  spawner.run({{"/bin/sh", "-c", "ls /proc/self/fd"}, kProbeTimeout, true}, collect(5));
  CHECK(finished == 0);  // never called from within run()
  REQUIRE(loop.runUntil([&] { return finished == 6; }));
  CHECK(spawner.started() == 6);

  using K = Outcome::Kind;
  CHECK(results[0].outcome.kind == K::Exited);
  CHECK(results[0].outcome.value == 42);
  CHECK(results[0].stdoutText.find("PATH=") == std::string::npos);  // an empty environment
  CHECK(results[0].outcome.stderrText == "oops\n");
  CHECK(results[1].outcome.kind == K::Signaled);
  CHECK(results[1].outcome.value == SIGSEGV);
  CHECK(results[2].outcome.kind == K::TimedOut);
  CHECK(results[2].outcome.elapsed >= kUsecPerSec / 5);
  CHECK(results[2].outcome.elapsed < 5 * kUsecPerSec);
  CHECK(results[3].outcome.kind == K::SpawnFailed);
  CHECK(results[3].outcome.value == ENOENT);
  CHECK(results[4].outcome.kind == K::Exited);
  CHECK(results[4].outcome.value == 1);  // stdin is /dev/null: read meets end of file
  CHECK(results[5].stdoutText == "0\n1\n2\n3\n");  // nothing of ours leaked but 0-2 (+ ls's own)
}

TEST_CASE("Verifier: caches per definition, shares runs, says why it did not run") {
  Loop loop;
  TempDir tmp;
  const fs::path probes = tmp.path / "probes", interpreter = tmp.path / "qemu-fake";
  fs::create_directories(probes);
  writeScript(probes / "aarch64", "exit 42");
  writeScript(probes / "riscv64", "exit 7");
  writeScript(interpreter, "echo 'qemu-fake version 1.0'; exit 0");
  int runs = 0, versions = 0;
  Verifier verifier(loop.event, probes, 42,
                    {.probed = [&](const Subject&, const Verdict&) { ++runs; },
                     .versionKnown = [&] { ++versions; }});
  Subject arm64{"qemu-aarch64", "aarch64", ":qemu-aarch64:M::a::/x:PF", interpreter.string(), ""};

  SECTION("concurrent calls share one run; a second call within 30 s is answered from the cache") {
    std::vector<Verdict> got;
    auto record = [&](const Verdict& v) { got.push_back(v); };
    verifier.verify(arm64, record);
    verifier.verify(arm64, record);
    CHECK(got.empty());
    CHECK(verifier.view(arm64) == Verdict{"unverified", "the probe has not run yet"});
    REQUIRE(loop.runUntil([&] { return got.size() == 2 && versions == 1; }));
    CHECK(runs == 1);
    CHECK(got[0].verification == "passed");
    CHECK(got[0] == got[1]);
    CHECK(verifier.view(arm64) == got[0]);
    CHECK(verifier.emulatorVersion(interpreter.string()) == "qemu-fake version 1.0");

    verifier.verify(arm64, record);
    CHECK(got.size() == 3);  // at once, from the cache
    CHECK(runs == 1);

    // A changed entry or interpreter makes the result stale: shown as such, and run again.
    Subject changed = arm64;
    changed.entry += "x";
    CHECK(verifier.view(changed).verification == "unverified");
    CHECK(verifier.view(changed).detail.find("changed") != std::string::npos);
    verifier.verify(changed, record);
    REQUIRE(loop.runUntil([&] { return got.size() == 4; }));
    CHECK(runs == 2);
    writeScript(interpreter, "echo 'qemu-fake version 2.0'");
    CHECK(verifier.emulatorVersion(interpreter.string()) == "");  // not for the new file
    verifier.verify(changed, record);
    REQUIRE(loop.runUntil([&] { return got.size() == 5 && versions == 2; }));
    CHECK(runs == 3);
    CHECK(verifier.emulatorVersion(interpreter.string()) == "qemu-fake version 2.0");
  }

  SECTION("a wrong exit status fails") {
    Subject riscv{"qemu-riscv64", "riscv64", ":qemu-riscv64:...", interpreter.string(), ""};
    Verdict got;
    verifier.verify(riscv, [&](const Verdict& v) { got = v; });
    REQUIRE(loop.runUntil([&] { return !got.verification.empty(); }));
    CHECK(got == Verdict{"failed", "the riscv64 probe exited with status 7 instead of 42"});
  }

  SECTION("custom handlers, architectures without a probe and inactive entries do not run") {
    std::vector<Verdict> got;
    auto record = [&](const Verdict& v) { got.push_back(v); };
    verifier.verify({"wine", "", ":wine:M::MZ::/usr/bin/wine:", "/usr/bin/wine", ""}, record);
    verifier.verify({"qemu-sh4", "sh4", ":qemu-sh4:...", interpreter.string(), ""}, record);
    Subject disabled = arm64;
    disabled.inactive = "the entry is disabled";
    verifier.verify(disabled, record);
    REQUIRE(got.size() == 3);  // at once
    CHECK(got[0].verification == "no-probe");
    CHECK(got[0].detail.find("'wine' is not a catalogue architecture's handler") == 0);
    CHECK(got[1].verification == "no-probe");
    CHECK(got[1].detail.find((probes / "sh4").string() + " does not exist") != std::string::npos);
    CHECK(got[2] == Verdict{"unverified", "the entry is disabled"});
    CHECK(runs == 0);
  }

  SECTION("notice runs once per registered entry, and again when it changes") {
    verifier.notice(arm64);
    verifier.notice(arm64);
    REQUIRE(loop.runUntil([&] { return runs == 1; }));
    verifier.notice(arm64);
    sd_event_run(loop.event, 100000);
    CHECK(runs == 1);
    Subject gone = arm64;
    gone.inactive = "the entry is not registered";
    verifier.notice(gone);
    verifier.notice(arm64);  // registered again (a repair): verified again
    REQUIRE(loop.runUntil([&] { return runs == 2; }));
    verifier.renew("qemu-aarch64");  // written again without being seen missing
    verifier.notice(arm64);
    REQUIRE(loop.runUntil([&] { return runs == 3; }));
  }
}

TEST_CASE("isQemu: by the resolved file name") {
  TempDir tmp;
  writeScript(tmp.path / "qemu-aarch64-static", "exit 0");
  writeScript(tmp.path / "box64", "exit 0");
  fs::create_symlink(tmp.path / "qemu-aarch64-static", tmp.path / "aarch64-binfmt-P");
  CHECK(isQemu((tmp.path / "aarch64-binfmt-P").string()));
  CHECK_FALSE(isQemu((tmp.path / "box64").string()));
  CHECK_FALSE(isQemu((tmp.path / "missing").string()));
}
