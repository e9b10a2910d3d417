#include <catch2/catch.hpp>

#include "util/utf8.hpp"

using namespace binfmtd::util;

TEST_CASE("isValidUtf8 accepts what D-Bus accepts", "[utf8]") {
  CHECK(isValidUtf8(""));
  CHECK(isValidUtf8("qemu-aarch64"));
  CHECK(isValidUtf8("caf\xc3\xa9"));       // U+00E9
  CHECK(isValidUtf8("\xe2\x82\xac"));      // U+20AC
  CHECK(isValidUtf8("\xf0\x9f\x98\x80"));  // U+1F600
  CHECK(isValidUtf8("\xf4\x8f\xbf\xbf"));  // U+10FFFF
  CHECK(isValidUtf8("\t\x7f"));            // control characters are valid text
}

TEST_CASE("isValidUtf8 refuses what D-Bus refuses", "[utf8]") {
  CHECK_FALSE(isValidUtf8("60-\xff.json"));
  CHECK_FALSE(isValidUtf8("\x80"));              // stray continuation byte
  CHECK_FALSE(isValidUtf8("\xc3"));              // truncated
  CHECK_FALSE(isValidUtf8("\xc0\xaf"));          // overlong '/'
  CHECK_FALSE(isValidUtf8("\xe0\x80\xaf"));      // overlong, 3 bytes
  CHECK_FALSE(isValidUtf8("\xed\xa0\x80"));      // surrogate U+D800
  CHECK_FALSE(isValidUtf8("\xf4\x90\x80\x80"));  // U+110000
  CHECK_FALSE(isValidUtf8(std::string_view("a\0b", 3)));
}

TEST_CASE("toValidUtf8 escapes only the invalid bytes", "[utf8]") {
  CHECK(toValidUtf8("caf\xc3\xa9") == "caf\xc3\xa9");
  CHECK(toValidUtf8("60-\xff.json") == "60-\\xff.json");
  CHECK(toValidUtf8("\xc3(") == "\\xc3(");
  CHECK(toValidUtf8("\xed\xa0\x80") == "\\xed\\xa0\\x80");
  CHECK(toValidUtf8(std::string_view("a\0b", 3)) == "a\\x00b");
  for (int b = 0; b < 256; ++b) {
    const std::string one(1, static_cast<char>(b));
    CHECK(isValidUtf8(toValidUtf8(one + "\xe2\x82" + one)));
  }
}

TEST_CASE("truncateUtf8 never cuts a character in two", "[utf8]") {
  const std::string euros = "\xe2\x82\xac\xe2\x82\xac";  // two 3-byte characters
  CHECK(truncateUtf8(euros, 6) == euros);
  CHECK(truncateUtf8(euros, 5) == "\xe2\x82\xac");
  CHECK(truncateUtf8(euros, 4) == "\xe2\x82\xac");
  CHECK(truncateUtf8(euros, 3) == "\xe2\x82\xac");
  CHECK(truncateUtf8(euros, 2).empty());
  CHECK(truncateUtf8("abc", 2) == "ab");
  const std::string name = std::string(31, 'a') + "\xc3\xa9" + "tail";
  CHECK(truncateUtf8(name, 32) == std::string(31, 'a'));
  CHECK(isValidUtf8(truncateUtf8(name, 32)));
}
