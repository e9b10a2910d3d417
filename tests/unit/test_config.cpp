// The config layer: the JSON locator, per-file checks with file:line:col, layered loading
// and merging, the last-good fallback, and binfmtctl's atomic drop-in edits.
#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstdlib>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "common/files.hpp"
#include "config/config.hpp"
#include "config/json_locator.hpp"
#include "error.hpp"

namespace fs = std::filesystem;
using namespace binfmtd;
using namespace binfmtd::config;

namespace {

using testfiles::readFile;
using testfiles::writeFile;

// A private directory tree per test, removed afterwards.
struct TempDir : testfiles::TempDir {
  Paths paths() const {
    Paths p;
    p.adminDir = path / "etc";
    p.runtimeDir = path / "run";
    p.vendorDir = path / "usr";
    return p;
  }
};

std::vector<std::string> listDir(const fs::path& dir) {
  std::vector<std::string> names;
  for (const auto& entry : fs::directory_iterator(dir)) names.push_back(entry.path().filename());
  std::sort(names.begin(), names.end());
  return names;
}

std::string dump(const std::vector<Diagnostic>& errors) {
  std::string out;
  for (const auto& e : errors) out += e.toString() + "\n";
  return out;
}

// Parses `text` as file "f.json" and requires exactly one diagnostic, which it returns.
Diagnostic singleError(std::string_view text, Fragment* fragment = nullptr) {
  std::vector<Diagnostic> errors;
  Fragment parsed = parseFile(text, "f.json", errors);
  INFO(dump(errors));
  REQUIRE(errors.size() == 1);
  if (fragment) *fragment = parsed;
  return errors[0];
}

void requireAt(const Diagnostic& d, const std::string& file, int line, int column) {
  INFO(d.toString());
  CHECK(d.where.file == file);
  CHECK(d.where.line == line);
  CHECK(d.where.column == column);
}

const ArchitectureRequest* findArch(const Config& config, std::string_view name) {
  for (const auto& a : config.architectures)
    if (a.name == name) return &a;
  return nullptr;
}

const HandlerSpec* findHandler(const Config& config, std::string_view name) {
  for (const auto& h : config.handlers)
    if (h.entry.name == name) return &h;
  return nullptr;
}

std::vector<std::string> fileNames(const std::vector<fs::path>& files) {
  std::vector<std::string> names;
  for (const auto& f : files) names.push_back(f.string());
  return names;
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// The locator

TEST_CASE("positionAt counts lines and characters", "[locator]") {
  const std::string text = "{\n  \"a\": 1,\n\t\"b\": 2\n}";
  CHECK(positionAt(text, 0) == TextPosition{1, 1});
  CHECK(positionAt(text, 1) == TextPosition{1, 2});   // the newline itself
  CHECK(positionAt(text, 4) == TextPosition{2, 3});   // "a"
  CHECK(positionAt(text, 13) == TextPosition{3, 2});  // after the tab
  CHECK(positionAt(text, text.size()) == TextPosition{4, 2});
  CHECK(positionAt(text, 1000) == TextPosition{4, 2});

  // Multi-byte characters are one column each; a byte order mark is none.
  const std::string utf8 = "\"\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\" x";
  CHECK(positionAt(utf8, utf8.find('x')) == TextPosition{1, 7});
  const std::string bom = "\xEF\xBB\xBF{}";
  CHECK(positionAt(bom, 3) == TextPosition{1, 1});
  CHECK(positionAt(bom, 4) == TextPosition{1, 2});
}

TEST_CASE("locate follows nested pointers", "[locator]") {
  const std::string text = R"({
  "architectures": ["arm64", {"name": "riscv64"}],
  "handlers": [
    {"name": "a", "extension": "exe"},
    {"name": "b",
     "magic": "\\x7fELF"},
    {
      "name": "c",
      "mask":   "\\xff"
    }
  ]
})";
  CHECK(locate(text, "") == TextPosition{1, 1});
  CHECK(locate(text, "/architectures") == TextPosition{2, 20});
  CHECK(locate(text, "/architectures/0") == TextPosition{2, 21});
  CHECK(locate(text, "/architectures/1") == TextPosition{2, 30});
  CHECK(locate(text, "/architectures/1/name") == TextPosition{2, 39});
  CHECK(locate(text, "/handlers/0") == TextPosition{4, 5});
  CHECK(locate(text, "/handlers/1/magic") == TextPosition{6, 15});
  CHECK(locate(text, "/handlers/2") == TextPosition{7, 5});
  CHECK(locate(text, "/handlers/2/mask") == TextPosition{9, 17});
  CHECK(locate(text, "/handlers/2/mask", PointerTarget::Key) == TextPosition{9, 7});
  CHECK(locate(text, "/handlers/2", PointerTarget::Key) == TextPosition{7, 5});

  CHECK_FALSE(locate(text, "/handlers/3"));
  CHECK_FALSE(locate(text, "/handlers/01"));
  CHECK_FALSE(locate(text, "/handlers/-1"));
  CHECK_FALSE(locate(text, "/handlers/x"));
  CHECK_FALSE(locate(text, "/nope"));
  CHECK_FALSE(locate(text, "/architectures/0/name"));  // a string has no members
  CHECK_FALSE(locate(text, "handlers"));               // pointers start with '/'
  CHECK_FALSE(locate(text, "/a~2b"));                  // bad escape
}

TEST_CASE("locate skips strings holding quotes, brackets and escapes", "[locator]") {
  const std::string text =
      R"({"k\"]}": "v\"[{", "x": ["}]", {"y\\": "\\\"", "z": [[], {}, "]"]}], "w": true})";
  CHECK(locateOffset(text, "/k\"]}") == text.find(R"("v\")"));
  CHECK(locateOffset(text, "/x/1/z") == text.find("[[]"));
  CHECK(locateOffset(text, "/x/1/z/2") == text.find(R"("]"])"));
  CHECK(locateOffset(text, "/x/1/y\\") == text.find(R"("\\\"")"));
  CHECK(locateOffset(text, "/w") == text.find("true"));
}

TEST_CASE("locate decodes unicode escapes in keys", "[locator]") {
  const std::string text = R"({"\u0061b": 1, "caf\u00e9": 2, "\ud83d\ude00": 3, "\u20AC": 4})";
  // (The digits of the escapes come first in the text, so look for ": N".)
  CHECK(locateOffset(text, "/ab") == text.find(": 1") + 2);
  CHECK(locateOffset(text, "/caf\xc3\xa9") == text.find(": 2") + 2);
  CHECK(locateOffset(text, "/\xf0\x9f\x98\x80") == text.find(": 3") + 2);
  CHECK(locateOffset(text, "/\xe2\x82\xac") == text.find(": 4") + 2);
  CHECK_FALSE(locateOffset(text, "/\\u0061b"));
}

TEST_CASE("locate handles pointer escapes, duplicate keys and a BOM", "[locator]") {
  const std::string text = "\xEF\xBB\xBF{\"a/b\": 1, \"m~n\": 2, \"d\": 3, \"d\": 4}";
  CHECK(locateOffset(text, "/a~1b") == text.find('1'));
  CHECK(locateOffset(text, "/m~0n") == text.find('2'));
  CHECK(locateOffset(text, "/d") == text.find('4'));  // the last one, as nlohmann keeps
  CHECK(locate(text, "") == TextPosition{1, 1});
  CHECK(escapePointerToken("a/b~c") == "a~1b~0c");
}

TEST_CASE("locate is safe on truncated and malformed text", "[locator]") {
  const std::string text =
      R"({"h": [{"n": "a\"b\u00e9", "m": [1, 2.5e3, -3, null, false]}, {"n": "z"}], "t": {}})";
  const char* pointers[] = {"", "/h", "/h/0/m/4", "/h/1/n", "/t", "/h/0/n", "/zz"};
  // Every prefix of the text and some corruptions: nothing may crash or read out of bounds,
  // and a pointer found in a prefix must lie within it.
  for (std::size_t n = 0; n <= text.size(); ++n) {
    const std::string prefix = text.substr(0, n);
    for (const char* pointer : pointers) {
      const auto offset = locateOffset(prefix, pointer);
      if (offset) CHECK(*offset < prefix.size());
      CHECK(tokenStart(prefix, n / 2) <= n / 2);
    }
  }
  for (const std::string bad : {"{\"a\" 1}", "[1 2]", "{\"a\":}", "\"\\u12\"", "{\"a\\q\": 1}",
                                "{{{{", "]]]]", "\"\x01\"", "{\"a\": [}", "{\"a\":1,}"}) {
    for (const char* pointer : {"/a", "/0", "/1", "/a/0"}) {
      const auto offset = locateOffset(bad, pointer);
      if (offset) CHECK(*offset < bad.size());
    }
  }
  // Deep nesting is skipped without recursion.
  const std::string deep =
      "{\"a\": " + std::string(100000, '[') + std::string(100000, ']') + ", \"b\": 7}";
  CHECK(locateOffset(deep, "/b") == deep.find('7'));
}

