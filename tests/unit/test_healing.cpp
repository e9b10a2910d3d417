// Healing: the engine repairs what other programs do to its entries, backs off from a
// program that keeps undoing them, and arbitrates between handlers by priority.
#include <catch2/catch.hpp>

#include <string>

#include "engine_env.hpp"

using namespace enginetest;
using testfiles::writeFile;

namespace {

constexpr std::uint64_t kSec = 1000000;

// None of these emulators is installed here; none has the F flag, so they may be missing.
const std::string kX86Handlers = R"({"handlers":[
  {"name":"qemu-x86_64","magic":"X86","interpreter":"/usr/bin/qemu-x86_64","allowMissingInterpreter":true},
  {"name":"box64","magic":"X86","interpreter":"/usr/bin/box64","allowMissingInterpreter":true,"priority":10},
  {"name":"fex","magic":"X86","interpreter":"/usr/bin/FEXInterpreter","allowMissingInterpreter":true,"priority":20}]})";

std::vector<std::string> matchOrder(const fake::Kernel& k) {
  std::vector<std::string> names;
  for (const auto& e : k.list().entries) names.push_back(e.name + (e.enabled ? "" : " (off)"));
  return names;
}

}  // namespace

TEST_CASE("heal: nothing to do writes nothing and reports nothing") {
  Env env;
  writeFile(env.mainFile(), kTwoHandlers);
  auto eng = env.make();
  REQUIRE(eng.reconcile().result == "ok");
  env.kernel.writes = 0;
  CHECK(eng.heal(1 * kSec).empty());
  CHECK(env.kernel.writes == 0);
}

TEST_CASE("heal: a flushed table comes back") {
  Env env;
  writeFile(env.mainFile(), kTwoHandlers);
  auto eng = env.make();
  REQUIRE(eng.reconcile().result == "ok");
  env.kernel.entries.clear();  // someone wrote -1 to status
  auto r = eng.heal(1 * kSec);
  CHECK(r.writes == 2);
  CHECK(r.repairs == std::vector<std::string>{"t1: registered (removed by another program)",
                                              "t2: registered (removed by another program)"});
  CHECK(r.problems.empty());
  CHECK(env.kernel.get("t1") != nullptr);
  CHECK(env.kernel.get("t2") != nullptr);
  CHECK(eng.lastReport().changes == r.repairs);
}

TEST_CASE("heal: an entry changed or disabled by someone else is restored") {
  Env env;
  writeFile(env.mainFile(), kTwoHandlers);
  auto eng = env.make();
  REQUIRE(eng.reconcile().result == "ok");
  env.kernel.remove("t1");
  env.kernel.add(fake::extensionEntry("t1", "/usr/bin/other"));
  env.kernel.setEnabled("t2", false);
  auto r = eng.heal(1 * kSec);
  REQUIRE(r.repairs.size() == 2);
  CHECK(r.repairs[0].rfind("t1: replaced (changed by another program", 0) == 0);
  CHECK(r.repairs[0].find("/usr/bin/other") != std::string::npos);
  CHECK(r.repairs[1] == "t2: enabled (was disabled)");
  CHECK(env.kernel.get("t1")->interpreter == "/bin/cat");
  CHECK(env.kernel.get("t2")->enabled);
}

TEST_CASE("heal: removing is the config's business, not a repair") {
  Env env;
  writeFile(env.mainFile(), kTwoHandlers);
  auto eng = env.make();
  REQUIRE(eng.reconcile().result == "ok");
  writeFile(env.mainFile(), kOneHandler);  // not reloaded yet: heal works on what it knows
  env.kernel.entries.clear();
  eng.heal(1 * kSec);
  CHECK(env.kernel.get("t2") != nullptr);
}

TEST_CASE("heal: foreign entries are left alone") {
  Env env;
  writeFile(env.mainFile(), kOneHandler);
  auto eng = env.make();
  REQUIRE(eng.reconcile().result == "ok");
  env.kernel.add(fake::extensionEntry("WSLInterop", "/init", "PF"));
  env.kernel.writes = 0;
  CHECK(eng.heal(1 * kSec).empty());
  CHECK(env.kernel.writes == 0);
}

