#include "catalog/emulators.hpp"
#include "unique_fd.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstdint>
#include <system_error>

namespace binfmtd::catalog {
namespace {

namespace fs = std::filesystem;

constexpr std::uint32_t kPtInterp = 3;
constexpr std::uint16_t kEtExec = 2;
constexpr std::uint16_t kEtDyn = 3;
constexpr std::uint16_t kPnXnum = 0xffff;


// Reads exactly `n` bytes at `offset` within a file of `size` bytes; false on any short
// read or when the range lies outside the file. Every read of the parser goes through here.
bool readAt(int fd, std::uint64_t size, std::uint64_t offset, void* out, std::size_t n) {
  if (offset > size || n > size - offset) return false;
  auto* p = static_cast<unsigned char*>(out);
  while (n > 0) {
    const ssize_t r = ::pread(fd, p, n, static_cast<off_t>(offset));
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) return false;
    p += r;
    n -= static_cast<std::size_t>(r);
    offset += static_cast<std::uint64_t>(r);
  }
  return true;
}

// Decodes an unsigned integer of `width` bytes in the file's byte order.
std::uint64_t decode(const unsigned char* p, std::size_t width, bool bigEndian) {
  std::uint64_t v = 0;
  for (std::size_t i = 0; i < width; ++i) {
    const std::size_t index = bigEndian ? i : width - 1 - i;
    v = (v << 8) | p[index];
  }
  return v;
}

// The parts of an ELF header the static check needs, with the layout differences
// between ELF32 and ELF64 folded in.
struct ElfLayout {
  bool is64;
  bool bigEndian;
  std::size_t headerSize() const { return is64 ? 64 : 52; }
  std::size_t wordSize() const { return is64 ? 8 : 4; }
  std::size_t phoffAt() const { return is64 ? 32 : 28; }
  std::size_t shoffAt() const { return is64 ? 40 : 32; }
  std::size_t phentsizeAt() const { return is64 ? 54 : 42; }
  std::size_t phnumAt() const { return is64 ? 56 : 44; }
  std::size_t shentsizeAt() const { return is64 ? 58 : 46; }
  std::size_t minPhentsize() const { return is64 ? 56 : 32; }
  std::size_t minShentsize() const { return is64 ? 64 : 40; }
  std::size_t shInfoAt() const { return is64 ? 44 : 28; }  // within a section header
};

bool hasNoInterpreter(int fd) {
  struct stat st {};
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_size < 0) return false;
  const auto size = static_cast<std::uint64_t>(st.st_size);

  std::array<unsigned char, 64> h{};
  if (!readAt(fd, size, 0, h.data(), 16)) return false;
  if (h[0] != 0x7f || h[1] != 'E' || h[2] != 'L' || h[3] != 'F') return false;
  if ((h[4] != 1 && h[4] != 2) || (h[5] != 1 && h[5] != 2)) return false;
  const ElfLayout elf{h[4] == 2, h[5] == 2};
  if (!readAt(fd, size, 0, h.data(), elf.headerSize())) return false;
  auto field = [&](std::size_t at, std::size_t width) {
    return decode(h.data() + at, width, elf.bigEndian);
  };

  // Only something the kernel would execute counts: a relocatable object or a core
  // file has no PT_INTERP either.
  const auto type = static_cast<std::uint16_t>(field(16, 2));
  if (type != kEtExec && type != kEtDyn) return false;

  const std::uint64_t phoff = field(elf.phoffAt(), elf.wordSize());
  const std::uint64_t phentsize = field(elf.phentsizeAt(), 2);
  std::uint64_t phnum = field(elf.phnumAt(), 2);
  if (phnum == kPnXnum) {
    // Too many program headers for e_phnum: the count is in section 0's sh_info.
    const std::uint64_t shoff = field(elf.shoffAt(), elf.wordSize());
    const std::uint64_t shentsize = field(elf.shentsizeAt(), 2);
    if (shoff == 0 || shentsize < elf.minShentsize()) return false;
    std::array<unsigned char, 4> info{};
    if (shoff > size || elf.shInfoAt() > size - shoff) return false;
    if (!readAt(fd, size, shoff + elf.shInfoAt(), info.data(), info.size())) return false;
    phnum = decode(info.data(), info.size(), elf.bigEndian);
  }
  // No program headers means nothing to load: not a runnable binary.
  if (phnum == 0 || phentsize < elf.minPhentsize()) return false;
  if (phoff > size || phnum > (size - phoff) / phentsize) return false;

  for (std::uint64_t i = 0; i < phnum; ++i) {
    std::array<unsigned char, 4> pType{};
    if (!readAt(fd, size, phoff + i * phentsize, pType.data(), pType.size())) return false;
    if (decode(pType.data(), pType.size(), elf.bigEndian) == kPtInterp) return false;
  }
  return true;
}

bool endsWith(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

bool startsWith(std::string_view s, std::string_view prefix) {
  return s.substr(0, prefix.size()) == prefix;
}

bool isExecutableRegularFile(const fs::path& p) {
  std::error_code ec;
  const auto st = fs::status(p, ec);
  if (ec || !fs::is_regular_file(st)) return false;
  constexpr auto anyExec = fs::perms::owner_exec | fs::perms::group_exec | fs::perms::others_exec;
  return (st.permissions() & anyExec) != fs::perms::none;
}

}  // namespace

std::vector<fs::path> candidatePaths(const Architecture& arch) {
  const std::string q(arch.qemuBinary);
  return {
      fs::path("/usr/libexec/qemu-binfmt") / (q + "-binfmt-P"),
      fs::path("/usr/bin") / ("qemu-" + q + "-static"),
      fs::path("/usr/bin") / ("qemu-" + q),
      fs::path("/usr/local/bin") / ("qemu-" + q + "-static"),
      fs::path("/usr/local/bin") / ("qemu-" + q),
  };
}

std::optional<Emulator> discover(const Architecture& arch, const EmulatorSearch& search) {
  for (const auto& candidate : candidatePaths(arch)) {
    const fs::path path = search.root / candidate.relative_path();
    std::error_code ec;
    fs::path resolved = fs::canonical(path, ec);
    if (ec || !isExecutableRegularFile(resolved)) continue;

    Emulator e;
    e.interpreter = path;
    e.resolved = std::move(resolved);
    e.isStatic = isStaticElf(e.resolved);
    // Debian's "-binfmt-P" name is how QEMU learns that P is in effect; with AT_FLAGS
    // the kernel tells any QEMU binary directly.
    const bool preserve =
        endsWith(candidate.filename().string(), "-binfmt-P") ||
        (search.kernelAtFlags && startsWith(e.resolved.filename().string(), "qemu-"));
    // C is never a default: it makes setuid binaries run with raised credentials.
    if (preserve) e.defaultFlags += 'P';
    if (e.isStatic) e.defaultFlags += 'F';
    return e;
  }
  return std::nullopt;
}

bool isStaticElf(const fs::path& file) {
  const UniqueFd fd(::open(file.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK));
  if (fd.get() < 0) return false;
  return hasNoInterpreter(fd.get());
}

}  // namespace binfmtd::catalog
