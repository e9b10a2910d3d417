// binfmtd without D-Bus (`binfmtd --no-bus`), as in a container or on a host without a
// system bus: the same reconcile, healing, verification and logging from the same
// configuration, sd_notify, the status file, and binfmtctl saying plainly what runs. No
// bus exists in these tests: DBUS_SYSTEM_BUS_ADDRESS points at a socket that is not there.
#include <catch2/catch.hpp>

#include <filesystem>
#include <nlohmann/json.hpp>

#include "harness/harness.hpp"
#include "no_bus_status.hpp"

namespace fs = std::filesystem;
using harness::ctl;
using harness::run;
using namespace std::chrono_literals;

namespace {

fs::path arm64Busybox() { return harness::foreignBinaries() / "busybox-arm64"; }

bool prerequisites() {
  if (fs::exists(arm64Busybox()) && fs::exists("/usr/bin/qemu-aarch64-static")) return true;
  if (harness::inCi()) FAIL("arm64 busybox or qemu-user-static missing: run scripts/setup.sh");
  WARN("skipping: arm64 busybox or qemu-user-static missing (run scripts/setup.sh)");
  return false;
}

fs::path entry(const std::string& name) { return harness::Daemon::binfmtDir() / name; }

// No system bus anywhere: every connection attempt fails.
struct NoBus {
  harness::TempDir dir;
  std::string address = "unix:path=" + (dir.path / "no-such-socket").string();
  NoBus() { setenv("DBUS_SYSTEM_BUS_ADDRESS", address.c_str(), 1); }
  ~NoBus() { unsetenv("DBUS_SYSTEM_BUS_ADDRESS"); }
};

// The bus-less daemon's status file, as binfmtctl and the container's health check read it.
nlohmann::json status(const harness::Daemon& d) {
  auto doc = binfmtd::nobus::readRunning(d.runtimeDir());
  REQUIRE(doc.has_value());
  return *doc;
}

const nlohmann::json* handler(const nlohmann::json& doc, const std::string& name) {
  for (const auto& h : doc["handlers"])
    if (h["name"] == name) return &h;
  return nullptr;
}

std::string verification(const harness::Daemon& d, const std::string& name) {
  auto doc = binfmtd::nobus::readRunning(d.runtimeDir());
  if (!doc) return "";
  const auto* h = handler(*doc, name);
  return h == nullptr ? "" : (*h)["verification"].get<std::string>();
}

}  // namespace

TEST_CASE("without --no-bus and without a bus, binfmtd names the address it tried and --no-bus") {
  NoBus noBus;
  harness::TempDir root;
  harness::Daemon d(root.path);
  auto r = run(d.arguments());
  INFO(r.err);
  CHECK(r.exitCode == 1);
  CHECK(r.err.find("Cannot connect to the system bus at " + noBus.address) != std::string::npos);
  CHECK(r.err.find("binfmtd --no-bus") != std::string::npos);
  // Nothing was registered: the daemon stopped before its first reconcile.
  CHECK_FALSE(fs::exists(entry("qemu-aarch64")));
}

