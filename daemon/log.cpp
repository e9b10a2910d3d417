#include "log.hpp"

#include <sys/stat.h>

#include <cstdio>
#include <cstdlib>
#include <string>

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
  if (toJournal && toJournalDirectly(level, message, fields)) return;
  std::fprintf(stderr, "binfmtd: %.*s\n", static_cast<int>(message.size()), message.data());
}

}  // namespace binfmtd::log
