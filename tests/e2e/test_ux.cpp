// binfmtctl's user-facing side: doctor (with binfmtd, without it, with binfmt_misc
// unmounted here, against a binfmtd that verifies and one too old to), monitor, per-command
// help and colour. In a private binfmt_misc instance and on a private system bus.
#include <catch2/catch.hpp>
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <sdbus-c++/sdbus-c++.h>
#include <sstream>

#include "harness/harness.hpp"

namespace fs = std::filesystem;
using harness::ctl;
using harness::run;
using nlohmann::json;

namespace {

bool qemuInstalled() {
  bool ok = fs::exists("/usr/bin/qemu-aarch64-static");
  if (!ok) {
    if (harness::inCi()) FAIL("qemu-user-static is missing: run scripts/setup.sh");
    WARN("skipping: qemu-user-static is missing (run scripts/setup.sh)");
  }
  return ok;
}

harness::RunOptions withEnv(std::string variable) {
  harness::RunOptions o;
  o.env.push_back(std::move(variable));
  return o;
}

json doctorJson(const harness::RunOptions& options = {}) {
  auto r = ctl({"doctor", "--json"}, options);
  INFO(r.err);
  return json::parse(r.out);
}

const json* findArch(const json& doctor, const std::string& name) {
  for (const auto& a : doctor["architectures"])
    if (a["name"] == name) return &a;
  return nullptr;
}

bool hasText(const json& findings, const std::string& part) {
  for (const auto& f : findings)
    if (f["text"].get<std::string>().find(part) != std::string::npos) return true;
  return false;
}

// A program running in the background (binfmtctl monitor) whose output is collected.
class Background {
 public:
  explicit Background(std::vector<std::string> argv) {
    int out[2], err[2];
    if (pipe2(out, O_CLOEXEC) != 0 || pipe2(err, O_CLOEXEC) != 0) throw std::runtime_error("pipe");
    pid_ = fork();
    if (pid_ == 0) {
      dup2(out[1], 1);
      dup2(err[1], 2);
      std::vector<char*> args;
      for (auto& a : argv) args.push_back(a.data());
      args.push_back(nullptr);
      execv(args[0], args.data());
      _exit(127);
    }
    close(out[1]);
    close(err[1]);
    out_ = out[0];
    err_ = err[0];
    fcntl(out_, F_SETFL, O_NONBLOCK);
    fcntl(err_, F_SETFL, O_NONBLOCK);
  }
  ~Background() {
    if (pid_ > 0) stop();
    close(out_);
    close(err_);
  }
  /// Waits (bounded) until what it printed on stdout / stderr satisfies `check`.
  bool waitOut(const std::function<bool(const std::string&)>& check) {
    return harness::waitFor([&] { return drain(), check(out); });
  }
  bool waitErr(const std::string& part) {
    return harness::waitFor([&] { return drain(), err.find(part) != std::string::npos; });
  }
  /// SIGTERM, then the exit status (-1 if killed by a signal).
  int stop() {
    kill(pid_, SIGTERM);
    int status = 0;
    waitpid(pid_, &status, 0);
    pid_ = -1;
    drain();
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  }
  std::string out, err;

