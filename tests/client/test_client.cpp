// libbinfmtd-client on a private bus: its records decoded from a stand-in binfmtd that
// reports odd states (an unknown state, an older binfmtd's missing properties), and from
// the real daemon in a private binfmt_misc instance: blocking calls, non-blocking calls and
// typed signals delivered from its own poll loop without threads, errors, binfmtd going
// away and coming back. And binfmtctl, which uses it, on issue 12's points 7 and 8: status
// does not count inactive or standby handlers as "not as configured", and import
// --from=kernel --all and doctor agree on what is in the kernel.
#include <sys/mount.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <set>

#include "binfmtd-client/client.hpp"
#include "binfmtd-client/glib_source.hpp"
#include "harness/harness.hpp"

namespace fs = std::filesystem;
namespace client = binfmtd::client;
using binfmtd::HandlerState;
using binfmtd::Ownership;
using harness::ctl;

namespace {

constexpr const char* kManager = "org.binfmtd.Binfmt1.Manager";
constexpr const char* kHandler = "org.binfmtd.Binfmt1.Handler";

fs::path binfmt(const std::string& name) { return harness::Daemon::binfmtDir() / name; }

// The private instance, mounted and empty (the test cases share it).
void cleanInstance() {
  if (!fs::exists(binfmt("status")))
    REQUIRE(::mount("binfmt_misc", harness::Daemon::binfmtDir().c_str(), "binfmt_misc", 0,
                    nullptr) == 0);
  harness::writeKernelFile("status", "-1");
  harness::writeKernelFile("status", "1");
}

// A stand-in for binfmtd on the test bus, serving the given handlers as ListHandlers and
// as ObjectManager objects. `verification` false: a binfmtd from before verified emulation.
struct FakeHandler {
  std::string name, ownership, state;
  bool enabled = false;
  bool verification = true;
};

class FakeBinfmtd {
 public:
  explicit FakeBinfmtd(std::vector<FakeHandler> handlers) {
    // Sorted by name, as binfmtd's ListHandlers is.
    std::sort(handlers.begin(), handlers.end(),
              [](const auto& a, const auto& b) { return a.name < b.name; });
    using Record = sdbus::Struct<std::string, std::string, std::string, std::string, std::string,
                                 bool, sdbus::ObjectPath>;
    bus_ = sdbus::createSystemBusConnection();
    manager_ = sdbus::createObject(*bus_, "/org/binfmtd/Binfmt1");
    std::vector<Record> records;
    for (const auto& h : handlers) {
      const sdbus::ObjectPath path("/org/binfmtd/Binfmt1/handler/" + h.name);
      records.emplace_back(h.name, "", "/bin/cat", h.ownership, h.state, h.enabled, path);
      auto object = sdbus::createObject(*bus_, path);
      prop(*object, kHandler, "Name", h.name);
      prop(*object, kHandler, "Interpreter", std::string("/bin/cat"));
      prop(*object, kHandler, "Flags", std::string(""));
      prop(*object, kHandler, "Type", std::string("extension"));
      prop(*object, kHandler, "Extension", "bf" + h.name);
      prop(*object, kHandler, "Ownership", h.ownership);
      prop(*object, kHandler, "State", h.state);
      prop(*object, kHandler, "Enabled", h.enabled);
      if (h.verification) prop(*object, kHandler, "Verification", std::string("no-probe"));
      handlers_.push_back(std::move(object));
    }
    manager_->registerMethod("ListHandlers").onInterface(kManager).implementedAs([records] {
      return records;
    });
    prop(*manager_, kManager, "Version", std::string("0-fake"));
    prop(*manager_, kManager, "LastReconcileResult", std::string("ok"));
    prop(*manager_, kManager, "ConfigErrors", std::vector<std::string>{});
    manager_->addObjectManager();
    manager_->finishRegistration();
    for (auto& o : handlers_) o->finishRegistration();
    bus_->requestName("org.binfmtd.Binfmt1");
    bus_->enterEventLoopAsync();
  }
  ~FakeBinfmtd() {
    bus_->releaseName("org.binfmtd.Binfmt1");
    bus_->leaveEventLoop();
  }

