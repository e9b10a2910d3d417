#include "engine/trust.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <vector>

#include "error.hpp"

namespace binfmtd::engine {

namespace {

constexpr int kMaxSymlinks = 40;  // as the kernel's path walk allows

[[noreturn]] void untrusted(const kernel::Entry& entry, const std::string& why) {
  throw Error(Errc::InterpreterUntrusted,
              "Refusing interpreter '" + entry.interpreter + "' for '" + entry.name + "': " +
                  why + "; binfmt_misc interpreters must be files only root can change");
}

std::string modeText(mode_t mode) {
  char text[8];
  std::snprintf(text, sizeof text, "%04o", static_cast<unsigned>(mode & 07777));
  return text;
}

// One step of the walk: owned by root and, unless it is a symlink (whose own mode means
// nothing) or a sticky directory, writable by nobody else.
void checkComponent(const kernel::Entry& entry, const std::string& path, const struct stat& st) {
  if (st.st_uid != 0)
    untrusted(entry, path + " is owned by uid " + std::to_string(st.st_uid) + ", not root");
  if (S_ISLNK(st.st_mode)) return;
  const bool sticky = S_ISDIR(st.st_mode) && (st.st_mode & S_ISVTX) != 0;
  if ((st.st_mode & (S_IWGRP | S_IWOTH)) != 0 && !sticky)
    untrusted(entry, path + " is writable by " +
                         ((st.st_mode & S_IWOTH) != 0 ? "others" : "its group") + " (mode " +
                         modeText(st.st_mode) + ")");
}

// Pushes the components of `path` so that the first one is popped first.
void pushComponents(std::vector<std::string>& pending, const std::string& path) {
  std::vector<std::string> parts;
  for (std::size_t at = 0; at <= path.size();) {
    const std::size_t slash = std::min(path.find('/', at), path.size());
    if (slash > at) parts.push_back(path.substr(at, slash - at));
    at = slash + 1;
  }
  pending.insert(pending.end(), parts.rbegin(), parts.rend());
}

}  // namespace

void checkInterpreter(const kernel::Entry& entry, bool allowMissing, TrustedDirs* trusted) {
  const std::string& path = entry.interpreter;
  if (path.empty() || path.front() != '/') untrusted(entry, "it is not an absolute path");
  const auto known = [&](const std::string& dir) {
    return trusted != nullptr && trusted->count(dir) != 0;
  };

  struct stat st {};
  if (!known("/")) {
    if (::lstat("/", &st) != 0) untrusted(entry, std::string("/: ") + std::strerror(errno));
    checkComponent(entry, "/", st);
    if (trusted != nullptr) trusted->insert("/");
  }

  // Walk the path one component at a time, following symlinks by hand, so that every
  // directory and link on the way is checked, not only the final file.
  std::vector<std::string> pending;
  pushComponents(pending, path);
  std::string current;  // resolved so far; "" is the root
  int links = 0;
  while (!pending.empty()) {
    const std::string part = pending.back();
    pending.pop_back();
    if (part == ".") continue;
    if (part == "..") {
      current.resize(current.rfind('/') == std::string::npos ? 0 : current.rfind('/'));
      continue;
    }
    const std::string next = current + "/" + part;
    if (!pending.empty() && known(next)) {  // a directory on the way, checked already
      current = next;
      continue;
    }
    if (::lstat(next.c_str(), &st) != 0) {
      const int err = errno;
      const bool fixBinary = entry.flags.find('F') != std::string::npos;
      if (err == ENOENT && allowMissing && !fixBinary) return;
      if (err == ENOENT)
        throw Error(Errc::EmulatorNotFound,
                    "Interpreter '" + path + "' for '" + entry.name + "' does not exist (" +
                        next + " is missing); install it, or, for an entry without the F "
                        "flag, set \"allowMissingInterpreter\": true");
      untrusted(entry, next + ": " + std::strerror(err));
    }
    checkComponent(entry, next, st);
    if (S_ISLNK(st.st_mode)) {
      if (++links > kMaxSymlinks) untrusted(entry, "too many levels of symbolic links");
      char target[4096];
      const ssize_t n = ::readlink(next.c_str(), target, sizeof target - 1);
      if (n <= 0) untrusted(entry, next + ": " + std::strerror(errno));
      const std::string to(target, static_cast<std::size_t>(n));
      if (to.front() == '/') current.clear();
      pushComponents(pending, to);
      continue;
    }
    if (!pending.empty() && !S_ISDIR(st.st_mode)) untrusted(entry, next + " is not a directory");
    if (trusted != nullptr && S_ISDIR(st.st_mode)) trusted->insert(next);
    current = next;
  }
  if (!S_ISREG(st.st_mode)) untrusted(entry, current + " is not a regular file");
  if ((st.st_mode & 0111) == 0) untrusted(entry, current + " is not executable");
}

}  // namespace binfmtd::engine