 private:
  void drain() {
    char buf[4096];
    ssize_t n;
    while ((n = read(out_, buf, sizeof buf)) > 0) out.append(buf, static_cast<std::size_t>(n));
    while ((n = read(err_, buf, sizeof buf)) > 0) err.append(buf, static_cast<std::size_t>(n));
  }
  pid_t pid_ = -1;
  int out_ = -1, err_ = -1;
};

// A stand-in for binfmtd on the test bus, with one registered handler (qemu-aarch64,
// interpreter /bin/true), to show how binfmtctl renders verification: with a Verify
// method that returns `verdict` (and the Handler's Verification properties), or, when
// `verdict` is empty, without them, as a binfmtd from before verified emulation.
class FakeBinfmtd {
 public:
  explicit FakeBinfmtd(std::string verdict, std::string detail = "", bool enabled = true)
      : verdict_(std::move(verdict)), detail_(std::move(detail)) {
    using Arch = sdbus::Struct<std::string, std::vector<std::string>, std::string, bool, bool,
                               std::map<std::string, sdbus::Variant>>;
    using Handler = sdbus::Struct<std::string, std::string, std::string, std::string, std::string,
                                  bool, sdbus::ObjectPath>;
    const char* m = "org.binfmtd.Binfmt1.Manager";
    const char* h = "org.binfmtd.Binfmt1.Handler";
    const sdbus::ObjectPath handlerPath("/org/binfmtd/Binfmt1/handler/qemu_2daarch64");
    bus_ = sdbus::createSystemBusConnection();
    manager_ = sdbus::createObject(*bus_, "/org/binfmtd/Binfmt1");
    manager_->registerMethod("ListArchitectures").onInterface(m).implementedAs([] {
      std::map<std::string, sdbus::Variant> extra{
          {"handler", sdbus::Variant(std::string("qemu-aarch64"))},
          {"oci-platforms", sdbus::Variant(std::vector<std::string>{"linux/arm64"})},
          {"default-flags", sdbus::Variant(std::string("PF"))},
          {"configured", sdbus::Variant(true)}};
      return std::vector<Arch>{Arch("aarch64", std::vector<std::string>{"arm64"}, "/bin/true",
                                    false, false, extra)};
    });
    manager_->registerMethod("ListHandlers").onInterface(m).implementedAs([handlerPath, enabled] {
      return std::vector<Handler>{Handler("qemu-aarch64", "aarch64", "/bin/true", "owned",
                                          enabled ? "registered" : "disabled", enabled, handlerPath)};
    });
    if (!verdict_.empty()) {
      manager_->registerMethod("Verify").onInterface(m).implementedAs(
          [this](const std::vector<std::string>&) {
            return std::vector<sdbus::Struct<std::string, std::string, std::string>>{
                {"qemu-aarch64", verdict_, detail_}};
          });
    }
    const std::string dir = harness::Daemon::binfmtDir().string();
    auto prop = [&](sdbus::IObject& o, const char* iface, const char* name, auto value) {
      o.registerProperty(name).onInterface(iface).withGetter([value] { return value; });
    };
    prop(*manager_, m, "Version", std::string("0-fake"));
    prop(*manager_, m, "BinfmtMiscPath", dir);
    prop(*manager_, m, "Mounted", true);
    prop(*manager_, m, "GlobalEnabled", true);
    prop(*manager_, m, "ConfigFiles", std::vector<std::string>{});
    prop(*manager_, m, "ConfigErrors", std::vector<std::string>{});
    prop(*manager_, m, "LastReconcileTime", uint64_t{0});
    prop(*manager_, m, "LastReconcileResult", std::string("ok"));
    prop(*manager_, m, "LastReconcileWrites", uint32_t{0});
    prop(*manager_, m, "LastReconcileErrors", std::vector<std::string>{});
    manager_->addObjectManager();
    manager_->finishRegistration();

    handler_ = sdbus::createObject(*bus_, handlerPath);
    for (auto [name, value] : std::map<const char*, std::string>{
             {"Name", "qemu-aarch64"}, {"Architecture", "aarch64"}, {"Interpreter", "/bin/true"},
             {"Flags", "PF"}, {"Type", "magic"}, {"Extension", ""}, {"Ownership", "owned"},
             {"State", enabled ? "registered" : "disabled"}, {"LastError", ""}, {"ShadowedBy", ""}, {"SourceFile", ""}})
      prop(*handler_, h, name, value);
    prop(*handler_, h, "Offset", uint32_t{0});
    prop(*handler_, h, "Magic", std::vector<uint8_t>{0x7f, 'E', 'L', 'F'});
    prop(*handler_, h, "Mask", std::vector<uint8_t>{});
    prop(*handler_, h, "Enabled", enabled);
    prop(*handler_, h, "Priority", int32_t{0});
    if (!verdict_.empty()) {
      prop(*handler_, h, "Platforms", std::vector<std::string>{"linux/arm64"});
      prop(*handler_, h, "Verification", verdict_);
      prop(*handler_, h, "VerificationDetail", detail_);
      prop(*handler_, h, "EmulatorVersion", std::string("qemu-aarch64 version 7.2.19"));
    }
    handler_->finishRegistration();
    bus_->requestName("org.binfmtd.Binfmt1");  // last, as binfmtd does
    bus_->enterEventLoopAsync();
    // The kernel side to match: the same entry in the private instance.
    // QEMU's aarch64 magic and mask: a shorter magic would take this host's own binaries.
    harness::registerEntry(
        ":qemu-aarch64:M::\\x7fELF\\x02\\x01\\x01\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x02\\x00\\xb7\\x00"
        ":\\xff\\xff\\xff\\xff\\xff\\xff\\xff\\x00\\xff\\xff\\xff\\xff\\xff\\xff\\xff\\xff\\xfe\\xff\\xff\\xff"
        ":/bin/true:PF");
    if (!enabled) harness::writeKernelFile("qemu-aarch64", "0");
  }
  ~FakeBinfmtd() {
    bus_->leaveEventLoop();
    harness::writeKernelFile("qemu-aarch64", "-1");
  }

