// The D-Bus contract, against the real daemon on a private system bus that uses the
// project's own policy file: introspection matches the XML, reads are open to everyone,
// changes need root, errors carry their names, and state changes are signalled.
#include <sdbus-c++/sdbus-c++.h>

#include <atomic>
#include <catch2/catch.hpp>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "harness/harness.hpp"

namespace fs = std::filesystem;
using harness::ctl;

namespace {

constexpr const char* kNobody = "65534";

// A custom handler needs no emulator: an extension entry run by /bin/cat.
void writeConfig(const harness::Daemon& d) {
  harness::writeFile(d.configDir() / "binfmtd.json", R"({
  "handlers": [
    { "name": "bfmtest", "extension": "bfmtest", "interpreter": "/bin/cat", "enabled": false }
  ]
})");
}

}  // namespace

TEST_CASE("the running daemon's introspection matches dbus/org.binfmtd.Binfmt1.xml") {
  harness::TempDir tmp;
  harness::TestBus bus;
  harness::Daemon daemon(tmp.path / "root");
  writeConfig(daemon);
  daemon.start();

  auto r = harness::run({"busctl", "--system", "introspect", "--xml-interface",
                         "org.binfmtd.Binfmt1", "/org/binfmtd/Binfmt1"});
  INFO(r.err);
  REQUIRE(r.exitCode == 0);
  const std::string xml = harness::readFile(INTERFACE_XML);
  auto live = harness::interfaceMembers(r.out, "org.binfmtd.Binfmt1.Manager");
  auto declared = harness::interfaceMembers(xml, "org.binfmtd.Binfmt1.Manager");
  REQUIRE_FALSE(declared.empty());
  CHECK(live == declared);
  CHECK(r.out.find("org.freedesktop.DBus.ObjectManager") != std::string::npos);

  auto h = harness::run({"busctl", "--system", "introspect", "--xml-interface",
                         "org.binfmtd.Binfmt1", "/org/binfmtd/Binfmt1/handler/bfmtest"});
  INFO(h.err);
  REQUIRE(h.exitCode == 0);
  auto handlerDeclared = harness::interfaceMembers(xml, "org.binfmtd.Binfmt1.Handler");
  REQUIRE_FALSE(handlerDeclared.empty());
  CHECK(harness::interfaceMembers(h.out, "org.binfmtd.Binfmt1.Handler") == handlerDeclared);
}

TEST_CASE("reads are open to everyone, changes need root") {
  harness::TempDir tmp;
  harness::TestBus bus;
  harness::Daemon daemon(tmp.path / "root");
  writeConfig(daemon);
  daemon.start();

  for (const char* read : {"status", "list", "archs", "plan"}) {
    auto r = ctl({read}, harness::asUser(kNobody));
    INFO(read << ": " << r.err);
    CHECK(r.exitCode == 0);
  }
  auto show = ctl({"show", "bfmtest"}, harness::asUser(kNobody));
  CHECK(show.exitCode == 0);
  CHECK(show.out.find("/bin/cat") != std::string::npos);

  for (std::vector<std::string> change : {std::vector<std::string>{"enable", "bfmtest"},
                                          {"disable", "bfmtest"},
                                          {"enable", "--runtime", "bfmtest"},
                                          {"reload"}}) {
    auto r = ctl(change, harness::asUser(kNobody));
    INFO(change[0] << ": " << r.err);
    CHECK(r.exitCode == 4);
    CHECK(r.err.find("requires root") != std::string::npos);
  }
  CHECK_FALSE(fs::exists(harness::Daemon::binfmtDir() / "bfmtest"));
  CHECK_FALSE(fs::exists(daemon.configDir() / "conf.d" / "50-binfmtctl.json"));

  // The same raw call through busctl gets the named error.
  auto raw = harness::run({"busctl", "--system", "call", "org.binfmtd.Binfmt1",
                           "/org/binfmtd/Binfmt1", "org.binfmtd.Binfmt1.Manager", "Enable",
                           "asa{sv}", "1", "bfmtest", "0"},
                          harness::asUser(kNobody));
  CHECK(raw.exitCode != 0);
  CHECK(raw.err.find("requires root") != std::string::npos);

  auto root = ctl({"enable", "bfmtest"});
  INFO(root.err);
  REQUIRE(root.exitCode == 0);
  CHECK(fs::exists(harness::Daemon::binfmtDir() / "bfmtest"));
  REQUIRE(ctl({"disable", "bfmtest"}).exitCode == 0);
  CHECK_FALSE(fs::exists(harness::Daemon::binfmtDir() / "bfmtest"));
}

