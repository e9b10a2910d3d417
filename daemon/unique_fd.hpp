#pragma once

#include <unistd.h>

#include <utility>

namespace binfmtd {

/// A file descriptor that closes itself: the one RAII wrapper every layer uses.
class UniqueFd {
 public:
  explicit UniqueFd(int fd = -1) : fd_(fd) {}
  UniqueFd(const UniqueFd&) = delete;
  UniqueFd& operator=(const UniqueFd&) = delete;
  ~UniqueFd() {
    if (fd_ >= 0) ::close(fd_);
  }
  int get() const { return fd_; }
  /// Gives up ownership (to close it explicitly and check the result).
  int release() { return std::exchange(fd_, -1); }

 private:
  int fd_;
};

}  // namespace binfmtd
