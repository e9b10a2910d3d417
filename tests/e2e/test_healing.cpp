// Handlers that stay put: binfmtd against other programs that flush, change, disable,
// unmount, shadow and fight over its entries, in a private binfmt_misc instance, with
// the daemon running on a private bus. The handlers run shell-script interpreters, so
// that an exec shows which handler the kernel chose.
#include <catch2/catch.hpp>
#include <sys/mount.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <thread>

#include <mutex>
#include <sdbus-c++/sdbus-c++.h>

#include "harness/harness.hpp"

namespace fs = std::filesystem;
using harness::ctl;
using harness::run;
using namespace std::chrono_literals;

namespace {

fs::path binfmt(const std::string& name) { return harness::Daemon::binfmtDir() / name; }

bool registered(const std::string& name) { return fs::exists(binfmt(name)); }

std::string entryText(const std::string& name) {
  std::error_code ec;
  if (!fs::exists(binfmt(name), ec)) return "";
  return harness::readFile(binfmt(name));
}

// An interpreter that says who it is, and a program of the test's own format for it.
struct Fixture {
  harness::TempDir tmp;
  fs::path program;

  Fixture() {
    for (const char* who : {"alpha", "beta", "theirs"}) {
      const fs::path interp = tmp.path / who;
      harness::writeFile(interp, std::string("#!/bin/sh\necho ") + who + "\n");
      fs::permissions(interp, fs::perms::owner_all | fs::perms::group_read |
                                  fs::perms::group_exec | fs::perms::others_read |
                                  fs::perms::others_exec);
    }
    program = tmp.path / "program";
    harness::writeFile(program, "BFTEST\n");
    fs::permissions(program, fs::perms::owner_all);
  }
  std::string interp(const char* who) const { return (tmp.path / who).string(); }

  // Which interpreter the kernel picks for the program now ("" when none: ENOEXEC).
  std::string whoRuns() const {
    auto r = run({program.string()});
    if (r.execErrno != 0) return "";
    return r.out.substr(0, r.out.find('\n'));
  }
};

void writeConfig(const harness::Daemon& d, const std::string& json) {
  harness::writeFile(d.configDir() / "binfmtd.json", json);
}

std::string handler(const std::string& name, const std::string& interp,
                    const std::string& extra = "") {
  return R"({"name":")" + name + R"(","magic":"BFTEST","interpreter":")" + interp + "\"" +
         extra + "}";
}

nlohmann::json show(const std::string& name) {
  auto r = ctl({"show", name, "--json"});
  INFO(r.err);
  REQUIRE(r.exitCode == 0);
  return nlohmann::json::parse(r.out);
}

std::size_t count(const std::string& text, const std::string& what) {
  std::size_t n = 0;
  for (auto at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
  return n;
}

// Measures how long `check` takes to come true, for the log (the benchmark has the figures).
bool within(const std::function<bool()>& check, const char* what) {
  const auto start = std::chrono::steady_clock::now();
  const bool ok = harness::waitFor(check, 10s);
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                      std::chrono::steady_clock::now() - start).count();
  WARN(what << ": " << (ok ? "repaired after " : "NOT repaired after ") << ms << " ms");
  return ok;
}

// The daemon logs a repair right after making it: wait for the line.
bool logSays(const harness::Daemon& daemon, const std::string& line) {
  return harness::waitFor([&] { return daemon.log().find(line) != std::string::npos; });
}

// Leaves the private instance empty and enabled for the next test case.
void cleanInstance() {
  if (!fs::exists(binfmt("status"))) {
    REQUIRE(::mount("binfmt_misc", harness::Daemon::binfmtDir().c_str(), "binfmt_misc", 0,
                    nullptr) == 0);
  }
  harness::writeKernelFile("status", "-1");
  harness::writeKernelFile("status", "1");
}

}  // namespace

