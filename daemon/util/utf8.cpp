#include "util/utf8.hpp"

#include <cstdint>

namespace binfmtd::util {

namespace {

// The length of the valid UTF-8 character at the start of `s`, or 0 if there is none
// (a stray continuation byte, a truncated or overlong sequence, a surrogate, a code
// point above U+10FFFF, or NUL).
std::size_t characterLength(std::string_view s) {
  const auto byte = [&](std::size_t i) { return static_cast<std::uint8_t>(s[i]); };
  const std::uint8_t lead = byte(0);
  if (lead == 0) return 0;
  if (lead < 0x80) return 1;
  std::size_t length = 0;
  std::uint32_t cp = 0;
  if (lead >= 0xc2 && lead <= 0xdf) {
    length = 2;
    cp = lead & 0x1fu;
  } else if (lead >= 0xe0 && lead <= 0xef) {
    length = 3;
    cp = lead & 0x0fu;
  } else if (lead >= 0xf0 && lead <= 0xf4) {
    length = 4;
    cp = lead & 0x07u;
  } else {
    return 0;  // 0x80-0xc1 (continuation or overlong 2-byte lead) or 0xf5-0xff
  }
  if (s.size() < length) return 0;
  for (std::size_t i = 1; i < length; ++i) {
    if ((byte(i) & 0xc0u) != 0x80u) return 0;
    cp = (cp << 6) | (byte(i) & 0x3fu);
  }
  if (length == 3 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) return 0;
  if (length == 4 && (cp < 0x10000 || cp > 0x10ffff)) return 0;
  return length;
}

}  // namespace

bool isValidUtf8(std::string_view text) {
  while (!text.empty()) {
    const std::size_t n = characterLength(text);
    if (n == 0) return false;
    text.remove_prefix(n);
  }
  return true;
}

std::string toValidUtf8(std::string_view text) {
  if (isValidUtf8(text)) return std::string(text);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(text.size() + 16);
  while (!text.empty()) {
    const std::size_t n = characterLength(text);
    if (n != 0) {
      out.append(text.substr(0, n));
      text.remove_prefix(n);
      continue;
    }
    const auto b = static_cast<std::uint8_t>(text[0]);
    out += "\\x";
    out += kHex[b >> 4];
    out += kHex[b & 0xf];
    text.remove_prefix(1);
  }
  return out;
}

std::string_view truncateUtf8(std::string_view text, std::size_t maxBytes) {
  if (text.size() <= maxBytes) return text;
  std::size_t end = maxBytes;
  // Step back over continuation bytes to the start of the character that was cut.
  while (end > 0 && (static_cast<std::uint8_t>(text[end]) & 0xc0u) == 0x80u) --end;
  return text.substr(0, end);
}

}  // namespace binfmtd::util
