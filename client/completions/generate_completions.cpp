// Writes binfmtctl's completion for bash, zsh or fish from its template (*.in) and the
// command table (client/command_table.cpp), so that the completions know exactly the
// commands binfmtctl dispatches and documents. Run by meson at build time:
//   generate-completions bash|zsh|fish TEMPLATE OUTPUT
#include <algorithm>
#include <cstdio>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "command_table.hpp"

namespace {

using binfmtctl::Completes;

std::string quoted(const std::string& text, const std::string& escapedQuote) {
  std::string out = "'";
  for (char c : text) out += c == '\'' ? escapedQuote : std::string(1, c);
  return out + "'";
}

std::string joined(const std::vector<std::string>& words, const char* separator) {
  std::string out;
  for (const auto& w : words) out += (out.empty() ? "" : separator) + w;
  return out;
}

// The commands whose arguments a shell completes with the same action, in table order:
// (action, names) pairs.
std::vector<std::pair<std::string, std::vector<std::string>>> byAction(
    const std::map<Completes, std::string>& how) {
  std::vector<std::pair<std::string, std::vector<std::string>>> groups;
  for (const auto& c : binfmtctl::commands()) {
    if (c.completes == Completes::Nothing) continue;
    const std::string& action = how.at(c.completes);
    auto it = std::find_if(groups.begin(), groups.end(),
                           [&](const auto& g) { return g.first == action; });
    if (it == groups.end()) it = groups.insert(groups.end(), {action, {}});
    it->second.emplace_back(c.name);
  }
  return groups;
}

struct Pieces {
  std::string descriptions, arguments;
};

Pieces bash() {
  const std::map<Completes, std::string> how = {
      {Completes::ArchitecturesFirst,
       "COMPREPLY=($(compgen -W \"$(_binfmtctl_archs) $(_binfmtctl_handlers)\" -- \"$cur\"))"},
      {Completes::HandlersFirst,
       "COMPREPLY=($(compgen -W \"$(_binfmtctl_handlers) $(_binfmtctl_archs)\" -- \"$cur\"))"},
      {Completes::Files, "_filedir"},
      {Completes::Commands, "COMPREPLY=($(compgen -W \"$commands\" -- \"$cur\"))"},
  };
  Pieces p;
  for (const auto& [action, names] : byAction(how))
    p.arguments += "        " + joined(names, " | ") + ") " + action + " ;;\n";
  return p;
}

Pieces zsh() {
  const std::map<Completes, std::string> how = {
      {Completes::ArchitecturesFirst, "_binfmtctl_names"},
      {Completes::HandlersFirst, "_binfmtctl_names"},
      {Completes::Files, "_files"},
      {Completes::Commands, "_describe -t commands 'binfmtctl command' commands"},
  };
  Pieces p;
  for (const auto& c : binfmtctl::commands())
    p.descriptions += "    " + quoted(std::string(c.name) + ":" + c.summary, "'\\''") + "\n";
  for (const auto& [action, names] : byAction(how))
    p.arguments += "        " + joined(names, "|") + ") " + action + " ;;\n";
  return p;
}

Pieces fish() {
  const std::map<Completes, std::string> how = {
      {Completes::ArchitecturesFirst, "-a '(__binfmtctl_names)'"},
      {Completes::HandlersFirst, "-a '(__binfmtctl_names)'"},
      {Completes::Files, "-F"},
      {Completes::Commands, "-a \"$commands\""},
  };
  Pieces p;
  for (const auto& c : binfmtctl::commands())
    p.descriptions += std::string(
                          "complete -c binfmtctl -n \"not __fish_seen_subcommand_from "
                          "$commands\" -a ") +
                      c.name + " -d " + quoted(c.summary, "\\'") + "\n";
  for (const auto& [action, names] : byAction(how))
    p.arguments += "complete -c binfmtctl -n \"__fish_seen_subcommand_from " + joined(names, " ") +
                   "\" " + action + "\n";
  return p;
}

// Replaces a placeholder on a line of its own (with its newline), else where it stands.
void substitute(std::string& text, const std::string& placeholder, const std::string& value,
                bool block) {
  std::string key = placeholder + (block ? "\n" : "");
  std::size_t at = text.find(key);
  if (at == std::string::npos && block) {
    key = placeholder;
    at = text.find(key);
  }
  if (at == std::string::npos) return;
  text.replace(at, key.size(), value);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 4) {
    std::fprintf(stderr, "usage: generate-completions bash|zsh|fish TEMPLATE OUTPUT\n");
    return 2;
  }
  const std::string shell = argv[1];
  if (shell != "bash" && shell != "zsh" && shell != "fish") {
    std::fprintf(stderr, "generate-completions: unknown shell '%s'\n", argv[1]);
    return 2;
  }
  std::ifstream in(argv[2]);
  std::stringstream template_;
  template_ << in.rdbuf();
  if (!in) {
    std::fprintf(stderr, "generate-completions: cannot read %s\n", argv[2]);
    return 1;
  }
  std::string text = template_.str();
  const Pieces p = shell == "bash" ? bash() : shell == "zsh" ? zsh() : fish();
  std::vector<std::string> names;
  for (const auto& c : binfmtctl::commands()) names.emplace_back(c.name);
  substitute(text, "@GENERATED@",
             "Generated from client/command_table.cpp and this file's template (.in); edit those.",
             false);
  substitute(text, "@COMMANDS@", joined(names, " "), false);
  substitute(text, "@DESCRIPTIONS@", p.descriptions, true);
  substitute(text, "@ARGUMENTS@", p.arguments, true);
  std::ofstream out(argv[3]);
  out << text;
  out.close();
  if (!out) {
    std::fprintf(stderr, "generate-completions: cannot write %s\n", argv[3]);
    return 1;
  }
  return 0;
}
