// binfmtctl check FILE: would the kernel run this file, through which handler, and if
// not, why not and what fixes it. binfmtctl reads the file's first bytes with the user's
// own rights and sends them with its name: binfmtd never opens a user's path.
#pragma once

#include "command_table.hpp"

namespace binfmtctl {

/// inv.args: the file, then the arguments it would be run with (after "--"), which only
/// shape the command line reported. Exit status: 0 when the file would run (natively or through a handler), 1 when exec
/// would fail, 2 on a usage error.
int runCheck(const Invocation& inv);

}  // namespace binfmtctl
