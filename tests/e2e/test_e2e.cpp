// End to end: binfmtd + binfmtctl + Debian's qemu-user-static + a real arm64 binary, in a
// private binfmt_misc instance and on a private system bus. The user story, step by step.
#include <catch2/catch.hpp>
#include <unistd.h>
#include <cerrno>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "harness/harness.hpp"

namespace fs = std::filesystem;
using harness::ctl;
using harness::run;

namespace {

// busybox-static:arm64 from Debian, fetched by scripts/setup.sh.
fs::path arm64Busybox() { return harness::foreignBinaries() / "busybox-arm64"; }

bool prerequisites() {
  bool ok = fs::exists(arm64Busybox()) && fs::exists("/usr/bin/qemu-aarch64-static");
  if (!ok) {
    if (harness::inCi()) FAIL("arm64 busybox or qemu-user-static missing: run scripts/setup.sh");
    WARN("skipping: arm64 busybox or qemu-user-static missing (run scripts/setup.sh)");
  }
  return ok;
}

nlohmann::json statusJson() {
  auto r = ctl({"status", "--json"});
  INFO(r.err);
  return nlohmann::json::parse(r.out);
}

}  // namespace

TEST_CASE("binfmtctl enable arm64 makes arm64 binaries run, and it stays that way") {
  if (!prerequisites()) return;
  harness::TempDir tmp;
  harness::TestBus bus;

  // A chroot that holds nothing but the foreign binary: no qemu inside, so only a
  // handler registered with F (interpreter opened at registration) can run it.
  const fs::path jail = tmp.path / "jail";
  fs::create_directories(jail);
  fs::copy_file(arm64Busybox(), jail / "busybox");
  const std::string busybox = (jail / "busybox").string();

  // Someone else's entry, registered before binfmtd starts: it must survive everything.
  if (!fs::exists(harness::Daemon::binfmtDir() / "someone-else"))
    harness::registerEntry(":someone-else:E::foreign::/bin/cat:");

  auto before = run({busybox, "uname", "-m"});
  REQUIRE(before.execErrno == ENOEXEC);  // "Exec format error"

  harness::Daemon daemon(tmp.path / "root");
  daemon.start();

  SECTION("enable, run, chroot, persist, restart, break the config, disable") {
    auto enabled = ctl({"enable", "arm64"});
    INFO(enabled.err);
    REQUIRE(enabled.exitCode == 0);
    CHECK(enabled.out.find("qemu-aarch64: registered") != std::string::npos);

    auto native = run({busybox, "uname", "-m"});
    REQUIRE(native.execErrno == 0);
    CHECK(native.out == "aarch64\n");

    auto jailed = run({"/busybox", "echo", "hello from a chroot"}, harness::inChroot(jail));
    INFO(jailed.err);
    REQUIRE(jailed.execErrno == 0);
    CHECK(jailed.out == "hello from a chroot\n");

    // The kernel entry: Debian's interpreter, F for the chroot, P for argv[0].
    const std::string entry = harness::readFile(harness::Daemon::binfmtDir() / "qemu-aarch64");
    CHECK(entry.find("enabled\n") == 0);
    CHECK(entry.find("flags: PF\n") != std::string::npos);

    // Persisted where binfmtctl writes.
    const auto control = daemon.configDir() / "conf.d" / "50-binfmtctl.json";
    auto saved = nlohmann::json::parse(harness::readFile(control));
    CHECK(saved["architectures"].dump().find("aarch64") != std::string::npos);

    // A restart re-applies the same config with zero writes to binfmt_misc.
    daemon.stop();
    daemon.start();
    auto status = statusJson();
    CHECK(status["LastReconcileResult"] == "ok");
    CHECK(status["LastReconcileWrites"] == 0);
    CHECK(run({busybox, "true"}).exitCode == 0);

    // A broken drop-in: reported with file and line, and arm64 keeps working.
    harness::writeFile(daemon.configDir() / "conf.d" / "60-broken.json",
                       "{\n  \"architectures\": [\"riscv64\",]\n}\n");
    REQUIRE(harness::waitFor([] { return !statusJson()["ConfigErrors"].empty(); }));
    auto human = ctl({"status"});
    CHECK(human.exitCode == 1);
    CHECK(human.out.find("60-broken.json:2:") != std::string::npos);
    CHECK(run({busybox, "true"}).exitCode == 0);

    // Breaking the very file that enables arm64 does not cost the handler either.
    harness::writeFile(control, "{ \"architectures\": [ \"aarch64\" \n");
    REQUIRE(harness::waitFor([&] {
      const auto status = statusJson();  // (a temporary would dangle in the range-for)
      for (const auto& e : status["ConfigErrors"])
        if (e.get<std::string>().find("50-binfmtctl.json") != std::string::npos) return true;
      return false;
    }));
    CHECK(run({busybox, "true"}).exitCode == 0);
    CHECK(fs::exists(harness::Daemon::binfmtDir() / "qemu-aarch64"));
    harness::writeFile(control, saved.dump());
    fs::remove(daemon.configDir() / "conf.d" / "60-broken.json");
    REQUIRE(harness::waitFor([] { return statusJson()["ConfigErrors"].empty(); }));

    auto disabled = ctl({"disable", "arm64"});
    INFO(disabled.err);
    REQUIRE(disabled.exitCode == 0);
    CHECK(run({busybox, "true"}).execErrno == ENOEXEC);
    CHECK(harness::readFile(control).find("\"enabled\": false") != std::string::npos);

    // The foreign entry is untouched and listed as such.
    CHECK(fs::exists(harness::Daemon::binfmtDir() / "someone-else"));
    auto list = ctl({"list"});
    CHECK(list.out.find("someone-else") != std::string::npos);
    CHECK(list.out.find("foreign") != std::string::npos);
  }

  SECTION("--runtime writes under /run only") {
    auto enabled = ctl({"enable", "--runtime", "linux/arm64"});
    INFO(enabled.err);
    REQUIRE(enabled.exitCode == 0);
    CHECK(run({busybox, "true"}).exitCode == 0);
    CHECK(fs::exists(daemon.runtimeDir() / "conf.d" / "50-binfmtctl.runtime.json"));
    CHECK_FALSE(fs::exists(daemon.configDir() / "conf.d" / "50-binfmtctl.json"));
    // A reboot forgets /run: modelled by deleting it, after which the entry goes away.
    fs::remove(daemon.runtimeDir() / "conf.d" / "50-binfmtctl.runtime.json");
    REQUIRE(harness::waitFor([&] { return run({busybox, "true"}).execErrno == ENOEXEC; }));
  }

  daemon.stop();
  // Stopping binfmtd leaves the kernel table alone: its own entries and everyone else's.
  CHECK(fs::exists(harness::Daemon::binfmtDir() / "someone-else"));
}

