// Register strings both ways: an entry built from the fuzz bytes that validate() accepts
// must come back from parseRegisterString(registerString(e)) with the same definition, and
// a parsed string must be a fixed point of registerString -> parseRegisterString.
#include <fuzzer/FuzzedDataProvider.h>

#include "fuzz_check.hpp"
#include "kernel/entry.hpp"

using binfmtd::kernel::Entry;
using binfmtd::kernel::MatchType;

namespace {

// What the daemon relies on: a valid entry survives the trip through the kernel's syntax,
// and writing it again gives the same bytes.
void checkRoundTrip(const Entry& e) {
  if (binfmtd::kernel::validate(e)) return;  // registerString()'s precondition
  const std::string line = binfmtd::kernel::registerString(e);
  FUZZ_CHECK(line.size() <= binfmtd::kernel::kMaxRegisterLength);
  std::string why;
  const auto back = binfmtd::kernel::parseRegisterString(line, &why);
  if (!back) std::fprintf(stderr, "%s\n", why.c_str());
  FUZZ_CHECK(back);
  FUZZ_CHECK(back->sameDefinition(e));
  FUZZ_CHECK(!binfmtd::kernel::validate(*back));
  FUZZ_CHECK(binfmtd::kernel::registerString(*back) == line);
}

Entry entryFrom(FuzzedDataProvider& in) {
  Entry e;
  e.name = in.ConsumeRandomLengthString(300);
  e.type = in.ConsumeBool() ? MatchType::Magic : MatchType::Extension;
  e.offset = in.ConsumeIntegralInRange<std::uint32_t>(0, 300);
  e.magic = in.ConsumeRandomLengthString(300);
  // Mostly a mask of the magic's length, since only those can be valid.
  e.mask = in.ConsumeBool() ? in.ConsumeBytesAsString(e.magic.size())
                            : in.ConsumeRandomLengthString(300);
  e.extension = in.ConsumeRandomLengthString(64);
  e.interpreter = in.ConsumeRandomLengthString(2000);
  e.flags = in.ConsumeRandomLengthString(8);
  return e;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const unsigned char* data, std::size_t size) {
  // The bytes as a register string (the seeds are real binfmt.d rules) ...
  if (const auto parsed = binfmtd::kernel::parseRegisterString(fuzz::text(data, size))) {
    FUZZ_CHECK(binfmtd::kernel::canonicalFlags(parsed->flags) == parsed->flags);
    checkRoundTrip(*parsed);
  }
  // ... and as the fields of an entry, whatever bytes they hold.
  FuzzedDataProvider in(data, size);
  checkRoundTrip(entryFrom(in));
  return 0;
}
