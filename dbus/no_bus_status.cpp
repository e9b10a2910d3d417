#include "no_bus_status.hpp"

#include <fcntl.h>
#include <time.h>
#include <unistd.h>

#include <thread>

namespace binfmtd::nobus {

namespace {

std::string readAll(int fd) {
  std::string text;
  char buffer[4096];
  off_t offset = 0;
  for (ssize_t n; (n = ::pread(fd, buffer, sizeof buffer, offset)) > 0; offset += n)
    text.append(buffer, static_cast<std::size_t>(n));
  return text;
}

}  // namespace

std::uint64_t realtimeUsec() {
  struct timespec ts {};
  clock_gettime(CLOCK_REALTIME, &ts);
  return static_cast<std::uint64_t>(ts.tv_sec) * 1000000u +
         static_cast<std::uint64_t>(ts.tv_nsec) / 1000u;
}

bool locked(const std::filesystem::path& file) {
  const int fd = ::open(file.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  // F_OFD_GETLK only tests: a reader never takes the lock, so it never keeps a daemon
  // that is starting from taking it.
  struct flock lock {};
  lock.l_type = F_RDLCK;
  lock.l_whence = SEEK_SET;
  const bool held = ::fcntl(fd, F_OFD_GETLK, &lock) == 0 && lock.l_type != F_UNLCK;
  ::close(fd);
  return held;
}

std::optional<nlohmann::json> readRunning(const std::filesystem::path& stateDir) {
  const std::filesystem::path file = stateDir / kFileName;
  // The daemon rewrites the file in place: a read during a rewrite may not parse; the
  // next one does.
  for (int attempt = 0; attempt < 20; ++attempt) {
    if (!locked(file)) return std::nullopt;
    const int fd = ::open(file.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return std::nullopt;
    const std::string text = readAll(fd);
    ::close(fd);
    auto doc = nlohmann::json::parse(text, nullptr, false);
    if (!doc.is_discarded() && doc.is_object()) return doc;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return std::nullopt;
}

}  // namespace binfmtd::nobus
