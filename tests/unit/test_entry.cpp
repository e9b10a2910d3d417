// Unit tests for kernel/entry.hpp: flags, validation, the register string and the
// entry-file parser. No kernel involved; tests/kernel/test_binfmt_fs.cpp proves the same
// strings against a real binfmt_misc instance. Magic literals use octal escapes ("\177ELF")
// where a hex escape would swallow the letters after it.
#include <catch2/catch.hpp>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "kernel/entry.hpp"

using namespace binfmtd::kernel;
using namespace std::string_literals;

namespace {

Entry magicEntry(std::string name, std::string magic, std::string mask = {}) {
  Entry e;
  e.name = std::move(name);
  e.type = MatchType::Magic;
  e.magic = std::move(magic);
  e.mask = std::move(mask);
  e.interpreter = "/usr/bin/interp";
  return e;
}

Entry extensionEntry(std::string name, std::string extension) {
  Entry e;
  e.name = std::move(name);
  e.type = MatchType::Extension;
  e.extension = std::move(extension);
  e.interpreter = "/usr/bin/interp";
  return e;
}

std::string reasonOf(const Entry& e) { return validate(e).value_or("<valid>"); }

// Debian's qemu-aarch64 line (qemu-user-static 7.2), kept here so the test does not
// depend on the package being installed.
const std::string kQemuAarch64 =
    ":qemu-aarch64:M::\\x7f\\x45\\x4c\\x46\\x02\\x01\\x01\\x00\\x00\\x00\\x00\\x00\\x00\\x00"
    "\\x00\\x00\\x02\\x00\\xb7\\x00:\\xff\\xff\\xff\\xff\\xff\\xff\\xff\\x00\\xff\\xff\\xff\\xff"
    "\\xff\\xff\\xff\\xff\\xfe\\xff\\xff\\xff:/usr/libexec/qemu-binfmt/aarch64-binfmt-P:OPF";

std::string fromHex(std::string_view hex) {
  std::string out;
  for (std::size_t i = 0; i + 1 < hex.size(); i += 2)
    out += static_cast<char>(std::stoi(std::string(hex.substr(i, 2)), nullptr, 16));
  return out;
}

}  // namespace

TEST_CASE("canonicalFlags orders P O C F, drops duplicates and adds O for C", "[entry]") {
  CHECK(canonicalFlags("") == "");
  CHECK(canonicalFlags("CF") == "OCF");
  CHECK(canonicalFlags("C") == "OC");
  CHECK(canonicalFlags("FP") == "PF");
  CHECK(canonicalFlags("FCOP") == "POCF");
  CHECK(canonicalFlags("OPF") == "POF");
  CHECK(canonicalFlags("PPFF") == "PF");
  CHECK_FALSE(canonicalFlags("p"));
  CHECK_FALSE(canonicalFlags("PZ"));
  CHECK_FALSE(canonicalFlags("P "));
  CHECK_FALSE(canonicalFlags("P\n"));
}

TEST_CASE("toHex prints lower-case hex like the kernel", "[entry]") {
  CHECK(toHex("") == "");
  CHECK(toHex("\177ELF\x00\xff"s) == "7f454c4600ff");
}

TEST_CASE("registerString writes every field in the kernel's order", "[entry]") {
  Entry e = magicEntry("tst", "\177ELF\x02");
  e.flags = "FP";
  CHECK(registerString(e) == ":tst:M:0:\\x7fELF\\x02::/usr/bin/interp:PF");

  e.offset = 5;
  e.mask = "\xff\xff\xff\xff\xfe";
  e.flags = "C";
  CHECK(registerString(e) == ":tst:M:5:\\x7fELF\\x02:\\xff\\xff\\xff\\xff\\xfe:/usr/bin/interp:OC");

  Entry x = extensionEntry("jar", "jar");
  x.offset = 7;  // ignored for extension entries: the offset field stays empty
  CHECK(registerString(x) == ":jar:E::jar::/usr/bin/interp:");
}

