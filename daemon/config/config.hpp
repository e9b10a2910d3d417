// The declarative configuration: JSON files layered like systemd's *.d directories,
// merged into one Config, with file:line:col diagnostics; and the atomic writes that
// binfmtctl's enable/disable turn into.
#pragma once

#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "kernel/entry.hpp"
#include "util/atomic_file.hpp"

namespace binfmtd::config {

/// Where configuration lives. Every path is overridable (tests, binfmtd --config-root...).
struct Paths {
  std::filesystem::path adminDir = "/etc/binfmtd";      // binfmtd.json, conf.d/*.json
  std::filesystem::path runtimeDir = "/run/binfmtd";    // conf.d/*.json
  std::filesystem::path vendorDir = "/usr/lib/binfmtd"; // conf.d/*.json

  std::filesystem::path mainFile() const { return adminDir / "binfmtd.json"; }
  /// The drop-in binfmtctl enable/disable write: persistent under /etc, runtime under /run.
  /// The runtime file sorts after the persistent one, so a runtime change wins until reboot.
  std::filesystem::path controlFile(bool runtime) const {
    return runtime ? runtimeDir / "conf.d" / "50-binfmtctl.runtime.json"
                   : adminDir / "conf.d" / "50-binfmtctl.json";
  }
  /// Directories to watch for changes (the conf.d dirs and adminDir for the main file).
  std::vector<std::filesystem::path> watchDirs() const;
};

/// Where a setting came from, for messages and the D-Bus SourceFile property.
struct Location {
  std::string file;
  int line = 0;    // 1-based; 0 = unknown
  int column = 0;  // 1-based
  std::string toString() const;  // "file:line:col" (or "file" when unknown)
};

/// What to do when the wanted entry's name is already taken by an entry another program
/// registered ("foreign" in the config).
enum class ForeignPolicy {
  Adopt,  // replace it with ours and own it (default for architectures)
  Keep,   // leave it alone and report the conflict (default for custom handlers)
};

/// One element of "architectures": a catalogue architecture, by any of its names.
struct ArchitectureRequest {
  std::string name;    // canonical catalogue name ("aarch64"), resolved at load
  bool enabled = true;
  std::optional<std::string> interpreter;  // overrides emulator discovery
  std::optional<std::string> flags;        // overrides default flags (canonical form)
  /// Among handlers that match the same binaries, the highest priority is registered last
  /// (the kernel tries the newest entry first) and the others are kept disabled. Entries
  /// of other programs count as priority 0.
  int priority = 0;
  ForeignPolicy foreign = ForeignPolicy::Adopt;
  /// A missing interpreter is not an error (only without the F flag: the kernel then
  /// opens it at exec time), for emulators installed later or on removable media.
  bool allowMissingInterpreter = false;
  Location source;     // the last file that set any field of it
};

/// One element of "handlers": a fully custom entry (Wine, Java, box64, FEX, ...).
struct HandlerSpec {
  kernel::Entry entry;  // name, type, offset, magic/mask or extension, interpreter, flags
  bool enabled = true;
  int priority = 0;     // as for ArchitectureRequest
  ForeignPolicy foreign = ForeignPolicy::Keep;
  bool allowMissingInterpreter = false;  // as for ArchitectureRequest
  Location source;
};

/// The top-level "healing" object: how binfmtd repairs what others do to the kernel table.
struct Healing {
  bool enabled = true;      // repair owned entries that others removed, changed or disabled
  /// Seconds between full checks of the kernel table, on top of the change events that
  /// trigger a check at once; 0 = events only.
  double interval = 1.0;
  /// Whether to write 1 to `status` when someone disabled binfmt_misc as a whole; by
  /// default that is only reported, since it is an administrator's explicit act.
  bool enableGlobal = false;
};

struct Config {
  std::vector<ArchitectureRequest> architectures;  // sorted by name
  std::vector<HandlerSpec> handlers;               // sorted by name
  Healing healing;
  std::vector<std::string> files;                  // files read, in merge order
};

struct Diagnostic {
  Location where;
  std::string message;
  std::string toString() const;  // "file:line:col: message"
};

struct LoadResult {
  Config config;
  std::vector<Diagnostic> errors;  // every problem found; affected items are left out
  /// Files that failed to parse as a whole (their content is missing from config).
  std::vector<std::string> brokenFiles;
};

/// The files to merge, in order: adminDir/binfmtd.json first, then every conf.d/*.json
/// from the three directories sorted by file name; for the same file name adminDir wins
/// over runtimeDir over vendorDir; a symlink to /dev/null (or an empty file) masks it.
/// Directories not owned by root, or writable by others, are skipped (as if missing), with
/// a diagnostic in `errors` when given.
std::vector<std::filesystem::path> configFiles(const Paths& paths,
                                               std::vector<Diagnostic>* errors = nullptr);

/// Parses one file's text (for tests and the loader). Items in it that are invalid are
/// reported in `errors` and left out; a syntax error reports line and column and yields
/// an empty fragment. `file` is used only for messages.
struct Fragment {
  std::vector<std::pair<ArchitectureRequest, std::vector<std::string>>> architectures;  // + fields set
  std::vector<std::pair<HandlerSpec, std::vector<std::string>>> handlers;               // + fields set
  Healing healing;                         // the valid fields of "healing", defaults otherwise
  std::vector<std::string> healingFields;  // the keys of "healing" given with a valid value
  bool syntaxOk = true;
};
Fragment parseFile(std::string_view text, const std::string& file, std::vector<Diagnostic>& errors);

/// Loads and merges every config file. Later files override the fields they set of an
/// item with the same name (a file may say only {"name": "arm64", "enabled": false}).
/// `lastGood` maps a file to its last successfully parsed text; a file that now fails
/// to parse is replaced by that text (and still reported), so that a typo never costs a
/// working handler. The loader updates lastGood with every file that parses.
LoadResult load(const Paths& paths, std::map<std::string, std::string>* lastGood = nullptr);

/// Sets items enabled or disabled in the binfmtctl drop-in (runtime or persistent):
/// `architectures` are canonical catalogue names, `handlers` handler names. A persistent
/// change also drops the same items from the runtime file, so the latest command wins.
/// Written atomically: temp file in the same directory, fsync, rename, fsync of the dir.
/// Throws Error(ConfigInvalid) if the existing drop-in is not valid JSON (it is not
/// overwritten), Error(Io) on write failures.
void setEnabled(const Paths& paths, const std::vector<std::string>& architectures,
                const std::vector<std::string>& handlers, bool enabled, bool runtime);

/// Writes `text` to `file` atomically (see setEnabled), creating parent directories 0755.
using util::writeFileAtomically;

}  // namespace binfmtd::config
