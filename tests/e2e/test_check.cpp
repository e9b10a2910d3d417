// binfmtctl check against real binaries in every state a handler can be in, table-driven:
// for each binary (busybox-static from Debian for arm64, armhf, ppc64el and s390x; the
// project's riscv64 probe, since riscv64 is not a bookworm architecture; a native program;
// a shell script; an MZ file; an arm64 busybox cut short) and each state (no handler, no
// emulator, disabled, enabled, enabled from a chroot, no F flag from a chroot, shadowed,
// binfmt_misc not mounted, a user namespace with its own empty binfmt_misc), it asserts
// the verdict, the cause, the handler and the exact fix, in --json and in text; then it
// runs the binary to prove the verdict, and applies the fix to prove that it fixes it.
#include <catch2/catch.hpp>
#include <sys/mount.h>
#include <unistd.h>

#include <cerrno>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "harness/harness.hpp"

namespace fs = std::filesystem;
using harness::ctl;
using harness::run;

namespace {

struct Binary {
  std::string label;
  fs::path file;               // where the test put it (visible in the jail too)
  std::string arch;            // catalogue name; "" for the native, script, MZ, truncated
  std::string handler;         // the catalogue's handler name, "" when none
  std::vector<std::string> args;  // how to run it so that it exits with `exitCode`
  int exitCode = 0;
};

enum class State { None, NoEmulator, Disabled, Enabled, EnabledChroot, NoFixBinaryChroot,
                   Shadowed, GlobalDisabled, NotMounted, UserNamespace };

const char* name(State s) {
  switch (s) {
    case State::None: return "no handler";
    case State::NoEmulator: return "no handler, no emulator";
    case State::Disabled: return "disabled";
    case State::Enabled: return "enabled";
    case State::EnabledChroot: return "enabled, from a chroot";
    case State::NoFixBinaryChroot: return "enabled without F, from a chroot";
    case State::Shadowed: return "shadowed";
    case State::GlobalDisabled: return "binfmt_misc disabled as a whole";
    case State::NotMounted: return "binfmt_misc not mounted";
    case State::UserNamespace: return "own user namespace";
  }
  return "?";
}

struct Expect {
  std::string verdict, cause, handler, fix;
  bool fixIsPrefix = false;  // the register string is long: compare its start
};

// The arm64, armhf, riscv64, ppc64el and s390x rows, one rule per state.
Expect foreignExpect(State s, const Binary& b, const std::string& configFile,
                     const std::string& binfmtDir) {
  switch (s) {
    case State::None: return {"unhandled", "no-handler", "", "binfmtctl enable " + b.arch};
    case State::NoEmulator:
      return {"unhandled", "no-emulator", "",
              "apt install qemu-user-static, then binfmtctl enable " + b.arch};
    case State::Disabled: return {"unhandled", "disabled", b.handler, "binfmtctl enable " + b.arch};
    case State::Enabled:
    case State::EnabledChroot: return {"handled", "handled", b.handler, ""};
    case State::NoFixBinaryChroot:
      return {"broken", "no-fix-binary", b.handler,
              "add F to the \"flags\" of " + b.arch + " in " + configFile +
                  ", then binfmtctl reload"};
    case State::Shadowed:
      return {"broken", "shadowed", "foreign-" + b.arch,
              "echo -1 > " + binfmtDir + "/foreign-" + b.arch};
    case State::GlobalDisabled:
      return {"unhandled", "binfmt-disabled", "", "echo 1 > " + binfmtDir + "/status"};
    case State::NotMounted: return {"unhandled", "not-mounted", "", "binfmtctl reload"};
    case State::UserNamespace:
      return {"unhandled", "user-namespace", b.handler, "printf '%s' ':" + b.handler + ":M:0:",
              true};
  }
  return {};
}

// The other rows: a native program and a script run in every state; the MZ file has a
// handler of its own ("mz", /usr/bin/true) in the states that register one; the
// truncated arm64 file fails to load wherever it goes.
Expect otherExpect(State s, const Binary& b, const std::string& binfmtDir) {
  if (b.label == "native") return {"native", "native", "", ""};
  if (b.label == "script") return {"native", "script", "", ""};
  const bool hasHandler = s == State::Enabled || s == State::EnabledChroot ||
                          s == State::NoFixBinaryChroot || s == State::Shadowed;
  if (b.label == "mz") {
    if (hasHandler) return {"handled", "handled", "mz", ""};
    if (s == State::Disabled)
      return {"unhandled", "disabled", "mz", "echo 1 > " + binfmtDir + "/mz"};
    if (s == State::NotMounted) return {"unhandled", "not-mounted", "", "binfmtctl reload"};
    if (s == State::GlobalDisabled)
      return {"unhandled", "binfmt-disabled", "", "echo 1 > " + binfmtDir + "/status"};
    if (s == State::UserNamespace)
      return {"unhandled", "user-namespace", "mz", "printf '%s' ':mz:M:0:MZ:", true};
    return {"unhandled", "no-handler", "",
            "install Wine and define a handler for it (see binfmtd.json(5))"};
  }
  // truncated: where a working handler takes it, the emulator starts and dies
  if (s == State::Enabled || s == State::EnabledChroot)
    return {"broken", "truncated", "qemu-aarch64", "copy or download it again"};
  if (s == State::NoFixBinaryChroot)  // exec fails before the missing part matters
    return {"broken", "no-fix-binary", "qemu-aarch64",
            "add F to the \"flags\" of aarch64 in ", true};
  if (s == State::Shadowed)
    return {"broken", "shadowed", "foreign-aarch64", "echo -1 > " + binfmtDir + "/foreign-aarch64"};
  return {"unhandled", "truncated", "", "copy or download it again"};
}

// The start of the reason for the foreign rows: the sentences issue 5 asks for.
std::string issueWording(State s, const Binary& b) {
  switch (s) {
    case State::None: return "no handler for " + b.arch + " is registered";
    case State::NoEmulator:
      return "no handler for " + b.arch + " is registered, and no emulator for it is installed";
    case State::Disabled: return "'" + b.handler + "' matches it but is disabled";
    case State::Enabled:
    case State::EnabledChroot: return "handled by '" + b.handler + "' via ";
    case State::NoFixBinaryChroot:
      return "'" + b.handler + "' takes it, but this entry has no F flag, so it cannot work "
             "inside containers or chroots: the kernel looks for /usr/libexec/qemu-binfmt/";
    case State::Shadowed: return "shadowed by 'foreign-" + b.arch + "' registered later";
    case State::GlobalDisabled: return "binfmt_misc is disabled as a whole";
    case State::NotMounted: return "binfmt_misc is not mounted at ";
    case State::UserNamespace:
      return "you are in a user namespace with its own empty binfmt_misc instance";
  }
  return "?";
}

bool prerequisites(std::vector<fs::path> files) {
  files.push_back("/usr/bin/qemu-aarch64-static");
  for (const auto& f : files) {
    if (fs::exists(f)) continue;
    if (harness::inCi()) FAIL(f.string() + " missing: run scripts/setup.sh");
    WARN("skipping: " + f.string() + " missing (run scripts/setup.sh)");
    return false;
  }
  return true;
}

void mountOrThrow(const std::string& source, const fs::path& target, const char* type,
                  unsigned long flags) {
  if (::mount(source.c_str(), target.c_str(), type, flags, nullptr) != 0)
    throw std::runtime_error("mount " + target.string() + ": " + std::strerror(errno));
}

// Mounts made for one state, undone (in reverse) when it ends.
struct Mounts {
  std::vector<fs::path> points;
  // Read-only where the test only reads: a cleanup gone wrong cannot delete the system.
  // Recursive where the namespace locks submounts (/dev, /proc): the kernel refuses less.
  void bind(const fs::path& from, const fs::path& to, bool readOnly = true,
            bool recursive = false) {
    mountOrThrow(from.string(), to, nullptr, MS_BIND | (recursive ? MS_REC : 0));
    points.push_back(to);
    if (readOnly) mountOrThrow("none", to, nullptr, MS_BIND | MS_REMOUNT | MS_RDONLY);
  }
  void tmpfs(const fs::path& at) {
    mountOrThrow("tmpfs", at, "tmpfs", 0);
    points.push_back(at);
  }
  ~Mounts() {
    for (auto it = points.rbegin(); it != points.rend(); ++it) ::umount2(it->c_str(), MNT_DETACH);
  }
};

// A chroot holding the system's /usr (through its merged-/usr links), /etc, /dev, /proc
// and /tmp (the test files and the bus socket), and binfmtctl: everything but QEMU's
// binfmt interpreters, hidden under an empty tmpfs, as in a container without QEMU.
void makeJail(const fs::path& jail, Mounts& m) {
  for (const char* dir : {"usr", "etc", "dev", "proc", "tmp"}) {
    fs::create_directories(jail / dir);
    const std::string d = dir;
    m.bind(fs::path("/") / dir, jail / dir, d != "tmp", d == "dev" || d == "proc");
  }
  for (const char* link : {"bin", "lib", "lib64", "sbin"})
    if (fs::is_symlink(fs::path("/") / link) && !fs::exists(fs::symlink_status(jail / link)))
      fs::create_symlink(fs::read_symlink(fs::path("/") / link), jail / link);
  const fs::path ctlDir = fs::path(BINFMTCTL_BIN).parent_path();
  fs::create_directories(jail / ctlDir.relative_path());
  m.bind(ctlDir, jail / ctlDir.relative_path());
  m.tmpfs(jail / "usr/libexec/qemu-binfmt");
}

// No emulator anywhere binfmtd looks: QEMU's binfmt links under an empty tmpfs and each
// qemu-*-static covered by /dev/null (not a regular file, so not an emulator).
void hideEmulators(Mounts& m) {
  m.tmpfs("/usr/libexec/qemu-binfmt");
  for (const auto& e : fs::directory_iterator("/usr/bin")) {
    const std::string n = e.path().filename().string();
    if (n.starts_with("qemu-") && n.ends_with("-static")) m.bind("/dev/null", e.path());
  }
}

// Everything in the private instance goes: each state starts from an empty, enabled table.
void clearKernelTable() {
  harness::writeKernelFile("status", "1");
  for (const auto& e : fs::directory_iterator(harness::Daemon::binfmtDir())) {
    const std::string n = e.path().filename().string();
    if (n != "register" && n != "status") harness::writeKernelFile(n, "-1");
  }
}

// The register string binfmt.d ships for an architecture (Debian's qemu-user-static).
std::string debianRule(const std::string& handler) {
  std::ifstream f("/usr/lib/binfmt.d/" + handler + ".conf");
  for (std::string line; std::getline(f, line);)
    if (!line.empty() && line[0] == ':') return line;
  throw std::runtime_error("no /usr/lib/binfmt.d/" + handler + ".conf");
}

// The same rule under another name, with an interpreter that does not exist and no F:
// what a package removed without cleaning up leaves behind.
std::string brokenRule(const std::string& handler, const std::string& name) {
  std::string rule = debianRule(handler);
  rule.replace(1, handler.size(), name);
  // fields: :name:type:offset:magic:mask:interpreter:flags
  std::vector<std::string> fields;
  std::size_t at = 1;
  while (at <= rule.size()) {
    const std::size_t next = rule.find(':', at);
    fields.push_back(rule.substr(at, next - at));
    if (next == std::string::npos) break;
    at = next + 1;
  }
  fields[5] = "/nonexistent/" + handler;
  fields[6] = "P";
  std::string out = ":";
  for (std::size_t i = 0; i < 7; ++i) out += (i == 0 ? "" : ":") + fields[i];
  return out;
}

const char* kMzHandler =
    R"({"name": "mz", "magic": "MZ", "offset": 0, "interpreter": "/usr/bin/true", "flags": ""})";

std::string config(const std::vector<Binary>& foreign, const std::string& flags) {
  std::string archs;
  for (const auto& b : foreign) {
    if (!archs.empty()) archs += ", ";
    archs += flags.empty() ? "\"" + b.arch + "\""
                           : R"({"name": ")" + b.arch + R"(", "flags": ")" + flags + "\"}";
  }
  return R"({"healing": {"enabled": false}, "architectures": [)" + archs + R"(], "handlers": [)" +
         kMzHandler + "]}";
}

