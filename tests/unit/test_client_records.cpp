// libbinfmtd-client without a bus: the one definition of "in the kernel" and of "as
// configured", the decoders of every reply (lenient with an older binfmtd's missing
// properties), the contract's string tables and change lines, and the one mapping of D-Bus
// errors to sentences and exit codes; the status file of a binfmtd without D-Bus, and the
// errors that say it runs so.
#include <fcntl.h>
#include <unistd.h>

#include <catch2/catch.hpp>

#include "binfmtd-client/error.hpp"
#include "binfmtd-client/no_bus.hpp"
#include "binfmtd-client/records.hpp"
#include "common/files.hpp"

using namespace binfmtd;
using namespace binfmtd::client;

namespace {

HandlerSummary summary(Ownership ownership, HandlerState state, bool enabled) {
  HandlerSummary h;
  h.ownership = ownership;
  h.state = state;
  h.enabled = enabled;
  return h;
}

sdbus::Variant v(const char* s) { return sdbus::Variant(std::string(s)); }

// Where the client looks for a bus-less binfmtd's status file, for one test.
struct StateDir {
  testfiles::TempDir dir;
  StateDir() { setenv("BINFMTD_STATE_DIR", dir.path.c_str(), 1); }
  ~StateDir() { unsetenv("BINFMTD_STATE_DIR"); }
  StateDir(const StateDir&) = delete;
  StateDir& operator=(const StateDir&) = delete;
};

// A status file as daemon/no_bus_frontend.cpp writes it.
constexpr const char* kNoBusStatus = R"({
  "pid": 812, "version": "0.1.0", "started": 1700000000000000, "updated": 1700000005000000,
  "binfmt_misc": "/proc/sys/fs/binfmt_misc",
  "config_dirs": ["/etc/binfmtd", "/run/binfmtd", "/usr/lib/binfmtd"],
  "state_dir": "/run/binfmtd", "mounted": true, "global_enabled": true,
  "config_files": ["/etc/binfmtd/binfmtd.json"], "config_errors": [],
  "last_reconcile": {"time": 1700000001000000, "result": "ok", "writes": 2, "errors": []},
  "handlers": [
    {"name": "WSLInterop", "architecture": "", "interpreter": "/init", "flags": "PF",
     "ownership": "foreign", "state": "registered", "enabled": true, "last_error": "",
     "verification": "no-probe", "verification_detail": "", "emulator_version": ""},
    {"name": "qemu-aarch64", "architecture": "aarch64",
     "interpreter": "/usr/bin/qemu-aarch64-static", "flags": "PF", "ownership": "owned",
     "state": "registered", "enabled": true, "last_error": "", "verification": "passed",
     "verification_detail": "ran the aarch64 probe", "emulator_version": "7.2.9",
     "newer_field": 1},
    {"name": "qemu-riscv64", "architecture": "riscv64",
     "interpreter": "/usr/bin/qemu-riscv64-static", "flags": "PF", "ownership": "owned",
     "state": "registered", "enabled": true, "last_error": "", "verification": "unverified",
     "verification_detail": "", "emulator_version": ""},
    {"name": "qemu-s390x", "architecture": "s390x", "interpreter": "", "flags": "",
     "ownership": "owned", "state": "missing", "enabled": false,
     "last_error": "no emulator", "verification": "unverified"}
  ]
})";

// Holds the lock on DIR/no-bus.json as a running `binfmtd --no-bus` does (an open file
// description lock, which another open of the file sees also in this process).
struct LockedStatusFile {
  int fd = -1;
  LockedStatusFile(const std::filesystem::path& dir, const std::string& text) {
    testfiles::writeFile(dir / "no-bus.json", text);
    fd = ::open((dir / "no-bus.json").c_str(), O_RDWR | O_CLOEXEC);
    struct flock lock {};
    lock.l_type = F_WRLCK;
    lock.l_whence = SEEK_SET;
    REQUIRE(fd >= 0);
    REQUIRE(::fcntl(fd, F_OFD_SETLK, &lock) == 0);
  }
  ~LockedStatusFile() { ::close(fd); }
  LockedStatusFile(const LockedStatusFile&) = delete;
  LockedStatusFile& operator=(const LockedStatusFile&) = delete;
};

}  // namespace

