#include "binfmt_fs.hpp"
#include "unique_fd.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <memory>
#include <optional>
#include <vector>

#include "error.hpp"

namespace binfmtd::kernel {

namespace fs = std::filesystem;

namespace {

std::string errnoText(int err) { return std::strerror(err); }

std::string quoted(const std::string& s) { return "'" + s + "'"; }

// mountinfo escapes space, tab, newline and backslash as \ooo.
std::string unescapeMountPath(std::string_view s) {
  std::string out;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\\' && i + 3 < s.size() && s[i + 1] >= '0' && s[i + 1] <= '3' && s[i + 2] >= '0' &&
        s[i + 2] <= '7' && s[i + 3] >= '0' && s[i + 3] <= '7') {
      out += static_cast<char>((s[i + 1] - '0') << 6 | (s[i + 2] - '0') << 3 | (s[i + 3] - '0'));
      i += 3;
    } else {
      out += s[i];
    }
  }
  return out;
}

std::vector<std::string_view> splitSpaces(std::string_view line) {
  std::vector<std::string_view> out;
  std::size_t i = 0;
  while (i < line.size()) {
    while (i < line.size() && line[i] == ' ') ++i;
    std::size_t start = i;
    while (i < line.size() && line[i] != ' ') ++i;
    if (i > start) out.push_back(line.substr(start, i - start));
  }
  return out;
}

// The path mountinfo would show for dir: absolute, symlinks resolved, no trailing slash.
std::string mountPointOf(const fs::path& dir) {
  std::error_code ec;
  fs::path p = fs::weakly_canonical(fs::absolute(dir, ec), ec);
  if (ec) p = fs::absolute(dir, ec).lexically_normal();
  std::string s = p.string();
  while (s.size() > 1 && s.back() == '/') s.pop_back();
  return s;
}


// Reads a whole small file; returns an errno value, 0 on success.
int readSmallFile(const fs::path& file, std::string& out) {
  UniqueFd f{::open(file.c_str(), O_RDONLY | O_CLOEXEC)};
  if (f.get() < 0) return errno;
  out.clear();
  char buf[4096];
  for (;;) {
    ssize_t n = ::read(f.get(), buf, sizeof buf);
    if (n < 0) {
      if (errno == EINTR) continue;
      return errno;
    }
    if (n == 0) return 0;
    out.append(buf, static_cast<std::size_t>(n));
  }
}

struct WriteResult {
  int err = 0;          // errno, 0 on success
  bool atOpen = false;  // the failure came from open(), not from the kernel's parser
};

// binfmt_misc parses each write() on its own, so the data must go in a single call.
WriteResult writeOnce(const fs::path& file, std::string_view data) {
  UniqueFd f{::open(file.c_str(), O_WRONLY | O_CLOEXEC)};
  if (f.get() < 0) return {errno, true};
  ssize_t n;
  do {
    n = ::write(f.get(), data.data(), data.size());
  } while (n < 0 && errno == EINTR);
  if (n < 0) return {errno, false};
  if (static_cast<std::size_t>(n) != data.size()) return {EIO, false};
  return {};
}

// Errors that mean the same whatever was written.
[[noreturn]] void throwCommon(const WriteResult& r, const fs::path& file,
                              const std::string& prefix) {
  switch (r.err) {
    case EPERM:
    case EACCES:
      throw Error(Errc::AccessDenied, prefix + "cannot write " + file.string() + ": " +
                                          errnoText(r.err) + " (binfmtd must run as root)");
    case EROFS:
      throw Error(Errc::KernelRejected,
                  prefix + file.string() +
                      " is read-only (some environments, WSL for one, bind-mount binfmt_misc "
                      "read-only)");
    default:
      if (r.atOpen)
        throw Error(Errc::Io, prefix + "cannot open " + file.string() + ": " + errnoText(r.err));
      throw Error(Errc::KernelRejected, prefix + "the kernel refused the write to " +
                                            file.string() + ": " + errnoText(r.err));
  }
}

// Whether name can only address an entry file. Writing "0" or "-1" to `status` would
// disable or remove every entry, so control files and paths must never reach a write.
bool isEntryName(const std::string& name) {
  return !name.empty() && name != "." && name != ".." && name != "register" && name != "status" &&
         name.find('/') == std::string::npos && name.find('\0') == std::string::npos;
}

}  // namespace

