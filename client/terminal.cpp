#include "terminal.hpp"

#include <unistd.h>

#include <cstdlib>

namespace binfmtctl::term {

namespace {

bool decideColor() {
  const char* noColor = std::getenv("NO_COLOR");
  if (noColor != nullptr && *noColor != '\0') return false;
  const char* termName = std::getenv("TERM");
  if (termName != nullptr && std::string_view(termName) == "dumb") return false;
  return isatty(STDOUT_FILENO) == 1;
}

}  // namespace

bool colorEnabled() {
  static const bool enabled = decideColor();
  return enabled;
}

std::string paint(std::string_view text, Style style) {
  if (!colorEnabled()) return std::string(text);
  const char* start = "";
  switch (style) {
    case Style::Good: start = "\x1b[32m"; break;      // green
    case Style::Bad: start = "\x1b[1;31m"; break;     // bold red
    case Style::Warn: start = "\x1b[33m"; break;      // yellow
    case Style::Bold: start = "\x1b[1m"; break;
  }
  return std::string(start) + std::string(text) + "\x1b[0m";
}

std::size_t visibleWidth(std::string_view text) {
  std::size_t width = 0;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '\x1b' && i + 1 < text.size() && text[i + 1] == '[') {
      i += 2;
      while (i < text.size() && text[i] != 'm') ++i;  // CSI ... m: takes no column
      continue;
    }
    // UTF-8 continuation bytes share the column of their lead byte.
    if ((static_cast<unsigned char>(text[i]) & 0xc0) != 0x80) ++width;
  }
  return width;
}

}  // namespace binfmtctl::term
