#include "catalog/binary_format.hpp"

#include "kernel/entry.hpp"

namespace binfmtd::catalog {

namespace {

constexpr std::size_t kElfHeaderPrefix = 20;  // e_ident (16) + e_type (2) + e_machine (2)

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
    f.interpreter = std::string(line.substr(0, line.find_first_of(" \t")));
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