TEST_CASE("registerString escapes only what the kernel would misread", "[entry]") {
  SECTION("NUL, space, control and high bytes") {
    Entry e = magicEntry("t", "\x00 \x01\x1f\x7f\x80\xff"s);
    CHECK(registerString(e) == ":t:M:0:\\x00\\x20\\x01\\x1f\\x7f\\x80\\xff::/usr/bin/interp:");
  }
  SECTION("backslash, so that a following 'x' is never taken as an escape") {
    Entry e = magicEntry("t", "\\x41");
    CHECK(registerString(e) == ":t:M:0:\\x5cx41::/usr/bin/interp:");
  }
  SECTION("the delimiter, in magic and mask") {
    Entry e = magicEntry("t", "a:b", "::\xff");
    CHECK(registerString(e) == ":t:M:0:a\\x3ab:\\x3a\\x3a\\xff:/usr/bin/interp:");
  }
  SECTION("printable bytes stay literal, including the edges 0x21 and 0x7e") {
    Entry e = magicEntry("t", "!~#|AZaz09");
    CHECK(registerString(e) == ":t:M:0:!~#|AZaz09::/usr/bin/interp:");
  }
  SECTION("with another delimiter, ':' is literal and that delimiter is escaped") {
    Entry e = magicEntry("a:b", "#:");
    CHECK(registerString(e) == "#a:b#M#0#\\x23:##/usr/bin/interp#");
  }
}

TEST_CASE("registerString picks a delimiter no free-text field contains", "[entry]") {
  CHECK(registerString(magicEntry("plain", "A"))[0] == ':');
  CHECK(registerString(magicEntry("a:b", "A"))[0] == '#');
  CHECK(registerString(magicEntry("a:b#c", "A"))[0] == '|');
  CHECK(registerString(magicEntry("a:#|!@%^&~=,", "A"))[0] == ';');

  Entry e = magicEntry("n", "A");
  e.interpreter = "/opt/a:b/interp";
  CHECK(registerString(e) == "#n#M#0#A##/opt/a:b/interp#");

  Entry x = extensionEntry("n", "a:b");
  CHECK(registerString(x) == "#n#E##a:b##/usr/bin/interp#");

  // Magic bytes never force a change: they are escaped instead.
  CHECK(registerString(magicEntry("n", ":#|"))[0] == ':');
}

TEST_CASE("validate accepts well-formed entries", "[entry]") {
  CHECK_FALSE(validate(magicEntry("qemu-aarch64", "\177ELF", "\xff\xff\xff\xff")));
  CHECK_FALSE(validate(extensionEntry("jar", "jar")));
  CHECK_FALSE(validate(magicEntry(std::string(255, 'n'), "A")));
  Entry e = magicEntry("edge", "A");
  e.offset = 255;
  CHECK_FALSE(validate(e));
  e.offset = 0;
  e.magic = std::string(256, 'A');
  CHECK_FALSE(validate(e));
  // Every byte value at offset 0 with an all-ones mask still fits in 1920 bytes.
  std::string all;
  for (int i = 0; i < 256; ++i) all += static_cast<char>(i);
  e.magic = all;
  e.mask = std::string(256, '\xff');
  CHECK(registerString(e).size() <= kMaxRegisterLength);
  CHECK_FALSE(validate(e));
}