// binfmtctl check in both forms: the JSON is asserted field by field, the text must say
// the same (verdict line, reason, fix).
nlohmann::json checkBoth(const Binary& b, const harness::RunOptions& where,
                         const std::vector<std::string>& wrap = {}) {
  auto argv = [&](bool json) {
    std::vector<std::string> a = wrap;
    a.push_back(BINFMTCTL_BIN);
    a.push_back("check");
    if (json) a.push_back("--json");
    a.push_back(b.file.string());
    return a;
  };
  auto j = run(argv(true), where);
  INFO(j.err);
  REQUIRE(!j.out.empty());
  auto result = nlohmann::json::parse(j.out);
  const std::string verdict = result["verdict"];
  CHECK(j.exitCode == (verdict == "native" || verdict == "handled" ? 0 : 1));
  auto t = run(argv(false), where);
  INFO(t.out);
  const std::string reason = result["reason"], error = result["error"];
  if (verdict == "native" || verdict == "handled")
    CHECK(t.out.find("  runs: " + reason + "\n") != std::string::npos);
  else if (!error.empty())
    CHECK(t.out.find("  fails (\"" + error + "\"): " + reason + "\n") != std::string::npos);
  else
    CHECK(t.out.find("  fails: " + reason + "\n") != std::string::npos);
  if (!result["fix"].get<std::string>().empty())
    CHECK(t.out.find("  fix: " + result["fix"].get<std::string>() + "\n") != std::string::npos);
  CHECK(t.exitCode == j.exitCode);
  return result;
}

