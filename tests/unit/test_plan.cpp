// plan() is the reconcile policy: every case of the design is here.
#include <catch2/catch.hpp>

#include "engine/plan.hpp"
#include "fake_kernel.hpp"

using namespace binfmtd;
using engine::ActionKind;
using fake::extensionEntry;

namespace {

engine::DesiredHandler want(const kernel::Entry& e, bool adopt = false) {
  engine::DesiredHandler d;
  d.entry = e;
  d.adopt = adopt;
  return d;
}

std::vector<std::pair<ActionKind, std::string>> kinds(const engine::Plan& p) {
  std::vector<std::pair<ActionKind, std::string>> out;
  for (const auto& a : p.actions) out.emplace_back(a.kind, a.entry.name);
  return out;
}

using Kinds = std::vector<std::pair<ActionKind, std::string>>;

}  // namespace

TEST_CASE("plan: nothing wanted, nothing there, nothing to do") {
  CHECK(engine::plan({}, {}, {}).empty());
}

TEST_CASE("plan: a missing entry is registered") {
  auto a = extensionEntry("a", "/bin/a");
  auto p = engine::plan({want(a)}, {}, {});
  CHECK(kinds(p) == Kinds{{ActionKind::Register, "a"}});
}

TEST_CASE("plan: an owned entry as configured is left alone (no-op writes nothing)") {
  auto a = extensionEntry("a", "/bin/a");
  CHECK(engine::plan({want(a)}, {a}, {{"a", a}}).empty());
}

TEST_CASE("plan: a changed owned entry is replaced, remembering the old one") {
  auto a = extensionEntry("a", "/bin/a");
  auto old = extensionEntry("a", "/bin/old");
  auto p = engine::plan({want(a)}, {old}, {{"a", old}});
  REQUIRE(kinds(p) == Kinds{{ActionKind::Replace, "a"}});
  CHECK(p.actions[0].previous.interpreter == "/bin/old");
  CHECK(p.actions[0].reason == "interpreter changed");
}

TEST_CASE("plan: flags are part of the definition") {
  auto a = extensionEntry("a", "/bin/a", "PF");
  auto have = extensionEntry("a", "/bin/a", "P");
  auto p = engine::plan({want(a)}, {have}, {{"a", have}});
  REQUIRE(kinds(p) == Kinds{{ActionKind::Replace, "a"}});
  CHECK(p.actions[0].reason == "flags changed");
}

TEST_CASE("plan: an owned entry disabled by someone else is re-enabled") {
  auto a = extensionEntry("a", "/bin/a");
  auto disabled = a;
  disabled.enabled = false;
  auto p = engine::plan({want(a)}, {disabled}, {{"a", a}});
  CHECK(kinds(p) == Kinds{{ActionKind::Enable, "a"}});
}

TEST_CASE("plan: owned entries no longer wanted are removed") {
  auto a = extensionEntry("a", "/bin/a");
  auto p = engine::plan({}, {a}, {{"a", a}});
  CHECK(kinds(p) == Kinds{{ActionKind::Remove, "a"}});
}

TEST_CASE("plan: stale ownership records are forgotten, never written") {
  auto a = extensionEntry("a", "/bin/a");
  SECTION("gone from the kernel") {
    auto p = engine::plan({}, {}, {{"a", a}});
    CHECK(kinds(p) == Kinds{{ActionKind::Forget, "a"}});
  }
  SECTION("replaced by another program's definition: it is theirs now") {
    auto theirs = extensionEntry("a", "/usr/bin/theirs");
    auto p = engine::plan({}, {theirs}, {{"a", a}});
    CHECK(kinds(p) == Kinds{{ActionKind::Forget, "a"}});
  }
}

TEST_CASE("plan: foreign entries are never touched") {
  auto wsl = extensionEntry("WSLInterop", "/init", "P");
  auto python = extensionEntry("python3.11", "/usr/bin/python3.11");
  python.enabled = false;
  CHECK(engine::plan({}, {wsl, python}, {}).empty());
}