BinfmtFs::BinfmtFs(fs::path dir, fs::path mountinfo)
    : dir_(std::move(dir)), mountinfo_(std::move(mountinfo)) {}

bool BinfmtFs::isMounted() const {
  std::string text;
  if (int err = readSmallFile(mountinfo_, text); err != 0)
    throw Error(Errc::Io, "Failed to read " + mountinfo_.string() + ": " + errnoText(err));
  const std::string want = mountPointOf(dir_);
  // Mounts stack: the last line for a mount point is the one a path lookup sees.
  std::optional<bool> top;
  std::string_view rest = text;
  while (!rest.empty()) {
    auto end = rest.find('\n');
    auto fields = splitSpaces(rest.substr(0, end));
    rest.remove_prefix(end == std::string_view::npos ? rest.size() : end + 1);
    // Six fixed fields, optional fields, "-", then the filesystem type.
    if (fields.size() < 8) continue;
    auto sep = std::find(fields.begin() + 6, fields.end(), std::string_view("-"));
    if (sep == fields.end() || sep + 1 == fields.end()) continue;
    if (unescapeMountPath(fields[4]) != want) continue;
    top = *(sep + 1) == "binfmt_misc";
  }
  return top.value_or(false);
}

void BinfmtFs::ensureMounted() {
  if (isMounted()) return;
  // Under systemd the directory is an autofs point: the first access mounts it, with
  // no capability needed on our side (the hardened unit has none).
  ::access((dir_ / "status").c_str(), F_OK);
  if (isMounted()) return;
  if (::mount("binfmt_misc", dir_.c_str(), "binfmt_misc", MS_NOSUID | MS_NODEV | MS_NOEXEC,
              nullptr) == 0)
    return;
  int err = errno;
  std::string prefix = "Failed to mount binfmt_misc at " + dir_.string() + ": ";
  switch (err) {
    case ENODEV:
      throw Error(Errc::NotMounted, prefix +
                                        "the kernel has no binfmt_misc filesystem (load the "
                                        "module with 'modprobe binfmt_misc')");
    case EPERM:
      throw Error(Errc::NotMounted, prefix + errnoText(err) + " (mounting needs CAP_SYS_ADMIN)");
    case ENOENT:
      throw Error(Errc::NotMounted, prefix + "no such directory");
    default:
      throw Error(Errc::NotMounted, prefix + errnoText(err));
  }
}

bool BinfmtFs::globalEnabled() const {
  std::string text;
  fs::path status = dir_ / "status";
  if (int err = readSmallFile(status, text); err != 0) {
    if (err == ENOENT)
      throw Error(Errc::NotMounted, "Failed to read " + status.string() +
                                        ": binfmt_misc is not mounted at " + dir_.string());
    throw Error(Errc::Io, "Failed to read " + status.string() + ": " + errnoText(err));
  }
  if (text == "enabled\n") return true;
  if (text == "disabled\n") return false;
  throw Error(Errc::Io, "Failed to read " + status.string() + ": unexpected content " +
                            quoted(text.substr(0, text.find('\n'))));
}

Table BinfmtFs::list() const {
  std::unique_ptr<DIR, int (*)(DIR*)> d(::opendir(dir_.c_str()), ::closedir);
  if (!d) {
    int err = errno;
    if (err == ENOENT)
      throw Error(Errc::NotMounted,
                  "Failed to list binfmt_misc entries: " + dir_.string() + " does not exist");
    throw Error(Errc::Io,
                "Failed to list binfmt_misc entries in " + dir_.string() + ": " + errnoText(err));
  }
  Table table;
  for (;;) {
    errno = 0;
    const dirent* de = ::readdir(d.get());
    if (de == nullptr) {
      if (int err = errno; err != 0)
        throw Error(Errc::Io, "Failed to list binfmt_misc entries in " + dir_.string() + ": " +
                                  errnoText(err));
      break;
    }
    std::string name = de->d_name;
    if (name == "." || name == ".." || name == "register" || name == "status") continue;
    std::string text;
    int err = readSmallFile(dir_ / name, text);
    if (err == ENOENT) continue;  // removed since readdir(); nothing to report
    if (err != 0) {
      table.unreadable.push_back(name + ": " + errnoText(err));
      continue;
    }
    std::string reason;
    if (auto entry = parseEntryFile(name, text, &reason)) {
      table.entries.push_back(std::move(*entry));
    } else {
      table.unreadable.push_back(name + ": " + reason);
    }
  }
  std::sort(table.unreadable.begin(), table.unreadable.end());
  return table;
}

