// The architecture catalogue: every architecture QEMU user mode emulates on Linux,
// with the names people type for it (QEMU, OCI/Go, Debian, uname -m) and QEMU's
// binfmt_misc magic and mask (upstream scripts/qemu-binfmt-conf.sh values).
#pragma once

#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace binfmtd::catalog {

struct Architecture {
  std::string_view name;        // canonical, QEMU's name: "aarch64"; handler is "qemu-<name>"
  std::string_view family;      // host family (qemu-binfmt-conf.sh): "arm" for arm and aarch64
  std::vector<std::string_view> aliases;  // everything else accepted: "arm64", "linux/arm64", ...
  std::vector<std::string_view> ociPlatforms;  // "linux/arm64"; empty when OCI has no name
  std::string magic;            // raw bytes at offset 0
  std::string mask;             // raw bytes, same length
  std::string_view qemuBinary;  // binary suffix: usually == name ("i386" for i486)
};

/// Every catalogue architecture, in a stable order.
std::span<const Architecture> all();

/// Looks up a name or alias, case-insensitively ("ARM64", "linux/arm/v7", "ppc64el").
const Architecture* find(std::string_view nameOrAlias);

/// The handler name binfmtd registers for an architecture: "qemu-aarch64".
std::string handlerName(const Architecture& arch);

/// The family of the machine we run on, from uname(2)'s machine field mapped through
/// the catalogue ("x86_64" -> "i386"). Empty when unknown.
std::string hostFamily(std::string_view unameMachine);

/// True when an architecture belongs to the host's family and must not be emulated.
bool isHostFamily(const Architecture& arch, std::string_view unameMachine);

}  // namespace binfmtd::catalog
