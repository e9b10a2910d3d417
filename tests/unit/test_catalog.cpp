// Tests for the architecture catalogue and emulator discovery.
#include <sys/stat.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <cctype>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "catalog/architectures.hpp"
#include "catalog/emulators.hpp"

namespace fs = std::filesystem;
using namespace binfmtd::catalog;

namespace {

// --- helpers ---------------------------------------------------------------------------

// Decodes binfmt_misc's \xHH escapes; every other character stands for itself.
std::string unescape(std::string_view s) {
  std::string out;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\\' && i + 3 < s.size() && s[i + 1] == 'x' &&
        std::isxdigit(static_cast<unsigned char>(s[i + 2])) != 0 &&
        std::isxdigit(static_cast<unsigned char>(s[i + 3])) != 0) {
      out += static_cast<char>(std::stoi(std::string(s.substr(i + 2, 2)), nullptr, 16));
      i += 3;
    } else {
      out += s[i];
    }
  }
  return out;
}

// Renders bytes as \xHH for readable failure messages.
std::string hex(const std::string& bytes) {
  static const char* digits = "0123456789abcdef";
  std::string out;
  for (unsigned char c : bytes) {
    out += "\\x";
    out += digits[c >> 4];
    out += digits[c & 0xf];
  }
  return out;
}