TEST_CASE("healing: what other programs do to binfmtd's entries is undone") {
  cleanInstance();
  Fixture f;
  harness::TestBus bus;
  harness::Daemon daemon(f.tmp.path / "root");
  writeConfig(daemon, R"({"handlers":[)" + handler("alpha", f.interp("alpha")) + "]}");
  daemon.start();
  REQUIRE(f.whoRuns() == "alpha");
  harness::registerEntry(":someone-else:E::foreign::/bin/cat:");

  SECTION("the whole table flushed (-1 to status)") {
    harness::writeKernelFile("status", "-1");
    CHECK_FALSE(registered("alpha"));
    CHECK(within([] { return registered("alpha"); }, "flush"));
    CHECK(f.whoRuns() == "alpha");
    CHECK(logSays(daemon, "Repaired alpha: registered (removed by another program)"));
    CHECK_FALSE(registered("someone-else"));  // theirs is gone too, and not ours to restore
  }
  SECTION("the entry removed") {
    harness::writeKernelFile("alpha", "-1");
    CHECK(within([] { return registered("alpha"); }, "removal"));
    CHECK(registered("someone-else"));
  }
  SECTION("the entry replaced by another definition") {
    harness::writeKernelFile("alpha", "-1");
    harness::registerEntry(":alpha:M::BFTEST::" + f.interp("theirs") + ":");
    CHECK(within([&] { return entryText("alpha").find(f.interp("alpha")) != std::string::npos; },
                 "replacement"));
    CHECK(f.whoRuns() == "alpha");
    CHECK(logSays(daemon, "changed by another program"));
  }
  SECTION("the entry disabled") {
    harness::writeKernelFile("alpha", "0");
    CHECK(within([] { return entryText("alpha").rfind("enabled\n", 0) == 0; }, "disable"));
  }
  SECTION("binfmt_misc unmounted and mounted again (every entry gone)") {
    REQUIRE(::umount2(harness::Daemon::binfmtDir().c_str(), 0) == 0);
    REQUIRE(::mount("binfmt_misc", harness::Daemon::binfmtDir().c_str(), "binfmt_misc", 0,
                    nullptr) == 0);
    CHECK(within([] { return registered("alpha"); }, "unmount and remount"));
    CHECK(f.whoRuns() == "alpha");
  }
  SECTION("binfmt_misc unmounted and left so: binfmtd mounts it again") {
    REQUIRE(::umount2(harness::Daemon::binfmtDir().c_str(), 0) == 0);
    CHECK(within([] { return registered("alpha"); }, "unmount"));
  }
  SECTION("binfmt_misc disabled as a whole: reported, not overridden") {
    harness::writeKernelFile("status", "0");
    CHECK(logSays(daemon, "binfmt_misc is disabled as a whole"));
    CHECK(harness::readFile(binfmt("status")) == "disabled\n");
    auto s = nlohmann::json::parse(ctl({"status", "--json"}).out);
    CHECK(s["GlobalEnabled"] == false);
    harness::writeKernelFile("status", "1");
  }
  SECTION("binfmt_misc disabled as a whole, with \"globalStatus\": \"enable\"") {
    writeConfig(daemon, R"({"healing":{"globalStatus":"enable"},"handlers":[)" +
                            handler("alpha", f.interp("alpha")) + "]}");
    REQUIRE(ctl({"reload"}).exitCode == 0);
    harness::writeKernelFile("status", "0");
    CHECK(within([] { return harness::readFile(binfmt("status")) == "enabled\n"; },
                 "global disable"));
  }
  daemon.stop();
}

TEST_CASE("healing: repairs and problems are announced with the Repaired signal") {
  cleanInstance();
  Fixture f;
  harness::TestBus bus;
  harness::Daemon daemon(f.tmp.path / "root");
  writeConfig(daemon, R"({"handlers":[)" + handler("alpha", f.interp("alpha")) + "]}");
  daemon.start();

  auto connection = sdbus::createSystemBusConnection();
  auto manager = sdbus::createProxy(*connection, "org.binfmtd.Binfmt1", "/org/binfmtd/Binfmt1");
  std::mutex lock;
  std::vector<std::string> changes, problems;
  manager->uponSignal("Repaired")
      .onInterface("org.binfmtd.Binfmt1.Manager")
      .call([&](const std::vector<std::string>& c, const std::vector<std::string>& p) {
        std::lock_guard<std::mutex> guard(lock);
        changes.insert(changes.end(), c.begin(), c.end());
        problems.insert(problems.end(), p.begin(), p.end());
      });
  manager->finishRegistration();
  connection->enterEventLoopAsync();

  harness::writeKernelFile("alpha", "-1");
  CHECK(harness::waitFor([&] {
    std::lock_guard<std::mutex> guard(lock);
    return !changes.empty();
  }));
  harness::writeKernelFile("status", "0");
  CHECK(harness::waitFor([&] {
    std::lock_guard<std::mutex> guard(lock);
    return !problems.empty();
  }));
  harness::writeKernelFile("status", "1");
  connection->leaveEventLoop();
  std::lock_guard<std::mutex> guard(lock);
  CHECK(changes == std::vector<std::string>{"alpha: registered (removed by another program)"});
  REQUIRE(problems.size() == 1);
  CHECK(problems[0].rfind("binfmt_misc is disabled as a whole", 0) == 0);
  daemon.stop();
}

