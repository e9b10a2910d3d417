#include "service/authorization.hpp"

#include <systemd/sd-bus.h>

#include <chrono>
#include <fstream>

#include "errors.hpp"

namespace binfmtd::service {

namespace {

constexpr const char* kPolkitName = "org.freedesktop.PolicyKit1";
constexpr const char* kPolkitPath = "/org/freedesktop/PolicyKit1/Authority";
constexpr const char* kPolkitInterface = "org.freedesktop.PolicyKit1.Authority";
constexpr std::uint32_t kAllowUserInteraction = 1;  // polkit's CheckAuthorizationFlags

// A person typing a password takes a while, but a prompt nobody answers must not hold the
// request for ever. A non-interactive check uses the bus default (25 s); polkit answers
// those at once.
constexpr std::chrono::microseconds kInteractiveTimeout = std::chrono::minutes(5);

// Checks waiting for polkit hold the request in memory and count against the bus's limit
// of pending replies per connection: a client with more waiting than this is flooding.
constexpr unsigned kMaxPendingPerSender = 4;
constexpr unsigned kMaxPending = 64;

constexpr const char* kRootOnly =
    "Changing binfmt_misc handlers requires root; run the command with sudo";

// sdbus-c++ 1.2 has no accessor for a message's flags. Its Message keeps the
// sd_bus_message* in a protected member, which a derived class may name through a
// pointer to member.
struct RawMessage : sdbus::Message {
  static sd_bus_message* of(const sdbus::Message& m) {
    return static_cast<sd_bus_message*>(m.*&RawMessage::msg_);
  }
};

sdbus::Error accessDenied(const std::string& sentence) {
  return sdbus::Error(std::string(kErrorPrefix) + std::string(errorInfo(Errc::AccessDenied).name),
                      sentence);
}

// polkit's answer, (is_authorized, is_challenge, details), as a refusal sentence; "" if
// authorized.
std::string refusalFor(const sdbus::Struct<bool, bool, std::map<std::string, std::string>>& r,
                       bool interactive) {
  if (r.get<0>()) return "";
  if (r.get<2>().count("polkit.dismissed") != 0)
    return "Authentication to change binfmt_misc handlers was cancelled";
  if (!r.get<1>())
    return "Not authorized to change binfmt_misc handlers; run it as root, or ask your "
           "administrator to allow the polkit action org.binfmtd.manage";
  if (!interactive)
    return "Authentication required to change binfmt_misc handlers; run without "
           "--no-ask-password, or with sudo";
  // polkit wanted a password but had nobody to ask for it.
  return "Authentication required to change binfmt_misc handlers, but no polkit "
         "authentication agent answered; run it with sudo, or from a desktop session";
}

}  // namespace

Caller callerOf(const sdbus::Message& message) {
  Caller c;
  c.sender = message.getSender();
  sd_bus_message* m = RawMessage::of(message);
  // What the bus recorded when the caller connected (SO_PEERCRED), as systemd's daemons
  // do. Message::getCredsUid() would "augment" it from /proc/PID/status: the real uid of
  // whatever process has that pid now, which a setuid program or a reused pid can make 0.
  sd_bus_creds* creds = nullptr;
  if (sd_bus_query_sender_creds(m, SD_BUS_CREDS_EUID | SD_BUS_CREDS_PID, &creds) >= 0) {
    sd_bus_creds_get_euid(creds, &c.uid);  // left at -1 (nobody's) on failure
    sd_bus_creds_get_pid(creds, &c.pid);
    sd_bus_creds_unref(creds);
  }
  c.interactive = sd_bus_message_get_allow_interactive_authorization(m) > 0;
  std::ifstream comm("/proc/" + std::to_string(c.pid) + "/comm");
  std::getline(comm, c.command);
  return c;
}

std::string describe(const Caller& caller) {
  return "uid " + std::to_string(caller.uid) + " (pid " + std::to_string(caller.pid) + ", " +
         caller.command + ")";
}

void logRequest(log::Level level, const std::string& message, const Caller& caller) {
  log::write(level, message,
             {{"CALLER_UID", std::to_string(caller.uid)},
              {"CALLER_PID", std::to_string(caller.pid)},
              {"CALLER_COMM", caller.command}});
}

Authority::Authority(sdbus::IConnection& bus)
    : polkit_(sdbus::createProxy(bus, kPolkitName, kPolkitPath)) {}

void Authority::authorize(const Caller& caller, const std::string& action, const std::string& what,
                          Verdict verdict) {
  if (caller.uid == 0) return verdict(nullptr);
  auto refuse = [caller, what](const Verdict& v, const std::string& why,
                               const std::string& sentence) {
    logRequest(log::Level::Notice, "Refused " + what + " for " + describe(caller) + ": " + why,
               caller);
    const sdbus::Error error = accessDenied(sentence);
    v(&error);
  };

  const auto mine = pending_.find(caller.sender);
  if ((mine != pending_.end() && mine->second >= kMaxPendingPerSender) ||
      pendingTotal_ >= kMaxPending) {
    return refuse(verdict, "too many authorization checks pending",
                  "Too many requests are waiting for authorization; try again when they "
                  "have been answered");
  }

  // The caller's bus name, not its pid: a pid can be reused by another process before
  // polkit looks at it.
  const sdbus::Struct<std::string, std::map<std::string, sdbus::Variant>> subject{
      "system-bus-name", {{"name", sdbus::Variant(caller.sender)}}};
  auto done = [this, caller, verdict, refuse](
                  const sdbus::Error* error,
                  const sdbus::Struct<bool, bool, std::map<std::string, std::string>>& result) {
    if (--pending_[caller.sender] == 0) pending_.erase(caller.sender);
    --pendingTotal_;
    if (error != nullptr && error->getName() == "org.freedesktop.DBus.Error.NoReply")
      return refuse(verdict, "polkit did not answer in time",
                    "Authentication to change binfmt_misc handlers timed out; try again, or "
                    "run it with sudo");
    if (error != nullptr)
      return refuse(verdict, "polkit is not available (" + error->getMessage() + "), so root only",
                    kRootOnly);
    const std::string refusal = refusalFor(result, caller.interactive);
    if (!refusal.empty()) return refuse(verdict, "polkit: " + refusal, refusal);
    verdict(nullptr);
  };
  try {
    polkit_->callMethodAsync("CheckAuthorization")
        .onInterface(kPolkitInterface)
        .withTimeout(caller.interactive ? kInteractiveTimeout : std::chrono::microseconds(0))
        .withArguments(subject, action, std::map<std::string, std::string>{},
                       caller.interactive ? kAllowUserInteraction : 0u, std::string())
        .uponReplyInvoke(done);
  } catch (const sdbus::Error& e) {
    return refuse(verdict, "cannot ask polkit (" + e.getMessage() + "), so root only", kRootOnly);
  }
  ++pending_[caller.sender];
  ++pendingTotal_;
}

}  // namespace binfmtd::service
