// What a file is, from its first bytes: an ELF binary (class, byte order, machine, and
// the catalogue architecture whose QEMU magic matches it), a script, a Windows or Java
// program, or too short to be anything. For `binfmtctl check`: no I/O here.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "catalog/architectures.hpp"

namespace binfmtd::catalog {

enum class FileKind { Elf, Script, Windows, Java, Truncated, Unknown };

struct BinaryFormat {
  FileKind kind = FileKind::Unknown;
  std::string description;  // "ELF 64-bit LSB, aarch64", "script for /bin/sh", ...
  /// For ELF: the architecture whose binfmt_misc magic matches, as QEMU's rules would.
  const Architecture* architecture = nullptr;
  std::uint16_t machine = 0;  // ELF e_machine
  /// For ELF: the least size the file must have to hold its program and section header
  /// tables, from the ELF header; a smaller file was cut short. 0 when not known.
  std::uint64_t minimumSize = 0;
  std::string interpreter;    // for scripts: the program after "#!"
  std::string interpreterArgument;  // for scripts: the rest of the "#!" line, if any
};

/// Identifies a file from its first bytes (up to 256 are used, as the kernel reads).
BinaryFormat identify(std::string_view header);

}  // namespace binfmtd::catalog
