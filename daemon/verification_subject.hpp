// A handler as the verifier sees it: shared by the D-Bus manager object and the
// bus-less frontend, so that both verify binfmtd's entries under the same conditions.
#pragma once

#include "engine/engine.hpp"
#include "verify/verifier.hpp"

namespace binfmtd {

/// The verifier's subject for a handler, with why a probe cannot run through it now
/// (not registered, disabled, binfmt_misc disabled, shadowed) when that is so.
verify::Subject verificationSubject(const engine::HandlerStatus& h, bool globalEnabled);

}  // namespace binfmtd
