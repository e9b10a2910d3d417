#include "check_command.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <tuple>
#include <utility>

#include "binfmtd-client/client.hpp"

namespace binfmtctl {

namespace {

constexpr std::size_t kHeaderBytes = 256;  // what the kernel reads to pick a handler
constexpr const char* kBinfmtMisc = "/proc/sys/fs/binfmt_misc";

namespace client = binfmtd::client;

struct FileStart {
  std::vector<uint8_t> header;
  std::uint64_t size = 0;
};

// The first bytes of the file and its size, read as the user; nullopt (after a message)
// if unreadable.
std::optional<FileStart> readStart(const std::string& file) {
  const int fd = ::open(file.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY);
  if (fd < 0) {
    std::fprintf(stderr, "binfmtctl: cannot open %s: %s\n", file.c_str(), std::strerror(errno));
    return std::nullopt;
  }
  FileStart start;
  struct stat st {};
  if (::fstat(fd, &st) == 0 && S_ISREG(st.st_mode))
    start.size = static_cast<std::uint64_t>(st.st_size);
  start.header.resize(kHeaderBytes);
  ssize_t n;
  do {
    n = ::read(fd, start.header.data(), start.header.size());
  } while (n < 0 && errno == EINTR);
  const int err = errno;
  ::close(fd);
  if (n < 0) {
    std::fprintf(stderr, "binfmtctl: cannot read %s: %s\n", file.c_str(), std::strerror(err));
    return std::nullopt;
  }
  start.header.resize(static_cast<std::size_t>(n));
  return start;
}

// The parent of a process, from /proc/PID/stat ("pid (comm) state ppid ..."); 0 if gone.
pid_t parentOf(pid_t pid) {
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  std::string line;
  std::getline(stat, line);
  const std::size_t close = line.rfind(')');
  if (close == std::string::npos) return 0;
  std::istringstream rest(line.substr(close + 1));
  std::string state;
  pid_t ppid = 0;
  rest >> state >> ppid;
  return ppid;
}

// Whether this process's root is not the one it was started from (a chroot, or a
// container): the root of the nearest ancestor we may look at (/proc/PID/root, only for
// our own processes or as root) differs from ours. Unknown counts as "no": it only
// changes the wording of the diagnosis, never the verdict.
bool otherRoot() {
  struct stat mine {};
  if (::stat("/", &mine) != 0) return false;
  for (pid_t pid = parentOf(::getpid()); pid > 0; pid = pid == 1 ? 0 : parentOf(pid)) {
    struct stat theirs {};
    if (::stat(("/proc/" + std::to_string(pid) + "/root/").c_str(), &theirs) != 0) continue;
    if (theirs.st_dev != mine.st_dev || theirs.st_ino != mine.st_ino) return true;
  }
  return false;
}

std::uint64_t userNamespace() {
  struct stat st {};
  return ::stat("/proc/self/ns/user", &st) == 0 ? st.st_ino : 0;
}

// The binfmt_misc mounted at /proc/sys/fs/binfmt_misc in this mount namespace, from
// mountinfo (the last mount there is the one in use): its device, one per instance, and
// its number of entries. Device 0 when there is none.
std::pair<std::uint64_t, std::uint32_t> binfmtInstance() {
  std::ifstream mountinfo("/proc/self/mountinfo");
  std::uint64_t device = 0;
  for (std::string line; std::getline(mountinfo, line);) {
    std::istringstream fields(line);
    std::string id, parent, majorMinor, root, point;
    fields >> id >> parent >> majorMinor >> root >> point;
    const std::size_t dash = line.find(" - ");
    if (point != kBinfmtMisc || dash == std::string::npos) continue;
    std::istringstream tail(line.substr(dash + 3));
    std::string type;
    tail >> type;
    unsigned major = 0, minor = 0;
    device = type == "binfmt_misc" && std::sscanf(majorMinor.c_str(), "%u:%u", &major, &minor) == 2
                 ? makedev(major, minor)
                 : 0;
  }
  std::uint32_t entries = 0;
  if (device == 0) return {0, 0};
  if (DIR* dir = ::opendir(kBinfmtMisc)) {
    while (const dirent* d = ::readdir(dir)) {
      const std::string name = d->d_name;
      if (name != "." && name != ".." && name != "register" && name != "status") ++entries;
    }
    ::closedir(dir);
  }
  return {device, entries};
}

// A command line as a user would type it: words with blanks or quotes in single quotes.
std::string commandLine(const std::vector<std::string>& argv) {
  std::string out;
  for (const auto& word : argv) {
    if (!out.empty()) out += ' ';
    const bool plain = !word.empty() && word.find_first_of(" \t\n'\"\\$`*?;&|<>()") ==
                                            std::string::npos;
    if (plain) {
      out += word;
      continue;
    }
    out += '\'';
    for (char c : word) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
    out += '\'';
  }
  return out;
}

}  // namespace

int runCheck(const Invocation& inv) {
  if (inv.args.empty()) {
    std::fprintf(stderr, "binfmtctl: 'check' takes a file (and, after --, its arguments)\n");
    return kExitUsage;
  }
  const std::string& file = inv.args[0];
  const auto start = readStart(file);
  if (!start) return 1;

  // What only this process can see: its root, its user namespace, its binfmt_misc.
  client::CheckRequest request;
  request.path = file;
  request.header = start->header;
  request.size = start->size;
  request.arguments.assign(inv.args.begin() + 1, inv.args.end());
  request.otherRoot = otherRoot();
  request.userNamespace = userNamespace();
  std::tie(request.binfmtMiscDevice, request.binfmtMiscEntries) = binfmtInstance();
  client::Client c;
  client::CheckResult r = c.check(request);
  // An entry without F: the kernel opens its interpreter in this root when the program
  // starts. Only this process can look there, so it asks again with what it found.
  // ("command" is set whenever exec would start the interpreter, also for a file that
  // would then fail, such as a truncated one.)
  if (!r.command.empty() && !r.interpreter.empty() && r.flags.find('F') == std::string::npos &&
      ::access(r.interpreter.c_str(), X_OK) != 0) {
    request.hiddenInterpreter = r.interpreter;
    r = c.check(request);
  }

  std::vector<std::string> notes = r.notes;
  if (::access(file.c_str(), X_OK) != 0)
    notes.push_back(file + " is not executable: chmod +x " + file);
  const bool runs = r.runs();

  if (inv.json) {
    nlohmann::ordered_json j;
    j["file"] = file;
    for (const auto& [key, value] : {std::pair<const char*, const std::string&>{"format", r.format},
                                     {"architecture", r.architecture},
                                     {"verdict", r.verdict},
                                     {"cause", r.cause},
                                     {"handler", r.handler},
                                     {"interpreter", r.interpreter},
                                     {"flags", r.flags},
                                     {"reason", r.reason},
                                     {"fix", r.fix},
                                     {"error", r.error}})
      j[key] = value;
    j["command"] = r.command;
    j["notes"] = notes;
    std::printf("%s\n", j.dump(2).c_str());
    return runs ? 0 : 1;
  }
  std::printf("%s: %s\n", file.c_str(), r.format.c_str());
  if (runs)
    std::printf("  runs: %s\n", r.reason.c_str());
  else if (r.verdict == "unknown")
    std::printf("  unknown: %s\n", r.reason.c_str());
  else if (!r.error.empty())
    std::printf("  fails (\"%s\"): %s\n", r.error.c_str(), r.reason.c_str());
  else
    std::printf("  fails: %s\n", r.reason.c_str());
  if (!r.command.empty()) std::printf("  command: %s\n", commandLine(r.command).c_str());
  for (const auto& n : notes) std::printf("  note: %s\n", n.c_str());
  if (!r.fix.empty()) std::printf("  fix: %s\n", r.fix.c_str());
  return runs ? 0 : 1;
}

}  // namespace binfmtctl