TEST_CASE("validate names the field at fault", "[entry]") {
  SECTION("name") {
    CHECK(reasonOf(magicEntry("", "A")) == "name is empty");
    CHECK(reasonOf(magicEntry(".", "A")) == "name '.' is not allowed");
    CHECK(reasonOf(magicEntry("..", "A")) == "name '..' is not allowed");
    CHECK(reasonOf(magicEntry("a/b", "A")) == "name contains '/'");
    CHECK(reasonOf(magicEntry("a\nb", "A")) == "name contains a line break or NUL byte");
    CHECK(reasonOf(magicEntry("a\0b"s, "A")) == "name contains a line break or NUL byte");
    CHECK(reasonOf(magicEntry(std::string(256, 'n'), "A")) ==
          "name is 256 bytes long; the kernel allows at most 255");
    CHECK(reasonOf(magicEntry("register", "A")) ==
          "name 'register' is reserved by binfmt_misc for its control file");
    CHECK(reasonOf(magicEntry("status", "A")) ==
          "name 'status' is reserved by binfmt_misc for its control file");
  }
  SECTION("magic, mask and offset") {
    CHECK(reasonOf(magicEntry("m", "")) == "magic is empty");
    CHECK(reasonOf(magicEntry("m", std::string(20, 'A'), std::string(19, '\xff'))) ==
          "magic and mask differ in length (20 and 19 bytes)");
    CHECK(reasonOf(magicEntry("m", "AB", "\xff\xff\xff")) ==
          "magic and mask differ in length (2 and 3 bytes)");
    Entry e = magicEntry("m", std::string(8, 'A'));
    e.offset = 250;
    CHECK(reasonOf(e) ==
          "offset 250 plus magic length 8 exceeds the kernel's 256-byte header buffer");
    e.offset = 0;
    e.magic = std::string(257, 'A');
    CHECK(reasonOf(e) ==
          "offset 0 plus magic length 257 exceeds the kernel's 256-byte header buffer");
    e.magic = "A";
    e.offset = 256;
    CHECK(reasonOf(e) ==
          "offset 256 plus magic length 1 exceeds the kernel's 256-byte header buffer");
    e.offset = 0xffffffffu;  // no wrap-around in the sum
    CHECK(reasonOf(e) ==
          "offset 4294967295 plus magic length 1 exceeds the kernel's 256-byte header buffer");
  }
  SECTION("extension") {
    CHECK(reasonOf(extensionEntry("x", "")) == "extension is empty");
    CHECK(reasonOf(extensionEntry("x", "a/b")) == "extension contains '/'");
    CHECK(reasonOf(extensionEntry("x", "tar.gz")) ==
          "extension contains '.' (the kernel matches only the text after the last dot)");
    CHECK(reasonOf(extensionEntry("x", "a\\x41")) ==
          "extension contains '\\x' (the kernel does not unescape extensions)");
    CHECK(reasonOf(extensionEntry("x", "a\nb")) == "extension contains a line break or NUL byte");
  }
  SECTION("interpreter and flags") {
    Entry e = magicEntry("i", "A");
    e.interpreter = "";
    CHECK(reasonOf(e) == "interpreter is empty");
    e.interpreter = "/bin/a\nb";
    CHECK(reasonOf(e) == "interpreter contains a line break or NUL byte");
    e.interpreter = "/bin/a\0b"s;
    CHECK(reasonOf(e) == "interpreter contains a line break or NUL byte");
    e.interpreter = "/bin/cat";
    e.flags = "PX";
    CHECK(reasonOf(e) == "flags 'PX' contain a letter other than P, O, C and F");
    e.flags = "pof";
    CHECK(reasonOf(e) == "flags 'pof' contain a letter other than P, O, C and F");
  }
  SECTION("no usable delimiter") {
    Entry e = magicEntry("a:#|!@%^", "A");
    e.interpreter = "/x&~=,;";
    CHECK(reasonOf(e) ==
          "name, interpreter and extension together contain every usable delimiter "
          "(:#|!@%^&~=,;)");
  }
  SECTION("whole register string") {
    Entry e = magicEntry("n", "A");
    // ":n:M:0:A::" is 10 bytes and ":" 1 more, so this interpreter makes exactly 1920.
    e.interpreter = "/" + std::string(1908, 'i');
    CHECK(registerString(e).size() == 1920);
    CHECK_FALSE(validate(e));
    e.interpreter += "i";
    CHECK(reasonOf(e) == "register string is 1921 bytes long; the kernel accepts at most 1920");
    // Escaping counts: 256 high bytes in both magic and mask would need 2048 bytes.
    Entry big = magicEntry("big", std::string(256, '\x80'), std::string(256, '\xff'));
    CHECK(reasonOf(big).find("register string is") == 0);
  }
}

TEST_CASE("parseRegisterString reads Debian's qemu-aarch64 line", "[entry]") {
  std::string error;
  auto e = parseRegisterString(kQemuAarch64 + "\n", &error);
  REQUIRE(e);
  CHECK(error.empty());
  CHECK(e->name == "qemu-aarch64");
  CHECK(e->type == MatchType::Magic);
  CHECK(e->offset == 0);
  CHECK(toHex(e->magic) == "7f454c460201010000000000000000000200b700");
  CHECK(toHex(e->mask) == "ffffffffffffff00fffffffffffffffffeffffff");
  CHECK(e->interpreter == "/usr/libexec/qemu-binfmt/aarch64-binfmt-P");
  CHECK(e->flags == "POF");
  CHECK(e->enabled);
  CHECK_FALSE(validate(*e));
}