TEST_CASE("Locator answers exactly as locate, in any order", "[locator]") {
  const std::string multiLine = "\xEF\xBB\xBF" R"({
  "architectures": ["arm64", {"name": "riscv64"}],
  "handlers": [
    {"name": "a", "extension": "exe"},
    {"name": "caf\u00e9", "magic": "\x7fELF"},
    {"name": "c", "mask":   "\xff"}
  ]
})";
  const std::string oneLine =
      R"({"handlers":[{"name":"é1","extension":"x"},{"name":"é2","magic":"y"}],"h":[1]})";
  const char* pointers[] = {"/handlers/2/mask", "", "/handlers/0", "/handlers/1/magic",
                            "/architectures/1/name", "/architectures", "/handlers/3",
                            "/handlers/0/name", "/h/0", "/handlers/1", "/nope/0", "/handlers/x"};
  for (const std::string& text : {multiLine, oneLine}) {
    Locator locator(text);
    for (int pass = 0; pass < 2; ++pass) {  // the second pass asks backwards
      for (int i = 0; i < 12; ++i) {
        const char* p = pointers[pass == 0 ? i : 11 - i];
        INFO(text << " " << p);
        CHECK(locator.locate(p) == locate(text, p));
        CHECK(locator.locate(p, PointerTarget::Key) == locate(text, p, PointerTarget::Key));
      }
    }
  }
}

TEST_CASE("tokenStart finds where a token begins", "[locator]") {
  const std::string text = R"({"abc\"": tru, "x": 12.5})";
  CHECK(tokenStart(text, text.find("c\\")) == 1);  // inside a string with an escape
  CHECK(tokenStart(text, text.find("u,")) == text.find("tru"));
  CHECK(tokenStart(text, text.find(".5")) == text.find("12.5"));
  CHECK(tokenStart(text, 0) == 0);
  CHECK(tokenStart(text, text.find(' ')) == text.find(' '));  // whitespace: unchanged
  CHECK(tokenStart(text, 999) == 999);
}

// ---------------------------------------------------------------------------------------------
// Syntax errors

TEST_CASE("syntax errors report line and column", "[syntax]") {
  SECTION("missing colon: points at the unexpected string") {
    Fragment fragment;
    const auto d = singleError("{\n  \"handlers\": [\n  \"a\" \"b\"\n  ]\n}\n", &fragment);
    requireAt(d, "f.json", 3, 7);
    CHECK(d.message == "syntax error: unexpected string, expected ']'");
    CHECK_FALSE(fragment.syntaxOk);
    CHECK(fragment.architectures.empty());
  }
  SECTION("object key without colon") {
    const auto d = singleError("{\n  \"architectures\": [],\n  \"handlers\" []\n}");
    requireAt(d, "f.json", 3, 14);
    CHECK(d.message == "syntax error: unexpected '[', expected ':'");
  }
  SECTION("trailing comma") {
    const auto d = singleError("{\n  \"architectures\": [\n    \"arm64\",\n  ]\n}");
    requireAt(d, "f.json", 4, 3);
    CHECK(d.message == "syntax error: unexpected ']', expected a value");
  }
  SECTION("unquoted word: points at its start") {
    const auto d = singleError("{\"handlers\": [\n  {\"enabled\": yes}]}");
    requireAt(d, "f.json", 2, 15);
    CHECK(d.message == "syntax error: invalid literal");
  }
  SECTION("misspelt literal") {
    const auto d = singleError("{\n \"a\": tru }");
    requireAt(d, "f.json", 2, 7);
    CHECK(d.message == "syntax error: invalid literal");
  }
  SECTION("raw newline inside a string: points at the newline") {
    const auto d = singleError("{\"a\": \"xy\nz\"}");
    requireAt(d, "f.json", 1, 10);
    CHECK(d.message.find("syntax error: invalid string: control character U+000A") == 0);
  }
  SECTION("unexpected end of input: just after the last character") {
    const auto d = singleError("{\n  \"handlers\": [\n    {\"name\": \"a\"}\n\n\n");
    requireAt(d, "f.json", 3, 18);
    CHECK(d.message == "syntax error: unexpected end of input, expected ']'");
  }
  SECTION("columns count characters, not bytes") {
    const auto d = singleError("{\"\xc3\xa9\xc3\xa9\": 1 2}");
    requireAt(d, "f.json", 1, 10);
    CHECK(d.message == "syntax error: unexpected number, expected '}'");
  }
  SECTION("garbage after the document") {
    const auto d = singleError("{}\n}");
    requireAt(d, "f.json", 2, 1);
    CHECK(d.message == "syntax error: unexpected '}', expected end of input");
  }
  SECTION("no 'last read' noise from nlohmann") {
    const auto d = singleError("{\"a\": \"never closed");
    CHECK(d.message.find("last read") == std::string::npos);
    CHECK(d.message.find("missing closing quote") != std::string::npos);
  }
}

TEST_CASE("empty and whitespace-only files configure nothing", "[syntax]") {
  for (const std::string text : {"", "  \n\t\n", "{}", "\xEF\xBB\xBF\n", "{ \"handlers\": [] }"}) {
    std::vector<Diagnostic> errors;
    const Fragment fragment = parseFile(text, "f.json", errors);
    CHECK(errors.empty());
    CHECK(fragment.syntaxOk);
    CHECK(fragment.architectures.empty());
    CHECK(fragment.handlers.empty());
  }
}

TEST_CASE("the top level must be an object", "[syntax]") {
  Fragment fragment;
  const auto d = singleError("\n  [\"arm64\"]", &fragment);
  requireAt(d, "f.json", 2, 3);
  CHECK(d.message.find("top level must be an object, not an array") != std::string::npos);
  CHECK_FALSE(fragment.syntaxOk);
}

TEST_CASE("a number beyond a double's range is a syntax error, not a crash", "[syntax]") {
  std::vector<Diagnostic> errors;
  const Fragment f = parseFile("{\"healing\": {\"interval\": 1e400}}", "f.json", errors);
  REQUIRE(errors.size() == 1);
  CHECK(errors[0].toString() == "f.json: syntax error: number overflow parsing '1e400'");
  CHECK_FALSE(f.syntaxOk);
  CHECK(f.healingFields.empty());
}

// ---------------------------------------------------------------------------------------------
// Per-file validation

TEST_CASE("the example of binfmtd.json(5) is valid", "[validate]") {
  const std::string text = R"({
  "architectures": [
    "arm64",
    { "name": "riscv64", "interpreter": "/opt/qemu/bin/qemu-riscv64-static", "flags": "F" },
    { "name": "s390x", "enabled": false }
  ],
  "handlers": [
    { "name": "wine", "extension": "exe", "interpreter": "/usr/bin/wine" },
    { "name": "box64", "magic": "\\x7fELF\\x02\\x01\\x01\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x02\\x00\\x3e\\x00",
      "mask": "\\xff\\xff\\xff\\xff\\xff\\xfe\\xfe\\x00\\xff\\xff\\xff\\xff\\xff\\xff\\xff\\xff\\xfe\\xff\\xff\\xff",
      "offset": 0, "interpreter": "/usr/local/bin/box64", "flags": "" },
    { "name": "java", "enabled": false }
  ]
})";
  std::vector<Diagnostic> errors;
  const Fragment f = parseFile(text, "f.json", errors);
  INFO(dump(errors));
  REQUIRE(errors.empty());
  REQUIRE(f.architectures.size() == 3);
  CHECK(f.architectures[0].first.name == "aarch64");
  CHECK(f.architectures[0].first.enabled);
  CHECK(f.architectures[0].second == std::vector<std::string>{"enabled"});
  CHECK(f.architectures[0].first.source.toString() == "f.json:3:5");
  CHECK(f.architectures[1].first.interpreter == "/opt/qemu/bin/qemu-riscv64-static");
  CHECK(f.architectures[1].first.flags == "F");
  CHECK(f.architectures[1].second == std::vector<std::string>{"interpreter", "flags"});
  CHECK_FALSE(f.architectures[2].first.enabled);
  REQUIRE(f.handlers.size() == 3);
  const kernel::Entry& wine = f.handlers[0].first.entry;
  CHECK(wine.type == kernel::MatchType::Extension);
  CHECK(wine.extension == "exe");
  const kernel::Entry& box64 = f.handlers[1].first.entry;
  CHECK(box64.type == kernel::MatchType::Magic);
  CHECK(box64.magic.size() == 20);
  CHECK(box64.magic.substr(0, 4) == "\x7f\x45LF");
  CHECK(box64.magic[18] == '\x3e');
  CHECK(box64.mask.size() == 20);
  CHECK(box64.mask[5] == '\xfe');
  CHECK(f.handlers[1].second ==
        std::vector<std::string>{"interpreter", "flags", "magic", "mask", "offset"});
  CHECK(f.handlers[2].second == std::vector<std::string>{"enabled"});
  CHECK(f.handlers[2].first.source.toString() == "f.json:12:5");
}

