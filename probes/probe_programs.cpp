#include "probe_programs.hpp"

#include <cstddef>
#include <initializer_list>
#include <vector>

namespace binfmtd::probes {
namespace {

// Every probe is loaded here: a multiple of 64 KiB (the largest page size Linux uses on any
// catalogue architecture), far above mmap_min_addr, and the usual text address of x86_64,
// aarch64 and MIPS programs.
constexpr std::uint64_t kLoadAddress = 0x400000;
constexpr unsigned kStatus = kExitStatus;

// e_machine values (elf(5), and binutils' include/elf/common.h for the rarer ones).
enum Machine : std::uint16_t {
  kEmSparc = 2,
  kEm386 = 3,
  kEm68k = 4,
  kEm486 = 6,
  kEmMips = 8,
  kEmParisc = 15,
  kEmSparc32Plus = 18,
  kEmPpc = 20,
  kEmPpc64 = 21,
  kEmS390 = 22,
  kEmArm = 40,
  kEmSh = 42,
  kEmSparcV9 = 43,
  kEmX86_64 = 62,
  kEmCris = 76,
  kEmOpenRisc = 92,
  kEmXtensa = 94,
  kEmHexagon = 164,
  kEmAarch64 = 183,
  kEmRiscv = 243,
  kEmLoongArch = 258,
  kEmAlpha = 0x9026,
  kEmMicroBlazeOld = 0xbaab,  // QEMU's catalogue rules use the pre-standard number
};

std::string le(std::uint64_t value, int size) {
  std::string s;
  for (int i = 0; i < size; ++i) s += static_cast<char>(value >> (8 * i) & 0xff);
  return s;
}

std::string be(std::uint64_t value, int size) {
  std::string s;
  for (int i = size - 1; i >= 0; --i) s += static_cast<char>(value >> (8 * i) & 0xff);
  return s;
}

std::string put(bool bigEndian, std::uint64_t value, int size) {
  return bigEndian ? be(value, size) : le(value, size);
}

// Fixed-width instructions, stored in the byte order the CPU fetches them in.
std::string words(bool bigEndian, std::initializer_list<std::uint32_t> ws) {
  std::string s;
  for (auto w : ws) s += put(bigEndian, w, 4);
  return s;
}

std::string halves(bool bigEndian, std::initializer_list<std::uint16_t> hs) {
  std::string s;
  for (auto h : hs) s += put(bigEndian, h, 2);
  return s;
}

std::string bytes(std::initializer_list<unsigned char> bs) {
  return std::string(bs.begin(), bs.end());
}

// --- Instruction encoders, one small group per instruction set. Each probe puts the
// exit status in the first argument register, the system call number in the register the
// ABI reads it from, and traps. exit_group rather than exit where it fits: it ends the
// whole process, as a C program's return from main does.

// x86-64: mov edi, 42; mov eax, 231 (exit_group); syscall.
std::string x86_64() {
  return bytes({0xbf}) + le(kStatus, 4) + bytes({0xb8}) + le(231, 4) + bytes({0x0f, 0x05});
}

// i386 (int 0x80 ABI): mov ebx, 42; mov eax, 252 (exit_group); int 0x80.
std::string i386() {
  return bytes({0xbb}) + le(kStatus, 4) + bytes({0xb8}) + le(252, 4) + bytes({0xcd, 0x80});
}

// Alpha: lda $16, 42($31); lda $0, 405($31) (exit_group; $0 = v0 holds the number,
// $16 = a0 the argument, $31 reads as zero); call_pal 0x83 (callsys).
std::string alpha() {
  auto lda = [](unsigned ra, unsigned disp) { return 0x08u << 26 | ra << 21 | 31u << 16 | disp; };
  return words(false, {lda(16, kStatus), lda(0, 405), 0x00000083});
}

// ARM, A32 (EABI: number in r7): mov r0, #42; mov r7, #248 (exit_group); svc #0. Little-endian
// instructions for armeb too: its probe is BE8 (see kArmBe8), as ARMv6 and later build it.
std::string arm() {
  auto mov = [](unsigned rd, unsigned imm8) { return 0xe3a00000u | rd << 12 | imm8; };
  return words(false, {mov(0, kStatus), mov(7, 248), 0xef000000});
}

// AArch64 (little-endian instructions even on aarch64_be): movz x0, #42; movz x8, #94
// (exit_group, asm-generic); svc #0.
std::string aarch64() {
  auto movz = [](unsigned rd, unsigned imm16) { return 0xd2800000u | imm16 << 5 | rd; };
  return words(false, {movz(0, kStatus), movz(8, 94), 0xd4000001});
}

// RISC-V (RV32 and RV64 alike): addi a0, zero, 42; addi a7, zero, 94 (exit_group); ecall.
std::string riscv() {
  auto addi = [](unsigned rd, unsigned imm12) { return imm12 << 20 | rd << 7 | 0x13u; };
  return words(false, {addi(10, kStatus), addi(17, 94), 0x00000073});
}

// Power (32 and 64-bit): li r3, 42; li r0, 234 (exit_group); sc.
std::string power(bool bigEndian) {
  auto li = [](unsigned rt, unsigned imm16) { return 14u << 26 | rt << 21 | imm16; };
  return words(bigEndian, {li(3, kStatus), li(0, 234), 0x44000002});
}

// s390x: lghi %r2, 42; svc 248 (exit_group: numbers below 256 go in the instruction).
std::string s390x() { return halves(true, {0xa729, kStatus, 0x0a00 | 248}); }

// SPARC: or %g0, 42, %o0; or %g0, 188, %g1 (exit_group); ta <trap>. 32-bit Linux takes
// system calls on trap 0x10; 64-bit Linux on trap 0x6d (0x10 is its 32-bit compat entry).
std::string sparc(unsigned trap) {
  auto mov = [](unsigned rd, unsigned simm13) {
    return 2u << 30 | rd << 25 | 0x02u << 19 | 1u << 13 | simm13;
  };
  const std::uint32_t ta = 2u << 30 | 8u << 25 | 0x3au << 19 | 1u << 13 | trap;
  return words(true, {mov(8, kStatus), mov(1, 188), ta});
}

// SuperH: mov #-4, r3; extu.b r3, r3 (the immediate is a signed byte, so 252, exit_group,
// is made as 0xfc zero-extended); mov #42, r4; trapa #0x11 (system call with one argument).
std::string sh4(bool bigEndian) {
  return halves(bigEndian, {0xe3fc, 0x633c, 0xe400 | kStatus, 0xc311});
}

// m68k: moveq #42, %d1; move.l #247, %d0 (exit_group; too big for moveq); trap #0.
std::string m68k() { return halves(true, {0x7200 | kStatus, 0x203c, 0x0000, 247, 0x4e40}); }

// MIPS: addiu $a0, $zero, 42; addiu $v0, $zero, <number>; syscall. Each ABI numbers its
// system calls from its own base: o32 4000, n64 5000, n32 6000.
std::string mips(bool bigEndian, unsigned exitGroup) {
  auto addiu = [](unsigned rt, unsigned imm16) { return 9u << 26 | rt << 16 | imm16; };
  return words(bigEndian, {addiu(4, kStatus), addiu(2, exitGroup), 0x0000000c});
}

// PA-RISC: ldo 42(%r0), %r26; ble 0x100(%sr2, %r0); ldo 222(%r0), %r20 (exit_group, set in
// the branch's delay slot). Linux enters the kernel through the gateway page at address
// 0x100 of space 2; arguments start at r26, the number is in r20.
std::string hppa() {
  // ldo's 14-bit displacement is "low sign extended": the sign is bit 0, the value above it.
  auto ldo = [](unsigned rt, unsigned disp) { return 0x0du << 26 | rt << 16 | disp << 1; };
  return words(true, {ldo(26, kStatus), 0xe4008200, ldo(20, 222)});
}

// Xtensa (24-bit instructions): movi a2, 119 (exit_group); movi a6, 42; syscall. Linux
// reads the number from a2 and the first argument from a6. Big-endian Xtensa mirrors the
// order of the 4-bit fields within the instruction, not just the bytes.
std::string xtensa(bool bigEndian) {
  auto movi = [bigEndian](unsigned at, unsigned imm12) {
    const unsigned op0 = 0x2, r = 0xa, s = imm12 >> 8 & 0xf, imm8 = imm12 & 0xff;
    return bigEndian
               ? bytes({static_cast<unsigned char>(op0 << 4 | at),
                        static_cast<unsigned char>(s << 4 | r), static_cast<unsigned char>(imm8)})
               : bytes({static_cast<unsigned char>(at << 4 | op0),
                        static_cast<unsigned char>(r << 4 | s), static_cast<unsigned char>(imm8)});
  };
  const std::string syscall = bigEndian ? bytes({0x00, 0x05, 0x00}) : bytes({0x00, 0x50, 0x00});
  return movi(2, 119) + movi(6, kStatus) + syscall;
}

// MicroBlaze: addik r5, r0, 42; addik r12, r0, 252 (exit_group); brki r14, 0x8 (the
// system call vector).
std::string microblaze(bool bigEndian) {
  auto addik = [](unsigned rd, unsigned imm16) { return 0x0cu << 26 | rd << 21 | imm16; };
  return words(bigEndian, {addik(5, kStatus), addik(12, 252), 0xb9cc0008});
}

// OpenRISC: l.addi r3, r0, 42; l.addi r11, r0, 94 (exit_group, asm-generic); l.sys 1.
std::string or1k() {
  auto addi = [](unsigned rd, unsigned imm16) { return 0x27u << 26 | rd << 21 | imm16; };
  return words(true, {addi(3, kStatus), addi(11, 94), 0x20000001});
}

// Hexagon, each instruction a packet of its own (parse bits 15:14 = 11, "end of packet"):
// r0 = #42; r6 = #94 (exit_group, asm-generic; Linux reads the number from r6); trap0(#1).
std::string hexagon() {
  // A2_tfrsi, Rd = #s16; immediates below 512 sit in bits 13:5.
  auto tfrsi = [](unsigned rd, unsigned imm) { return 0x7800c000u | imm << 5 | rd; };
  const std::uint32_t trap0 = 0x5400c000u | 1u << 2;  // the 8-bit immediate's low 3 bits sit at 4:2
  return words(false, {tfrsi(0, kStatus), tfrsi(6, 94), trap0});
}

// LoongArch: ori $a0, $zero, 42; ori $a7, $zero, 94 (exit_group, asm-generic); syscall 0.
std::string loongarch64() {
  auto ori = [](unsigned rd, unsigned ui12) { return 0x0eu << 22 | ui12 << 10 | rd; };
  return words(false, {ori(4, kStatus), ori(11, 94), 0x002b0000});
}

// CRIS (16-bit instructions): moveq 1, r9 (exit: the number goes in r9); moveq 0, r10;
// addq 42, r10 (moveq's immediate is 6-bit signed, too small for 42; addq's is 6-bit
// unsigned); break 13 (the system call trap). exit rather than exit_group (252), which
// would take a longer sequence: for a single-threaded probe they are the same.
std::string cris() {
  auto moveq = [](unsigned rd, unsigned imm6) {
    return static_cast<std::uint16_t>(0x0240 | rd << 12 | (imm6 & 0x3f));
  };
  auto addq = [](unsigned rd, unsigned imm6) {
    return static_cast<std::uint16_t>(0x0200 | rd << 12 | imm6);
  };
  return halves(false, {moveq(9, 1), moveq(10, 0), addq(10, kStatus), 0xe93d});
}

// ELF e_flags that select an ABI. Everything else is 0: the probes use no floating point
// and no optional instruction set extension.
constexpr std::uint32_t kArmEabi5 = 0x05000000;        // EF_ARM_EABI_VER5
constexpr std::uint32_t kArmBe8 = 0x00800000;          // EF_ARM_BE8: big-endian data,
                                                       // little-endian instructions (ARMv6+)
constexpr std::uint32_t kMipsAbiO32 = 0x00001000;      // EF_MIPS_ABI_O32
constexpr std::uint32_t kMipsAbi2 = 0x00000020;        // EF_MIPS_ABI2: n32 (QEMU's mipsn32
                                                       // refuses a file without it, mips o32
                                                       // one with it)
constexpr std::uint32_t kPpc64ElfV2 = 0x00000002;      // EF_PPC64_ABI v2: e_entry is code, not
                                                       // the address of a function descriptor
constexpr std::uint32_t kSparcV8Plus = 0x00000100;     // EF_SPARC_32PLUS: a V8+ program
constexpr std::uint32_t kHexagonV67 = 0x00000067;      // EF_HEXAGON_MACH_V67, the CPU QEMU models
constexpr std::uint32_t kLoongArchLp64d = 0x00000043;  // OBJABI v1 + LP64D, the Linux ABI

std::vector<Probe> buildProbes() {
  constexpr bool kBig = true, kLittle = false, k64 = true, k32 = false;
  std::vector<Probe> v;
  // clang-format off
  v.push_back({"i386", {k32, kLittle, kEm386, 0}, i386(), "exit_group 252, int 0x80"});
  v.push_back({"i486", {k32, kLittle, kEm486, 0}, i386(), "exit_group 252, int 0x80"});
  v.push_back({"x86_64", {k64, kLittle, kEmX86_64, 0}, x86_64(), "exit_group 231, syscall"});
  v.push_back({"alpha", {k64, kLittle, kEmAlpha, 0}, alpha(), "exit_group 405, callsys"});
  v.push_back({"arm", {k32, kLittle, kEmArm, kArmEabi5}, arm(), "exit_group 248 (EABI), svc #0"});
  v.push_back({"armeb", {k32, kBig, kEmArm, kArmEabi5 | kArmBe8}, arm(), "exit_group 248 (EABI), svc #0"});
  v.push_back({"aarch64", {k64, kLittle, kEmAarch64, 0}, aarch64(), "exit_group 94, svc #0"});
  v.push_back({"aarch64_be", {k64, kBig, kEmAarch64, 0}, aarch64(), "exit_group 94, svc #0"});
  v.push_back({"riscv32", {k32, kLittle, kEmRiscv, 0}, riscv(), "exit_group 94, ecall"});
  v.push_back({"riscv64", {k64, kLittle, kEmRiscv, 0}, riscv(), "exit_group 94, ecall"});
  v.push_back({"ppc", {k32, kBig, kEmPpc, 0}, power(kBig), "exit_group 234, sc"});
  v.push_back({"ppc64", {k64, kBig, kEmPpc64, kPpc64ElfV2}, power(kBig), "exit_group 234, sc"});
  v.push_back({"ppc64le", {k64, kLittle, kEmPpc64, kPpc64ElfV2}, power(kLittle), "exit_group 234, sc"});
  v.push_back({"s390x", {k64, kBig, kEmS390, 0}, s390x(), "exit_group 248, svc"});
  v.push_back({"sparc", {k32, kBig, kEmSparc, 0}, sparc(0x10), "exit_group 188, ta 0x10"});
  v.push_back({"sparc32plus", {k32, kBig, kEmSparc32Plus, kSparcV8Plus}, sparc(0x10), "exit_group 188, ta 0x10"});
  v.push_back({"sparc64", {k64, kBig, kEmSparcV9, 0}, sparc(0x6d), "exit_group 188, ta 0x6d"});
  v.push_back({"sh4", {k32, kLittle, kEmSh, 0}, sh4(kLittle), "exit_group 252, trapa"});
  v.push_back({"sh4eb", {k32, kBig, kEmSh, 0}, sh4(kBig), "exit_group 252, trapa"});
  v.push_back({"m68k", {k32, kBig, kEm68k, 0}, m68k(), "exit_group 247, trap #0"});
  v.push_back({"mips", {k32, kBig, kEmMips, kMipsAbiO32}, mips(kBig, 4246), "exit_group 4246 (o32), syscall"});
  v.push_back({"mipsel", {k32, kLittle, kEmMips, kMipsAbiO32}, mips(kLittle, 4246), "exit_group 4246 (o32), syscall"});
  v.push_back({"mipsn32", {k32, kBig, kEmMips, kMipsAbi2}, mips(kBig, 6205), "exit_group 6205 (n32), syscall"});
  v.push_back({"mipsn32el", {k32, kLittle, kEmMips, kMipsAbi2}, mips(kLittle, 6205), "exit_group 6205 (n32), syscall"});
  v.push_back({"mips64", {k64, kBig, kEmMips, 0}, mips(kBig, 5205), "exit_group 5205 (n64), syscall"});
  v.push_back({"mips64el", {k64, kLittle, kEmMips, 0}, mips(kLittle, 5205), "exit_group 5205 (n64), syscall"});
  v.push_back({"hppa", {k32, kBig, kEmParisc, 0}, hppa(), "exit_group 222, gateway page"});
  v.push_back({"xtensa", {k32, kLittle, kEmXtensa, 0}, xtensa(kLittle), "exit_group 119, syscall"});
  v.push_back({"xtensaeb", {k32, kBig, kEmXtensa, 0}, xtensa(kBig), "exit_group 119, syscall"});
  v.push_back({"microblazeel", {k32, kLittle, kEmMicroBlazeOld, 0}, microblaze(kLittle), "exit_group 252, brki r14, 8"});
  v.push_back({"or1k", {k32, kBig, kEmOpenRisc, 0}, or1k(), "exit_group 94, l.sys"});
  v.push_back({"hexagon", {k32, kLittle, kEmHexagon, kHexagonV67}, hexagon(), "exit_group 94, trap0"});
  v.push_back({"loongarch64", {k64, kLittle, kEmLoongArch, kLoongArchLp64d}, loongarch64(), "exit_group 94, syscall"});
  v.push_back({"cris", {k32, kLittle, kEmCris, 0}, cris(), "exit 1, break 13"});
  // clang-format on
  return v;
}

const std::vector<Probe>& probes() {
  static const std::vector<Probe> p = buildProbes();
  return p;
}

// microblaze (big-endian): microblaze(true) in a big-endian header runs under
// qemu-microblaze-static, but no big-endian header can match the catalogue's rule.
const Missing kMissing[] = {
    {"microblaze",
     "the catalogue's rule (QEMU's upstream one) wants bytes 16-17 to be 02 00, which a "
     "big-endian header reads as e_type 0x0200 and QEMU's loader refuses; a probe QEMU runs "
     "(e_type 00 02) does not match it. Debian's rule (00 02, mask ff fe) matches"},
};

}  // namespace

std::span<const Probe> all() { return probes(); }

std::span<const Missing> missing() { return kMissing; }

const Probe* find(std::string_view arch) {
  for (const auto& p : probes()) {
    if (p.arch == arch) return &p;
  }
  return nullptr;
}

std::string elfImage(const Probe& probe) {
  const ElfTarget& e = probe.elf;
  const bool big = e.bigEndian;
  const int word = e.is64 ? 8 : 4;  // addresses and offsets
  const std::size_t ehsize = e.is64 ? 64 : 52, phentsize = e.is64 ? 56 : 32;
  const std::size_t codeOffset = ehsize + phentsize;  // 120 or 84: 4-byte aligned either way
  const std::size_t fileSize = codeOffset + probe.code.size();
  const std::uint64_t entry = kLoadAddress + codeOffset;

  std::string f =
      "\x7f"
      "ELF";
  f += static_cast<char>(e.is64 ? 2 : 1);  // EI_CLASS
  f += static_cast<char>(big ? 2 : 1);     // EI_DATA
  f += '\x01';                             // EI_VERSION
  f += std::string(9, '\0');               // EI_OSABI = SYSV, EI_ABIVERSION 0, padding
  f += put(big, 2, 2);                     // e_type = ET_EXEC
  f += put(big, e.machine, 2);             // e_machine
  f += put(big, 1, 4);                     // e_version
  f += put(big, entry, word);              // e_entry
  f += put(big, ehsize, word);             // e_phoff: right after this header
  f += put(big, 0, word);                  // e_shoff: no sections
  f += put(big, e.flags, 4);               // e_flags
  f += put(big, ehsize, 2);                // e_ehsize
  f += put(big, phentsize, 2);             // e_phentsize
  f += put(big, 1, 2);                     // e_phnum
  f += put(big, 0, 2) + put(big, 0, 2) + put(big, 0, 2);  // e_shentsize, e_shnum, e_shstrndx

  // One PT_LOAD mapping the whole file, headers included, read + execute. The 64-bit
  // layout moves p_flags up to the second field.
  constexpr std::uint32_t kPtLoad = 1, kRx = 0x4 | 0x1, kAlign = 0x10000;
  f += put(big, kPtLoad, 4);
  if (e.is64) f += put(big, kRx, 4);
  f += put(big, 0, word);             // p_offset
  f += put(big, kLoadAddress, word);  // p_vaddr
  f += put(big, kLoadAddress, word);  // p_paddr
  f += put(big, fileSize, word);      // p_filesz
  f += put(big, fileSize, word);      // p_memsz
  if (!e.is64) f += put(big, kRx, 4);
  f += put(big, kAlign, word);  // p_align

  return f + probe.code;
}

}  // namespace binfmtd::probes