TEST_CASE("plan: a foreign entry with a wanted name") {
  auto theirs = extensionEntry("qemu-aarch64", "/usr/bin/qemu-aarch64", "P");
  auto ours = extensionEntry("qemu-aarch64", "/usr/libexec/qemu-binfmt/aarch64-binfmt-P", "PF");
  SECTION("custom handlers (no adopt) report a conflict and write nothing") {
    auto p = engine::plan({want(ours, false)}, {theirs}, {});
    CHECK(p.empty());
    REQUIRE(p.conflicts.size() == 1);
    CHECK(p.conflicts[0].message.find("/usr/bin/qemu-aarch64") != std::string::npos);
  }
  SECTION("architectures (adopt) replace it") {
    auto p = engine::plan({want(ours, true)}, {theirs}, {});
    REQUIRE(kinds(p) == Kinds{{ActionKind::Replace, "qemu-aarch64"}});
    CHECK(p.actions[0].previous.interpreter == "/usr/bin/qemu-aarch64");
  }
  SECTION("an identical one is adopted without a write") {
    auto p = engine::plan({want(ours, true)}, {ours}, {});
    CHECK(kinds(p) == Kinds{{ActionKind::Adopt, "qemu-aarch64"}});
  }
  SECTION("an identical but disabled one is adopted and enabled") {
    auto off = ours;
    off.enabled = false;
    auto p = engine::plan({want(ours, true)}, {off}, {});
    CHECK(kinds(p) == Kinds{{ActionKind::Adopt, "qemu-aarch64"}, {ActionKind::Enable, "qemu-aarch64"}});
  }
}

TEST_CASE("plan: removals wait while the config is partly unreadable") {
  auto a = extensionEntry("a", "/bin/a");
  engine::PlanOptions options;
  SECTION("a broken file") {
    options.allowRemovals = false;
    CHECK(engine::plan({}, {a}, {{"a", a}}, options).empty());
  }
  SECTION("an invalid item") {
    options.keep.insert("a");
    CHECK(engine::plan({}, {a}, {{"a", a}}, options).empty());
  }
}

TEST_CASE("plan: removals come first, then additions in name order") {
  auto gone = extensionEntry("zzz", "/bin/z");
  auto b = extensionEntry("b", "/bin/b");
  auto a = extensionEntry("a", "/bin/a");
  auto p = engine::plan({want(a), want(b)}, {gone}, {{"zzz", gone}});
  CHECK(kinds(p) == Kinds{{ActionKind::Remove, "zzz"}, {ActionKind::Register, "a"},
                          {ActionKind::Register, "b"}});
}

TEST_CASE("apply: carries out a plan and records ownership") {
  fake::Kernel k;
  engine::Ownership owned("/nonexistent/owned");
  auto a = extensionEntry("a", "/bin/a");
  auto result = engine::apply(engine::plan({want(a)}, {}, {}), k, owned);
  CHECK(result.writes == 1);
  CHECK(result.failures.empty());
  REQUIRE(k.get("a") != nullptr);
  CHECK(owned.owns("a"));
  REQUIRE(result.changes.size() == 1);
  CHECK(result.changes[0] == "a: registered (missing)");
}

TEST_CASE("apply: a replacement is checked before the working entry is removed") {
  fake::Kernel k;
  auto old = extensionEntry("a", "/bin/old");
  k.add(old);
  k.writes = 0;
  engine::Ownership owned("/nonexistent/owned");
  owned.record(old);
  k.failInterpreter = "/bin/new";
  auto plan = engine::plan({want(extensionEntry("a", "/bin/new"))}, k.list().entries,
                           owned.entries());
  auto result = engine::apply(plan, k, owned);
  REQUIRE(result.failures.count("a") == 1);
  CHECK(result.writes == 0);  // refused before anything was written
  REQUIRE(k.get("a") != nullptr);
  CHECK(k.get("a")->interpreter == "/bin/old");
}