TEST_CASE("in the kernel: one definition, for every state binfmtd reports", "[client]") {
  struct Case {
    HandlerState state;
    bool enabled;
    bool inKernel;
  };
  // binfmtd's own handlers (Ownership "owned"); Enabled is what the kernel entry says.
  const Case owned[] = {
      {HandlerState::Registered, true, true},
      {HandlerState::Disabled, false, true},
      // Registered, kept disabled for a handler with a higher priority: import --from=kernel
      // --all skipped these (issue 12, point 8) while doctor counted them.
      {HandlerState::Standby, false, true},
      {HandlerState::Shadowed, true, true},
      {HandlerState::Inactive, false, false},
      {HandlerState::Missing, false, false},
      // An older definition still enabled in the kernel (a replacement that failed).
      {HandlerState::Missing, true, true},
      {HandlerState::Error, true, true},
      {HandlerState::Error, false, false},
      {HandlerState::Conflict, false, false},
  };
  for (const auto& c : owned) {
    INFO(toString(c.state) << " enabled=" << c.enabled);
    CHECK(summary(Ownership::Owned, c.state, c.enabled).inKernel() == c.inKernel);
  }
  // Foreign handlers exist only as kernel entries, whatever their state.
  for (auto state : {HandlerState::Registered, HandlerState::Disabled, HandlerState::Conflict})
    CHECK(summary(Ownership::Foreign, state, false).inKernel());
}

TEST_CASE("as configured: inactive and standby are, the problem states are not", "[client]") {
  // Disabled in the configuration and absent from the kernel is exactly as configured
  // (issue 12, point 7: status counted these as "not as configured").
  CHECK(summary(Ownership::Owned, HandlerState::Inactive, false).asConfigured());
  CHECK(summary(Ownership::Owned, HandlerState::Standby, false).asConfigured());
  CHECK(summary(Ownership::Owned, HandlerState::Registered, true).asConfigured());
  for (auto state : {HandlerState::Disabled, HandlerState::Shadowed, HandlerState::Missing,
                     HandlerState::Conflict, HandlerState::Error, HandlerState::Unknown})
    CHECK_FALSE(summary(Ownership::Owned, state, false).asConfigured());
  // Nobody configured a foreign entry: it is never counted as a problem of binfmtd's.
  CHECK(summary(Ownership::Foreign, HandlerState::Disabled, false).asConfigured());
}

TEST_CASE("the contract's string tables: D-Bus strings in, the same strings out", "[client]") {
  for (const auto& [value, name] : kHandlerStates.entries) {
    CHECK(kHandlerStates.parse(name) == value);
    CHECK(toString(value) == name);
  }
  CHECK(kHandlerStates.parse("frobnicated") == HandlerState::Unknown);
  CHECK(toString(HandlerState::Unknown) == "unknown");
  CHECK(kOwnerships.parse("owned") == Ownership::Owned);
  CHECK(kOwnerships.parse("foreign") == Ownership::Foreign);
  CHECK(kVerifications.parse("no-probe") == Verification::NoProbe);
  CHECK(toString(Verification::NoProbe) == "no-probe");
  CHECK(kReconcileResults.parse("") == ReconcileResult::None);
  CHECK(kReconcileResults.parse("partial") == ReconcileResult::Partial);
  CHECK(kReconcileResults.parse("later") == ReconcileResult::Unknown);
  static_assert(kChangeKinds.parse("registered again") == ChangeKind::RegisteredAgain);
}

TEST_CASE("change lines: taken apart and put together again", "[client]") {
  const auto c = parseChange("qemu-aarch64: registered (removed by another program)");
  CHECK(c.handler == "qemu-aarch64");
  CHECK(c.kind == ChangeKind::Registered);
  CHECK(c.reason == "removed by another program");
  CHECK(formatChange(c) == "qemu-aarch64: registered (removed by another program)");

  const auto nested = parseChange("beta: registered again (shadowed by 'theirs' (interpreter /x))");
  CHECK(nested.kind == ChangeKind::RegisteredAgain);
  CHECK(nested.reason == "shadowed by 'theirs' (interpreter /x)");

  CHECK(parseChange("alpha: removed").kind == ChangeKind::Removed);
  CHECK(parseChange("alpha: removed").reason.empty());

  const auto other = parseChange("binfmt_misc: enabled again (someone disabled it as a whole)");
  CHECK(other.handler == "binfmt_misc");
  CHECK(other.kind == ChangeKind::Other);
  CHECK(other.reason == "enabled again (someone disabled it as a whole)");
  CHECK(parseChange("no colon here").reason == "no colon here");
  CHECK(decodeChange("a: adopted (same)").text == "a: adopted (same)");
}