void BinfmtFs::setGlobalEnabled(bool enabled) {
  const fs::path file = dir_ / "status";
  WriteResult r = writeOnce(file, enabled ? "1" : "0");
  if (r.err == 0) return;
  throwCommon(r, file,
              std::string("Failed to ") + (enabled ? "enable" : "disable") + " binfmt_misc: ");
}

void BinfmtFs::check(const Entry& entry) const {
  const std::string prefix = "Failed to register " + quoted(entry.name) + ": ";
  if (auto reason = validate(entry)) throw Error(Errc::InvalidEntry, prefix + *reason);
  if (entry.flags.find('F') == std::string::npos) return;
  // The kernel opens an F interpreter at registration; find out now what it would say.
  struct stat st {};
  if (::stat(entry.interpreter.c_str(), &st) != 0)
    throw Error(Errc::EmulatorNotFound, prefix + "interpreter " + quoted(entry.interpreter) +
                                            " does not exist (the F flag opens it at "
                                            "registration): " + errnoText(errno));
  if (!S_ISREG(st.st_mode) || ::access(entry.interpreter.c_str(), X_OK) != 0)
    throw Error(Errc::KernelRejected, prefix + "interpreter " + quoted(entry.interpreter) +
                                          " is not an executable regular file (the F flag "
                                          "opens it at registration)");
}

void BinfmtFs::add(const Entry& entry) {
  const std::string prefix = "Failed to register " + quoted(entry.name) + ": ";
  if (auto reason = validate(entry)) throw Error(Errc::InvalidEntry, prefix + *reason);

  const fs::path file = dir_ / "register";
  WriteResult r = writeOnce(file, registerString(entry));
  if (r.err == 0) return;
  const bool fixBinary = entry.flags.find('F') != std::string::npos;
  if (r.atOpen && r.err == ENOENT)
    throw Error(Errc::NotMounted, prefix + "binfmt_misc is not mounted at " + dir_.string());
  if (!r.atOpen) {
    switch (r.err) {
      case EEXIST:
        throw Error(Errc::KernelRejected, prefix + "an entry with this name already exists");
      case ENOENT:
        if (fixBinary)
          throw Error(Errc::KernelRejected, prefix + "interpreter " + quoted(entry.interpreter) +
                                                " does not exist (the F flag opens it at "
                                                "registration)");
        break;
      case EACCES:
        if (fixBinary)
          throw Error(Errc::KernelRejected,
                      prefix + "interpreter " + quoted(entry.interpreter) +
                          " is not an executable regular file (the F flag opens it at "
                          "registration): " +
                          errnoText(r.err));
        break;
      case ENAMETOOLONG:
        throw Error(Errc::KernelRejected, prefix + "the name is too long for the kernel (" +
                                              std::to_string(entry.name.size()) +
                                              " bytes; at most " + std::to_string(kMaxNameLength) +
                                              ")");
      case EINVAL:
        if (auto reason = validate(entry)) throw Error(Errc::InvalidEntry, prefix + *reason);
        throw Error(Errc::KernelRejected,
                    prefix +
                        "the kernel rejected the definition (it checks the name, type M or E, "
                        "offset plus magic length within 256 bytes, mask length equal to the "
                        "magic's, a non-empty interpreter, flags from P, O, C, F and a register "
                        "string of at most 1920 bytes)");
      default:
        break;
    }
  }
  throwCommon(r, file, prefix);
}

void BinfmtFs::setEnabled(const std::string& name, bool enabled) {
  writeFile(dir_ / name, enabled ? "1" : "0", name, enabled ? "enable" : "disable");
}

void BinfmtFs::remove(const std::string& name) { writeFile(dir_ / name, "-1", name, "remove"); }

void BinfmtFs::writeFile(const fs::path& file, std::string_view data, const std::string& entryName,
                         const char* what) const {
  const std::string prefix = std::string("Failed to ") + what + " " + quoted(entryName) + ": ";
  if (!isEntryName(entryName))
    throw Error(Errc::NoSuchHandler, prefix + "not the name of a binfmt_misc entry");
  WriteResult r = writeOnce(file, data);
  if (r.err == 0) return;
  if (r.err == ENOENT)
    throw Error(Errc::NoSuchHandler, prefix + "no such entry in " + dir_.string());
  throwCommon(r, file, prefix);
}

}  // namespace binfmtd::kernel