std::string lowerCase(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

std::string patched(std::string bytes,
                    std::initializer_list<std::pair<std::size_t, unsigned char>> patch) {
  for (const auto& [index, value] : patch) bytes.at(index) = static_cast<char>(value);
  return bytes;
}

bool inCi() {
  const char* ci = std::getenv("CI");
  return ci != nullptr && *ci != '\0';
}

// A directory under $TMPDIR removed with everything in it at the end of the test.
class TempDir {
 public:
  TempDir() {
    std::string tmpl = (fs::temp_directory_path() / "binfmtd-catalog-XXXXXX").string();
    REQUIRE(::mkdtemp(tmpl.data()) != nullptr);
    path_ = tmpl;
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  const fs::path& path() const { return path_; }

 private:
  fs::path path_;
};

// Options for a synthesized ELF file: one PT_LOAD plus PT_INTERP when dynamic.
struct ElfSpec {
  bool is64 = true;
  bool bigEndian = false;
  std::uint16_t type = 2;  // ET_EXEC
  bool interp = false;
  bool extendedPhnum = false;  // e_phnum = PN_XNUM, real count in section 0's sh_info
};

void put(std::string& buf, std::size_t at, std::uint64_t value, std::size_t width, bool be) {
  if (buf.size() < at + width) buf.resize(at + width, '\0');
  for (std::size_t i = 0; i < width; ++i) {
    const std::size_t shift = 8 * (be ? width - 1 - i : i);
    buf[at + i] = static_cast<char>((value >> shift) & 0xff);
  }
}

// A minimal, deterministic ELF image: header, program headers right after it, an
// interpreter string if asked, and a section header table when e_phnum overflows.
std::string makeElf(const ElfSpec& s) {
  const bool be = s.bigEndian;
  const std::size_t ehsize = s.is64 ? 64 : 52;
  const std::size_t phentsize = s.is64 ? 56 : 32;
  const std::size_t shentsize = s.is64 ? 64 : 40;
  const std::size_t word = s.is64 ? 8 : 4;
  const std::uint64_t phnum = s.interp ? 2 : 1;

  std::string b(ehsize, '\0');
  b[0] = '\x7f';
  b[1] = 'E';
  b[2] = 'L';
  b[3] = 'F';
  b[4] = s.is64 ? 2 : 1;
  b[5] = be ? 2 : 1;
  b[6] = 1;
  put(b, 16, s.type, 2, be);
  put(b, 18, s.is64 ? 0x3e : 0x03, 2, be);
  put(b, 20, 1, 4, be);
  put(b, s.is64 ? 32 : 28, ehsize, word, be);  // e_phoff
  put(b, s.is64 ? 52 : 40, ehsize, 2, be);     // e_ehsize
  put(b, s.is64 ? 54 : 42, phentsize, 2, be);
  put(b, s.is64 ? 56 : 44, s.extendedPhnum ? 0xffff : phnum, 2, be);

  const std::size_t interpAt = ehsize + phnum * phentsize;
  const std::string interpPath = "/lib/ld-fake.so.1";
  for (std::uint64_t i = 0; i < phnum; ++i) {
    const std::size_t at = ehsize + i * phentsize;
    const bool isInterp = s.interp && i == 0;  // PT_INTERP precedes PT_LOAD, as ld does it
    put(b, at, isInterp ? 3 : 1, 4, be);
    if (isInterp) {
      put(b, at + (s.is64 ? 8 : 4), interpAt, word, be);                 // p_offset
      put(b, at + (s.is64 ? 32 : 16), interpPath.size() + 1, word, be);  // p_filesz
    } else {
      put(b, at + (s.is64 ? 32 : 16), interpAt, word, be);
    }
  }
  b.resize(interpAt, '\0');
  if (s.interp) b += interpPath + '\0';
  if (s.extendedPhnum) {
    const std::size_t shoff = b.size();
    put(b, s.is64 ? 40 : 32, shoff, word, be);  // e_shoff
    put(b, s.is64 ? 58 : 46, shentsize, 2, be);
    put(b, s.is64 ? 60 : 48, 1, 2, be);  // e_shnum
    b.resize(shoff + shentsize, '\0');
    put(b, shoff + (s.is64 ? 44 : 28), phnum, 4, be);  // sh_info
  }
  return b;
}

void writeFile(const fs::path& p, const std::string& content, fs::perms perms) {
  fs::create_directories(p.parent_path());
  {
    std::ofstream out(p, std::ios::binary | std::ios::trunc);
    out.write(content.data(), static_cast<std::streamsize>(content.size()));
    REQUIRE(out.good());
  }
  fs::permissions(p, perms);
}

constexpr auto kExec = fs::perms::owner_all | fs::perms::group_read | fs::perms::group_exec |
                       fs::perms::others_read | fs::perms::others_exec;
constexpr auto kNoExec =
    fs::perms::owner_read | fs::perms::owner_write | fs::perms::group_read | fs::perms::others_read;

const std::string kStaticElf = makeElf({});
const std::string kDynamicElf = makeElf({.interp = true});

const Architecture& arch(std::string_view name) {
  const Architecture* a = find(name);
  REQUIRE(a != nullptr);
  return *a;
}

// --- upstream values, copied from qemu-binfmt-conf.sh (current master) ---------------------

struct Golden {
  const char* name;
  const char* magic;
  const char* mask;
};

// clang-format off
const Golden kUpstream[] = {
    {"i386",
     R"(\x7fELF\x01\x01\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x02\x00\x03\x00)",
     R"(\xff\xff\xff\xff\xff\xfe\xfe\x00\xff\xff\xff\xff\xff\xff\xff\xff\xfe\xff\xff\xff)"},
    {"i486",
     R"(\x7fELF\x01\x01\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x02\x00\x06\x00)",
     R"(\xff\xff\xff\xff\xff\xfe\xfe\x00\xff\xff\xff\xff\xff\xff\xff\xff\xfe\xff\xff\xff)"},
    {"x86_64",
     R"(\x7fELF\x02\x01\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x02\x00\x3e\x00)",
     R"(\xff\xff\xff\xff\xff\xfe\xfe\x00\xff\xff\xff\xff\xff\xff\xff\xff\xfe\xff\xff\xff)"},
    {"alpha",
     R"(\x7fELF\x02\x01\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x02\x00\x26\x90)",
     R"(\xff\xff\xff\xff\xff\xfe\xfe\x00\xff\xff\xff\xff\xff\xff\xff\xff\xfe\xff\xff\xff)"},
    {"arm",
     R"(\x7fELF\x01\x01\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x02\x00\x28\x00)",
     R"(\xff\xff\xff\xff\xff\xff\xff\x00\xff\xff\xff\xff\xff\xff\xff\xff\xfe\xff\xff\xff)"},
    {"armeb",
     R"(\x7fELF\x01\x02\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x02\x00\x28)",
     R"(\xff\xff\xff\xff\xff\xff\xff\x00\xff\xff\xff\xff\xff\xff\xff\xff\xff\xfe\xff\xff)"},
    {"sparc",
     R"(\x7fELF\x01\x02\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x02\x00\x02)",
     R"(\xff\xff\xff\xff\xff\xff\xff\x00\xff\xff\xff\xff\xff\xff\xff\xff\xff\xfe\xff\xff)"},
    {"sparc32plus",
     R"(\x7fELF\x01\x02\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x02\x00\x12)",
     R"(\xff\xff\xff\xff\xff\xff\xff\x00\xff\xff\xff\xff\xff\xff\xff\xff\xff\xfe\xff\xff)"},
    {"sparc64",
     R"(\x7fELF\x02\x02\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x02\x00\x2b)",
     R"(\xff\xff\xff\xff\xff\xff\xff\x00\xff\xff\xff\xff\xff\xff\xff\xff\xff\xfe\xff\xff)"},
    {"ppc",
     R"(\x7fELF\x01\x02\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x02\x00\x14)",
     R"(\xff\xff\xff\xff\xff\xff\xff\x00\xff\xff\xff\xff\xff\xff\xff\xff\xff\xfe\xff\xff)"},
    {"ppc64",
     R"(\x7fELF\x02\x02\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x02\x00\x15)",
     R"(\xff\xff\xff\xff\xff\xff\xff\x00\xff\xff\xff\xff\xff\xff\xff\xff\xff\xfe\xff\xff)"},
    {"ppc64le",
     R"(\x7fELF\x02\x01\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x02\x00\x15\x00)",
     R"(\xff\xff\xff\xff\xff\xff\xff\x00\xff\xff\xff\xff\xff\xff\xff\xff\xfe\xff\xff\x00)"},
    {"m68k",
     R"(\x7fELF\x01\x02\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x02\x00\x04)",
     R"(\xff\xff\xff\xff\xff\xff\xfe\x00\xff\xff\xff\xff\xff\xff\xff\xff\xff\xfe\xff\xff)"},
    {"mips",
     R"(\x7fELF\x01\x02\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x02\x00\x08)"
     R"(\x00\x00\x00\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00)",
     R"(\xff\xff\xff\xff\xff\xff\xff\x00\x00\xff\xff\xff\xff\xff\xff\xff\xff\xfe\xff\xff)"
     R"(\xff\xff\xff\xff\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x20)"},
    {"mipsel",
     R"(\x7fELF\x01\x01\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x02\x00\x08\x00)"
     R"(\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00)",
     R"(\xff\xff\xff\xff\xff\xff\xff\x00\x00\xff\xff\xff\xff\xff\xff\xff\xfe\xff\xff\xff)"
     R"(\xff\xff\xff\xff\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x20\x00\x00\x00)"},
    {"mipsn32",
     R"(\x7fELF\x01\x02\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x02\x00\x08)"
     R"(\x00\x00\x00\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x20)",
     R"(\xff\xff\xff\xff\xff\xff\xff\x00\x00\xff\xff\xff\xff\xff\xff\xff\xff\xfe\xff\xff)"
     R"(\xff\xff\xff\xff\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x20)"},
    {"mipsn32el",
     R"(\x7fELF\x01\x01\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x02\x00\x08\x00)"
     R"(\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x20\x00\x00\x00)",
     R"(\xff\xff\xff\xff\xff\xff\xff\x00\x00\xff\xff\xff\xff\xff\xff\xff\xfe\xff\xff\xff)"
     R"(\xff\xff\xff\xff\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x20\x00\x00\x00)"},
    {"mips64",
     R"(\x7fELF\x02\x02\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x02\x00\x08)",
     R"(\xff\xff\xff\xff\xff\xff\xff\x00\x00\xff\xff\xff\xff\xff\xff\xff\xff\xfe\xff\xff)"},
    {"mips64el",
     R"(\x7fELF\x02\x01\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x02\x00\x08\x00)",
     R"(\xff\xff\xff\xff\xff\xff\xff\x00\x00\xff\xff\xff\xff\xff\xff\xff\xfe\xff\xff\xff)"},
    {"sh4",
     R"(\x7fELF\x01\x01\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x02\x00\x2a\x00)",
     R"(\xff\xff\xff\xff\xff\xff\xff\x00\xff\xff\xff\xff\xff\xff\xff\xff\xfe\xff\xff\xff)"},
    {"sh4eb",
     R"(\x7fELF\x01\x02\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x02\x00\x2a)",
     R"(\xff\xff\xff\xff\xff\xff\xff\x00\xff\xff\xff\xff\xff\xff\xff\xff\xff\xfe\xff\xff)"},
    {"s390x",
     R"(\x7fELF\x02\x02\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x02\x00\x16)",
     R"(\xff\xff\xff\xff\xff\xff\xff\x00\xff\xff\xff\xff\xff\xff\xff\xff\xff\xfe\xff\xff)"},
    {"aarch64",
     R"(\x7fELF\x02\x01\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x02\x00\xb7\x00)",
     R"(\xff\xff\xff\xff\xff\xff\xff\x00\xff\xff\xff\xff\xff\xff\xff\xff\xfe\xff\xff\xff)"},
    {"aarch64_be",
     R"(\x7fELF\x02\x02\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x02\x00\xb7)",
     R"(\xff\xff\xff\xff\xff\xff\xff\x00\xff\xff\xff\xff\xff\xff\xff\xff\xff\xfe\xff\xff)"},
    {"hppa",
     R"(\x7f\x45\x4c\x46\x01\x02\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x02\x00\x0f)",
     R"(\xff\xff\xff\xff\xff\xff\xff\x00\xff\xff\xff\xff\xff\xff\xff\xff\xff\xfe\xff\xff)"},
    {"riscv32",
     R"(\x7fELF\x01\x01\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x02\x00\xf3\x00)",
     R"(\xff\xff\xff\xff\xff\xff\xff\x00\xff\xff\xff\xff\xff\xff\xff\xff\xfe\xff\xff\xff)"},
    {"riscv64",
     R"(\x7fELF\x02\x01\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x02\x00\xf3\x00)",
     R"(\xff\xff\xff\xff\xff\xff\xff\x00\xff\xff\xff\xff\xff\xff\xff\xff\xfe\xff\xff\xff)"},
    {"xtensa",
     R"(\x7fELF\x01\x01\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x02\x00\x5e\x00)",
     R"(\xff\xff\xff\xff\xff\xff\xff\x00\xff\xff\xff\xff\xff\xff\xff\xff\xfe\xff\xff\xff)"},
    {"xtensaeb",
     R"(\x7fELF\x01\x02\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x02\x00\x5e)",
     R"(\xff\xff\xff\xff\xff\xff\xff\x00\xff\xff\xff\xff\xff\xff\xff\xff\xff\xfe\xff\xff)"},
    {"microblaze",
     R"(\x7fELF\x01\x02\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x02\x00\xba\xab)",
     R"(\xff\xff\xff\xff\xff\xff\xff\x00\xff\xff\xff\xff\xff\xff\xff\xff\xfe\xff\xff\xff)"},
    {"microblazeel",
     R"(\x7fELF\x01\x01\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x02\x00\xab\xba)",
     R"(\xff\xff\xff\xff\xff\xff\xff\x00\xff\xff\xff\xff\xff\xff\xff\xff\xfe\xff\xff\xff)"},
    {"or1k",
     R"(\x7fELF\x01\x02\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x02\x00\x5c)",
     R"(\xff\xff\xff\xff\xff\xff\xff\x00\xff\xff\xff\xff\xff\xff\xff\xff\xff\xfe\xff\xff)"},
    {"hexagon",
     R"(\x7fELF\x01\x01\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x02\x00\xa4\x00)",
     R"(\xff\xff\xff\xff\xff\xff\xff\x00\xff\xff\xff\xff\xff\xff\xff\xff\xfe\xff\xff\xff)"},
    {"loongarch64",
     R"(\x7fELF\x02\x01\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x02\x00\x02\x01)",
     R"(\xff\xff\xff\xff\xff\xff\xff\xfc\x00\xff\xff\xff\xff\xff\xff\xff\xfe\xff\xff\xff)"},
};
// clang-format on

// Table b.1: ELF class (1 = 32, 2 = 64), data (1 = LE, 2 = BE) and e_machine.
struct ElfId {
  const char* name;
  int elfClass;
  int data;
  std::uint16_t machine;
};

const ElfId kElfIds[] = {
    {"i386", 1, 1, 0x0003},         {"i486", 1, 1, 0x0006},       {"x86_64", 2, 1, 0x003e},
    {"alpha", 2, 1, 0x9026},        {"arm", 1, 1, 0x0028},        {"armeb", 1, 2, 0x0028},
    {"aarch64", 2, 1, 0x00b7},      {"aarch64_be", 2, 2, 0x00b7}, {"riscv32", 1, 1, 0x00f3},
    {"riscv64", 2, 1, 0x00f3},      {"ppc", 1, 2, 0x0014},        {"ppc64", 2, 2, 0x0015},
    {"ppc64le", 2, 1, 0x0015},      {"s390x", 2, 2, 0x0016},      {"sparc", 1, 2, 0x0002},
    {"sparc32plus", 1, 2, 0x0012},  {"sparc64", 2, 2, 0x002b},    {"sh4", 1, 1, 0x002a},
    {"sh4eb", 1, 2, 0x002a},        {"m68k", 1, 2, 0x0004},       {"mips", 1, 2, 0x0008},
    {"mipsel", 1, 1, 0x0008},       {"mipsn32", 1, 2, 0x0008},    {"mipsn32el", 1, 1, 0x0008},
    {"mips64", 2, 2, 0x0008},       {"mips64el", 2, 1, 0x0008},   {"hppa", 1, 2, 0x000f},
    {"xtensa", 1, 1, 0x005e},       {"xtensaeb", 1, 2, 0x005e},   {"microblaze", 1, 2, 0xbaab},
    {"microblazeel", 1, 1, 0xbaab}, {"or1k", 1, 2, 0x005c},       {"hexagon", 1, 1, 0x00a4},
    {"loongarch64", 2, 1, 0x0102},  {"cris", 1, 1, 0x004c},
};

}  // namespace

// --- names and aliases -------------------------------------------------------------------

TEST_CASE("catalogue holds every architecture QEMU user mode emulates", "[catalog]") {
  std::set<std::string> names;
  for (const auto& a : all()) names.emplace(a.name);
  const std::set<std::string> expected = {
      "i386",       "i486",        "x86_64",       "alpha",  "arm",      "armeb",       "aarch64",
      "aarch64_be", "riscv32",     "riscv64",      "ppc",    "ppc64",    "ppc64le",     "s390x",
      "sparc",      "sparc32plus", "sparc64",      "sh4",    "sh4eb",    "m68k",        "mips",
      "mipsel",     "mipsn32",     "mipsn32el",    "mips64", "mips64el", "hppa",        "xtensa",
      "xtensaeb",   "microblaze",  "microblazeel", "or1k",   "hexagon",  "loongarch64", "cris"};
  CHECK(names == expected);
  CHECK(all().size() == expected.size());  // no duplicates either
}

TEST_CASE("aliases resolve to the right architecture", "[catalog]") {
  const std::vector<std::pair<const char*, const char*>> cases = {
      {"arm64", "aarch64"},
      {"aarch64", "aarch64"},
      {"linux/arm64", "aarch64"},
      {"linux/arm64/v8", "aarch64"},
      {"arm", "arm"},
      {"armhf", "arm"},
      {"armel", "arm"},
      {"armv7l", "arm"},
      {"armv7", "arm"},
      {"armv6l", "arm"},
      {"armv5tel", "arm"},
      {"linux/arm", "arm"},
      {"linux/arm/v5", "arm"},
      {"linux/arm/v6", "arm"},
      {"linux/arm/v7", "arm"},
      {"ppc64el", "ppc64le"},
      {"ppc64le", "ppc64le"},
      {"linux/ppc64le", "ppc64le"},
      {"mips64le", "mips64el"},
      {"mips64el", "mips64el"},
      {"linux/mips64le", "mips64el"},
      {"mipsle", "mipsel"},
      {"mipsel", "mipsel"},
      {"linux/mipsle", "mipsel"},
      {"loong64", "loongarch64"},
      {"loongarch64", "loongarch64"},
      {"linux/loong64", "loongarch64"},
      {"386", "i386"},
      {"i386", "i386"},
      {"i686", "i386"},
      {"x86", "i386"},
      {"linux/386", "i386"},
      {"i486", "i486"},
      {"amd64", "x86_64"},
      {"x86_64", "x86_64"},
      {"x86-64", "x86_64"},
      {"linux/amd64", "x86_64"},
      {"powerpc", "ppc"},
      {"ppc", "ppc"},
      {"riscv64", "riscv64"},
      {"linux/riscv64", "riscv64"},
      {"s390x", "s390x"},
      {"linux/s390x", "s390x"},
      {"ppc64", "ppc64"},
      {"linux/ppc64", "ppc64"},
      {"mips64", "mips64"},
      {"linux/mips64", "mips64"},
      {"mips", "mips"},
      {"linux/mips", "mips"},
      {"parisc", "hppa"},
      {"hppa", "hppa"},
      {"openrisc", "or1k"},
      {"or1k", "or1k"},
      {"cris", "cris"},
      {"aarch64_be", "aarch64_be"},
      {"microblazeel", "microblazeel"},
  };
  for (const auto& [alias, name] : cases) {
    INFO("alias " << alias);
    const Architecture* a = find(alias);
    REQUIRE(a != nullptr);
    CHECK(a->name == name);
  }
}

TEST_CASE("unknown names are not found", "[catalog]") {
  for (const char* name : {"", "vax", "arm65", "linux/arm/v9", "linux/arm64/v9", "qemu-aarch64",
                           " arm64", "arm64 ", "aarch", "linux/", "x86_64x", "mips64elx"}) {
    INFO("name '" << name << "'");
    CHECK(find(name) == nullptr);
  }
}

TEST_CASE("lookup ignores case", "[catalog]") {
  CHECK(find("ARM64") == find("arm64"));
  CHECK(find("Linux/ARM/V7") == find("arm"));
  CHECK(find("PPC64EL") == find("ppc64le"));
  CHECK(find("X86_64") == find("x86_64"));
  CHECK(find("AmD64") == find("x86_64"));
  REQUIRE(find("LoongArch64") != nullptr);
  CHECK(find("LoongArch64")->name == "loongarch64");
}

TEST_CASE("no name or alias belongs to two architectures", "[catalog]") {
  std::map<std::string, std::string> owner;
  for (const auto& a : all()) {
    std::vector<std::string_view> spellings(a.aliases.begin(), a.aliases.end());
    spellings.push_back(a.name);
    std::set<std::string> own;
    for (auto s : spellings) {
      const std::string key = lowerCase(std::string(s));
      INFO(a.name << " spells itself '" << s << "'");
      CHECK(own.insert(key).second);  // also no duplicates within one entry
      auto [it, inserted] = owner.emplace(key, std::string(a.name));
      if (!inserted) FAIL("'" << s << "' belongs to both " << it->second << " and " << a.name);
    }
  }
}

TEST_CASE("OCI platforms are documented and resolve back", "[catalog]") {
  const std::map<std::string, std::vector<std::string>> expected = {
      {"i386", {"linux/386"}},
      {"x86_64", {"linux/amd64"}},
      {"aarch64", {"linux/arm64"}},
      {"arm", {"linux/arm/v7", "linux/arm/v6", "linux/arm/v5"}},
      {"riscv64", {"linux/riscv64"}},
      {"ppc64le", {"linux/ppc64le"}},
      {"ppc64", {"linux/ppc64"}},
      {"s390x", {"linux/s390x"}},
      {"mips64el", {"linux/mips64le"}},
      {"mips64", {"linux/mips64"}},
      {"mipsel", {"linux/mipsle"}},
      {"mips", {"linux/mips"}},
      {"loongarch64", {"linux/loong64"}},
  };
  for (const auto& a : all()) {
    INFO("architecture " << a.name);
    std::vector<std::string> got(a.ociPlatforms.begin(), a.ociPlatforms.end());
    auto it = expected.find(std::string(a.name));
    CHECK(got == (it == expected.end() ? std::vector<std::string>{} : it->second));
    for (auto platform : a.ociPlatforms) CHECK(find(platform) == &a);
  }
}

TEST_CASE("handler names and QEMU binaries", "[catalog]") {
  CHECK(handlerName(arch("aarch64")) == "qemu-aarch64");
  CHECK(handlerName(arch("arm64")) == "qemu-aarch64");
  CHECK(handlerName(arch("i486")) == "qemu-i486");
  CHECK(arch("i486").qemuBinary == "i386");
  for (const auto& a : all()) {
    if (a.name == "i486") continue;
    INFO("architecture " << a.name);
    CHECK(a.qemuBinary == a.name);
    CHECK(handlerName(a) == "qemu-" + std::string(a.name));
  }
}

// --- magic and mask -----------------------------------------------------------------------

TEST_CASE("magic and mask are QEMU's upstream values", "[catalog][magic]") {
  std::set<std::string> checked;
  for (const auto& g : kUpstream) {
    INFO("architecture " << g.name);
    const Architecture& a = arch(g.name);
    CHECK(hex(a.magic) == hex(unescape(g.magic)));
    CHECK(hex(a.mask) == hex(unescape(g.mask)));
    checked.insert(g.name);
  }
  // Everything but cris (Debian only) is upstream.
  CHECK(checked.size() + 1 == all().size());
}

TEST_CASE("magic and mask are well formed ELF matches", "[catalog][magic]") {
  const std::set<std::string> mips32 = {"mips", "mipsel", "mipsn32", "mipsn32el"};
  std::set<std::string> seen;
  for (const auto& id : kElfIds) {
    INFO("architecture " << id.name);
    const Architecture& a = arch(id.name);
    seen.insert(id.name);
    const std::string& m = a.magic;
    const std::string& k = a.mask;
    REQUIRE(m.size() == k.size());
    REQUIRE(m.size() == (mips32.count(id.name) != 0 ? 40u : 20u));
    CHECK(m.substr(0, 4) == std::string{'\x7f', 'E', 'L', 'F'});
    CHECK(k.substr(0, 4) == std::string(4, '\xff'));
    CHECK(static_cast<int>(m[4]) == id.elfClass);
    CHECK(static_cast<int>(m[5]) == id.data);
    CHECK(m[6] == '\x01');                            // EI_VERSION
    CHECK(m.substr(7, 9) == std::string(9, '\0'));    // OSABI, ABIVERSION, pad
    CHECK(k.substr(9, 7) == std::string(7, '\xff'));  // padding must be zero

    const auto lo = static_cast<char>(id.machine & 0xff);
    const auto hi = static_cast<char>(id.machine >> 8);
    const bool le = id.data == 1;
    if (a.name == "microblaze") {
      // Upstream quirk, kept on purpose: e_type in LE order on a BE header.
      CHECK(m.substr(16, 4) == std::string("\x02\x00\xba\xab", 4));
    } else if (le) {
      CHECK(m.substr(16, 4) == std::string({'\x02', '\x00', lo, hi}));
      CHECK(k[16] == '\xfe');  // ET_EXEC and ET_DYN
      CHECK(k[18] == '\xff');
    } else {
      CHECK(m.substr(16, 4) == std::string({'\x00', '\x02', hi, lo}));
      CHECK(k[17] == '\xfe');
      CHECK(k[19] == '\xff');
      CHECK(k[18] == '\xff');
    }

    if (m.size() == 40) {
      // e_version == 1 at 20-23, fully masked; EF_MIPS_ABI2 at the low byte of e_flags.
      CHECK(k.substr(20, 4) == std::string(4, '\xff'));
      CHECK(m.substr(20, 4) ==
            (le ? std::string("\x01\x00\x00\x00", 4) : std::string("\x00\x00\x00\x01", 4)));
      const std::size_t flagsLow = le ? 36 : 39;
      CHECK(k[flagsLow] == '\x20');
      const bool n32 = a.name.find("n32") != std::string_view::npos;
      CHECK(m[flagsLow] == (n32 ? '\x20' : '\x00'));
    }
  }
  CHECK(seen.size() == all().size());
}

TEST_CASE("32-bit MIPS ABIs are told apart by EF_MIPS_ABI2", "[catalog][magic]") {
  // An n32 header must match mipsn32 and not mips (and the other way around).
  auto matches = [](const Architecture& a, const std::string& header) {
    if (header.size() < a.magic.size()) return false;
    for (std::size_t i = 0; i < a.magic.size(); ++i) {
      if (((header[i] ^ a.magic[i]) & a.mask[i]) != 0) return false;
    }
    return true;
  };
  for (bool be : {false, true}) {
    std::string header = makeElf({.is64 = false, .bigEndian = be});
    put(header, 18, 0x0008, 2, be);
    put(header, 36, 0x20, 4, be);  // e_flags: EF_MIPS_ABI2
    const char* n32 = be ? "mipsn32" : "mipsn32el";
    const char* o32 = be ? "mips" : "mipsel";
    CHECK(matches(arch(n32), header));
    CHECK_FALSE(matches(arch(o32), header));
    put(header, 36, 0x0, 4, be);
    CHECK_FALSE(matches(arch(n32), header));
    CHECK(matches(arch(o32), header));
    put(header, 16, 3, 2, be);  // PIE matches too
    CHECK(matches(arch(o32), header));
  }
}

// --- Debian bookworm's qemu-user-static files ----------------------------------------------

TEST_CASE("Debian's binfmt.d files agree with the catalogue where they should",
          "[catalog][debian]") {
  const fs::path dir = "/usr/lib/binfmt.d";
  struct DebianEntry {
    std::string magic, mask, interpreter, flags;
  };
  std::map<std::string, DebianEntry> debian;
  std::error_code ec;
  for (const auto& f : fs::directory_iterator(dir, ec)) {
    const std::string file = f.path().filename().string();
    if (file.rfind("qemu-", 0) != 0 || f.path().extension() != ".conf") continue;
    std::ifstream in(f.path());
    std::string line;
    while (std::getline(in, line)) {
      if (line.empty() || line[0] == '#' || line[0] == ';') continue;
      // :name:type:offset:magic:mask:interpreter:flags, split on the leading delimiter
      std::vector<std::string> fields;
      std::size_t start = 1;
      while (true) {
        const std::size_t end = line.find(line[0], start);
        fields.push_back(line.substr(start, end - start));
        if (end == std::string::npos) break;
        start = end + 1;
      }
      REQUIRE(fields.size() == 7);
      CHECK(fields[1] == "M");
      CHECK(fields[2].empty());
      debian[fields[0]] = {unescape(fields[3]), unescape(fields[4]), fields[5], fields[6]};
    }
  }
  if (debian.empty()) {
    if (inCi()) FAIL("no qemu-*.conf in " << dir << "; install qemu-user-static");
    WARN("no qemu-*.conf in " << dir << " (qemu-user-static not installed); skipping");
    return;
  }

  using P = std::initializer_list<std::pair<std::size_t, unsigned char>>;
  struct Expect {
    const char* name;
    P magic;
    P mask;
    std::size_t length = std::string::npos;  // Debian may stop early
  };
  // Debian 7.2 relative to upstream; an empty patch means "identical".
  const P debMips32Mask = {{8, 0xfe}, {20, 0}, {21, 0}, {22, 0}, {23, 0}};
  const Expect expectations[] = {
      // identical
      {"arm", {}, {}},
      {"armeb", {}, {}},
      {"aarch64", {}, {}},
      {"riscv32", {}, {}},
      {"riscv64", {}, {}},
      {"hppa", {}, {}},
      {"xtensa", {}, {}},
      {"xtensaeb", {}, {}},
      {"hexagon", {}, {}},
      {"loongarch64", {}, {}},
      {"cris", {}, {}},
      // Debian lets EI_OSABI be 0-3 (GNU/Linux is 3); upstream ignores it entirely
      {"ppc", {}, {{7, 0xfc}}},
      {"ppc64", {}, {{7, 0xfc}}},
      {"ppc64le", {}, {{7, 0xfc}}},
      {"s390x", {}, {{7, 0xfc}}},
      {"sparc", {}, {{7, 0xfc}}},
      {"sparc32plus", {}, {{7, 0xfc}}},
      {"sparc64", {}, {{7, 0xfc}}},
      {"sh4", {}, {{7, 0xfc}}},
      {"sh4eb", {}, {{7, 0xfc}}},
      // Debian uses the LE std mask for alpha (EI_DATA and EI_VERSION matched exactly)
      {"alpha", {}, {{5, 0xff}, {6, 0xff}}},
      // upstream lets EI_VERSION's low bit vary for m68k; Debian does not
      {"m68k", {}, {{6, 0xff}}},
      // Debian matches EI_ABIVERSION 0-1; upstream ignores it
      {"mips64", {}, {{8, 0xfe}}},
      {"mips64el", {}, {{8, 0xfe}}},
      // 32-bit MIPS: Debian does not match e_version, and its little-endian entries end
      // at the e_flags byte that holds EF_MIPS_ABI2 (37 bytes instead of 40)
      {"mips", {{23, 0}}, debMips32Mask},
      {"mipsn32", {{23, 0}}, debMips32Mask},
      {"mipsel", {{20, 0}}, debMips32Mask, 37},
      {"mipsn32el", {{20, 0}}, debMips32Mask, 37},
      // microblaze: Debian writes a consistent big-endian e_type with the BE std mask
      {"microblaze", {{16, 0x00}, {17, 0x02}}, {{16, 0xff}, {17, 0xfe}}},
  };

  struct utsname u {};
  REQUIRE(::uname(&u) == 0);
  for (const auto& e : expectations) {
    INFO("architecture " << e.name);
    const Architecture& a = arch(e.name);
    auto it = debian.find(handlerName(a));
    if (it == debian.end()) {
      // Debian leaves out the host's own family.
      CHECK(isHostFamily(a, u.machine));
      continue;
    }
    CHECK(hex(it->second.magic) == hex(patched(a.magic, e.magic).substr(0, e.length)));
    CHECK(hex(it->second.mask) == hex(patched(a.mask, e.mask).substr(0, e.length)));
    // Debian registers our first candidate, with P and F.
    CHECK(it->second.interpreter == candidatePaths(a).front().string());
    CHECK(it->second.flags.find('P') != std::string::npos);
  }
  // Every Debian entry is a catalogue architecture.
  for (const auto& [name, entry] : debian) {
    INFO("Debian entry " << name);
    CHECK(find(name.substr(5)) != nullptr);
  }
}

// --- host family ---------------------------------------------------------------------------

TEST_CASE("host family from uname -m", "[catalog][host]") {
  const std::vector<std::pair<const char*, const char*>> cases = {
      {"x86_64", "i386"},
      {"i686", "i386"},
      {"i586", "i386"},
      {"i486", "i386"},
      {"i386", "i386"},
      {"aarch64", "arm"},
      {"armv7l", "arm"},
      {"armv6l", "arm"},
      {"armv5tel", "arm"},
      {"armv8l", "arm"},
      {"aarch64_be", "armeb"},
      {"armv7b", "armeb"},
      {"ppc64le", "ppcle"},
      {"ppc64", "ppc"},
      {"ppc", "ppc"},
      {"s390x", "s390x"},
      {"riscv64", "riscv64"},
      {"riscv32", "riscv32"},
      {"mips64", "mips"},
      {"mips", "mips"},
      {"loongarch64", "loongarch"},
      {"sparc64", "sparc"},
      {"parisc", "hppa"},
      {"parisc64", "hppa"},
      {"alpha", "alpha"},
      {"m68k", "m68k"},
      {"sh4", "sh4"},
      {"sh4a", "sh4"},
      {"Power Macintosh", "ppc"},
      {"vax", ""},
      {"", ""},
  };
  for (const auto& [uname, family] : cases) {
    INFO("uname -m " << uname);
    CHECK(hostFamily(uname) == family);
  }
}

TEST_CASE("the host's own family is not emulated", "[catalog][host]") {
  SECTION("x86_64 host") {
    CHECK(isHostFamily(arch("x86_64"), "x86_64"));
    CHECK(isHostFamily(arch("i386"), "x86_64"));
    CHECK(isHostFamily(arch("i486"), "x86_64"));
    CHECK_FALSE(isHostFamily(arch("aarch64"), "x86_64"));
    CHECK_FALSE(isHostFamily(arch("arm"), "x86_64"));
  }
  SECTION("aarch64 host") {
    CHECK(isHostFamily(arch("arm"), "aarch64"));
    CHECK(isHostFamily(arch("aarch64"), "aarch64"));
    CHECK_FALSE(isHostFamily(arch("aarch64_be"), "aarch64"));
    CHECK_FALSE(isHostFamily(arch("x86_64"), "aarch64"));
  }
  SECTION("ppc64le host emulates big-endian ppc64") {
    CHECK(isHostFamily(arch("ppc64le"), "ppc64le"));
    CHECK_FALSE(isHostFamily(arch("ppc64"), "ppc64le"));
  }
  SECTION("an unknown host refuses nothing") {
    for (const auto& a : all()) CHECK_FALSE(isHostFamily(a, "vax"));
    for (const auto& a : all()) CHECK_FALSE(isHostFamily(a, ""));
  }
}

// --- emulator discovery --------------------------------------------------------------------

TEST_CASE("candidate paths in order of preference", "[emulators]") {
  const std::vector<fs::path> aarch64 = {
      "/usr/libexec/qemu-binfmt/aarch64-binfmt-P", "/usr/bin/qemu-aarch64-static",
      "/usr/bin/qemu-aarch64", "/usr/local/bin/qemu-aarch64-static", "/usr/local/bin/qemu-aarch64"};
  CHECK(candidatePaths(arch("aarch64")) == aarch64);
  const auto i486 = candidatePaths(arch("i486"));
  REQUIRE(i486.size() == 5);
  CHECK(i486[1] == "/usr/bin/qemu-i386-static");
}

TEST_CASE("emulator discovery in distribution layouts", "[emulators]") {
  TempDir tmp;
  const fs::path& root = tmp.path();
  const Architecture& aarch64 = arch("aarch64");
  const fs::path libexecP = root / "usr/libexec/qemu-binfmt/aarch64-binfmt-P";
  const fs::path usrStatic = root / "usr/bin/qemu-aarch64-static";
  const fs::path usrPlain = root / "usr/bin/qemu-aarch64";

  SECTION("Debian qemu-user-static: libexec symlink to a static build") {
    writeFile(usrStatic, kStaticElf, kExec);
    fs::create_directories(libexecP.parent_path());
    fs::create_symlink("../../bin/qemu-aarch64-static", libexecP);
    for (bool atFlags : {true, false}) {
      INFO("kernelAtFlags " << atFlags);
      auto e = discover(aarch64, {root, atFlags});
      REQUIRE(e);
      CHECK(e->interpreter == libexecP);
      CHECK(e->resolved == fs::canonical(usrStatic));
      CHECK(e->isStatic);
      CHECK(e->defaultFlags == "PF");
    }
  }
  SECTION("Debian qemu-user-binfmt: libexec symlink to a dynamic build") {
    writeFile(usrPlain, kDynamicElf, kExec);
    fs::create_directories(libexecP.parent_path());
    fs::create_symlink("../../bin/qemu-aarch64", libexecP);
    for (bool atFlags : {true, false}) {
      auto e = discover(aarch64, {root, atFlags});
      REQUIRE(e);
      CHECK(e->interpreter == libexecP);
      CHECK_FALSE(e->isStatic);
      CHECK(e->defaultFlags == "P");
    }
  }
  SECTION("Fedora: only /usr/bin/qemu-aarch64-static") {
    writeFile(usrStatic, kStaticElf, kExec);
    auto e = discover(aarch64, {root, true});
    REQUIRE(e);
    CHECK(e->interpreter == usrStatic);
    CHECK(e->isStatic);
    CHECK(e->defaultFlags == "PF");
    e = discover(aarch64, {root, false});
    REQUIRE(e);
    CHECK(e->defaultFlags == "F");
  }
  SECTION("plain dynamic /usr/bin/qemu-aarch64") {
    writeFile(usrPlain, kDynamicElf, kExec);
    auto e = discover(aarch64, {root, true});
    REQUIRE(e);
    CHECK(e->interpreter == usrPlain);
    CHECK(e->resolved == fs::canonical(usrPlain));
    CHECK_FALSE(e->isStatic);
    CHECK(e->defaultFlags == "P");
    e = discover(aarch64, {root, false});
    REQUIRE(e);
    CHECK(e->defaultFlags.empty());
  }
  SECTION("preference: libexec before /usr/bin before /usr/local/bin") {
    writeFile(root / "usr/local/bin/qemu-aarch64-static", kStaticElf, kExec);
    CHECK(discover(aarch64, {root, true})->interpreter ==
          root / "usr/local/bin/qemu-aarch64-static");
    writeFile(usrPlain, kDynamicElf, kExec);
    CHECK(discover(aarch64, {root, true})->interpreter == usrPlain);
    writeFile(usrStatic, kStaticElf, kExec);
    CHECK(discover(aarch64, {root, true})->interpreter == usrStatic);
    fs::create_directories(libexecP.parent_path());
    fs::create_symlink("../../bin/qemu-aarch64", libexecP);
    CHECK(discover(aarch64, {root, true})->interpreter == libexecP);
  }
  SECTION("a file without execute permission is skipped") {
    writeFile(usrStatic, kStaticElf, kNoExec);
    CHECK_FALSE(discover(aarch64, {root, true}));
    writeFile(root / "usr/local/bin/qemu-aarch64", kDynamicElf, kExec);
    auto e = discover(aarch64, {root, true});
    REQUIRE(e);
    CHECK(e->interpreter == root / "usr/local/bin/qemu-aarch64");
  }
  SECTION("directories, dangling and non-executable symlink targets are skipped") {
    fs::create_directories(usrStatic);  // a directory with the right name
    fs::create_directories(libexecP.parent_path());
    fs::create_symlink("../../bin/qemu-aarch64-missing", libexecP);
    writeFile(root / "usr/local/bin/data", kStaticElf, kNoExec);
    fs::create_directories(root / "usr/local/bin");
    fs::create_symlink("data", root / "usr/local/bin/qemu-aarch64");
    CHECK_FALSE(discover(aarch64, {root, true}));
  }
  SECTION("nothing installed") {
    CHECK_FALSE(discover(aarch64, {root, true}));
    CHECK_FALSE(discover(aarch64, {root / "does-not-exist", true}));
  }
  SECTION("i486 uses the i386 emulator") {
    writeFile(root / "usr/bin/qemu-i386-static", kStaticElf, kExec);
    auto e = discover(arch("i486"), {root, true});
    REQUIRE(e);
    CHECK(e->interpreter == root / "usr/bin/qemu-i386-static");
    CHECK(e->defaultFlags == "PF");
  }
  SECTION("a renamed emulator gets P only from the -binfmt-P name or AT_FLAGS") {
    writeFile(root / "opt/emu", kStaticElf, kExec);
    fs::create_directories(root / "usr/bin");
    fs::create_symlink("../../opt/emu", usrStatic);
    // The kernel's AT_FLAGS reach QEMU under any name, but "emu" is not known to be QEMU.
    auto e = discover(aarch64, {root, true});
    REQUIRE(e);
    CHECK(e->defaultFlags == "F");
  }
}

TEST_CASE("emulator discovery on this machine", "[emulators][debian]") {
  const Architecture& aarch64 = arch("aarch64");
  if (!fs::exists("/usr/libexec/qemu-binfmt/aarch64-binfmt-P")) {
    if (inCi()) FAIL("qemu-user-static is not installed");
    WARN("qemu-user-static is not installed; skipping");
    return;
  }
  auto e = discover(aarch64);
  REQUIRE(e);
  CHECK(e->interpreter == "/usr/libexec/qemu-binfmt/aarch64-binfmt-P");
  CHECK(e->resolved == fs::canonical("/usr/bin/qemu-aarch64-static"));
  CHECK(e->isStatic);
  CHECK(e->defaultFlags == "PF");
}

// --- isStaticElf ---------------------------------------------------------------------------

TEST_CASE("isStaticElf tells static from dynamic ELF files", "[emulators][elf]") {
  TempDir tmp;
  auto check = [&](const std::string& image) {
    const fs::path p = tmp.path() / "elf";
    writeFile(p, image, kExec);
    return isStaticElf(p);
  };
  for (bool is64 : {false, true}) {
    for (bool be : {false, true}) {
      INFO("is64 " << is64 << " bigEndian " << be);
      CHECK(check(makeElf({.is64 = is64, .bigEndian = be})));
      CHECK(check(makeElf({.is64 = is64, .bigEndian = be, .type = 3})));  // static PIE
      CHECK_FALSE(check(makeElf({.is64 = is64, .bigEndian = be, .interp = true})));
      CHECK_FALSE(check(makeElf({.is64 = is64, .bigEndian = be, .type = 3, .interp = true})));
      CHECK_FALSE(check(makeElf({.is64 = is64, .bigEndian = be, .type = 1})));  // ET_REL
      CHECK_FALSE(check(makeElf({.is64 = is64, .bigEndian = be, .type = 4})));  // ET_CORE
      CHECK(check(makeElf({.is64 = is64, .bigEndian = be, .extendedPhnum = true})));
      CHECK_FALSE(
          check(makeElf({.is64 = is64, .bigEndian = be, .interp = true, .extendedPhnum = true})));
    }
  }
}

TEST_CASE("isStaticElf on real binaries", "[emulators][elf]") {
  CHECK_FALSE(isStaticElf("/bin/ls"));
  if (!fs::exists("/usr/bin/qemu-aarch64-static")) {
    if (inCi()) FAIL("qemu-user-static is not installed");
    WARN("qemu-user-static is not installed; skipping the static-pie check");
    return;
  }
  CHECK(isStaticElf("/usr/bin/qemu-aarch64-static"));  // static-pie: ET_DYN, no PT_INTERP

  // The same binary as a fixture in a fake tree.
  TempDir tmp;
  const fs::path copy = tmp.path() / "usr/bin/qemu-aarch64-static";
  fs::create_directories(copy.parent_path());
  fs::copy_file("/usr/bin/qemu-aarch64-static", copy);
  auto e = discover(arch("aarch64"), {tmp.path(), false});
  REQUIRE(e);
  CHECK(e->isStatic);
  CHECK(e->defaultFlags == "F");
}

TEST_CASE("isStaticElf rejects garbage without crashing", "[emulators][elf]") {
  TempDir tmp;
  const fs::path p = tmp.path() / "f";
  auto check = [&](const std::string& image) {
    writeFile(p, image, kExec);
    return isStaticElf(p);
  };

  CHECK_FALSE(isStaticElf(tmp.path() / "missing"));
  CHECK_FALSE(isStaticElf(tmp.path()));  // a directory
  CHECK_FALSE(check(""));
  CHECK_FALSE(check("#!/bin/sh\necho hello\n"));
  CHECK_FALSE(check(std::string{'\x7f', 'E', 'L', 'F'}));
  CHECK_FALSE(check(std::string(4096, '\xff')));

  SECTION("every truncation of a valid static ELF") {
    for (bool is64 : {false, true}) {
      const std::string full = makeElf({.is64 = is64});
      REQUIRE(check(full));
      for (std::size_t n = 0; n < full.size(); ++n) {
        INFO("is64 " << is64 << " length " << n);
        CHECK_FALSE(check(full.substr(0, n)));
      }
    }
  }
  SECTION("bad identification and header fields") {
    const std::string good = makeElf({});
    CHECK_FALSE(check(patched(good, {{4, 0}})));  // ELFCLASSNONE
    CHECK_FALSE(check(patched(good, {{4, 3}})));  // unknown class
    CHECK_FALSE(check(patched(good, {{5, 0}})));  // ELFDATANONE
    CHECK_FALSE(check(patched(good, {{5, 3}})));  // unknown data
    std::string bad = good;
    put(bad, 32, ~std::uint64_t{0}, 8, false);  // e_phoff past any file
    CHECK_FALSE(check(bad));
    bad = good;
    put(bad, 32, good.size() - 8, 8, false);  // table runs off the end
    CHECK_FALSE(check(bad));
    bad = good;
    put(bad, 54, 0, 2, false);  // e_phentsize 0
    CHECK_FALSE(check(bad));
    bad = good;
    put(bad, 54, 8, 2, false);  // e_phentsize smaller than a program header
    CHECK_FALSE(check(bad));
    bad = good;
    put(bad, 56, 0, 2, false);  // no program headers
    CHECK_FALSE(check(bad));
    bad = good;
    put(bad, 56, 0xfffe, 2, false);  // far more headers than the file holds
    CHECK_FALSE(check(bad));
    bad = good;
    put(bad, 56, 0xffff, 2, false);  // PN_XNUM without section headers
    CHECK_FALSE(check(bad));
    bad = makeElf({.extendedPhnum = true});
    put(bad, 40, ~std::uint64_t{0} - 10, 8, false);  // e_shoff near the top of the range
    CHECK_FALSE(check(bad));
  }
  SECTION("a FIFO does not block") {
    const fs::path fifo = tmp.path() / "fifo";
    REQUIRE(::mkfifo(fifo.c_str(), 0700) == 0);
    CHECK_FALSE(isStaticElf(fifo));
  }
  SECTION("random corruption never crashes") {
    // Deterministic xorshift so a failure reproduces.
    std::uint64_t state = 0x9e3779b97f4a7c15u;
    auto next = [&] {
      state ^= state << 13;
      state ^= state >> 7;
      state ^= state << 17;
      return state;
    };
    const std::string seeds[] = {makeElf({}), makeElf({.is64 = false, .bigEndian = true}),
                                 makeElf({.interp = true}), makeElf({.extendedPhnum = true})};
    for (int i = 0; i < 2000; ++i) {
      std::string image = seeds[next() % std::size(seeds)];
      const int flips = 1 + static_cast<int>(next() % 8);
      for (int f = 0; f < flips; ++f) {
        image[next() % image.size()] = static_cast<char>(next() & 0xff);
      }
      if (next() % 4 == 0) image.resize(next() % (image.size() + 1));
      CHECK_NOTHROW(check(image));
    }
  }
}
