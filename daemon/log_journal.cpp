// The journal backend of log.hpp: structured fields (HANDLER=, CALLER_UID=, ...).
#include <systemd/sd-journal.h>

#include <string>
#include <vector>

#include "log.hpp"

namespace binfmtd::log {

bool toJournalDirectly(Level level, std::string_view message, Fields fields) {
  std::vector<std::string> lines;
  lines.push_back("MESSAGE=" + std::string(message));
  lines.push_back("PRIORITY=" + std::to_string(static_cast<int>(level)));
  lines.push_back("SYSLOG_IDENTIFIER=binfmtd");
  for (const auto& [key, value] : fields) lines.push_back(std::string(key) + "=" + value);
  std::vector<struct iovec> iov;
  for (auto& l : lines) iov.push_back({l.data(), l.size()});
  return sd_journal_sendv(iov.data(), static_cast<int>(iov.size())) >= 0;
}

}  // namespace binfmtd::log
