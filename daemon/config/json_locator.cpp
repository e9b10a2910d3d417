#include "config/json_locator.hpp"

#include <algorithm>
#include <cstdint>
#include <span>
#include <limits>
#include <string>
#include <vector>

namespace binfmtd::config {

namespace {

constexpr std::string_view kBom = "\xEF\xBB\xBF";

bool isSpace(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

// Characters of numbers and of the literals true/false/null (and of mistyped words, so that
// "tru" is one token when a parser error points into it).
bool isScalarChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '+' ||
         c == '-' || c == '.';
}

int hexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

void appendUtf8(std::string& out, std::uint32_t cp) {
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xC0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xE0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (cp >> 18));
    out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  }
}

// A cursor over the raw text. Every read goes through peek() or checks pos against the
// size first, so malformed or truncated text ends the scan instead of reading past it.
class Scanner {
 public:
  explicit Scanner(std::string_view text) : text_(text) {
    if (text_.substr(0, kBom.size()) == kBom) pos = kBom.size();
  }

  std::size_t pos = 0;

  bool atEnd() const { return pos >= text_.size(); }
  char peek() const { return atEnd() ? '\0' : text_[pos]; }
  void skipSpace() {
    while (!atEnd() && isSpace(text_[pos])) ++pos;
  }

  // At an opening quote: moves past the closing one, decoding into *out when given.
  bool readString(std::string* out) {
    if (peek() != '"') return false;
    ++pos;
    while (!atEnd()) {
      const char c = text_[pos++];
      if (c == '"') return true;
      if (static_cast<unsigned char>(c) < 0x20) return false;  // JSON forbids raw controls
      if (c != '\\') {
        if (out) *out += c;
        continue;
      }
      if (atEnd()) return false;
      const char e = text_[pos++];
      char plain = '\0';
      switch (e) {
        case '"':
          plain = '"';
          break;
        case '\\':
          plain = '\\';
          break;
        case '/':
          plain = '/';
          break;
        case 'b':
          plain = '\b';
          break;
        case 'f':
          plain = '\f';
          break;
        case 'n':
          plain = '\n';
          break;
        case 'r':
          plain = '\r';
          break;
        case 't':
          plain = '\t';
          break;
        case 'u': {
          std::uint32_t cp = 0;
          if (!readHex4(cp)) return false;
          // A high surrogate followed by an escaped low one is a single code point.
          if (cp >= 0xD800 && cp <= 0xDBFF && peek() == '\\' && pos + 1 < text_.size() &&
              text_[pos + 1] == 'u') {
            const std::size_t save = pos;
            pos += 2;
            std::uint32_t low = 0;
            if (readHex4(low) && low >= 0xDC00 && low <= 0xDFFF) {
              cp = 0x10000 + ((cp - 0xD800) << 10) + (low - 0xDC00);
            } else {
              pos = save;
            }
          }
          if (cp >= 0xD800 && cp <= 0xDFFF) cp = 0xFFFD;  // lone surrogate
          if (out) appendUtf8(*out, cp);
          continue;
        }
        default:
          return false;
      }
      if (out) *out += plain;
    }
    return false;
  }

  bool skipScalar() {
    const std::size_t start = pos;
    while (!atEnd() && isScalarChar(text_[pos])) ++pos;
    return pos > start;
  }

  // Skips one value of any kind. Containers are skipped with an explicit stack of the
  // expected closing brackets rather than by recursion, so deep nesting costs no stack.
  bool skipValue() {
    skipSpace();
    const char first = peek();
    if (first == '"') return readString(nullptr);
    if (first != '{' && first != '[') return skipScalar();
    std::string closers;
    while (!atEnd()) {
      const char c = text_[pos];
      if (c == '"') {
        if (!readString(nullptr)) return false;
        continue;
      }
      ++pos;
      if (c == '{') {
        closers += '}';
      } else if (c == '[') {
        closers += ']';
      } else if (c == '}' || c == ']') {
        if (closers.empty() || closers.back() != c) return false;
        closers.pop_back();
        if (closers.empty()) return true;
      }
    }
    return false;
  }

