// Engine: reconcile, enable/disable and status against the in-memory fake kernel, with
// the config in a temporary directory.
#include <catch2/catch.hpp>

#include "common/files.hpp"

#include <stdlib.h>

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "engine/engine.hpp"
#include "error.hpp"
#include "engine_env.hpp"
#include "fake_kernel.hpp"

using namespace binfmtd;
namespace fs = std::filesystem;

namespace {

using testfiles::readFile;
using testfiles::TempDir;
using testfiles::writeFile;
using namespace enginetest;

template <typename F>
Errc errcOf(F&& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.code();
  }
  FAIL("no binfmtd::Error thrown");
  return Errc::Io;
}

}  // namespace

TEST_CASE("engine: first reconcile registers, second is a no-op") {
  Env env;
  writeFile(env.mainFile(), kTwoHandlers);
  auto eng = env.make();

  const auto& r1 = eng.reconcile();
  CHECK(r1.result == "ok");
  CHECK(r1.errors.empty());
  CHECK(r1.writes == 2);
  CHECK(r1.changes.size() == 2);
  CHECK(r1.time != 0);
  CHECK(env.kernel.writes == 2);
  REQUIRE(env.kernel.get("t1") != nullptr);
  REQUIRE(env.kernel.get("t2") != nullptr);
  CHECK(env.kernel.get("t1")->interpreter == "/bin/cat");
  CHECK(env.kernel.get("t1")->type == kernel::MatchType::Extension);
  CHECK(env.kernel.get("t1")->extension == "t1");
  CHECK(stateOf(eng, "t1") == "registered");
  CHECK(eng.status().last.result == "ok");

  const auto& r2 = eng.reconcile();
  CHECK(r2.result == "ok");
  CHECK(r2.writes == 0);
  CHECK(r2.changes.empty());
  CHECK(env.kernel.writes == 2);

  // Ownership survives a restart: a fresh engine on the same state dir changes nothing.
  auto again = env.make();
  const auto& r3 = again.reconcile();
  CHECK(r3.result == "ok");
  CHECK(r3.writes == 0);
  CHECK(env.kernel.writes == 2);
  auto s = again.status();
  REQUIRE(findStatus(s, "t1") != nullptr);
  CHECK(findStatus(s, "t1")->owned);
}

TEST_CASE("engine: a handler removed from the config is removed from the kernel") {
  Env env;
  writeFile(env.mainFile(), kTwoHandlers);
  auto eng = env.make();
  REQUIRE(eng.reconcile().result == "ok");
  REQUIRE(env.kernel.get("t2") != nullptr);

  writeFile(env.mainFile(), kOneHandler);
  const auto& r = eng.reconcile();
  CHECK(r.result == "ok");
  CHECK(r.writes == 1);
  CHECK(env.kernel.get("t2") == nullptr);
  CHECK(env.kernel.get("t1") != nullptr);
  CHECK(stateOf(eng, "t2") == "<absent>");
}

TEST_CASE("engine: foreign entries are never touched") {
  Env env;
  auto foreign = fake::extensionEntry("foreignx", "/usr/bin/foreign");
  env.kernel.entries.push_back(foreign);
  writeFile(env.mainFile(), kOneHandler);
  auto eng = env.make();

  CHECK(eng.reconcile().result == "ok");
  CHECK(env.kernel.writes == 1);  // t1 only
  REQUIRE(env.kernel.get("foreignx") != nullptr);
  CHECK(*env.kernel.get("foreignx") == foreign);

  // Even with an empty config the foreign entry stays.
  writeFile(env.mainFile(), R"({"handlers":[]})");
  CHECK(eng.reconcile().result == "ok");
  CHECK(env.kernel.get("t1") == nullptr);
  REQUIRE(env.kernel.get("foreignx") != nullptr);
  CHECK(*env.kernel.get("foreignx") == foreign);
  CHECK(env.kernel.writes == 2);  // + removal of t1

  auto s = eng.status();
  const auto* h = findStatus(s, "foreignx");
  REQUIRE(h != nullptr);
  CHECK_FALSE(h->owned);
  CHECK(h->inKernel);
  CHECK(h->state == "registered");
  CHECK(h->source.empty());
}

