#include "check_command.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <nlohmann/json.hpp>

namespace binfmtctl {

namespace {

constexpr std::size_t kHeaderBytes = 256;  // what the kernel reads to pick a handler

using Result = std::map<std::string, sdbus::Variant>;

std::string text(const Result& r, const char* key) {
  auto it = r.find(key);
  return it == r.end() ? std::string() : it->second.get<std::string>();
}

std::vector<std::string> lines(const Result& r, const char* key) {
  auto it = r.find(key);
  return it == r.end() ? std::vector<std::string>() : it->second.get<std::vector<std::string>>();
}

// The first bytes of the file, read as the user; nullopt (after a message) if unreadable.
std::optional<std::vector<uint8_t>> readHeader(const std::string& file) {
  const int fd = ::open(file.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY);
  if (fd < 0) {
    std::fprintf(stderr, "binfmtctl: cannot open %s: %s\n", file.c_str(), std::strerror(errno));
    return std::nullopt;
  }
  std::vector<uint8_t> header(kHeaderBytes);
  ssize_t n;
  do {
    n = ::read(fd, header.data(), header.size());
  } while (n < 0 && errno == EINTR);
  const int err = errno;
  ::close(fd);
  if (n < 0) {
    std::fprintf(stderr, "binfmtctl: cannot read %s: %s\n", file.c_str(), std::strerror(err));
    return std::nullopt;
  }
  header.resize(static_cast<std::size_t>(n));
  return header;
}

// Inside a user namespace other than the first, a binfmt_misc mounted there is a table of
// its own (Linux >= 6.7), which binfmtd, outside, neither sees nor manages.
bool inUserNamespace() {
  std::ifstream map("/proc/self/uid_map");
  unsigned long inside = 0, outside = 0, count = 0;
  return map >> inside >> outside >> count && !(inside == 0 && outside == 0 && count == 4294967295ul);
}

}  // namespace

int runCheck(sdbus::IConnection& bus, const Invocation& inv) {
  if (inv.args.size() != 1) {
    std::fprintf(stderr, "binfmtctl: 'check' takes one file\n");
    return kExitUsage;
  }
  const std::string& file = inv.args[0];
  const auto header = readHeader(file);
  if (!header) return 1;

  auto proxy = sdbus::createProxy(bus, "org.binfmtd.Binfmt1", "/org/binfmtd/Binfmt1");
  Result r;
  proxy->callMethod("Check")
      .onInterface("org.binfmtd.Binfmt1.Manager")
      .withArguments(file, *header, std::map<std::string, sdbus::Variant>{})
      .storeResultsTo(r);
  std::vector<std::string> notes = lines(r, "notes");
  if (::access(file.c_str(), X_OK) != 0)
    notes.push_back(file + " is not executable: chmod +x " + file);
  if (inUserNamespace())
    notes.push_back("this shell is in a user namespace: if a binfmt_misc was mounted in it, "
                    "that table of its own decides, and binfmtd does not manage it");
  const std::string verdict = text(r, "verdict");
  const bool runs = verdict == "native" || verdict == "handled";

  if (inv.json) {
    nlohmann::ordered_json j;
    j["file"] = file;
    for (const char* key : {"format", "architecture", "verdict", "handler", "interpreter",
                            "reason", "fix"})
      j[key] = text(r, key);
    j["notes"] = notes;
    std::printf("%s\n", j.dump(2).c_str());
    return runs ? 0 : 1;
  }
  std::printf("%s: %s\n", file.c_str(), text(r, "format").c_str());
  if (runs) {
    std::printf("  runs: %s\n", text(r, "reason").c_str());
  } else {
    std::printf("  fails (\"%s\"): %s\n",
                verdict == "broken" ? "No such file or directory" : "Exec format error",
                text(r, "reason").c_str());
  }
  for (const auto& n : notes) std::printf("  note: %s\n", n.c_str());
  if (!text(r, "fix").empty()) std::printf("  fix: %s\n", text(r, "fix").c_str());
  return runs ? 0 : 1;
}

}  // namespace binfmtctl
