// binfmtctl import/export's formats: systemd's binfmt.d (lines, comments, directory
// precedence and masking), Debian binfmt-support's import files and admin database, and
// binfmtd's JSON; each read from real Debian bookworm contents and round-tripped.
#include <unistd.h>

#include <catch2/catch.hpp>

#include "common/files.hpp"
#include "config/config.hpp"
#include "interop/binfmt_d.hpp"
#include "interop/binfmt_support.hpp"
#include "interop/config_json.hpp"
#include "interop/sources.hpp"

namespace fs = std::filesystem;
using namespace binfmtd;
using namespace binfmtd::interop;
using kernel::Entry;
using kernel::MatchType;

namespace {

// Debian bookworm qemu-user-static 1:7.2+dfsg-7+deb12u18: /usr/lib/binfmt.d/qemu-aarch64.conf.
constexpr std::string_view kAarch64Conf =
    R"(:qemu-aarch64:M::\x7f\x45\x4c\x46\x02\x01\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x02\x00\xb7\x00:\xff\xff\xff\xff\xff\xff\xff\x00\xff\xff\xff\xff\xff\xff\xff\xff\xfe\xff\xff\xff:/usr/libexec/qemu-binfmt/aarch64-binfmt-P:OPF)"
    "\n";
// ... and qemu-mips.conf: a 40-byte magic and mask, the last mask byte printable (\x20).
constexpr std::string_view kMipsConf =
    R"(:qemu-mips:M::\x7f\x45\x4c\x46\x01\x02\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x02\x00\x08\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00:\xff\xff\xff\xff\xff\xff\xff\x00\xfe\xff\xff\xff\xff\xff\xff\xff\xff\xfe\xff\xff\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x20:/usr/libexec/qemu-binfmt/mips-binfmt-P:OPF)"
    "\n";
// The same package's /usr/share/binfmts/qemu-aarch64 (binfmt-support import format).
constexpr std::string_view kAarch64Import =
    "package qemu-user-static\n"
    "interpreter /usr/libexec/qemu-binfmt/aarch64-binfmt-P\n"
    R"(magic \x7f\x45\x4c\x46\x02\x01\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x02\x00\xb7\x00)"
    "\n"
    "offset 0\n"
    R"(mask \xff\xff\xff\xff\xff\xff\xff\x00\xff\xff\xff\xff\xff\xff\xff\xff\xfe\xff\xff\xff)"
    "\n"
    "credentials no\n"
    "fix_binary yes\n"
    "preserve yes\n";
// /var/lib/binfmts/qemu-aarch64 as update-binfmts 2.2.2 writes it after --import qemu-aarch64.
constexpr std::string_view kAarch64Admin =
    "qemu-user-static\n"
    "magic\n"
    "0\n"
    R"(\x7f\x45\x4c\x46\x02\x01\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x02\x00\xb7\x00)"
    "\n"
    R"(\xff\xff\xff\xff\xff\xff\xff\x00\xff\xff\xff\xff\xff\xff\xff\xff\xfe\xff\xff\xff)"
    "\n"
    "/usr/libexec/qemu-binfmt/aarch64-binfmt-P\n"
    "\n"
    "no\n"
    "yes\n"
    "yes\n";
// openjdk-17's /usr/share/binfmts/jar: printable magic, no flags at all.
constexpr std::string_view kJarImport =
    "package openjdk-17\ninterpreter /usr/bin/jexec\nmagic PK\\x03\\x04\n";
// update-binfmts --package mytest --install wine /usr/bin/wine --extension exe
// --credentials yes: the admin entry of an extension format.
constexpr std::string_view kWineAdmin = "mytest\nextension\n0\nexe\n\n/usr/bin/wine\n\nyes\n\n\n";
// ... --install det /usr/bin/foo --magic 'AB\x00' --mask '\xff\xff\x00' --offset 3
// --detector /usr/bin/det: registered with run-detectors as the interpreter.
constexpr std::string_view kDetectorAdmin =
    "mytest\nmagic\n3\nAB\\x00\n\\xff\\xff\\x00\n/usr/bin/foo\n/usr/bin/det\n\n\n\n";

const std::string kAarch64Magic("\x7f" "ELF\x02\x01\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x02\x00\xb7\x00", 20);
const std::string kAarch64Mask("\xff\xff\xff\xff\xff\xff\xff\x00\xff\xff\xff\xff\xff\xff\xff\xff\xfe\xff\xff\xff", 20);

Entry aarch64(std::string flags) {
  Entry e;
  e.name = "qemu-aarch64";
  e.magic = kAarch64Magic;
  e.mask = kAarch64Mask;
  e.interpreter = "/usr/libexec/qemu-binfmt/aarch64-binfmt-P";
  e.flags = std::move(flags);
  return e;
}

std::vector<Entry> entriesOf(const ImportResult& r) {
  std::vector<Entry> out;
  for (const auto& i : r.entries) out.push_back(i.entry);
  return out;
}

std::string joined(const std::vector<std::string>& lines) {
  std::string out;
  for (const auto& l : lines) out += l + "\n";
  return out;
}

// Entries whose text forms are awkward: every byte value class in magic and mask (NUL,
// '\\', ':', '#', blanks, high bytes), an offset, extension entries, every flag set.
std::vector<Entry> awkwardEntries() {
  Entry odd;
  odd.name = "odd";
  odd.offset = 7;
  odd.magic = std::string("\0\\:#; x\xff\x7f" "A", 10);
  odd.mask = std::string("\xff\x00\xfe:\\ \t\n\r\x01", 10);
  odd.interpreter = "/opt/odd/run";
  odd.flags = "OCF";  // C with O, as the kernel shows it
  Entry wine;
  wine.name = "wine";
  wine.type = MatchType::Extension;
  wine.extension = "exe";
  wine.interpreter = "/usr/bin/wine";
  wine.flags = "P";
  Entry plain;
  plain.name = "python3.11";
  plain.magic = "\xa7\r\r\n";
  plain.interpreter = "/usr/bin/python3.11";
  return {aarch64("POF"), odd, wine, plain};
}

}  // namespace