 private:
  template <typename T>
  static void prop(sdbus::IObject& o, const char* iface, const char* name, T value) {
    o.registerProperty(name).onInterface(iface).withGetter([value] { return value; });
  }
  std::unique_ptr<sdbus::IConnection> bus_;
  std::unique_ptr<sdbus::IObject> manager_;
  std::vector<std::unique_ptr<sdbus::IObject>> handlers_;
};

// Dispatches the client's bus until `done` or 10 s.
bool pump(client::Client& c, const std::function<bool()>& done) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (!done()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    c.waitAndDispatch(std::chrono::milliseconds(100));
  }
  return true;
}

std::set<std::string> namesIn(const nlohmann::json& list, const char* key = "name") {
  std::set<std::string> names;
  for (const auto& x : list) names.insert(x.at(key).get<std::string>());
  return names;
}

// Three custom handlers run by /bin/cat: alpha and beta for the same extension (beta's
// priority wins, alpha stands by), gamma disabled in the configuration.
void writeConfig(const harness::Daemon& d) {
  harness::writeFile(d.configDir() / "binfmtd.json", R"({"handlers": [
    {"name": "alpha", "extension": "bfprio", "interpreter": "/bin/cat", "priority": 1},
    {"name": "beta", "extension": "bfprio", "interpreter": "/bin/cat", "priority": 2},
    {"name": "gamma", "extension": "bfgamma", "interpreter": "/bin/cat", "enabled": false}
  ]})");
}

// binfmtd with that configuration, on a private bus, in the emptied private instance.
struct Running {
  harness::TempDir tmp;
  harness::TestBus bus;
  harness::Daemon daemon{tmp.path / "root"};

  Running() {
    cleanInstance();
    writeConfig(daemon);
    daemon.start();
  }
  ~Running() { daemon.stop(); }
};

}  // namespace

TEST_CASE("client records from a stand-in binfmtd with odd states") {
  harness::TestBus bus;
  FakeBinfmtd fake({{"standing", "owned", "standby", false},
                    {"off", "owned", "inactive", false},
                    {"theirs", "foreign", "disabled", false},
                    {"future", "owned", "frobnicated", true, false}});
  client::Client c;
  CHECK(c.daemonRunning());
  const auto summaries = c.listHandlers();
  const auto handlers = c.handlers();
  REQUIRE(summaries.size() == 4);
  REQUIRE(handlers.size() == 4);
  // Both listings decode to the same records, sorted by name.
  for (std::size_t i = 0; i < summaries.size(); ++i) {
    INFO(summaries[i].name);
    CHECK(summaries[i].name == handlers[i].name);
    CHECK(summaries[i].state == handlers[i].state);
    CHECK(summaries[i].ownership == handlers[i].ownership);
    CHECK(summaries[i].enabled == handlers[i].enabled);
    CHECK(summaries[i].objectPath == handlers[i].objectPath);
    CHECK(summaries[i].inKernel() == handlers[i].inKernel());
  }
  const auto& future = handlers[0];
  CHECK(future.name == "future");
  CHECK(future.state == HandlerState::Unknown);
  CHECK(future.inKernel());  // enabled: the kernel has it
  CHECK_FALSE(future.asConfigured());
  CHECK_FALSE(future.verification.has_value());  // an older binfmtd: no Verification
  CHECK(future.extensionMatch);
  CHECK(handlers[1].name == "off");
  CHECK_FALSE(handlers[1].inKernel());
  CHECK(handlers[1].asConfigured());
  CHECK(handlers[2].name == "standing");
  CHECK(handlers[2].inKernel());
  CHECK(handlers[2].asConfigured());
  CHECK(handlers[2].verification == binfmtd::Verification::NoProbe);
  CHECK(handlers[3].foreign());
  CHECK(handlers[3].inKernel());
  CHECK(c.manager().version == "0-fake");

  // binfmtctl: only the handler in an unknown state is not as configured; the standby one
  // is imported from the kernel with --all, the inactive one is not.
  auto status = ctl({"status"});
  INFO(status.out << status.err);
  CHECK(status.out.find("handlers: 3 owned by binfmtd (1 not as configured), 1 foreign") !=
        std::string::npos);
  CHECK(status.out.find("      unknown: future") != std::string::npos);
  auto imported = ctl({"import", "--from=kernel", "--all"});
  INFO(imported.err);
  REQUIRE(imported.exitCode == 0);
  CHECK(namesIn(nlohmann::json::parse(imported.out).at("handlers")) ==
        std::set<std::string>{"future", "standing", "theirs"});
}