TEST_CASE("parseRegisterString handles delimiters, escapes and empty fields", "[entry]") {
  SECTION("any first character is the delimiter") {
    auto e = parseRegisterString("#d1#M##\\x49##/interp#");
    REQUIRE(e);
    CHECK(e->name == "d1");
    CHECK(e->magic == "I");
    CHECK(e->mask.empty());
    CHECK(e->offset == 0);
    CHECK(e->interpreter == "/interp");
    CHECK(e->flags == "");
  }
  SECTION("a delimiter inside an escape does not end the field") {
    // With 'a' as delimiter, "\xaa" is an escape, not two delimiters.
    auto e = parseRegisterString("anaMa0a\\xaaaa/iaF");
    REQUIRE(e);
    CHECK(e->magic == "\xaa");
    CHECK(e->interpreter == "/i");
    CHECK(e->flags == "F");
  }
  SECTION("offset, upper-case hex, literal bytes and a backslash without x") {
    auto e = parseRegisterString(":n:M:12:AB\\xFF\\q:\\xff\\x0F\\xffz\\xff:/i:CF");
    REQUIRE(e);
    CHECK(e->offset == 12);
    CHECK(e->magic == "AB\xff\\q");
    CHECK(e->mask == "\xff\x0f\xffz\xff");
    CHECK(e->flags == "OCF");
  }
  SECTION("extension entries ignore offset and mask") {
    auto e = parseRegisterString(":jar:E:99:jar:junk:/usr/bin/jexec:\n");
    REQUIRE(e);
    CHECK(e->type == MatchType::Extension);
    CHECK(e->extension == "jar");
    CHECK(e->offset == 0);
    CHECK(e->magic.empty());
    CHECK(e->mask.empty());
    CHECK(e->interpreter == "/usr/bin/jexec");
  }
  SECTION("the interpreter may contain spaces") {
    auto e = parseRegisterString(":n:M::A::/opt/my tools/run:P");
    REQUIRE(e);
    CHECK(e->interpreter == "/opt/my tools/run");
  }
}

TEST_CASE("parseRegisterString rejects malformed lines with a reason", "[entry]") {
  auto reject = [](std::string_view line) {
    std::string error;
    auto e = parseRegisterString(line, &error);
    CHECK_FALSE(e);
    return error;
  };
  CHECK(reject("") == "register string is empty");
  CHECK(reject("\n") == "register string is empty");
  CHECK(reject(":name") == "missing delimiter after the name");
  CHECK(reject(":n:M") == "missing delimiter after the type");
  CHECK(reject(":n:X::A::/i:") == "type 'X' is neither M nor E");
  CHECK(reject(":n:MM::A::/i:") == "type 'MM' is neither M nor E");
  CHECK(reject(":n:M:abc:A::/i:") == "offset 'abc' is not a decimal number");
  CHECK(reject(":n:M:-1:A::/i:") == "offset '-1' is not a decimal number");
  CHECK(reject(":n:M:99999999999:A::/i:") == "offset '99999999999' is not a decimal number");
  CHECK(reject(":n:M:0:\\xg1::/i:") == "magic has a \\x escape without two hex digits");
  CHECK(reject(":n:M:0:A:\\x1:/i:") == "mask has a \\x escape without two hex digits");
  CHECK(reject(":n:M:0:A\0B::/i:"s) == "magic contains a NUL byte; write it as \\x00");
  CHECK(reject(":n:M:0:A") == "missing delimiter after the magic");
  CHECK(reject(":n:M:0:A:") == "missing delimiter after the mask");
  CHECK(reject(":n:M:0:A::/i") == "missing delimiter after the interpreter");
  CHECK(reject(":n:E::jar") == "missing delimiter after the extension");
  CHECK(reject(":n:M:0:A::/i:PZ") == "flags 'PZ' contain a letter other than P, O, C and F");
  CHECK(reject(":n:M:0:A::/i:P\n\n") == "flags 'P\n' contain a letter other than P, O, C and F");
  CHECK(reject(":n:M:0:A::/i:P:") == "flags 'P:' contain a letter other than P, O, C and F");
}

