// A binfmt_misc entry as the kernel sees it, and the pure functions around it:
// validating against the kernel's rules, building the register string and parsing
// the entry files the kernel shows. No I/O here.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace binfmtd::kernel {

/// Kernel limits (fs/binfmt_misc.c, measured on Linux 6.18; shared/REFERENCE.md (c), (f)).
inline constexpr std::size_t kMaxRegisterLength = 1920;  // MAX_REGISTER_LENGTH
inline constexpr std::size_t kBinprmBufSize = 256;       // offset + magic size must fit
inline constexpr std::size_t kMaxNameLength = 255;       // NAME_MAX

enum class MatchType { Magic, Extension };

struct Entry {
  std::string name;
  MatchType type = MatchType::Magic;
  std::uint32_t offset = 0;  // Magic only
  std::string magic;         // raw bytes (Magic only)
  std::string mask;          // raw bytes, same length as magic, or empty for "match exactly"
  std::string extension;     // without the leading dot (Extension only)
  std::string interpreter;
  std::string flags;         // canonical: subset of "POCF" in that order, C implies O
  bool enabled = true;

  /// True when both would make the kernel show the same entry file (enabled state ignored).
  bool sameDefinition(const Entry& other) const;
  bool operator==(const Entry&) const = default;
};

/// A key equal for entries that match exactly the same binaries: the extension, or the
/// offset with the masked magic and the mask (an empty mask meaning all bits).
std::string matchKey(const Entry& entry);

/// True when every file `narrower` matches is also matched by `wider`: were `wider` tried
/// first, `narrower` would never be used. Entries of different types never cover each other.
bool covers(const Entry& wider, const Entry& narrower);

/// Whether the kernel would hand a file to this entry (the enabled state aside), as
/// fs/binfmt_misc.c decides: `header` is the start of the file (the kernel reads 256
/// bytes; a shorter file is padded with zeros), `path` the file name as given to exec
/// (an extension is the text after its last '.', wherever that is).
bool matches(const Entry& entry, std::string_view header, std::string_view path);

/// Canonical flag string: letters sorted in the kernel's order P O C F, duplicates dropped,
/// O added when C is present (the kernel does the same). Returns nullopt on a letter the
/// kernel does not accept.
std::optional<std::string> canonicalFlags(std::string_view flags);

/// Checks every rule the kernel enforces on a registration, so that a bad entry is
/// refused with the field at fault before anything is written. Returns the reason
/// ("magic and mask differ in length (4 and 3 bytes)"), or nullopt when valid.
std::optional<std::string> validate(const Entry& entry);

/// The string written to `register`: <d>name<d>type<d>offset<d>magic<d>mask<d>interpreter<d>flags.
/// Magic and mask bytes outside printable ASCII, and the delimiter and backslash, are
/// escaped as \xHH. The delimiter is ':' unless the name, extension or interpreter contain
/// it, then the first of a fixed list of characters they do not contain.
/// Precondition: validate(entry) returned nullopt.
std::string registerString(const Entry& entry);

/// Parses a register string back into an entry (the inverse of registerString, and what
/// binfmt.d lines contain). Returns nullopt, with the reason in *error, when malformed.
std::optional<Entry> parseRegisterString(std::string_view line, std::string* error = nullptr);

/// Parses the text of /proc/sys/fs/binfmt_misc/<name> ("enabled\ninterpreter ...\n
/// flags: POF\noffset 0\nmagic 7f45...\nmask ff...\n"). Returns nullopt, with the reason
/// in *error, when the text does not follow the kernel's format.
std::optional<Entry> parseEntryFile(std::string_view name, std::string_view text,
                                    std::string* error = nullptr);

/// Magic or mask bytes in the kernel's \xHH syntax, as register strings, binfmt.d rules,
/// binfmt-support files and binfmtd.json all write them: printable ASCII stays literal
/// (so "\x7fELF\x02" remains readable), every other byte and '\\' and `delimiter` become
/// \xHH.
std::string escapeBytes(std::string_view bytes, char delimiter = ':');

/// Lower-case hex of raw bytes, as the kernel prints magic and mask.
std::string toHex(std::string_view bytes);

}  // namespace binfmtd::kernel