TEST_CASE("client against the real binfmtd: calls, async calls, signals, errors, restarts") {
  Running running;
  harness::Daemon& daemon = running.daemon;

  client::Client c;
  const client::Manager m = c.manager();
  CHECK(m.binfmtMiscPath == harness::Daemon::binfmtDir().string());
  CHECK(m.mounted);
  CHECK(m.lastReconcileResult == binfmtd::ReconcileResult::Ok);
  CHECK_FALSE(m.version.empty());

  const auto handlers = c.handlers();
  REQUIRE(handlers.size() == 3);
  const client::Handler &alpha = handlers[0], &beta = handlers[1], &gamma = handlers[2];
  CHECK(alpha.name == "alpha");
  CHECK(alpha.state == HandlerState::Standby);
  CHECK_FALSE(alpha.enabled);
  CHECK(alpha.inKernel());
  CHECK(fs::exists(binfmt("alpha")));  // the definition agrees with the kernel
  CHECK(alpha.asConfigured());
  CHECK(alpha.priority == 1);
  CHECK(alpha.extensionMatch);
  CHECK(alpha.extension == "bfprio");
  CHECK(beta.state == HandlerState::Registered);
  CHECK(beta.inKernel());
  CHECK(gamma.state == HandlerState::Inactive);
  CHECK_FALSE(gamma.inKernel());
  CHECK_FALSE(fs::exists(binfmt("gamma")));
  CHECK(gamma.asConfigured());
  CHECK(gamma.sourceFile.find("binfmtd.json:") != std::string::npos);
  const auto summaries = c.listHandlers();
  REQUIRE(summaries.size() == 3);
  for (std::size_t i = 0; i < 3; ++i) {
    CHECK(summaries[i].name == handlers[i].name);
    CHECK(summaries[i].state == handlers[i].state);
    CHECK(summaries[i].objectPath == handlers[i].objectPath);
  }
  CHECK(c.handler(alpha.objectPath).state == HandlerState::Standby);
  CHECK(c.findHandler("beta") == beta.objectPath);
  CHECK(c.findHandler("aarch64") == std::nullopt);  // no handler configured for it
  CHECK(c.plan().empty());
  const auto archs = c.architectures();
  CHECK(std::any_of(archs.begin(), archs.end(),
                    [](const auto& a) { return a.name == "aarch64" && a.answersTo("arm64"); }));

  client::CheckRequest request;
  request.path = "/bin/true";
  const std::string elf = harness::readFile("/bin/true").substr(0, 256);
  request.header.assign(elf.begin(), elf.end());
  request.size = fs::file_size("/bin/true");
  CHECK(c.check(request).verdict == "native");

  // A domain error, with its code and exit status.
  try {
    c.enable({"arm65"}, {false, false});
    FAIL("enable arm65 succeeded");
  } catch (const client::Error& e) {
    CHECK(e.kind() == client::ErrorKind::Domain);
    CHECK(e.code() == binfmtd::Errc::NoSuchHandler);
    CHECK(e.exitCode() == 5);
  }

  // Signals and non-blocking calls, delivered from the client's own loop.
  std::vector<client::PropertiesChange> changes;
  std::vector<std::string> added, removed;
  std::vector<client::Repair> repairs;
  std::vector<client::OwnerChange> owners;
  auto s1 = c.onPropertiesChanged([&](const auto& ch) { changes.push_back(ch); });
  auto s2 = c.onHandlerAdded([&](const client::Handler& h) { added.push_back(h.name); });
  auto s3 = c.onHandlerRemoved([&](const client::HandlerRemoved& r) { removed.push_back(r.name); });
  auto s4 = c.onRepaired([&](const client::Repair& r) { repairs.push_back(r); });
  auto s5 = c.onOwnerChanged([&](const client::OwnerChange& o) { owners.push_back(o); });

  std::optional<std::vector<client::Change>> enabled;
  c.enableAsync({"gamma"}, {false, false},
                [&](std::vector<client::Change> v, const client::Error* e) {
                  CHECK(e == nullptr);
                  enabled = std::move(v);
                });
  REQUIRE(pump(c, [&] { return enabled.has_value(); }));
  REQUIRE(enabled->size() == 1);
  CHECK(enabled->front().line.handler == "gamma");
  CHECK(enabled->front().line.kind == binfmtd::ChangeKind::Registered);
  CHECK(fs::exists(binfmt("gamma")));
  const auto gammaRegistered = [&] {
    for (const auto& ch : changes)
      if (ch.target == client::Target::Handler && ch.objectPath == gamma.objectPath &&
          ch.changed.count("State") && ch.changed.at("State").get<std::string>() == "registered")
        return true;
    return false;
  };
  CHECK(pump(c, gammaRegistered));
  CHECK(pump(c, [&] {
    for (const auto& ch : changes)
      if (ch.target == client::Target::Manager) return true;
    return false;
  }));

  std::optional<client::Error> refused;
  c.disableAsync({"arm65"}, {false, false},
                 [&](std::vector<client::Change> v, const client::Error* e) {
                   CHECK(v.empty());
                   if (e != nullptr) refused = *e;
                 });
  REQUIRE(pump(c, [&] { return refused.has_value(); }));
  CHECK(refused->code() == binfmtd::Errc::NoSuchHandler);

  int answered = 0;
  c.managerAsync([&](client::Manager v, const client::Error* e) {
    CHECK(e == nullptr);
    CHECK(v.mounted);
    ++answered;
  });
  c.handlersAsync([&](std::vector<client::Handler> v, const client::Error* e) {
    CHECK(e == nullptr);
    CHECK(v.size() == 3);
    ++answered;
  });
  c.architecturesAsync([&](std::vector<client::Architecture> v, const client::Error* e) {
    CHECK(e == nullptr);
    CHECK_FALSE(v.empty());
    ++answered;
  });
  c.verifyAsync({"beta"}, [&](std::vector<client::VerifyResult> v, const client::Error* e) {
    CHECK(e == nullptr);
    REQUIRE(v.size() == 1);
    CHECK(v[0].verification == binfmtd::Verification::NoProbe);  // a custom handler
    ++answered;
  });
  c.checkAsync(request, [&](client::CheckResult r, const client::Error* e) {
    CHECK(e == nullptr);
    CHECK(r.runs());
    ++answered;
  });
  c.reloadAsync({false, false}, [&](std::vector<client::Change> v, const client::Error* e) {
    CHECK(e == nullptr);
    CHECK(v.empty());  // nothing changed
    ++answered;
  });
  auto cancelled = c.managerAsync(
      [&](client::Manager, const client::Error*) { FAIL("a cancelled call's callback ran"); });
  CHECK(cancelled.pending());
  cancelled.cancel();
  REQUIRE(pump(c, [&] { return answered == 6; }));

  // A foreign entry comes and goes (binfmtd publishes other programs' entries when it next
  // reads the kernel: here the read call); another program removes binfmtd's: repaired.
  harness::registerEntry(":theirs:E::bftheirs::/bin/cat:");
  CHECK(c.listHandlers().size() == 4);
  CHECK(pump(c, [&] { return std::count(added.begin(), added.end(), "theirs") == 1; }));
  harness::writeKernelFile("theirs", "-1");
  CHECK(c.listHandlers().size() == 3);
  CHECK(pump(c, [&] { return std::count(removed.begin(), removed.end(), "theirs") == 1; }));
  harness::writeKernelFile("beta", "-1");
  CHECK(pump(c, [&] {
    for (const auto& r : repairs)
      for (const auto& ch : r.changes)
        if (ch.line.handler == "beta" && ch.line.kind == binfmtd::ChangeKind::Registered)
          return true;
    return false;
  }));

  // binfmtd goes away: the owner change, then the one "not reachable" error; it comes back.
  daemon.stop();
  CHECK(pump(c, [&] { return !owners.empty(); }));
  CHECK(owners.at(0).kind() == client::OwnerChange::Kind::Stopped);
  CHECK_FALSE(c.daemonRunning());
  try {
    c.listHandlers();
    FAIL("listHandlers succeeded without binfmtd");
  } catch (const client::Error& e) {
    CHECK(e.kind() == client::ErrorKind::NoDaemon);
    CHECK(e.exitCode() == 3);
  }
  daemon.start();
  CHECK(pump(c, [&] { return owners.size() == 2; }));
  CHECK(owners.at(1).kind() == client::OwnerChange::Kind::Started);
  CHECK(c.handlers().size() == 3);
}

