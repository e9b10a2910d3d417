// binfmtd-client: what binfmtd's D-Bus API returns, as typed records. Each record is decoded
// in one place (records.cpp) from the wire types of dbus/org.binfmtd.Binfmt1.xml, leniently:
// a property or field a binfmtd does not send (an older one) keeps its default, so one
// client works with every binfmtd of the Binfmt1 API. States are the contract's enums
// (dbus/states.hpp).
#pragma once

#include <sdbus-c++/Types.h>

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "states.hpp"  // the contract's string enums (dbus/states.hpp)

namespace binfmtd::client {

/// Properties as they come over the bus (GetAll, InterfacesAdded, PropertiesChanged).
using PropertyMap = std::map<std::string, sdbus::Variant>;

/// One handler as ListHandlers lists it: what every listing needs.
struct HandlerSummary {
  std::string name;          // the kernel entry name ("qemu-aarch64")
  std::string architecture;  // catalogue name, "" for custom and foreign entries
  std::string interpreter;
  Ownership ownership = Ownership::Owned;
  HandlerState state = HandlerState::Unknown;
  bool enabled = false;    // the kernel entry is enabled (false when disabled or absent)
  std::string objectPath;  // /org/binfmtd/Binfmt1/handler/...

  bool foreign() const { return ownership == Ownership::Foreign; }

  /// The one definition of "in the kernel": binfmt_misc holds an entry of this name.
  /// True for every foreign handler (they exist only as kernel entries), for an enabled
  /// one (Enabled is false when the entry is absent), and for binfmtd's registered,
  /// disabled, standby and shadowed states, which are kernel entries by definition. The
  /// other states (inactive, missing, conflict, error) of a disabled handler say it is
  /// not in the kernel as configured; whether an older entry of that name is still there,
  /// switched off, the API does not tell, and this says false.
  bool inKernel() const;

  /// The one definition of "as configured", for binfmtd's own handlers: registered;
  /// inactive (disabled in the configuration, and so absent from the kernel); or on
  /// standby for a handler with a higher priority. Every other state of an owned
  /// handler is a problem (LastError says which). Foreign handlers are not configured
  /// and always count as they should be.
  bool asConfigured() const;
};

/// One handler with all its properties (GetManagedObjects, GetAll, InterfacesAdded).
struct Handler : HandlerSummary {
  std::string flags;            // subset of "POCF", canonical order
  bool extensionMatch = false;  // Type "extension" (else "magic")
  std::string extension;        // without the dot
  std::uint32_t offset = 0;
  std::vector<std::uint8_t> magic, mask;
  std::string lastError;   // why it is not simply registered; ""
  std::string shadowedBy;  // the newer foreign entry the kernel tries first, or ""
  std::string sourceFile;  // "file:line:col" of its configuration; "" if foreign
  std::int32_t priority = 0;
  std::vector<std::string> platforms;  // OCI platform names
  /// Whether binfmtd ran its probe; nullopt from a binfmtd without verified emulation.
  std::optional<Verification> verification;
  std::string verificationDetail;
  std::string emulatorVersion;
  /// Every property as last received, also those newer than this library: for generic
  /// output (binfmtctl's --json) and for "old -> new" displays.
  PropertyMap properties;

  /// Takes over the given properties (all of them, or a PropertiesChanged set): the one
  /// decode of the Handler interface. Properties it does not know stay in `properties`.
  void apply(const PropertyMap& changed);
};

/// The manager object's properties (org.binfmtd.Binfmt1.Manager).
struct Manager {
  std::string version;
  std::string binfmtMiscPath;
  bool mounted = false;
  bool globalEnabled = false;
  std::vector<std::string> configFiles;   // in merge order
  std::vector<std::string> configErrors;  // "file:line:col: message"
  std::uint64_t lastReconcileTime = 0;    // CLOCK_REALTIME, microseconds; 0 = never
  ReconcileResult lastReconcileResult = ReconcileResult::None;
  std::uint32_t lastReconcileWrites = 0;
  std::vector<std::string> lastReconcileErrors;
  PropertyMap properties;  // as in Handler