TEST_CASE("healing: off in the config, binfmtd leaves the kernel alone between reloads") {
  cleanInstance();
  Fixture f;
  harness::TestBus bus;
  harness::Daemon daemon(f.tmp.path / "root");
  writeConfig(daemon, R"({"healing":{"enabled":false},"handlers":[)" +
                          handler("alpha", f.interp("alpha")) + "]}");
  daemon.start();
  harness::writeKernelFile("alpha", "-1");
  std::this_thread::sleep_for(1500ms);  // longer than the default check interval
  CHECK_FALSE(registered("alpha"));
  REQUIRE(ctl({"reload"}).exitCode == 0);
  CHECK(registered("alpha"));
  daemon.stop();
}

// ListHandlers answers from its last reading while binfmt_misc is unchanged; whatever
// another program does to the table must show in the very next call all the same. With
// healing off, nothing but the call itself can bring the change to light.
TEST_CASE("ListHandlers: other programs' changes show in the very next call") {
  cleanInstance();
  Fixture f;
  harness::TestBus bus;
  harness::Daemon daemon(f.tmp.path / "root");
  writeConfig(daemon, R"({"healing":{"enabled":false},"handlers":[)" +
                          handler("alpha", f.interp("alpha")) + "]}");
  daemon.start();
  // What `binfmtctl list` says about one handler: absent, or "STATE enabled|disabled".
  auto listed = [](const std::string& name) -> std::string {
    auto r = ctl({"list", "--json"});
    INFO(r.err);
    REQUIRE(r.exitCode == 0);
    for (const auto& h : nlohmann::json::parse(r.out))
      if (h["name"] == name)
        return h["state"].get<std::string>() + (h["enabled"].get<bool>() ? " enabled" : " disabled");
    return "absent";
  };
  REQUIRE(listed("theirs") == "absent");
  REQUIRE(listed("alpha") == "registered enabled");

  harness::registerEntry(":theirs:M::BFTEST2::" + f.interp("theirs") + ":");
  CHECK(listed("theirs") == "registered enabled");
  harness::writeKernelFile("theirs", "0");
  CHECK(listed("theirs") == "disabled disabled");
  harness::writeKernelFile("theirs", "-1");
  CHECK(listed("theirs") == "absent");
  harness::writeKernelFile("alpha", "0");
  CHECK(listed("alpha").ends_with(" disabled"));

  // A mount change, seen through /proc/self/mountinfo rather than inotify.
  REQUIRE(::umount2(harness::Daemon::binfmtDir().c_str(), MNT_DETACH) == 0);
  CHECK(listed("alpha") == "missing disabled");
  daemon.stop();
  cleanInstance();
}

// binfmtctl's write of its drop-in is several inotify events (create, write, rename);
// the daemon reads the configuration again once for them, not once per event.
TEST_CASE("one change of a drop-in is one reconcile") {
  cleanInstance();
  Fixture f;
  harness::TestBus bus;
  harness::Daemon daemon(f.tmp.path / "root");
  writeConfig(daemon, R"({"handlers":[)" +
                          handler("mine", f.interp("alpha"), R"(,"enabled":false)") + "]}");
  daemon.start();
  const std::size_t before = daemon.log().size();
  REQUIRE(ctl({"enable", "mine"}).exitCode == 0);
  std::this_thread::sleep_for(300ms);  // longer than any event takes to arrive
  const std::string after = daemon.log().substr(before);
  INFO(after);
  CHECK(count(after, "Reconciling: configuration changed") == 1);
  CHECK(f.whoRuns() == "alpha");
  daemon.stop();
  cleanInstance();
}