 private:
  bool readHex4(std::uint32_t& value) {
    if (text_.size() - pos < 4) return false;
    value = 0;
    for (int i = 0; i < 4; ++i) {
      const int digit = hexValue(text_[pos++]);
      if (digit < 0) return false;
      value = value * 16 + static_cast<std::uint32_t>(digit);
    }
    return true;
  }

  std::string_view text_;
};

// RFC 6901: "" is the whole document, otherwise "/"-separated tokens with ~1 = '/' and
// ~0 = '~'.
std::optional<std::vector<std::string>> splitPointer(std::string_view pointer) {
  std::vector<std::string> tokens;
  if (pointer.empty()) return tokens;
  if (pointer.front() != '/') return std::nullopt;
  std::string current;
  for (std::size_t i = 1; i <= pointer.size(); ++i) {
    if (i == pointer.size() || pointer[i] == '/') {
      tokens.push_back(std::move(current));
      current.clear();
      continue;
    }
    if (pointer[i] != '~') {
      current += pointer[i];
      continue;
    }
    if (i + 1 >= pointer.size()) return std::nullopt;
    const char e = pointer[++i];
    if (e == '0') {
      current += '~';
    } else if (e == '1') {
      current += '/';
    } else {
      return std::nullopt;
    }
  }
  return tokens;
}

std::optional<std::size_t> parseIndex(std::string_view token) {
  if (token.empty() || (token.size() > 1 && token.front() == '0')) return std::nullopt;
  std::size_t value = 0;
  for (const char c : token) {
    if (c < '0' || c > '9') return std::nullopt;
    const auto digit = static_cast<std::size_t>(c - '0');
    if (value > (std::numeric_limits<std::size_t>::max() - digit) / 10) return std::nullopt;
    value = value * 10 + digit;
  }
  return value;
}

// nlohmann's messages name its own tokens ("syntax error while parsing object separator -
// unexpected string literal; expected ':'"); keep the part a user can act on.
std::string cleanSyntaxMessage(std::string_view text) {
  std::string what(text);
  if (const auto dash = what.find(" - "); dash != std::string::npos) {
    what.erase(0, dash + 3);
  } else if (const auto colon = what.find(": "); colon != std::string::npos) {
    what.erase(0, colon + 2);
  }
  if (const auto lastRead = what.find("; last read: '"); lastRead != std::string::npos) {
    const auto expected = what.find("'; expected ", lastRead);
    what.erase(lastRead,
               expected == std::string::npos ? std::string::npos : expected + 1 - lastRead);
  }
  const std::pair<std::string_view, std::string_view> rewrites[] = {
      {"'[', '{', or a literal", "a value"},
      {"; expected string literal", "; expected a key in double quotes"},
      {"string literal", "string"},
      {"number literal", "number"},
      {"true literal", "'true'"},
      {"false literal", "'false'"},
      {"null literal", "'null'"},
      {"; expected", ", expected"},
  };
  for (const auto& [from, to] : rewrites) {
    for (auto at = what.find(from); at != std::string::npos; at = what.find(from, at + to.size()))
      what.replace(at, from.size(), to);
  }
  return "syntax error: " + what;
}

}  // namespace

TextPosition positionAt(std::string_view text, std::size_t offset) {
  TextPosition position;
  const std::size_t end = offset < text.size() ? offset : text.size();
  std::size_t i = text.substr(0, kBom.size()) == kBom ? kBom.size() : 0;
  for (; i < end; ++i) {
    const char c = text[i];
    if (c == '\n') {
      ++position.line;
      position.column = 1;
    } else if ((static_cast<unsigned char>(c) & 0xC0) != 0x80) {  // not a continuation byte
      ++position.column;
    }
  }
  return position;
}