TEST_CASE("registerString and parseRegisterString round-trip", "[entry]") {
  std::string all;
  for (int i = 0; i < 256; ++i) all += static_cast<char>(i);
  std::vector<Entry> entries = {
      magicEntry("plain", "\177ELF"),
      magicEntry("masked", "\x00\x01\xff:\\x"s, "\xff\x00\xfe\x3a\x5c\x78"s),
      magicEntry("every-byte", all, std::string(256, '\xff')),
      magicEntry("colon:name", "::##", "\xff\xff\xff\xff"),
      extensionEntry("ext", "jar"),
      extensionEntry("ext:colon", "a:b"),
  };
  entries[0].offset = 3;
  entries[0].flags = "POCF";
  entries[4].flags = "P";
  Entry spaced = magicEntry("spaced", "  a b ");
  spaced.interpreter = "/opt/with space/and:colon";
  entries.push_back(spaced);

  for (const Entry& e : entries) {
    INFO("entry " << e.name);
    REQUIRE_FALSE(validate(e));
    std::string error;
    auto back = parseRegisterString(registerString(e), &error);
    INFO(error);
    REQUIRE(back);
    CHECK(*back == e);
    CHECK(back->sameDefinition(e));
  }
}

TEST_CASE("Debian's binfmt.d qemu lines round-trip", "[entry]") {
  std::vector<std::string> lines = {kQemuAarch64};
  const std::filesystem::path dir = "/usr/lib/binfmt.d";
  std::error_code ec;
  for (const auto& de : std::filesystem::directory_iterator(dir, ec)) {
    std::string file = de.path().filename().string();
    if (file.rfind("qemu-", 0) != 0 || de.path().extension() != ".conf") continue;
    std::ifstream in(de.path());
    for (std::string line; std::getline(in, line);)
      if (!line.empty() && line[0] != '#' && line[0] != ';') lines.push_back(line);
  }
  if (lines.size() == 1) {
    const char* ci = std::getenv("CI");
    if (ci != nullptr && *ci != '\0' && std::string(ci) != "false")
      FAIL("no /usr/lib/binfmt.d/qemu-*.conf: install qemu-user-static");
    WARN("no /usr/lib/binfmt.d/qemu-*.conf (qemu-user-static not installed); built-in line only");
  }
  for (const std::string& line : lines) {
    INFO(line);
    std::string error;
    auto e = parseRegisterString(line, &error);
    INFO(error);
    REQUIRE(e);
    CHECK_FALSE(validate(*e));
    CHECK(e->flags == "POF");
    auto back = parseRegisterString(registerString(*e));
    REQUIRE(back);
    CHECK(*back == *e);
  }
}

TEST_CASE("parseEntryFile reads what the kernel prints", "[entry]") {
  SECTION("magic with mask, C shown with O") {
    std::string error;
    auto e = parseEntryFile("tst",
                            "enabled\ninterpreter /bin/cat\nflags: OC\noffset 2\n"
                            "magic ff41\nmask 0fff\n",
                            &error);
    REQUIRE(e);
    CHECK(error.empty());
    CHECK(e->name == "tst");
    CHECK(e->enabled);
    CHECK(e->type == MatchType::Magic);
    CHECK(e->interpreter == "/bin/cat");
    CHECK(e->flags == "OC");
    CHECK(e->offset == 2);
    CHECK(e->magic == "\377A");
    CHECK(e->mask == "\x0f\xff");
  }
  SECTION("magic without mask, empty flags with the kernel's trailing space") {
    auto e = parseEntryFile("tst",
                            "enabled\ninterpreter /usr/bin/qemu-aarch64-static\nflags: \n"
                            "offset 0\nmagic 7f454c4602\n");
    REQUIRE(e);
    CHECK(e->flags == "");
    CHECK(e->magic == "\177ELF\x02");
    CHECK(e->mask.empty());
  }
  SECTION("empty flags without the space, and no final newline") {
    auto e = parseEntryFile("tst", "enabled\ninterpreter /i\nflags:\noffset 0\nmagic 00");
    REQUIRE(e);
    CHECK(e->flags == "");
    CHECK(e->magic == "\0"s);
  }
  SECTION("extension, disabled") {
    auto e = parseEntryFile("jar",
                            "disabled\ninterpreter /usr/bin/jexec\nflags: POCF\n"
                            "extension .jar\n");
    REQUIRE(e);
    CHECK_FALSE(e->enabled);
    CHECK(e->type == MatchType::Extension);
    CHECK(e->extension == "jar");
    CHECK(e->flags == "POCF");
    CHECK(e->magic.empty());
  }
  SECTION("an interpreter with spaces") {
    auto e = parseEntryFile("s", "enabled\ninterpreter /opt/a b/c\nflags: P\nextension .x\n");
    REQUIRE(e);
    CHECK(e->interpreter == "/opt/a b/c");
  }
}