TEST_CASE("errors carry their names, sentences and exit codes") {
  harness::TempDir tmp;
  harness::TestBus bus;
  harness::Daemon daemon(tmp.path / "root");
  writeConfig(daemon);
  daemon.start();

  auto unknown = ctl({"enable", "arm65"});
  CHECK(unknown.exitCode == 5);
  CHECK(unknown.err.find("'arm65'") != std::string::npos);

  auto native = ctl({"enable", "amd64"});
  CHECK(native.exitCode == 8);
  CHECK(native.err.find("native") != std::string::npos);

  // One bad name fails the whole call before anything is written.
  auto mixed = ctl({"enable", "bfmtest", "arm65"});
  CHECK(mixed.exitCode == 5);
  CHECK_FALSE(fs::exists(harness::Daemon::binfmtDir() / "bfmtest"));

  auto raw = harness::run({"busctl", "--system", "call", "org.binfmtd.Binfmt1",
                           "/org/binfmtd/Binfmt1", "org.binfmtd.Binfmt1.Manager", "Disable",
                           "asa{sv}", "1", "nope", "0"});
  CHECK(raw.exitCode != 0);
  CHECK(raw.err.find("neither a known architecture") != std::string::npos);

  auto usage = ctl({"frobnicate"});
  CHECK(usage.exitCode == 2);

  daemon.stop();
  auto down = ctl({"status"});
  CHECK(down.exitCode == 3);
  CHECK(down.err.find("binfmtd is not running") != std::string::npos);
}

TEST_CASE("handlers are objects with PropertiesChanged and ObjectManager signals") {
  harness::TempDir tmp;
  harness::TestBus bus;
  harness::Daemon daemon(tmp.path / "root");
  writeConfig(daemon);
  daemon.start();

  auto connection = sdbus::createSystemBusConnection();
  auto handler = sdbus::createProxy(*connection, "org.binfmtd.Binfmt1",
                                    "/org/binfmtd/Binfmt1/handler/bfmtest");
  std::atomic<int> stateChanges{0};
  handler->uponSignal("PropertiesChanged")
      .onInterface("org.freedesktop.DBus.Properties")
      .call([&](const std::string& iface, const std::map<std::string, sdbus::Variant>& changed,
                const std::vector<std::string>&) {
        if (iface == "org.binfmtd.Binfmt1.Handler" && changed.count("State") != 0) ++stateChanges;
      });
  handler->finishRegistration();
  connection->enterEventLoopAsync();

  REQUIRE(ctl({"enable", "bfmtest"}).exitCode == 0);
  CHECK(harness::waitFor([&] { return stateChanges.load() >= 1; }));

  sdbus::Variant value;
  handler->callMethod("Get")
      .onInterface("org.freedesktop.DBus.Properties")
      .withArguments("org.binfmtd.Binfmt1.Handler", "State")
      .storeResultsTo(value);
  CHECK(value.get<std::string>() == "registered");

  auto manager = sdbus::createProxy(*connection, "org.binfmtd.Binfmt1", "/org/binfmtd/Binfmt1");
  std::map<sdbus::ObjectPath, std::map<std::string, std::map<std::string, sdbus::Variant>>> objects;
  manager->callMethod("GetManagedObjects")
      .onInterface("org.freedesktop.DBus.ObjectManager")
      .storeResultsTo(objects);
  REQUIRE(objects.count(sdbus::ObjectPath("/org/binfmtd/Binfmt1/handler/bfmtest")) == 1);
  connection->leaveEventLoop();
}
