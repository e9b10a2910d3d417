// Logging: to the journal with structured fields when stderr is connected to it (under
// systemd), otherwise one plain line per message on stderr.
#pragma once

#include <initializer_list>
#include <string>
#include <string_view>
#include <utility>

namespace binfmtd::log {

enum class Level { Error = 3, Warning = 4, Notice = 5, Info = 6, Debug = 7 };

/// Extra journal fields, upper case by convention: {"HANDLER", "qemu-aarch64"}.
using Fields = std::initializer_list<std::pair<const char*, std::string>>;

/// Decides once where messages go (journal if JOURNAL_STREAM names our stderr).
void init();

void write(Level level, std::string_view message, Fields fields = {});

/// Sends one message with its fields to the journal; false when this build cannot (the
/// daemon links log_journal.cpp, binfmtd-apply log_stderr.cpp: no libsystemd).
bool toJournalDirectly(Level level, std::string_view message, Fields fields);

inline void error(std::string_view m, Fields f = {}) { write(Level::Error, m, f); }
inline void warning(std::string_view m, Fields f = {}) { write(Level::Warning, m, f); }
inline void notice(std::string_view m, Fields f = {}) { write(Level::Notice, m, f); }
inline void info(std::string_view m, Fields f = {}) { write(Level::Info, m, f); }

}  // namespace binfmtd::log