TEST_CASE("every validation error names file, line and column", "[validate]") {
  SECTION("unknown top-level key, with a suggestion") {
    Fragment f;
    const auto d = singleError("{\n  \"architecture\": [\"arm64\"]\n}", &f);
    requireAt(d, "f.json", 2, 3);
    CHECK(d.message == "unknown key 'architecture' (did you mean 'architectures'?), ignoring");
    CHECK(f.syntaxOk);
    CHECK(f.architectures.empty());
  }
  SECTION("unknown item key") {
    Fragment f;
    const auto d = singleError(
        "{\"architectures\": [\n  {\"name\": \"riscv64\",\n   \"interpeter\": \"/x\"}]}", &f);
    requireAt(d, "f.json", 3, 4);
    CHECK(d.message ==
          "architecture 'riscv64': unknown key 'interpeter' (did you mean 'interpreter'?), "
          "ignoring");
    CHECK(f.architectures.empty());
  }
  SECTION("unknown handler key without a near miss") {
    const auto d = singleError("{\"handlers\": [{\"name\": \"w\", \"colour\": 1}]}");
    requireAt(d, "f.json", 1, 29);
    CHECK(d.message == "handler 'w': unknown key 'colour', ignoring");
  }
  SECTION("enabled must be a boolean") {
    const auto d = singleError(
        "{\n  \"handlers\": [\n    {\"name\": \"x\", \"extension\": \"exe\",\n"
        "     \"enabled\": \"yes\"}\n  ]\n}");
    requireAt(d, "f.json", 4, 17);
    CHECK(d.message == "handler 'x': 'enabled' must be true or false, not a string, ignoring");
  }
  SECTION("interpreter must be a string") {
    const auto d = singleError("{\"architectures\": [{\"name\": \"s390x\", \"interpreter\": 5}]}");
    requireAt(d, "f.json", 1, 53);
    CHECK(d.message ==
          "architecture 's390x': 'interpreter' must be a string, not a number, "
          "ignoring");
  }
  SECTION("name must be a string") {
    const auto d = singleError("{\"handlers\": [\n {\"name\": [\"x\"], \"extension\": \"e\"}]}");
    requireAt(d, "f.json", 2, 11);
    CHECK(d.message == "handlers[0]: 'name' must be a string, not an array, ignoring");
  }
  SECTION("name is required") {
    const auto d = singleError("{\"handlers\": [{\"name\": \"e\"},\n   {\"enabled\": true}]}");
    requireAt(d, "f.json", 2, 4);
    CHECK(d.message == "handlers[1]: missing 'name', ignoring");
  }
  SECTION("offset must be a non-negative integer") {
    const auto d =
        singleError("{\"handlers\": [\n{\"name\": \"o\", \"magic\": \"AB\", \"offset\": -1}]}");
    requireAt(d, "f.json", 2, 40);
    CHECK(d.message == "handler 'o': 'offset' must be a non-negative integer, not -1, ignoring");
  }
  SECTION("offset must not be a fraction") {
    const auto d =
        singleError("{\"handlers\": [{\"name\": \"o\", \"magic\": \"AB\", \"offset\": 1.5}]}");
    CHECK(d.message == "handler 'o': 'offset' must be a non-negative integer, not 1.5, ignoring");
  }
  SECTION("arrays must be arrays") {
    const auto d = singleError("{\n\"handlers\": {}}");
    requireAt(d, "f.json", 2, 13);
    CHECK(d.message == "'handlers' must be an array, not an object, ignoring");
  }
  SECTION("architecture items are names or objects") {
    const auto d = singleError("{\"architectures\": [\"arm64\", 42]}");
    requireAt(d, "f.json", 1, 29);
    CHECK(d.message ==
          "architectures[1] must be an architecture name or an object, not a number, ignoring");
  }
  SECTION("handler items are objects") {
    const auto d = singleError("{\"handlers\": [\"wine\"]}");
    requireAt(d, "f.json", 1, 15);
    CHECK(d.message == "handlers[0] must be an object, not a string, ignoring");
  }
  SECTION("unknown architecture, as a string") {
    Fragment f;
    const auto d = singleError("{\n  \"architectures\": [\n    \"arm64\", \"arm65\"\n  ]\n}", &f);
    requireAt(d, "f.json", 3, 14);
    CHECK(d.message == "unknown architecture 'arm65', ignoring; see 'binfmtctl archs'");
    REQUIRE(f.architectures.size() == 1);  // the rest of the file still applies
    CHECK(f.architectures[0].first.name == "aarch64");
  }
  SECTION("unknown architecture, as an object") {
    const auto d = singleError("{\"architectures\": [{\"enabled\": false, \"name\": \"vax\"}]}");
    requireAt(d, "f.json", 1, 47);
    CHECK(d.message == "unknown architecture 'vax', ignoring; see 'binfmtctl archs'");
  }
  SECTION("magic and extension together") {
    const auto d = singleError(
        "{\"handlers\": [\n  {\"name\": \"both\", \"magic\": \"MZ\",\n   \"extension\": \"exe\", "
        "\"interpreter\": \"/usr/bin/wine\"}]}");
    requireAt(d, "f.json", 3, 17);
    CHECK(d.message ==
          "handler 'both': 'magic' and 'extension' exclude each other; give one, "
          "ignoring");
  }
  SECTION("mask with an extension") {
    const auto d =
        singleError("{\"handlers\": [{\"name\": \"e\", \"extension\": \"x\", \"mask\": \"\"}]}");
    requireAt(d, "f.json", 1, 55);
    CHECK(d.message ==
          "handler 'e': 'mask' applies only to handlers that match by 'magic', ignoring");
  }
  SECTION("bad flags letter") {
    const auto d =
        singleError("{\"architectures\": [\n\t{\"name\": \"arm64\", \"flags\": \"PX\"}]}");
    requireAt(d, "f.json", 2, 29);
    CHECK(d.message ==
          "architecture 'arm64': invalid flags 'PX': only P, O, C and F are allowed, ignoring");
  }
  SECTION("relative interpreter path") {
    const auto d = singleError(
        "{\"handlers\": [\n  {\"name\": \"w\", \"extension\": \"exe\",\n"
        "   \"interpreter\": \"bin/wine\"}]}");
    requireAt(d, "f.json", 3, 19);
    CHECK(d.message ==
          "handler 'w': 'interpreter' must be an absolute path, not 'bin/wine', "
          "ignoring");
  }
  SECTION("bad escape in magic") {
    const auto d = singleError(R"({"handlers": [{"name": "m", "magic": "\\x7fEL\\xG0"}]})");
    requireAt(d, "f.json", 1, 38);
    CHECK(d.message ==
          "handler 'm': invalid 'magic': '\\x' at character 7 is not followed by two hex "
          "digits, ignoring");
  }
  SECTION("extension with its dot") {
    const auto d = singleError(R"({"handlers": [{"name": "w", "extension": ".exe"}]})");
    CHECK(d.message ==
          "handler 'w': 'extension' is written without the leading dot: 'exe', not "
          "'.exe', ignoring");
  }
}

TEST_CASE("all problems of one item are reported, and only it is dropped", "[validate]") {
  std::vector<Diagnostic> errors;
  const Fragment f = parseFile(R"({"handlers": [
  {"name": "bad", "enabled": 1, "flags": "Z", "interpreter": "x"},
  {"name": "good", "extension": "exe", "interpreter": "/usr/bin/wine"}
]})",
                               "f.json", errors);
  REQUIRE(errors.size() == 3);
  requireAt(errors[0], "f.json", 2, 30);
  requireAt(errors[1], "f.json", 2, 42);
  requireAt(errors[2], "f.json", 2, 62);
  REQUIRE(f.handlers.size() == 1);
  CHECK(f.handlers[0].first.entry.name == "good");
}

TEST_CASE("magic escapes decode like the kernel's", "[validate]") {
  std::vector<Diagnostic> errors;
  const Fragment f = parseFile(
      R"({"handlers": [{"name": "m", "magic": "\\x00A\\xFF\\\\x41\\q", "mask": "\\xff\\xFF"}]})",
      "f.json", errors);
  INFO(dump(errors));
  REQUIRE(errors.empty());
  REQUIRE(f.handlers.size() == 1);
  // \x00, 'A', \xFF, a literal backslash then \x41, and a literal "\q".
  CHECK(f.handlers[0].first.entry.magic == std::string("\x00\x41\xff\\A\\q", 7));
  CHECK(f.handlers[0].first.entry.mask == "\xff\xff");
}

TEST_CASE("flags are canonicalized", "[validate]") {
  std::vector<Diagnostic> errors;
  const Fragment f =
      parseFile(R"({"architectures": [{"name": "arm64", "flags": "FCP"}]})", "f.json", errors);
  REQUIRE(errors.empty());
  CHECK(f.architectures.at(0).first.flags == "POCF");
}

// ---------------------------------------------------------------------------------------------
// Priorities, foreign entries and healing

TEST_CASE("priority and foreign parse, with per-kind defaults", "[validate]") {
  std::vector<Diagnostic> errors;
  const Fragment f = parseFile(R"({
  "architectures": [
    "arm64",
    {"name": "riscv64", "priority": -1000, "foreign": "keep"},
    {"name": "s390x", "priority": 1000},
    {"name": "mips", "foreign": "adopt", "priority": 0}
  ],
  "handlers": [
    {"name": "fex", "priority": 20, "foreign": "adopt"},
    {"name": "box64", "priority": -3, "foreign": "keep"},
    {"name": "wine", "extension": "exe", "interpreter": "/usr/bin/wine"}
  ]
})",
                               "f.json", errors);
  INFO(dump(errors));
  REQUIRE(errors.empty());
  REQUIRE(f.architectures.size() == 4);
  // A plain name sets only "enabled", so it never resets a priority set elsewhere.
  const auto& [arm64, arm64Fields] = f.architectures[0];
  CHECK(arm64.priority == 0);
  CHECK(arm64.foreign == ForeignPolicy::Adopt);
  CHECK(arm64Fields == std::vector<std::string>{"enabled"});
  CHECK(f.architectures[1].first.priority == -1000);
  CHECK(f.architectures[1].first.foreign == ForeignPolicy::Keep);
  CHECK(f.architectures[1].second == std::vector<std::string>{"priority", "foreign"});
  CHECK(f.architectures[2].first.priority == 1000);
  CHECK(f.architectures[2].first.foreign == ForeignPolicy::Adopt);  // the default
  CHECK(f.architectures[2].second == std::vector<std::string>{"priority"});
  CHECK(f.architectures[3].first.priority == 0);
  CHECK(f.architectures[3].first.foreign == ForeignPolicy::Adopt);
  CHECK(f.architectures[3].second == std::vector<std::string>{"priority", "foreign"});

  REQUIRE(f.handlers.size() == 3);
  CHECK(f.handlers[0].first.priority == 20);
  CHECK(f.handlers[0].first.foreign == ForeignPolicy::Adopt);
  CHECK(f.handlers[0].second == std::vector<std::string>{"priority", "foreign"});
  CHECK(f.handlers[1].first.priority == -3);
  CHECK(f.handlers[1].first.foreign == ForeignPolicy::Keep);
  CHECK(f.handlers[2].first.priority == 0);
  CHECK(f.handlers[2].first.foreign == ForeignPolicy::Keep);  // the default for handlers
  CHECK(f.handlers[2].second == std::vector<std::string>{"interpreter", "extension"});
}

