// Text that goes on D-Bus must be valid UTF-8, but much of what binfmtd reports comes from
// places that promise nothing: file names, kernel entry files, interpreter paths, a probe's
// output, bytes a user sent. These helpers make such text safe to publish.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace binfmtd::util {

/// True if `text` is valid UTF-8 as D-Bus requires it: no overlong forms, no surrogates,
/// nothing above U+10FFFF, and no NUL byte (a D-Bus string cannot hold one).
bool isValidUtf8(std::string_view text);

/// `text` with every byte that is not part of a valid UTF-8 character (and every NUL)
/// written as `\xHH`, so that the result is valid UTF-8 and still shows which bytes were
/// there. Valid text is returned unchanged. For display only: a backslash in the input
/// is not escaped, so the result cannot always be turned back into the input.
std::string toValidUtf8(std::string_view text);

/// The longest prefix of `text` of at most `maxBytes` bytes that does not end inside a
/// UTF-8 character. On valid input the result is valid.
std::string_view truncateUtf8(std::string_view text, std::size_t maxBytes);

}  // namespace binfmtd::util