// Runs the binary where the check ran and compares with the verdict: runs means the
// expected exit status; "Exec format error" means ENOEXEC; a missing interpreter ENOENT;
// a truncated file starts and dies of a signal.
void proveByRunning(const Binary& b, const nlohmann::json& r, const harness::RunOptions& where,
                    const std::vector<std::string>& wrap = {}) {
  std::vector<std::string> argv = wrap;
  argv.push_back(b.file.string());
  argv.insert(argv.end(), b.args.begin(), b.args.end());
  auto ran = run(argv, where);
  INFO("ran " + b.file.string() + ": errno " + std::to_string(ran.execErrno) + ", exit " +
       std::to_string(ran.exitCode) + ", stderr " + ran.err);
  const std::string verdict = r["verdict"], error = r["error"];
  if (!wrap.empty()) {  // through sh: 126 "cannot execute", 127 "not found"
    if (verdict == "native" || verdict == "handled") CHECK(ran.exitCode == b.exitCode);
    else CHECK(ran.exitCode == (error == "Exec format error" ? 126 : 127));
    return;
  }
  if (verdict == "native" || verdict == "handled") {
    CHECK(ran.execErrno == 0);
    CHECK(ran.exitCode == b.exitCode);
  } else if (error == "Exec format error") {
    CHECK(ran.execErrno == ENOEXEC);
  } else if (error == "No such file or directory") {
    CHECK(ran.execErrno == ENOENT);
  } else {
    CHECK(ran.execErrno == 0);
    CHECK(ran.exitCode == -1);  // killed by a signal while loading
  }
}