TEST_CASE("healing: a program that keeps undoing an entry meets a back-off, not a loop") {
  cleanInstance();
  Fixture f;
  harness::TestBus bus;
  harness::Daemon daemon(f.tmp.path / "root");
  writeConfig(daemon, R"({"handlers":[)" + handler("alpha", f.interp("alpha")) + "]}");
  daemon.start();

  // The other program: whenever alpha is binfmtd's, it puts its own back, for 3 seconds.
  std::atomic<int> undone{0};
  const auto until = std::chrono::steady_clock::now() + 3s;
  std::thread fighter([&] {
    while (std::chrono::steady_clock::now() < until) {
      if (entryText("alpha").find(f.interp("alpha")) != std::string::npos) {
        try {
          harness::writeKernelFile("alpha", "-1");
          harness::registerEntry(":alpha:M::BFTEST::" + f.interp("theirs") + ":");
          ++undone;
        } catch (const std::exception&) {
          // binfmtd got there in between; try again
        }
      }
      std::this_thread::sleep_for(5ms);
    }
  });
  fighter.join();

  // Five repairs within 30 s start a 5 s hold: far fewer than a loop would make.
  const std::string log = daemon.log();
  const std::size_t repairs = count(log, "Repaired alpha");
  INFO(log);
  CHECK(repairs == 5);
  CHECK(undone.load() == static_cast<int>(repairs) + 1);
  CHECK(log.find("'alpha': it keeps being replaced by an entry with interpreter " +
                 f.interp("theirs")) != std::string::npos);
  auto h = show("alpha");
  CHECK(h["State"] == "conflict");
  CHECK(h["LastError"].get<std::string>().find(f.interp("theirs")) != std::string::npos);
  CHECK(f.whoRuns() == "theirs");

  // When the hold ends binfmtd tries once more; the other program has given up by now.
  CHECK(harness::waitFor([&] { return f.whoRuns() == "alpha"; }, 10s));
  CHECK(harness::waitFor([&] { return count(daemon.log(), "Repaired alpha") == 6; }));

  // Or the user decides: a reload retries at once.
  harness::writeKernelFile("alpha", "-1");
  harness::registerEntry(":alpha:M::BFTEST::" + f.interp("theirs") + ":");
  REQUIRE(ctl({"reload"}).exitCode == 0);
  CHECK(f.whoRuns() == "alpha");
  CHECK(show("alpha")["State"] == "registered");
  daemon.stop();
}

TEST_CASE("priorities decide which handler the kernel runs; foreign shadowing is reported") {
  cleanInstance();
  Fixture f;
  harness::TestBus bus;
  harness::Daemon daemon(f.tmp.path / "root");
  writeConfig(daemon, R"({"handlers":[)" + handler("alpha", f.interp("alpha"), R"(,"priority":1)") +
                          "," + handler("beta", f.interp("beta"), R"(,"priority":2)") + "]}");
  daemon.start();
  CHECK(f.whoRuns() == "beta");
  CHECK(show("alpha")["State"] == "standby");
  CHECK(show("beta")["State"] == "registered");

  SECTION("switching priorities is a flip of the enabled flags") {
    writeConfig(daemon, R"({"handlers":[)" + handler("alpha", f.interp("alpha"), R"(,"priority":3)") +
                            "," + handler("beta", f.interp("beta"), R"(,"priority":2)") + "]}");
    CHECK(harness::waitFor([&] { return f.whoRuns() == "alpha"; }));
    CHECK(show("beta")["State"] == "standby");
  }
  SECTION("a newer foreign entry for the same binaries: priority above 0 wins it back") {
    harness::registerEntry(":theirs:M::BFTEST::" + f.interp("theirs") + ":");
    CHECK(within([&] { return f.whoRuns() == "beta"; }, "shadowing"));
    CHECK(registered("theirs"));
    CHECK(logSays(daemon, "beta: registered again (shadowed by 'theirs'"));
  }
  SECTION("priority 0: the shadowing is reported, theirs keeps running") {
    writeConfig(daemon, R"({"handlers":[)" + handler("alpha", f.interp("alpha")) + "]}");
    REQUIRE(ctl({"reload"}).exitCode == 0);
    harness::registerEntry(":theirs:M::BFTEST::" + f.interp("theirs") + ":");
    CHECK(harness::waitFor([&] { return show("alpha")["State"] == "shadowed"; }));
    auto h = show("alpha");
    CHECK(h["ShadowedBy"] == "theirs");
    CHECK(h["LastError"].get<std::string>().find("\"priority\" above 0") != std::string::npos);
    CHECK(f.whoRuns() == "theirs");
    auto status = ctl({"status"});
    CHECK(status.out.find("shadowed: alpha") != std::string::npos);
  }
  daemon.stop();
}

