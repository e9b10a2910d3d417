// The backend of log.hpp for binfmtd-apply, which does without libsystemd: every message
// goes to stderr, which under a systemd unit is the journal anyway (without the fields).
#include "log.hpp"

namespace binfmtd::log {

bool toJournalDirectly(Level, std::string_view, Fields) { return false; }

}  // namespace binfmtd::log