TEST_CASE("binfmtd --no-bus reconciles, heals, verifies and reports like the bus daemon") {
  if (!prerequisites()) return;
  NoBus noBus;
  harness::TempDir root;
  harness::Daemon d(root.path);
  harness::writeFile(d.configDir() / "binfmtd.json", R"({"architectures": ["arm64"]})");
  d.start({"--no-bus"});  // READY=1 arrives: sd_notify works without a bus

  // Reconciled at startup, with F so that containers can use the entry.
  REQUIRE(fs::exists(entry("qemu-aarch64")));
  CHECK(harness::readFile(entry("qemu-aarch64")).find("flags: PF") != std::string::npos);
  auto uname = run({arm64Busybox().string(), "uname", "-m"});
  CHECK(uname.out == "aarch64\n");

  // Verified through the entry, as on the bus; the verdict is in the status file.
  REQUIRE(harness::waitFor([&] { return verification(d, "qemu-aarch64") == "passed"; }));
  CHECK(d.log().find("Probe for qemu-aarch64: passed") != std::string::npos);
  auto doc = status(d);
  CHECK(doc["pid"] == d.pid());
  CHECK(doc["last_reconcile"]["result"] == "ok");
  CHECK((*handler(doc, "qemu-aarch64"))["ownership"] == "owned");

  SECTION("a configuration change is applied at once") {
    harness::writeFile(d.configDir() / "conf.d" / "60-riscv.json",
                       R"({"architectures": ["riscv64"]})");
    CHECK(harness::waitFor([] { return fs::exists(entry("qemu-riscv64")); }, 5s));
  }

  SECTION("a foreign flush is healed") {
    harness::writeKernelFile("status", "-1");
    REQUIRE(harness::waitFor([] { return fs::exists(entry("qemu-aarch64")); }, 5s));
    // The entry is back before the daemon logs the repair.
    CHECK(harness::waitFor(
        [&] { return d.log().find("Repaired qemu-aarch64: registered") != std::string::npos; }));
    CHECK(run({arm64Busybox().string(), "uname", "-m"}).out == "aarch64\n");
  }

  SECTION("a bad configuration is reported and costs no working handler") {
    harness::writeFile(d.configDir() / "binfmtd.json", "{\"architectures\": [\"arm64\"]\n]\n");
    REQUIRE(harness::waitFor([&] { return !status(d)["config_errors"].empty(); }, 5s));
    CHECK(status(d)["config_errors"][0].get<std::string>().find("binfmtd.json:2:1:") !=
          std::string::npos);
    CHECK(d.log().find("binfmtd.json:2:1:") != std::string::npos);
    CHECK(fs::exists(entry("qemu-aarch64")));
  }

  SECTION("binfmtctl says plainly that the daemon runs without D-Bus") {
    harness::RunOptions env;
    env.env = {"BINFMTD_STATE_DIR=" + d.runtimeDir().string()};
    auto r = ctl({"status"}, env);
    CHECK(r.exitCode == 3);
    CHECK(r.err.find("binfmtd runs without D-Bus (binfmtd --no-bus, pid " +
                     std::to_string(d.pid()) + ")") != std::string::npos);
    CHECK(r.err.find("last reconcile ok") != std::string::npos);
    // Without the status file binfmtctl cannot know: it says that the bus is missing.
    harness::RunOptions elsewhereEnv;
    elsewhereEnv.env = {"BINFMTD_STATE_DIR=" + root.path.string()};
    auto elsewhere = ctl({"status"}, elsewhereEnv);
    CHECK(elsewhere.exitCode == 3);
    CHECK(elsewhere.err.find("cannot reach the system bus") != std::string::npos);

    // doctor: the kernel side as this shell sees it, the daemon's state from its file.
    auto doctor = ctl({"doctor", "--json"}, env);
    INFO(doctor.out << doctor.err);
    CHECK(doctor.exitCode == 0);
    auto report = nlohmann::json::parse(doctor.out);
    CHECK(report["daemon"]["running"] == false);
    CHECK(report["daemon"]["no_bus"]["pid"] == d.pid());
    bool seen = false;
    for (const auto& e : report["local"]["entries"]) seen = seen || e["name"] == "qemu-aarch64";
    CHECK(seen);
    bool verified = false;
    for (const auto& a : report["architectures"])
      verified = verified || (a["name"] == "aarch64" && a["executes"] == "ok");
    CHECK(verified);
    auto text = ctl({"doctor"}, env);
    CHECK(text.out.find("without D-Bus (binfmtd --no-bus, pid") != std::string::npos);
  }

  SECTION("a second bus-less daemon on the same state directory refuses to start") {
    auto argv = d.arguments();
    argv.push_back("--no-bus");
    auto r = run(argv);
    CHECK(r.exitCode == 1);
    CHECK(r.err.find("Another 'binfmtd --no-bus' runs with the state directory " +
                     d.runtimeDir().string()) != std::string::npos);
    CHECK(status(d)["pid"] == d.pid());  // the first one still holds it
  }

  // Stopping removes the status file, and never an entry.
  d.stop();
  CHECK_FALSE(fs::exists(d.runtimeDir() / binfmtd::nobus::kFileName));
  CHECK(fs::exists(entry("qemu-aarch64")));
}