 private:
  std::string verdict_, detail_;
  std::unique_ptr<sdbus::IConnection> bus_;
  std::unique_ptr<sdbus::IObject> manager_, handler_;
};

}  // namespace

TEST_CASE("doctor in a private instance: the four stages of an enabled architecture") {
  if (!qemuInstalled()) return;
  harness::TempDir tmp;
  harness::TestBus bus;
  harness::Daemon daemon(tmp.path / "root");
  daemon.start();
  REQUIRE(ctl({"enable", "arm64"}).exitCode == 0);

  auto text = ctl({"doctor"});
  INFO(text.out << text.err);
  CHECK(text.exitCode == 0);
  CHECK(text.out.find("No problem found.") != std::string::npos);
  CHECK(text.out.find("not the initial one") != std::string::npos);  // private-binfmt's userns

  const json d = doctorJson();
  INFO(d.dump(2));
  CHECK(d["ok"] == true);
  CHECK(d["local"]["initial_user_namespace"] == false);
  CHECK(d["local"]["binfmt_misc_path"] == harness::Daemon::binfmtDir().string());
  CHECK(d["daemon"]["running"] == true);
  CHECK(d["daemon"]["mounted"] == true);
  CHECK(d["problems"].empty());
  const json* arm64 = findArch(d, "aarch64");
  REQUIRE(arm64 != nullptr);
  CHECK((*arm64)["handler"] == "qemu-aarch64");
  CHECK((*arm64)["configured"] == true);
  CHECK((*arm64)["registered"] == "ok");
  CHECK((*arm64)["enabled"] == "ok");
  CHECK((*arm64)["interpreter"] == "ok");
  CHECK((*arm64)["static"] == true);
  // The real binfmtd ran the arm64 probe through the entry (Verify).
  CHECK(d["daemon"]["verify"] == "ran");
  CHECK((*arm64)["executes"] == "ok");
  CHECK((*arm64)["verification"] == "passed");
  CHECK(ctl({"status"}).out.find(" verification: 1 passed") != std::string::npos);
  CHECK(ctl({"show", "arm64"}).out.find("     Verified: passed") != std::string::npos);
  // An architecture with an emulator but not enabled: listed, not a problem.
  const json* riscv = findArch(d, "riscv64");
  if (fs::exists("/usr/bin/qemu-riscv64-static")) {
    REQUIRE(riscv != nullptr);
    CHECK((*riscv)["registered"] == "none");
    CHECK((*riscv)["interpreter"] == "ok");
  }

  // Leave the private instance as it was for the next test.
  REQUIRE(ctl({"disable", "arm64"}).exitCode == 0);
  daemon.stop();
}

