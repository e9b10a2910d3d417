// The entry files of /proc/sys/fs/binfmt_misc, which the daemon reads on every reconcile:
// any text is either refused or parsed into an entry that, printed the way the kernel
// prints it (fs/binfmt_misc.c, entry_status()), parses back to the same entry.
#include <string>

#include "fuzz_check.hpp"
#include "kernel/entry.hpp"

using binfmtd::kernel::Entry;

namespace {

std::string kernelText(const Entry& e) {
  std::string out = e.enabled ? "enabled\n" : "disabled\n";
  out += "interpreter " + e.interpreter + "\n";
  out += "flags: " + e.flags + "\n";
  if (e.type == binfmtd::kernel::MatchType::Extension) return out + "extension ." + e.extension + "\n";
  out += "offset " + std::to_string(e.offset) + "\n";
  out += "magic " + binfmtd::kernel::toHex(e.magic) + "\n";
  if (!e.mask.empty()) out += "mask " + binfmtd::kernel::toHex(e.mask) + "\n";
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const unsigned char* data, std::size_t size) {
  std::string why;
  const auto entry = binfmtd::kernel::parseEntryFile("fuzz", fuzz::text(data, size), &why);
  if (!entry) {
    FUZZ_CHECK(!why.empty());
    return 0;
  }
  FUZZ_CHECK(entry->name == "fuzz");
  FUZZ_CHECK(!entry->interpreter.empty());
  FUZZ_CHECK(binfmtd::kernel::canonicalFlags(entry->flags) == entry->flags);
  if (entry->type == binfmtd::kernel::MatchType::Magic) {
    FUZZ_CHECK(!entry->magic.empty());
    FUZZ_CHECK(entry->mask.empty() || entry->mask.size() == entry->magic.size());
  }
  const auto again = binfmtd::kernel::parseEntryFile("fuzz", kernelText(*entry));
  FUZZ_CHECK(again && *again == *entry);
  return 0;
}
