#include "catalog/binary_format.hpp"

#include <algorithm>

#include "kernel/entry.hpp"

namespace binfmtd::catalog {

namespace {

constexpr std::size_t kElfHeaderPrefix = 20;  // e_ident (16) + e_type (2) + e_machine (2)

// An unsigned field of `size` bytes at `at`, in the file's byte order; 0 past the end.
std::uint64_t field(std::string_view header, std::size_t at, std::size_t size, bool little) {
  if (at + size > header.size()) return 0;
  std::uint64_t v = 0;
  for (std::size_t i = 0; i < size; ++i) {
    const auto b = static_cast<unsigned char>(header[little ? at + size - 1 - i : at + i]);
    v = v << 8 | b;
  }
  return v;
}

// Where the program and section header tables end, from the ELF header (e_phoff, e_shoff,
// e_phentsize, e_phnum, e_shentsize, e_shnum): the loader and tools read both, so a file
// that ends before either was cut short. 0 when the header itself is incomplete.
std::uint64_t tablesEnd(std::string_view header, bool is64, bool little) {
  const std::size_t headerSize = is64 ? 64 : 52;
  if (header.size() < headerSize) return 0;
  const std::size_t word = is64 ? 8 : 4;
  // e_ident (16), e_type, e_machine (2 each), e_version (4), then e_entry, e_phoff and
  // e_shoff of one word each, e_flags (4), e_ehsize (2), then the table sizes.
  const std::uint64_t phoff = field(header, 24 + word, word, little);
  const std::uint64_t shoff = field(header, 24 + 2 * word, word, little);
  const std::size_t half = 24 + 3 * word + 4 + 2;
  const std::uint64_t phentsize = field(header, half, 2, little);
  const std::uint64_t phnum = field(header, half + 2, 2, little);
  const std::uint64_t shentsize = field(header, half + 4, 2, little);
  const std::uint64_t shnum = field(header, half + 6, 2, little);
  std::uint64_t end = headerSize;
  if (phnum != 0) end = std::max(end, phoff + phentsize * phnum);
  if (shnum != 0 && shoff != 0) end = std::max(end, shoff + shentsize * shnum);
  return end;
}

kernel::Entry ruleOf(const Architecture& arch) {
  kernel::Entry e;
  e.magic = arch.magic;
  e.mask = arch.mask;
  return e;
}

BinaryFormat elf(std::string_view header) {
  BinaryFormat f;
  if (header.size() < kElfHeaderPrefix) {
    f.kind = FileKind::Truncated;
    f.description = "a truncated ELF file (" + std::to_string(header.size()) + " bytes)";
    return f;
  }
  f.kind = FileKind::Elf;
  const auto byte = [&](std::size_t i) { return static_cast<unsigned char>(header[i]); };
  const bool is64 = byte(4) == 2;
  const bool little = byte(5) == 1;
  f.machine = little ? static_cast<std::uint16_t>(byte(18) | byte(19) << 8)
                     : static_cast<std::uint16_t>(byte(18) << 8 | byte(19));
  f.minimumSize = tablesEnd(header, is64, little);
  for (const auto& arch : all()) {
    if (kernel::matches(ruleOf(arch), header, "")) {
      f.architecture = &arch;
      break;
    }
  }
  f.description = std::string("ELF ") + (is64 ? "64" : "32") + "-bit " + (little ? "LSB" : "MSB") +
                  ", " + (f.architecture ? std::string(f.architecture->name)
                                         : "machine " + std::to_string(f.machine));
  return f;
}

BinaryFormat script(std::string_view header) {
  BinaryFormat f;
  f.kind = FileKind::Script;
  std::string_view line = header.substr(2, header.find('\n') - 2);
  const std::size_t start = line.find_first_not_of(" \t");
  if (start != std::string_view::npos) {
    line = line.substr(start);
    const std::size_t end = line.find_first_of(" \t");
    f.interpreter = std::string(line.substr(0, end));
    // Linux passes the rest of the line, trimmed, as one argument.
    if (end != std::string_view::npos) {
      std::string_view rest = line.substr(end);
      const std::size_t first = rest.find_first_not_of(" \t\r");
      if (first != std::string_view::npos) {
        rest = rest.substr(first, rest.find_last_not_of(" \t\r") - first + 1);
        f.interpreterArgument = std::string(rest);
      }
    }
  }
  f.description = f.interpreter.empty() ? "a script without an interpreter"
                                        : "a script for " + f.interpreter;
  return f;
}

}  // namespace

BinaryFormat identify(std::string_view header) {
  header = header.substr(0, kernel::kBinprmBufSize);
  if (header.starts_with("\x7f" "ELF")) return elf(header);
  if (header.starts_with("#!")) return script(header);
  BinaryFormat f;
  if (header.starts_with("MZ")) {
    f.kind = FileKind::Windows;
    f.description = "a Windows or DOS program (MZ/PE)";
  } else if (header.starts_with("\xca\xfe\xba\xbe")) {
    f.kind = FileKind::Java;
    f.description = "a Java class file";
  } else if (header.size() < 4) {
    f.kind = FileKind::Truncated;
    f.description = "too short to be a program (" + std::to_string(header.size()) + " bytes)";
  } else {
    f.description = "not a format the kernel recognises itself";
  }
  return f;
}

}  // namespace binfmtd::catalog
