// Reading other tools' handler definitions from disk: binfmt.d directories with systemd's
// precedence and masking, and binfmt-support's directories. The parsing itself is in
// binfmt_d.hpp and binfmt_support.hpp.
#pragma once

#include <filesystem>
#include <vector>

#include "interop/imported.hpp"

namespace binfmtd::interop {

/// binfmt.d's directories, highest precedence first (binfmt.d(5)), under `root`:
/// /etc, /run, /usr/local/lib, /usr/lib and /lib.
std::vector<std::filesystem::path> binfmtDDirectories(const std::filesystem::path& root = "/");

/// What systemd-binfmt applies from `dirs` (highest precedence first): every *.conf file
/// whose name does not start with a dot, all of them sorted by file name whatever their
/// directory. For a file name only the first directory that has it counts; when that file
/// is empty, a symlink to /dev/null or unreadable, it hides the ones below (masking).
/// Later definitions of a name replace earlier ones, as when systemd-binfmt applies them.
ImportResult readBinfmtDDirectories(const std::vector<std::filesystem::path>& dirs);

/// The rules in explicitly named binfmt.d files, in the given order (systemd-binfmt FILE...).
ImportResult readBinfmtDFiles(const std::vector<std::filesystem::path>& files);

/// binfmt-support's directories under `root`, the admin database first:
/// /var/lib/binfmts, /usr/share/binfmts.
std::vector<std::filesystem::path> binfmtSupportDirectories(
    const std::filesystem::path& root = "/");

/// Every format in `paths` (files, or directories whose files that do not start with a dot
/// are formats named like the file), each file in either format (isAdminFormat()). For a
/// format name the first path that has it wins, so the admin database, listed first,
/// overrides a package's import file.
ImportResult readBinfmtSupport(const std::vector<std::filesystem::path>& paths);

}  // namespace binfmtd::interop