TEST_CASE("binfmtd --apply and binfmtd-apply reconcile once without a bus") {
  if (!prerequisites()) return;
  harness::TempDir tmp;
  harness::Daemon tree(tmp.path / "root");
  harness::writeFile(tree.configDir() / "binfmtd.json", R"({"architectures": ["arm64"]})");
  auto daemonArgs = tree.arguments();
  daemonArgs.push_back("--apply");
  auto toolArgs = tree.arguments();
  toolArgs[0] = BINFMTD_APPLY_BIN;
  // Either spelling, then the other: they share the ownership record.
  for (const auto& [first, second] :
       {std::pair(daemonArgs, toolArgs), std::pair(toolArgs, daemonArgs)}) {
    INFO(first[0]);
    harness::writeFile(tree.configDir() / "binfmtd.json", R"({"architectures": ["arm64"]})");
    auto applied = run(first);
    INFO(applied.err);
    REQUIRE(applied.exitCode == 0);
    CHECK(fs::exists(harness::Daemon::binfmtDir() / "qemu-aarch64"));

    auto again = run(second);
    CHECK(again.exitCode == 0);
    CHECK(again.err.find("0 write(s)") != std::string::npos);

    harness::writeFile(tree.configDir() / "binfmtd.json", R"({"architectures": []})");
    auto removed = run(second);
    CHECK(removed.exitCode == 0);
    CHECK_FALSE(fs::exists(harness::Daemon::binfmtDir() / "qemu-aarch64"));
  }
}

// What makes binfmtd-apply start fast: none of the daemon's libraries.
TEST_CASE("binfmtd-apply needs neither libsdbus-c++, libsystemd nor libstdc++") {
  auto needed = run({"readelf", "--dynamic", BINFMTD_APPLY_BIN});
  INFO(needed.err);
  REQUIRE(needed.exitCode == 0);
  CHECK(needed.out.find("libc.so") != std::string::npos);  // readelf did list NEEDED
  for (const char* lib : {"libsdbus-c++", "libsystemd", "libstdc++"}) {
    INFO(lib);
    CHECK(needed.out.find(lib) == std::string::npos);
  }
}

TEST_CASE("an interpreter or a config file someone else controls is refused, by name") {
  harness::TempDir tmp;
  harness::TestBus bus;
  harness::Daemon daemon(tmp.path / "root");
  // An emulator in a directory that uid 65534 owns: they could swap it at any time.
  const fs::path theirs = tmp.path / "theirs";
  fs::create_directories(theirs);
  harness::writeFile(theirs / "emulator", "#!/bin/sh\n");
  fs::permissions(theirs / "emulator", fs::perms(0755));
  REQUIRE(::chown(theirs.c_str(), 65534, 65534) == 0);
  harness::writeFile(daemon.configDir() / "binfmtd.json",
                     R"({"handlers":[{"name":"evil","extension":"evil","enabled":false,)"
                     R"("interpreter":")" + (theirs / "emulator").string() + R"("}]})");
  // A drop-in given away to another user: not used at all.
  const fs::path dropIn = daemon.configDir() / "conf.d" / "60-given-away.json";
  harness::writeFile(dropIn, R"({"architectures":["arm64"]})");
  REQUIRE(::chown(dropIn.c_str(), 65534, 65534) == 0);
  daemon.start();

  auto r = ctl({"enable", "evil"});
  CHECK(r.exitCode == 12);  // InterpreterUntrusted
  CHECK(r.err.find("Refusing interpreter '" + (theirs / "emulator").string() + "' for 'evil': " +
                   theirs.string() + " is owned by uid 65534, not root") != std::string::npos);
  CHECK_FALSE(fs::exists(harness::Daemon::binfmtDir() / "evil"));
  auto status = ctl({"status"});
  CHECK(status.out.find(dropIn.string() + ": not used: owned by uid 65534, not root") !=
        std::string::npos);
  CHECK_FALSE(fs::exists(harness::Daemon::binfmtDir() / "qemu-aarch64"));
  daemon.stop();
}