TEST_CASE(
    "GetManagedObjects: handler objects only, sorted by name, missing properties kept "
    "at their defaults",
    "[client]") {
  ManagedObjects objects;
  // Object paths sort differently from names: '-' is "_2d".
  objects[sdbus::ObjectPath("/org/binfmtd/Binfmt1/handler/qemu_2daarch64")]
         ["org.binfmtd.Binfmt1.Handler"] = {
             {"Name", v("qemu-aarch64")},
             {"State", v("standby")},
             {"Ownership", v("owned")},
             {"Enabled", sdbus::Variant(false)},
             {"Type", v("magic")},
             {"Magic", sdbus::Variant(std::vector<uint8_t>{0x7f, 'E'})},
             {"Priority", sdbus::Variant(int32_t{3})},
             {"Verification", v("passed")},
             {"FutureProperty", sdbus::Variant(uint32_t{7})}};
  // An older binfmtd: no Verification, no Platforms; and a property of an unexpected type.
  objects[sdbus::ObjectPath("/org/binfmtd/Binfmt1/handler/a")]["org.binfmtd.Binfmt1.Handler"] = {
      {"Name", v("a")},         {"State", v("registered")}, {"Ownership", v("foreign")},
      {"Type", v("extension")}, {"Extension", v("jar")},    {"Offset", v("not a number")}};
  objects[sdbus::ObjectPath("/org/binfmtd/Binfmt1")]["org.binfmtd.Binfmt1.Manager"] = {
      {"Name", v("not a handler")}};

  const auto handlers = decodeHandlers(objects);
  REQUIRE(handlers.size() == 2);
  const Handler& a = handlers[0];
  CHECK(a.name == "a");
  CHECK(a.foreign());
  CHECK(a.extensionMatch);
  CHECK(a.extension == "jar");
  CHECK(a.offset == 0);
  CHECK_FALSE(a.verification.has_value());
  CHECK(a.platforms.empty());
  CHECK(a.objectPath == "/org/binfmtd/Binfmt1/handler/a");

  const Handler& q = handlers[1];
  CHECK(q.name == "qemu-aarch64");
  CHECK(q.state == HandlerState::Standby);
  CHECK(q.inKernel());
  CHECK(q.asConfigured());
  CHECK(q.magic == std::vector<uint8_t>{0x7f, 'E'});
  CHECK(q.priority == 3);
  CHECK(q.verification == Verification::Passed);
  // Every property is kept for generic output, also one this library does not know.
  CHECK(q.properties.count("FutureProperty") == 1);

  // PropertiesChanged updates a record in place.
  Handler changed = q;
  changed.apply({{"State", v("registered")}, {"Enabled", sdbus::Variant(true)}});
  CHECK(changed.state == HandlerState::Registered);
  CHECK(changed.enabled);
  CHECK(changed.priority == 3);
  CHECK(changed.properties.at("State").get<std::string>() == "registered");
}