TEST_CASE("bad priorities and foreign policies drop the item, with file:line:col", "[validate]") {
  SECTION("a fraction") {
    Fragment f;
    const auto d =
        singleError("{\"architectures\": [\n  {\"name\": \"arm64\", \"priority\": 1.5}]}", &f);
    requireAt(d, "f.json", 2, 33);
    CHECK(d.message ==
          "architecture 'arm64': 'priority' must be an integer from -1000 to 1000, not 1.5, "
          "ignoring");
    CHECK(f.architectures.empty());
  }
  SECTION("a whole number written as a fraction") {
    const auto d = singleError(R"({"handlers": [{"name": "h", "priority": 5.0}]})");
    requireAt(d, "f.json", 1, 41);
    CHECK(d.message ==
          "handler 'h': 'priority' must be an integer from -1000 to 1000, not 5.0, ignoring");
  }
  SECTION("above the range") {
    Fragment f;
    const auto d = singleError(
        "{\"handlers\": [\n  {\"name\": \"h\", \"extension\": \"x\", \"interpreter\": \"/x\",\n"
        "   \"priority\": 1001}]}",
        &f);
    requireAt(d, "f.json", 3, 16);
    CHECK(d.message ==
          "handler 'h': 'priority' must be an integer from -1000 to 1000, not 1001, ignoring");
    CHECK(f.handlers.empty());
  }
  SECTION("below the range") {
    const auto d = singleError(R"({"architectures": [{"name": "mips", "priority": -1001}]})");
    requireAt(d, "f.json", 1, 49);
    CHECK(d.message ==
          "architecture 'mips': 'priority' must be an integer from -1000 to 1000, not -1001, "
          "ignoring");
  }
  SECTION("far outside 64 bits either way") {
    for (const std::string value :
         {"18446744073709551615", "-9223372036854775808", "4294967296", "-4294967296"}) {
      const auto d = singleError(R"({"handlers": [{"name": "h", "priority": )" + value + "}]}");
      CHECK(d.message == "handler 'h': 'priority' must be an integer from -1000 to 1000, not " +
                             value + ", ignoring");
    }
  }
  SECTION("a string") {
    const auto d = singleError(R"({"handlers": [{"name": "h", "priority": "10"}]})");
    requireAt(d, "f.json", 1, 41);
    CHECK(d.message ==
          "handler 'h': 'priority' must be an integer from -1000 to 1000, not a string, "
          "ignoring");
  }
  SECTION("a foreign policy of another spelling") {
    Fragment f;
    const auto d = singleError(
        "{\"architectures\": [\n  {\"name\": \"riscv64\",\n   \"foreign\": \"Adopt\"}]}", &f);
    requireAt(d, "f.json", 3, 15);
    CHECK(d.message ==
          "architecture 'riscv64': 'foreign' must be 'adopt' or 'keep', not 'Adopt', ignoring");
    CHECK(f.architectures.empty());
  }
  SECTION("a foreign policy that is not a string") {
    const auto d = singleError(R"({"handlers": [{"name": "h", "foreign": true}]})");
    requireAt(d, "f.json", 1, 40);
    CHECK(d.message == "handler 'h': 'foreign' must be 'adopt' or 'keep', not a boolean, ignoring");
  }
  SECTION("a misspelt key") {
    const auto d = singleError(R"({"handlers": [{"name": "h", "priorty": 1}]})");
    requireAt(d, "f.json", 1, 29);
    CHECK(d.message == "handler 'h': unknown key 'priorty' (did you mean 'priority'?), ignoring");
  }
  SECTION("all problems of the item at once") {
    std::vector<Diagnostic> errors;
    const Fragment f = parseFile(
        R"({"architectures": [{"name": "arm64", "priority": 1e3, "foreign": "own"}, "mips"]})",
        "f.json", errors);
    REQUIRE(errors.size() == 2);
    requireAt(errors[0], "f.json", 1, 50);
    requireAt(errors[1], "f.json", 1, 66);
    REQUIRE(f.architectures.size() == 1);
    CHECK(f.architectures[0].first.name == "mips");
  }
}

TEST_CASE("healing parses, and has defaults", "[validate]") {
  std::vector<Diagnostic> errors;
  SECTION("absent: the defaults, and no field set") {
    const Fragment f = parseFile(R"({"architectures": ["arm64"]})", "f.json", errors);
    CHECK(errors.empty());
    CHECK(f.healingFields.empty());
    CHECK(f.healing.enabled);
    CHECK(f.healing.interval == 1.0);
    CHECK_FALSE(f.healing.enableGlobal);
  }
  SECTION("every key") {
    const Fragment f =
        parseFile(R"({"healing": {"globalStatus": "enable", "interval": 0.25, "enabled": false}})",
                  "f.json", errors);
    INFO(dump(errors));
    REQUIRE(errors.empty());
    CHECK_FALSE(f.healing.enabled);
    CHECK(f.healing.interval == 0.25);
    CHECK(f.healing.enableGlobal);
    CHECK(f.healingFields.size() == 3);
  }
  SECTION("an empty object sets nothing") {
    const Fragment f = parseFile(R"({"healing": {}})", "f.json", errors);
    CHECK(errors.empty());
    CHECK(f.healingFields.empty());
  }
  SECTION("the interval's bounds, integers and fractions") {
    for (const auto& [text, seconds] : std::vector<std::pair<std::string, double>>{{"0", 0},
                                                                                   {"0.0", 0},
                                                                                   {"0.05", 0.05},
                                                                                   {"5e-2", 0.05},
                                                                                   {"3600", 3600},
                                                                                   {"3600.0", 3600},
                                                                                   {"7", 7},
                                                                                   {"2.5", 2.5}}) {
      errors.clear();
      const Fragment f = parseFile(R"({"healing": {"interval": )" + text + "}}", "f.json", errors);
      INFO(text);
      CHECK(errors.empty());
      CHECK(f.healing.interval == seconds);
      CHECK(f.healingFields == std::vector<std::string>{"interval"});
    }
  }
  SECTION("globalStatus report") {
    const Fragment f = parseFile(R"({"healing": {"globalStatus": "report"}})", "f.json", errors);
    CHECK(errors.empty());
    CHECK_FALSE(f.healing.enableGlobal);
    CHECK(f.healingFields == std::vector<std::string>{"globalStatus"});
  }
}

TEST_CASE("a bad healing value is ignored on its own, with file:line:col", "[validate]") {
  SECTION("not an object") {
    Fragment f;
    const auto d = singleError("{\n  \"healing\": [true]\n}", &f);
    requireAt(d, "f.json", 2, 14);
    CHECK(d.message == "'healing' must be an object, not an array, ignoring");
    CHECK(f.syntaxOk);
    CHECK(f.healingFields.empty());
  }
  SECTION("a misspelt top-level key") {
    const auto d = singleError("{\"heeling\": {}}");
    requireAt(d, "f.json", 1, 2);
    CHECK(d.message == "unknown key 'heeling' (did you mean 'healing'?), ignoring");
  }
  SECTION("a misspelt key inside; the other keys apply") {
    Fragment f;
    const auto d = singleError("{\"healing\": {\n  \"intervall\": 5,\n  \"enabled\": false}}", &f);
    requireAt(d, "f.json", 2, 3);
    CHECK(d.message == "healing: unknown key 'intervall' (did you mean 'interval'?), ignoring");
    CHECK(f.healingFields == std::vector<std::string>{"enabled"});
    CHECK_FALSE(f.healing.enabled);
    CHECK(f.healing.interval == 1.0);
  }
  SECTION("enabled must be a boolean") {
    const auto d = singleError(R"({"healing": {"enabled": "no"}})");
    requireAt(d, "f.json", 1, 25);
    CHECK(d.message == "healing: 'enabled' must be true or false, not a string, ignoring");
  }
  SECTION("interval out of range or not a number") {
    for (const std::string value : {"0.01", "0.049", "3600.5", "3601", "-1", "-0.5"}) {
      Fragment f;
      const auto d = singleError(R"({"healing": {"interval": )" + value + "}}", &f);
      requireAt(d, "f.json", 1, 26);
      CHECK(d.message ==
            "healing: 'interval' must be 0 or a number of seconds from 0.05 to 3600, not " + value +
                ", ignoring");
      CHECK(f.healingFields.empty());
      CHECK(f.healing.interval == 1.0);
    }
    const auto d = singleError(R"({"healing": {"interval": "1s"}})");
    CHECK(d.message ==
          "healing: 'interval' must be 0 or a number of seconds from 0.05 to 3600, not a "
          "string, ignoring");
  }
  SECTION("globalStatus must be one of its words") {
    const auto d = singleError("{\"healing\": {\n\t\"globalStatus\": \"enabled\"}}");
    requireAt(d, "f.json", 2, 18);
    CHECK(d.message ==
          "healing: 'globalStatus' must be 'report' or 'enable', not 'enabled', ignoring");
    const auto e = singleError(R"({"healing": {"globalStatus": true}})");
    CHECK(e.message ==
          "healing: 'globalStatus' must be 'report' or 'enable', not a boolean, ignoring");
  }
  SECTION("every bad value reported, every good one kept, items unaffected") {
    std::vector<Diagnostic> errors;
    const Fragment f = parseFile(R"({
  "healing": {"enabled": 0, "interval": 2, "globalStatus": "always", "color": 1},
  "architectures": ["arm64"]
})",
                                 "f.json", errors);
    REQUIRE(errors.size() == 3);
    CHECK(errors[0].toString() ==
          "f.json:2:26: healing: 'enabled' must be true or false, not a number, ignoring");
    CHECK(errors[1].toString() ==
          "f.json:2:60: healing: 'globalStatus' must be 'report' or 'enable', not 'always', "
          "ignoring");
    CHECK(errors[2].toString() == "f.json:2:70: healing: unknown key 'color', ignoring");
    CHECK(f.healingFields == std::vector<std::string>{"interval"});
    CHECK(f.healing.interval == 2.0);
    CHECK(f.architectures.size() == 1);
  }
}