TEST_CASE("parseEntryFile rejects text not in the kernel's format", "[entry]") {
  auto reject = [](std::string_view text) {
    std::string error;
    auto e = parseEntryFile("n", text, &error);
    CHECK_FALSE(e);
    return error;
  };
  const std::string head = "enabled\ninterpreter /i\nflags: P\n";
  CHECK(reject("") == "entry file has 0 lines; expected at least 4");
  CHECK(reject("enabled\n") == "entry file has 1 lines; expected at least 4");
  CHECK(reject("on\ninterpreter /i\nflags: P\noffset 0\nmagic 41\n") ==
        "first line 'on' is neither 'enabled' nor 'disabled'");
  CHECK(reject("enabled\ninterp /i\nflags: P\noffset 0\nmagic 41\n") ==
        "second line is not 'interpreter <path>'");
  CHECK(reject("enabled\ninterpreter \nflags: P\noffset 0\nmagic 41\n") == "interpreter is empty");
  CHECK(reject("enabled\ninterpreter /i\nflag: P\noffset 0\nmagic 41\n") ==
        "third line is not 'flags: <letters>'");
  CHECK(reject("enabled\ninterpreter /i\nflags: PX\noffset 0\nmagic 41\n") ==
        "flags 'PX' contain a letter other than P, O, C and F");
  CHECK(reject(head + "offset x\nmagic 41\n") == "offset 'x' is not a decimal number");
  CHECK(reject(head + "offset 0\n") == "'magic <hex>' line missing after the offset");
  CHECK(reject(head + "offset 0\nmask 41\n") == "'magic <hex>' line missing after the offset");
  CHECK(reject(head + "offset 0\nmagic 4\n") == "magic '4' is not a non-empty hex string");
  CHECK(reject(head + "offset 0\nmagic zz\n") == "magic 'zz' is not a non-empty hex string");
  CHECK(reject(head + "offset 0\nmagic \n") == "magic '' is not a non-empty hex string");
  CHECK(reject(head + "offset 0\nmagic 4141\nmask ff\n") ==
        "mask 'ff' is not a hex string of the magic's length");
  CHECK(reject(head + "offset 0\nmagic 41\nmask 41\nextra\n") ==
        "unexpected line 'extra' after the match fields");
  CHECK(reject(head + "extension .\n") == "extension is empty");
  CHECK(reject(head + "extension .jar\noffset 0\n") ==
        "unexpected line 'offset 0' after the match fields");
  CHECK(reject(head + "something else\n") ==
        "fourth line 'something else' is neither 'extension .<ext>' nor 'offset <n>'");
}

TEST_CASE("an entry file and its register string describe the same entry", "[entry]") {
  auto fromLine = parseRegisterString(kQemuAarch64);
  REQUIRE(fromLine);
  // What the kernel prints for that line (flags in P O C F order).
  std::string file =
      "enabled\ninterpreter /usr/libexec/qemu-binfmt/aarch64-binfmt-P\n"
      "flags: POF\noffset 0\nmagic " +
      toHex(fromLine->magic) + "\nmask " + toHex(fromLine->mask) + "\n";
  auto fromFile = parseEntryFile("qemu-aarch64", file);
  REQUIRE(fromFile);
  CHECK(fromFile->sameDefinition(*fromLine));
  CHECK(*fromFile == *fromLine);
  CHECK(fromHex(toHex(fromLine->magic)) == fromLine->magic);
}

TEST_CASE("sameDefinition compares everything but the enabled state", "[entry]") {
  Entry a = magicEntry("n", "AB", "\xff\xff");
  a.flags = "OCF";
  Entry b = a;
  b.enabled = false;
  CHECK(a.sameDefinition(b));
  CHECK_FALSE(a == b);

  b.flags = "CF";  // the same flags in non-canonical spelling
  CHECK(a.sameDefinition(b));

  auto differs = [&](auto change) {
    Entry c = a;
    change(c);
    return !a.sameDefinition(c) && !c.sameDefinition(a);
  };
  CHECK(differs([](Entry& c) { c.name = "m"; }));
  CHECK(differs([](Entry& c) { c.interpreter = "/other"; }));
  CHECK(differs([](Entry& c) { c.flags = "F"; }));
  CHECK(differs([](Entry& c) { c.offset = 1; }));
  CHECK(differs([](Entry& c) { c.magic = "AC"; }));
  CHECK(differs([](Entry& c) { c.mask = ""; }));  // no mask shows differently from all ones
  CHECK(differs([](Entry& c) { c.mask = "\xff\xfe"; }));
  CHECK(differs([](Entry& c) {
    c.type = MatchType::Extension;
    c.extension = "AB";
  }));

  Entry x = extensionEntry("x", "jar");
  Entry y = x;
  y.offset = 12;  // the kernel keeps no offset for extension entries
  CHECK(x.sameDefinition(y));
  y.extension = "war";
  CHECK_FALSE(x.sameDefinition(y));
}

