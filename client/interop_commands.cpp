#include "interop_commands.hpp"

#include <cstdio>
#include <filesystem>

#include "binfmtd-client/client.hpp"
#include "error.hpp"
#include "interop/binfmt_d.hpp"
#include "interop/binfmt_support.hpp"
#include "interop/config_json.hpp"
#include "interop/sources.hpp"
#include "util/atomic_file.hpp"

namespace binfmtctl {

namespace {

namespace fs = std::filesystem;
namespace client = binfmtd::client;
using binfmtd::HandlerState;
using binfmtd::interop::ImportResult;
using binfmtd::kernel::Entry;

// A handler's definition as a kernel entry, for the other tools' formats.
Entry entryOf(const client::Handler& h) {
  Entry e;
  e.name = h.name;
  e.interpreter = h.interpreter;
  e.flags = h.flags;
  if (h.extensionMatch) {
    e.type = binfmtd::kernel::MatchType::Extension;
    e.extension = h.extension;
  } else {
    e.offset = h.offset;
    e.magic.assign(h.magic.begin(), h.magic.end());
    e.mask.assign(h.mask.begin(), h.mask.end());
  }
  e.enabled = h.state != HandlerState::Inactive && h.state != HandlerState::Disabled;
  return e;
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
    binfmtd::util::writeFileAtomically(file, text);
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
  for (const auto& h : client::Client().handlers()) {
    if (!h.inKernel() || (!h.foreign() && !all)) continue;
    const std::string source = "kernel entry '" + h.name + "'";
    Entry entry = entryOf(h);
    if (auto problem = binfmtd::interop::importProblem(entry)) {
      result.problems.push_back(source + ": " + *problem + ", ignoring");
    } else {
      result.entries.push_back({std::move(entry), source});
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
  for (const auto& h : client::Client().handlers())
    if (!h.foreign() || o.all) entries.push_back(entryOf(h));
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

int runImport(const Invocation& inv) { return cmdImport(inv.args, inv.interop); }

int runExport(const Invocation& inv) { return cmdExport(inv.args, inv.interop); }

}  // namespace binfmtctl