TEST_CASE("apply: a replacement the kernel still refuses puts the working entry back") {
  fake::Kernel k;
  auto old = extensionEntry("a", "/bin/old");
  k.add(old);
  k.writes = 0;
  engine::Ownership owned("/nonexistent/owned");
  owned.record(old);
  k.failAdd = "/bin/new";
  auto plan = engine::plan({want(extensionEntry("a", "/bin/new"))}, k.list().entries,
                           owned.entries());
  auto result = engine::apply(plan, k, owned);
  REQUIRE(result.failures.count("a") == 1);
  CHECK(result.writes == 2);  // remove and restore; the refused register changed nothing
  REQUIRE(k.get("a") != nullptr);
  CHECK(k.get("a")->interpreter == "/bin/old");
  CHECK(owned.entries().at("a").interpreter == "/bin/old");
}

TEST_CASE("apply: one failure does not stop the others") {
  fake::Kernel k;
  k.failInterpreter = "/bin/b";
  engine::Ownership owned("/nonexistent/owned");
  auto plan = engine::plan({want(extensionEntry("a", "/bin/a")), want(extensionEntry("b", "/bin/b")),
                            want(extensionEntry("c", "/bin/c"))},
                           {}, {});
  auto result = engine::apply(plan, k, owned);
  CHECK(result.failures.size() == 1);
  CHECK(k.get("a") != nullptr);
  CHECK(k.get("c") != nullptr);
  CHECK_FALSE(owned.owns("b"));
}

namespace {

kernel::Entry magicEntry(const std::string& name, const std::string& magic,
                         const std::string& interp, const std::string& mask = {}) {
  kernel::Entry e;
  e.name = name;
  e.magic = magic;
  e.mask = mask;
  e.interpreter = interp;
  return e;
}

engine::DesiredHandler wantWithPriority(const kernel::Entry& e, int priority) {
  auto d = want(e);
  d.priority = priority;
  return d;
}

}  // namespace

TEST_CASE("plan: a newer foreign entry for the same binaries shadows ours") {
  auto ours = magicEntry("qemu-x86_64", "\x7f" "ELF64", "/usr/bin/qemu-x86_64");
  auto rosetta = magicEntry("rosetta", "\x7f" "ELF64", "/mnt/rosetta");
  // actual is newest first: rosetta was registered after ours.
  SECTION("priority 0: reported, left alone") {
    auto p = engine::plan({want(ours)}, {rosetta, ours}, {{ours.name, ours}});
    CHECK(p.empty());
    REQUIRE(p.shadows.size() == 1);
    CHECK(p.shadows[0].name == "qemu-x86_64");
    CHECK(p.shadows[0].by == "rosetta");
    CHECK(p.shadows[0].message.find("/mnt/rosetta") != std::string::npos);
    CHECK(p.shadows[0].message.find("\"priority\"") != std::string::npos);
  }
  SECTION("priority above 0: registered again, after it") {
    auto p = engine::plan({wantWithPriority(ours, 5)}, {rosetta, ours}, {{ours.name, ours}});
    REQUIRE(kinds(p) == Kinds{{ActionKind::Reorder, "qemu-x86_64"}});
    CHECK(p.shadows.empty());
    fake::Kernel k;
    k.add(ours);
    k.add(rosetta);
    engine::Ownership owned("/nonexistent/owned");
    owned.record(ours);
    auto result = engine::apply(p, k, owned);
    CHECK(result.failures.empty());
    CHECK(k.list().entries.front().name == "qemu-x86_64");  // tried first now
    CHECK(k.get("rosetta") != nullptr);                      // theirs untouched
  }
  SECTION("an older foreign entry does not shadow") {
    CHECK(engine::plan({want(ours)}, {ours, rosetta}, {{ours.name, ours}}).shadows.empty());
  }
  SECTION("a disabled foreign entry does not shadow") {
    auto off = rosetta;
    off.enabled = false;
    CHECK(engine::plan({want(ours)}, {off, ours}, {{ours.name, ours}}).shadows.empty());
  }
  SECTION("a foreign entry for other binaries does not shadow") {
    auto other = magicEntry("other", "\x7f" "ELF32", "/bin/other");
    CHECK(engine::plan({want(ours)}, {other, ours}, {{ours.name, ours}}).shadows.empty());
  }
  SECTION("a shorter magic that matches a superset shadows (Debian's 37-byte mipsel)") {
    auto wider = magicEntry("wide", "\x7f" "ELF", "/bin/wide");
    CHECK(engine::plan({want(ours)}, {wider, ours}, {{ours.name, ours}}).shadows.size() == 1);
  }
}

