#include "variant_json.hpp"

namespace binfmtctl {

std::string hex(const std::vector<uint8_t>& bytes) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string s;
  for (auto b : bytes) (s += kHex[b >> 4]) += kHex[b & 0xf];
  return s;
}

nlohmann::ordered_json toJson(const sdbus::Variant& v) {
  if (v.containsValueOfType<std::string>()) return v.get<std::string>();
  if (v.containsValueOfType<bool>()) return v.get<bool>();
  if (v.containsValueOfType<uint32_t>()) return v.get<uint32_t>();
  if (v.containsValueOfType<int32_t>()) return v.get<int32_t>();
  if (v.containsValueOfType<uint64_t>()) return v.get<uint64_t>();
  if (v.containsValueOfType<std::vector<std::string>>()) return v.get<std::vector<std::string>>();
  if (v.containsValueOfType<std::vector<uint8_t>>()) return hex(v.get<std::vector<uint8_t>>());
  return nullptr;
}

}  // namespace binfmtctl