TEST_CASE("the priority example of binfmtd.json(5) is valid", "[validate]") {
  std::vector<Diagnostic> errors;
  const Fragment f = parseFile(R"({
  "architectures": [ "x86_64" ],
  "handlers": [
    { "name": "rosetta", "priority": 30 },
    { "name": "FEX-x86_64", "priority": 20 },
    { "name": "box64", "priority": 10 }
  ]
})",
                               "f.json", errors);
  INFO(dump(errors));
  REQUIRE(errors.empty());
  REQUIRE(f.handlers.size() == 3);
  CHECK(f.handlers[0].first.priority == 30);
  CHECK(f.handlers[1].first.priority == 20);
  CHECK(f.handlers[2].first.priority == 10);
  const Fragment g =
      parseFile(R"({ "healing": { "interval": 0, "globalStatus": "enable" } })", "f.json", errors);
  REQUIRE(errors.empty());
  CHECK(g.healing.interval == 0);
  CHECK(g.healing.enableGlobal);
}

// ---------------------------------------------------------------------------------------------
// Loading and merging

TEST_CASE("Location and Diagnostic render like compilers do", "[load]") {
  CHECK(Location{"/etc/binfmtd/binfmtd.json", 3, 7}.toString() == "/etc/binfmtd/binfmtd.json:3:7");
  CHECK(Location{"a.json", 0, 0}.toString() == "a.json");
  CHECK(Diagnostic{{"a.json", 2, 1}, "oops"}.toString() == "a.json:2:1: oops");
  CHECK(Diagnostic{{"a.json", 0, 0}, "oops"}.toString() == "a.json: oops");
}

TEST_CASE("watchDirs lists the directories whose files matter", "[load]") {
  Paths p;
  const auto dirs = p.watchDirs();
  CHECK(dirs == std::vector<fs::path>{"/etc/binfmtd", "/etc/binfmtd/conf.d", "/run/binfmtd/conf.d",
                                      "/usr/lib/binfmtd/conf.d"});
}

TEST_CASE("missing directories are an empty config", "[load]") {
  TempDir tmp;
  const LoadResult r = load(tmp.paths());
  CHECK(r.errors.empty());
  CHECK(r.brokenFiles.empty());
  CHECK(r.config.files.empty());
  CHECK(r.config.architectures.empty());
  CHECK(r.config.handlers.empty());
}

TEST_CASE("aliases merge into the canonical name", "[load]") {
  TempDir tmp;
  const Paths p = tmp.paths();
  writeFile(p.vendorDir / "conf.d/10-a.json", R"({"architectures": ["arm64", "linux/riscv64"]})");
  writeFile(p.adminDir / "conf.d/20-b.json",
            R"({"architectures": [{"name": "aarch64", "enabled": false}]})");
  const LoadResult r = load(p);
  INFO(dump(r.errors));
  REQUIRE(r.errors.empty());
  REQUIRE(r.config.architectures.size() == 2);
  CHECK(r.config.architectures[0].name == "aarch64");
  CHECK_FALSE(r.config.architectures[0].enabled);
  CHECK(r.config.architectures[0].source.toString() ==
        (p.adminDir / "conf.d/20-b.json").string() + ":1:20");
  CHECK(r.config.architectures[1].name == "riscv64");
  CHECK(r.config.architectures[1].enabled);

  // And back: a later plain name asks for it again.
  writeFile(p.adminDir / "conf.d/30-c.json", R"({"architectures": ["ARM64"]})");
  const LoadResult again = load(p);
  REQUIRE(findArch(again.config, "aarch64"));
  CHECK(findArch(again.config, "aarch64")->enabled);
}

TEST_CASE("later files override only the fields they set", "[load]") {
  TempDir tmp;
  const Paths p = tmp.paths();
  writeFile(p.vendorDir / "conf.d/10-box64.json", R"({
  "architectures": [{"name": "riscv64", "interpreter": "/usr/bin/qemu-riscv64", "flags": "P"}],
  "handlers": [{"name": "box64", "magic": "\\x7fELF\\x02", "mask": "\\xff\\xff\\xff\\xff\\xff",
                "offset": 0, "interpreter": "/usr/bin/box64", "flags": "F"},
               {"name": "wine", "extension": "exe", "interpreter": "/usr/bin/wine"}]
})");
  writeFile(p.adminDir / "conf.d/50-local.json", R"({
  "architectures": [{"name": "riscv64", "flags": "FOC"}],
  "handlers": [{"name": "box64", "interpreter": "/usr/local/bin/box64"},
               {"name": "wine", "enabled": false}]
})");
  const LoadResult r = load(p);
  INFO(dump(r.errors));
  REQUIRE(r.errors.empty());
  const ArchitectureRequest* riscv = findArch(r.config, "riscv64");
  REQUIRE(riscv);
  CHECK(riscv->interpreter == "/usr/bin/qemu-riscv64");
  CHECK(riscv->flags == "OCF");
  CHECK(riscv->enabled);
  CHECK(riscv->source.file == (p.adminDir / "conf.d/50-local.json").string());
  CHECK(riscv->source.line == 2);

  REQUIRE(r.config.handlers.size() == 2);
  const HandlerSpec& box64 = r.config.handlers[0];  // sorted by name
  CHECK(box64.entry.name == "box64");
  CHECK(box64.entry.interpreter == "/usr/local/bin/box64");
  CHECK(box64.entry.magic == "\x7f\x45LF\x02");
  CHECK(box64.entry.mask == "\xff\xff\xff\xff\xff");
  CHECK(box64.entry.flags == "F");
  CHECK(box64.enabled);
  CHECK(box64.source.toString() == (p.adminDir / "conf.d/50-local.json").string() + ":3:16");
  const HandlerSpec& wine = r.config.handlers[1];
  CHECK(wine.entry.name == "wine");
  CHECK_FALSE(wine.enabled);
  CHECK(wine.entry.extension == "exe");
  CHECK(wine.entry.interpreter == "/usr/bin/wine");
}

TEST_CASE("switching between magic and extension drops the other kind's fields", "[load]") {
  TempDir tmp;
  const Paths p = tmp.paths();
  writeFile(p.vendorDir / "conf.d/10.json", R"({"handlers": [
    {"name": "x", "magic": "AB", "mask": "\\xff\\xff", "offset": 3, "interpreter": "/bin/x"},
    {"name": "y", "extension": "y", "interpreter": "/bin/y"}]})");
  writeFile(p.adminDir / "conf.d/20.json", R"({"handlers": [
    {"name": "x", "extension": "xx"},
    {"name": "y", "magic": "YY"}]})");
  const LoadResult r = load(p);
  INFO(dump(r.errors));
  REQUIRE(r.errors.empty());
  const HandlerSpec* x = findHandler(r.config, "x");
  REQUIRE(x);
  CHECK(x->entry.type == kernel::MatchType::Extension);
  CHECK(x->entry.extension == "xx");
  CHECK(x->entry.magic.empty());
  CHECK(x->entry.mask.empty());
  CHECK(x->entry.offset == 0);
  const HandlerSpec* y = findHandler(r.config, "y");
  REQUIRE(y);
  CHECK(y->entry.type == kernel::MatchType::Magic);
  CHECK(y->entry.magic == "YY");
  CHECK(y->entry.extension.empty());
}

TEST_CASE("checks on the merged item point at the last file that touched it", "[load]") {
  TempDir tmp;
  const Paths p = tmp.paths();
  const fs::path vendor = p.vendorDir / "conf.d/10.json";
  const fs::path admin = p.adminDir / "conf.d/20.json";
  writeFile(vendor, R"({"handlers": [
  {"name": "noint", "extension": "foo"},
  {"name": "mism", "magic": "\\x7fELF", "interpreter": "/bin/m"},
  {"name": "nomatch", "interpreter": "/bin/n"},
  {"name": "fine", "extension": "ok", "interpreter": "/bin/f"}
]})");
  writeFile(admin, R"({"handlers": [
  {"name": "mism", "mask": "\\xff\\xff\\xff"},
  {"name": "ghost", "enabled": false},
  {"name": "extmask", "extension": "e", "interpreter": "/bin/e"}
]})");
  writeFile(p.adminDir / "conf.d/30.json", R"({"handlers": [
     {"name": "extmask", "offset": 2}]})");
  const LoadResult r = load(p);
  INFO(dump(r.errors));
  REQUIRE(r.errors.size() == 4);
  // Reported in name order, after all files are read.
  CHECK(r.errors[0].toString() == (p.adminDir / "conf.d/30.json").string() +
                                      ":2:6: handler 'extmask': 'mask' and 'offset' apply only "
                                      "to handlers that match by 'magic', ignoring");
  CHECK(r.errors[1].toString() == admin.string() +
                                      ":2:3: handler 'mism': magic and mask differ in length (4 "
                                      "and 3 bytes), ignoring");
  CHECK(r.errors[2].toString() ==
        vendor.string() + ":2:3: handler 'noint': no 'interpreter' is given, ignoring");
  CHECK(r.errors[3].toString() == vendor.string() +
                                      ":4:3: handler 'nomatch': neither 'magic' nor 'extension' "
                                      "is given, ignoring");
  // Only the complete and valid one is left; the disabled ghost is quietly nothing.
  REQUIRE(r.config.handlers.size() == 1);
  CHECK(r.config.handlers[0].entry.name == "fine");
}