TEST_CASE("engine: enable arm64 persistently writes the admin drop-in and registers") {
  Env env;
  writeFile(env.mainFile(), kArm64Off);
  auto eng = env.make();
  REQUIRE(eng.reconcile().result == "ok");
  CHECK(env.kernel.get("qemu-aarch64") == nullptr);
  CHECK(stateOf(eng, "qemu-aarch64") == "inactive");

  auto changes = eng.enable({"arm64"}, false);
  CHECK_FALSE(changes.empty());
  CHECK(fs::exists(env.paths.adminDir / "conf.d" / "50-binfmtctl.json"));
  CHECK_FALSE(fs::exists(env.paths.runtimeDir / "conf.d" / "50-binfmtctl.runtime.json"));
  CHECK(readFile(env.paths.adminDir / "conf.d" / "50-binfmtctl.json").find("aarch64") !=
        std::string::npos);
  const auto* e = env.kernel.get("qemu-aarch64");
  REQUIRE(e != nullptr);
  CHECK(e->interpreter == "/bin/cat");
  CHECK(e->flags == "F");
  CHECK(e->type == kernel::MatchType::Magic);
  CHECK(eng.lastReport().result == "ok");

  auto s = eng.status();
  const auto* h = findStatus(s, "qemu-aarch64");
  REQUIRE(h != nullptr);
  CHECK(h->state == "registered");
  CHECK(h->owned);
  CHECK(h->architecture == "aarch64");

  // Persisted: a fresh engine (daemon restart) keeps it without writing.
  auto again = env.make();
  const unsigned before = env.kernel.writes;
  CHECK(again.reconcile().result == "ok");
  CHECK(env.kernel.writes == before);
  CHECK(env.kernel.get("qemu-aarch64") != nullptr);
}

TEST_CASE("engine: runtime enable writes the runtime drop-in, disable removes the entry") {
  Env env;
  writeFile(env.mainFile(), kArm64Off);
  auto eng = env.make();
  REQUIRE(eng.reconcile().result == "ok");

  eng.enable({"arm64"}, true);
  CHECK(fs::exists(env.paths.runtimeDir / "conf.d" / "50-binfmtctl.runtime.json"));
  CHECK_FALSE(fs::exists(env.paths.adminDir / "conf.d" / "50-binfmtctl.json"));
  REQUIRE(env.kernel.get("qemu-aarch64") != nullptr);

  const unsigned before = env.kernel.writes;
  auto changes = eng.disable({"arm64"}, true);
  CHECK_FALSE(changes.empty());
  CHECK(env.kernel.get("qemu-aarch64") == nullptr);
  CHECK(env.kernel.writes == before + 1);
  CHECK(stateOf(eng, "qemu-aarch64") == "inactive");
}

TEST_CASE("engine: disabling a configured handler by name removes it") {
  Env env;
  writeFile(env.mainFile(), kTwoHandlers);
  auto eng = env.make();
  REQUIRE(eng.reconcile().result == "ok");

  eng.disable({"t2"}, false);
  CHECK(env.kernel.get("t2") == nullptr);
  CHECK(env.kernel.get("t1") != nullptr);
  CHECK(stateOf(eng, "t2") == "inactive");

  eng.enable({"t2"}, false);
  CHECK(env.kernel.get("t2") != nullptr);
  CHECK(stateOf(eng, "t2") == "registered");
}

TEST_CASE("engine: enable of an unknown name throws and writes nothing") {
  Env env;
  writeFile(env.mainFile(), kOneHandler);
  auto eng = env.make();
  REQUIRE(eng.reconcile().result == "ok");
  const unsigned before = env.kernel.writes;

  // Not in the catalogue and not a configured handler: resolveNames says NoSuchHandler.
  CHECK(errcOf([&] { eng.enable({"arm65"}, false); }) == Errc::NoSuchHandler);
  // Every name is checked before anything is written, even with a good one first.
  CHECK(errcOf([&] { eng.enable({"t1", "arm65"}, false); }) == Errc::NoSuchHandler);
  CHECK(errcOf([&] { eng.enable({"arm65"}, true); }) == Errc::NoSuchHandler);
  CHECK(errcOf([&] { eng.enable({}, false); }) == Errc::NoSuchHandler);

  CHECK(env.kernel.writes == before);
  CHECK_FALSE(fs::exists(env.paths.controlFile(false)));
  CHECK_FALSE(fs::exists(env.paths.controlFile(true)));
}