TEST_CASE("the other replies: manager, architectures, plan, verify, check", "[client]") {
  const Manager m = decodeManager({{"Version", v("9")},
                                   {"LastReconcileResult", v("partial")},
                                   {"ConfigErrors", sdbus::Variant(std::vector<std::string>{"x"})},
                                   {"LastReconcileTime", sdbus::Variant(uint64_t{5})}});
  CHECK(m.version == "9");
  CHECK(m.lastReconcileResult == ReconcileResult::Partial);
  CHECK(m.configErrors == std::vector<std::string>{"x"});
  CHECK(m.lastReconcileTime == 5);
  CHECK_FALSE(m.mounted);
  CHECK(decodeManager({}).lastReconcileResult == ReconcileResult::None);

  const std::vector<ArchitectureRecord> archs = {
      ArchitectureRecord(
          "aarch64", std::vector<std::string>{"arm64"}, "/usr/bin/qemu-aarch64", true, false,
          PropertyMap{{"handler", v("qemu-aarch64")}, {"configured", sdbus::Variant(true)}}),
      // Without the extra fields, as a binfmtd before them would send it.
      ArchitectureRecord("x86_64", std::vector<std::string>{"amd64"}, "", false, true,
                         PropertyMap{})};
  const auto decoded = decodeArchitectures(archs);
  REQUIRE(decoded.size() == 2);
  CHECK(decoded[0].handler == "qemu-aarch64");
  CHECK(decoded[0].configured);
  CHECK(decoded[0].isStatic);
  CHECK(decoded[0].answersTo("arm64"));
  CHECK(decoded[0].answersTo("aarch64"));
  CHECK_FALSE(decoded[0].answersTo("arm"));
  CHECK(decoded[0].ociPlatforms.empty());
  CHECK(decoded[1].native);
  CHECK(decoded[1].handler.empty());

  const auto plan = decodePlan({TripleRecord("register", "qemu-aarch64", "missing")});
  REQUIRE(plan.size() == 1);
  CHECK(plan[0].action == "register");
  CHECK(plan[0].handler == "qemu-aarch64");
  const auto verify = decodeVerifyResults({TripleRecord("qemu-arm", "failed", "it died")});
  CHECK(verify.at(0).verification == Verification::Failed);
  CHECK(verify.at(0).detail == "it died");

  const CheckResult check = decodeCheckResult(
      {{"verdict", v("handled")}, {"command", sdbus::Variant(std::vector<std::string>{"a", "b"})}});
  CHECK(check.runs());
  CHECK(check.command == std::vector<std::string>{"a", "b"});
  CHECK(check.fix.empty());
  CHECK_FALSE(decodeCheckResult({{"verdict", v("broken")}}).runs());

  CheckRequest request;
  request.hiddenInterpreter = "/usr/bin/qemu-arm";
  const PropertyMap options = checkOptions(request);
  CHECK(options.at("hidden-interpreter").get<std::string>() == "/usr/bin/qemu-arm");
  CHECK(options.count("binfmt-misc-entries") == 1);
  CHECK(checkOptions(CheckRequest{}).count("hidden-interpreter") == 0);

  CHECK(handlerNameFromPath("/org/binfmtd/Binfmt1/handler/qemu_2daarch64") == "qemu-aarch64");
  CHECK(handlerNameFromPath("/elsewhere") == "/elsewhere");
}

TEST_CASE("error names: errorName() and its inverse, on every entry of the table", "[client]") {
  for (const auto& e : kErrors) {
    const std::string name = errorName(e.code);
    CHECK(name == std::string(kErrorPrefix) + std::string(e.name));
    CHECK(errorFromName(name) == e.code);
  }
  CHECK(errorName(Errc::NoSuchHandler) == "org.binfmtd.Binfmt1.Error.NoSuchHandler");
  CHECK_FALSE(errorFromName("org.binfmtd.Binfmt1.Error.Newer").has_value());
  CHECK_FALSE(errorFromName("org.freedesktop.DBus.Error.AccessDenied").has_value());
  CHECK_FALSE(errorFromName("org.binfmtd").has_value());
}

