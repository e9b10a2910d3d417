#include "log.hpp"

#include <sys/stat.h>
#include <systemd/sd-journal.h>

#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

namespace binfmtd::log {

namespace {

bool toJournal = false;

// systemd sets JOURNAL_STREAM=<dev>:<inode> for services whose stderr is the journal;
// checking the inode avoids logging to the journal when stderr was redirected.
bool stderrIsJournal() {
  const char* stream = std::getenv("JOURNAL_STREAM");
  if (stream == nullptr) return false;
  unsigned long long dev = 0, ino = 0;
  if (std::sscanf(stream, "%llu:%llu", &dev, &ino) != 2) return false;
  struct stat st {};
  if (fstat(2, &st) != 0) return false;
  return st.st_dev == dev && st.st_ino == ino;
}

}  // namespace

void init() { toJournal = stderrIsJournal(); }

void write(Level level, std::string_view message, Fields fields) {
  if (!toJournal) {
    std::fprintf(stderr, "binfmtd: %.*s\n", static_cast<int>(message.size()), message.data());
    return;
  }
  std::vector<std::string> lines;
  lines.push_back("MESSAGE=" + std::string(message));
  lines.push_back("PRIORITY=" + std::to_string(static_cast<int>(level)));
  lines.push_back("SYSLOG_IDENTIFIER=binfmtd");
  for (const auto& [key, value] : fields) lines.push_back(std::string(key) + "=" + value);
  std::vector<struct iovec> iov;
  for (auto& l : lines) iov.push_back({l.data(), l.size()});
  sd_journal_sendv(iov.data(), static_cast<int>(iov.size()));
}

}  // namespace binfmtd::log
