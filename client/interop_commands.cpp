#include "interop_commands.hpp"

#include <sdbus-c++/sdbus-c++.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <map>

#include "commands.hpp"
#include "config/config.hpp"
#include "error.hpp"
#include "interop/binfmt_d.hpp"
#include "interop/binfmt_support.hpp"
#include "interop/config_json.hpp"
#include "interop/sources.hpp"
#include "names.hpp"

namespace binfmtctl {

namespace {

using namespace binfmtd::bus_names;

namespace fs = std::filesystem;
using binfmtd::interop::ImportResult;
using binfmtd::kernel::Entry;
using PropertyMap = std::map<std::string, sdbus::Variant>;


// One of binfmtd's handler objects.
struct DaemonHandler {
  Entry entry;
  bool foreign = false;
  bool inKernel = false;
};

std::string bytes(const sdbus::Variant& v) {
  const auto b = v.get<std::vector<uint8_t>>();
  return {b.begin(), b.end()};
}

DaemonHandler fromProperties(const PropertyMap& p) {
  const auto s = [&](const char* key) { return p.at(key).get<std::string>(); };
  DaemonHandler h;
  Entry& e = h.entry;
  e.name = s("Name");
  e.interpreter = s("Interpreter");
  e.flags = s("Flags");
  if (s("Type") == "extension") {
    e.type = binfmtd::kernel::MatchType::Extension;
    e.extension = s("Extension");
  } else {
    e.offset = p.at("Offset").get<uint32_t>();
    e.magic = bytes(p.at("Magic"));
    e.mask = bytes(p.at("Mask"));
  }
  const std::string state = s("State");
  e.enabled = state != "inactive" && state != "disabled";
  h.foreign = s("Ownership") == "foreign";
  // Only kernel entries are foreign; binfmtd's own are in the kernel when registered or
  // disabled there, or enabled (the other states may show the configured definition).
  h.inKernel = h.foreign || state == "registered" || state == "disabled" ||
               p.at("Enabled").get<bool>();
  return h;
}

// Every handler binfmtd knows, from one ObjectManager call.
std::vector<DaemonHandler> daemonHandlers() {
  auto bus = sdbus::createSystemBusConnection();
  auto proxy = sdbus::createProxy(*bus, kBusName, kManagerPath);
  std::map<sdbus::ObjectPath, std::map<std::string, PropertyMap>> objects;
  proxy->callMethod("GetManagedObjects")
      .onInterface("org.freedesktop.DBus.ObjectManager")
      .storeResultsTo(objects);
  std::vector<DaemonHandler> handlers;
  for (const auto& [path, interfaces] : objects) {
    const auto it = interfaces.find(kHandlerInterface);
    if (it != interfaces.end()) handlers.push_back(fromProperties(it->second));
  }
  // By name, as files and listings are (object paths sort differently: '-' is "_2d").
  std::sort(handlers.begin(), handlers.end(),
            [](const auto& a, const auto& b) { return a.entry.name < b.entry.name; });
  return handlers;
}

void printProblems(const std::vector<std::string>& problems) {
  for (const auto& p : problems) std::fprintf(stderr, "%s\n", p.c_str());
}

// Writes `text` to stdout, or atomically to `file`. Returns the exit code.
int emit(const std::string& text, const std::string& file) {
  if (file.empty()) {
    std::fputs(text.c_str(), stdout);
    return 0;
  }
  try {
    binfmtd::config::writeFileAtomically(file, text);
  } catch (const binfmtd::Error& e) {
    std::fprintf(stderr, "binfmtctl: %s\n", e.what());
    return binfmtd::errorInfo(e.code()).exitCode;
  }
  return 0;
}

ImportResult importBinfmtD(const std::vector<std::string>& args) {
  namespace interop = binfmtd::interop;
  if (args.empty()) return interop::readBinfmtDDirectories(interop::binfmtDDirectories());
  std::vector<fs::path> dirs, files;
  for (const auto& a : args) {
    std::error_code ec;
    (fs::is_directory(a, ec) ? dirs : files).emplace_back(a);
  }
  ImportResult result;
  if (!dirs.empty()) result = interop::readBinfmtDDirectories(dirs);
  result.append(interop::readBinfmtDFiles(files));
  interop::keepLastDefinitions(result);  // a file named after the directories replaces them
  return result;
}

ImportResult importBinfmtSupport(const std::vector<std::string>& args) {
  namespace interop = binfmtd::interop;
  if (args.empty()) {
    std::vector<fs::path> dirs;  // binfmt-support may not be installed: nothing to say then
    for (const auto& dir : interop::binfmtSupportDirectories()) {
      std::error_code ec;
      if (fs::exists(dir, ec)) dirs.push_back(dir);
    }
    return interop::readBinfmtSupport(dirs);
  }
  return interop::readBinfmtSupport({args.begin(), args.end()});
}

// The kernel's entries as binfmtd sees them: foreign ones, and with --all its own too.
ImportResult importKernel(bool all) {
  ImportResult result;
  for (auto& h : daemonHandlers()) {
    if (!h.inKernel || (!h.foreign && !all)) continue;
    const std::string source = "kernel entry '" + h.entry.name + "'";
    if (auto problem = binfmtd::interop::importProblem(h.entry)) {
      result.problems.push_back(source + ": " + *problem + ", ignoring");
    } else {
      result.entries.push_back({std::move(h.entry), source});
    }
  }
  return result;
}

int cmdImport(const std::vector<std::string>& args, const InteropOptions& o) {
  const std::string from = o.from.empty() ? "binfmt.d" : o.from;
  if (from != "binfmt.d" && from != "binfmt-support" && from != "kernel") {
    std::fprintf(stderr, "binfmtctl: --from must be binfmt.d, binfmt-support or kernel\n");
    return kExitUsage;
  }
  if (from == "kernel" && !args.empty()) {
    std::fprintf(stderr, "binfmtctl: 'import --from=kernel' takes no paths\n");
    return kExitUsage;
  }
  if (o.all && from != "kernel") {
    std::fprintf(stderr, "binfmtctl: --all applies to 'import --from=kernel' only\n");
    return kExitUsage;
  }
  ImportResult result = from == "binfmt.d"         ? importBinfmtD(args)
                        : from == "binfmt-support" ? importBinfmtSupport(args)
                                                   : importKernel(o.all);
  printProblems(result.problems);
  if (result.entries.empty()) {
    std::fprintf(stderr, "binfmtctl: nothing to import from %s\n", from.c_str());
    return 1;
  }
  std::vector<Entry> entries;
  for (auto& i : result.entries) entries.push_back(std::move(i.entry));
  std::vector<std::string> problems;
  const std::string json = binfmtd::interop::writeConfigJson(entries, problems);
  printProblems(problems);
  const int code = emit(json, o.output);
  const std::size_t written = entries.size() - problems.size();  // a problem: one left out
  if (code == 0 && !o.output.empty())
    std::printf("Imported %zu handler(s) into %s.\n", written, o.output.c_str());
  return code;
}

// binfmt-support keeps one file per format: NAME files in a directory, or on stdout each
// after a "# NAME" line (which update-binfmts and binfmtctl import skip).
int exportBinfmtSupport(const std::vector<Entry>& entries, const std::string& dir) {
  std::vector<std::string> problems;
  std::string all;
  int code = 0;
  for (const auto& e : entries) {
    const std::string text = binfmtd::interop::writeImportFormat(e, problems);
    if (text.empty()) continue;
    if (dir.empty()) {
      all += (all.empty() ? "# " : "\n# ") + e.name + "\n" + text;
    } else if (int c = emit(text, (fs::path(dir) / e.name).string()); c != 0) {
      code = c;
    }
  }
  printProblems(problems);
  if (dir.empty()) std::fputs(all.c_str(), stdout);
  return code;
}

int cmdExport(const std::vector<std::string>& args, const InteropOptions& o) {
  const std::string format = o.format.empty() ? "binfmt.d" : o.format;
  if (format != "binfmt.d" && format != "binfmt-support" && format != "json") {
    std::fprintf(stderr, "binfmtctl: --format must be binfmt.d, binfmt-support or json\n");
    return kExitUsage;
  }
  if (!args.empty()) {
    std::fprintf(stderr, "binfmtctl: 'export' takes no names; use --all for foreign entries\n");
    return kExitUsage;
  }
  std::vector<Entry> entries;
  for (auto& h : daemonHandlers()) {
    if (!h.foreign || o.all) entries.push_back(std::move(h.entry));
  }
  if (entries.empty())
    std::fprintf(stderr, "binfmtctl: binfmtd has no handlers of its own%s\n",
                 o.all ? "" : "; --all exports foreign entries too");
  if (format == "binfmt-support") return exportBinfmtSupport(entries, o.output);
  std::vector<std::string> problems;
  const std::string text = format == "json"
                               ? binfmtd::interop::writeConfigJson(entries, problems)
                               : binfmtd::interop::writeBinfmtD(entries, problems);
  printProblems(problems);
  return emit(text, o.output);
}

}  // namespace

bool isInteropCommand(const std::string& command) {
  return command == "import" || command == "export";
}

int runInteropCommand(const std::string& command, const std::vector<std::string>& args,
                      const InteropOptions& options) {
  return command == "import" ? cmdImport(args, options) : cmdExport(args, options);
}

}  // namespace binfmtctl