TEST_CASE("doctor without binfmtd: the local part, the sentence and the fix") {
  harness::TempDir tmp;
  harness::TestBus bus;
  // An entry as tonistiigi/binfmt leaves it: qemu-*, F, interpreter from an image that is
  // not on this host's disk.
  const fs::path interpreter = tmp.path / "qemu-xtest";
  fs::copy_file("/bin/true", interpreter);
  harness::registerEntry(":qemu-xtest:E::xtest::" + interpreter.string() + ":F");
  fs::remove(interpreter);

  auto text = ctl({"doctor"});
  INFO(text.out << text.err);
  CHECK(text.exitCode == 3);
  CHECK(text.out.find("This shell") != std::string::npos);
  CHECK(text.out.find("problem: binfmtd is not running") != std::string::npos);
  CHECK(text.out.find("fix: systemctl enable --now binfmtd") != std::string::npos);
  CHECK(text.out.find("qemu-xtest: registered from a container image") != std::string::npos);

  const json d = doctorJson();
  INFO(d.dump(2));
  CHECK(d["daemon"]["running"] == false);
  CHECK(d["ok"] == false);
  CHECK(d["local"]["binfmt_misc_path"] == harness::Daemon::binfmtDir().string());
  CHECK(d["managers"]["containers"]["entries"] == json::array({"qemu-xtest"}));
  bool listed = false;
  for (const auto& e : d["local"]["entries"])
    if (e["name"] == "qemu-xtest") listed = e["from_container"] == true && e["interpreter_exists"] == false;
  CHECK(listed);
  harness::writeKernelFile("qemu-xtest", "-1");
}

TEST_CASE("doctor recognises WSL: its kernel and its WSLInterop entry") {
  harness::TempDir tmp;
  harness::registerEntry(":WSLInterop:M::MZ::/init:P");
  // A WSL2 kernel's osrelease, bound over the real one in a further mount namespace.
  harness::writeFile(tmp.path / "osrelease", "5.15.167.4-microsoft-standard-WSL2\n");
  const std::string script = "mount --bind " + (tmp.path / "osrelease").string() +
                             " /proc/sys/kernel/osrelease && exec " + BINFMTCTL_BIN +
                             " doctor --json";
  auto r = run({"unshare", "--mount", "sh", "-c", script});
  INFO(r.err);
  const json d = json::parse(r.out);
  CHECK(d["wsl"]["detected"] == true);
  CHECK(d["wsl"]["microsoft_kernel"] == true);
  CHECK(d["wsl"]["interop_entries"] == json::array({"WSLInterop"}));
  // And without the WSL kernel, the entry alone still says WSL.
  const json plain = doctorJson();
  CHECK(plain["wsl"]["microsoft_kernel"] == false);
  CHECK(plain["wsl"]["detected"] == true);
  harness::writeKernelFile("WSLInterop", "-1");
  CHECK(doctorJson()["wsl"]["detected"] == false);
}

