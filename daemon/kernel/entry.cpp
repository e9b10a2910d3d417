#include "entry.hpp"

#include <charconv>
#include <climits>
#include <vector>

namespace binfmtd::kernel {

namespace {

constexpr std::string_view kFlagOrder = "POCF";
// Tried in order when ':' appears in a free-text field; none of them is a hex digit,
// 'x', a digit, a flag letter or a type letter, so the kernel's parser cannot confuse them.
constexpr std::string_view kDelimiters = ":#|!@%^&~=,;";

bool contains(std::string_view s, char c) { return s.find(c) != std::string_view::npos; }

bool hasLineBreakOrNul(std::string_view s) { return contains(s, '\n') || contains(s, '\0'); }

std::string quoted(std::string_view s) { return "'" + std::string(s) + "'"; }

// The delimiter registerString() uses, or '\0' when every candidate is taken.
char chooseDelimiter(const Entry& e) {
  for (char d : kDelimiters) {
    if (contains(e.name, d) || contains(e.interpreter, d)) continue;
    if (e.type == MatchType::Extension && contains(e.extension, d)) continue;
    return d;
  }
  return '\0';
}

void appendEscaped(std::string& out, std::string_view bytes, char delimiter) {
  static constexpr char kHex[] = "0123456789abcdef";
  for (char ch : bytes) {
    auto b = static_cast<unsigned char>(ch);
    // Printable bytes stay literal so that a 256-byte magic plus mask fits in 1920 bytes.
    if (b < 0x21 || b > 0x7e || ch == delimiter || ch == '\\') {
      out += "\\x";
      out += kHex[b >> 4];
      out += kHex[b & 0xf];
    } else {
      out += ch;
    }
  }
}

int hexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

bool fail(std::string* error, std::string reason) {
  if (error != nullptr) *error = std::move(reason);
  return false;
}

// Splits off the text up to the next delimiter, as the kernel's strchr() does.
bool takeField(std::string_view& rest, char delimiter, std::string_view& field) {
  auto pos = rest.find(delimiter);
  if (pos == std::string_view::npos) return false;
  field = rest.substr(0, pos);
  rest.remove_prefix(pos + 1);
  return true;
}

// Takes a magic or mask field and decodes it. Like the kernel's scanarg(), a "\x" must be
// followed by two hex digits, which are skipped while looking for the delimiter.
bool takeEscapedField(std::string_view& rest, char delimiter, const char* what, std::string& out,
                      std::string* error) {
  out.clear();
  std::size_t i = 0;
  for (;;) {
    if (i >= rest.size()) return fail(error, std::string("missing delimiter after the ") + what);
    char c = rest[i];
    if (c == delimiter) break;
    if (c == '\0')
      return fail(error, std::string(what) + " contains a NUL byte; write it as \\x00");
    if (c == '\\' && i + 1 < rest.size() && rest[i + 1] == 'x') {
      int hi = i + 2 < rest.size() ? hexValue(rest[i + 2]) : -1;
      int lo = i + 3 < rest.size() ? hexValue(rest[i + 3]) : -1;
      if (hi < 0 || lo < 0)
        return fail(error, std::string(what) + " has a \\x escape without two hex digits");
      out += static_cast<char>(hi << 4 | lo);
      i += 4;
      continue;
    }
    out += c;  // includes a backslash not followed by 'x', which the kernel keeps literally
    ++i;
  }
  rest.remove_prefix(i + 1);
  return true;
}

bool parseDecimal(std::string_view text, std::uint32_t& value) {
  if (text.empty()) return false;
  for (char c : text)
    if (c < '0' || c > '9') return false;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  return ec == std::errc() && end == text.data() + text.size() && value <= INT_MAX;
}

bool parseHex(std::string_view hex, std::string& out) {
  if (hex.size() % 2 != 0) return false;
  out.clear();
  for (std::size_t i = 0; i < hex.size(); i += 2) {
    int hi = hexValue(hex[i]);
    int lo = hexValue(hex[i + 1]);
    if (hi < 0 || lo < 0) return false;
    out += static_cast<char>(hi << 4 | lo);
  }
  return true;
}

bool startsWith(std::string_view s, std::string_view prefix) {
  return s.substr(0, prefix.size()) == prefix;
}

}  // namespace

std::string escapeBytes(std::string_view bytes, char delimiter) {
  std::string out;
  appendEscaped(out, bytes, delimiter);
  return out;
}

bool Entry::sameDefinition(const Entry& other) const {
  if (name != other.name || type != other.type || interpreter != other.interpreter) return false;
  auto a = canonicalFlags(flags);
  auto b = canonicalFlags(other.flags);
  if (a && b ? *a != *b : flags != other.flags) return false;
  // Only the fields the kernel keeps for this type can make the entry files differ.
  if (type == MatchType::Extension) return extension == other.extension;
  return offset == other.offset && magic == other.magic && mask == other.mask;
}

namespace {

unsigned char maskAt(const Entry& e, std::size_t i) {
  return e.mask.empty() ? 0xff : static_cast<unsigned char>(e.mask[i]);
}

}  // namespace

std::string matchKey(const Entry& entry) {
  if (entry.type == MatchType::Extension) return "E:" + entry.extension;
  std::string masked(entry.magic.size(), '\0');
  std::string mask(entry.magic.size(), '\0');
  for (std::size_t i = 0; i < entry.magic.size(); ++i) {
    mask[i] = static_cast<char>(maskAt(entry, i));
    masked[i] = static_cast<char>(static_cast<unsigned char>(entry.magic[i]) & maskAt(entry, i));
  }
  return "M:" + std::to_string(entry.offset) + ":" + toHex(masked) + ":" + toHex(mask);
}

bool matches(const Entry& entry, std::string_view header, std::string_view path) {
  if (entry.type == MatchType::Extension) {
    const std::size_t dot = path.rfind('.');
    return dot != std::string_view::npos && path.substr(dot + 1) == entry.extension;
  }
  if (entry.offset + entry.magic.size() > kBinprmBufSize) return false;
  for (std::size_t i = 0; i < entry.magic.size(); ++i) {
    const std::size_t at = entry.offset + i;
    const auto byte = at < header.size() ? static_cast<unsigned char>(header[at]) : 0u;
    if (((byte ^ static_cast<unsigned char>(entry.magic[i])) & maskAt(entry, i)) != 0)
      return false;
  }
  return true;
}

bool covers(const Entry& wider, const Entry& narrower) {
  if (wider.type != narrower.type) return false;
  if (wider.type == MatchType::Extension) return wider.extension == narrower.extension;
  // Every byte `wider` checks must lie inside `narrower`'s magic, check only bits that
  // `narrower` checks too, and expect the same values there.
  const std::size_t begin = wider.offset, end = wider.offset + wider.magic.size();
  if (begin < narrower.offset || end > narrower.offset + narrower.magic.size()) return false;
  for (std::size_t p = begin; p < end; ++p) {
    const std::size_t w = p - begin, n = p - narrower.offset;
    const unsigned char wm = maskAt(wider, w), nm = maskAt(narrower, n);
    if ((wm & ~nm) != 0) return false;
    if (((static_cast<unsigned char>(wider.magic[w]) ^ static_cast<unsigned char>(narrower.magic[n])) &
         wm) != 0)
      return false;
  }
  return true;
}

std::optional<std::string> canonicalFlags(std::string_view flags) {
  bool seen[4] = {false, false, false, false};
  for (char c : flags) {
    auto pos = kFlagOrder.find(c);
    if (pos == std::string_view::npos) return std::nullopt;
    seen[pos] = true;
  }
  if (seen[2]) seen[1] = true;  // C implies O, and the kernel prints both
  std::string out;
  for (std::size_t i = 0; i < kFlagOrder.size(); ++i)
    if (seen[i]) out += kFlagOrder[i];
  return out;
}

std::optional<std::string> validate(const Entry& e) {
  const std::string& n = e.name;
  if (n.empty()) return "name is empty";
  if (n == "." || n == "..") return "name " + quoted(n) + " is not allowed";
  if (contains(n, '/')) return "name contains '/'";
  if (hasLineBreakOrNul(n)) return "name contains a line break or NUL byte";
  if (n.size() > kMaxNameLength)
    return "name is " + std::to_string(n.size()) + " bytes long; the kernel allows at most " +
           std::to_string(kMaxNameLength);
  if (n == "register" || n == "status")
    return "name " + quoted(n) + " is reserved by binfmt_misc for its control file";

  if (e.type == MatchType::Magic) {
    if (e.magic.empty()) return "magic is empty";
    if (!e.mask.empty() && e.mask.size() != e.magic.size())
      return "magic and mask differ in length (" + std::to_string(e.magic.size()) + " and " +
             std::to_string(e.mask.size()) + " bytes)";
    if (std::uint64_t{e.offset} + e.magic.size() > kBinprmBufSize)
      return "offset " + std::to_string(e.offset) + " plus magic length " +
             std::to_string(e.magic.size()) + " exceeds the kernel's " +
             std::to_string(kBinprmBufSize) + "-byte header buffer";
  } else {
    const std::string& x = e.extension;
    if (x.empty()) return "extension is empty";
    if (contains(x, '/')) return "extension contains '/'";
    if (contains(x, '.'))
      return "extension contains '.' (the kernel matches only the text after the last dot)";
    if (x.find("\\x") != std::string::npos)
      return "extension contains '\\x' (the kernel does not unescape extensions)";
    if (hasLineBreakOrNul(x)) return "extension contains a line break or NUL byte";
  }

  if (e.interpreter.empty()) return "interpreter is empty";
  if (hasLineBreakOrNul(e.interpreter)) return "interpreter contains a line break or NUL byte";
  if (!canonicalFlags(e.flags))
    return "flags " + quoted(e.flags) + " contain a letter other than P, O, C and F";
  if (chooseDelimiter(e) == '\0')
    return "name, interpreter and extension together contain every usable delimiter (" +
           std::string(kDelimiters) + ")";

  auto length = registerString(e).size();
  if (length > kMaxRegisterLength)
    return "register string is " + std::to_string(length) +
           " bytes long; the kernel accepts at most " + std::to_string(kMaxRegisterLength);
  return std::nullopt;
}

std::string registerString(const Entry& e) {
  char d = chooseDelimiter(e);
  if (d == '\0') d = ':';  // precondition broken; the kernel will refuse the result
  std::string out(1, d);
  out += e.name;
  out += d;
  if (e.type == MatchType::Magic) {
    out += 'M';
    out += d;
    out += std::to_string(e.offset);
    out += d;
    appendEscaped(out, e.magic, d);
    out += d;
    appendEscaped(out, e.mask, d);
  } else {
    out += 'E';
    out += d;
    out += d;
    out += e.extension;  // taken literally by the kernel
    out += d;
  }
  out += d;
  out += e.interpreter;
  out += d;
  out += canonicalFlags(e.flags).value_or(e.flags);
  return out;
}

std::optional<Entry> parseRegisterString(std::string_view line, std::string* error) {
  auto bad = [&](std::string reason) {
    fail(error, std::move(reason));
    return std::nullopt;
  };
  if (!line.empty() && line.back() == '\n') line.remove_suffix(1);  // the kernel allows one
  if (line.empty()) return bad("register string is empty");

  const char d = line[0];
  std::string_view rest = line.substr(1);
  std::string_view field;
  Entry e;

  if (!takeField(rest, d, field)) return bad("missing delimiter after the name");
  e.name = field;
  if (!takeField(rest, d, field)) return bad("missing delimiter after the type");
  if (field == "M") {
    e.type = MatchType::Magic;
  } else if (field == "E") {
    e.type = MatchType::Extension;
  } else {
    return bad("type " + quoted(field) + " is neither M nor E");
  }

  if (!takeField(rest, d, field)) return bad("missing delimiter after the offset");
  if (e.type == MatchType::Magic) {
    if (!field.empty() && !parseDecimal(field, e.offset))
      return bad("offset " + quoted(field) + " is not a decimal number");
    if (!takeEscapedField(rest, d, "magic", e.magic, error)) return std::nullopt;
    if (!takeEscapedField(rest, d, "mask", e.mask, error)) return std::nullopt;
  } else {
    // The kernel ignores the offset and mask fields of extension entries.
    if (!takeField(rest, d, field)) return bad("missing delimiter after the extension");
    e.extension = field;
    if (!takeField(rest, d, field)) return bad("missing delimiter after the mask");
  }

  if (!takeField(rest, d, field)) return bad("missing delimiter after the interpreter");
  e.interpreter = field;
  auto flags = canonicalFlags(rest);
  if (!flags) return bad("flags " + quoted(rest) + " contain a letter other than P, O, C and F");
  e.flags = *flags;
  return e;
}

std::optional<Entry> parseEntryFile(std::string_view name, std::string_view text,
                                    std::string* error) {
  std::vector<std::string_view> lines;
  while (!text.empty()) {
    auto pos = text.find('\n');
    lines.push_back(text.substr(0, pos));
    if (pos == std::string_view::npos) break;
    text.remove_prefix(pos + 1);
  }
  auto bad = [&](std::string reason) {
    fail(error, std::move(reason));
    return std::nullopt;
  };
  if (lines.size() < 4)
    return bad("entry file has " + std::to_string(lines.size()) + " lines; expected at least 4");

  Entry e;
  e.name = name;
  if (lines[0] == "enabled") {
    e.enabled = true;
  } else if (lines[0] == "disabled") {
    e.enabled = false;
  } else {
    return bad("first line " + quoted(lines[0]) + " is neither 'enabled' nor 'disabled'");
  }

  if (!startsWith(lines[1], "interpreter ")) return bad("second line is not 'interpreter <path>'");
  e.interpreter = lines[1].substr(12);
  if (e.interpreter.empty()) return bad("interpreter is empty");

  // The kernel prints "flags: " with a trailing space even when there are none.
  if (!startsWith(lines[2], "flags:")) return bad("third line is not 'flags: <letters>'");
  std::string_view letters = lines[2].substr(6);
  if (!letters.empty() && letters.front() == ' ') letters.remove_prefix(1);
  auto flags = canonicalFlags(letters);
  if (!flags) return bad("flags " + quoted(letters) + " contain a letter other than P, O, C and F");
  e.flags = *flags;

  std::size_t next = 4;
  if (startsWith(lines[3], "extension .")) {
    e.type = MatchType::Extension;
    e.extension = lines[3].substr(11);
    if (e.extension.empty()) return bad("extension is empty");
  } else if (startsWith(lines[3], "offset ")) {
    e.type = MatchType::Magic;
    if (!parseDecimal(lines[3].substr(7), e.offset))
      return bad("offset " + quoted(lines[3].substr(7)) + " is not a decimal number");
    if (lines.size() < 5 || !startsWith(lines[4], "magic "))
      return bad("'magic <hex>' line missing after the offset");
    if (!parseHex(lines[4].substr(6), e.magic) || e.magic.empty())
      return bad("magic " + quoted(lines[4].substr(6)) + " is not a non-empty hex string");
    next = 5;
    if (lines.size() > 5 && startsWith(lines[5], "mask ")) {
      if (!parseHex(lines[5].substr(5), e.mask) || e.mask.size() != e.magic.size())
        return bad("mask " + quoted(lines[5].substr(5)) +
                   " is not a hex string of the magic's length");
      next = 6;
    }
  } else {
    return bad("fourth line " + quoted(lines[3]) +
               " is neither 'extension .<ext>' nor 'offset <n>'");
  }
  if (next < lines.size())
    return bad("unexpected line " + quoted(lines[next]) + " after the match fields");
  return e;
}

std::string toHex(std::string_view bytes) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(bytes.size() * 2);
  for (char ch : bytes) {
    auto b = static_cast<unsigned char>(ch);
    out += kHex[b >> 4];
    out += kHex[b & 0xf];
  }
  return out;
}

}  // namespace binfmtd::kernel
