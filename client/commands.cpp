#include "commands.hpp"

#include <systemd/sd-bus.h>
#include <time.h>

#include <chrono>
#include <cstdio>
#include <optional>
#include <nlohmann/json.hpp>

#include "binfmt1-proxy.hpp"
#include "errors.hpp"
#include "names.hpp"
#include "no_bus_daemon.hpp"
#include "polkit_agent.hpp"
#include "check_command.hpp"
#include "table.hpp"
#include "terminal.hpp"
#include "variant_json.hpp"

namespace binfmtctl {

namespace {

using namespace binfmtd::bus_names;

// binfmtd gives polkit five minutes for a password; wait a little longer than that.
constexpr auto kInteractiveTimeout = std::chrono::minutes(6);

// sdbus-c++ 1.2 cannot set a message's flags. Its Message keeps the sd_bus_message* in a
// protected member, which a derived class may name through a pointer to member.
struct RawMessage : sdbus::Message {
  static sd_bus_message* of(const sdbus::Message& m) {
    return static_cast<sd_bus_message*>(m.*&RawMessage::msg_);
  }
};

class Manager final
    : public sdbus::ProxyInterfaces<org::binfmtd::Binfmt1::Manager_proxy, sdbus::Properties_proxy> {
 public:
  explicit Manager(sdbus::IConnection& bus) : ProxyInterfaces(bus, kBusName, kManagerPath) {
    registerProxy();
  }
  ~Manager() { unregisterProxy(); }

  /// Every handler object with its properties (ObjectManager), in one call.
  std::map<sdbus::ObjectPath, std::map<std::string, std::map<std::string, sdbus::Variant>>>
  managedObjects() {
    std::map<sdbus::ObjectPath, std::map<std::string, std::map<std::string, sdbus::Variant>>> o;
    getProxy().callMethod("GetManagedObjects")
        .onInterface("org.freedesktop.DBus.ObjectManager")
        .storeResultsTo(o);
    return o;
  }

  /// Enable, Disable or Reload. Unless askPassword is false, the call lets polkit ask for
  /// a password (ALLOW_INTERACTIVE_AUTHORIZATION, as systemctl does) and waits for it.
  template <typename... Args>
  std::vector<std::string> change(const char* method, bool askPassword, const Args&... args) {
    auto call = getProxy().createMethodCall(kManagerInterface, method);
    std::optional<PolkitAgent> agent;
    if (askPassword) {
      sd_bus_message_set_allow_interactive_authorization(RawMessage::of(call), 1);
      agent.emplace();
    }
    ((call << args), ...);
    auto reply = askPassword ? getProxy().callMethod(call, kInteractiveTimeout)
                             : getProxy().callMethod(call);
    std::vector<std::string> changes;
    reply >> changes;
    return changes;
  }

 private:
  void onPropertiesChanged(const std::string&, const std::map<std::string, sdbus::Variant>&,
                           const std::vector<std::string>&) override {}
  void onRepaired(const std::vector<std::string>&, const std::vector<std::string>&) override {}
};

class Properties final : public sdbus::ProxyInterfaces<sdbus::Properties_proxy> {
 public:
  Properties(sdbus::IConnection& bus, const std::string& path)
      : ProxyInterfaces(bus, kBusName, path) {
    registerProxy();
  }
  ~Properties() { unregisterProxy(); }

