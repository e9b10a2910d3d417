// BinfmtFs against a real, private binfmt_misc instance. Run through private-binfmt,
// which mounts a fresh instance in a new user + mount namespace and exports its path as
// BINFMTD_TEST_BINFMT_DIR. Nothing here touches any other binfmt_misc mount.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cerrno>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "error.hpp"
#include "kernel/binfmt_fs.hpp"

using namespace binfmtd::kernel;
using binfmtd::Errc;
using namespace std::string_literals;
namespace fs = std::filesystem;

namespace {

// Refuses to run in the initial user namespace, where a binfmt_misc mount would be the
// machine's global table. Its namespace inode is a fixed kernel constant (PROC_USER_INIT_INO).
bool inChildUserNamespace() {
  constexpr ino_t kInitUserNamespaceInode = 0xEFFFFFFDU;
  struct stat st {};
  return ::stat("/proc/self/ns/user", &st) == 0 && st.st_ino != kInitUserNamespaceInode;
}

fs::path instanceDir() {
  const char* dir = std::getenv("BINFMTD_TEST_BINFMT_DIR");
  INFO("run this test through private-binfmt, which sets BINFMTD_TEST_BINFMT_DIR");
  REQUIRE(dir != nullptr);
  REQUIRE(*dir != '\0');
  REQUIRE(inChildUserNamespace());
  return dir;
}

// A BinfmtFs on the private instance, emptied so every test starts from a clean table.
BinfmtFs cleanInstance() {
  BinfmtFs bfs(instanceDir());
  REQUIRE(bfs.isMounted());
  for (const Entry& e : bfs.list().entries) bfs.remove(e.name);
  REQUIRE(bfs.list().entries.empty());
  return bfs;
}

struct Caught {
  Errc code;
  std::string message;
};

template <class F>
std::optional<Caught> caught(F&& f) {
  try {
    f();
  } catch (const binfmtd::Error& e) {
    return Caught{e.code(), e.what()};
  }
  return std::nullopt;
}

std::string readText(const fs::path& file) {
  std::ifstream in(file);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void writeText(const fs::path& file, const std::string& text) {
  std::ofstream out(file);
  out << text;
}

Entry magicEntry(std::string name, std::string magic, std::string mask = {}) {
  Entry e;
  e.name = std::move(name);
  e.magic = std::move(magic);
  e.mask = std::move(mask);
  e.interpreter = "/bin/cat";
  return e;
}

std::optional<Entry> find(const Table& t, const std::string& name) {
  for (const Entry& e : t.entries)
    if (e.name == name) return e;
  return std::nullopt;
}

int mountCountAt(const fs::path& dir) {
  std::ifstream in("/proc/self/mountinfo");
  std::string want = fs::canonical(dir).string();
  int count = 0;
  for (std::string line; std::getline(in, line);) {
    std::istringstream fields(line);
    std::string id, parent, dev, root, point;
    fields >> id >> parent >> dev >> root >> point;
    if (point == want && line.find(" - binfmt_misc ") != std::string::npos) ++count;
  }
  return count;
}

struct TempDir {
  TempDir() {
    const char* tmp = std::getenv("TMPDIR");
    std::string templ =
        std::string(tmp != nullptr && *tmp != '\0' ? tmp : "/tmp") + "/binfmtd-fs-test-XXXXXX";
    REQUIRE(::mkdtemp(templ.data()) != nullptr);
    path = templ;
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
  fs::path path;
};

}  // namespace

TEST_CASE("the private instance is mounted and ensureMounted leaves it alone", "[kernel]") {
  BinfmtFs bfs = cleanInstance();
  CHECK(bfs.isMounted());
  const int before = mountCountAt(bfs.dir());
  CHECK(before >= 1);

  bfs.add(magicEntry("keep", "KEEP"));
  bfs.ensureMounted();
  CHECK(mountCountAt(bfs.dir()) == before);
  CHECK(find(bfs.list(), "keep"));

  // A trailing slash or a "." component names the same mount point.
  CHECK(BinfmtFs(bfs.dir().string() + "/").isMounted());
  CHECK(BinfmtFs(bfs.dir() / ".").isMounted());
  bfs.remove("keep");
}

TEST_CASE("isMounted is false for a plain directory; mounting a missing one fails", "[kernel]") {
  instanceDir();
  TempDir tmp;
  CHECK_FALSE(BinfmtFs(tmp.path).isMounted());

  BinfmtFs missing(tmp.path / "does-not-exist");
  CHECK_FALSE(missing.isMounted());
  auto err = caught([&] { missing.ensureMounted(); });
  REQUIRE(err);
  CHECK(err->code == Errc::NotMounted);
  CHECK(err->message ==
        "Failed to mount binfmt_misc at " + missing.dir().string() + ": no such directory");
}

TEST_CASE("isMounted reads mountinfo: escapes, optional fields, stacking, symlinks", "[kernel]") {
  instanceDir();
  TempDir tmp;
  const fs::path real = tmp.path / "with space";
  fs::create_directory(real);
  fs::create_symlink(real, tmp.path / "link");
  const std::string escaped = tmp.path.string() + "/with\\040space";
  const fs::path info = tmp.path / "mountinfo";

  auto line = [&](const std::string& point, const std::string& type, const std::string& opt) {
    return "36 35 0:44 / " + point + " rw,relatime " + opt + "- " + type + " " + type + " rw\n";
  };

  writeText(info, line("/", "ext4", "shared:1 ") + line(escaped, "binfmt_misc", "shared:7 "));
  CHECK(BinfmtFs(real, info).isMounted());
  CHECK(BinfmtFs(tmp.path / "link", info).isMounted());  // resolved like the kernel shows it
  CHECK_FALSE(BinfmtFs(tmp.path, info).isMounted());     // the parent is not the mount point

  // No optional fields at all.
  writeText(info, line(escaped, "binfmt_misc", ""));
  CHECK(BinfmtFs(real, info).isMounted());

  // The type must be binfmt_misc, not just any mount there (systemd's autofs point).
  writeText(info, line(escaped, "autofs", "master:2 "));
  CHECK_FALSE(BinfmtFs(real, info).isMounted());

  // Mounts stack: the last one at a mount point is what a lookup sees.
  writeText(info, line(escaped, "autofs", "") + line(escaped, "binfmt_misc", ""));
  CHECK(BinfmtFs(real, info).isMounted());
  writeText(info, line(escaped, "binfmt_misc", "") + line(escaped, "tmpfs", ""));
  CHECK_FALSE(BinfmtFs(real, info).isMounted());

  // A mount point that only starts with the same text is another directory.
  writeText(info, line(escaped + "2", "binfmt_misc", ""));
  CHECK_FALSE(BinfmtFs(real, info).isMounted());

  auto err = caught([&] { (void)BinfmtFs(real, tmp.path / "no-mountinfo").isMounted(); });
  REQUIRE(err);
  CHECK(err->code == Errc::Io);
}

TEST_CASE("globalEnabled follows the status file", "[kernel]") {
  BinfmtFs bfs = cleanInstance();
  CHECK(bfs.globalEnabled());
  writeText(bfs.dir() / "status", "0");
  CHECK_FALSE(bfs.globalEnabled());
  writeText(bfs.dir() / "status", "1");
  CHECK(bfs.globalEnabled());

  bfs.add(magicEntry("kept", "KEPT"));
  bfs.setGlobalEnabled(false);
  CHECK(readText(bfs.dir() / "status") == "disabled\n");
  bfs.setGlobalEnabled(true);
  CHECK(bfs.globalEnabled());
  CHECK(find(bfs.list(), "kept"));  // 0 and 1 only: never the -1 that flushes
}

TEST_CASE("add, list and read back magic and extension entries", "[kernel]") {
  BinfmtFs bfs = cleanInstance();
  Entry m = magicEntry("zz-magic", "\377A", "\x0f\xff");
  m.offset = 2;
  m.flags = "C";
  Entry plain = magicEntry("aa-plain", "\177ELF\x02");
  Entry x;
  x.name = "mm-ext";
  x.type = MatchType::Extension;
  x.extension = "foo";
  x.interpreter = "/bin/cat";
  x.flags = "FP";

  bfs.add(m);
  bfs.add(plain);
  bfs.add(x);

  // The kernel's own text, as documented in shared/REFERENCE.md (c) and (f).
  CHECK(readText(bfs.dir() / "zz-magic") ==
        "enabled\ninterpreter /bin/cat\nflags: OC\noffset 2\nmagic ff41\nmask 0fff\n");
  CHECK(readText(bfs.dir() / "aa-plain") ==
        "enabled\ninterpreter /bin/cat\nflags: \noffset 0\nmagic 7f454c4602\n");
  CHECK(readText(bfs.dir() / "mm-ext") ==
        "enabled\ninterpreter /bin/cat\nflags: PF\nextension .foo\n");

  Table t = bfs.list();
  CHECK(t.unreadable.empty());
  REQUIRE(t.entries.size() == 3);  // register and status are not entries
  // The kernel's match order, newest first (the engine relies on it to find shadowing).
  CHECK(t.entries[0].name == "mm-ext");
  CHECK(t.entries[1].name == "aa-plain");
  CHECK(t.entries[2].name == "zz-magic");
  CHECK(t.entries[1].sameDefinition(plain));
  CHECK(t.entries[0].sameDefinition(x));
  CHECK(t.entries[2].sameDefinition(m));
  CHECK(t.entries[2].flags == "OC");
  CHECK(t.entries[2].magic == "\377A");  // the kernel keeps the magic unmasked
  CHECK(t.entries[0].type == MatchType::Extension);
  for (const Entry& e : t.entries) CHECK(e.enabled);
}

TEST_CASE("setEnabled and remove", "[kernel]") {
  BinfmtFs bfs = cleanInstance();
  bfs.add(magicEntry("toggle", "TOG"));

  bfs.setEnabled("toggle", false);
  CHECK(readText(bfs.dir() / "toggle").rfind("disabled\n", 0) == 0);
  auto e = find(bfs.list(), "toggle");
  REQUIRE(e);
  CHECK_FALSE(e->enabled);
  CHECK(e->sameDefinition(magicEntry("toggle", "TOG")));

  bfs.setEnabled("toggle", true);
  CHECK(readText(bfs.dir() / "toggle").rfind("enabled\n", 0) == 0);
  e = find(bfs.list(), "toggle");
  REQUIRE(e);
  CHECK(e->enabled);

  bfs.remove("toggle");
  CHECK_FALSE(fs::exists(bfs.dir() / "toggle"));
  CHECK(bfs.list().entries.empty());

  auto err = caught([&] { bfs.remove("toggle"); });
  REQUIRE(err);
  CHECK(err->code == Errc::NoSuchHandler);
  CHECK(err->message == "Failed to remove 'toggle': no such entry in " + bfs.dir().string());

  err = caught([&] { bfs.setEnabled("toggle", true); });
  REQUIRE(err);
  CHECK(err->code == Errc::NoSuchHandler);
  CHECK(err->message == "Failed to enable 'toggle': no such entry in " + bfs.dir().string());
}

TEST_CASE("list follows registration order, newest first, also after re-registering",
          "[kernel]") {
  BinfmtFs bfs = cleanInstance();
  for (const char* name : {"b", "a", "d", "c"}) bfs.add(magicEntry(name, name));
  auto names = [&] {
    std::vector<std::string> out;
    for (const auto& e : bfs.list().entries) out.push_back(e.name);
    return out;
  };
  CHECK(names() == std::vector<std::string>{"c", "d", "a", "b"});
  // A failed lookup of a name before registering it must not change its place.
  CHECK(caught([&] { bfs.remove("z"); }));
  bfs.remove("a");
  bfs.add(magicEntry("z", "z"));
  bfs.add(magicEntry("a", "a"));
  CHECK(names() == std::vector<std::string>{"a", "z", "c", "d", "b"});
}

TEST_CASE("check() refuses before writing what add() would refuse", "[kernel]") {
  BinfmtFs bfs = cleanInstance();
  Entry missing = magicEntry("missing-interp", "MI");
  missing.interpreter = "/nonexistent/qemu";
  missing.flags = "F";
  auto err = caught([&] { bfs.check(missing); });
  REQUIRE(err);
  CHECK(err->code == Errc::EmulatorNotFound);
  CHECK(err->message.find("'/nonexistent/qemu' does not exist") != std::string::npos);
  TempDir tmp;
  const fs::path plain = tmp.path / "not-executable";
  writeText(plain, "data");
  fs::permissions(plain, fs::perms::owner_read | fs::perms::owner_write);
  missing.interpreter = plain.string();
  err = caught([&] { bfs.check(missing); });
  REQUIRE(err);
  CHECK(err->code == Errc::KernelRejected);
  missing.flags = "";  // without F the kernel does not look at the interpreter
  missing.interpreter = "/nonexistent/qemu";
  CHECK_FALSE(caught([&] { bfs.check(missing); }));
  Entry bad = magicEntry("bad", "B");
  bad.mask = "XX";
  err = caught([&] { bfs.check(bad); });
  REQUIRE(err);
  CHECK(err->code == Errc::InvalidEntry);
  Entry good = magicEntry("good", "G");
  good.flags = "F";
  CHECK_FALSE(caught([&] { bfs.check(good); }));
  CHECK(bfs.list().entries.empty());  // check() never writes
}

TEST_CASE("control files and odd names are never written as entries", "[kernel]") {
  BinfmtFs bfs = cleanInstance();
  bfs.add(magicEntry("survivor", "SURV"));
  // "-1" to status would remove every entry; "0" would disable them all.
  for (const std::string name : {"status", "register", "", ".", "..", "../x", "a/b"}) {
    INFO("name '" << name << "'");
    auto err = caught([&] { bfs.remove(name); });
    REQUIRE(err);
    CHECK(err->code == Errc::NoSuchHandler);
    err = caught([&] { bfs.setEnabled(name, false); });
    REQUIRE(err);
    CHECK(err->code == Errc::NoSuchHandler);
  }
  CHECK(bfs.globalEnabled());
  auto e = find(bfs.list(), "survivor");
  REQUIRE(e);
  CHECK(e->enabled);
  bfs.remove("survivor");
}

TEST_CASE("kernel errors become sentences naming the entry", "[kernel]") {
  BinfmtFs bfs = cleanInstance();

  SECTION("duplicate name: EEXIST") {
    bfs.add(magicEntry("dup", "DUP"));
    auto err = caught([&] { bfs.add(magicEntry("dup", "OTHER")); });
    REQUIRE(err);
    CHECK(err->code == Errc::KernelRejected);
    CHECK(err->message == "Failed to register 'dup': an entry with this name already exists");
  }
  SECTION("F with a missing interpreter: ENOENT") {
    Entry e = magicEntry("fixed", "FIX");
    e.interpreter = "/nonexistent/binfmtd-test-interp";
    e.flags = "F";
    auto err = caught([&] { bfs.add(e); });
    REQUIRE(err);
    CHECK(err->code == Errc::KernelRejected);
    CHECK(err->message ==
          "Failed to register 'fixed': interpreter '/nonexistent/binfmtd-test-interp' does not "
          "exist (the F flag opens it at registration)");
    // Without F the kernel defers the lookup to exec time.
    e.flags = "";
    bfs.add(e);
    CHECK(find(bfs.list(), "fixed"));
  }
  SECTION("F with a directory as interpreter: EACCES") {
    Entry e = magicEntry("fixed-dir", "FIX");
    e.interpreter = "/";
    e.flags = "PF";
    auto err = caught([&] { bfs.add(e); });
    REQUIRE(err);
    CHECK(err->code == Errc::KernelRejected);
    CHECK(err->message.rfind("Failed to register 'fixed-dir': interpreter '/' is not an "
                             "executable regular file (the F flag opens it at registration)",
                             0) == 0);
  }
  CHECK(bfs.list().unreadable.empty());
}

TEST_CASE("invalid definitions are refused before anything is written", "[kernel]") {
  BinfmtFs bfs = cleanInstance();
  struct Case {
    Entry entry;
    std::string message;
  };
  Entry offset = magicEntry("offset", std::string(8, 'A'));
  offset.offset = 250;
  Entry ext;
  ext.name = "ext";
  ext.type = MatchType::Extension;
  ext.extension = "a/b";
  ext.interpreter = "/bin/cat";
  Entry flags = magicEntry("flags", "A");
  flags.flags = "Z";
  Entry longLine = magicEntry("long", "A");
  longLine.interpreter = "/" + std::string(1950, 'i');
  std::vector<Case> cases = {
      {magicEntry("mask", "AB", "\xff"),
       "Failed to register 'mask': magic and mask differ in length (2 and 1 bytes)"},
      {offset,
       "Failed to register 'offset': offset 250 plus magic length 8 exceeds the kernel's "
       "256-byte header buffer"},
      {magicEntry("status", "A"),
       "Failed to register 'status': name 'status' is reserved by binfmt_misc for its control "
       "file"},
      {magicEntry(std::string(256, 'n'), "A"),
       "Failed to register '" + std::string(256, 'n') +
           "': name is 256 bytes long; the kernel allows at most 255"},
      {magicEntry("a/b", "A"), "Failed to register 'a/b': name contains '/'"},
      {magicEntry("empty", ""), "Failed to register 'empty': magic is empty"},
      {ext, "Failed to register 'ext': extension contains '/'"},
      {flags, "Failed to register 'flags': flags 'Z' contain a letter other than P, O, C and F"},
      {longLine,
       "Failed to register 'long': register string is 1965 bytes long; the kernel accepts at "
       "most 1920"},
  };
  for (const Case& c : cases) {
    INFO(c.message);
    auto err = caught([&] { bfs.add(c.entry); });
    REQUIRE(err);
    CHECK(err->code == Errc::InvalidEntry);
    CHECK(err->message == c.message);
  }
  Table t = bfs.list();
  CHECK(t.entries.empty());
  CHECK(t.unreadable.empty());
  CHECK(bfs.globalEnabled());
}

TEST_CASE("limits the kernel accepts register and read back", "[kernel]") {
  BinfmtFs bfs = cleanInstance();
  std::string every;
  for (int i = 0; i < 256; ++i) every += static_cast<char>(i);
  Entry full = magicEntry("full-256", every, std::string(256, '\xff'));
  Entry last = magicEntry("offset-255", "\x01");
  last.offset = 255;
  Entry longName = magicEntry(std::string(255, 'n'), "LONG");
  Entry spaced = magicEntry("spaced interp", " \\:x");
  spaced.interpreter = "/opt/a dir/interp";

  for (const Entry& e : {full, last, longName, spaced}) {
    INFO(registerString(e));
    bfs.add(e);
    auto back = find(bfs.list(), e.name);
    REQUIRE(back);
    CHECK(back->sameDefinition(e));
  }
  CHECK(readText(bfs.dir() / "full-256").find("magic " + toHex(every) + "\n") != std::string::npos);
}

TEST_CASE("a name containing ':' switches the delimiter and round-trips", "[kernel]") {
  BinfmtFs bfs = cleanInstance();
  Entry e = magicEntry("with:colon", "#:|", "\xff\xff\xff");
  e.flags = "P";
  REQUIRE(registerString(e)[0] == '#');
  bfs.add(e);
  Table t = bfs.list();
  REQUIRE(t.entries.size() == 1);
  CHECK(t.entries[0].name == "with:colon");
  CHECK(t.entries[0].sameDefinition(e));

  Entry x;
  x.name = "ext:colon";
  x.type = MatchType::Extension;
  x.extension = "a:b#c";
  x.interpreter = "/bin/cat";
  REQUIRE(registerString(x)[0] == '|');
  bfs.add(x);
  auto back = find(bfs.list(), "ext:colon");
  REQUIRE(back);
  CHECK(back->sameDefinition(x));
}

TEST_CASE("Debian's binfmt.d qemu entries register and read back unchanged", "[kernel]") {
  BinfmtFs bfs = cleanInstance();
  std::map<std::string, Entry> wanted;
  std::error_code ec;
  for (const auto& de : fs::directory_iterator("/usr/lib/binfmt.d", ec)) {
    std::string file = de.path().filename().string();
    if (file.rfind("qemu-", 0) != 0 || de.path().extension() != ".conf") continue;
    std::ifstream in(de.path());
    for (std::string line; std::getline(in, line);) {
      if (line.empty() || line[0] == '#' || line[0] == ';') continue;
      std::string error;
      auto e = parseRegisterString(line, &error);
      INFO(file << ": " << error);
      REQUIRE(e);
      wanted[e->name] = *e;
    }
  }
  if (wanted.empty()) {
    const char* ci = std::getenv("CI");
    if (ci != nullptr && *ci != '\0' && std::string(ci) != "false")
      FAIL("no /usr/lib/binfmt.d/qemu-*.conf: install qemu-user-static");
    WARN("no /usr/lib/binfmt.d/qemu-*.conf (qemu-user-static not installed); skipping");
    return;
  }
  for (const auto& [name, e] : wanted) {
    INFO(registerString(e));
    bfs.add(e);  // flags POF: the kernel opens each interpreter now
  }
  Table t = bfs.list();
  CHECK(t.unreadable.empty());
  REQUIRE(t.entries.size() == wanted.size());
  for (const Entry& e : t.entries) {
    INFO(e.name);
    REQUIRE(wanted.count(e.name) == 1);
    CHECK(e.sameDefinition(wanted.at(e.name)));
    CHECK(e.enabled);
  }
  for (const Entry& e : t.entries) bfs.remove(e.name);
  CHECK(bfs.list().entries.empty());
}