TEST_CASE("a binfmt.d line is read as systemd-binfmt writes it to the kernel") {
  auto r = parseBinfmtD(kAarch64Conf, "qemu-aarch64.conf");
  INFO(joined(r.problems));
  CHECK(r.problems.empty());
  REQUIRE(r.entries.size() == 1);
  // Debian writes the flags "OPF"; the kernel (and binfmtd) order them POF.
  CHECK(r.entries[0].entry == aarch64("POF"));
  CHECK(r.entries[0].source == "qemu-aarch64.conf:1");

  auto mips = parseBinfmtD(kMipsConf, "qemu-mips.conf");
  REQUIRE(mips.entries.size() == 1);
  CHECK(mips.entries[0].entry.magic.size() == 40);
  CHECK(mips.entries[0].entry.mask.back() == '\x20');
}

TEST_CASE("binfmt.d: comments, blanks and surrounding whitespace are skipped like systemd") {
  const std::string text =
      "# comment\n"
      "  # indented comment\n"
      " ; semicolon comment\n"
      "\n"
      " \t \n"
      "  :spaced:E::sp::/bin/true:  \r\n"
      ";:notarule:E::x::/bin/true:\n"
      ":last:E::la::/bin/true:";  // no final newline
  auto r = parseBinfmtD(text, "f.conf");
  INFO(joined(r.problems));
  CHECK(r.problems.empty());
  REQUIRE(r.entries.size() == 2);
  CHECK(r.entries[0].entry.name == "spaced");
  CHECK(r.entries[0].entry.extension == "sp");
  CHECK(r.entries[0].source == "f.conf:6");
  CHECK(r.entries[1].entry.name == "last");
  CHECK(r.entries[1].source == "f.conf:8");
}