TEST_CASE("no system bus: the client says so, binfmtctl exits with 3") {
  harness::TempDir tmp;
  const std::string address = "unix:path=" + (tmp.path / "nothing").string();
  ::setenv("DBUS_SYSTEM_BUS_ADDRESS", address.c_str(), 1);
  try {
    client::Client c;
    FAIL("connected to a bus that does not exist");
  } catch (const client::Error& e) {
    CHECK(e.kind() == client::ErrorKind::NoBus);
    CHECK(std::string(e.what()).rfind("cannot reach the system bus: ", 0) == 0);
  }
  harness::RunOptions o;
  o.env.push_back("DBUS_SYSTEM_BUS_ADDRESS=" + address);
  auto r = ctl({"list"}, o);
  CHECK(r.exitCode == 3);
  CHECK(r.err.rfind("binfmtctl: cannot reach the system bus: ", 0) == 0);
  ::unsetenv("DBUS_SYSTEM_BUS_ADDRESS");
}

// The desktop program's way: the client's replies and signals as events of a GLib main
// loop, on its one thread.
TEST_CASE("client in a GLib main loop, without threads") {
  Running running;
  const auto threads = [] {
    return std::distance(fs::directory_iterator("/proc/self/task"), fs::directory_iterator());
  };
  REQUIRE(threads() == 1);

  client::Client c;
  GMainLoop* loop = g_main_loop_new(nullptr, FALSE);
  GSource* source = client::attachToGlib(c);
  bool changed = false, enabledGamma = false;
  long threadsInCallback = 0;
  auto sub = c.onPropertiesChanged([&](const client::PropertiesChange& ch) {
    if (ch.target == client::Target::Handler && ch.changed.count("State") &&
        ch.changed.at("State").get<std::string>() == "registered")
      changed = true;
    if (changed && enabledGamma) g_main_loop_quit(loop);
  });
  c.enableAsync({"gamma"}, {false, false},
                [&](std::vector<client::Change> v, const client::Error* e) {
                  CHECK(e == nullptr);
                  enabledGamma = v.size() == 1 && v[0].line.handler == "gamma";
                  threadsInCallback = threads();
                  if (changed && enabledGamma) g_main_loop_quit(loop);
                });
  const guint guard = g_timeout_add_seconds(
      10, [](gpointer l) { return g_main_loop_quit(static_cast<GMainLoop*>(l)), G_SOURCE_REMOVE; },
      loop);
  g_main_loop_run(loop);
  CHECK(enabledGamma);
  CHECK(changed);
  CHECK(threadsInCallback == 1);
  if (GSource* g = g_main_context_find_source_by_id(nullptr, guard)) g_source_destroy(g);
  g_source_destroy(source);
  g_source_unref(source);
  g_main_loop_unref(loop);
}