TEST_CASE("doctor with binfmt_misc unmounted here, and where binfmtd manages it") {
  harness::TempDir tmp;
  harness::TestBus bus;
  const std::string dir = harness::Daemon::binfmtDir().string();

  SECTION("binfmtd has it mounted, this shell does not") {
    harness::Daemon daemon(tmp.path / "root");
    daemon.start();
    // A further mount namespace in which the instance is unmounted: the entries live on
    // (binfmtd's mount holds them), only this shell cannot see them.
    const std::string script = "umount " + dir + " && exec " + BINFMTCTL_BIN + " doctor \"$@\"";
    auto text = run({"unshare", "--mount", "sh", "-c", script, "sh"});
    INFO(text.out << text.err);
    CHECK(text.exitCode == 0);
    CHECK(text.out.find("binfmt_misc:     not mounted") != std::string::npos);
    CHECK(text.out.find("note: binfmt_misc is not mounted in this shell's mount namespace") !=
          std::string::npos);
    CHECK(text.out.find("to change it: sudo mount -t binfmt_misc binfmt_misc /proc/sys/fs/binfmt_misc") !=
          std::string::npos);
    auto j = run({"unshare", "--mount", "sh", "-c", script, "sh", "--json"});
    const json d = json::parse(j.out);
    CHECK(d["local"]["binfmt_misc_path"].is_null());
    CHECK(d["daemon"]["mounted"] == true);
    CHECK(hasText(d["notes"], "is not mounted in this shell's mount namespace"));
  }

  SECTION("binfmtd cannot mount it") {
    // binfmtd pointed at a directory that does not exist: it runs, and reports.
    const std::string absent = (tmp.path / "absent").string();
    setenv("BINFMTD_TEST_BINFMT_DIR", absent.c_str(), 1);
    harness::Daemon daemon(tmp.path / "root");
    daemon.start();
    setenv("BINFMTD_TEST_BINFMT_DIR", dir.c_str(), 1);
    auto text = ctl({"doctor"});
    INFO(text.out << text.err);
    CHECK(text.exitCode == 1);
    CHECK(text.out.find("problem: binfmt_misc is not mounted at " + absent +
                        ", where binfmtd manages it") != std::string::npos);
    CHECK(text.out.find("fix: sudo modprobe binfmt_misc && sudo systemctl restart binfmtd") !=
          std::string::npos);
    const json d = doctorJson();
    CHECK(d["daemon"]["mounted"] == false);
    CHECK(d["problems"][0]["fix"] == "sudo modprobe binfmt_misc && sudo systemctl restart binfmtd");
  }
}

TEST_CASE("doctor against a binfmtd without Verify: not verified (binfmtd too old)") {
  harness::TestBus bus;
  FakeBinfmtd fake("");
  auto text = ctl({"doctor"});
  INFO(text.out << text.err);
  CHECK(text.exitCode == 0);
  CHECK(text.out.find("verification:    not verified (binfmtd too old)") != std::string::npos);
  const json d = doctorJson();
  INFO(d.dump(2));
  CHECK(d["daemon"]["verify"] == "binfmtd-too-old");
  const json* arm64 = findArch(d, "aarch64");
  REQUIRE(arm64 != nullptr);
  CHECK((*arm64)["registered"] == "ok");
  CHECK((*arm64)["executes"] == "none");
  CHECK((*arm64)["verification"] == "binfmtd-too-old");
  CHECK((*arm64)["detail"] == "not verified (binfmtd too old)");
  // status and show say nothing about verification then.
  CHECK(ctl({"status"}).out.find("verification") == std::string::npos);
  CHECK(ctl({"show", "arm64"}).out.find("Verified") == std::string::npos);
}

TEST_CASE("doctor: a registered but disabled entry fails the enabled stage, with the fix") {
  harness::TestBus bus;
  FakeBinfmtd fake("", "", false);
  const json d = doctorJson();
  INFO(d.dump(2));
  const json* arm64 = findArch(d, "aarch64");
  REQUIRE(arm64 != nullptr);
  CHECK((*arm64)["registered"] == "ok");
  CHECK((*arm64)["enabled"] == "fail");
  CHECK(d["ok"] == false);
  CHECK(d["problems"][0]["text"] ==
        "qemu-aarch64 is registered but disabled: aarch64 binaries fail with \"Exec format error\"");
  CHECK(d["problems"][0]["fix"] == "binfmtctl enable aarch64");
  auto text = ctl({"doctor"});
  CHECK(text.exitCode == 1);
  CHECK(text.out.find("\nfix: binfmtctl enable aarch64\n") != std::string::npos);
}

