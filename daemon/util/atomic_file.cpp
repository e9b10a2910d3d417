#include "util/atomic_file.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>

#include "error.hpp"
#include "unique_fd.hpp"

namespace binfmtd::util {

namespace fs = std::filesystem;

namespace {

[[noreturn]] void ioError(const std::string& what, const fs::path& path, int err) {
  throw Error(Errc::Io, "Failed to " + what + " '" + path.string() + "': " + std::strerror(err));
}

// Like mkdir -p with mode 0755 whatever the umask, for the directories it creates.
void makeDirectories(const fs::path& dir) {
  if (dir.empty()) return;
  struct stat st {};
  if (::stat(dir.c_str(), &st) == 0) {
    if (!S_ISDIR(st.st_mode)) ioError("create directory", dir, ENOTDIR);
    return;
  }
  if (errno != ENOENT) ioError("access", dir, errno);
  if (dir.has_parent_path() && dir.parent_path() != dir) makeDirectories(dir.parent_path());
  if (::mkdir(dir.c_str(), 0755) != 0) {
    if (errno == EEXIST) return;  // someone else was quicker
    ioError("create directory", dir, errno);
  }
  if (::chmod(dir.c_str(), 0755) != 0) ioError("set the mode of", dir, errno);
}

void writeAll(int fd, std::string_view text, const fs::path& path) {
  while (!text.empty()) {
    const ssize_t n = ::write(fd, text.data(), text.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) ioError("write", path, errno);
    text.remove_prefix(static_cast<std::size_t>(n));
  }
}

}  // namespace

void writeFileAtomically(const fs::path& file, std::string_view text) {
  const fs::path dir = file.has_parent_path() ? file.parent_path() : fs::path(".");
  makeDirectories(dir);

  // Same directory, so that rename() is atomic; hidden and not *.json, so that a loader
  // scanning the directory meanwhile never picks it up.
  std::string temp = (dir / ("." + file.filename().string() + ".XXXXXX")).string();
  UniqueFd fd(::mkostemp(temp.data(), O_CLOEXEC));
  if (fd.get() < 0) ioError("create a temporary file in", dir, errno);
  try {
    writeAll(fd.get(), text, temp);
    // mkstemp creates 0600; the config is world-readable like everything under /etc.
    if (::fchmod(fd.get(), 0644) != 0) ioError("set the mode of", temp, errno);
    if (::fsync(fd.get()) != 0) ioError("sync", temp, errno);
    if (::close(fd.release()) != 0) ioError("close", temp, errno);
    if (::rename(temp.c_str(), file.c_str()) != 0) ioError("rename into place", file, errno);
  } catch (...) {
    ::unlink(temp.c_str());
    throw;
  }
  // The rename itself is only durable once the directory is.
  UniqueFd dirFd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (dirFd.get() < 0) ioError("open", dir, errno);
  if (::fsync(dirFd.get()) != 0) ioError("sync", dir, errno);
}

}  // namespace binfmtd::util
