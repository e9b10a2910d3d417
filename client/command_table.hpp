// binfmtctl's commands as one table: main() dispatches through it, `binfmtctl help` and
// `binfmtctl COMMAND --help` print it, and the shell completions are generated from it
// (completions/generate_completions.cpp), so a command exists in all three or in none.
#pragma once

#include <cstdio>
#include <string>
#include <string_view>
#include <vector>

namespace binfmtctl {

/// binfmtctl(1)'s exit status for a usage error. The others: 0 success, 1 failure, 3
/// binfmtd not reachable and the domain errors' codes (binfmtd-client/error.hpp).
inline constexpr int kExitUsage = 2;

/// import and export's options.
struct InteropOptions {
  std::string from;    // import: "binfmt.d" (default), "binfmt-support" or "kernel"
  std::string format;  // export: "binfmt.d" (default), "binfmt-support" or "json"
  std::string output;  // file to write (a directory for binfmt-support); "" for stdout
  bool all = false;    // export: foreign entries too; import --from=kernel: binfmtd's too
};

/// One command line, parsed.
struct Invocation {
  std::string command;
  std::vector<std::string> args;
  bool json = false;
  bool runtime = false;
  bool askPassword = true;  // changes may let polkit ask for a password (--no-ask-password)
  InteropOptions interop;
};

struct OptionHelp {
  const char* option;  // "--json", "--from=SOURCE"
  const char* text;
};

/// What the shell completions offer after the command.
enum class Completes {
  Nothing,
  ArchitecturesFirst,  // architecture names and aliases, then handler names (enable)
  HandlersFirst,       // handler names, then architectures (disable, show)
  Files,
  Commands,
};

struct Command {
  const char* name;
  const char* arguments;  // "NAME..." or ""
  const char* summary;    // one line, for the command list
  const char* details;    // a paragraph, lines of at most 80 columns
  std::vector<OptionHelp> options;
  const char* example;
  Completes completes;
  /// Runs it and returns the exit status; a binfmtd::client::Error it throws is reported
  /// by main() (its sentence and exit status).
  int (*run)(const Invocation&);

  /// Whether `option` ("--runtime", "--output") is one of this command's.
  bool takes(std::string_view option) const;
};

/// Every command, in the order `binfmtctl --help` lists them.
const std::vector<Command>& commands();

/// The command named `name`, or nullptr.
const Command* findCommand(std::string_view name);

/// "status, list, show, ..." for error messages.
std::string commandNames();

/// The commands that take `option`, as "enable and disable".
std::string commandsTaking(std::string_view option);

/// The general usage text (`binfmtctl --help`).
void printUsage(FILE* out);

/// One command's usage, options and example.
void printCommandHelp(FILE* out, const Command& command);

/// `binfmtctl help [COMMAND]`.
int runHelp(const Invocation& inv);

}  // namespace binfmtctl
