#include "interop/config_json.hpp"

#include <nlohmann/json.hpp>


namespace binfmtd::interop {

namespace {

using Json = nlohmann::ordered_json;  // keys in the order a person reads them

Json handler(const kernel::Entry& e) {
  Json h;
  h["name"] = e.name;
  if (!e.enabled) h["enabled"] = false;
  if (e.type == kernel::MatchType::Magic) {
    h["magic"] = kernel::escapeBytes(e.magic);
    if (!e.mask.empty()) h["mask"] = kernel::escapeBytes(e.mask);
    h["offset"] = e.offset;
  } else {
    h["extension"] = e.extension;
  }
  h["interpreter"] = e.interpreter;
  h["flags"] = e.flags;
  h["foreign"] = "adopt";
  return h;
}

}  // namespace

std::string writeConfigJson(const std::vector<kernel::Entry>& entries,
                            std::vector<std::string>& problems) {
  Json handlers = Json::array();
  for (const auto& e : entries) {
    if (auto problem = kernel::validate(e)) {
      problems.push_back("'" + e.name + "': " + *problem + ", ignoring");
      continue;
    }
    Json h = handler(e);
    try {
      (void)h.dump();  // throws on text that is not UTF-8, which JSON cannot carry
    } catch (const Json::type_error&) {
      problems.push_back("'" + e.name + "': name, interpreter or extension is not UTF-8, ignoring");
      continue;
    }
    handlers.push_back(std::move(h));
  }
  return Json{{"handlers", std::move(handlers)}}.dump(2) + "\n";
}

}  // namespace binfmtd::interop
