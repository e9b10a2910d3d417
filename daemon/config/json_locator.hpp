// Positions in JSON text. nlohmann_json keeps no source positions, so diagnostics find
// them again by scanning the raw text: a JSON pointer ("/handlers/2/mask") is followed
// through the text to the value (or key) it names, and a parser's byte offset becomes a
// line and column.
#pragma once

#include <cstddef>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace binfmtd::config {

/// A 1-based line and column. Columns count characters (UTF-8 code points), so they match
/// what an editor shows for non-ASCII text; a tab counts as one.
struct TextPosition {
  int line = 1;
  int column = 1;
  bool operator==(const TextPosition&) const = default;
};

/// The line and column of byte `offset` of `text`. An offset at or past the end gives the
/// position just after the last character; a UTF-8 byte order mark is not counted.
TextPosition positionAt(std::string_view text, std::size_t offset);

/// What a pointer to an object member should resolve to.
enum class PointerTarget {
  Value,  // the first character of the member's value (or of the array element)
  Key,    // the opening quote of the member's key (array elements: same as Value)
};

/// The byte offset of what `pointer` (RFC 6901, "" = the whole document) names in `text`.
/// Keys may be written with escapes in the text ("\u0061" matches "a"); when a key occurs
/// twice the last occurrence counts, as with nlohmann_json. Returns nullopt when the
/// pointer is malformed, names nothing, or the text is not well-formed along the way.
/// Every access is bounds-checked, so any text is safe to scan.
std::optional<std::size_t> locateOffset(std::string_view text, std::string_view pointer,
                                        PointerTarget target = PointerTarget::Value);

/// locateOffset() turned into a line and column.
std::optional<TextPosition> locate(std::string_view text, std::string_view pointer,
                                   PointerTarget target = PointerTarget::Value);

/// locate() for many pointers into one text, as the loader asks for every item: the
/// elements of a top-level array ("/handlers/N/...") are found in one scan and line
/// starts are indexed, so that N lookups stay linear in the text size instead of
/// quadratic. The text must outlive the Locator.
class Locator {
 public:
  explicit Locator(std::string_view text);
  std::optional<TextPosition> locate(std::string_view pointer,
                                     PointerTarget target = PointerTarget::Value);

 private:
  const std::vector<std::size_t>& elements(const std::string& member);
  TextPosition position(std::size_t offset);

  std::string_view text_;
  std::size_t lastOffset_ = 0;  // the previous position() answer, to continue from
  TextPosition last_{0, 0};
  std::vector<std::size_t> lineStarts_;
  std::map<std::string, std::vector<std::size_t>> elements_;
};

/// `key` escaped for use as one reference token of a JSON pointer ("a/b" -> "a~1b").
std::string escapePointerToken(std::string_view key);

/// The offset at which the token holding byte `offset` starts (for a parser that reports
/// the last character it read, e.g. the closing quote of an unexpected string). Offsets
/// inside whitespace or past the end are returned unchanged.
std::size_t tokenStart(std::string_view text, std::size_t offset);

/// A JSON parser's complaint, made presentable.
struct SyntaxError {
  TextPosition position;
  std::string message;  // "syntax error: unexpected '}', expected a value"
};

/// Turns nlohmann_json's parse_error (`byte`: 1-based index of the last character read,
/// `what`: its message) into a position and a readable message. Errors about a token
/// point at the token's start; errors inside a string at the offending character; an
/// unexpected end of input just after the last non-blank character.
SyntaxError describeSyntaxError(std::string_view text, std::size_t byte, std::string_view what);

}  // namespace binfmtd::config