TEST_CASE("a foreign entry with binfmtd's name: \"foreign\" says keep or adopt") {
  cleanInstance();
  Fixture f;
  harness::TestBus bus;
  harness::registerEntry(":alpha:M::BFTEST::" + f.interp("theirs") + ":");
  harness::Daemon daemon(f.tmp.path / "root");
  writeConfig(daemon, R"({"handlers":[)" + handler("alpha", f.interp("alpha")) + "]}");
  daemon.start();
  CHECK(show("alpha")["State"] == "conflict");
  CHECK(show("alpha")["Ownership"] == "foreign");
  CHECK(f.whoRuns() == "theirs");

  writeConfig(daemon, R"({"handlers":[)" +
                          handler("alpha", f.interp("alpha"), R"(,"foreign":"adopt")") + "]}");
  CHECK(harness::waitFor([&] { return f.whoRuns() == "alpha"; }));
  CHECK(show("alpha")["Ownership"] == "owned");
  daemon.stop();
}

TEST_CASE("binfmtctl plan shows what a reconcile would do, and does nothing") {
  cleanInstance();
  Fixture f;
  harness::TestBus bus;
  harness::Daemon daemon(f.tmp.path / "root");
  // Healing off, so that the disturbance below stays until someone reconciles.
  writeConfig(daemon, R"({"healing":{"enabled":false},"handlers":[)" +
                          handler("alpha", f.interp("alpha")) + "," +
                          handler("beta", f.interp("beta"), R"(,"priority":5)") + "]}");
  daemon.start();
  harness::writeKernelFile("alpha", "1");  // stands by for beta: someone enables it
  harness::writeKernelFile("beta", "-1");
  harness::registerEntry(":gamma:E::gamma::/bin/cat:");

  auto r = ctl({"plan", "--json"});
  INFO(r.err);
  REQUIRE(r.exitCode == 0);
  CHECK(nlohmann::json::parse(r.out) ==
        nlohmann::json::parse(R"([
          {"action":"disable","name":"alpha",
           "reason":"standing by for 'beta', which has a higher priority"},
          {"action":"register","name":"beta","reason":"removed by another program"}])"));
  CHECK_FALSE(registered("beta"));  // a dry run
  auto text = ctl({"plan"});
  CHECK(text.out.find("register beta  removed by another program") != std::string::npos);

  REQUIRE(ctl({"reload"}).exitCode == 0);
  CHECK(ctl({"plan"}).out == "Nothing to do: the kernel matches the configuration.\n");
  CHECK(f.whoRuns() == "beta");
  daemon.stop();
}

TEST_CASE("1,000 custom handlers apply, and the next apply writes nothing") {
  cleanInstance();
  harness::TempDir tmp;
  harness::Daemon daemon(tmp.path / "root");
  std::string json = R"({"handlers":[)";
  for (int i = 0; i < 1000; ++i) {
    const std::string n = std::to_string(10000 + i).substr(1);
    json += std::string(i ? "," : "") + R"({"name":"h)" + n + R"(","extension":"e)" + n +
            R"(","interpreter":"/bin/cat"})";
  }
  writeConfig(daemon, json + "]}");
  std::vector<std::string> apply = daemon.arguments();
  apply.insert(apply.begin() + 1, "--apply");

  auto timed = [&](const char* what) {
    const auto start = std::chrono::steady_clock::now();
    auto r = run(apply);
    const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                        std::chrono::steady_clock::now() - start).count();
    WARN(what << ": " << ms << " ms");
    return r;
  };
  auto first = timed("apply 1,000 handlers");
  INFO(first.err.substr(first.err.size() > 2000 ? first.err.size() - 2000 : 0));
  REQUIRE(first.exitCode == 0);
  CHECK(first.err.find("Reconciled: ok, 1000 write(s)") != std::string::npos);
  std::size_t entries = 0;
  for (const auto& e : fs::directory_iterator(harness::Daemon::binfmtDir()))
    entries += e.path().filename().string().rfind('h', 0) == 0;
  CHECK(entries == 1000);

  auto again = timed("no-op apply over 1,000 handlers");
  REQUIRE(again.exitCode == 0);
  CHECK(again.err.find("Reconciled: ok, 0 write(s)") != std::string::npos);
  cleanInstance();
}