TEST_CASE("directory precedence and file order", "[load]") {
  TempDir tmp;
  const Paths p = tmp.paths();
  const auto arch = [](const char* name, const char* interpreter) {
    return std::string(R"({"architectures": [{"name": ")") + name + R"(", "interpreter": ")" +
           interpreter + R"("}]})";
  };
  writeFile(p.vendorDir / "conf.d/50-same.json", arch("riscv64", "/usr/lib/q"));
  writeFile(p.runtimeDir / "conf.d/50-same.json", arch("riscv64", "/run/q"));
  writeFile(p.adminDir / "conf.d/50-same.json", arch("riscv64", "/etc/q"));
  writeFile(p.vendorDir / "conf.d/40-only-run-and-vendor.json", arch("s390x", "/usr/lib/s"));
  writeFile(p.runtimeDir / "conf.d/40-only-run-and-vendor.json", arch("s390x", "/run/s"));
  // Different names merge in file-name order whatever their directory: 60 overrides 20.
  writeFile(p.adminDir / "conf.d/20-first.json", arch("mips", "/etc/mips"));
  writeFile(p.vendorDir / "conf.d/60-last.json", arch("mips", "/usr/lib/mips"));
  writeFile(p.adminDir / "binfmtd.json", arch("mips", "/etc/main") + "\n");
  writeFile(p.adminDir / "conf.d/README", "not json");
  writeFile(p.adminDir / "conf.d/70.json.bak", "{ broken");
  writeFile(p.adminDir / "conf.d/.hidden.json", "{ broken");
  fs::create_directories(p.runtimeDir / "conf.d/dir.json");

  const auto files = fileNames(configFiles(p));
  CHECK(files == std::vector<std::string>{
                     (p.adminDir / "binfmtd.json").string(),
                     (p.adminDir / "conf.d/20-first.json").string(),
                     (p.runtimeDir / "conf.d/40-only-run-and-vendor.json").string(),
                     (p.adminDir / "conf.d/50-same.json").string(),
                     (p.vendorDir / "conf.d/60-last.json").string(),
                 });

  const LoadResult r = load(p);
  INFO(dump(r.errors));
  CHECK(r.errors.empty());
  CHECK(r.config.files == files);
  CHECK(findArch(r.config, "riscv64")->interpreter == "/etc/q");
  CHECK(findArch(r.config, "s390x")->interpreter == "/run/s");
  CHECK(findArch(r.config, "mips")->interpreter == "/usr/lib/mips");
  std::vector<std::string> names;
  for (const auto& a : r.config.architectures) names.push_back(a.name);
  CHECK(names == std::vector<std::string>{"mips", "riscv64", "s390x"});
}

TEST_CASE("a /dev/null symlink or an empty file masks lower files", "[load]") {
  TempDir tmp;
  const Paths p = tmp.paths();
  writeFile(p.vendorDir / "conf.d/10-qemu.json", R"({"architectures": ["arm64"]})");
  writeFile(p.vendorDir / "conf.d/20-box.json", R"({"architectures": ["s390x"]})");
  writeFile(p.vendorDir / "conf.d/30-keep.json", R"({"architectures": ["mips"]})");
  fs::create_directories(p.adminDir / "conf.d");
  fs::create_symlink("/dev/null", p.adminDir / "conf.d/10-qemu.json");
  writeFile(p.runtimeDir / "conf.d/20-box.json", "");
  // A symlink elsewhere is an ordinary file.
  writeFile(tmp.path / "elsewhere.json", R"({"architectures": ["riscv64"]})");
  fs::create_symlink(tmp.path / "elsewhere.json", p.adminDir / "conf.d/40-link.json");
  // An empty main file is nothing too.
  writeFile(p.adminDir / "binfmtd.json", "");

  CHECK(fileNames(configFiles(p)) ==
        std::vector<std::string>{(p.vendorDir / "conf.d/30-keep.json").string(),
                                 (p.adminDir / "conf.d/40-link.json").string()});
  const LoadResult r = load(p);
  CHECK(r.errors.empty());
  REQUIRE(r.config.architectures.size() == 2);
  CHECK(r.config.architectures[0].name == "mips");
  CHECK(r.config.architectures[1].name == "riscv64");
}

TEST_CASE("errors in one file leave the rest of it and other files in force", "[load]") {
  TempDir tmp;
  const Paths p = tmp.paths();
  const fs::path main = p.mainFile();
  writeFile(main, "{\n  \"architectures\": [\"arm65\", \"arm64\"],\n  \"handler\": []\n}\n");
  writeFile(p.vendorDir / "conf.d/10.json", R"({"architectures": ["s390x"]})");
  const LoadResult r = load(p);
  REQUIRE(r.errors.size() == 2);
  CHECK(r.errors[0].toString() ==
        main.string() + ":2:21: unknown architecture 'arm65', ignoring; see 'binfmtctl archs'");
  CHECK(r.errors[1].toString() ==
        main.string() + ":3:3: unknown key 'handler' (did you mean 'handlers'?), ignoring");
  CHECK(r.brokenFiles.empty());
  CHECK(findArch(r.config, "aarch64"));
  CHECK(findArch(r.config, "s390x"));
}

TEST_CASE("a file that stops parsing keeps its last good version", "[load]") {
  TempDir tmp;
  const Paths p = tmp.paths();
  const fs::path file = p.adminDir / "conf.d/50-mine.json";
  std::map<std::string, std::string> lastGood;

  SECTION("good, then broken: items stay and the error is reported") {
    const std::string good = R"({"architectures": ["arm64"], "handlers": [
      {"name": "wine", "extension": "exe", "interpreter": "/usr/bin/wine"}]})";
    writeFile(file, good);
    LoadResult r = load(p, &lastGood);
    REQUIRE(r.errors.empty());
    CHECK(lastGood.at(file.string()) == good);

    writeFile(file, "{\"architectures\": [\"arm64\",\n  \"s390x\"\n");
    r = load(p, &lastGood);
    CHECK(r.brokenFiles.empty());
    REQUIRE(r.errors.size() == 2);
    CHECK(r.errors[0].toString() ==
          file.string() + ":2:10: syntax error: unexpected end of input, expected ']'");
    CHECK(r.errors[1].toString() ==
          file.string() + ": the last good version of this file stays in force until it is fixed");
    CHECK(findArch(r.config, "aarch64"));
    CHECK_FALSE(findArch(r.config, "s390x"));
    CHECK(findHandler(r.config, "wine"));
    CHECK(lastGood.at(file.string()) == good);  // still the good one

    // Fixed: the new text is used and remembered.
    writeFile(file, R"({"architectures": ["s390x"]})");
    r = load(p, &lastGood);
    CHECK(r.errors.empty());
    CHECK(findArch(r.config, "s390x"));
    CHECK_FALSE(findArch(r.config, "aarch64"));
    CHECK(lastGood.at(file.string()) == R"({"architectures": ["s390x"]})");
  }
  SECTION("broken with no last good version: a broken file") {
    writeFile(file, "{\"architectures\": [\"arm64\"");
    writeFile(p.vendorDir / "conf.d/10.json", R"({"architectures": ["mips"]})");
    const LoadResult r = load(p, &lastGood);
    CHECK(r.brokenFiles == std::vector<std::string>{file.string()});
    REQUIRE(r.errors.size() == 1);
    CHECK(r.errors[0].where.file == file.string());
    CHECK_FALSE(findArch(r.config, "aarch64"));
    CHECK(findArch(r.config, "mips"));
    CHECK_FALSE(lastGood.count(file.string()));
    CHECK(lastGood.count((p.vendorDir / "conf.d/10.json").string()));
  }
  SECTION("without a lastGood map, a broken file is just broken") {
    writeFile(file, "[");
    const LoadResult r = load(p);
    CHECK(r.brokenFiles == std::vector<std::string>{file.string()});
  }
  SECTION("a deleted file is forgotten") {
    writeFile(file, R"({"architectures": ["arm64"]})");
    load(p, &lastGood);
    fs::remove(file);
    load(p, &lastGood);
    CHECK(lastGood.empty());
    writeFile(file, "{");
    const LoadResult r = load(p, &lastGood);
    CHECK(r.brokenFiles == std::vector<std::string>{file.string()});
    CHECK(r.config.architectures.empty());
  }
}

TEST_CASE("an unreadable file is reported and blocks removals", "[load]") {
  TempDir tmp;
  const Paths p = tmp.paths();
  const fs::path file = p.adminDir / "conf.d/50.json";
  writeFile(file, R"({"architectures": ["arm64"]})");
  // Root reads any file: there the file is made unusable by giving it away instead.
  if (::geteuid() == 0) {
    REQUIRE(::chown(file.c_str(), 65534, 65534) == 0);
  } else {
    ::chmod(file.c_str(), 0);
  }
  const LoadResult r = load(p);
  CHECK(r.brokenFiles == std::vector<std::string>{file.string()});
  REQUIRE(r.errors.size() == 1);
  CHECK(r.errors[0].message.find(::geteuid() == 0 ? "not used" : "failed to read") == 0);
  CHECK(r.config.architectures.empty());
}

