// generate-probes: writes the probe programs at build time.
//
//   generate-probes OUTDIR ARCH...
//
// Writes OUTDIR/ARCH (mode 0755) for each ARCH, which meson lists as the custom target's
// outputs. Fails, so the build fails, when that list and the probe table disagree, when a
// catalogue architecture has neither a probe nor a reason for lacking one, or when a probe's
// first bytes would not be routed by binfmt_misc to its own catalogue rule alone.
#include <sys/stat.h>

#include <cstdio>
#include <fstream>
#include <set>
#include <string>
#include <vector>

#include "catalog/architectures.hpp"
#include "kernel/entry.hpp"
#include "probe_programs.hpp"

namespace {

namespace catalog = binfmtd::catalog;
namespace probes = binfmtd::probes;

int errors = 0;

template <class... Args>
void error(const char* format, Args... args) {
  std::fprintf(stderr, "generate-probes: ");
  std::fprintf(stderr, format, args...);
  std::fprintf(stderr, "\n");
  ++errors;
}

// The catalogue rules that would take this file, as the kernel's masked compare decides.
std::vector<std::string> matchingRules(const std::string& image) {
  std::vector<std::string> names;
  for (const auto& arch : catalog::all()) {
    binfmtd::kernel::Entry rule;
    rule.magic = arch.magic;
    rule.mask = arch.mask;
    if (binfmtd::kernel::matches(rule, image, "")) names.emplace_back(arch.name);
  }
  return names;
}

void checkCoverage(const std::set<std::string>& requested) {
  for (const auto& arch : catalog::all()) {
    const std::string name(arch.name);
    const bool hasProbe = probes::find(arch.name) != nullptr;
    bool isMissing = false;
    for (const auto& m : probes::missing()) isMissing = isMissing || m.arch == arch.name;
    if (hasProbe == isMissing) {
      error("%s: needs exactly one of a probe or a reason for having none", name.c_str());
    }
    if (hasProbe && requested.count(name) == 0) {
      error("%s: has a probe but is not in probes/meson.build's list", name.c_str());
    }
  }
  for (const auto& name : requested) {
    if (probes::find(name) == nullptr)
      error("%s: listed in meson.build but has no probe", name.c_str());
  }
}

bool write(const std::string& path, const std::string& image) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(image.data(), static_cast<std::streamsize>(image.size()));
  out.close();
  return out.good() && ::chmod(path.c_str(), 0755) == 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(stderr, "usage: generate-probes OUTDIR ARCH...\n");
    return 2;
  }
  const std::string outdir = argv[1];
  const std::set<std::string> requested(argv + 2, argv + argc);
  checkCoverage(requested);

  for (const auto& name : requested) {
    const probes::Probe* probe = probes::find(name);
    if (probe == nullptr) continue;
    const std::string image = probes::elfImage(*probe);
    const auto rules = matchingRules(image);
    if (rules.size() != 1 || rules.front() != name) {
      std::string list;
      for (const auto& r : rules) list += (list.empty() ? "" : ", ") + r;
      error("%s: binfmt_misc would hand the probe to [%s], not to its own rule alone", name.c_str(),
            list.c_str());
      continue;
    }
    if (!write(outdir + "/" + name, image))
      error("%s: cannot write %s/%s", name.c_str(), outdir.c_str(), name.c_str());
  }
  return errors == 0 ? 0 : 1;
}
