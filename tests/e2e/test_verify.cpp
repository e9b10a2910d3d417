// Verified emulation, end to end: binfmtd runs the probe programs (probes/, from the
// build tree) through the entries it registered in a private binfmt_misc instance, with
// Debian's qemu-user-static, and shows the result as Handler properties and through the
// Verify method. Hiding an emulator turns the result to "failed".
#include <catch2/catch.hpp>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <filesystem>
#include <mutex>
#include <nlohmann/json.hpp>
#include <sdbus-c++/sdbus-c++.h>
#include <set>
#include <tuple>

#include "harness/harness.hpp"

namespace fs = std::filesystem;
using harness::ctl;

namespace {

constexpr const char* kBus = "org.binfmtd.Binfmt1";
constexpr const char* kHandlerIface = "org.binfmtd.Binfmt1.Handler";

bool prerequisites() {
  const bool ok = fs::exists("/usr/bin/qemu-aarch64-static") &&
                  fs::exists("/usr/bin/qemu-riscv64-static") &&
                  fs::exists(fs::path(PROBE_DIR) / "aarch64");
  if (!ok) {
    if (harness::inCi()) FAIL("qemu-user-static or the probe programs missing: run scripts/setup.sh");
    WARN("skipping: qemu-user-static or the probe programs missing (run scripts/setup.sh)");
  }
  return ok;
}

// sd_bus_path_encode(): [A-Za-z0-9] kept, every other byte as _xx.
std::string handlerPath(const std::string& name) {
  static const char* hex = "0123456789abcdef";
  std::string path = "/org/binfmtd/Binfmt1/handler/";
  for (unsigned char c : name) {
    if (std::isalnum(c) != 0) {
      path += static_cast<char>(c);
    } else {
      path += '_';
      path += hex[c >> 4];
      path += hex[c & 15];
    }
  }
  return path;
}

using Record = std::tuple<std::string, std::string, std::string>;  // handler, verification, detail

struct Client {
  std::unique_ptr<sdbus::IConnection> connection = sdbus::createSystemBusConnection();
  std::unique_ptr<sdbus::IProxy> manager = sdbus::createProxy(*connection, kBus, "/org/binfmtd/Binfmt1");

  std::vector<Record> verify(const std::vector<std::string>& names) {
    std::vector<sdbus::Struct<std::string, std::string, std::string>> results;
    manager->callMethod("Verify")
        .onInterface("org.binfmtd.Binfmt1.Manager")
        .withArguments(names)
        .storeResultsTo(results);
    std::vector<Record> out;
    for (const auto& r : results) out.emplace_back(r.get<0>(), r.get<1>(), r.get<2>());
    return out;
  }

  // The error name of a Verify call that fails, "" when it succeeds.
  std::string verifyError(const std::vector<std::string>& names) {
    try {
      verify(names);
      return "";
    } catch (const sdbus::Error& e) {
      return e.getName();
    }
  }

  template <typename T>
  T property(const std::string& handler, const std::string& name) {
    auto proxy = sdbus::createProxy(*connection, kBus, handlerPath(handler));
    sdbus::Variant value;
    proxy->callMethod("Get")
        .onInterface("org.freedesktop.DBus.Properties")
        .withArguments(kHandlerIface, name)
        .storeResultsTo(value);
    return value.get<T>();
  }
  std::string text(const std::string& handler, const std::string& name) {
    return property<std::string>(handler, name);
  }

  // Installed, non-native architectures: canonical name -> handler name.
  std::map<std::string, std::string> emulated() {
    std::vector<sdbus::Struct<std::string, std::vector<std::string>, std::string, bool, bool,
                              std::map<std::string, sdbus::Variant>>>
        archs;
    manager->callMethod("ListArchitectures")
        .onInterface("org.binfmtd.Binfmt1.Manager")
        .storeResultsTo(archs);
    std::map<std::string, std::string> out;
    for (const auto& a : archs)
      if (!a.get<2>().empty() && !a.get<4>())
        out[a.get<0>()] = a.get<5>().at("handler").get<std::string>();
    return out;
  }
};

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

// How many probe runs the daemon logged for a handler.
std::size_t probeRuns(const harness::Daemon& daemon, const std::string& handler) {
  const std::string log = daemon.log(), needle = "Probe for " + handler + ":";
  std::size_t n = 0;
  for (std::size_t at = log.find(needle); at != std::string::npos; at = log.find(needle, at + 1))
    ++n;
  return n;
}

void writeConfig(const harness::Daemon& daemon, const std::string& json) {
  harness::writeFile(daemon.configDir() / "binfmtd.json", json);
}

}  // namespace