TEST_CASE("matchKey: equal exactly for entries that match the same binaries") {
  Entry a;
  a.name = "a";
  a.magic = std::string("\x7f" "E\x05", 3);
  a.mask = std::string("\xff\xff\x0f", 3);
  Entry b = a;
  b.name = "b";
  b.magic = std::string("\x7f" "E\x35", 3);  // differs only in bits the mask ignores
  CHECK(matchKey(a) == matchKey(b));
  b.offset = 1;
  CHECK(matchKey(a) != matchKey(b));
  Entry plain;
  plain.magic = "AB";
  Entry full = plain;
  full.mask = "\xff\xff";
  CHECK(matchKey(plain) == matchKey(full));  // no mask means every bit
  Entry ext;
  ext.type = MatchType::Extension;
  ext.extension = "exe";
  CHECK(matchKey(ext) == "E:exe");
}

TEST_CASE("covers: a wider entry takes every binary a narrower one would") {
  Entry narrow;
  narrow.magic = "\x7f" "ELF\x02\x01";
  Entry wide;
  wide.magic = "\x7f" "ELF";
  CHECK(covers(wide, narrow));
  CHECK_FALSE(covers(narrow, wide));
  CHECK(covers(narrow, narrow));
  Entry shifted = wide;
  shifted.offset = 1;
  shifted.magic = "ELF";
  CHECK(covers(shifted, narrow));
  shifted.magic = "ELG";
  CHECK_FALSE(covers(shifted, narrow));
  Entry masked = narrow;  // checks fewer bits of the same bytes
  masked.mask = std::string("\xff\xff\xff\xff\x00\xff", 6);
  CHECK(covers(masked, narrow));
  CHECK_FALSE(covers(narrow, masked));
  Entry ext;
  ext.type = MatchType::Extension;
  ext.extension = "x";
  CHECK_FALSE(covers(ext, narrow));
  Entry ext2 = ext;
  CHECK(covers(ext, ext2));
  ext2.extension = "y";
  CHECK_FALSE(covers(ext, ext2));
}

TEST_CASE("matches: as the kernel compares a file's first bytes and name") {
  Entry elf;
  elf.magic = "\x7f" "ELF\x02";
  elf.mask = "\xff\xff\xff\xff\xfe";  // ignores the lowest bit of the class byte
  CHECK(matches(elf, "\x7f" "ELF\x02rest", "/bin/x"));
  CHECK(matches(elf, "\x7f" "ELF\x03", "/bin/x"));
  CHECK_FALSE(matches(elf, "\x7f" "ELG\x02", "/bin/x"));
  CHECK_FALSE(matches(elf, "\x7f" "EL", "/bin/x"));  // a short file reads as zeros after its end
  Entry zeros;
  zeros.magic = std::string("AB\0\0", 4);
  CHECK(matches(zeros, "AB", "/f"));
  Entry at;
  at.offset = 3;
  at.magic = "Z";
  CHECK(matches(at, "abcZ", "/f"));
  CHECK_FALSE(matches(at, "Zbcd", "/f"));
  at.offset = 256;  // beyond what the kernel reads: never
  CHECK_FALSE(matches(at, std::string(300, 'Z'), "/f"));
  Entry exe;
  exe.type = MatchType::Extension;
  exe.extension = "exe";
  CHECK(matches(exe, "", "/home/u/app.exe"));
  CHECK_FALSE(matches(exe, "", "/home/u/app.EXE"));
  CHECK_FALSE(matches(exe, "", "/home/u.exe/app"));  // the last '.' decides: "exe/app"
  CHECK_FALSE(matches(exe, "", "app"));
}