TEST_CASE("plan: registrations go by priority, the preferred one last") {
  auto qemu = wantWithPriority(magicEntry("qemu-x86_64", "X86", "/usr/bin/qemu-x86_64"), 0);
  auto box64 = wantWithPriority(magicEntry("box64", "X86", "/usr/bin/box64"), 10);
  auto fex = wantWithPriority(magicEntry("fex", "X86", "/usr/bin/FEXInterpreter"), 20);
  qemu.entry.enabled = box64.entry.enabled = false;  // as desiredHandlers() leaves them
  auto p = engine::plan({box64, fex, qemu}, {}, {});
  CHECK(kinds(p) == Kinds{{ActionKind::Register, "qemu-x86_64"},
                          {ActionKind::Register, "box64"},
                          {ActionKind::Register, "fex"}});
  fake::Kernel k;
  engine::Ownership owned("/nonexistent/owned");
  auto result = engine::apply(p, k, owned);
  CHECK(result.writes == 5);  // three registrations, two of them disabled right after
  auto t = k.list().entries;
  REQUIRE(t.size() == 3);
  CHECK(t[0].name == "fex");
  CHECK(t[0].enabled);
  CHECK_FALSE(k.get("box64")->enabled);
  CHECK_FALSE(k.get("qemu-x86_64")->enabled);
}

TEST_CASE("plan: switching the preferred handler is a flip of two flags") {
  auto a = magicEntry("a", "X86", "/bin/a");
  auto b = magicEntry("b", "X86", "/bin/b");
  auto aOff = a;
  aOff.enabled = false;
  // b was the winner and a stood by; now a is preferred.
  auto bOff = b;
  bOff.enabled = false;
  auto wantA = wantWithPriority(a, 2);
  auto wantB = wantWithPriority(bOff, 1);
  wantB.standbyFor = "a";
  auto p = engine::plan({wantA, wantB}, {b, aOff}, {{"a", a}, {"b", b}});
  CHECK(kinds(p) == Kinds{{ActionKind::Disable, "b"}, {ActionKind::Enable, "a"}});
}

TEST_CASE("plan: entries on hold are not repaired") {
  auto a = extensionEntry("a", "/bin/a");
  engine::PlanOptions options;
  options.hold.insert("a");
  CHECK(engine::plan({want(a)}, {}, {{"a", a}}, options).empty());
}

TEST_CASE("plan: why an owned entry is replaced") {
  auto a = extensionEntry("a", "/bin/a");
  auto theirs = extensionEntry("a", "/bin/theirs");
  SECTION("someone else changed it") {
    auto p = engine::plan({want(a)}, {theirs}, {{"a", a}});
    REQUIRE(kinds(p) == Kinds{{ActionKind::Replace, "a"}});
    CHECK(p.actions[0].reason.rfind("changed by another program", 0) == 0);
    CHECK(p.actions[0].reason.find("/bin/theirs") != std::string::npos);
  }
  SECTION("removed by someone else") {
    auto p = engine::plan({want(a)}, {}, {{"a", a}});
    REQUIRE(kinds(p) == Kinds{{ActionKind::Register, "a"}});
    CHECK(p.actions[0].reason == "removed by another program");
  }
}

TEST_CASE("plan: stays linear with 1,000 handlers") {
  std::vector<engine::DesiredHandler> desired;
  std::vector<kernel::Entry> actual;
  std::map<std::string, kernel::Entry> owned;
  for (int i = 0; i < 1000; ++i) {
    auto e = extensionEntry("h" + std::to_string(i), "/bin/h");
    desired.push_back(want(e));
    actual.push_back(e);
    owned.emplace(e.name, e);
  }
  CHECK(engine::plan(desired, actual, owned).empty());
  actual.erase(actual.begin() + 500);
  CHECK(kinds(engine::plan(desired, actual, owned)) == Kinds{{ActionKind::Register, "h500"}});
}