void checkExpect(const nlohmann::json& r, const Expect& e) {
  CHECK(r["verdict"] == e.verdict);
  CHECK(r["cause"] == e.cause);
  CHECK(r["handler"] == e.handler);
  const std::string fix = r["fix"];
  if (e.fixIsPrefix) CHECK(fix.starts_with(e.fix));
  else CHECK(fix == e.fix);
}

}  // namespace

TEST_CASE("binfmtctl check: every binary in every state, proved by running it and the fix") {
  const fs::path cache = harness::foreignBinaries();
  harness::TempDir tmp;
  fs::permissions(tmp.path, fs::perms(0755));
  const fs::path files = tmp.path / "files";
  fs::create_directories(files);
  const fs::path probe = fs::path(PROBE_DIR) / "riscv64";
  if (!prerequisites({cache / "busybox-arm64", cache / "busybox-armhf", cache / "busybox-ppc64el",
                      cache / "busybox-s390x", probe}))
    return;

  std::vector<Binary> foreign = {
      {"arm64", files / "busybox-arm64", "aarch64", "qemu-aarch64", {"true"}, 0},
      {"armhf", files / "busybox-armhf", "arm", "qemu-arm", {"true"}, 0},
      // riscv64 is not a Debian bookworm architecture: the project's probe, a real riscv64
      // executable that exits with 42, stands in for a Debian binary.
      {"riscv64", files / "probe-riscv64", "riscv64", "qemu-riscv64", {}, 42},
      {"ppc64el", files / "busybox-ppc64el", "ppc64le", "qemu-ppc64le", {"true"}, 0},
      {"s390x", files / "busybox-s390x", "s390x", "qemu-s390x", {"true"}, 0},
  };
  for (const auto& b : foreign) {
    const fs::path from = b.label == "riscv64" ? probe : cache / ("busybox-" + b.label);
    fs::copy_file(from, b.file);
    fs::permissions(b.file, fs::perms(0755));
  }
  std::vector<Binary> others = {
      {"native", "/usr/bin/true", "", "", {}, 0},
      {"script", files / "script.sh", "", "", {}, 0},
      {"mz", files / "program.exe", "", "", {}, 0},
      {"truncated", files / "busybox-arm64-cut", "", "", {"true"}, 0},
  };
  harness::writeFile(others[1].file, "#!/bin/sh\nexit 0\n");
  static const char kMz[] = "MZ\x90\x00\x03\x00\x00\x00\x04\x00";  // a DOS header's start
  harness::writeFile(others[2].file, std::string(kMz, sizeof kMz - 1));
  {
    std::ifstream whole(cache / "busybox-arm64", std::ios::binary);
    std::string start(4096, '\0');
    whole.read(start.data(), static_cast<std::streamsize>(start.size()));
    harness::writeFile(others[3].file, start);
  }
  for (std::size_t i = 1; i < others.size(); ++i) fs::permissions(others[i].file, fs::perms(0755));

  harness::TestBus bus;
  const std::string binfmtDir = harness::Daemon::binfmtDir().string();
  const fs::path jail = tmp.path / "jail";

  for (State state : {State::None, State::NoEmulator, State::Disabled, State::Enabled,
                      State::EnabledChroot, State::NoFixBinaryChroot, State::Shadowed,
                      State::GlobalDisabled, State::UserNamespace, State::NotMounted}) {
    DYNAMIC_SECTION(name(state)) {
      clearKernelTable();
      harness::Daemon daemon(tmp.path / ("root-" + std::to_string(static_cast<int>(state))));
      const fs::path configFile = daemon.configDir() / "binfmtd.json";
      const bool configured = state == State::Enabled || state == State::EnabledChroot ||
                              state == State::NoFixBinaryChroot || state == State::Shadowed ||
                              state == State::NotMounted || state == State::UserNamespace ||
                              state == State::GlobalDisabled;
      const std::string flags = state == State::NoFixBinaryChroot ? "P" : "";
      harness::writeFile(configFile, configured ? config(foreign, flags)
                                                : R"({"healing": {"enabled": false}})");
      Mounts mounts;
      if (state == State::NoEmulator) hideEmulators(mounts);
      daemon.start();
      if (state == State::Disabled) {  // another program's entries, switched off
        for (const auto& b : foreign) {
          harness::registerEntry(debianRule(b.handler));
          harness::writeKernelFile(b.handler, "0");
        }
        harness::registerEntry(":mz:M::MZ::/usr/bin/true:");
        harness::writeKernelFile("mz", "0");
      }
      if (state == State::GlobalDisabled) harness::writeKernelFile("status", "0");
      if (state == State::Shadowed)  // registered after binfmtd's, by someone else
        for (const auto& b : foreign)
          harness::registerEntry(brokenRule(b.handler, "foreign-" + b.arch));
      harness::RunOptions where;
      std::vector<std::string> wrap;
      if (state == State::EnabledChroot || state == State::NoFixBinaryChroot) {
        makeJail(jail, mounts);
        where = harness::inChroot(jail);
      }
      if (state == State::UserNamespace)  // its own binfmt_misc over the usual place
        wrap = {"unshare", "--user", "--map-root-user", "--mount", "sh", "-c",
                "mount -t binfmt_misc binfmt_misc /proc/sys/fs/binfmt_misc && \"$@\"", "sh"};
      if (state == State::NotMounted) {  // the last mount of the instance: its entries go
        REQUIRE(::umount2(binfmtDir.c_str(), 0) == 0);
      }

      auto rows = [&](const std::vector<Binary>& list, bool isForeign) {
        for (const auto& b : list) {
          INFO("state: " << name(state) << ", binary: " << b.label);
          auto r = checkBoth(b, where, wrap);
          INFO(r.dump(2));
          Expect e = isForeign ? foreignExpect(state, b, configFile.string(), binfmtDir)
                               : otherExpect(state, b, binfmtDir);
          if (isForeign && state == State::NoFixBinaryChroot)  // binfmtctl saw the chroot
            CHECK(r["reason"].get<std::string>().ends_with(
                "when the program starts, and this chroot or container does not have it"));
          if (!isForeign && b.label == "truncated" && state == State::NoFixBinaryChroot)
            e.fix += configFile.string();
          checkExpect(r, e);
          if (isForeign) CHECK(r["reason"].get<std::string>().starts_with(issueWording(state, b)));
          if (isForeign && r["verdict"] == "handled") {
            CHECK(r["architecture"] == b.arch);
            CHECK(r["command"][0] == r["interpreter"]);  // what the kernel starts
          }
          proveByRunning(b, r, where, wrap);
        }
      };
      rows(foreign, true);
      rows(others, false);

      // The fix, applied as printed, makes every foreign binary run.
      auto runsNow = [&](const Binary& b) {
        std::vector<std::string> argv = wrap;
        argv.push_back(b.file.string());
        argv.insert(argv.end(), b.args.begin(), b.args.end());
        auto ran = run(argv, where);
        INFO(b.label << ": " << ran.err);
        CHECK(ran.exitCode == b.exitCode);
      };
      switch (state) {
        case State::None:
        case State::Disabled:
        case State::NotMounted:
        case State::Shadowed:
        case State::GlobalDisabled:
          for (const auto& b : foreign) {
            std::string fix = checkBoth(b, where)["fix"];
            if (fix.empty()) continue;
            if (fix.starts_with("binfmtctl ")) fix.replace(0, 9, BINFMTCTL_BIN);
            auto fixed = run({"sh", "-c", fix});
            INFO(fix << ": " << fixed.err);
            REQUIRE(fixed.exitCode == 0);
          }
          for (const auto& b : foreign) runsNow(b);
          break;
        case State::NoFixBinaryChroot:
          // Outside the chroot the same entries work, with a warning about chroots.
          for (const auto& b : foreign) {
            auto r = checkBoth(b, {});
            CHECK(r["verdict"] == "handled");
            CHECK(r["flags"] == "P");
            CHECK(r["notes"].dump().find("this entry has no F flag, so it cannot work inside "
                                         "containers or chroots") != std::string::npos);
            std::vector<std::string> argv{b.file.string()};
            argv.insert(argv.end(), b.args.begin(), b.args.end());
            CHECK(run(argv).exitCode == b.exitCode);
          }
          harness::writeFile(configFile, config(foreign, "PF"));
          REQUIRE(ctl({"reload"}).exitCode == 0);
          for (const auto& b : foreign) runsNow(b);
          break;
        case State::UserNamespace: {
          // Inside one namespace: register what check printed, then run the binary.
          for (const auto& b : foreign) {
            auto r = checkBoth(b, where, wrap);
            std::vector<std::string> argv = {
                "unshare", "--user", "--map-root-user", "--mount", "sh", "-c",
                "mount -t binfmt_misc binfmt_misc /proc/sys/fs/binfmt_misc && " +
                    r["fix"].get<std::string>() + " && \"$@\"",
                "sh", b.file.string()};
            argv.insert(argv.end(), b.args.begin(), b.args.end());
            auto ran = run(argv, where);
            INFO(b.label << ": " << ran.err);
            CHECK(ran.exitCode == b.exitCode);
          }
          break;
        }
        default:
          break;
      }
      daemon.stop();
      // Other tests need the private instance where it was (the fix mounted it again).
      if (!fs::exists(fs::path(binfmtDir) / "register"))
        mountOrThrow("binfmt_misc", binfmtDir, "binfmt_misc", MS_NOSUID | MS_NODEV | MS_NOEXEC);
    }
  }
}

