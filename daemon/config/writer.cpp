// The only config binfmtd writes: binfmtctl's own drop-in, edited in place and replaced
// atomically so that a crash leaves either the old or the new file, never half of one.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <nlohmann/json.hpp>
#include <string>
#include <utility>

#include "catalog/architectures.hpp"
#include "unique_fd.hpp"
#include "config/config.hpp"
#include "config/json_locator.hpp"
#include "error.hpp"

namespace binfmtd::config {

namespace fs = std::filesystem;
// Insertion-ordered, so an edit keeps the keys where the admin (or we) put them.
using Json = nlohmann::ordered_json;

namespace {

[[noreturn]] void ioError(const std::string& what, const fs::path& path, int err) {
  throw Error(Errc::Io, "Failed to " + what + " '" + path.string() + "': " + std::strerror(err));
}


// The text of an existing file, or nullopt when there is none.
std::optional<std::string> readIfExists(const fs::path& path) {
  const int raw = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY);
  if (raw < 0) {
    if (errno == ENOENT) return std::nullopt;
    ioError("read", path, errno);
  }
  UniqueFd fd(raw);
  std::string text;
  char buffer[8192];
  while (true) {
    const ssize_t n = ::read(fd.get(), buffer, sizeof buffer);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) ioError("read", path, errno);
    if (n == 0) break;
    text.append(buffer, static_cast<std::size_t>(n));
  }
  return text;
}

struct ControlFile {
  fs::path path;
  bool exists = false;
  Json document = Json::object();
};

// Reads a control file for editing. Anything we could not edit faithfully (bad syntax, a
// shape that is not ours) is refused rather than overwritten: the admin may be mid-edit.
ControlFile readControlFile(const fs::path& path) {
  ControlFile control;
  control.path = path;
  const auto text = readIfExists(path);
  if (!text) return control;
  control.exists = true;
  const std::size_t bom = text->starts_with("\xEF\xBB\xBF") ? 3 : 0;
  if (text->find_first_not_of(" \t\r\n", bom) == std::string::npos) return control;

  const auto refuse = [&](TextPosition position, const std::string& message) {
    throw Error(Errc::ConfigInvalid, path.string() + ":" + std::to_string(position.line) + ":" +
                                         std::to_string(position.column) + ": " + message +
                                         "; not changing it, fix or remove the file first");
  };
  try {
    control.document = Json::parse(*text);
  } catch (const Json::parse_error& e) {
    const SyntaxError error = describeSyntaxError(*text, e.byte, e.what());
    refuse(error.position, error.message);
  }
  if (!control.document.is_object())
    refuse(positionAt(*text, bom), "the top level must be an object");
  for (const char* key : {"architectures", "handlers"}) {
    const auto it = control.document.find(key);
    if (it != control.document.end() && !it->is_array()) {
      const auto position = locate(*text, std::string("/") + key);
      refuse(position.value_or(TextPosition{}), std::string("'") + key + "' must be an array");
    }
  }
  return control;
}

std::string itemName(const Json& item) {
  if (item.is_string()) return item.get<std::string>();
  if (item.is_object()) {
    const auto name = item.find("name");
    if (name != item.end() && name->is_string()) return name->get<std::string>();
  }
  return {};
}

bool sameArchitecture(const Json& item, const std::string& canonical) {
  const std::string name = itemName(item);
  if (name.empty()) return false;
  if (name == canonical) return true;
  const catalog::Architecture* a = catalog::find(name);
  const catalog::Architecture* b = catalog::find(canonical);
  return a && b && a->name == b->name;
}

bool sameHandler(const Json& item, const std::string& name) {
  return item.is_object() && itemName(item) == name;
}

// Replaces every item of `list` that `matches` by one item, at the place of the first, made
// of their fields in order (later ones win) with "name" and "enabled" set.
template <typename Matches>
void setItem(Json& list, const std::string& name, bool enabled, bool plainWhenBare,
             Matches matches) {
  Json merged = Json::object();
  merged["name"] = name;
  Json kept = Json::array();
  std::optional<std::size_t> position;
  for (const Json& item : list) {
    if (!matches(item)) {
      kept.push_back(item);
      continue;
    }
    if (!position) position = kept.size();
    if (item.is_object()) {
      for (const auto& [key, value] : item.items()) {
        if (key != "name") merged[key] = value;
      }
    }
  }
  merged["enabled"] = enabled;
  // An architecture asked for with nothing else to say is just its name, as people write it.
  Json replacement = plainWhenBare && enabled && merged.size() == 2 ? Json(name) : merged;
  kept.insert(kept.begin() + static_cast<std::ptrdiff_t>(position.value_or(kept.size())),
              std::move(replacement));
  list = std::move(kept);
}

template <typename Matches>
bool removeItems(Json& list, Matches matches) {
  const std::size_t before = list.size();
  Json kept = Json::array();
  for (const Json& item : list) {
    if (!matches(item)) kept.push_back(item);
  }
  list = std::move(kept);
  return list.size() != before;
}

std::string render(const Json& document) {
  return document.dump(2, ' ', false, Json::error_handler_t::replace) + "\n";
}

}  // namespace

void setEnabled(const Paths& paths, const std::vector<std::string>& architectures,
                const std::vector<std::string>& handlers, bool enabled, bool runtime) {
  // Read (and so validate) everything before writing anything.
  ControlFile target = readControlFile(paths.controlFile(runtime));
  std::optional<ControlFile> runtimeFile;
  if (!runtime) {
    runtimeFile = readControlFile(paths.controlFile(true));
    if (!runtimeFile->exists) runtimeFile.reset();
  }

  Json& document = target.document;
  if (!architectures.empty() && !document.contains("architectures"))
    document["architectures"] = Json::array();
  if (!handlers.empty() && !document.contains("handlers")) document["handlers"] = Json::array();
  for (const std::string& name : architectures) {
    setItem(document["architectures"], name, enabled, true,
            [&](const Json& item) { return sameArchitecture(item, name); });
  }
  for (const std::string& name : handlers) {
    setItem(document["handlers"], name, enabled, false,
            [&](const Json& item) { return sameHandler(item, name); });
  }
  writeFileAtomically(target.path, render(document));

  if (!runtimeFile) return;
  // A persistent command overrides an earlier runtime one for the same items.
  Json& transient = runtimeFile->document;
  bool changed = false;
  if (const auto list = transient.find("architectures"); list != transient.end()) {
    for (const std::string& name : architectures) {
      changed |= removeItems(*list, [&](const Json& item) { return sameArchitecture(item, name); });
    }
  }
  if (const auto list = transient.find("handlers"); list != transient.end()) {
    for (const std::string& name : handlers) {
      changed |= removeItems(*list, [&](const Json& item) { return sameHandler(item, name); });
    }
  }
  if (!changed) return;
  for (const char* key : {"architectures", "handlers"}) {
    const auto list = transient.find(key);
    if (list != transient.end() && list->empty()) transient.erase(list);
  }
  if (transient.empty()) {
    if (::unlink(runtimeFile->path.c_str()) != 0 && errno != ENOENT)
      ioError("remove", runtimeFile->path, errno);
    return;
  }
  writeFileAtomically(runtimeFile->path, render(transient));
}

}  // namespace binfmtd::config
