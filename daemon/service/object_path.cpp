#include "service/object_path.hpp"

namespace binfmtd::service {

std::string handlerPath(std::string_view name) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string path = kHandlerPrefix;
  if (name.empty()) return path + "_";  // an empty element is not a valid path
  for (unsigned char c : name) {
    bool plain = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
    if (plain) {
      path += static_cast<char>(c);
    } else {
      path += '_';
      path += kHex[c >> 4];
      path += kHex[c & 0xf];
    }
  }
  return path;
}

}  // namespace binfmtd::service
