// Debian's binfmt-support (update-binfmts(8)) formats. Pure functions on text; reading
// the directories is in sources.hpp.
//
// The import format, /usr/share/binfmts/NAME, shipped by packages: "key value" lines with
// the keys package, interpreter, magic, offset, mask, extension, detector, credentials,
// preserve and fix_binary.
//
// The admin database, /var/lib/binfmts/NAME, written by update-binfmts: exactly ten lines,
// package, type ("magic" or "extension"), offset, magic (or the extension), mask,
// interpreter, detector, credentials, preserve, fix_binary; an unset field is an empty line.
//
// update-binfmts registers ":NAME:TYPE:OFFSET:MAGIC:MASK:INTERPRETER:FLAGS" with P for
// preserve, C for credentials and F for fix_binary ("yes" turns each on; anything else
// leaves it off), and the magic and mask text copied verbatim, so the kernel decodes the
// \xHH escapes. A format with a detector is registered with run-detectors as interpreter,
// which binfmtd cannot express: such formats are reported and skipped.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "interop/imported.hpp"
#include "kernel/entry.hpp"

namespace binfmtd::interop {

/// True when `text` looks like an admin database file rather than an import file.
bool isAdminFormat(std::string_view text);

/// Reads an import file for the format `name` (the file name); `file` is for messages.
ImportResult parseImportFormat(std::string_view name, std::string_view text,
                               const std::string& file);

/// Reads an admin database file for the format `name`.
ImportResult parseAdminFormat(std::string_view name, std::string_view text,
                              const std::string& file);

/// Either of the two, by isAdminFormat().
ImportResult parseBinfmtSupport(std::string_view name, std::string_view text,
                                const std::string& file);

/// The package binfmtctl export names in the files it writes.
inline constexpr std::string_view kExportPackage = "binfmtd";

/// The import file for `entry` (to be installed as /usr/share/binfmts/<name>), or "" when
/// binfmt-support cannot register it as binfmtd does; the reason, or what is lost (an O
/// flag without C, a disabled state), is appended to `problems`.
std::string writeImportFormat(const kernel::Entry& entry, std::vector<std::string>& problems);

}  // namespace binfmtd::interop
