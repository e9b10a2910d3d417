// binfmtctl's commands as the user sees them: synopsis, what each does, its options and
// an example, for `binfmtctl help COMMAND` and `binfmtctl COMMAND --help`.
#pragma once

#include <cstdio>
#include <string>
#include <string_view>
#include <vector>

namespace binfmtctl {

struct OptionHelp {
  const char* option;  // "--json"
  const char* text;
};

struct CommandHelp {
  const char* name;
  const char* arguments;  // "NAME..." or ""
  const char* summary;    // one line, for the command list
  const char* details;    // a paragraph, lines of at most 80 columns
  std::vector<OptionHelp> options;
  const char* example;
};

/// Every command, in the order `binfmtctl --help` lists them.
const std::vector<CommandHelp>& commandHelp();

/// The command named `name`, or nullptr.
const CommandHelp* findCommand(std::string_view name);

/// "status, list, show, ..." for error messages.
std::string commandNames();

/// The general usage text (`binfmtctl --help`).
void printUsage(FILE* out);

/// One command's usage, options and example.
void printCommandHelp(FILE* out, const CommandHelp& command);

}  // namespace binfmtctl
