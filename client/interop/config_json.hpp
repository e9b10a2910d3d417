// binfmtd's own format: entries as the "handlers" array of binfmtd.json(5).
#pragma once

#include <string>
#include <vector>

#include "kernel/entry.hpp"

namespace binfmtd::interop {

/// A binfmtd.json(5) document with one custom handler per entry, in the given order:
/// name, "enabled": false for a disabled entry, magic/mask/offset or extension,
/// interpreter, flags, and "foreign": "adopt", so that binfmtd takes over the entries the
/// old tool registered instead of reporting them as conflicts. Always custom handlers, never
/// "architectures" items: the handler then registers exactly these bytes, whatever binfmtd's
/// catalogue says. An entry JSON cannot hold (a name or path that is not UTF-8) or
/// that breaks a kernel rule is left out and reported in `problems`.
std::string writeConfigJson(const std::vector<kernel::Entry>& entries,
                            std::vector<std::string>& problems);

}  // namespace binfmtd::interop
