#include "catalog/architectures.hpp"

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <utility>

namespace binfmtd::catalog {
namespace {

// ELF identification values (elf(5)).
enum class ElfClass : std::uint8_t { k32 = 1, k64 = 2 };
enum class ElfData : std::uint8_t { kLittle = 1, kBig = 2 };

using Patch = std::initializer_list<std::pair<std::size_t, unsigned char>>;

std::string patched(std::string bytes, Patch patch) {
  for (const auto& [index, value] : patch) bytes.at(index) = static_cast<char>(value);
  return bytes;
}

// Bytes 0-19 of an ELF header: ident (magic, class, data, EI_VERSION 1, OSABI 0,
// ABIVERSION 0, padding), then e_type ET_EXEC and e_machine in the file's byte order.
std::string elfMagic(ElfClass cls, ElfData data, std::uint16_t machine) {
  std::string m{'\x7f', 'E', 'L', 'F'};
  m += static_cast<char>(cls);
  m += static_cast<char>(data);
  m += '\x01';
  m.append(9, '\0');
  const auto lo = static_cast<char>(machine & 0xff);
  const auto hi = static_cast<char>(machine >> 8);
  if (data == ElfData::kLittle) {
    m += {'\x02', '\x00', lo, hi};
  } else {
    m += {'\x00', '\x02', hi, lo};
  }
  return m;
}

// QEMU's usual mask: everything significant except EI_OSABI (byte 7), and the low bit
// of e_type so that ET_DYN (PIE) matches as well as ET_EXEC.
std::string stdMask(ElfData data) {
  std::string m(20, '\xff');
  m[7] = '\0';
  m[data == ElfData::kLittle ? 16 : 17] = '\xfe';
  return m;
}

// The x86-style mask used upstream for i386, i486, x86_64 and alpha: it also ignores
// the low bit of EI_DATA and EI_VERSION (bytes 5 and 6).
std::string x86Mask() { return patched(stdMask(ElfData::kLittle), {{5, 0xfe}, {6, 0xfe}}); }

// 32-bit MIPS needs 40 bytes: the o32 and n32 ABIs share e_machine and are told apart
// by EF_MIPS_ABI2 (0x20) in e_flags (bytes 36-39); e_version (bytes 20-23) must be 1.
// EI_ABIVERSION (byte 8) is left free, as for the 64-bit MIPS entries.
std::string mipsMagic(ElfData data, bool n32) {
  std::string m = elfMagic(ElfClass::k32, data, 0x0008);
  std::string tail(20, '\0');
  const bool le = data == ElfData::kLittle;
  tail[le ? 0 : 3] = '\x01';
  if (n32) tail[le ? 16 : 19] = '\x20';
  return m + tail;
}

std::string mipsMask(ElfData data) {
  std::string m = patched(stdMask(data), {{8, 0x00}});
  std::string tail(20, '\0');
  std::fill_n(tail.begin(), 4, '\xff');
  tail[data == ElfData::kLittle ? 16 : 19] = '\x20';
  return m + tail;
}

std::vector<Architecture> buildCatalogue() {
  using enum ElfClass;
  using enum ElfData;
  const std::string le = stdMask(kLittle);
  const std::string be = stdMask(kBig);

  std::vector<Architecture> v;
  // clang-format off
  // Order follows qemu-binfmt-conf.sh's target list roughly, x86 first.
  v.push_back({"i386", "i386", {"386", "linux/386", "i686", "i586", "x86"}, {"linux/386"},
               elfMagic(k32, kLittle, 0x0003), x86Mask(), "i386"});
  v.push_back({"i486", "i386", {}, {}, elfMagic(k32, kLittle, 0x0006), x86Mask(), "i386"});
  v.push_back({"x86_64", "i386",
               {"amd64", "x86-64", "linux/amd64", "linux/amd64/v2", "linux/amd64/v3",
                "linux/amd64/v4"},
               {"linux/amd64"}, elfMagic(k64, kLittle, 0x003e), x86Mask(), "x86_64"});
  v.push_back({"alpha", "alpha", {}, {}, elfMagic(k64, kLittle, 0x9026), x86Mask(), "alpha"});
  v.push_back({"arm", "arm",
               {"armhf", "armel", "armv7l", "armv7", "armv6l", "armv6", "armv5tel", "armv5",
                "linux/arm", "linux/arm/v7", "linux/arm/v6", "linux/arm/v5"},
               {"linux/arm/v7", "linux/arm/v6", "linux/arm/v5"},
               elfMagic(k32, kLittle, 0x0028), le, "arm"});
  v.push_back({"armeb", "armeb", {"armv7b", "armv6b", "armv5teb"}, {},
               elfMagic(k32, kBig, 0x0028), be, "armeb"});
  v.push_back({"aarch64", "arm", {"arm64", "linux/arm64", "linux/arm64/v8"}, {"linux/arm64"},
               elfMagic(k64, kLittle, 0x00b7), le, "aarch64"});
  v.push_back({"aarch64_be", "armeb", {"arm64be"}, {}, elfMagic(k64, kBig, 0x00b7), be,
               "aarch64_be"});
  v.push_back({"riscv32", "riscv32", {}, {}, elfMagic(k32, kLittle, 0x00f3), le, "riscv32"});
  v.push_back({"riscv64", "riscv64", {"linux/riscv64"}, {"linux/riscv64"},
               elfMagic(k64, kLittle, 0x00f3), le, "riscv64"});
  v.push_back({"ppc", "ppc", {"powerpc"}, {}, elfMagic(k32, kBig, 0x0014), be, "ppc"});
  v.push_back({"ppc64", "ppc", {"powerpc64", "linux/ppc64"}, {"linux/ppc64"},
               elfMagic(k64, kBig, 0x0015), be, "ppc64"});
  // Upstream leaves the high byte of e_machine free for ppc64le; kept as is.
  v.push_back({"ppc64le", "ppcle", {"ppc64el", "powerpc64le", "linux/ppc64le"},
               {"linux/ppc64le"}, elfMagic(k64, kLittle, 0x0015), patched(le, {{19, 0x00}}),
               "ppc64le"});
  v.push_back({"s390x", "s390x", {"linux/s390x"}, {"linux/s390x"},
               elfMagic(k64, kBig, 0x0016), be, "s390x"});
  v.push_back({"sparc", "sparc", {}, {}, elfMagic(k32, kBig, 0x0002), be, "sparc"});
  v.push_back({"sparc32plus", "sparc", {}, {}, elfMagic(k32, kBig, 0x0012), be,
               "sparc32plus"});
  v.push_back({"sparc64", "sparc", {}, {}, elfMagic(k64, kBig, 0x002b), be, "sparc64"});
  v.push_back({"sh4", "sh4", {"sh4a"}, {}, elfMagic(k32, kLittle, 0x002a), le, "sh4"});
  v.push_back({"sh4eb", "sh4", {"sh4aeb"}, {}, elfMagic(k32, kBig, 0x002a), be, "sh4eb"});
  v.push_back({"m68k", "m68k", {}, {}, elfMagic(k32, kBig, 0x0004), patched(be, {{6, 0xfe}}),
               "m68k"});
  v.push_back({"mips", "mips", {"linux/mips"}, {"linux/mips"}, mipsMagic(kBig, false),
               mipsMask(kBig), "mips"});
  v.push_back({"mipsel", "mips", {"mipsle", "linux/mipsle"}, {"linux/mipsle"},
               mipsMagic(kLittle, false), mipsMask(kLittle), "mipsel"});
  v.push_back({"mipsn32", "mips", {}, {}, mipsMagic(kBig, true), mipsMask(kBig), "mipsn32"});
  v.push_back({"mipsn32el", "mips", {}, {}, mipsMagic(kLittle, true), mipsMask(kLittle),
               "mipsn32el"});
  v.push_back({"mips64", "mips", {"linux/mips64"}, {"linux/mips64"},
               elfMagic(k64, kBig, 0x0008), patched(be, {{8, 0x00}}), "mips64"});
  v.push_back({"mips64el", "mips", {"mips64le", "linux/mips64le"}, {"linux/mips64le"},
               elfMagic(k64, kLittle, 0x0008), patched(le, {{8, 0x00}}), "mips64el"});
  v.push_back({"hppa", "hppa", {"parisc"}, {}, elfMagic(k32, kBig, 0x000f), be, "hppa"});
  v.push_back({"xtensa", "xtensa", {}, {}, elfMagic(k32, kLittle, 0x005e), le, "xtensa"});
  v.push_back({"xtensaeb", "xtensaeb", {}, {}, elfMagic(k32, kBig, 0x005e), be, "xtensaeb"});
  // Upstream's microblaze entry is a big-endian header whose e_type is written in
  // little-endian order, with the little-endian mask; reproduced byte for byte.
  v.push_back({"microblaze", "microblaze", {}, {},
               patched(elfMagic(k32, kBig, 0xbaab), {{16, 0x02}, {17, 0x00}, {18, 0xba},
                                                     {19, 0xab}}),
               le, "microblaze"});
  v.push_back({"microblazeel", "microblazeel", {}, {}, elfMagic(k32, kLittle, 0xbaab), le,
               "microblazeel"});
  v.push_back({"or1k", "or1k", {"openrisc"}, {}, elfMagic(k32, kBig, 0x005c), be, "or1k"});
  v.push_back({"hexagon", "hexagon", {}, {}, elfMagic(k32, kLittle, 0x00a4), le, "hexagon"});
  // Upstream names this family "loongarch" and lets EI_OSABI be 0-3 but not ABIVERSION.
  v.push_back({"loongarch64", "loongarch", {"loong64", "linux/loong64"}, {"linux/loong64"},
               elfMagic(k64, kLittle, 0x0102), patched(le, {{7, 0xfc}, {8, 0x00}}),
               "loongarch64"});
  // Gone from upstream QEMU, but Debian bookworm (7.2) still ships qemu-cris.
  v.push_back({"cris", "cris", {}, {}, elfMagic(k32, kLittle, 0x004c), le, "cris"});
  // clang-format on
  return v;
}

const std::vector<Architecture>& catalogue() {
  static const std::vector<Architecture> c = buildCatalogue();
  return c;
}

char lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

bool equalsIgnoreCase(std::string_view a, std::string_view b) {
  auto same = [](char x, char y) { return lower(x) == lower(y); };
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), same);
}

