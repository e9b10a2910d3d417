#pragma once

#include <string>
#include <string_view>

namespace binfmtd::service {

inline constexpr const char* kBusName = "org.binfmtd.Binfmt1";
inline constexpr const char* kManagerPath = "/org/binfmtd/Binfmt1";
inline constexpr const char* kHandlerPrefix = "/org/binfmtd/Binfmt1/handler/";
inline constexpr const char* kManagerInterface = "org.binfmtd.Binfmt1.Manager";
inline constexpr const char* kHandlerInterface = "org.binfmtd.Binfmt1.Handler";

/// The object path of a handler: its name escaped as sd_bus_path_encode() does
/// ([A-Za-z0-9] kept, any other byte as _xx), so any kernel entry name maps to a
/// valid, unique path element.
std::string handlerPath(std::string_view name);

}  // namespace binfmtd::service
