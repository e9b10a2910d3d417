#include "commands.hpp"

#include <time.h>

#include <cstdio>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>

#include "binfmtd-client/client.hpp"
#include "polkit_agent.hpp"
#include "table.hpp"
#include "terminal.hpp"
#include "variant_json.hpp"

namespace binfmtctl {

namespace {

namespace client = binfmtd::client;
using binfmtd::HandlerState;
using binfmtd::toString;
using Json = nlohmann::ordered_json;

void printJson(const Json& j) { std::printf("%s\n", j.dump(2).c_str()); }

Json propertiesJson(const client::PropertyMap& properties) {
  Json j;
  for (const auto& [k, v] : properties) j[k] = toJson(v);
  return j;
}

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

std::string str(std::string_view v) { return std::string(v); }

// Whether binfmtd ran each registered handler's probe and how it went (the Handler's
// Verification property, from binfmtd versions that verify): a summary line, and one line
// per failure with binfmtd's sentence. Prints nothing when binfmtd does not verify.
void printVerification(const std::vector<client::Handler>& handlers) {
  std::map<binfmtd::Verification, unsigned> counts;
  std::vector<std::string> failures;
  for (const auto& h : handlers) {
    if (!h.verification || h.state != HandlerState::Registered) continue;
    ++counts[*h.verification];
    if (*h.verification == binfmtd::Verification::Failed)
      failures.push_back(h.name + ": " + h.verificationDetail);
  }
  if (counts.empty()) return;
  std::string summary;
  for (const auto& [v, name] : binfmtd::kVerifications.entries)
    if (counts[v] > 0)
      summary += (summary.empty() ? "" : ", ") + std::to_string(counts[v]) + " " + str(name);
  std::printf(" verification: %s\n", summary.c_str());
  for (const auto& f : failures)
    std::printf("       %s: %s\n", term::paint("failed", term::Style::Bad).c_str(), f.c_str());
}

int change(const Invocation& inv, bool enable) {
  if (inv.args.empty()) {
    std::fprintf(stderr, "binfmtctl: '%s' needs at least one architecture or handler name\n",
                 inv.command.c_str());
    return kExitUsage;
  }
  client::Client c;
  const client::ChangeOptions options{inv.runtime, inv.askPassword};
  std::optional<PolkitAgent> agent;  // so that polkit can ask on this terminal
  if (inv.askPassword) agent.emplace();
  const auto changes = enable ? c.enable(inv.args, options) : c.disable(inv.args, options);
  agent.reset();
  for (const auto& ch : changes) std::printf("%s\n", ch.text.c_str());
  if (changes.empty()) std::printf("Nothing to change.\n");
  return 0;
}

}  // namespace

int runStatus(const Invocation& inv) {
  client::Client c;
  const client::Manager m = c.manager();
  const auto handlers = c.listHandlers();
  unsigned owned = 0, foreign = 0, problems = 0;
  for (const auto& h : handlers) {
    (h.foreign() ? foreign : owned)++;
    problems += h.asConfigured() ? 0 : 1;
  }
  const int exitCode =
      (m.lastReconcileResult == binfmtd::ReconcileResult::Ok && m.configErrors.empty()) ? 0 : 1;
  if (inv.json) {
    Json j = propertiesJson(m.properties);
    j["OwnedHandlers"] = owned;
    j["ForeignHandlers"] = foreign;
    printJson(j);
    return exitCode;
  }
  std::printf("binfmtd %s\n", m.version.c_str());
  std::printf(
      "  binfmt_misc: %s (%s, %s)\n", m.binfmtMiscPath.c_str(),
      m.mounted ? "mounted" : term::paint("NOT mounted", term::Style::Bad).c_str(),
      m.globalEnabled ? "enabled" : term::paint("globally DISABLED", term::Style::Bad).c_str());
  std::printf("     handlers: %u owned by binfmtd (%u not as configured), %u foreign\n", owned,
              problems, foreign);
  const std::string result = m.lastReconcileResult == binfmtd::ReconcileResult::None
                                 ? "none"
                                 : str(toString(m.lastReconcileResult));
  std::printf("    reconcile: %s at %s, %u write(s)\n", result.c_str(),
              formatTime(m.lastReconcileTime).c_str(), m.lastReconcileWrites);
  const auto& files = m.configFiles;
  std::printf("       config: %s\n", files.empty() ? "(no files)" : files.front().c_str());
  for (std::size_t i = 1; i < files.size(); ++i) std::printf("               %s\n", files[i].c_str());
  for (const auto& e : m.configErrors) std::printf(" config error: %s\n", e.c_str());
  for (const auto& e : m.lastReconcileErrors) std::printf("      problem: %s\n", e.c_str());
  const auto details = c.handlers();
  printVerification(details);
  // Handlers of binfmtd's that are not simply registered (standby too, as configured as it
  // is), with the reason; inactive ones are absent from the kernel on purpose.
  for (const auto& h : handlers) {
    if (h.foreign() || h.state == HandlerState::Registered || h.state == HandlerState::Inactive)
      continue;
    std::string why;
    for (const auto& d : details)
      if (d.name == h.name) why = d.lastError;
    std::printf("%13s: %s%s%s\n", str(toString(h.state)).c_str(), h.name.c_str(),
                why.empty() ? "" : ": ", why.c_str());
  }
  return exitCode;
}

int runList(const Invocation& inv) {
  client::Client c;
  const auto handlers = c.listHandlers();
  if (inv.json) {
    Json j = Json::array();
    for (const auto& h : handlers) {
      j.push_back({{"name", h.name},
                   {"architecture", h.architecture},
                   {"interpreter", h.interpreter},
                   {"ownership", str(toString(h.ownership))},
                   {"state", str(toString(h.state))},
                   {"enabled", h.enabled},
                   {"object", h.objectPath}});
    }
    printJson(j);
    return 0;
  }
  Table t({"NAME", "ARCH", "STATE", "ENABLED", "OWNER", "INTERPRETER"});
  unsigned foreign = 0;
  for (const auto& h : handlers) {
    foreign += h.foreign();
    t.add({h.name, h.architecture.empty() ? "-" : h.architecture, str(toString(h.state)),
           yesNo(h.enabled), h.foreign() ? "foreign" : "binfmtd",
           h.interpreter.empty() ? "-" : h.interpreter});
  }
  if (!t.empty()) {
    t.print(stdout);
    std::printf("\n");
  }
  std::printf("%zu handler(s) listed, %u foreign (registered by other programs).\n",
              handlers.size(), foreign);
  return 0;
}

int runShow(const Invocation& inv) {
  if (inv.args.size() != 1) {
    std::fprintf(stderr, "binfmtctl: 'show' takes one handler or architecture name\n");
    return kExitUsage;
  }
  client::Client c;
  const auto path = c.findHandler(inv.args[0]);
  if (!path) {
    std::fprintf(stderr,
                 "binfmtctl: no handler '%s' is registered or configured; see 'binfmtctl list'\n",
                 inv.args[0].c_str());
    return errorInfo(binfmtd::Errc::NoSuchHandler).exitCode;
  }
  const client::Handler h = c.handler(*path);
  if (inv.json) {
    printJson(propertiesJson(h.properties));
    return 0;
  }
  std::printf("%s\n", h.name.c_str());
  std::printf("        State: %s%s\n", str(toString(h.state)).c_str(),
              h.enabled ? " (enabled)" : "");
  std::printf("        Owner: %s\n", h.foreign() ? "foreign" : "binfmtd");
  if (!h.architecture.empty()) std::printf(" Architecture: %s\n", h.architecture.c_str());
  std::printf("  Interpreter: %s\n", h.interpreter.c_str());
  std::printf("        Flags: %s\n", h.flags.empty() ? "(none)" : h.flags.c_str());
  if (h.extensionMatch) {
    std::printf("    Extension: .%s\n", h.extension.c_str());
  } else {
    std::printf("       Offset: %u\n", h.offset);
    std::printf("        Magic: %s\n", hex(h.magic).c_str());
    if (!h.mask.empty()) std::printf("         Mask: %s\n", hex(h.mask).c_str());
  }
  if (!h.sourceFile.empty()) std::printf("       Source: %s\n", h.sourceFile.c_str());
  // From binfmtd versions that verify emulation; absent before.
  if (!h.platforms.empty()) {
    std::string platforms;
    for (const auto& x : h.platforms) platforms += (platforms.empty() ? "" : ", ") + x;
    std::printf("    Platforms: %s\n", platforms.c_str());
  }
  if (!h.emulatorVersion.empty()) std::printf("     Emulator: %s\n", h.emulatorVersion.c_str());
  if (h.verification) {
    const std::string& detail = h.verificationDetail;
    std::printf("     Verified: %s%s%s\n", str(toString(*h.verification)).c_str(),
                detail.empty() ? "" : ": ", detail.c_str());
  }
  if (!h.lastError.empty()) std::printf("   Last error: %s\n", h.lastError.c_str());
  return 0;
}

int runEnable(const Invocation& inv) { return change(inv, true); }

int runDisable(const Invocation& inv) { return change(inv, false); }

int runReload(const Invocation& inv) {
  client::Client c;
  std::optional<PolkitAgent> agent;
  if (inv.askPassword) agent.emplace();
  const auto changes = c.reload({false, inv.askPassword});
  agent.reset();
  for (const auto& ch : changes) std::printf("%s\n", ch.text.c_str());
  const auto errors = c.manager().configErrors;
  for (const auto& e : errors) std::fprintf(stderr, "config error: %s\n", e.c_str());
  return errors.empty() ? 0 : errorInfo(binfmtd::Errc::ConfigInvalid).exitCode;
}

int runPlan(const Invocation& inv) {
  client::Client c;
  const auto steps = c.plan();
  if (inv.json) {
    Json j = Json::array();
    for (const auto& s : steps)
      j.push_back({{"action", s.action}, {"name", s.handler}, {"reason", s.reason}});
    printJson(j);
    return 0;
  }
  if (steps.empty()) {
    std::printf("Nothing to do: the kernel matches the configuration.\n");
    return 0;
  }
  Table t({"ACTION", "NAME", "REASON"});
  for (const auto& s : steps) t.add({s.action, s.handler.empty() ? "-" : s.handler, s.reason});
  t.print(stdout);
  return 0;
}

int runArchs(const Invocation& inv) {
  client::Client c;
  const auto archs = c.architectures();
  if (inv.json) {
    Json j = Json::array();
    for (const auto& a : archs) {
      j.push_back({{"name", a.name},
                   {"aliases", a.aliases},
                   {"handler", a.handler},
                   {"interpreter", a.interpreter},
                   {"static", a.isStatic},
                   {"native", a.native},
                   {"default_flags", a.defaultFlags},
                   {"oci_platforms", a.ociPlatforms},
                   {"configured", a.configured}});
    }
    printJson(j);
    return 0;
  }
  Table t({"ARCH", "ALIASES", "ENABLED", "EMULATOR"});
  unsigned installed = 0;
  for (const auto& a : archs) {
    std::string aliases;
    for (const auto& alias : a.aliases) {
      if (alias.find('/') != std::string::npos) continue;  // OCI names make it too wide
      aliases += (aliases.empty() ? "" : ",") + alias;
    }
    std::string emulator;
    if (a.native) {
      emulator = "(native)";
    } else if (a.interpreter.empty()) {
      emulator = "-";
    } else {
      ++installed;
      emulator = a.interpreter + (a.isStatic ? " (static)" : " (dynamic)");
    }
    t.add({a.name, aliases.empty() ? "-" : aliases, yesNo(a.configured), emulator});
  }
  t.print(stdout);
  std::printf("\n%zu architectures, %u with an emulator installed.\n", archs.size(), installed);
  return 0;
}

}  // namespace binfmtctl