TEST_CASE("binfmt.d: a bad line is reported with file:line and the others still count") {
  const std::string text =
      ":good:E::g::/bin/true:\n"
      ":bad:X::::/bin/true:\n"
      ":register:E::r::/bin/true:\n"
      ":relative:E::r::bin/true:\n"
      ":mask:M::AB:\\xff:/bin/true:\n"
      ":good2:M::AB::/bin/true:F\n";
  auto r = parseBinfmtD(text, "/etc/binfmt.d/x.conf");
  REQUIRE(r.entries.size() == 2);
  CHECK(r.entries[0].entry.name == "good");
  CHECK(r.entries[1].entry.name == "good2");
  CHECK(r.entries[1].entry.flags == "F");
  REQUIRE(r.problems.size() == 4);
  CHECK(r.problems[0].starts_with("/etc/binfmt.d/x.conf:2: invalid rule: type 'X'"));
  CHECK(r.problems[1].starts_with("/etc/binfmt.d/x.conf:3: invalid rule: 'register': name"));
  CHECK(r.problems[2] == "/etc/binfmt.d/x.conf:4: invalid rule: 'relative': interpreter "
                         "'bin/true' is not an absolute path, ignoring");
  CHECK(r.problems[3].starts_with(
      "/etc/binfmt.d/x.conf:5: invalid rule: 'mask': magic and mask differ in length"));
  for (const auto& p : r.problems) CHECK(p.ends_with(", ignoring"));
}

TEST_CASE("binfmt.d: a later rule of the same name replaces the earlier one") {
  auto r = parseBinfmtD(":a:E::one::/bin/true:\n:b:E::b::/bin/true:\n:a:E::two::/bin/true:\n", "f");
  keepLastDefinitions(r);
  REQUIRE(r.entries.size() == 2);
  CHECK(r.entries[0].entry.name == "b");
  CHECK(r.entries[1].entry.extension == "two");
  REQUIRE(r.problems.size() == 1);
  CHECK(r.problems[0] == "f:1: 'a' is defined again at f:3, ignoring this definition");
}

TEST_CASE("binfmt.d directories: precedence, sorting by file name, masking") {
  testfiles::TempDir root;
  const auto dirs = binfmtDDirectories(root.path);
  REQUIRE(dirs.size() == 5);
  const fs::path etc = dirs[0], run = dirs[1], local = dirs[2], usr = dirs[3];
  CHECK(etc == root.path / "etc/binfmt.d");
  CHECK(usr == root.path / "usr/lib/binfmt.d");
  auto rule = [](const std::string& name) { return ":" + name + ":E::" + name + "::/bin/true:\n"; };

  testfiles::writeFile(usr / "10-a.conf", rule("usr-a"));
  testfiles::writeFile(etc / "10-a.conf", rule("etc-a"));     // /etc beats /usr/lib
  testfiles::writeFile(local / "20-b.conf", rule("local-b"));
  testfiles::writeFile(run / "20-b.conf", rule("run-b"));     // /run beats /usr/local/lib
  testfiles::writeFile(usr / "05-c.conf", rule("usr-c"));     // sorts first, whatever its dir
  testfiles::writeFile(usr / "30-masked.conf", rule("masked"));
  fs::create_symlink("/dev/null", etc / "30-masked.conf");    // masked by /dev/null
  testfiles::writeFile(usr / "40-emptied.conf", rule("emptied"));
  testfiles::writeFile(run / "40-emptied.conf", "");          // masked by an empty file
  testfiles::writeFile(usr / "50-broken.conf", rule("broken"));
  fs::create_directory(etc / "50-broken.conf");               // unreadable: hides it too
  testfiles::writeFile(usr / "60-notconf.txt", rule("txt"));
  testfiles::writeFile(usr / ".70-hidden.conf", rule("hidden"));

  auto r = readBinfmtDDirectories(dirs);
  std::vector<std::string> names;
  for (const auto& e : r.entries) names.push_back(e.entry.name);
  CHECK(names == std::vector<std::string>{"usr-c", "etc-a", "run-b"});
  CHECK(r.entries[1].source == (etc / "10-a.conf").string() + ":1");
  const std::string problems = joined(r.problems);
  CHECK(problems.find((usr / "30-masked.conf").string() + ": masked by " +
                      (etc / "30-masked.conf").string()) != std::string::npos);
  CHECK(problems.find((usr / "40-emptied.conf").string() + ": masked by") != std::string::npos);
  CHECK(problems.find((etc / "50-broken.conf").string() + ": Is a directory") != std::string::npos);
  CHECK(problems.find((usr / "50-broken.conf").string() + ": masked by") != std::string::npos);
  CHECK(r.problems.size() == 4);

  // A directory reached twice (/lib -> usr/lib on merged-/usr systems) is read once.
  fs::create_directories(root.path / "usr");
  fs::create_directory_symlink("usr/lib", root.path / "lib");
  auto again = readBinfmtDDirectories(binfmtDDirectories(root.path));
  CHECK(again.entries.size() == 3);
  CHECK(again.problems.size() == 4);
}