bool startsWith(std::string_view s, std::string_view prefix) {
  return s.substr(0, prefix.size()) == prefix;
}

// uname -m spellings that no single architecture owns, as qemu-binfmt-conf.sh's
// qemu_get_family() groups them. `s` is already lower case.
std::string familyByPattern(std::string_view s) {
  if (s.size() == 4 && s[0] == 'i' && s[1] >= '3' && s[1] <= '6' && s.substr(2) == "86") {
    return "i386";
  }
  if (s == "i86pc" || s == "bepc") return "i386";
  if (startsWith(s, "armv") && s.size() > 4 && s[4] >= '4' && s[4] <= '9') {
    if (s.back() == 'l') return "arm";
    if (s.back() == 'b') return "armeb";
  }
  if (startsWith(s, "mips")) return "mips";
  if (startsWith(s, "sparc")) return "sparc";
  if (startsWith(s, "loongarch")) return "loongarch";
  if (startsWith(s, "parisc")) return "hppa";
  if (s == "power macintosh") return "ppc";
  return {};
}

}  // namespace

std::span<const Architecture> all() { return catalogue(); }

const Architecture* find(std::string_view nameOrAlias) {
  if (nameOrAlias.empty()) return nullptr;
  for (const auto& arch : catalogue()) {
    if (equalsIgnoreCase(arch.name, nameOrAlias)) return &arch;
    for (auto alias : arch.aliases) {
      if (equalsIgnoreCase(alias, nameOrAlias)) return &arch;
    }
  }
  return nullptr;
}

std::string handlerName(const Architecture& arch) { return "qemu-" + std::string(arch.name); }

std::string hostFamily(std::string_view unameMachine) {
  if (const auto* arch = find(unameMachine)) return std::string(arch->family);
  std::string lowered(unameMachine);
  std::transform(lowered.begin(), lowered.end(), lowered.begin(), lower);
  return familyByPattern(lowered);
}

bool isHostFamily(const Architecture& arch, std::string_view unameMachine) {
  const std::string family = hostFamily(unameMachine);
  return !family.empty() && family == arch.family;
}

}  // namespace binfmtd::catalog