namespace {

bool asRoot() {
  if (::geteuid() == 0) return true;
  const char* ci = std::getenv("CI");
  if (ci != nullptr && *ci != '\0' && std::string(ci) != "false") FAIL("needs root in CI");
  WARN("skipping: files owned by other users can only be made by root");
  return false;
}

}  // namespace

TEST_CASE("configuration only root can change is used; anything else is skipped", "[load][trust]") {
  if (!asRoot()) return;
  TempDir tmp;
  const Paths p = tmp.paths();
  const fs::path file = p.adminDir / "conf.d/50-local.json";
  writeFile(file, R"({"architectures": ["arm64"]})");
  writeFile(p.vendorDir / "conf.d/50-local.json", R"({"architectures": ["riscv64"]})");
  REQUIRE(load(p).config.architectures.size() == 1);

  SECTION("a file owned by another user") {
    REQUIRE(::chown(file.c_str(), 65534, 0) == 0);
    const LoadResult r = load(p);
    REQUIRE(r.errors.size() == 1);
    CHECK(r.errors[0].toString() ==
          file.string() + ": not used: owned by uid 65534, not root; configuration must be "
                          "owned by root and not writable by others");
    CHECK(r.config.architectures.empty());  // and it still masks the vendor's file
    CHECK(r.brokenFiles == std::vector<std::string>{file.string()});
  }
  SECTION("a file writable by others; by its group is fine") {
    ::chmod(file.c_str(), 0664);
    CHECK(load(p).errors.empty());
    ::chmod(file.c_str(), 0646);
    const LoadResult r = load(p);
    REQUIRE(r.errors.size() == 1);
    CHECK(r.errors[0].message.find("not used: writable by others (mode 0646)") == 0);
  }
  SECTION("a drop-in directory someone else controls is skipped as a whole") {
    const fs::path dir = p.adminDir / "conf.d";
    REQUIRE(::chown(dir.c_str(), 65534, 0) == 0);
    LoadResult r = load(p);
    REQUIRE(r.errors.size() == 1);
    CHECK(r.errors[0].toString() == dir.string() + ": ignoring this directory: owned by uid "
                                                   "65534, not root; configuration must be "
                                                   "owned by root and not writable by others");
    // As if it did not exist: the vendor's file of the same name applies.
    REQUIRE(r.config.architectures.size() == 1);
    CHECK(r.config.architectures[0].name == "riscv64");
    REQUIRE(::chown(dir.c_str(), 0, 0) == 0);
    ::chmod(dir.c_str(), 0757);
    r = load(p);
    REQUIRE(r.errors.size() == 1);
    CHECK(r.errors[0].message.find("ignoring this directory: writable by others") == 0);
  }
  SECTION("the admin directory holding binfmtd.json") {
    writeFile(p.mainFile(), R"({"architectures": ["s390x"]})");
    REQUIRE(::chown(p.adminDir.c_str(), 65534, 0) == 0);
    const LoadResult r = load(p);
    CHECK(std::find(r.config.files.begin(), r.config.files.end(), p.mainFile().string()) ==
          r.config.files.end());
    CHECK(r.errors.size() == 1);
  }
  SECTION("symlinks: /dev/null masks, others only to files root owns") {
    const fs::path elsewhere = tmp.path / "elsewhere.json";
    writeFile(elsewhere, R"({"architectures": ["s390x"]})");
    fs::remove(file);
    fs::create_symlink(elsewhere, file);
    LoadResult r = load(p);
    CHECK(r.errors.empty());
    REQUIRE(r.config.architectures.size() == 1);
    CHECK(r.config.architectures[0].name == "s390x");
    REQUIRE(::chown(elsewhere.c_str(), 65534, 0) == 0);
    r = load(p);
    REQUIRE(r.errors.size() == 1);
    CHECK(r.errors[0].message.find("not used: owned by uid 65534") == 0);
    fs::remove(file);
    fs::create_symlink("/dev/null", file);
    r = load(p);
    CHECK(r.errors.empty());
    CHECK(r.config.architectures.empty());  // masked, the vendor's riscv64 too
  }
}

TEST_CASE("duplicate names within a file merge like later files", "[load]") {
  TempDir tmp;
  const Paths p = tmp.paths();
  writeFile(p.mainFile(), R"({"architectures": ["arm64", {"name": "aarch64", "flags": "F"},
                                                 {"name": "linux/arm64", "enabled": false}]})");
  const LoadResult r = load(p);
  CHECK(r.errors.empty());
  REQUIRE(r.config.architectures.size() == 1);
  CHECK_FALSE(r.config.architectures[0].enabled);
  CHECK(r.config.architectures[0].flags == "F");
  CHECK(r.config.architectures[0].source.line == 2);
}

TEST_CASE("priority, foreign and healing merge field-wise across files", "[load]") {
  TempDir tmp;
  const Paths p = tmp.paths();
  writeFile(p.mainFile(), R"({"healing": {"interval": 5, "globalStatus": "enable"}})");
  writeFile(p.vendorDir / "conf.d/10-emulators.json", R"({
  "architectures": [{"name": "x86_64", "priority": -5, "foreign": "keep"}, "riscv64"],
  "handlers": [
    {"name": "fex", "magic": "\\x7fELF", "interpreter": "/usr/bin/FEXInterpreter",
     "priority": 20, "foreign": "adopt"},
    {"name": "box64", "magic": "\\x7fELF", "interpreter": "/usr/bin/box64", "priority": 10}
  ],
  "healing": {"enabled": false}
})");
  writeFile(p.adminDir / "conf.d/50-local.json", R"({
  "architectures": ["amd64", {"name": "riscv64", "priority": 7}],
  "handlers": [{"name": "fex", "enabled": false}, {"name": "box64", "priority": 30}],
  "healing": {"interval": 0, "globalStatus": "sometimes"}
})");
  const LoadResult r = load(p);
  REQUIRE(r.errors.size() == 1);
  CHECK(r.errors[0].toString() == (p.adminDir / "conf.d/50-local.json").string() +
                                      ":4:46: healing: 'globalStatus' must be 'report' or "
                                      "'enable', not 'sometimes', ignoring");

  // "amd64" as a plain name re-enables but keeps the earlier priority and policy.
  const ArchitectureRequest* x86 = findArch(r.config, "x86_64");
  REQUIRE(x86);
  CHECK(x86->enabled);
  CHECK(x86->priority == -5);
  CHECK(x86->foreign == ForeignPolicy::Keep);
  const ArchitectureRequest* riscv = findArch(r.config, "riscv64");
  REQUIRE(riscv);
  CHECK(riscv->priority == 7);
  CHECK(riscv->foreign == ForeignPolicy::Adopt);

  const HandlerSpec* fex = findHandler(r.config, "fex");
  REQUIRE(fex);
  CHECK_FALSE(fex->enabled);
  CHECK(fex->priority == 20);
  CHECK(fex->foreign == ForeignPolicy::Adopt);
  const HandlerSpec* box64 = findHandler(r.config, "box64");
  REQUIRE(box64);
  CHECK(box64->priority == 30);
  CHECK(box64->foreign == ForeignPolicy::Keep);

  // Each healing key from the last file that gave it a valid value.
  CHECK_FALSE(r.config.healing.enabled);  // 10-emulators.json
  CHECK(r.config.healing.interval == 0);  // 50-local.json
  CHECK(r.config.healing.enableGlobal);   // binfmtd.json; 50-local.json's is invalid
}

TEST_CASE("without healing anywhere, the defaults apply", "[load]") {
  TempDir tmp;
  const Paths p = tmp.paths();
  writeFile(p.mainFile(), R"({"architectures": ["arm64"], "healing": {}})");
  const LoadResult r = load(p);
  CHECK(r.errors.empty());
  CHECK(r.config.healing.enabled);
  CHECK(r.config.healing.interval == 1.0);
  CHECK_FALSE(r.config.healing.enableGlobal);
  REQUIRE(findArch(r.config, "aarch64"));
  CHECK(findArch(r.config, "aarch64")->priority == 0);
  CHECK(findArch(r.config, "aarch64")->foreign == ForeignPolicy::Adopt);
}

TEST_CASE("the last good version of a file keeps its healing and priorities", "[load]") {
  TempDir tmp;
  const Paths p = tmp.paths();
  const fs::path file = p.adminDir / "conf.d/50-mine.json";
  std::map<std::string, std::string> lastGood;
  writeFile(p.vendorDir / "conf.d/10.json", R"({"healing": {"interval": 10}})");
  writeFile(file, R"({"healing": {"interval": 30, "globalStatus": "enable"},
    "architectures": [{"name": "arm64", "priority": 5}]})");
  LoadResult r = load(p, &lastGood);
  REQUIRE(r.errors.empty());
  CHECK(r.config.healing.interval == 30);

  writeFile(file, R"({"healing": {"interval": 60, )");
  r = load(p, &lastGood);
  REQUIRE(r.errors.size() == 2);
  CHECK(r.errors[1].message ==
        "the last good version of this file stays in force until it is fixed");
  CHECK(r.config.healing.interval == 30);
  CHECK(r.config.healing.enableGlobal);
  REQUIRE(findArch(r.config, "aarch64"));
  CHECK(findArch(r.config, "aarch64")->priority == 5);

  // A number too large to parse falls back the same way.
  writeFile(file, R"({"healing": {"interval": 1e999}})");
  r = load(p, &lastGood);
  REQUIRE(r.errors.size() == 2);
  CHECK(r.errors[0].toString() ==
        file.string() + ": syntax error: number overflow parsing '1e999'");
  CHECK(r.config.healing.interval == 30);
  CHECK(r.brokenFiles.empty());

  // Without a last good version the file contributes nothing, and earlier files apply.
  lastGood.clear();
  r = load(p, &lastGood);
  CHECK(r.brokenFiles == std::vector<std::string>{file.string()});
  CHECK(r.config.healing.interval == 10);
  CHECK_FALSE(r.config.healing.enableGlobal);
}

