#include "interop/sources.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <map>
#include <optional>
#include <set>

#include "interop/binfmt_d.hpp"
#include "interop/binfmt_support.hpp"
#include "unique_fd.hpp"

namespace binfmtd::interop {

namespace fs = std::filesystem;

namespace {

// Handler definitions are small; the cap keeps a stray huge file from being slurped.
constexpr std::size_t kMaxFileSize = 1024 * 1024;

// The whole file, or nullopt with the reason in `error`.
std::optional<std::string> readText(const fs::path& path, std::string& error) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY));
  if (fd.get() < 0) {
    error = std::strerror(errno);
    return std::nullopt;
  }
  std::string text;
  char buffer[8192];
  for (;;) {
    const ssize_t n = ::read(fd.get(), buffer, sizeof buffer);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      error = std::strerror(errno);
      return std::nullopt;
    }
    if (n == 0) return text;
    text.append(buffer, static_cast<std::size_t>(n));
    if (text.size() > kMaxFileSize) {
      error = "file larger than " + std::to_string(kMaxFileSize) + " bytes";
      return std::nullopt;
    }
  }
}

bool isDevNullLink(const fs::path& path) {
  std::error_code ec;
  return fs::is_symlink(path, ec) && fs::read_symlink(path, ec) == "/dev/null";
}

// File names in `dir` (sorted), skipping dot files as systemd's directory walks do.
std::vector<std::string> visibleNames(const fs::path& dir) {
  std::vector<std::string> names;
  std::error_code ec;
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    std::string name = it->path().filename().string();
    if (name.front() != '.') names.push_back(std::move(name));
  }
  std::sort(names.begin(), names.end());
  return names;
}

}  // namespace

std::vector<fs::path> binfmtDDirectories(const fs::path& root) {
  std::vector<fs::path> dirs;
  for (const char* dir : {"etc", "run", "usr/local/lib", "usr/lib", "lib"})
    dirs.push_back(root / dir / "binfmt.d");
  return dirs;
}

ImportResult readBinfmtDDirectories(const std::vector<fs::path>& dirs) {
  // File name -> every directory's file of that name, highest precedence first.
  std::map<std::string, std::vector<fs::path>> byName;
  std::set<fs::path> seenDirs;
  for (const fs::path& dir : dirs) {
    // /lib is usually a symlink to /usr/lib: the same files, not a lower layer.
    std::error_code ec;
    const fs::path real = fs::canonical(dir, ec);
    if (ec || !seenDirs.insert(real).second) continue;
    for (const std::string& name : visibleNames(dir)) {
      if (name.size() > 5 && name.ends_with(".conf")) byName[name].push_back(dir / name);
    }
  }

  ImportResult result;
  for (const auto& [name, paths] : byName) {
    const fs::path& winner = paths.front();
    std::string error;
    const auto text = isDevNullLink(winner) ? std::string() : readText(winner, error);
    if (!text) result.problems.push_back(winner.string() + ": " + error + ", ignoring");
    if (!text || text->empty()) {
      // systemd-binfmt reads nothing from it, so the same name below is hidden too.
      for (std::size_t i = 1; i < paths.size(); ++i)
        result.problems.push_back(paths[i].string() + ": masked by " + winner.string() +
                                  ", ignoring");
      continue;
    }
    result.append(parseBinfmtD(*text, winner.string()));
  }
  keepLastDefinitions(result);
  return result;
}

ImportResult readBinfmtDFiles(const std::vector<fs::path>& files) {
  ImportResult result;
  for (const fs::path& file : files) {
    std::string error;
    if (auto text = readText(file, error)) {
      result.append(parseBinfmtD(*text, file.string()));
    } else {
      result.problems.push_back(file.string() + ": " + error + ", ignoring");
    }
  }
  keepLastDefinitions(result);
  return result;
}

std::vector<fs::path> binfmtSupportDirectories(const fs::path& root) {
  return {root / "var/lib/binfmts", root / "usr/share/binfmts"};
}

ImportResult readBinfmtSupport(const std::vector<fs::path>& paths) {
  std::set<std::string> seen;
  ImportResult result;
  auto readFormat = [&](const fs::path& file) {
    const std::string name = file.filename().string();
    if (!seen.insert(name).second) return;  // a path listed earlier has this format
    std::string error;
    if (auto text = readText(file, error)) {
      result.append(parseBinfmtSupport(name, *text, file.string()));
    } else {
      result.problems.push_back(file.string() + ": " + error + ", ignoring");
    }
  };
  for (const fs::path& path : paths) {
    std::error_code ec;
    if (!fs::is_directory(path, ec)) {
      readFormat(path);
      continue;
    }
    for (const std::string& name : visibleNames(path)) {
      if (fs::is_regular_file(path / name, ec)) readFormat(path / name);
    }
  }
  return result;
}

}  // namespace binfmtd::interop