TEST_CASE("doctor, status and show render binfmtd's verification") {
  harness::TestBus bus;
  SECTION("passed") {
    FakeBinfmtd fake("passed", "the arm64 probe exited with 42 in 31 ms");
    auto text = ctl({"doctor"});
    INFO(text.out << text.err);
    CHECK(text.exitCode == 0);
    const json d = doctorJson();
    const json* arm64 = findArch(d, "aarch64");
    REQUIRE(arm64 != nullptr);
    CHECK((*arm64)["executes"] == "ok");
    CHECK((*arm64)["verification"] == "passed");
    CHECK((*arm64)["platforms"] == json::array({"linux/arm64"}));
    CHECK(d["daemon"]["verify"] == "ran");
    CHECK(ctl({"status"}).out.find(" verification: 1 passed") != std::string::npos);
    auto show = ctl({"show", "arm64"});
    CHECK(show.out.find("    Platforms: linux/arm64\n") != std::string::npos);
    CHECK(show.out.find("     Verified: passed: the arm64 probe exited with 42 in 31 ms\n") !=
          std::string::npos);
    CHECK(show.out.find("     Emulator: qemu-aarch64 version 7.2.19\n") != std::string::npos);
  }
  SECTION("failed") {
    FakeBinfmtd fake("failed", "the arm64 probe was killed by SIGSEGV");
    auto text = ctl({"doctor"});
    INFO(text.out << text.err);
    CHECK(text.exitCode == 1);
    CHECK(text.out.find("problem: the aarch64 probe did not run through qemu-aarch64: the arm64 "
                        "probe was killed by SIGSEGV") != std::string::npos);
    const json d = doctorJson();
    const json* arm64 = findArch(d, "aarch64");
    REQUIRE(arm64 != nullptr);
    CHECK((*arm64)["executes"] == "fail");
    CHECK(d["ok"] == false);
    auto status = ctl({"status"});
    CHECK(status.out.find(" verification: 1 failed") != std::string::npos);
    CHECK(status.out.find("failed: qemu-aarch64: the arm64 probe was killed by SIGSEGV") !=
          std::string::npos);
  }
}

TEST_CASE("monitor prints one line per change, as text and as JSON lines") {
  if (!qemuInstalled()) return;
  harness::TempDir tmp;
  harness::TestBus bus;
  harness::Daemon daemon(tmp.path / "root");
  daemon.start();
  Background text({BINFMTCTL_BIN, "monitor"});
  Background lines({BINFMTCTL_BIN, "monitor", "--json"});
  REQUIRE(text.waitErr("Monitoring org.binfmtd.Binfmt1"));
  REQUIRE(lines.waitErr("Monitoring org.binfmtd.Binfmt1"));

  REQUIRE(ctl({"enable", "arm64"}).exitCode == 0);
  // Either a new handler object or a state change, depending on what binfmtd had.
  auto registered = [](const std::string& out) {
    std::istringstream in(out);
    for (std::string l; std::getline(in, l);)
      if (l.find(" handler qemu-aarch64 ") != std::string::npos &&
          (l.find(" -> registered") != std::string::npos ||
           l.find("added: State registered") != std::string::npos))
        return true;
    return false;
  };
  CHECK(text.waitOut(registered));
  INFO(text.out << text.err);

  auto parsedRegistered = [](const std::string& out) {
    std::istringstream in(out);
    for (std::string l; std::getline(in, l);) {
      const json e = json::parse(l);  // every line is one JSON object
      if (e["kind"] == "handler" && e["name"] == "qemu-aarch64" &&
          ((e["event"] == "changed" && e["changes"].contains("State") &&
            e["changes"]["State"]["new"] == "registered") ||
           (e["event"] == "added" && e["properties"]["State"] == "registered")))
        return true;
    }
    return false;
  };
  CHECK(lines.waitOut(parsedRegistered));

  // binfmtd stopping is an event too; then SIGTERM ends monitor cleanly.
  REQUIRE(ctl({"disable", "arm64"}).exitCode == 0);
  daemon.stop();
  CHECK(text.waitOut([](const std::string& out) {
    return out.find(" daemon org.binfmtd.Binfmt1 stopped") != std::string::npos;
  }));
  CHECK(text.stop() == 0);
  CHECK(lines.stop() == 0);
  std::istringstream in(lines.out);
  for (std::string l; std::getline(in, l);) {
    INFO(l);
    const json e = json::parse(l);
    CHECK(e["time"].get<std::string>().size() == 20);  // 2026-11-23T21:40:01Z
    CHECK(e.contains("kind"));
  }
}

