// D-Bus property values as binfmtctl prints them in --json output.
#pragma once

#include <sdbus-c++/sdbus-c++.h>

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace binfmtctl {

/// Bytes (Magic, Mask) as lower-case hex, two digits per byte.
std::string hex(const std::vector<uint8_t>& bytes);

/// A property value as JSON; byte arrays as hex(); null for a type binfmtd does not use.
nlohmann::ordered_json toJson(const sdbus::Variant& v);

}  // namespace binfmtctl