TEST_CASE("D-Bus errors become one sentence and one exit code", "[client]") {
  StateDir noStatusFile;  // no binfmtd runs without D-Bus
  const Error gone = fromDbus(sdbus::Error("org.freedesktop.DBus.Error.ServiceUnknown", "x"));
  CHECK(gone.kind() == ErrorKind::NoDaemon);
  CHECK(gone.unreachable());
  CHECK(gone.exitCode() == 3);
  CHECK(std::string(gone.what()) ==
        "binfmtd is not running (nobody owns org.binfmtd.Binfmt1 on the system bus).\n"
        "Start it with: systemctl start binfmtd");
  CHECK(notRunningSentence(gone) ==
        "binfmtd is not running (nobody owns org.binfmtd.Binfmt1 on the system bus)");
  CHECK(fromDbus(sdbus::Error("org.freedesktop.DBus.Error.NameHasNoOwner", "x")).kind() ==
        ErrorKind::NoDaemon);

  const Error noBusError = noBus(sdbus::Error("sdbus.Error", "Failed to open bus"));
  CHECK(noBusError.exitCode() == 3);
  CHECK(std::string(noBusError.what()) == "cannot reach the system bus: Failed to open bus");
  CHECK(notRunningSentence(noBusError) ==
        "binfmtd is not running (cannot reach the system bus: Failed to open bus)");

  const Error policy = fromDbus(sdbus::Error("org.freedesktop.DBus.Error.AccessDenied", "no"));
  CHECK(policy.kind() == ErrorKind::BusDenied);
  CHECK(policy.exitCode() == 4);
  CHECK(std::string(policy.what()) == "permission denied by the bus policy: no");

  const Error domain =
      fromDbus(sdbus::Error(errorName(Errc::EmulatorNotFound), "install qemu-user-static"));
  CHECK(domain.kind() == ErrorKind::Domain);
  CHECK(domain.code() == Errc::EmulatorNotFound);
  CHECK(domain.exitCode() == 7);
  CHECK(std::string(domain.what()) == "install qemu-user-static");
  CHECK(domain.reason() == "install qemu-user-static");

  CHECK(fromDbus(sdbus::Error(errorName(Errc::AccessDenied), "polkit said no")).exitCode() == 4);
  CHECK(fromDbus(sdbus::Error("org.freedesktop.DBus.Error.UnknownMethod", "")).kind() ==
        ErrorKind::UnknownMethod);
  const Error newer = fromDbus(sdbus::Error("org.binfmtd.Binfmt1.Error.Newer", "later"));
  CHECK(newer.kind() == ErrorKind::Other);
  CHECK(newer.exitCode() == 1);
  CHECK(fromDbus(sdbus::Error("org.freedesktop.DBus.Error.Timeout", "slow")).exitCode() == 1);
}

TEST_CASE("a bus-less binfmtd's status file: the D-Bus records, decoded leniently", "[client]") {
  const auto d = decodeNoBusDaemon(kNoBusStatus);
  REQUIRE(d.has_value());
  CHECK(d->pid == 812);
  CHECK(d->started == 1700000000000000u);
  CHECK(d->updated == 1700000005000000u);
  CHECK(d->stateDir == "/run/binfmtd");
  CHECK(d->manager.version == "0.1.0");
  CHECK(d->manager.binfmtMiscPath == "/proc/sys/fs/binfmt_misc");
  CHECK(d->manager.mounted);
  CHECK(d->manager.globalEnabled);
  CHECK(d->manager.configFiles == std::vector<std::string>{"/etc/binfmtd/binfmtd.json"});
  CHECK(d->manager.lastReconcileTime == 1700000001000000u);
  CHECK(d->manager.lastReconcileResult == ReconcileResult::Ok);
  CHECK(d->manager.lastReconcileWrites == 2);
  REQUIRE(d->handlers.size() == 4);
  const Handler* aarch64 = d->handler("qemu-aarch64");
  REQUIRE(aarch64 != nullptr);
  CHECK(aarch64->architecture == "aarch64");
  CHECK(aarch64->interpreter == "/usr/bin/qemu-aarch64-static");
  CHECK(aarch64->flags == "PF");
  CHECK(aarch64->ownership == Ownership::Owned);
  CHECK(aarch64->state == HandlerState::Registered);
  CHECK(aarch64->inKernel());
  CHECK(aarch64->verification == Verification::Passed);
  CHECK(aarch64->verificationDetail == "ran the aarch64 probe");
  CHECK(aarch64->emulatorVersion == "7.2.9");
  CHECK(d->handler("WSLInterop")->foreign());
  CHECK(d->handler("qemu-s390x")->lastError == "no emulator");
  CHECK_FALSE(d->handler("qemu-s390x")->asConfigured());
  CHECK(d->handler("qemu-mips") == nullptr);
  // Its own handlers that are registered and enabled: not the foreign one, not the missing one.
  CHECK(d->ownRegistered() == 2);
  CHECK(d->adminConfigDir() == "/etc/binfmtd");
  CHECK(d->statusFile() == "/run/binfmtd/no-bus.json");
  CHECK(d->summary() ==
        "binfmtd runs without D-Bus (binfmtd --no-bus, pid 812): last reconcile ok, 2 "
        "handler(s) of its own registered");
  // The document keeps what this library does not know.
  CHECK(d->document.find("newer_field") != std::string::npos);

  // Before its first reconcile, with configuration errors, and with fields of the wrong
  // type or missing (another binfmtd): defaults, and a summary that says so.
  const auto early = decodeNoBusDaemon(
      R"({"pid": 9, "config_errors": ["/etc/binfmtd/binfmtd.json:2:1: syntax error"],
          "last_reconcile": {"result": ""}, "mounted": "yes", "handlers": [7, {"name": 3}]})");
  REQUIRE(early.has_value());
  CHECK_FALSE(early->manager.mounted);
  CHECK(early->handlers.size() == 1);
  CHECK(early->handlers[0].name.empty());
  CHECK(early->adminConfigDir() == "/etc/binfmtd");
  CHECK(early->statusFile() == "/run/binfmtd/no-bus.json");
  CHECK(early->summary() ==
        "binfmtd runs without D-Bus (binfmtd --no-bus, pid 9): last reconcile not done yet, 0 "
        "handler(s) of its own registered, 1 configuration error(s)");
  CHECK_FALSE(decodeNoBusDaemon("[1, 2]").has_value());
  CHECK_FALSE(decodeNoBusDaemon("{\"pid\": 1").has_value());
}