TEST_CASE("heal: a program that keeps undoing an entry gets a growing back-off") {
  Env env;
  writeFile(env.mainFile(), kOneHandler);
  auto eng = env.make();
  REQUIRE(eng.reconcile().result == "ok");
  auto undo = [&] {
    env.kernel.remove("t1");
    env.kernel.add(fake::extensionEntry("t1", "/usr/bin/theirs"));
  };
  std::uint64_t now = 100 * kSec;
  for (int i = 0; i < 4; ++i) {
    undo();
    auto r = eng.heal(now += kSec);
    CHECK(r.repairs.size() == 1);
    CHECK(r.problems.empty());
  }
  undo();
  auto fifth = eng.heal(now += kSec);
  CHECK(fifth.repairs.size() == 1);
  REQUIRE(fifth.problems.size() == 1);
  CHECK(fifth.problems[0].find("'t1': it keeps being replaced by an entry with interpreter "
                               "/usr/bin/theirs") == 0);
  CHECK(fifth.problems[0].find("repaired it 5 times within 30 s") != std::string::npos);
  CHECK(fifth.problems[0].find("for 5 s") != std::string::npos);
  CHECK(eng.nextHoldEnd() == now + 5 * kSec);

  // On hold: undone again, left alone, reported as a conflict.
  undo();
  env.kernel.writes = 0;
  CHECK(eng.heal(now + kSec).empty());
  CHECK(env.kernel.writes == 0);
  CHECK(stateOf(eng, "t1") == "conflict");

  // After the hold: one more repair, and since it is still undone, a doubled hold.
  now += 5 * kSec;
  auto again = eng.heal(now);
  CHECK(again.repairs.size() == 1);
  REQUIRE(again.problems.size() == 1);
  CHECK(again.problems[0].find("for 10 s") != std::string::npos);
  CHECK(eng.nextHoldEnd() == now + 10 * kSec);

  // A reconcile (reload, config change, enable) ends the back-off.
  undo();
  CHECK(eng.reconcile().writes == 2);
  CHECK(eng.nextHoldEnd() == 0);
  CHECK(env.kernel.get("t1")->interpreter == "/bin/cat");
  CHECK(stateOf(eng, "t1") == "registered");
}

TEST_CASE("heal: repairs far apart never start a back-off") {
  Env env;
  writeFile(env.mainFile(), kOneHandler);
  auto eng = env.make();
  REQUIRE(eng.reconcile().result == "ok");
  for (int i = 1; i <= 6; ++i) {
    env.kernel.entries.clear();
    auto r = eng.heal(static_cast<std::uint64_t>(i) * 8 * kSec);  // < 5 in any 30 s
    CHECK(r.repairs.size() == 1);
    CHECK(r.problems.empty());
  }
  CHECK(eng.nextHoldEnd() == 0);
}

TEST_CASE("heal: a globally disabled binfmt_misc is reported once, enabled only on request") {
  Env env;
  SECTION("default: report") {
    writeFile(env.mainFile(), kOneHandler);
    auto eng = env.make();
    REQUIRE(eng.reconcile().result == "ok");
    env.kernel.global = false;
    auto r = eng.heal(1 * kSec);
    REQUIRE(r.problems.size() == 1);
    CHECK(r.problems[0].find("disabled as a whole") != std::string::npos);
    CHECK_FALSE(env.kernel.global);
    CHECK(eng.heal(2 * kSec).empty());  // already said
    env.kernel.global = true;
    CHECK(eng.heal(3 * kSec).empty());
    env.kernel.global = false;
    CHECK(eng.heal(4 * kSec).problems.size() == 1);  // a new occurrence is news again
  }
  SECTION("\"globalStatus\": \"enable\"") {
    writeFile(env.mainFile(), R"({"healing":{"globalStatus":"enable"},)"
                              R"("handlers":[{"name":"t1","extension":"t1","interpreter":"/bin/cat"}]})");
    auto eng = env.make();
    REQUIRE(eng.reconcile().result == "ok");
    env.kernel.global = false;
    auto r = eng.heal(1 * kSec);
    CHECK(env.kernel.global);
    REQUIRE(r.repairs.size() == 1);
    CHECK(r.repairs[0].rfind("binfmt_misc: enabled again", 0) == 0);
  }
}