TEST_CASE("every command has --help with its options; help COMMAND is the same") {
  const std::map<std::string, std::vector<std::string>> options = {
      {"status", {"--json"}},  {"list", {"--json"}},   {"show", {"--json"}},
      {"enable", {"--runtime", "--no-ask-password"}},  {"disable", {"--runtime", "--no-ask-password"}},
      {"reload", {"--no-ask-password"}},               {"archs", {"--json"}},
      {"plan", {"--json"}},    {"check", {"--json"}},  {"doctor", {"--json"}},
      {"monitor", {"--json"}}, {"import", {"--from=", "--output=", "--all"}},
      {"export", {"--format=", "--output=", "--all"}}, {"help", {}}};
  // Every command the general help lists is covered here.
  auto usage = ctl({"--help"});
  REQUIRE(usage.exitCode == 0);
  std::istringstream in(usage.out.substr(usage.out.find("Commands:\n") + 10));
  unsigned listed = 0;
  for (std::string l; std::getline(in, l) && !l.empty();) {
    if (l.rfind("  ", 0) != 0 || l[2] == ' ') continue;
    const std::string name = l.substr(2, l.find(' ', 2) - 2);
    INFO(name);
    CHECK(options.count(name) == 1);
    ++listed;
  }
  CHECK(listed == options.size());

  for (const auto& [command, opts] : options) {
    INFO(command);
    auto r = ctl({command, "--help"});
    CHECK(r.exitCode == 0);
    CHECK(r.out.find("Usage: binfmtctl " + command) == 0);
    CHECK(r.out.find("Example:\n  binfmtctl ") != std::string::npos);
    for (const auto& o : opts) CHECK(r.out.find("  " + o) != std::string::npos);
    CHECK(ctl({"help", command}).out == r.out);
  }
  auto unknown = ctl({"frobnicate"});
  CHECK(unknown.exitCode == 2);
  CHECK(unknown.err == "binfmtctl: unknown command 'frobnicate'; the commands are: status, list, "
                       "show, enable, disable, reload, archs, plan, check, doctor, monitor, "
                       "import, export, help\n");
  CHECK(ctl({"help", "frobnicate"}).exitCode == 2);
}

TEST_CASE("colour only on a terminal, without NO_COLOR and with TERM other than dumb") {
  // script(1) gives binfmtctl a terminal. doctor colours its verdict lines whatever the
  // machine (no binfmtd here: "problem:" in red).
  auto onTty = [](const std::string& env) {
    return run({"script", "-qec", env + " " + BINFMTCTL_BIN + " doctor", "/dev/null"});
  };
  const auto coloured = onTty("env -u NO_COLOR TERM=xterm");
  INFO(coloured.out);
  CHECK(coloured.out.find('\x1b') != std::string::npos);
  CHECK(onTty("env TERM=xterm NO_COLOR=1").out.find('\x1b') == std::string::npos);
  CHECK(onTty("env TERM=dumb").out.find('\x1b') == std::string::npos);
  // NO_COLOR set but empty does not count (https://no-color.org).
  CHECK(onTty("env TERM=xterm NO_COLOR=").out.find('\x1b') != std::string::npos);
  const auto piped = ctl({"doctor"}, withEnv("TERM=xterm"));
  CHECK(piped.out.find("problem:") != std::string::npos);
  CHECK(piped.out.find('\x1b') == std::string::npos);
  CHECK(ctl({"doctor", "--help"}, withEnv("TERM=xterm")).out.find('\x1b') == std::string::npos);
}
