// Finding the emulator for an architecture across the layouts distributions use, and
// choosing the default flags for it.
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "architectures.hpp"

namespace binfmtd::catalog {

struct Emulator {
  std::filesystem::path interpreter;  // the path to register (may be a symlink)
  std::filesystem::path resolved;     // symlinks resolved
  bool isStatic = false;              // ELF without PT_INTERP
  std::string defaultFlags;           // canonical: "PF", "P", "F" or ""
};

/// Where emulators are looked for. `root` prefixes every path (tests point it at a
/// fake tree); kernelAtFlags says whether the kernel passes binfmt flags in AT_FLAGS
/// (Linux >= 5.12), which lets QEMU >= 6.0 honour P under any file name.
struct EmulatorSearch {
  std::filesystem::path root = "/";
  bool kernelAtFlags = true;
};

/// Candidate paths in order of preference, for one architecture:
///   /usr/libexec/qemu-binfmt/<qemu>-binfmt-P  (Debian, Ubuntu; signals P by its name)
///   /usr/bin/qemu-<qemu>-static               (Debian, Fedora, Arch static builds)
///   /usr/bin/qemu-<qemu>                       (plain, usually dynamic)
///   /usr/local/bin/qemu-<qemu>-static, /usr/local/bin/qemu-<qemu>
std::vector<std::filesystem::path> candidatePaths(const Architecture& arch);

/// The first candidate that exists and is a regular executable file, or nullopt.
/// Default flags: F when the resolved file is static (works in containers and chroots),
/// P when the name ends in "-binfmt-P" or the kernel passes AT_FLAGS; never C.
std::optional<Emulator> discover(const Architecture& arch, const EmulatorSearch& search = {});

/// Reads the ELF header of a file: true if it is an ELF without a PT_INTERP program
/// header (statically linked). False for dynamic ELF, non-ELF or unreadable files.
bool isStaticElf(const std::filesystem::path& file);

}  // namespace binfmtd::catalog
