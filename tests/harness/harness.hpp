// What the D-Bus and end-to-end tests share: a private system-type bus with the
// project's own policy, binfmtd started against a private binfmt_misc instance and a
// temporary config tree, and running commands with captured output.
#pragma once

#include <sys/types.h>

#include <algorithm>
#include <chrono>
#include <functional>
#include <filesystem>
#include <string>
#include <vector>

#include "common/files.hpp"

namespace harness {

/// True when CI=true (or any non-empty value but "false"): missing prerequisites fail.
bool inCi();

/// Where scripts/setup.sh put the foreign test binaries (busybox-arm64, ...):
/// $BINFMTD_FOREIGN_BINARIES, set by meson, or its default.
std::filesystem::path foreignBinaries();

using testfiles::readFile;
using testfiles::TempDir;
using testfiles::writeFile;

struct Result {
  int exitCode = -1;     // -1 when killed by a signal
  int execErrno = 0;     // errno of execve() when the program could not be started
  std::string out;
  std::string err;
};

struct RunOptions {
  std::vector<std::string> env;  // extra "KEY=VALUE" entries
  std::string asUser;            // run through setpriv as this uid (e.g. "65534")
  std::string chrootDir;         // chroot(2) into this directory first
  std::chrono::seconds timeout{30};
};

inline RunOptions asUser(std::string uid) {
  RunOptions o;
  o.asUser = std::move(uid);
  return o;
}
inline RunOptions inChroot(const std::filesystem::path& dir) {
  RunOptions o;
  o.chrootDir = dir.string();
  return o;
}

/// Runs argv[0] (a path, or a name looked up in PATH) and collects its output.
Result run(const std::vector<std::string>& argv, const RunOptions& options = {});


/// Writes a register string to the private instance's `register` (one write(2), as the
/// kernel requires); throws on failure.
void registerEntry(const std::string& line);

/// Writes `text` ("1", "0", "-1") to a file of the private instance (an entry, `status`)
/// in one write(2), as another program would; throws on failure.
void writeKernelFile(const std::string& name, const std::string& text);

/// Calls `check` every 20 ms until it returns true or `limit` passes.
bool waitFor(const std::function<bool()>& check,
             std::chrono::milliseconds limit = std::chrono::seconds(10));

/// A private dbus-daemon of type system that includes systemd/org.binfmtd.Binfmt1.conf.
/// Sets DBUS_SYSTEM_BUS_ADDRESS in this process for everything started afterwards.
class TestBus {
 public:
  TestBus();
  ~TestBus();
  const std::string& address() const { return address_; }

 private:
  TempDir dir_;
  pid_t pid_ = -1;
  std::string address_;
};

/// binfmtd with every path under a temporary root, binfmt_misc from
/// $BINFMTD_TEST_BINFMT_DIR. Waits for READY=1 on its NOTIFY_SOCKET.
class Daemon {
 public:
  explicit Daemon(std::filesystem::path root);
  ~Daemon();

  /// Starts binfmtd with arguments() and `extra` ("--no-bus").
  void start(const std::vector<std::string>& extra = {});
  void stop();  // SIGTERM, wait
  bool running() const { return pid_ > 0; }
  pid_t pid() const { return pid_; }
  /// Everything the daemon wrote to stderr so far.
  std::string log() const;

  std::filesystem::path configDir() const { return root_ / "etc"; }
  std::filesystem::path runtimeDir() const { return root_ / "run"; }
  std::filesystem::path vendorDir() const { return root_ / "usr"; }
  static std::filesystem::path binfmtDir();
  /// binfmtd's arguments for this tree (also used for `binfmtd --apply`).
  std::vector<std::string> arguments() const;

 private:
  std::filesystem::path root_;
  pid_t pid_ = -1;
  int logFd_ = -1;
  std::filesystem::path logFile_;
};

/// polkitd on the TestBus, with binfmtd's action file (systemd/org.binfmtd.Binfmt1.policy)
/// and `rules` (JavaScript, one file each) as the only actions and admin rules: temporary
/// directories bind-mounted over /usr/share/polkit-1/actions and /etc/polkit-1/rules.d in
/// the test's own mount namespace (private-binfmt), so nothing is installed on the
/// machine. Started as root, polkitd switches to user polkitd. Waits until it owns
/// org.freedesktop.PolicyKit1.
class Polkit {
 public:
  /// Whether polkitd and pkaction are installed.
  static bool available();

  explicit Polkit(const std::vector<std::string>& rules = {});
  ~Polkit();
  Polkit(const Polkit&) = delete;
  Polkit& operator=(const Polkit&) = delete;
  std::string log() const;

 private:
  TempDir dir_;
  pid_t pid_ = -1;
  std::vector<std::filesystem::path> mounts_;
};

/// The path of binfmtctl, and a shortcut to run it.
Result ctl(const std::vector<std::string>& args, const RunOptions& options = {});

/// Members (method, property, signal names) of each interface in an introspection XML.
std::vector<std::string> interfaceMembers(const std::string& xml, const std::string& prefix);

}  // namespace harness