TEST_CASE("the probe of every architecture whose emulator is installed runs through its entry") {
  if (!prerequisites()) return;
  harness::TempDir tmp;
  harness::TestBus bus;
  harness::Daemon daemon(tmp.path / "root");
  daemon.start();
  Client client;

  const auto emulated = client.emulated();
  REQUIRE(emulated.count("aarch64") == 1);
  REQUIRE(emulated.count("arm") == 1);
  std::vector<std::string> names = {"enable"};
  for (const auto& [arch, handler] : emulated) names.push_back(arch);
  auto enabled = ctl(names);
  INFO(enabled.err);
  REQUIRE(enabled.exitCode == 0);

  // Every registered handler with a probe, in one call.
  const auto results = client.verify({});
  std::set<std::string> verified;
  for (const auto& [handler, verification, detail] : results) {
    INFO(handler << ": " << detail);
    CHECK(verification == "passed");
    CHECK(contains(detail, "exited with 42 in "));
    verified.insert(handler);
  }
  // ... which is every one of them whose architecture has a probe program.
  for (const auto& [arch, handler] : emulated) {
    INFO(arch);
    CHECK(verified.count(handler) == (fs::exists(fs::path(PROBE_DIR) / arch) ? 1u : 0u));
  }
  CHECK(verified.size() >= 25);  // 34 probes; bookworm's QEMU emulates all but x86's

  // The properties, with the QEMU version found on the way and the OCI platform names.
  CHECK(client.text("qemu-aarch64", "Verification") == "passed");
  CHECK(contains(client.text("qemu-aarch64", "VerificationDetail"),
                 "the aarch64 probe exited with 42"));
  CHECK(harness::waitFor([&] {
    return client.text("qemu-aarch64", "EmulatorVersion").rfind("qemu-aarch64 version ", 0) == 0;
  }));
  CHECK(client.text("qemu-riscv64", "EmulatorVersion").rfind("qemu-riscv64 version ", 0) == 0);
  using Names = std::vector<std::string>;
  CHECK(client.property<Names>("qemu-aarch64", "Platforms") == Names{"linux/arm64"});
  const auto armPlatforms = client.property<Names>("qemu-arm", "Platforms");
  CHECK(std::find(armPlatforms.begin(), armPlatforms.end(), "linux/arm/v7") != armPlatforms.end());
  CHECK(client.property<Names>("qemu-ppc64le", "Platforms") == Names{"linux/ppc64le"});

  // Architecture aliases and OCI names select handlers; duplicates give one record.
  const auto arm = client.verify({"linux/arm/v7", "armhf", "arm64"});
  REQUIRE(arm.size() == 2);
  CHECK(std::get<0>(arm[0]) == "qemu-arm");
  CHECK(std::get<1>(arm[0]) == "passed");
  CHECK(std::get<0>(arm[1]) == "qemu-aarch64");

  // Unknown and malformed names.
  CHECK(client.verifyError({"no-such-thing"}) == "org.binfmtd.Binfmt1.Error.NoSuchHandler");
  CHECK(client.verifyError({"../x"}) == "org.binfmtd.Binfmt1.Error.NoSuchHandler");
  CHECK(client.verifyError(std::vector<std::string>(300, "arm64")) ==
        "org.freedesktop.DBus.Error.InvalidArgs");

  // Within 30 s of the last run a Verify answers from the cache: no new probe run.
  const std::size_t runs = probeRuns(daemon, "qemu-aarch64");
  REQUIRE(runs >= 1);
  const std::string detail = client.text("qemu-aarch64", "VerificationDetail");
  const auto again = client.verify({"arm64"});
  REQUIRE(again.size() == 1);
  CHECK(std::get<2>(again[0]) == detail);
  CHECK(probeRuns(daemon, "qemu-aarch64") == runs);

  // Removed by another program and registered again by a repair: verified again, though
  // the entry is the same as before.
  harness::writeKernelFile("qemu-aarch64", "-1");
  CHECK(harness::waitFor([&] { return probeRuns(daemon, "qemu-aarch64") > runs; }));
  CHECK(client.text("qemu-aarch64", "Verification") == "passed");

  // Non-root callers may verify too (the cache bounds what they can make binfmtd do).
  auto asNobody = harness::run({"busctl", "--system", "call", kBus, "/org/binfmtd/Binfmt1",
                                "org.binfmtd.Binfmt1.Manager", "Verify", "as", "1", "arm64"},
                               harness::asUser("65534"));
  INFO(asNobody.err);
  CHECK(asNobody.exitCode == 0);
  CHECK(contains(asNobody.out, "\"passed\""));

  // Disabled in the configuration: no longer registered, so not verified.
  REQUIRE(ctl({"disable", "riscv64"}).exitCode == 0);
  const auto riscv = client.verify({"riscv64"});
  REQUIRE(riscv.size() == 1);
  CHECK(std::get<1>(riscv[0]) == "unverified");
  CHECK(contains(std::get<2>(riscv[0]), "not registered"));
  CHECK(client.text("qemu-riscv64", "Verification") == "unverified");
}

