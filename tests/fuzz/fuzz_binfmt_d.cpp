// binfmt.d(5) files, as 'binfmtctl import' reads them: any text gives entries binfmtd
// could own, and 'binfmtctl export' writes them so that importing that gives them back.
#include <set>

#include "fuzz_check.hpp"
#include "interop/binfmt_d.hpp"

using namespace binfmtd;

extern "C" int LLVMFuzzerTestOneInput(const unsigned char* data, std::size_t size) {
  interop::ImportResult result = interop::parseBinfmtD(fuzz::text(data, size), "fuzz.conf");
  for (const auto& imported : result.entries) FUZZ_CHECK(!interop::importProblem(imported.entry));

  interop::keepLastDefinitions(result);
  std::set<std::string> names;
  std::vector<kernel::Entry> entries;
  for (const auto& imported : result.entries) {
    FUZZ_CHECK(names.insert(imported.entry.name).second);
    entries.push_back(imported.entry);
  }

  // Export and import again: each entry comes back, in order, unless the writer said
  // why it left it out.
  std::vector<std::string> problems;
  const std::string written = interop::writeBinfmtD(entries, problems);
  const interop::ImportResult again = interop::parseBinfmtD(written, "export.conf");
  FUZZ_CHECK(again.problems.empty());
  std::size_t next = 0, dropped = 0;
  for (const auto& e : entries) {
    if (next < again.entries.size() && again.entries[next].entry.sameDefinition(e)) {
      ++next;
    } else {
      ++dropped;
    }
  }
  FUZZ_CHECK(next == again.entries.size());
  FUZZ_CHECK(dropped == problems.size());
  return 0;
}
