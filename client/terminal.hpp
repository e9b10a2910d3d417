// How binfmtctl writes to the terminal: colour only for a person looking at it. Never a
// pager: output goes straight to stdout, so pipes and scripts see every line at once.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace binfmtctl::term {

/// True when standard output is a terminal, NO_COLOR (https://no-color.org) is unset or
/// empty, and TERM is not "dumb". Decided once per process.
bool colorEnabled();

enum class Style { Good, Bad, Warn, Bold };

/// `text` wrapped in the style's escape sequences when colorEnabled(), else unchanged.
std::string paint(std::string_view text, Style style);

/// The columns `text` takes on a terminal: its length without the escape sequences
/// paint() adds, so that coloured cells still line up.
std::size_t visibleWidth(std::string_view text);

}  // namespace binfmtctl::term
