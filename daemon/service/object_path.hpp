#pragma once

#include <string>
#include <string_view>

#include "names.hpp"

namespace binfmtd::service {

/// The object path of a handler: its name escaped as sd_bus_path_encode() does
/// ([A-Za-z0-9] kept, any other byte as _xx), so any kernel entry name maps to a
/// valid, unique path element.
std::string handlerPath(std::string_view name);

}  // namespace binfmtd::service