TEST_CASE("engine: enabling the native architecture throws NativeArchitecture") {
  Env env;
  writeFile(env.mainFile(), kOneHandler);
  auto eng = env.make();
  REQUIRE(eng.reconcile().result == "ok");
  const unsigned before = env.kernel.writes;

  CHECK(errcOf([&] { eng.enable({"amd64"}, false); }) == Errc::NativeArchitecture);
  CHECK(errcOf([&] { eng.enable({"x86_64"}, false); }) == Errc::NativeArchitecture);
  CHECK(env.kernel.writes == before);
  CHECK_FALSE(fs::exists(env.paths.controlFile(false)));
}

TEST_CASE("engine: disable of a foreign entry throws ForeignEntry and leaves it") {
  Env env;
  auto foreign = fake::extensionEntry("foreignx", "/usr/bin/foreign");
  env.kernel.entries.push_back(foreign);
  writeFile(env.mainFile(), kOneHandler);
  auto eng = env.make();
  REQUIRE(eng.reconcile().result == "ok");
  const unsigned before = env.kernel.writes;

  CHECK(errcOf([&] { eng.disable({"foreignx"}, false); }) == Errc::ForeignEntry);
  CHECK(errcOf([&] { eng.disable({"nothing-here"}, false); }) == Errc::NoSuchHandler);
  CHECK(env.kernel.writes == before);
  REQUIRE(env.kernel.get("foreignx") != nullptr);
  CHECK(env.kernel.get("foreignx")->enabled);
  CHECK_FALSE(fs::exists(env.paths.controlFile(false)));
}

TEST_CASE("engine: a config file broken later keeps its last good version in force") {
  Env env;
  const fs::path file = env.dropIn("10-t.json");
  writeFile(file, kOneHandler);
  auto eng = env.make();
  REQUIRE(eng.reconcile().result == "ok");
  REQUIRE(env.kernel.get("t1") != nullptr);
  const unsigned before = env.kernel.writes;

  writeFile(file, "{\n  \"handlers\": [\n    {\"name\": \"t1\",,\n");
  const auto& r = eng.reconcile();
  CHECK(r.result == "partial");
  CHECK(r.writes == 0);
  CHECK(env.kernel.writes == before);
  CHECK(env.kernel.get("t1") != nullptr);

  auto s = eng.status();
  REQUIRE_FALSE(s.configErrors.empty());
  const std::string prefix = file.string() + ":";
  bool withLine = std::any_of(s.configErrors.begin(), s.configErrors.end(), [&](const auto& m) {
    return m.rfind(prefix, 0) == 0 && m.size() > prefix.size() &&
           std::isdigit(static_cast<unsigned char>(m[prefix.size()])) &&
           m[prefix.size()] != '0';
  });
  CHECK(withLine);
  CHECK(stateOf(eng, "t1") == "registered");

  // Fixing the file brings back "ok".
  writeFile(file, kOneHandler);
  CHECK(eng.reconcile().result == "ok");
  CHECK(env.kernel.writes == before);
}

TEST_CASE("engine: a broken file without a good version blocks removals") {
  Env env;
  writeFile(env.mainFile(), kTwoHandlers);
  {
    auto first = env.make();
    REQUIRE(first.reconcile().result == "ok");
  }
  REQUIRE(env.kernel.get("t1") != nullptr);
  REQUIRE(env.kernel.get("t2") != nullptr);
  const unsigned before = env.kernel.writes;

  SECTION("the file holding the handlers breaks before a fresh engine reads it") {
    writeFile(env.mainFile(), "{\"handlers\": [");
    auto eng = env.make();
    const auto& r = eng.reconcile();
    CHECK(r.result == "partial");
    CHECK(r.writes == 0);
  }
  SECTION("another, new file is broken while a handler leaves the config") {
    auto eng = env.make();
    REQUIRE(eng.reconcile().writes == 0);
    writeFile(env.mainFile(), kOneHandler);
    writeFile(env.dropIn("20-new.json"), "not json at all");
    const auto& r = eng.reconcile();
    CHECK(r.result == "partial");
    CHECK(r.writes == 0);
  }
  CHECK(env.kernel.writes == before);
  CHECK(env.kernel.get("t1") != nullptr);
  CHECK(env.kernel.get("t2") != nullptr);
}

