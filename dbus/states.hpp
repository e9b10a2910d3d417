// The string enums of org.binfmtd.Binfmt1 (documented in dbus/org.binfmtd.Binfmt1.xml) as
// C++ enums, each with its one string table: a handler's State, Ownership and
// Verification, the manager's LastReconcileResult, and the kind of a change line
// ("qemu-aarch64: registered (missing)"). The strings on the bus are these and stay these;
// both sides convert with toString() and the parse functions. No D-Bus library here.
#pragma once

#include <array>
#include <cstddef>
#include <string>
#include <string_view>
#include <utility>

namespace binfmtd {

/// A fixed table of (value, string) pairs; `fallback` is what an unknown string parses to
/// (a newer binfmtd may add strings: members and values may grow, names stay).
template <typename Enum, std::size_t N>
struct StringTable {
  std::array<std::pair<Enum, std::string_view>, N> entries;
  Enum fallback;
  std::string_view fallbackName;

  constexpr std::string_view name(Enum value) const {
    for (const auto& [v, s] : entries)
      if (v == value) return s;
    return fallbackName;
  }
  constexpr Enum parse(std::string_view text) const {
    for (const auto& [v, s] : entries)
      if (s == text) return v;
    return fallback;
  }
};

/// Handler.State.
enum class HandlerState {
  Registered,  // in the kernel as configured
  Disabled,    // in the kernel, switched off
  Standby,     // in the kernel, kept disabled for a handler with a higher priority
  Shadowed,    // in the kernel, but a newer foreign entry takes its binaries
  Inactive,    // configured but disabled in the configuration, not in the kernel
  Missing,     // configured but not in the kernel (as configured)
  Conflict,    // the name is taken by a foreign entry, or another program keeps undoing it
  Error,       // the last attempt failed
  Unknown,     // a string this build does not know
};
inline constexpr StringTable<HandlerState, 8> kHandlerStates{
    {{
        {HandlerState::Registered, "registered"},
        {HandlerState::Disabled, "disabled"},
        {HandlerState::Standby, "standby"},
        {HandlerState::Shadowed, "shadowed"},
        {HandlerState::Inactive, "inactive"},
        {HandlerState::Missing, "missing"},
        {HandlerState::Conflict, "conflict"},
        {HandlerState::Error, "error"},
    }},
    HandlerState::Unknown,
    "unknown"};

/// Handler.Ownership.
enum class Ownership { Owned, Foreign };
inline constexpr StringTable<Ownership, 2> kOwnerships{
    {{{Ownership::Owned, "owned"}, {Ownership::Foreign, "foreign"}}},
    Ownership::Foreign,
    "foreign"};

/// Handler.Verification.
enum class Verification { Passed, Failed, Unverified, NoProbe, Unknown };
inline constexpr StringTable<Verification, 4> kVerifications{
    {{
        {Verification::Passed, "passed"},
        {Verification::Failed, "failed"},
        {Verification::Unverified, "unverified"},
        {Verification::NoProbe, "no-probe"},
    }},
    Verification::Unknown,
    "unknown"};

/// Manager.LastReconcileResult ("" before the first reconcile: None).
enum class ReconcileResult { None, Ok, Partial, Failed, Unknown };
inline constexpr StringTable<ReconcileResult, 4> kReconcileResults{
    {{
        {ReconcileResult::None, ""},
        {ReconcileResult::Ok, "ok"},
        {ReconcileResult::Partial, "partial"},
        {ReconcileResult::Failed, "failed"},
    }},
    ReconcileResult::Unknown,
    "unknown"};

/// What a change line (Enable, Disable, Reload, Repaired) says was done to a handler: the
/// words after "NAME: " and before " (REASON)".
enum class ChangeKind {
  Registered,
  Replaced,
  Enabled,
  Disabled,
  RegisteredAgain,  // registered again so that the kernel tries it before a newer entry
  Removed,
  Adopted,
  Other,  // another sentence ("binfmt_misc: enabled again (...)")
};
inline constexpr StringTable<ChangeKind, 7> kChangeKinds{
    {{
        {ChangeKind::Registered, "registered"},
        {ChangeKind::Replaced, "replaced"},
        {ChangeKind::Enabled, "enabled"},
        {ChangeKind::Disabled, "disabled"},
        {ChangeKind::RegisteredAgain, "registered again"},
        {ChangeKind::Removed, "removed"},
        {ChangeKind::Adopted, "adopted"},
    }},
    ChangeKind::Other,
    "other"};

constexpr std::string_view toString(HandlerState v) { return kHandlerStates.name(v); }
constexpr std::string_view toString(Ownership v) { return kOwnerships.name(v); }
constexpr std::string_view toString(Verification v) { return kVerifications.name(v); }
constexpr std::string_view toString(ReconcileResult v) { return kReconcileResults.name(v); }
constexpr std::string_view toString(ChangeKind v) { return kChangeKinds.name(v); }

/// One change line taken apart: "qemu-aarch64: registered (missing)" is handler
/// "qemu-aarch64", kind Registered, reason "missing".
struct ChangeLine {
  std::string handler;
  ChangeKind kind = ChangeKind::Other;
  std::string reason;
};

/// "NAME: KIND (REASON)" as the daemon writes it (the reason may hold parentheses too).
inline std::string formatChange(const ChangeLine& c) {
  return c.handler + ": " + std::string(toString(c.kind)) + " (" + c.reason + ")";
}

/// The inverse of formatChange() ("NAME: KIND" without a reason too). A line of another
/// shape has kind Other and its text after "NAME: " (or all of it) as the reason.
inline ChangeLine parseChange(std::string_view line) {
  ChangeLine c;
  const std::size_t colon = line.find(": ");
  if (colon == std::string_view::npos) {
    c.reason = std::string(line);
    return c;
  }
  c.handler = std::string(line.substr(0, colon));
  std::string_view rest = line.substr(colon + 2);
  const std::size_t open = rest.find(" (");
  c.kind = kChangeKinds.parse(rest.substr(0, open));
  if (open == std::string_view::npos) {  // "NAME: KIND" without a reason
    if (c.kind == ChangeKind::Other) c.reason = std::string(rest);
    return c;
  }
  if (c.kind == ChangeKind::Other || rest.back() != ')') {
    c.kind = ChangeKind::Other;
    c.reason = std::string(rest);
    return c;
  }
  c.reason = std::string(rest.substr(open + 2, rest.size() - open - 3));
  return c;
}

}  // namespace binfmtd