// ---------------------------------------------------------------------------------------------
// Writing

TEST_CASE("writeFileAtomically writes, creates directories and leaves no temp file", "[write]") {
  TempDir tmp;
  const fs::path dir = tmp.path / "a/b/c";
  const fs::path file = dir / "x.json";
  const mode_t oldMask = ::umask(077);  // the modes must not depend on the caller's umask
  writeFileAtomically(file, "{}\n");
  writeFileAtomically(file, "{\"a\": 1}\n");
  ::umask(oldMask);
  CHECK(readFile(file) == "{\"a\": 1}\n");
  struct stat st {};
  REQUIRE(::stat(file.c_str(), &st) == 0);
  CHECK((st.st_mode & 07777) == 0644);
  for (const fs::path& d : {tmp.path / "a", tmp.path / "a/b", dir}) {
    REQUIRE(::stat(d.c_str(), &st) == 0);
    CHECK((st.st_mode & 07777) == 0755);
  }
  CHECK(listDir(dir) == std::vector<std::string>{"x.json"});
}

TEST_CASE("writeFileAtomically fails cleanly", "[write]") {
  TempDir tmp;
  writeFile(tmp.path / "plain", "x");
  try {
    writeFileAtomically(tmp.path / "plain/sub/x.json", "{}");
    FAIL("no exception");
  } catch (const Error& e) {
    CHECK(e.code() == Errc::Io);
    CHECK(std::string(e.what()).find((tmp.path / "plain").string()) != std::string::npos);
  }
  // The target is a directory: rename fails, the temp file is removed.
  fs::create_directories(tmp.path / "d/x.json/inner");
  CHECK_THROWS_AS(writeFileAtomically(tmp.path / "d/x.json", "{}"), Error);
  CHECK(listDir(tmp.path / "d") == std::vector<std::string>{"x.json"});
}

TEST_CASE("setEnabled persistent", "[write]") {
  TempDir tmp;
  const Paths p = tmp.paths();
  const fs::path file = p.controlFile(false);

  setEnabled(p, {"aarch64", "riscv64"}, {"wine"}, true, false);
  CHECK(readFile(file) == R"({
  "architectures": [
    "aarch64",
    "riscv64"
  ],
  "handlers": [
    {
      "name": "wine",
      "enabled": true
    }
  ]
}
)");
  struct stat st {};
  REQUIRE(::stat(file.c_str(), &st) == 0);
  CHECK((st.st_mode & 07777) == 0644);
  CHECK(listDir(file.parent_path()) == std::vector<std::string>{"50-binfmtctl.json"});

  setEnabled(p, {"aarch64"}, {"wine"}, false, false);
  const auto doc = nlohmann::json::parse(readFile(file));
  CHECK(doc == nlohmann::json::parse(R"({
    "architectures": [{"name": "aarch64", "enabled": false}, "riscv64"],
    "handlers": [{"name": "wine", "enabled": false}]})"));

  // And the loader agrees.
  LoadResult r = load(p);
  INFO(dump(r.errors));
  CHECK(r.errors.empty());
  CHECK_FALSE(findArch(r.config, "aarch64")->enabled);
  CHECK(findArch(r.config, "riscv64")->enabled);

  setEnabled(p, {"aarch64"}, {}, true, false);
  CHECK(nlohmann::json::parse(readFile(file))["architectures"] ==
        nlohmann::json::parse(R"(["aarch64", "riscv64"])"));
}

TEST_CASE("setEnabled keeps other content and fields, and folds aliases", "[write]") {
  TempDir tmp;
  const Paths p = tmp.paths();
  const fs::path file = p.controlFile(false);
  writeFile(file, R"({
  "handlers": [
    {"name": "box64", "magic": "\\x7fELF", "interpreter": "/usr/bin/box64", "enabled": false},
    {"name": "other", "extension": "o", "interpreter": "/bin/o"}
  ],
  "architectures": ["mips", "arm64", {"name": "linux/arm64", "flags": "F"}, {"name": "s390x"}]
})");
  setEnabled(p, {"aarch64"}, {"box64"}, true, false);
  const std::string after = readFile(file);
  CHECK(after.back() == '\n');
  const auto doc = nlohmann::ordered_json::parse(after);
  // Key order kept (handlers first), the alias items folded into one at the first's place,
  // with the fields they had.
  CHECK(doc.begin().key() == "handlers");
  CHECK(doc["architectures"].dump() ==
        R"(["mips",{"name":"aarch64","flags":"F","enabled":true},{"name":"s390x"}])");
  CHECK(doc["handlers"].dump() ==
        R"([{"name":"box64","magic":"\\x7fELF","interpreter":"/usr/bin/box64","enabled":true},)"
        R"({"name":"other","extension":"o","interpreter":"/bin/o"}])");

  setEnabled(p, {"aarch64"}, {}, false, false);
  CHECK(nlohmann::ordered_json::parse(readFile(file))["architectures"].dump() ==
        R"(["mips",{"name":"aarch64","flags":"F","enabled":false},{"name":"s390x"}])");
}

TEST_CASE("setEnabled runtime, and a later persistent change wins", "[write]") {
  TempDir tmp;
  const Paths p = tmp.paths();
  const fs::path persistent = p.controlFile(false);
  const fs::path runtime = p.controlFile(true);

  setEnabled(p, {"aarch64"}, {}, true, false);
  setEnabled(p, {"aarch64", "s390x"}, {"wine"}, false, true);
  CHECK(nlohmann::json::parse(readFile(runtime)) == nlohmann::json::parse(R"({
    "architectures": [{"name": "aarch64", "enabled": false}, {"name": "s390x", "enabled": false}],
    "handlers": [{"name": "wine", "enabled": false}]})"));
  CHECK(nlohmann::json::parse(readFile(persistent)) ==
        nlohmann::json::parse(R"({"architectures": ["aarch64"]})"));
  LoadResult r = load(p);
  CHECK_FALSE(findArch(r.config, "aarch64")->enabled);  // runtime sorts after persistent

  // A persistent enable removes the item from the runtime file (and only it).
  setEnabled(p, {"aarch64"}, {}, true, false);
  CHECK(nlohmann::json::parse(readFile(runtime)) == nlohmann::json::parse(R"({
    "architectures": [{"name": "s390x", "enabled": false}],
    "handlers": [{"name": "wine", "enabled": false}]})"));
  r = load(p);
  CHECK(findArch(r.config, "aarch64")->enabled);
  CHECK_FALSE(findArch(r.config, "s390x")->enabled);

  // Once the runtime file has nothing left, it goes away.
  setEnabled(p, {"s390x"}, {"wine"}, false, false);
  CHECK_FALSE(fs::exists(runtime));
  CHECK(listDir(runtime.parent_path()).empty());
}

TEST_CASE("setEnabled refuses to overwrite an invalid control file", "[write]") {
  TempDir tmp;
  const Paths p = tmp.paths();
  const fs::path file = p.controlFile(false);
  const std::string broken = "{\n  \"architectures\": [\n    \"aarch64\" \"x\"\n  ]\n}\n";
  writeFile(file, broken);
  try {
    setEnabled(p, {"s390x"}, {}, true, false);
    FAIL("no exception");
  } catch (const Error& e) {
    CHECK(e.code() == Errc::ConfigInvalid);
    const std::string what = e.what();
    INFO(what);
    CHECK(what.find(file.string() + ":3:15: syntax error") == 0);
  }
  CHECK(readFile(file) == broken);
  CHECK(listDir(file.parent_path()) == std::vector<std::string>{"50-binfmtctl.json"});

  // A wrong shape is refused too.
  writeFile(file, "{\"handlers\": {}}");
  CHECK_THROWS_AS(setEnabled(p, {}, {"wine"}, true, false), Error);
  CHECK(readFile(file) == "{\"handlers\": {}}");

  // A broken runtime file stops a persistent change before anything is written.
  fs::remove(file);
  writeFile(p.controlFile(true), "[");
  CHECK_THROWS_AS(setEnabled(p, {"s390x"}, {}, true, false), Error);
  CHECK_FALSE(fs::exists(file));
}

TEST_CASE("setEnabled treats an empty control file as empty", "[write]") {
  TempDir tmp;
  const Paths p = tmp.paths();
  writeFile(p.controlFile(true), "\n");
  setEnabled(p, {"mips"}, {}, true, true);
  CHECK(nlohmann::json::parse(readFile(p.controlFile(true))) ==
        nlohmann::json::parse(R"({"architectures": ["mips"]})"));
}

TEST_CASE("setEnabled keeps priority, foreign and healing", "[write]") {
  TempDir tmp;
  const Paths p = tmp.paths();
  const fs::path file = p.controlFile(false);
  writeFile(file, R"({"healing": {"interval": 2},
    "architectures": [{"name": "arm64", "priority": 5, "foreign": "keep"}]})");
  setEnabled(p, {"aarch64"}, {}, true, false);
  CHECK(nlohmann::json::parse(readFile(file)) == nlohmann::json::parse(R"({
    "healing": {"interval": 2},
    "architectures": [{"name": "aarch64", "priority": 5, "foreign": "keep", "enabled": true}]})"));
  const LoadResult r = load(p);
  CHECK(r.errors.empty());
  CHECK(r.config.healing.interval == 2);
  REQUIRE(findArch(r.config, "aarch64"));
  CHECK(findArch(r.config, "aarch64")->priority == 5);
}