namespace {

// Follows `tokens` from the value that starts at `valueAt`.
std::optional<std::size_t> resolve(std::string_view text, std::size_t valueAt,
                                   std::span<const std::string> tokens, PointerTarget target) {
  Scanner scan(text);
  std::size_t keyAt = valueAt;
  for (const std::string& token : tokens) {
    scan.pos = valueAt;
    const char open = scan.peek();
    bool found = false;
    ++scan.pos;
    scan.skipSpace();

    if (open == '{') {
      if (scan.peek() == '}') return std::nullopt;
      while (true) {
        scan.skipSpace();
        const std::size_t keyPos = scan.pos;
        std::string key;
        if (!scan.readString(&key)) return std::nullopt;
        scan.skipSpace();
        if (scan.peek() != ':') return std::nullopt;
        ++scan.pos;
        scan.skipSpace();
        // Keep looking after a match: the last of duplicate keys is the one that counts.
        if (key == token) {
          found = true;
          keyAt = keyPos;
          valueAt = scan.pos;
        }
        if (!scan.skipValue()) return std::nullopt;
        scan.skipSpace();
        if (scan.peek() == ',') {
          ++scan.pos;
          continue;
        }
        if (scan.peek() == '}') break;
        return std::nullopt;
      }
    } else if (open == '[') {
      const auto index = parseIndex(token);
      if (!index || scan.peek() == ']') return std::nullopt;
      for (std::size_t n = 0;; ++n) {
        scan.skipSpace();
        if (n == *index) {
          found = !scan.atEnd() && scan.peek() != ']' && scan.peek() != ',';
          keyAt = valueAt = scan.pos;
          break;
        }
        if (!scan.skipValue()) return std::nullopt;
        scan.skipSpace();
        if (scan.peek() != ',') return std::nullopt;  // ']' here: index out of range
        ++scan.pos;
      }
    }
    if (!found) return std::nullopt;
  }
  return target == PointerTarget::Key ? keyAt : valueAt;
}

// Where the document's top-level value starts, or nullopt for blank text.
std::optional<std::size_t> documentStart(std::string_view text) {
  Scanner scan(text);
  scan.skipSpace();
  if (scan.atEnd()) return std::nullopt;
  return scan.pos;
}

}  // namespace

std::optional<std::size_t> locateOffset(std::string_view text, std::string_view pointer,
                                        PointerTarget target) {
  const auto tokens = splitPointer(pointer);
  const auto start = documentStart(text);
  if (!tokens || !start) return std::nullopt;
  return resolve(text, *start, *tokens, target);
}

Locator::Locator(std::string_view text) : text_(text) {
  std::size_t i = text.substr(0, kBom.size()) == kBom ? kBom.size() : 0;
  lineStarts_.push_back(i);
  for (; i < text.size(); ++i)
    if (text[i] == '\n') lineStarts_.push_back(i + 1);
}

const std::vector<std::size_t>& Locator::elements(const std::string& member) {
  auto [it, inserted] = elements_.try_emplace(member);
  if (!inserted) return it->second;
  const auto start = documentStart(text_);
  const std::string tokens[] = {member};
  const auto array = start ? resolve(text_, *start, tokens, PointerTarget::Value) : std::nullopt;
  Scanner scan(text_);
  if (!array || (scan.pos = *array, scan.peek() != '[')) return it->second;
  ++scan.pos;
  scan.skipSpace();
  if (scan.peek() == ']') return it->second;
  while (true) {
    scan.skipSpace();
    it->second.push_back(scan.pos);
    if (!scan.skipValue()) return it->second;
    scan.skipSpace();
    if (scan.peek() != ',') return it->second;
    ++scan.pos;
  }
}