TEST_CASE("binfmt-support import files: Debian's qemu and jar formats") {
  auto r = parseImportFormat("qemu-aarch64", kAarch64Import, "/usr/share/binfmts/qemu-aarch64");
  INFO(joined(r.problems));
  CHECK(r.problems.empty());
  REQUIRE(r.entries.size() == 1);
  // update-binfmts registers preserve + fix_binary as "PF": no O, unlike the binfmt.d file.
  CHECK(r.entries[0].entry == aarch64("PF"));
  CHECK(r.entries[0].source == "/usr/share/binfmts/qemu-aarch64");

  auto jar = parseImportFormat("jar", kJarImport, "jar");
  REQUIRE(jar.entries.size() == 1);
  CHECK(jar.entries[0].entry.magic == "PK\x03\x04");
  CHECK(jar.entries[0].entry.mask.empty());
  CHECK(jar.entries[0].entry.flags.empty());
}

TEST_CASE("binfmt-support import files: comments, unknown keys, bad values, detectors") {
  SECTION("comments and blank lines are skipped, unknown keys reported") {
    auto r = parseImportFormat(
        "t", "# binfmtctl export header\n\npackage p\ninterpreter   /usr/bin/t  \nfoo bar\nextension t\n",
        "t");
    REQUIRE(r.entries.size() == 1);
    CHECK(r.entries[0].entry.interpreter == "/usr/bin/t");
    CHECK(r.entries[0].entry.type == MatchType::Extension);
    CHECK(r.problems == std::vector<std::string>{"t:5: unknown key 'foo', ignoring"});
  }
  SECTION("credentials imply O; values other than yes are no, with a note") {
    auto r = parseImportFormat(
        "t", "package p\ninterpreter /usr/bin/t\nmagic AB\ncredentials yes\npreserve YES\n", "t");
    REQUIRE(r.entries.size() == 1);
    CHECK(r.entries[0].entry.flags == "OC");
    CHECK(r.problems == std::vector<std::string>{"t: 'preserve' is 'YES', which update-binfmts reads as 'no'"});
  }
  SECTION("a format with a detector is skipped with the reason") {
    auto r = parseImportFormat(
        "t", "package p\ninterpreter /usr/bin/t\nmagic AB\ndetector /usr/bin/det\n", "t");
    CHECK(r.entries.empty());
    REQUIRE(r.problems.size() == 1);
    CHECK(r.problems[0] ==
          "t: 't' uses the userspace detector /usr/bin/det (binfmt-support's run-detectors), "
          "which binfmtd cannot express, ignoring");
  }
  SECTION("what update-binfmts refuses is refused") {
    auto missing = parseImportFormat("t", "interpreter /usr/bin/t\nmagic AB\n", "t");
    CHECK(missing.entries.empty());
    CHECK(missing.problems == std::vector<std::string>{"t: required 'package' line missing, ignoring"});
    auto both = parseImportFormat("t", "package p\ninterpreter /x\nmagic AB\nextension e\n", "t");
    CHECK(both.entries.empty());
    CHECK(both.problems.size() == 1);
    auto maskExt = parseImportFormat("t", "package p\ninterpreter /x\nextension e\nmask \\xff\n", "t");
    CHECK(maskExt.entries.empty());
    // update-binfmts copies the magic into a ':'-separated string, so ':' breaks it.
    auto colon = parseImportFormat("t", "package p\ninterpreter /x\nmagic A:B\n", "t");
    CHECK(colon.entries.empty());
    CHECK(colon.problems.size() == 1);
  }
}

