#include "interop/binfmt_support.hpp"

#include <vector>


namespace binfmtd::interop {

namespace {

// A format as update-binfmts keeps it, whichever file it came from.
struct Format {
  std::string package;
  std::string type;  // "magic" or "extension"
  std::string offset;
  std::string magic;  // the extension when type is "extension"
  std::string mask;
  std::string interpreter;
  std::string detector;
  std::string credentials;
  std::string preserve;
  std::string fixBinary;
};

// What update-binfmts (Perl's \s, without the newline) strips from the ends of a line.
constexpr std::string_view kBlanks = " \t\v\f\r";

// update-binfmts reads both formats line by line and drops trailing blanks from each line.
std::vector<std::string_view> splitLines(std::string_view text) {
  std::vector<std::string_view> lines;
  while (!text.empty()) {
    const auto end = text.find('\n');
    std::string_view line = text.substr(0, end);
    const auto last = line.find_last_not_of(kBlanks);
    lines.push_back(line.substr(0, last == std::string_view::npos ? 0 : last + 1));
    text.remove_prefix(end == std::string_view::npos ? text.size() : end + 1);
  }
  return lines;
}

std::string_view trim(std::string_view s) {
  const auto first = s.find_first_not_of(kBlanks);
  if (first == std::string_view::npos) return {};
  return s.substr(first, s.find_last_not_of(kBlanks) - first + 1);
}

// update-binfmts turns an option on for exactly "yes"; say so when a value is neither.
bool yes(const std::string& value, const char* key, const std::string& file,
         std::vector<std::string>& problems) {
  if (!value.empty() && value != "yes" && value != "no")
    problems.push_back(file + ": '" + key + "' is '" + value + "', which update-binfmts reads as 'no'");
  return value == "yes";
}

// The entry update-binfmts would register for `f`: it builds the register string from the
// fields as they are, so parsing that string is exactly what the kernel makes of them.
ImportResult toEntry(std::string_view name, const Format& f, const std::string& file) {
  ImportResult result;
  auto skip = [&](const std::string& why) {
    result.problems.push_back(file + ": " + why + ", ignoring");
    return result;
  };
  if (f.package.empty()) return skip("required 'package' line missing");
  if (f.interpreter.empty()) return skip("required 'interpreter' line missing");
  if (f.type.empty()) return skip("neither 'magic' nor 'extension' is given");
  if (!f.detector.empty())
    return skip("'" + std::string(name) + "' uses the userspace detector " + f.detector +
                " (binfmt-support's run-detectors), which binfmtd cannot express");
  const bool magic = f.type == "magic";
  if (!magic && (!f.mask.empty() || !f.offset.empty()))
    return skip("'mask' and 'offset' cannot be used with 'extension'");

  std::string flags;
  if (yes(f.preserve, "preserve", file, result.problems)) flags += 'P';
  if (yes(f.credentials, "credentials", file, result.problems)) flags += 'C';
  if (yes(f.fixBinary, "fix_binary", file, result.problems)) flags += 'F';
  const std::string rule = ":" + std::string(name) + ":" + (magic ? "M" : "E") + ":" +
                           f.offset + ":" + f.magic + ":" + f.mask + ":" + f.interpreter + ":" +
                           flags;
  std::string why;
  auto entry = kernel::parseRegisterString(rule, &why);
  if (entry) {
    if (auto problem = importProblem(*entry)) why = *problem;
  }
  if (!why.empty()) return skip("'" + std::string(name) + "': " + why);
  result.entries.push_back({std::move(*entry), file});
  return result;
}

}  // namespace

bool isAdminFormat(std::string_view text) {
  const auto lines = splitLines(text);
  return lines.size() == 10 && (lines[1] == "magic" || lines[1] == "extension");
}

ImportResult parseImportFormat(std::string_view name, std::string_view text,
                               const std::string& file) {
  Format f;
  std::vector<std::string> problems;
  int number = 0;
  for (std::string_view line : splitLines(text)) {
    ++number;
    line = trim(line);
    if (line.empty() || line.front() == '#') continue;  // '#': binfmtctl export's headers
    const auto blank = line.find_first_of(" \t");
    const std::string_view key = line.substr(0, blank);
    // update-binfmts keeps blanks after the first one, which can only make a broken path.
    const std::string value(blank == std::string_view::npos ? "" : trim(line.substr(blank)));
    if (key == "package") {
      f.package = value;
    } else if (key == "interpreter") {
      f.interpreter = value;
    } else if (key == "magic" || key == "extension") {
      if (!f.type.empty() && f.type != key) {
        problems.push_back(file + ":" + std::to_string(number) +
                           ": both 'magic' and 'extension' are given, ignoring the file");
        return {{}, problems};
      }
      f.type = key;
      f.magic = value;
    } else if (key == "offset") {
      f.offset = value;
    } else if (key == "mask") {
      f.mask = value;
    } else if (key == "detector") {
      f.detector = value;
    } else if (key == "credentials") {
      f.credentials = value;
    } else if (key == "preserve") {
      f.preserve = value;
    } else if (key == "fix_binary") {
      f.fixBinary = value;
    } else {
      problems.push_back(file + ":" + std::to_string(number) + ": unknown key '" +
                         std::string(key) + "', ignoring");
    }
  }
  ImportResult result = toEntry(name, f, file);
  problems.insert(problems.end(), result.problems.begin(), result.problems.end());
  result.problems = std::move(problems);
  return result;
}

ImportResult parseAdminFormat(std::string_view name, std::string_view text,
                              const std::string& file) {
  const auto lines = splitLines(text);
  if (lines.size() != 10)
    return {{}, {file + ": an update-binfmts database entry has 10 lines, not " +
                 std::to_string(lines.size()) + ", ignoring"}};
  Format f{std::string(lines[0]), std::string(lines[1]), std::string(lines[2]),
           std::string(lines[3]), std::string(lines[4]), std::string(lines[5]),
           std::string(lines[6]), std::string(lines[7]), std::string(lines[8]),
           std::string(lines[9])};
  if (f.type != "magic" && f.type != "extension")
    return {{}, {file + ":2: type '" + f.type + "' is neither 'magic' nor 'extension', ignoring"}};
  // update-binfmts stores offset 0 for extension formats too; the kernel ignores it.
  if (f.type == "extension" && f.offset == "0") f.offset.clear();
  return toEntry(name, f, file);
}

ImportResult parseBinfmtSupport(std::string_view name, std::string_view text,
                                const std::string& file) {
  return isAdminFormat(text) ? parseAdminFormat(name, text, file)
                             : parseImportFormat(name, text, file);
}

std::string writeImportFormat(const kernel::Entry& e, std::vector<std::string>& problems) {
  const std::string subject = "'" + e.name + "': ";
  if (auto problem = kernel::validate(e)) {
    problems.push_back(subject + *problem + ", ignoring");
    return {};
  }
  // update-binfmts joins the fields with ':' and has no other delimiter.
  for (const std::string* field : {&e.name, &e.interpreter, &e.extension}) {
    if (field->find(':') != std::string::npos) {
      problems.push_back(subject + "'" + *field +
                         "' contains ':', which update-binfmts cannot register, ignoring");
      return {};
    }
  }
  // The reader strips blanks at both ends of a value, so they would not come back.
  for (const std::string* field : {&e.interpreter, &e.extension}) {
    if (!field->empty() && (kBlanks.find(field->front()) != std::string_view::npos ||
                            kBlanks.find(field->back()) != std::string_view::npos)) {
      problems.push_back(subject + "'" + *field +
                         "' starts or ends with a blank, which an import file cannot hold, ignoring");
      return {};
    }
  }
  const std::string& flags = e.flags;
  const auto has = [&](char c) { return flags.find(c) != std::string::npos; };
  if (has('O') && !has('C'))
    problems.push_back(subject + "flag O dropped: binfmt-support can only set it with C");
  if (!e.enabled)
    problems.push_back(subject + "disabled in the kernel; 'update-binfmts --import' enables it");

  std::string out = "package " + std::string(kExportPackage) + "\n";
  out += "interpreter " + e.interpreter + "\n";
  if (e.type == kernel::MatchType::Magic) {
    out += "magic " + kernel::escapeBytes(e.magic) + "\n";
    out += "offset " + std::to_string(e.offset) + "\n";
    if (!e.mask.empty()) out += "mask " + kernel::escapeBytes(e.mask) + "\n";
  } else {
    out += "extension " + e.extension + "\n";
  }
  const auto yesNo = [&](char c) { return has(c) ? std::string("yes") : std::string("no"); };
  out += "credentials " + yesNo('C') + "\n";
  out += "preserve " + yesNo('P') + "\n";
  out += "fix_binary " + yesNo('F') + "\n";
  return out;
}

}  // namespace binfmtd::interop