TEST_CASE("engine: status disabled, and the next reconcile re-enables with one write") {
  Env env;
  writeFile(env.mainFile(), kOneHandler);
  auto eng = env.make();
  REQUIRE(eng.reconcile().result == "ok");

  env.kernel.setEnabled("t1", false);  // somebody else writes 0
  const unsigned before = env.kernel.writes;
  CHECK(stateOf(eng, "t1") == "disabled");

  const auto& r = eng.reconcile();
  CHECK(r.result == "ok");
  CHECK(r.writes == 1);
  CHECK(env.kernel.writes == before + 1);
  REQUIRE(env.kernel.get("t1") != nullptr);
  CHECK(env.kernel.get("t1")->enabled);
  CHECK(stateOf(eng, "t1") == "registered");
}

TEST_CASE("engine: status inactive for an item switched off in the config") {
  Env env;
  writeFile(env.mainFile(),
            R"({"handlers":[{"name":"t1","extension":"t1","interpreter":"/bin/cat"},)"
            R"({"name":"t2","extension":"t2","interpreter":"/bin/cat","enabled":false}]})");
  auto eng = env.make();
  const auto& r = eng.reconcile();
  CHECK(r.result == "ok");
  CHECK(r.writes == 1);
  CHECK(env.kernel.get("t2") == nullptr);

  auto s = eng.status();
  const auto* h = findStatus(s, "t2");
  REQUIRE(h != nullptr);
  CHECK(h->state == "inactive");
  CHECK_FALSE(h->inKernel);
  CHECK(h->source.rfind(env.mainFile().string() + ":", 0) == 0);
}

TEST_CASE("engine: status conflict when a custom handler's name is taken") {
  Env env;
  auto foreign = fake::extensionEntry("t1", "/usr/bin/other");
  env.kernel.entries.push_back(foreign);
  writeFile(env.mainFile(), kOneHandler);
  auto eng = env.make();

  const auto& r = eng.reconcile();
  CHECK(r.result == "partial");
  CHECK(r.writes == 0);
  CHECK_FALSE(r.errors.empty());
  REQUIRE(env.kernel.get("t1") != nullptr);
  CHECK(*env.kernel.get("t1") == foreign);

  auto s = eng.status();
  const auto* h = findStatus(s, "t1");
  REQUIRE(h != nullptr);
  CHECK(h->state == "conflict");
  CHECK_FALSE(h->owned);
  CHECK_FALSE(h->lastError.empty());

  // Asking to enable it reports the conflict.
  CHECK(errcOf([&] { eng.enable({"t1"}, false); }) == Errc::ForeignEntry);
  CHECK(*env.kernel.get("t1") == foreign);
}

TEST_CASE("engine: status error for an architecture without an emulator") {
  Env env;
  writeFile(env.mainFile(), R"({"architectures":["arm64"]})");
  auto eng = env.make();

  const auto& r = eng.reconcile();
  CHECK(r.result == "partial");
  CHECK(r.writes == 0);
  CHECK(env.kernel.entries.empty());

  auto s = eng.status();
  const auto* h = findStatus(s, "qemu-aarch64");
  REQUIRE(h != nullptr);
  CHECK(h->state == "error");
  CHECK_FALSE(h->inKernel);
  CHECK_FALSE(h->lastError.empty());
  CHECK(h->architecture == "aarch64");  // canonical: the loader resolves aliases

  CHECK(errcOf([&] { eng.enable({"arm64"}, false); }) == Errc::EmulatorNotFound);
  CHECK(env.kernel.writes == 0);
}

TEST_CASE("engine: binfmt_misc not mounted gives result failed without throwing") {
  Env env;
  env.kernel.mounted = false;
  writeFile(env.mainFile(), kOneHandler);
  auto eng = env.make();

  engine::ReconcileReport r;
  REQUIRE_NOTHROW(r = eng.reconcile());
  CHECK(r.result == "failed");
  CHECK_FALSE(r.errors.empty());
  CHECK(r.writes == 0);
  CHECK(env.kernel.writes == 0);
  CHECK(env.kernel.entries.empty());
  CHECK_FALSE(eng.status().mounted);

  // Enable reports it as an error rather than pretending to succeed.
  CHECK(errcOf([&] { eng.enable({"t1"}, false); }) == Errc::NotMounted);

  env.kernel.mounted = true;
  CHECK(eng.reconcile().result == "ok");
  CHECK(env.kernel.get("t1") != nullptr);
}
