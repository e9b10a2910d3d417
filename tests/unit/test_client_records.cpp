// libbinfmtd-client without a bus: the one definition of "in the kernel" and of "as
// configured", the decoders of every reply (lenient with an older binfmtd's missing
// properties), the contract's string tables and change lines, and the one mapping of D-Bus
// errors to sentences and exit codes.
#include <catch2/catch.hpp>

#include "binfmtd-client/error.hpp"
#include "binfmtd-client/records.hpp"

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