// Issue 12, points 7 and 8, with the real daemon and binfmtctl.
TEST_CASE("binfmtctl status, import --from=kernel --all and doctor agree on the kernel") {
  Running running;

  // 7: gamma is disabled in the configuration and absent from the kernel, alpha stands by
  // for beta: the kernel is exactly as configured.
  auto status = ctl({"status"});
  INFO(status.out << status.err);
  CHECK(status.exitCode == 0);
  CHECK(status.out.find("handlers: 3 owned by binfmtd (0 not as configured), 0 foreign") !=
        std::string::npos);
  // Standby is listed with its reason all the same (binfmtctl(1)); inactive is not.
  CHECK(status.out.find("      standby: alpha: standing by for 'beta'") != std::string::npos);
  CHECK(status.out.find("inactive:") == std::string::npos);

  // 8: alpha is registered (standing by, disabled): import --all takes it, as doctor
  // counts it, and both match what the kernel holds.
  std::set<std::string> kernel;
  for (const auto& e : fs::directory_iterator(harness::Daemon::binfmtDir()))
    if (e.path().filename() != "register" && e.path().filename() != "status")
      kernel.insert(e.path().filename());
  REQUIRE(kernel == std::set<std::string>{"alpha", "beta"});
  auto imported = ctl({"import", "--from=kernel", "--all"});
  INFO(imported.err);
  REQUIRE(imported.exitCode == 0);
  CHECK(namesIn(nlohmann::json::parse(imported.out).at("handlers")) == kernel);
  auto doctor = ctl({"doctor", "--json"});
  INFO(doctor.out);
  const auto d = nlohmann::json::parse(doctor.out);
  CHECK(namesIn(d.at("local").at("entries")) == kernel);
  for (const auto& p : d.at("problems"))
    CHECK(p.at("text").get<std::string>().find("not the same binfmt_misc table") ==
          std::string::npos);
}