 private:
  void onPropertiesChanged(const std::string&, const std::map<std::string, sdbus::Variant>&,
                           const std::vector<std::string>&) override {}
};

using Json = nlohmann::ordered_json;
using PropertyMap = std::map<std::string, sdbus::Variant>;

void printJson(const Json& j) { std::printf("%s\n", j.dump(2).c_str()); }

std::string formatTime(uint64_t usec) {
  if (usec == 0) return "never";
  time_t t = static_cast<time_t>(usec / 1000000);
  struct tm tm {};
  localtime_r(&t, &tm);
  char buf[64];
  strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S %Z", &tm);
  return buf;
}


const char* yesNo(bool b) { return b ? "yes" : "no"; }

// Whether binfmtd ran each registered handler's probe and how it went (the Handler's
// Verification property, from binfmtd versions that verify): a summary line, and one line
// per failure with binfmtd's sentence. Prints nothing when binfmtd does not verify.
void printVerification(Manager& m) {
  auto objects = m.managedObjects();
  std::map<std::string, unsigned> counts;
  std::vector<std::string> failures;
  for (auto& [path, interfaces] : objects) {
    auto it = interfaces.find(kHandlerInterface);
    if (it == interfaces.end()) continue;
    PropertyMap& p = it->second;
    if (!p.count("Verification") || p["State"].get<std::string>() != "registered") continue;
    const std::string verdict = p["Verification"].get<std::string>();
    ++counts[verdict];
    if (verdict == "failed")
      failures.push_back(p["Name"].get<std::string>() + ": " +
                         p["VerificationDetail"].get<std::string>());
  }
  if (counts.empty()) return;
  std::string summary;
  for (const char* v : {"passed", "failed", "unverified", "no-probe"})
    if (counts[v] > 0) summary += (summary.empty() ? "" : ", ") + std::to_string(counts[v]) + " " + v;
  std::printf(" verification: %s\n", summary.c_str());
  for (const auto& f : failures)
    std::printf("       %s: %s\n", term::paint("failed", term::Style::Bad).c_str(), f.c_str());
}

int cmdStatus(sdbus::IConnection& bus, const Invocation& inv) {
  Manager m(bus);
  PropertyMap p = m.GetAll(kManagerInterface);
  auto handlers = m.ListHandlers();
  unsigned owned = 0, foreign = 0, problems = 0;
  for (const auto& h : handlers) {
    const std::string& ownership = h.get<3>();
    const std::string& state = h.get<4>();
    (ownership == "owned" ? owned : foreign)++;
    if (state != "registered") problems += ownership == "owned" ? 1 : 0;
  }
  const auto errors = p["ConfigErrors"].get<std::vector<std::string>>();
  const auto reconcileErrors = p["LastReconcileErrors"].get<std::vector<std::string>>();
  const std::string result = p["LastReconcileResult"].get<std::string>();
  const int exitCode = (result == "ok" && errors.empty()) ? 0 : 1;
  if (inv.json) {
    Json j;
    for (const auto& [k, v] : p) j[k] = toJson(v);
    j["OwnedHandlers"] = owned;
    j["ForeignHandlers"] = foreign;
    printJson(j);
    return exitCode;
  }
  std::printf("binfmtd %s\n", p["Version"].get<std::string>().c_str());
  std::printf("  binfmt_misc: %s (%s, %s)\n", p["BinfmtMiscPath"].get<std::string>().c_str(),
              p["Mounted"].get<bool>() ? "mounted" : term::paint("NOT mounted", term::Style::Bad).c_str(),
              p["GlobalEnabled"].get<bool>() ? "enabled"
                                             : term::paint("globally DISABLED", term::Style::Bad).c_str());
  std::printf("     handlers: %u owned by binfmtd (%u not as configured), %u foreign\n", owned,
              problems, foreign);
  std::printf("    reconcile: %s at %s, %u write(s)\n", result.empty() ? "none" : result.c_str(),
              formatTime(p["LastReconcileTime"].get<uint64_t>()).c_str(),
              p["LastReconcileWrites"].get<uint32_t>());
  const auto files = p["ConfigFiles"].get<std::vector<std::string>>();
  std::printf("       config: %s\n", files.empty() ? "(no files)" : files.front().c_str());
  for (std::size_t i = 1; i < files.size(); ++i) std::printf("               %s\n", files[i].c_str());
  for (const auto& e : errors) std::printf(" config error: %s\n", e.c_str());
  for (const auto& e : reconcileErrors) std::printf("      problem: %s\n", e.c_str());
  printVerification(m);
  // Handlers of binfmtd's that do not work as configured, with the reason.
  for (const auto& h : handlers) {
    const std::string& state = h.get<4>();
    if (h.get<3>() != "owned" || state == "registered" || state == "inactive") continue;
    Properties props(bus, h.get<6>());
    const auto why = props.Get(kHandlerInterface, "LastError").get<std::string>();
    std::printf("%13s: %s%s%s\n", state.c_str(), h.get<0>().c_str(), why.empty() ? "" : ": ",
                why.c_str());
  }
  return exitCode;
}

int cmdList(sdbus::IConnection& bus, const Invocation& inv) {
  Manager m(bus);
  auto handlers = m.ListHandlers();
  if (inv.json) {
    Json j = Json::array();
    for (const auto& h : handlers) {
      j.push_back({{"name", h.get<0>()}, {"architecture", h.get<1>()},
                   {"interpreter", h.get<2>()}, {"ownership", h.get<3>()},
                   {"state", h.get<4>()}, {"enabled", h.get<5>()},
                   {"object", std::string(h.get<6>())}});
    }
    printJson(j);
    return 0;
  }
  Table t({"NAME", "ARCH", "STATE", "ENABLED", "OWNER", "INTERPRETER"});
  unsigned foreign = 0;
  for (const auto& h : handlers) {
    bool isForeign = h.get<3>() == "foreign";
    foreign += isForeign;
    t.add({h.get<0>(), h.get<1>().empty() ? "-" : h.get<1>(), h.get<4>(), yesNo(h.get<5>()),
           isForeign ? "foreign" : "binfmtd", h.get<2>().empty() ? "-" : h.get<2>()});
  }
  if (!t.empty()) {
    t.print(stdout);
    std::printf("\n");
  }
  std::printf("%zu handler(s) listed, %u foreign (registered by other programs).\n",
              handlers.size(), foreign);
  return 0;
}

// The handler a name refers to: a handler name, or an architecture alias.
std::optional<std::string> handlerPathFor(Manager& m, const std::string& name) {
  auto handlers = m.ListHandlers();
  for (const auto& h : handlers)
    if (h.get<0>() == name) return std::string(h.get<6>());
  for (const auto& a : m.ListArchitectures()) {
    bool match = a.get<0>() == name;
    for (const auto& alias : a.get<1>()) match = match || alias == name;
    if (!match) continue;
    std::string handler = a.get<5>().at("handler").get<std::string>();
    for (const auto& h : handlers)
      if (h.get<0>() == handler) return std::string(h.get<6>());
  }
  return std::nullopt;
}

int cmdShow(sdbus::IConnection& bus, const Invocation& inv) {
  if (inv.args.size() != 1) {
    std::fprintf(stderr, "binfmtctl: 'show' takes one handler or architecture name\n");
    return kExitUsage;
  }
  Manager m(bus);
  auto path = handlerPathFor(m, inv.args[0]);
  if (!path) {
    std::fprintf(stderr,
                 "binfmtctl: no handler '%s' is registered or configured; see 'binfmtctl list'\n",
                 inv.args[0].c_str());
    return errorInfo(binfmtd::Errc::NoSuchHandler).exitCode;
  }
  Properties props(bus, *path);
  PropertyMap p = props.GetAll(kHandlerInterface);
  if (inv.json) {
    Json j;
    for (const auto& [k, v] : p) j[k] = toJson(v);
    printJson(j);
    return 0;
  }
  auto s = [&](const char* k) { return p[k].get<std::string>(); };
  std::printf("%s\n", s("Name").c_str());
  std::printf("        State: %s%s\n", s("State").c_str(),
              p["Enabled"].get<bool>() ? " (enabled)" : "");
  std::printf("        Owner: %s\n", s("Ownership") == "owned" ? "binfmtd" : "foreign");
  if (!s("Architecture").empty()) std::printf(" Architecture: %s\n", s("Architecture").c_str());
  std::printf("  Interpreter: %s\n", s("Interpreter").c_str());
  std::printf("        Flags: %s\n", s("Flags").empty() ? "(none)" : s("Flags").c_str());
  if (s("Type") == "extension") {
    std::printf("    Extension: .%s\n", s("Extension").c_str());
  } else {
    std::printf("       Offset: %u\n", p["Offset"].get<uint32_t>());
    std::printf("        Magic: %s\n", hex(p["Magic"].get<std::vector<uint8_t>>()).c_str());
    auto mask = p["Mask"].get<std::vector<uint8_t>>();
    if (!mask.empty()) std::printf("         Mask: %s\n", hex(mask).c_str());
  }
  if (!s("SourceFile").empty()) std::printf("       Source: %s\n", s("SourceFile").c_str());
  // From binfmtd versions that verify emulation; absent before.
  if (p.count("Platforms") && !p["Platforms"].get<std::vector<std::string>>().empty()) {
    std::string platforms;
    for (const auto& x : p["Platforms"].get<std::vector<std::string>>())
      platforms += (platforms.empty() ? "" : ", ") + x;
    std::printf("    Platforms: %s\n", platforms.c_str());
  }
  if (p.count("EmulatorVersion") && !s("EmulatorVersion").empty())
    std::printf("     Emulator: %s\n", s("EmulatorVersion").c_str());
  if (p.count("Verification")) {
    const std::string detail = p.count("VerificationDetail") ? s("VerificationDetail") : "";
    std::printf("     Verified: %s%s%s\n", s("Verification").c_str(), detail.empty() ? "" : ": ",
                detail.c_str());
  }
  if (!s("LastError").empty()) std::printf("   Last error: %s\n", s("LastError").c_str());
  return 0;
}

int cmdChange(sdbus::IConnection& bus, const Invocation& inv, bool enable) {
  if (inv.args.empty()) {
    std::fprintf(stderr, "binfmtctl: '%s' needs at least one architecture or handler name\n",
                 inv.command.c_str());
    return kExitUsage;
  }
  Manager m(bus);
  std::map<std::string, sdbus::Variant> options{{"runtime", sdbus::Variant(inv.runtime)}};
  auto changes = m.change(enable ? "Enable" : "Disable", inv.askPassword, inv.args, options);
  for (const auto& c : changes) std::printf("%s\n", c.c_str());
  if (changes.empty()) std::printf("Nothing to change.\n");
  return 0;
}

int cmdReload(sdbus::IConnection& bus, const Invocation& inv) {
  Manager m(bus);
  auto changes = m.change("Reload", inv.askPassword);
  for (const auto& c : changes) std::printf("%s\n", c.c_str());
  auto errors = m.ConfigErrors();
  for (const auto& e : errors) std::fprintf(stderr, "config error: %s\n", e.c_str());
  return errors.empty() ? 0 : errorInfo(binfmtd::Errc::ConfigInvalid).exitCode;
}

int cmdPlan(sdbus::IConnection& bus, const Invocation& inv) {
  Manager m(bus);
  auto steps = m.Plan();
  if (inv.json) {
    Json j = Json::array();
    for (const auto& s : steps)
      j.push_back({{"action", s.get<0>()}, {"name", s.get<1>()}, {"reason", s.get<2>()}});
    printJson(j);
    return 0;
  }
  if (steps.empty()) {
    std::printf("Nothing to do: the kernel matches the configuration.\n");
    return 0;
  }
  Table t({"ACTION", "NAME", "REASON"});
  for (const auto& s : steps) t.add({s.get<0>(), s.get<1>().empty() ? "-" : s.get<1>(), s.get<2>()});
  t.print(stdout);
  return 0;
}

int cmdArchs(sdbus::IConnection& bus, const Invocation& inv) {
  Manager m(bus);
  auto archs = m.ListArchitectures();
  if (inv.json) {
    Json j = Json::array();
    for (const auto& a : archs) {
      const auto& extra = a.get<5>();
      j.push_back({{"name", a.get<0>()},
                   {"aliases", a.get<1>()},
                   {"handler", extra.at("handler").get<std::string>()},
                   {"interpreter", a.get<2>()},
                   {"static", a.get<3>()},
                   {"native", a.get<4>()},
                   {"default_flags", extra.at("default-flags").get<std::string>()},
                   {"oci_platforms", extra.at("oci-platforms").get<std::vector<std::string>>()},
                   {"configured", extra.at("configured").get<bool>()}});
    }
    printJson(j);
    return 0;
  }
  Table t({"ARCH", "ALIASES", "ENABLED", "EMULATOR"});
  unsigned installed = 0;
  for (const auto& a : archs) {
    const auto& extra = a.get<5>();
    std::string aliases;
    for (const auto& alias : a.get<1>()) {
      if (alias.find('/') != std::string::npos) continue;  // OCI names make it too wide
      aliases += (aliases.empty() ? "" : ",") + alias;
    }
    std::string emulator;
    if (a.get<4>()) {
      emulator = "(native)";
    } else if (a.get<2>().empty()) {
      emulator = "-";
    } else {
      ++installed;
      emulator = a.get<2>() + (a.get<3>() ? " (static)" : " (dynamic)");
    }
    t.add({a.get<0>(), aliases.empty() ? "-" : aliases,
           yesNo(extra.at("configured").get<bool>()), emulator});
  }
  t.print(stdout);
  std::printf("\n%zu architectures, %u with an emulator installed.\n", archs.size(), installed);
  return 0;
}

}  // namespace

int reportError(const sdbus::Error& e) {
  const std::string& name = e.getName();
  if (name == "org.freedesktop.DBus.Error.ServiceUnknown" ||
      name == "org.freedesktop.DBus.Error.NameHasNoOwner") {
    if (auto noBus = findNoBusDaemon()) return reportNoBusDaemon(*noBus);
    std::fprintf(stderr,
                 "binfmtctl: binfmtd is not running (nobody owns %s on the system bus).\n"
                 "Start it with: systemctl start binfmtd\n",
                 kBusName);
    return kExitNoDaemon;
  }
  if (name == "org.freedesktop.DBus.Error.AccessDenied") {
    std::fprintf(stderr, "binfmtctl: permission denied by the bus policy: %s\n",
                 e.getMessage().c_str());
    return errorInfo(binfmtd::Errc::AccessDenied).exitCode;
  }
  std::fprintf(stderr, "binfmtctl: %s\n", e.getMessage().c_str());
  const std::string prefix(binfmtd::kErrorPrefix);
  if (name.rfind(prefix, 0) == 0) {
    for (const auto& info : binfmtd::kErrors)
      if (name.substr(prefix.size()) == info.name) return info.exitCode;
  }
  return 1;
}

int runCommand(sdbus::IConnection& bus, const Invocation& inv) {
  const std::string& c = inv.command;
  if (c == "status") return cmdStatus(bus, inv);
  if (c == "list") return cmdList(bus, inv);
  if (c == "show") return cmdShow(bus, inv);
  if (c == "enable") return cmdChange(bus, inv, true);
  if (c == "disable") return cmdChange(bus, inv, false);
  if (c == "reload") return cmdReload(bus, inv);
  if (c == "archs") return cmdArchs(bus, inv);
  if (c == "plan") return cmdPlan(bus, inv);
  if (c == "check") return runCheck(bus, inv);
  std::fprintf(stderr, "binfmtctl: unknown command '%s'; see 'binfmtctl --help'\n", c.c_str());
  return kExitUsage;
}

}  // namespace binfmtctl