  /// As Handler::apply, for the Manager interface.
  void apply(const PropertyMap& changed);
};

/// One entry of the architecture catalogue (ListArchitectures).
struct Architecture {
  std::string name;  // canonical ("aarch64")
  std::vector<std::string> aliases;
  std::string interpreter;  // the emulator found on this host, "" if none
  bool isStatic = false;    // that emulator is statically linked
  bool native = false;      // the host's own family (binfmtd refuses to emulate it)
  std::string handler;      // the handler name binfmtd gives it ("qemu-aarch64")
  std::vector<std::string> ociPlatforms;
  std::string defaultFlags;
  bool configured = false;  // the configuration enables it

  /// Whether `name` is this architecture's canonical name or one of its aliases.
  bool answersTo(const std::string& name) const;
};

/// One step of a dry run (Plan).
struct PlanStep {
  std::string action;   // register, replace, enable, disable, reorder, remove, adopt,
                        // conflict, shadowed, error
  std::string handler;  // may be "" for a configuration error
  std::string reason;
};

/// One line of what a change did (Enable, Disable, Reload, Repaired): the line as binfmtd
/// wrote it, and taken apart.
struct Change {
  std::string text;  // "qemu-aarch64: registered (missing)"
  ChangeLine line;   // handler "qemu-aarch64", kind Registered, reason "missing"
};

/// One result of Verify.
struct VerifyResult {
  std::string handler;
  Verification verification = Verification::Unknown;
  std::string detail;
};

/// What Check is told about the file. The caller reads the file itself, with its own
/// rights; binfmtd never opens it. See the Check method in the XML for each field.
struct CheckRequest {
  std::string path;
  std::vector<std::uint8_t> header;  // its first bytes (256 are used)
  std::uint64_t size = 0;
  std::vector<std::string> arguments;
  bool otherRoot = false;
  std::uint64_t userNamespace = 0;
  std::uint64_t binfmtMiscDevice = 0;
  std::uint32_t binfmtMiscEntries = 0;
  std::optional<std::string> hiddenInterpreter;
};

/// Check's verdict, every field "" (or empty) when the binfmtd that answered has no such key.
struct CheckResult {
  std::string format, architecture, verdict, cause, handler, interpreter, flags, reason, fix, error;
  std::vector<std::string> notes, command;

  /// The file would run (verdict "native" or "handled").
  bool runs() const { return verdict == "native" || verdict == "handled"; }
};

/// The handler name of a handler object path, decoded as sd_bus_path_decode() does
/// ("/org/binfmtd/Binfmt1/handler/qemu_2daarch64" -> "qemu-aarch64"); the path itself when
/// it is not a handler object's.
std::string handlerNameFromPath(const std::string& objectPath);

// The decoders, for callers that hold the wire data themselves (tests, signal handlers).
// Each is the only decode of its type; the wire types are those of the XML.
using ManagedObjects = std::map<sdbus::ObjectPath, std::map<std::string, PropertyMap>>;
using HandlerRecord = sdbus::Struct<std::string, std::string, std::string, std::string, std::string,
                                    bool, sdbus::ObjectPath>;  // (sssssbo)
using ArchitectureRecord = sdbus::Struct<std::string, std::vector<std::string>, std::string, bool,
                                         bool, PropertyMap>;                // (sassbba{sv})
using TripleRecord = sdbus::Struct<std::string, std::string, std::string>;  // (sss)
HandlerSummary decodeHandlerSummary(const HandlerRecord& record);
std::vector<HandlerSummary> decodeHandlerSummaries(const std::vector<HandlerRecord>& records);
std::vector<Architecture> decodeArchitectures(const std::vector<ArchitectureRecord>& records);
std::vector<PlanStep> decodePlan(const std::vector<TripleRecord>& steps);
std::vector<VerifyResult> decodeVerifyResults(const std::vector<TripleRecord>& results);
/// The handler objects among GetManagedObjects' objects, sorted by name (as ListHandlers
/// and the kernel's files are; object paths sort differently).
std::vector<Handler> decodeHandlers(const ManagedObjects& objects);
Handler decodeHandler(const std::string& objectPath, const PropertyMap& properties);
Manager decodeManager(const PropertyMap& properties);
Change decodeChange(const std::string& line);
std::vector<Change> decodeChanges(const std::vector<std::string>& lines);
CheckResult decodeCheckResult(const PropertyMap& result);
/// Check's options a{sv} for a request.
PropertyMap checkOptions(const CheckRequest& request);

}  // namespace binfmtd::client