TEST_CASE("heal: off in the config, nothing is repaired") {
  Env env;
  writeFile(env.mainFile(), R"({"healing":{"enabled":false},)"
                            R"("handlers":[{"name":"t1","extension":"t1","interpreter":"/bin/cat"}]})");
  auto eng = env.make();
  REQUIRE(eng.reconcile().result == "ok");
  env.kernel.entries.clear();
  CHECK(eng.heal(1 * kSec).empty());
  CHECK(env.kernel.get("t1") == nullptr);
}

TEST_CASE("heal: not mounted is reported once") {
  Env env;
  writeFile(env.mainFile(), kOneHandler);
  auto eng = env.make();
  REQUIRE(eng.reconcile().result == "ok");
  env.kernel.mounted = false;
  CHECK(eng.heal(1 * kSec).problems.size() == 1);
  CHECK(eng.heal(2 * kSec).empty());
  env.kernel.mounted = true;
  env.kernel.entries.clear();  // a remount brings an empty instance (Linux >= 6.7)
  auto r = eng.heal(3 * kSec);
  CHECK(r.repairs.size() == 1);
  CHECK(env.kernel.get("t1") != nullptr);
}

TEST_CASE("priority: the preferred handler is registered last, the others stand by") {
  Env env;
  writeFile(env.mainFile(), kX86Handlers);
  auto eng = env.make();
  const auto& r = eng.reconcile();
  CHECK(r.result == "ok");
  CHECK(matchOrder(env.kernel) ==
        std::vector<std::string>{"fex", "box64 (off)", "qemu-x86_64 (off)"});
  CHECK(stateOf(eng, "fex") == "registered");
  CHECK(stateOf(eng, "box64") == "standby");
  auto s = eng.status();
  CHECK(findStatus(s, "box64")->lastError.find("'fex'") != std::string::npos);
  CHECK(findStatus(s, "fex")->priority == 20);

  // Disabling the winner hands over to the next one with one write each, no removal
  // of the others.
  writeFile(env.dropIn("50-off.json"), R"({"handlers":[{"name":"fex","enabled":false}]})");
  env.kernel.writes = 0;
  eng.reconcile();
  CHECK(env.kernel.get("fex") == nullptr);
  CHECK(env.kernel.get("box64")->enabled);
  CHECK_FALSE(env.kernel.get("qemu-x86_64")->enabled);
  CHECK(env.kernel.writes == 2);  // remove fex, enable box64
}

TEST_CASE("priority: equal priorities for the same binaries are a warning, first by name wins") {
  Env env;
  writeFile(env.mainFile(), R"({"handlers":[
    {"name":"b","magic":"X","interpreter":"/bin/b","allowMissingInterpreter":true},
    {"name":"a","magic":"X","interpreter":"/bin/a","allowMissingInterpreter":true}]})");
  auto eng = env.make();
  const auto& r = eng.reconcile();
  CHECK(r.result == "partial");
  REQUIRE(r.errors.size() == 1);
  CHECK(r.errors[0].find("handlers 'a' and 'b' match the same binaries") == 0);
  CHECK(env.kernel.get("a")->enabled);
  CHECK_FALSE(env.kernel.get("b")->enabled);
}