std::optional<TextPosition> Locator::locate(std::string_view pointer, PointerTarget target) {
  const auto tokens = splitPointer(pointer);
  if (!tokens) return std::nullopt;
  std::optional<std::size_t> offset;
  std::optional<std::size_t> index;
  if (tokens->size() >= 2 && (index = parseIndex((*tokens)[1]))) {
    // "/member/N/...": start at element N, found once for the whole array.
    const auto& starts = elements((*tokens)[0]);
    if (*index >= starts.size()) return std::nullopt;
    offset = resolve(text_, starts[*index], std::span(*tokens).subspan(2), target);
  } else {
    offset = locateOffset(text_, pointer, target);
  }
  if (!offset) return std::nullopt;
  return position(*offset);
}

TextPosition Locator::position(std::size_t offset) {
  const std::size_t end = std::min(offset, text_.size());
  const auto line = std::upper_bound(lineStarts_.begin(), lineStarts_.end(), end) - 1;
  // Columns count characters from the line start; on a long line (a generated one-line
  // file) continue from the previous answer instead, as the loader asks in text order.
  std::size_t from = *line;
  TextPosition p{static_cast<int>(line - lineStarts_.begin()) + 1, 1};
  if (last_.line == p.line && lastOffset_ >= from && lastOffset_ <= end) {
    from = lastOffset_;
    p = last_;
  }
  for (std::size_t i = from; i < end; ++i)
    if ((static_cast<unsigned char>(text_[i]) & 0xC0) != 0x80) ++p.column;
  last_ = p;
  lastOffset_ = end;
  return p;
}

std::optional<TextPosition> locate(std::string_view text, std::string_view pointer,
                                   PointerTarget target) {
  const auto offset = locateOffset(text, pointer, target);
  if (!offset) return std::nullopt;
  return positionAt(text, *offset);
}

std::string escapePointerToken(std::string_view key) {
  std::string out;
  out.reserve(key.size());
  for (const char c : key) {
    if (c == '~') {
      out += "~0";
    } else if (c == '/') {
      out += "~1";
    } else {
      out += c;
    }
  }
  return out;
}

std::size_t tokenStart(std::string_view text, std::size_t offset) {
  if (offset >= text.size()) return offset;
  std::size_t pos = text.substr(0, kBom.size()) == kBom ? kBom.size() : 0;
  while (pos < text.size() && pos <= offset) {
    const char c = text[pos];
    if (isSpace(c)) {
      ++pos;
      continue;
    }
    const std::size_t start = pos;
    if (c == '"') {
      ++pos;
      while (pos < text.size()) {
        const char s = text[pos];
        if (s == '\\') {
          pos += 2;
        } else {
          ++pos;
          if (s == '"') break;
        }
      }
    } else if (isScalarChar(c)) {
      while (pos < text.size() && isScalarChar(text[pos])) ++pos;
    } else {
      ++pos;
    }
    if (offset < pos) return start;
  }
  return offset;
}

SyntaxError describeSyntaxError(std::string_view text, std::size_t byte, std::string_view what) {
  SyntaxError error;
  error.message = cleanSyntaxMessage(what);
  const bool lexical = what.find("; last read: '") != std::string_view::npos;
  std::size_t offset = byte > 0 ? byte - 1 : 0;
  if (offset >= text.size()) {
    // Not at a line that a trailing newline opens, but where the text stopped.
    const auto last = text.find_last_not_of(" \t\r\n");
    offset = last == std::string_view::npos ? 0 : last + 1;
  } else if (!lexical || error.message.find("invalid literal") != std::string::npos ||
             error.message.find("invalid number") != std::string::npos) {
    // The parser stops at the end of the offending token, or just after a word it could
    // not read ("tru}"); the token's start is what a reader looks for. Errors inside a
    // string keep pointing at the bad character.
    if (lexical && offset > 0 && !isScalarChar(text[offset]) && isScalarChar(text[offset - 1]))
      --offset;
    offset = tokenStart(text, offset);
  }
  error.position = positionAt(text, offset);
  return error;
}

}  // namespace binfmtd::config
