// The probe programs: for each catalogue architecture, a minimal static ELF executable
// (ELF header, one PT_LOAD program header, 2-4 hand-encoded instructions) that calls
// exit_group(42) or exit(42). Run under a registered handler, exit status 42 proves that
// the emulator really executed foreign code. Used at build time by generate-probes and by
// the tests; no I/O here.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "probe_config.hpp"

namespace binfmtd::probes {

/// The exit status every probe returns (set in probes/meson.build).
inline constexpr int kExitStatus = BINFMTD_PROBE_EXIT_STATUS;

/// How the ELF header describes the program: what QEMU's loader and binfmt_misc look at.
struct ElfTarget {
  bool is64 = false;
  bool bigEndian = false;
  std::uint16_t machine = 0;  // e_machine
  std::uint32_t flags = 0;    // e_flags: ABI selection where the architecture has one
};

struct Probe {
  std::string_view arch;  // canonical catalogue name, also the file name
  ElfTarget elf;
  std::string code;          // the instructions, already in the target's instruction byte order
  std::string_view syscall;  // "exit_group 94 (asm-generic)": for messages and reports
};

/// A catalogue architecture without a probe, and why.
struct Missing {
  std::string_view arch;
  std::string_view reason;
};

/// Every probe, in catalogue order.
std::span<const Probe> all();

/// Catalogue architectures that have no probe, each with the reason.
std::span<const Missing> missing();

/// The probe for a canonical catalogue name, or nullptr.
const Probe* find(std::string_view arch);

/// The complete file: ELF header, one PT_LOAD program header covering the whole file
/// (read + execute) at a fixed address, then the code, which is the entry point.
std::string elfImage(const Probe& probe);

}  // namespace binfmtd::probes