TEST_CASE("priority: a preferred entry shadowed by a newer foreign one is registered again") {
  Env env;
  writeFile(env.mainFile(), R"({"handlers":[
    {"name":"fex","magic":"X86","interpreter":"/usr/bin/FEXInterpreter","allowMissingInterpreter":true,"priority":5},
    {"name":"box64","magic":"B64","interpreter":"/usr/bin/box64","allowMissingInterpreter":true}]})");
  auto eng = env.make();
  REQUIRE(eng.reconcile().result == "ok");
  auto theirs = fake::extensionEntry("rosetta", "/mnt/rosetta");
  theirs.type = kernel::MatchType::Magic;
  theirs.extension.clear();
  theirs.magic = "X86";
  env.kernel.add(theirs);
  auto boxTheirs = theirs;
  boxTheirs.name = "box-other";
  boxTheirs.magic = "B64";
  env.kernel.add(boxTheirs);
  CHECK(stateOf(eng, "fex") == "shadowed");
  CHECK(stateOf(eng, "box64") == "shadowed");

  auto r = eng.heal(1 * kSec);
  REQUIRE(r.repairs.size() == 1);
  CHECK(r.repairs[0].rfind("fex: registered again (shadowed by 'rosetta'", 0) == 0);
  CHECK(env.kernel.list().entries.front().name == "fex");
  CHECK(env.kernel.get("rosetta") != nullptr);
  CHECK(stateOf(eng, "fex") == "registered");
  // box64 has no priority: reported with what to do, never fought.
  CHECK(stateOf(eng, "box64") == "shadowed");
  auto s = eng.status();
  CHECK(findStatus(s, "box64")->shadowedBy == "box-other");
  CHECK(findStatus(s, "box64")->lastError.find("\"priority\" above 0") != std::string::npos);
}

TEST_CASE("foreign: \"keep\" and \"adopt\" decide about a foreign entry with our name") {
  Env env;
  env.kernel.add(fake::extensionEntry("t1", "/usr/bin/theirs"));
  SECTION("handlers keep by default") {
    writeFile(env.mainFile(), kOneHandler);
    auto eng = env.make();
    eng.reconcile();
    CHECK(env.kernel.get("t1")->interpreter == "/usr/bin/theirs");
    CHECK(stateOf(eng, "t1") == "conflict");
  }
  SECTION("\"foreign\": \"adopt\" takes it over") {
    writeFile(env.mainFile(), R"({"handlers":[{"name":"t1","extension":"t1",)"
                              R"("interpreter":"/bin/cat","foreign":"adopt"}]})");
    auto eng = env.make();
    CHECK(eng.reconcile().result == "ok");
    CHECK(env.kernel.get("t1")->interpreter == "/bin/cat");
    CHECK(eng.status().handlers.at(0).owned);
  }
}

TEST_CASE("preview: shows what a reconcile would do and writes nothing") {
  Env env;
  writeFile(env.mainFile(), kTwoHandlers);
  auto eng = env.make();
  REQUIRE(eng.reconcile().result == "ok");
  writeFile(env.mainFile(), R"({"handlers":[{"name":"t1","extension":"t1","interpreter":"/bin/sh"},)"
                            R"({"name":"t3","extension":"t3","interpreter":"/bin/cat"}]})");
  env.kernel.writes = 0;
  auto steps = eng.preview();
  CHECK(env.kernel.writes == 0);
  std::vector<std::string> lines;
  for (const auto& s : steps) lines.push_back(s.action + " " + s.name + ": " + s.reason);
  CHECK(lines == std::vector<std::string>{"remove t2: no longer configured",
                                          "replace t1: interpreter changed",
                                          "register t3: missing"});
  CHECK(env.kernel.get("t2") != nullptr);
}

TEST_CASE("heal: a repair that keeps failing is retried but reported once") {
  Env env;
  writeFile(env.mainFile(), kOneHandler);
  auto eng = env.make();
  REQUIRE(eng.reconcile().result == "ok");
  env.kernel.entries.clear();
  env.kernel.failInterpreter = "/bin/cat";  // the interpreter went away, say
  auto r = eng.heal(1 * kSec);
  REQUIRE(r.problems.size() == 1);
  CHECK(r.problems[0].find("Failed to register 't1'") != std::string::npos);
  CHECK(stateOf(eng, "t1") == "error");
  CHECK(eng.heal(2 * kSec).problems.empty());
  env.kernel.failInterpreter.clear();
  auto fixed = eng.heal(3 * kSec);
  CHECK(fixed.repairs.size() == 1);
  CHECK(stateOf(eng, "t1") == "registered");
}