TEST_CASE("a binfmtd that runs without D-Bus: found by its lock, and said by the errors",
          "[client]") {
  StateDir state;
  const sdbus::Error noOwner("org.freedesktop.DBus.Error.ServiceUnknown", "x");
  const sdbus::Error cannotConnect("sdbus.Error", "Failed to open bus");

  // No file; then a file no daemon holds (one left by a daemon that was killed).
  CHECK_FALSE(findNoBusDaemon().has_value());
  testfiles::writeFile(state.dir.path / "no-bus.json", kNoBusStatus);
  CHECK_FALSE(findNoBusDaemon().has_value());
  CHECK(fromDbus(noOwner).kind() == ErrorKind::NoDaemon);
  CHECK(noBus(cannotConnect).kind() == ErrorKind::NoBus);

  {
    LockedStatusFile running(state.dir.path, kNoBusStatus);
    const auto found = findNoBusDaemon();
    REQUIRE(found.has_value());
    CHECK(found->pid == 812);
    CHECK(findNoBusDaemon(state.dir.path / "elsewhere") == std::nullopt);

    for (const Error& e : {fromDbus(noOwner), noBus(cannotConnect)}) {
      INFO(e.dbusName());
      CHECK(e.kind() == ErrorKind::NoBusDaemon);
      CHECK(e.unreachable());
      CHECK(e.exitCode() == kExitNotReachable);
      REQUIRE(e.noBusDaemon() != nullptr);
      CHECK(e.noBusDaemon()->pid == 812);
      CHECK(std::string(e.what()) ==
            "binfmtd runs without D-Bus (binfmtd --no-bus, pid 812): last reconcile ok, 2 "
            "handler(s) of its own registered.\n"
            "Without D-Bus nobody can query or change it: edit /etc/binfmtd/binfmtd.json or a "
            "file in /etc/binfmtd/conf.d/ and it applies the change at once.\n"
            "Its state is in /run/binfmtd/no-bus.json; 'binfmtctl doctor' reports the kernel "
            "side.");
      CHECK(e.reason() == e.noBusDaemon()->summary());
      CHECK(notRunningSentence(e) == e.noBusDaemon()->summary());
    }
    // The bus's error stays known.
    CHECK(noBus(cannotConnect).message() == "Failed to open bus");
    // Only an unreachable binfmtd is looked for: binfmtd's and the bus's other errors stay.
    CHECK(fromDbus(sdbus::Error("org.freedesktop.DBus.Error.AccessDenied", "no")).kind() ==
          ErrorKind::BusDenied);
    CHECK(fromDbus(sdbus::Error(errorName(Errc::NoSuchHandler), "none")).noBusDaemon() == nullptr);
  }
  // Stopped (the lock is gone): not running, as before.
  CHECK(fromDbus(noOwner).kind() == ErrorKind::NoDaemon);
}