TEST_CASE("binfmt-support admin database: update-binfmts' own entries") {
  CHECK(isAdminFormat(kAarch64Admin));
  CHECK_FALSE(isAdminFormat(kAarch64Import));
  CHECK_FALSE(isAdminFormat(kJarImport));

  auto r = parseBinfmtSupport("qemu-aarch64", kAarch64Admin, "/var/lib/binfmts/qemu-aarch64");
  INFO(joined(r.problems));
  CHECK(r.problems.empty());
  REQUIRE(r.entries.size() == 1);
  // The same entry as the package's import file it was imported from.
  CHECK(r.entries[0].entry == parseImportFormat("qemu-aarch64", kAarch64Import, "f").entries[0].entry);

  auto wine = parseBinfmtSupport("wine", kWineAdmin, "wine");
  REQUIRE(wine.entries.size() == 1);
  CHECK(wine.entries[0].entry.type == MatchType::Extension);
  CHECK(wine.entries[0].entry.extension == "exe");
  CHECK(wine.entries[0].entry.flags == "OC");  // the kernel showed "flags: OC"

  auto det = parseBinfmtSupport("det", kDetectorAdmin, "det");
  CHECK(det.entries.empty());
  REQUIRE(det.problems.size() == 1);
  CHECK(det.problems[0].find("detector /usr/bin/det") != std::string::npos);

  auto shortFile = parseAdminFormat("x", "p\nmagic\n0\n", "x");
  CHECK(shortFile.entries.empty());
  CHECK(shortFile.problems ==
        std::vector<std::string>{"x: an update-binfmts database entry has 10 lines, not 3, ignoring"});
}

TEST_CASE("binfmt-support directories: the admin database wins over the import directory") {
  testfiles::TempDir root;
  const auto dirs = binfmtSupportDirectories(root.path);
  REQUIRE(dirs.size() == 2);
  CHECK(dirs[0] == root.path / "var/lib/binfmts");
  std::string admin(kAarch64Admin);
  admin.replace(admin.find("/usr/libexec"), 12, "/opt/elsewhere");  // changed by the admin
  testfiles::writeFile(dirs[0] / "qemu-aarch64", admin);
  testfiles::writeFile(dirs[1] / "qemu-aarch64", kAarch64Import);
  testfiles::writeFile(dirs[1] / "jar", kJarImport);
  testfiles::writeFile(dirs[1] / ".hidden", kJarImport);

  auto r = readBinfmtSupport(dirs);
  INFO(joined(r.problems));
  CHECK(r.problems.empty());
  REQUIRE(r.entries.size() == 2);
  CHECK(r.entries[0].entry.interpreter.starts_with("/opt/elsewhere/"));
  CHECK(r.entries[1].entry.name == "jar");
}

TEST_CASE("escapeBytes writes what the kernel's \\x syntax reads back") {
  CHECK(kernel::escapeBytes(std::string("\x7f" "ELF\x00\\:x ", 9)) == "\\x7fELF\\x00\\x5c\\x3ax\\x20");
}

TEST_CASE("round trip: binfmt.d") {
  SECTION("import(export(entries)) == entries") {
    std::vector<std::string> problems;
    const auto entries = awkwardEntries();
    const std::string text = writeBinfmtD(entries, problems);
    INFO(text);
    CHECK(problems.empty());
    auto back = parseBinfmtD(text, "x.conf");
    INFO(joined(back.problems));
    CHECK(back.problems.empty());
    CHECK(entriesOf(back) == entries);
  }
  SECTION("export(import(Debian's files)) is stable") {
    const std::string debian = std::string(kAarch64Conf) + std::string(kMipsConf);
    std::vector<std::string> problems;
    const std::string once = writeBinfmtD(entriesOf(parseBinfmtD(debian, "d")), problems);
    const std::string twice = writeBinfmtD(entriesOf(parseBinfmtD(once, "once")), problems);
    CHECK(problems.empty());
    CHECK(once == twice);
    CHECK(entriesOf(parseBinfmtD(once, "once")) == entriesOf(parseBinfmtD(debian, "d")));
  }
  SECTION("a disabled entry becomes a comment; an unwritable one is reported") {
    Entry off = aarch64("F");
    off.enabled = false;
    Entry colon = aarch64("");
    colon.name = "has:colon";  // the delimiter would be '#', a binfmt.d comment
    std::vector<std::string> problems;
    const std::string text = writeBinfmtD({off, colon}, problems);
    CHECK(text.find("\n# disabled: :qemu-aarch64:M:0:") != std::string::npos);
    CHECK(parseBinfmtD(text, "x").entries.empty());
    REQUIRE(problems.size() == 1);
    CHECK(problems[0].starts_with("'has:colon': needs the delimiter '#'"));
  }
}