TEST_CASE("hiding the emulator turns the verification red; custom and disabled entries") {
  if (!prerequisites()) return;
  harness::TempDir tmp;
  harness::TestBus bus;

  // A root-owned copy of the emulator, registered without F: the kernel opens it at every
  // exec, so removing it "uninstalls" the emulator for this entry.
  const fs::path emulator = tmp.path / "emulators" / "qemu-riscv64";
  fs::create_directories(emulator.parent_path());
  fs::copy_file("/usr/bin/qemu-riscv64-static", emulator);
  fs::permissions(emulator, fs::perms::owner_all | fs::perms::group_read | fs::perms::group_exec |
                                fs::perms::others_read | fs::perms::others_exec);

  harness::Daemon daemon(tmp.path / "root");
  writeConfig(daemon, R"({
    "healing": {"enabled": false},
    "architectures": [{"name": "riscv64", "interpreter": ")" + emulator.string() +
                          R"(", "flags": "P"}],
    "handlers": [{"name": "bfmtest", "magic": "BFTEST", "interpreter": "/bin/cat"}]
  })");
  daemon.start();
  Client client;

  auto handler = sdbus::createProxy(*client.connection, kBus, handlerPath("qemu-riscv64"));
  std::mutex mutex;
  std::vector<std::string> seen;  // Verification values announced by PropertiesChanged
  handler->uponSignal("PropertiesChanged")
      .onInterface("org.freedesktop.DBus.Properties")
      .call([&](const std::string& iface, const std::map<std::string, sdbus::Variant>&,
                const std::vector<std::string>& invalidated) {
        (void)invalidated;
        if (iface != kHandlerIface) return;
        std::lock_guard lock(mutex);
        seen.push_back("changed");
      });
  handler->finishRegistration();
  client.connection->enterEventLoopAsync();
  auto announced = [&] {
    std::lock_guard lock(mutex);
    return seen.size();
  };

  // Verified on its own after the startup reconcile registered it; READY did not wait.
  REQUIRE(harness::waitFor([&] { return client.text("qemu-riscv64", "Verification") == "passed"; }));
  CHECK(client.text("qemu-riscv64", "EmulatorVersion").rfind("qemu-riscv64 version ", 0) == 0);

  // Gone: the probe's exec fails, and the sentence says why.
  const std::size_t before = announced();
  fs::remove(emulator);
  const auto hidden = client.verify({"riscv64"});
  REQUIRE(hidden.size() == 1);
  CHECK(std::get<1>(hidden[0]) == "failed");
  INFO(std::get<2>(hidden[0]));
  CHECK(contains(std::get<2>(hidden[0]), "No such file or directory"));
  CHECK(contains(std::get<2>(hidden[0]), "the interpreter " + emulator.string() + " is missing"));
  CHECK(client.text("qemu-riscv64", "Verification") == "failed");
  CHECK(harness::waitFor([&] { return announced() > before; }));

  // Replaced by something that is not the emulator: it runs, but the probe does not.
  harness::writeFile(emulator, "#!/bin/sh\nexit 3\n");
  fs::permissions(emulator, fs::perms::owner_all | fs::perms::group_read | fs::perms::group_exec |
                                fs::perms::others_read | fs::perms::others_exec);
  const auto fake = client.verify({"qemu-riscv64"});
  REQUIRE(fake.size() == 1);
  CHECK(std::get<1>(fake[0]) == "failed");
  CHECK(contains(std::get<2>(fake[0]), "exited with status 3 instead of 42"));

  // Installed again: the changed file is noticed at once, without waiting 30 s.
  fs::remove(emulator);
  fs::copy_file("/usr/bin/qemu-riscv64-static", emulator);
  const auto back = client.verify({"riscv64"});
  REQUIRE(back.size() == 1);
  CHECK(std::get<1>(back[0]) == "passed");

  // A custom handler has no probe.
  const auto custom = client.verify({"bfmtest"});
  REQUIRE(custom.size() == 1);
  CHECK(std::get<1>(custom[0]) == "no-probe");
  CHECK(client.text("bfmtest", "Verification") == "no-probe");
  CHECK(client.property<std::vector<std::string>>("bfmtest", "Platforms").empty());
  CHECK(client.text("bfmtest", "EmulatorVersion").empty());

  // Disabled in the kernel (healing is off, so it stays so): not run.
  harness::writeKernelFile("qemu-riscv64", "0");
  const auto disabled = client.verify({"riscv64"});
  REQUIRE(disabled.size() == 1);
  CHECK(std::get<1>(disabled[0]) == "unverified");
  CHECK(contains(std::get<2>(disabled[0]), "disabled"));
  // Without names, only registered handlers with a probe are verified (the entries the
  // first test case left in the instance are among them: binfmtd leaves them registered).
  std::set<std::string> all;
  for (const auto& r : client.verify({})) all.insert(std::get<0>(r));
  CHECK(all.count("qemu-riscv64") == 1);
  CHECK(all.count("bfmtest") == 0);
  client.connection->leaveEventLoop();
}
