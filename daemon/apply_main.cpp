// binfmtd-apply: `binfmtd --apply` as a program of its own, for boot scripts, initramfs
// hooks and containers without a bus. It links neither libsdbus-c++ nor libsystemd (and
// libstdc++ statically), so it starts in a fraction of the daemon's time: loading the
// daemon's libraries costs more than a no-op reconcile (docs/performance.md).
#include "apply.hpp"
#include "log.hpp"

using namespace binfmtd;

int main(int argc, char** argv) {
  int exitCode = 0;
  auto options = parseOptions(argc, argv, &exitCode);
  if (!options) return exitCode;
  log::init();
  return applyOnce(*options);
}
