#include "verification_subject.hpp"

namespace binfmtd {

verify::Subject verificationSubject(const engine::HandlerStatus& h, bool globalEnabled) {
  verify::Subject s;
  s.handler = h.entry.name;
  s.architecture = h.architecture;
  s.interpreter = h.entry.interpreter;
  if (h.inKernel) s.entry = kernel::registerString(h.entry);
  if (!h.inKernel)
    s.inactive = "the entry is not registered" +
                 (h.lastError.empty() ? std::string() : ": " + h.lastError);
  else if (!h.entry.enabled)
    s.inactive = "the entry is disabled" +
                 (h.state == "standby" ? " (" + h.lastError + ")" : std::string());
  else if (!globalEnabled)
    s.inactive = "binfmt_misc is disabled as a whole, so no entry runs anything";
  else if (!h.shadowedBy.empty())
    s.inactive = "the probe would run through '" + h.shadowedBy +
                 "', a newer entry for the same binaries that the kernel tries first";
  return s;
}

}  // namespace binfmtd