TEST_CASE("binfmtctl check FILE -- ARGS: the command line that would run; unreadable files") {
  const fs::path busybox = harness::foreignBinaries() / "busybox-arm64";
  if (!prerequisites({busybox})) return;
  harness::TempDir tmp;
  harness::TestBus bus;
  clearKernelTable();
  harness::Daemon daemon(tmp.path / "root");
  harness::writeFile(daemon.configDir() / "binfmtd.json", R"({"architectures": ["arm64"]})");
  daemon.start();

  // binfmt_misc's argv: the interpreter, the file, argv[0] again (P), then the arguments.
  auto r = ctl({"check", "--json", busybox.string(), "--", "echo", "two words"});
  INFO(r.err);
  REQUIRE(r.exitCode == 0);
  auto j = nlohmann::json::parse(r.out);
  const std::string interpreter = j["interpreter"];
  CHECK(j["command"] == nlohmann::json::array({interpreter, busybox.string(), busybox.string(),
                                               "echo", "two words"}));
  auto text = ctl({"check", busybox.string(), "--", "echo", "two words"});
  CHECK(text.out.find("  command: " + interpreter + " " + busybox.string() + " " +
                      busybox.string() + " echo 'two words'\n") != std::string::npos);
  // ... and it is what runs: busybox sees exactly these arguments.
  CHECK(run({busybox.string(), "echo", "two words"}).out == "two words\n");

  const fs::path stub = tmp.path / "stub";
  harness::writeFile(stub, "\x7f" "EL");
  r = ctl({"check", "--json", stub.string()});
  CHECK(r.exitCode == 1);
  j = nlohmann::json::parse(r.out);
  CHECK(j["cause"] == "truncated");
  CHECK(j["reason"].get<std::string>().find("too short") != std::string::npos);
  r = ctl({"check", (tmp.path / "missing").string()});
  CHECK(r.exitCode == 1);
  CHECK(r.err.find("cannot open " + (tmp.path / "missing").string() +
                   ": No such file or directory") != std::string::npos);
  CHECK(ctl({"check"}).exitCode == 2);

  // The D-Bus method names a bad option rather than ignoring it.
  auto call = [](const std::vector<std::string>& options) {
    std::vector<std::string> argv{"busctl", "--system", "call", "org.binfmtd.Binfmt1",
                                  "/org/binfmtd/Binfmt1", "org.binfmtd.Binfmt1.Manager", "Check",
                                  "saya{sv}", "/x", "0"};
    argv.insert(argv.end(), options.begin(), options.end());
    return run(argv);
  };
  auto bad = call({"1", "bogus", "b", "true"});
  CHECK(bad.exitCode != 0);
  CHECK(bad.err.find("unknown Check option 'bogus'") != std::string::npos);
  bad = call({"1", "size", "s", "big"});
  CHECK(bad.exitCode != 0);
  CHECK(bad.err.find("Check option 'size' has the wrong type") != std::string::npos);
  CHECK(call({"1", "size", "t", "7"}).exitCode == 0);
  daemon.stop();
}
