#include "local_facts.hpp"

#include <sys/stat.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "interop/sources.hpp"

namespace binfmtctl {

namespace {

namespace fs = std::filesystem;

constexpr ino_t kInitialUserNamespaceInode = 0xEFFFFFFDU;  // PROC_USER_INIT_INO

std::string readText(const fs::path& file) {
  std::ifstream in(file);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// mountinfo escapes space, tab, newline and backslash as \ooo.
std::string unescapeMountPath(std::string_view s) {
  std::string out;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\\' && i + 3 < s.size() &&
        std::all_of(s.begin() + i + 1, s.begin() + i + 4, [](char c) { return c >= '0' && c <= '7'; })) {
      out += static_cast<char>((s[i + 1] - '0') * 64 + (s[i + 2] - '0') * 8 + (s[i + 3] - '0'));
      i += 3;
    } else {
      out += s[i];
    }
  }
  return out;
}

void readEntries(LocalFacts& f) {
  std::error_code ec;
  std::vector<std::string> names;
  for (const auto& d : fs::directory_iterator(f.viewPath, ec)) {
    const std::string name = d.path().filename().string();
    if (name != "register" && name != "status") names.push_back(name);
  }
  std::sort(names.begin(), names.end());
  for (const auto& name : names) {
    std::string error;
    auto entry = binfmtd::kernel::parseEntryFile(name, readText(fs::path(f.viewPath) / name), &error);
    if (!entry) {
      f.unreadable.push_back(name + ": " + error);
      continue;
    }
    LocalEntry e{*entry, ::access(entry->interpreter.c_str(), X_OK) == 0, false};
    e.fromContainer = looksInstalledFromContainer(e.entry, e.interpreterExists);
    if (name == "WSLInterop" || name == "WSLInterop-late") f.wslInterop.push_back(name);
    f.entries.push_back(std::move(e));
  }
}

bool isMaskedUnit(const std::string& unit) {
  for (const char* dir : {"/etc/systemd/system/", "/run/systemd/system/"}) {
    std::error_code ec;
    if (fs::read_symlink(std::string(dir) + unit, ec) == "/dev/null") return true;
  }
  return false;
}

void readManagers(LocalFacts& f) {
  std::error_code ec;
  f.systemdPid1 = fs::is_directory("/run/systemd/system", ec);
  if (isMaskedUnit("systemd-binfmt.service")) f.systemdBinfmtState = "masked";
  const auto dirs = binfmtd::interop::binfmtDDirectories();
  std::vector<std::string> seen;
  for (const auto& dir : dirs) {
    for (const auto& d : fs::directory_iterator(dir, ec)) {
      const std::string name = d.path().filename().string();
      if (d.path().extension() != ".conf" || name.front() == '.') continue;
      if (std::find(seen.begin(), seen.end(), name) != seen.end()) continue;
      seen.push_back(name);
      f.binfmtDFiles.push_back(d.path().string());
    }
  }
  std::sort(f.binfmtDFiles.begin(), f.binfmtDFiles.end());
  f.binfmtDRules = binfmtd::interop::readBinfmtDDirectories(dirs).entries.size();

  f.updateBinfmts = ::access("/usr/sbin/update-binfmts", X_OK) == 0;
  for (const auto& d : fs::directory_iterator("/var/lib/binfmts", ec))
    if (d.path().filename().string().front() != '.') f.binfmtSupportFormats.push_back(d.path().filename());
  std::sort(f.binfmtSupportFormats.begin(), f.binfmtSupportFormats.end());
}

}  // namespace

std::vector<std::string> binfmtMountPoints(std::string_view mountinfo) {
  std::vector<std::string> points;
  std::istringstream in{std::string(mountinfo)};
  std::string line;
  while (std::getline(in, line)) {
    // id parent major:minor root MOUNTPOINT options [optional...] - FSTYPE source super
    std::istringstream fields(line);
    std::vector<std::string> w;
    for (std::string s; fields >> s;) w.push_back(s);
    auto dash = std::find(w.begin(), w.end(), "-");
    if (w.size() < 5 || dash == w.end() || dash + 1 == w.end()) continue;
    if (*(dash + 1) == "binfmt_misc") points.push_back(unescapeMountPath(w[4]));
  }
  return points;
}

bool inInitialUserNamespace() {
  struct stat st {};
  // Without /proc/self/ns (very old kernels) there are no user namespaces to be in.
  if (::stat("/proc/self/ns/user", &st) != 0) return true;
  return st.st_ino == kInitialUserNamespaceInode;
}

bool looksInstalledFromContainer(const binfmtd::kernel::Entry& entry, bool interpreterExists) {
  return entry.name.rfind("qemu-", 0) == 0 && entry.flags.find('F') != std::string::npos &&
         !interpreterExists;
}

LocalFacts collectLocalFacts(const std::string& daemonPath) {
  LocalFacts f;
  struct utsname u {};
  if (::uname(&u) == 0) {
    f.kernelRelease = u.release;
    f.machine = u.machine;
  }
  std::string osrelease = readText("/proc/sys/kernel/osrelease");
  std::transform(osrelease.begin(), osrelease.end(), osrelease.begin(), ::tolower);
  f.wslKernel = osrelease.find("microsoft") != std::string::npos;
  f.initialUserNamespace = inInitialUserNamespace();

  f.binfmtMounts = binfmtMountPoints(readText("/proc/self/mountinfo"));
  auto mounted = [&](const std::string& p) {
    return std::find(f.binfmtMounts.begin(), f.binfmtMounts.end(), p) != f.binfmtMounts.end();
  };
  if (!daemonPath.empty() && mounted(daemonPath)) {
    f.viewPath = daemonPath;
  } else if (mounted(kDefaultBinfmtMisc)) {
    f.viewPath = kDefaultBinfmtMisc;
  } else if (!f.binfmtMounts.empty()) {
    f.viewPath = f.binfmtMounts.front();
  }
  if (!f.viewPath.empty()) {
    std::string status = readText(fs::path(f.viewPath) / "status");
    if (status.rfind("enabled", 0) == 0) f.globalEnabled = true;
    if (status.rfind("disabled", 0) == 0) f.globalEnabled = false;
    readEntries(f);
  }
  readManagers(f);
  return f;
}

}  // namespace binfmtctl
