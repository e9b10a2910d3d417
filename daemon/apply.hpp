// The one-shot reconcile shared by `binfmtd --apply` and binfmtd-apply, and the pieces of
// start-up the daemon shares with it.
#pragma once

#include "engine/engine.hpp"
#include "options.hpp"

namespace binfmtd {

/// Creates the drop-in directories binfmtctl writes to and the state directory.
void makeDirs(const Options& options);

/// The changes, errors and warnings of a reconcile, and its summary, in the log.
void logReport(const engine::ReconcileReport& report);

/// Reconciles once without D-Bus. Returns the exit status: 0 if the result was "ok".
int applyOnce(const Options& options);

}  // namespace binfmtd