TEST_CASE("round trip: binfmt-support import files") {
  SECTION("import(export(entries)) == entries") {
    for (const Entry& e : awkwardEntries()) {
      std::vector<std::string> problems;
      const std::string text = writeImportFormat(e, problems);
      INFO(text);
      // binfmt-support has no option for O without C; that loss is reported (see below).
      const bool dropsO = e.flags == "POF";
      CHECK(problems.size() == (dropsO ? 1u : 0u));
      auto back = parseBinfmtSupport(e.name, text, e.name);
      INFO(joined(back.problems));
      REQUIRE(back.entries.size() == 1);
      Entry expected = e;
      if (dropsO) expected.flags = "PF";
      CHECK(back.entries[0].entry == expected);
    }
  }
  SECTION("export(import(Debian's file)) is stable, and says what it cannot keep") {
    std::vector<std::string> problems;
    const auto entry = parseImportFormat("qemu-aarch64", kAarch64Import, "f").entries.at(0).entry;
    const std::string once = writeImportFormat(entry, problems);
    CHECK(problems.empty());
    CHECK(writeImportFormat(parseImportFormat("qemu-aarch64", once, "f").entries.at(0).entry,
                            problems) == once);
    CHECK(once.starts_with("package binfmtd\ninterpreter /usr/libexec/qemu-binfmt/aarch64-binfmt-P\n"));
    CHECK(once.find("preserve yes\nfix_binary yes\n") != std::string::npos);

    writeImportFormat(aarch64("POF"), problems);
    CHECK(problems == std::vector<std::string>{
                          "'qemu-aarch64': flag O dropped: binfmt-support can only set it with C"});
  }
  SECTION("blanks at the ends of a value cannot be written, and trailing ones are not read") {
    Entry padded = aarch64("PF");
    padded.interpreter += " ";
    std::vector<std::string> problems;
    CHECK(writeImportFormat(padded, problems).empty());
    CHECK(problems == std::vector<std::string>{
                          "'qemu-aarch64': '/usr/libexec/qemu-binfmt/aarch64-binfmt-P ' starts or "
                          "ends with a blank, which an import file cannot hold, ignoring"});

    // update-binfmts drops trailing blanks from every line of its admin database.
    std::string admin(kAarch64Admin);
    admin.replace(admin.find("-binfmt-P\n") + 9, 1, " \t\n");
    const auto read = parseAdminFormat("qemu-aarch64", admin, "f");
    INFO(joined(read.problems));
    REQUIRE(read.entries.size() == 1);
    CHECK(read.entries[0].entry.interpreter == "/usr/libexec/qemu-binfmt/aarch64-binfmt-P");
  }
}

TEST_CASE("round trip: binfmtd JSON, read back by binfmtd's own config parser") {
  std::vector<Entry> entries = awkwardEntries();
  entries[2].enabled = false;
  std::vector<std::string> problems;
  const std::string json = writeConfigJson(entries, problems);
  INFO(json);
  CHECK(problems.empty());

  std::vector<config::Diagnostic> errors;
  const auto fragment = config::parseFile(json, "40-imported.json", errors);
  for (const auto& e : errors) UNSCOPED_INFO(e.toString());
  CHECK(errors.empty());
  CHECK(fragment.architectures.empty());
  REQUIRE(fragment.handlers.size() == entries.size());
  for (std::size_t i = 0; i < entries.size(); ++i) {
    const config::HandlerSpec& spec = fragment.handlers[i].first;
    Entry parsed = spec.entry;
    parsed.enabled = spec.enabled;
    CHECK(parsed == entries[i]);
    CHECK(spec.foreign == config::ForeignPolicy::Adopt);
  }
  CHECK(json.find(R"("magic": "\\x7fELF\\x02)") != std::string::npos);

  SECTION("text JSON cannot carry is reported") {
    Entry bad = aarch64("F");
    bad.interpreter = "/opt/\xff";
    std::vector<std::string> more;
    CHECK(writeConfigJson({bad}, more).find("qemu-aarch64") == std::string::npos);
    CHECK(more.size() == 1);
  }
}
