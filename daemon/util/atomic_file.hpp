// Replacing a file so that a crash leaves either the old or the new one, never half of one:
// binfmtd's drop-in and ownership record, and the files binfmtctl import and export write.
#pragma once

#include <filesystem>
#include <string_view>

namespace binfmtd::util {

/// Writes `text` to `file` atomically: a temporary file in the same directory, fsync,
/// rename, fsync of the directory; missing parent directories are created 0755 and the
/// file is 0644. Throws Error(Io) with the path and the reason on failure.
void writeFileAtomically(const std::filesystem::path& file, std::string_view text);

}  // namespace binfmtd::util
