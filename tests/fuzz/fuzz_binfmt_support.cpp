// binfmt-support's formats, as 'binfmtctl import' reads them: the package import files
// (/usr/share/binfmts) and update-binfmts' admin database (/var/lib/binfmts). The first
// line of the input is the format's name (the file name), the rest the file's text.
// Whatever an import yields, exporting it with writeImportFormat() and importing that
// gives the same entry back, short of what the writer reports as lost.
#include "fuzz_check.hpp"
#include "interop/binfmt_support.hpp"

using namespace binfmtd;

namespace {

void checkResult(const interop::ImportResult& result) {
  for (const auto& imported : result.entries) {
    const kernel::Entry& e = imported.entry;
    FUZZ_CHECK(!interop::importProblem(e));

    std::vector<std::string> problems;
    const std::string written = interop::writeImportFormat(e, problems);
    if (written.empty()) {
      FUZZ_CHECK(!problems.empty());
      continue;
    }
    const interop::ImportResult again = interop::parseImportFormat(e.name, written, "export");
    FUZZ_CHECK(again.problems.empty());
    FUZZ_CHECK(again.entries.size() == 1);
    // binfmt-support has no O without C; the writer reports dropping it.
    kernel::Entry expected = e;
    if (e.flags.find('O') != std::string::npos && e.flags.find('C') == std::string::npos)
      expected.flags.erase(expected.flags.find('O'), 1);
    FUZZ_CHECK(again.entries[0].entry.sameDefinition(expected));
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const unsigned char* data, std::size_t size) {
  std::string_view text = fuzz::text(data, size);
  const auto newline = text.find('\n');
  if (newline == std::string_view::npos) return 0;
  // A file name: what readBinfmtSupport() would pass.
  const std::string_view name = text.substr(0, newline);
  if (name.empty() || name.size() > 255 || name.front() == '.' ||
      name.find_first_of(std::string_view("/\0", 2)) != std::string_view::npos)
    return 0;
  text.remove_prefix(newline + 1);

  checkResult(interop::parseImportFormat(name, text, "fuzz"));
  checkResult(interop::parseAdminFormat(name, text, "fuzz"));
  checkResult(interop::parseBinfmtSupport(name, text, "fuzz"));
  return 0;
}
