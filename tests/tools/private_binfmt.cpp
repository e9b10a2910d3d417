// private-binfmt: runs a command in a new user + mount namespace that has its own,
// empty binfmt_misc instance (Linux >= 6.7), so tests never touch the machine's
// global table. Unlike `unshare --map-root-user`, every uid is mapped (identity map
// written by the parent, which must be real root), so a test can still drop to
// nobody with setpriv.
//
//   private-binfmt [--dir DIR] [--all-but-one] -- COMMAND [ARGS...]
//
// The instance is mounted at DIR (default: a fresh directory under $TMPDIR; it may be
// /proc/sys/fs/binfmt_misc) and its path is exported as BINFMTD_TEST_BINFMT_DIR.
// --all-but-one maps every uid but the last (0 0 4294967294), for a container engine
// inside: with every uid mapped, crun takes the namespace for the initial one and tries
// to make device nodes (shared/CONTAINER-TESTING.md). Exit status 77 (meson's "skipped") when the
// namespace cannot be made and CI is not set; in CI that is a failure (exit 1).
#include <fcntl.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

namespace {

int unavailable(const std::string& why) {
  std::fprintf(stderr, "private-binfmt: %s\n", why.c_str());
  const char* ci = std::getenv("CI");
  if (ci != nullptr && *ci != '\0' && std::string(ci) != "false") return 1;
  std::fprintf(stderr, "private-binfmt: skipping (set CI=true to make this a failure)\n");
  return 77;
}

bool writeFile(const std::string& path, const std::string& text) {
  int fd = open(path.c_str(), O_WRONLY | O_CLOEXEC);
  if (fd < 0) return false;
  bool ok = write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size());
  close(fd);
  return ok;
}

}  // namespace

int main(int argc, char** argv) {
  std::string dir;
  bool madeDir = false;
  bool allButOne = false;
  int i = 1;
  for (; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--dir" && i + 1 < argc) {
      dir = argv[++i];
    } else if (a == "--all-but-one") {
      allButOne = true;
    } else if (a == "--") {
      ++i;
      break;
    } else {
      break;
    }
  }
  if (i >= argc) {
    std::fprintf(stderr, "usage: private-binfmt [--dir DIR] [--all-but-one] -- COMMAND [ARGS...]\n");
    return 2;
  }
  if (geteuid() != 0) return unavailable("must run as root to map every uid");

  if (dir.empty()) {
    const char* tmp = std::getenv("TMPDIR");
    std::string templ = std::string(tmp && *tmp ? tmp : "/tmp") + "/binfmtd-test-XXXXXX";
    std::vector<char> buf(templ.begin(), templ.end());
    buf.push_back('\0');
    if (mkdtemp(buf.data()) == nullptr) return unavailable("mkdtemp: " + std::string(strerror(errno)));
    dir = std::string(buf.data()) + "/binfmt_misc";
    if (mkdir(dir.c_str(), 0755) != 0) return unavailable("mkdir: " + std::string(strerror(errno)));
    madeDir = true;
  }

  // The child unshares and waits until the parent has written its id maps.
  int ready[2], mapped[2];
  if (pipe2(ready, O_CLOEXEC) != 0 || pipe2(mapped, O_CLOEXEC) != 0) return unavailable("pipe failed");
  pid_t child = fork();
  if (child < 0) return unavailable("fork failed");
  if (child == 0) {
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    char c = unshare(CLONE_NEWUSER | CLONE_NEWNS) == 0 ? 'o' : 'e';
    (void)!write(ready[1], &c, 1);
    if (c == 'e') _exit(90);
    if (read(mapped[0], &c, 1) != 1 || c != 'o') _exit(91);
    if (setresgid(0, 0, 0) != 0 || setresuid(0, 0, 0) != 0) _exit(92);
    if (mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0) _exit(93);
    if (mount("binfmt_misc", dir.c_str(), "binfmt_misc", MS_NOSUID | MS_NODEV | MS_NOEXEC,
              nullptr) != 0) {
      std::fprintf(stderr, "private-binfmt: mount binfmt_misc at %s: %s\n", dir.c_str(),
                   strerror(errno));
      _exit(94);
    }
    setenv("BINFMTD_TEST_BINFMT_DIR", dir.c_str(), 1);
    execvp(argv[i], argv + i);
    std::fprintf(stderr, "private-binfmt: exec %s: %s\n", argv[i], strerror(errno));
    _exit(127);
  }
  char c = 0;
  if (read(ready[0], &c, 1) != 1 || c != 'o') {
    waitpid(child, nullptr, 0);
    return unavailable("unshare(CLONE_NEWUSER|CLONE_NEWNS) failed");
  }
  std::string proc = "/proc/" + std::to_string(child);
  const std::string map = allButOne ? "0 0 4294967294\n" : "0 0 4294967295\n";
  bool ok = writeFile(proc + "/uid_map", map) && writeFile(proc + "/gid_map", map);
  c = ok ? 'o' : 'e';
  (void)!write(mapped[1], &c, 1);
  int status = 0;
  while (waitpid(child, &status, 0) < 0 && errno == EINTR) {
  }
  if (madeDir) {  // the mount lived only in the child's namespace; the directories are ours
    rmdir(dir.c_str());
    rmdir(dir.substr(0, dir.rfind('/')).c_str());
  }
  if (!ok) return unavailable("writing uid_map/gid_map failed");
  if (WIFEXITED(status)) {
    int code = WEXITSTATUS(status);
    if (code >= 90 && code <= 94) return unavailable("setting up the namespace failed (step " + std::to_string(code) + ")");
    return code;
  }
  return 128 + WTERMSIG(status);
}
